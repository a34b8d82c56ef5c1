// The admin API's Unix-socket HTTP server (see admin_server.hpp).
#include "admin_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "daemon/admin_api.hpp"
#include "daemon/notify.hpp"

namespace civnet::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = asio::local::stream_protocol;
using Stream = beast::basic_stream<Local>;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(use_awaitable);

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;

// State shared by the acceptor and the sessions. Touched on the io thread
// only (the io_context runs on one thread), so it needs no lock.
struct Server {
  asio::io_context& ioc;
  Local::acceptor acceptor;
  asio::thread_pool& pool;
  AdminApi& api;
  std::shared_ptr<spdlog::logger> log;
  std::chrono::seconds timeout;
  bool stopping = false;
  // Live sessions: their stream, and whether a request is being handled (a
  // busy session is let finish its answer at shutdown).
  std::unordered_map<Stream*, bool> sessions;
  std::uint64_t nextSession = 0;
  asio::signal_set* signals = nullptr;
  // Pings systemd's watchdog while serving; null when no watchdog is asked for.
  asio::steady_timer* watchdog = nullptr;
  // SIGHUP, while serving.
  asio::signal_set* hangups = nullptr;
  // The metrics listener ([metrics] listen), if any, and its open connections.
  asio::ip::tcp::acceptor* metrics = nullptr;
  std::set<beast::tcp_stream*> metricsConns;
};

// Once stopping and the last session is gone, cancelling the signal wait
// leaves the io_context without work, so run() returns.
void finishIfDrained(Server& s) {
  if (s.stopping && s.sessions.empty()) s.signals->cancel();
}

// Runs the reload on the pool: it reads a file and may wait on the store.
awaitable<void> reloadOnPool(const std::function<void()>* onHangup, std::shared_ptr<spdlog::logger> log) {
  try {
    (*onHangup)();
  } catch (const std::exception& e) {
    log->error("bug: the reload threw: {}", e.what());
  }
  co_return;
}

// Each SIGHUP reloads the configuration, one at a time, until shutdown.
awaitable<void> waitForHangups(Server* s, const std::function<void()>* onHangup) {
  while (!s->stopping) {
    auto [ec, sig] = co_await s->hangups->async_wait(kAsTuple);
    if (ec || s->stopping) co_return;
    s->log->info("SIGHUP received: reading the configuration again");
    notifyReloading("reading civnetd.toml again");
    co_await asio::co_spawn(s->pool, reloadOnPool(onHangup, s->log), use_awaitable);
    notifyReady("serving: configuration read again");
  }
}

// Runs the (blocking) handler on the pool; a handler that throws is a bug,
// answered with 500 instead of ending the node.
awaitable<ApiResponse> handleOnPool(AdminApi* api, ApiRequest req, std::shared_ptr<spdlog::logger> log) {
  try {
    co_return api->handle(req);
  } catch (const std::exception& e) {
    log->error("bug: {} {} threw: {}", req.method, req.target, e.what());
    co_return AdminApi::errorResponse(500, "internal", std::string("internal error: ") + e.what());
  }
}

// The next chunk of a streamed reply, made on the pool (it reads the store).
awaitable<std::pair<Status, std::string>> pullChunk(const std::function<Status(std::string&)>* next) {
  std::pair<Status, std::string> out;
  try {
    out.first = (*next)(out.second);
  } catch (const std::exception& e) {
    out.first = internalError(std::string("bug: the reply's stream threw: ") + e.what());
  }
  co_return out;
}

// Sends a reply whose body is made a chunk at a time (ApiResponse::stream),
// then closes the connection. Shutdown cuts it short: the client sees a
// reply without its last chunk, never a complete-looking short one.
awaitable<void> writeStreamed(Stream& stream, Server* s, ApiResponse resp, unsigned version, std::uint64_t number) {
  http::response<http::empty_body> res{static_cast<http::status>(resp.status), version};
  res.set(http::field::server, "civnetd");
  res.set(http::field::content_type, resp.contentType);
  for (auto& [name, value] : resp.headers) res.set(name, value);
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> sr{res};
  stream.expires_after(s->timeout);
  auto [hec, hn] = co_await http::async_write_header(stream, sr, kAsTuple);
  if (hec) co_return;
  std::uint64_t sent = 0;
  for (;;) {
    if (s->stopping) {
      s->log->warn("session {}: shutting down: a streamed reply was cut off after {} bytes", number, sent);
      co_return;
    }
    auto [st, chunk] = co_await asio::co_spawn(s->pool, pullChunk(&resp.stream), use_awaitable);
    if (!st.ok()) {
      s->log->error("session {}: a streamed reply failed after {} bytes: {}", number, sent, st.message());
      co_return;
    }
    stream.expires_after(s->timeout);
    if (chunk.empty()) {
      co_await asio::async_write(stream, http::make_chunk_last(), kAsTuple);
      co_return;
    }
    auto [wec, wn] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)), kAsTuple);
    if (wec) {
      s->log->warn("session {}: the client stopped reading a streamed reply after {} bytes: {}", number, sent,
                   wec.message());
      co_return;
    }
    sent += chunk.size();
  }
}

http::response<http::string_body> toHttp(ApiResponse r, unsigned version, bool keepAlive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "civnetd");
  res.set(http::field::content_type, r.contentType);
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.body() = std::move(r.body);
  res.keep_alive(keepAlive);
  res.prepare_payload();
  return res;
}

// Registers a session's stream with the server for its lifetime.
class SessionGuard {
 public:
  SessionGuard(Server& s, Stream& stream) : s_(s), stream_(stream) { s_.sessions[&stream_] = false; }
  ~SessionGuard() {
    s_.sessions.erase(&stream_);
    finishIfDrained(s_);
  }
  void busy(bool b) { s_.sessions[&stream_] = b; }
  SessionGuard(const SessionGuard&) = delete;
  SessionGuard& operator=(const SessionGuard&) = delete;

 private:
  Server& s_;
  Stream& stream_;
};

awaitable<void> writeError(Stream& stream, Server* s, unsigned status, std::string code, std::string message) {
  auto res = toHttp(AdminApi::errorResponse(status, code, message), 11, false);
  stream.expires_after(s->timeout);
  co_await http::async_write(stream, res, kAsTuple);
}

awaitable<void> session(Server* s, Local::socket socket, std::uint64_t number) {
  Stream stream(std::move(socket));
  if (s->stopping) co_return;  // accepted just before shutdown began
  SessionGuard guard(*s, stream);
  try {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      // Beast refuses a Content-Length over the body limit while parsing the
      // header, before we know the route; lift its 1 MiB default here and
      // check the route's own limit once the header is in.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      stream.expires_after(s->timeout);
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kAsTuple);
      if (hec) {
        if (hec == http::error::header_limit)
          co_await writeError(stream, s, 431, "header_too_large", "request header over 16 KiB");
        else if (std::string_view(hec.category().name()) == "beast.http" && hec != http::error::end_of_stream)
          co_await writeError(stream, s, 400, "bad_request", "malformed HTTP request: " + hec.message());
        else if (hec != http::error::end_of_stream && hec != asio::error::operation_aborted &&
                 hec != beast::error::timeout)
          s->log->debug("session {}: read: {}", number, hec.message());
        break;
      }
      std::string method(parser.get().method_string());
      std::string target(parser.get().target());
      std::size_t limit = s->api.bodyLimit(method, target);
      if (auto len = parser.content_length(); len && *len > limit) {
        s->log->warn("{} {}: body of {} bytes is over the limit of {} bytes", method, target.substr(0, 200),
                     *len, limit);
        co_await writeError(stream, s, 413, "payload_too_large",
                            "request body of " + std::to_string(*len) + " bytes is over the limit of " +
                                std::to_string(limit) + " bytes");
        break;
      }
      parser.body_limit(limit);  // enforced while reading a chunked body
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kAsTuple);
      if (bec == http::error::body_limit) {
        s->log->warn("{} {}: body over the limit of {} bytes", method, target, limit);
        co_await writeError(stream, s, 413, "payload_too_large",
                            "request body over the limit of " + std::to_string(limit) + " bytes");
        break;
      }
      if (bec) {
        if (bec == beast::error::timeout)
          s->log->warn("{} {}: the client did not send its body within {} s", method, target, s->timeout.count());
        else
          s->log->debug("session {}: read body: {}", number, bec.message());
        break;
      }
      // Busy only from here: shutdown closes a session still reading its
      // body (a slow client must not hold it for request_timeout_seconds)
      // but lets a request being handled finish and be answered.
      if (s->stopping) break;
      guard.busy(true);
      auto req = parser.release();
      bool keepAlive = req.keep_alive();
      unsigned version = req.version();
      auto started = std::chrono::steady_clock::now();
      ApiRequest apiReq{method, target, std::move(req.body())};
      ApiResponse resp =
          co_await asio::co_spawn(s->pool, handleOnPool(&s->api, std::move(apiReq), s->log), use_awaitable);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
      auto level = method == "GET" && resp.status < 400 ? spdlog::level::debug : spdlog::level::info;
      if (resp.status >= 400)
        // The error body is our own JSON ({"error":{"code","message"}}), bounded in size.
        s->log->log(level, "{} {} {} {}ms: {}", method, target.substr(0, 200), resp.status, ms.count(),
                     std::string_view(resp.body).substr(0, resp.body.find_last_not_of('\n') + 1).substr(0, 300));
      else
        s->log->log(level, "{} {} {} {}ms", method, target.substr(0, 200), resp.status, ms.count());

      if (resp.stream) {
        co_await writeStreamed(stream, s, std::move(resp), version, number);
        break;
      }
      auto res = toHttp(std::move(resp), version, keepAlive && !s->stopping);
      stream.expires_after(s->timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kAsTuple);
      guard.busy(false);
      if (wec) {
        s->log->debug("session {}: write: {}", number, wec.message());
        break;
      }
      // An answer made before shutdown began may say keep-alive: the
      // connection still ends here, not at the client's next deadline.
      if (!res.keep_alive() || s->stopping) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(Local::socket::shutdown_send, ignored);
  } catch (const std::exception& e) {
    // One catch-all per session: a bug ends this connection, not the node.
    s->log->error("bug: session {} ended by an exception: {}", number, e.what());
  }
}

awaitable<void> acceptLoop(Server* s) {
  for (;;) {
    auto [ec, socket] = co_await s->acceptor.async_accept(kAsTuple);
    if (s->stopping) co_return;
    if (ec) {
      // E.g. out of file descriptors: say so, pause, and keep serving.
      s->log->warn("accept: {}", ec.message());
      asio::steady_timer pause(s->ioc, std::chrono::milliseconds(200));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    asio::co_spawn(s->ioc, session(s, std::move(socket), ++s->nextSession), [s](std::exception_ptr e) {
      if (e) s->log->error("bug: a session coroutine threw");
    });
  }
}

// Tells systemd's watchdog (WatchdogSec=) that the io thread is alive, at
// half its interval, until shutdown begins. Handlers run on the pool and this
// thread never blocks on them, so a missed ping means the event loop itself
// is stuck, and systemd restarts civnetd. Shutdown cancels the timer.
awaitable<void> watchdogLoop(Server* s, std::chrono::microseconds every) {
  while (!s->stopping) {
    notifyWatchdog();
    s->watchdog->expires_after(every);
    auto [ec] = co_await s->watchdog->async_wait(kAsTuple);
    (void)ec;  // cancelled at shutdown: the loop condition ends it
  }
}

constexpr std::size_t kMaxMetricsConns = 32;
constexpr std::chrono::seconds kMetricsReadTimeout{5};

// One scrape: GET /metrics, answered and closed. Anything else is 404/405.
awaitable<void> metricsSession(Server* s, asio::ip::tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  s->metricsConns.insert(&stream);
  try {
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(1024);  // none is wanted; a small one is answered 405
    // A scraper sends its request at once: an idle connection is not kept.
    stream.expires_after(kMetricsReadTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAsTuple);
    if (!ec && !s->stopping) {
      const auto& req = parser.get();
      const std::string_view target = req.target();
      ApiResponse resp;
      if (target.substr(0, target.find('?')) != "/metrics") {
        resp = AdminApi::errorResponse(404, "not_found", "only /metrics is served here");
      } else if (req.method() != http::verb::get) {
        resp = AdminApi::errorResponse(405, "method_not_allowed", "use GET");
        resp.headers.emplace_back("Allow", "GET");
      } else {
        // A named request, moved in: g++ 12 destroys a braced temporary
        // passed to a coroutine twice.
        ApiRequest scrape{"GET", "/metrics", ""};
        resp = co_await asio::co_spawn(s->pool, handleOnPool(&s->api, std::move(scrape), s->log), use_awaitable);
      }
      auto res = toHttp(std::move(resp), req.version(), false);
      stream.expires_after(s->timeout);
      co_await http::async_write(stream, res, kAsTuple);
      beast::error_code ignored;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
  } catch (const std::exception& e) {
    s->log->error("bug: a metrics session threw: {}", e.what());
  }
  s->metricsConns.erase(&stream);
}

awaitable<void> metricsAcceptLoop(Server* s) {
  for (;;) {
    auto [ec, socket] = co_await s->metrics->async_accept(kAsTuple);
    if (s->stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      s->log->warn("metrics listener: accept: {}", ec.message());
      asio::steady_timer pause(s->ioc, std::chrono::milliseconds(200));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    if (s->metricsConns.size() >= kMaxMetricsConns) continue;  // dropped: a scraper retries
    asio::co_spawn(s->ioc, metricsSession(s, std::move(socket)), [s](std::exception_ptr e) {
      if (e) s->log->error("bug: a metrics session coroutine threw");
    });
  }
}

awaitable<void> waitForSignals(Server* s) {
  asio::signal_set* signals = s->signals;
  auto [ec, sig] = co_await signals->async_wait(kAsTuple);
  if (ec) co_return;
  s->log->info("{} received: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  s->stopping = true;
  notifyStopping("shutting down");
  if (s->hangups) s->hangups->cancel();
  if (s->watchdog) s->watchdog->cancel();
  beast::error_code ignored;
  s->acceptor.close(ignored);
  if (s->metrics) s->metrics->close(ignored);
  for (auto* c : s->metricsConns) c->close();
  // Idle connections are closed now; busy ones finish their answer.
  for (auto& [stream, busy] : s->sessions)
    if (!busy) stream->close();
  if (s->sessions.empty()) co_return;
  // A second signal closes the busy ones too.  (When the last session ends,
  // finishIfDrained cancels this wait.)
  auto [ec2, sig2] = co_await signals->async_wait(kAsTuple);
  if (ec2) co_return;
  s->log->warn("second signal: closing every connection");
  for (auto& [stream, busy] : s->sessions) stream->close();
}

}  // namespace

Status claimSocketPath(const std::filesystem::path& path) {
  sockaddr_un addr{};
  if (path.native().size() >= sizeof(addr.sun_path))
    return invalidArgument("socket path " + path.string() + " is too long (" +
                           std::to_string(path.native().size()) + " bytes; a Unix socket path may have at most " +
                           std::to_string(sizeof(addr.sun_path) - 1) + ")");
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return ioError("checking " + path.string() + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    return refused(path.string() + " exists and is not a socket; move it away");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ioError(std::string("socket: ") + std::strerror(errno));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0) return refused("another civnetd is already running on " + path.string());
  if (err != ECONNREFUSED && err != ENOENT)
    return ioError("checking " + path.string() + ": " + std::strerror(err));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ioError("removing the stale socket " + path.string() + ": " + std::strerror(errno));
  return {};
}

Status serveAdmin(const ServerOptions& options, AdminApi& api, std::shared_ptr<spdlog::logger> log) {
  asio::io_context ioc(1);
  asio::thread_pool pool(static_cast<std::size_t>(options.workerThreads));
  const std::string path = options.socketPath.string();

  Local::acceptor acceptor(ioc);
  beast::error_code ec;
  acceptor.open(Local(), ec);
  // The socket is created mode 0600: a umask keeps it private from its
  // first instant, the chmod makes sure whatever the umask was.
  mode_t old = ::umask(0177);
  if (!ec) acceptor.bind(Local::endpoint(path), ec);
  ::umask(old);
  if (ec) return ioError("cannot listen on " + path + ": " + ec.message());
  if (::chmod(path.c_str(), 0600) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return ioError("chmod 600 " + path + ": " + std::strerror(err));
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    return ioError("cannot listen on " + path + ": " + ec.message());
  }

  // The metrics listener, if [metrics] listen asks for one.
  asio::ip::tcp::acceptor metricsAcceptor(ioc);
  if (!options.metricsHost.empty()) {
    auto fail = [&](const std::string& why) {
      ::unlink(path.c_str());
      return ioError("cannot listen for metrics on " + options.metricsHost + ":" +
                     std::to_string(options.metricsPort) + ": " + why);
    };
    asio::ip::tcp::resolver resolver(ioc);
    auto found = resolver.resolve(options.metricsHost, std::to_string(options.metricsPort), ec);
    if (ec || found.empty()) return fail(ec ? ec.message() : "no such address");
    const auto endpoint = found.begin()->endpoint();
    metricsAcceptor.open(endpoint.protocol(), ec);
    if (!ec) metricsAcceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) metricsAcceptor.bind(endpoint, ec);
    if (!ec) metricsAcceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(ec.message());
    if (options.onMetricsPort) options.onMetricsPort(metricsAcceptor.local_endpoint().port());
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::signal_set hangups(ioc, SIGHUP);
  asio::steady_timer watchdog(ioc);
  const auto watchdogEvery = watchdogInterval();
  Server server{ioc,  std::move(acceptor), pool,     api,
                log,  options.requestTimeout, false,  {},
                0,    &signals,           watchdogEvery ? &watchdog : nullptr,
                options.onHangup ? &hangups : nullptr,
                metricsAcceptor.is_open() ? &metricsAcceptor : nullptr, {}};
  if (server.metrics) {
    asio::co_spawn(ioc, metricsAcceptLoop(&server), [log](std::exception_ptr e) {
      if (e) log->error("bug: the metrics listener threw");
    });
    log->info("metrics on http://{}:{}/metrics", options.metricsHost, metricsAcceptor.local_endpoint().port());
  }
  if (options.onHangup)
    asio::co_spawn(ioc, waitForHangups(&server, &options.onHangup), [log](std::exception_ptr e) {
      if (e) log->error("bug: the SIGHUP handler threw");
    });
  asio::co_spawn(ioc, acceptLoop(&server), [log](std::exception_ptr e) {
    if (e) log->error("bug: the accept loop threw");
  });
  asio::co_spawn(ioc, waitForSignals(&server), [log](std::exception_ptr e) {
    if (e) log->error("bug: the signal handler threw");
  });
  if (watchdogEvery) {
    asio::co_spawn(ioc, watchdogLoop(&server, *watchdogEvery), [log](std::exception_ptr e) {
      if (e) log->error("bug: the watchdog loop threw");
    });
    log->info("systemd watchdog: pinging every {} ms", watchdogEvery->count() / 1000);
  }
  log->info("admin API listening on {}", path);
  // The peer listener and the member interface are up (runNode starts them
  // first) and the admin socket listens: a client connecting from now on is
  // served once the loop below runs.
  notifyReady("serving: admin API on " + path);

  // Returns once the accept loop, every session, the signal wait and the
  // watchdog loop are done.
  ioc.run();
  pool.join();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    log->warn("could not remove {}: {}", path, std::strerror(errno));
  return {};
}

}  // namespace civnet::daemon

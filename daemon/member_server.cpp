// The member interface's HTTPS server (see member_server.hpp).
#include "member_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "daemon/member_api.hpp"
#include "federation/peer_network.hpp"

namespace civnet::daemon {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(use_awaitable);

namespace {

constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kMaxConnectionsPerAddress = 32;
using Stream = beast::ssl_stream<beast::tcp_stream>;

template <typename Body>
void securityHeaders(http::response<Body>& res) {
  res.set(http::field::server, "civnetd");
  res.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  res.set("Strict-Transport-Security", "max-age=31536000");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::cache_control, "no-store");
}

http::response<http::string_body> toHttp(const MemberResponse& r, unsigned version, bool keepAlive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  securityHeaders(res);
  res.set(http::field::content_type, r.contentType);
  for (const auto& [k, v] : r.headers) res.insert(k, v);
  res.body() = r.body;
  res.keep_alive(keepAlive);
  res.prepare_payload();
  return res;
}

// The answers to a request the server will not read to its end; each
// closes the connection after it.
MemberResponse headersTooLarge() {
  return MemberApi::error(431, "headers_too_large", "the request's headers are over 8 KiB");
}
MemberResponse bodyTooLarge(std::size_t maxBodyBytes) {
  return MemberApi::error(413, "too_large", "the request's body is over " + std::to_string(maxBodyBytes) + " bytes");
}
MemberResponse malformedRequest(const beast::error_code& ec) {
  return MemberApi::error(400, "bad_request", "malformed HTTP request: " + ec.message());
}

// A request HTTP/1.1 does not allow (Content-Length with Transfer-Encoding,
// two Content-Lengths that differ, a bad chunk, ...): what request
// smuggling is made of. Not a client that went away or was slow, nor a
// request over a limit (answered 413 or 431).
bool malformed(const beast::error_code& ec) {
  return ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::header_limit &&
         ec != http::error::body_limit && ec != http::error::need_buffer && ec != http::error::buffer_overflow &&
         ec != http::error::need_more;
}

void setLimits(http::request_parser<http::string_body>& parser, std::size_t maxBodyBytes) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(maxBodyBytes);
}

MemberRequest toMemberRequest(http::request<http::string_body>& req, const std::string& client) {
  MemberRequest mr;
  mr.method = std::string(req.method_string());
  mr.target = std::string(req.target());
  mr.body = std::move(req.body());
  mr.cookie = std::string(req[http::field::cookie]);
  mr.csrf = std::string(req["X-CSRF-Token"]);
  mr.contentType = std::string(req[http::field::content_type]);
  mr.clientAddress = client;
  mr.lastEventId = std::string(req["Last-Event-ID"]);
  return mr;
}

// Runs the (blocking) handler; one that throws is a bug, answered with 500.
awaitable<MemberResponse> handleOnPool(MemberApi* api, MemberRequest req, std::shared_ptr<spdlog::logger> log) {
  try {
    co_return api->handle(req);
  } catch (const std::exception& e) {
    log->error("bug: {} {} threw: {}", req.method, req.target.substr(0, 200), e.what());
    co_return MemberApi::error(500, "internal", "internal error");
  }
}

// For an event stream: the session's events after `cursor` (nullopt: the
// session ended), where the stream is now, and whether more wait.
struct EventBatch {
  std::optional<std::string> text;
  std::uint64_t cursor = 0;
  bool more = false;
  bool failed = false;  // a bug: the stream closes (the browser reconnects)
};
awaitable<EventBatch> eventsOnPool(MemberApi* api, std::string cookie, std::uint64_t cursor,
                                   std::shared_ptr<spdlog::logger> log) {
  try {
    EventBatch b;
    b.text = api->eventsAfter(cookie, cursor, b.more);
    b.cursor = cursor;
    co_return b;
  } catch (const std::exception& e) {
    log->error("bug: the event stream threw: {}", e.what());
    co_return EventBatch{std::nullopt, cursor, false, true};
  }
}

// An open event stream waiting for news.
struct EventWaiter {
  EventWaiter(asio::any_io_executor ex, std::string session) : timer(std::move(ex)), session(std::move(session)) {}
  asio::steady_timer timer;
  std::string session;   // the session cookie's value
  bool pending = false;  // news arrived while the stream was busy
  bool closing = false;  // replaced by a newer stream of its session
};

// Event streams stay open, so they count neither against the connection
// limits (an office behind one address may have many tabs open) nor for
// one another beyond these: a session keeps its newest few, and the node
// serves at most so many in all.
constexpr std::size_t kStreamsPerSession = 4;
constexpr std::size_t kMaxStreams = 2048;

constexpr auto kEventPing = std::chrono::seconds(25);

}  // namespace

class MemberServer::Impl {
 public:
  Impl(MemberApi& api, MemberServerOptions o, std::shared_ptr<spdlog::logger> log)
      : api(api), opt(std::move(o)), log(std::move(log)), ctx(ssl::context::tls_server),
        pool(static_cast<std::size_t>(std::max(opt.workerThreads, 1))) {}

  MemberApi& api;
  MemberServerOptions opt;
  std::shared_ptr<spdlog::logger> log;
  asio::io_context ioc;
  ssl::context ctx;
  asio::thread_pool pool;
  std::optional<tcp::acceptor> acceptor;
  std::optional<std::uint16_t> boundPort;
  std::set<std::shared_ptr<Stream>> conns;
  std::map<std::string, std::size_t> perAddress;  // open connections per client address
  // Connections waiting for the client: in the TLS handshake, or for a
  // request's headers (between requests too), since when. At the
  // connection limit, the one waiting longest is closed to make room, so
  // clients that hold connections open without sending (slowloris) cannot
  // keep others out: a client that sends its request is not waited for.
  std::map<Stream*, std::chrono::steady_clock::time_point> waiting;
  // Written on the network thread, read by stats() from any.
  std::atomic<std::uint64_t> open{0}, peak{0}, evicted{0}, refusedPerAddress{0};
  std::thread thread;
  bool stopped = false;
  bool stopping = false;  // network thread only: no new connection or request from now on
  std::vector<EventWaiter*> eventWaiters;  // network thread only; oldest first
  std::size_t openStreams = 0;             // network thread only
  int arrivalsWatch = 0;

  // News in the store: every event stream looks (network thread).
  void wakeEventStreams() {
    for (EventWaiter* w : eventWaiters) {
      w->pending = true;
      w->timer.cancel();
    }
  }

  // GET /api/events, once the API accepted it: the stream stays open,
  // sending each event as the store takes it and a comment line every 25 s
  // (which also checks the session: once it has ended, the stream says so
  // and closes). The connection is not reused.
  awaitable<void> streamEvents(Stream& s, std::string cookie, std::uint64_t cursor, unsigned version,
                               std::string client) {
    if (eventWaiters.size() >= kMaxStreams) {
      co_await reply(s, MemberApi::error(503, "busy", "too many live-update streams are open; try again later"),
                     version, false);
      co_return;
    }
    http::response<http::empty_body> res{http::status::ok, version};
    securityHeaders(res);
    res.set(http::field::content_type, "text/event-stream; charset=utf-8");
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr{res};
    beast::get_lowest_layer(s).expires_after(opt.requestTimeout);
    auto [hec, hn] = co_await http::async_write_header(s, sr, kAsTuple);
    if (hec) co_return;
    EventWaiter w(co_await asio::this_coro::executor, cookieValue(cookie, kSessionCookie));
    // The oldest streams of this session beyond the few it may keep end.
    std::vector<EventWaiter*> same;
    for (EventWaiter* other : eventWaiters)
      if (other->session == w.session && !other->closing) same.push_back(other);
    for (std::size_t i = 0; i + kStreamsPerSession <= same.size(); ++i) {
      same[i]->closing = true;
      same[i]->timer.cancel();
    }
    eventWaiters.push_back(&w);
    --perAddress[client];  // not held against the address's connections
    ++openStreams;
    std::string out = "retry: 3000\n\n";
    for (;;) {
      beast::get_lowest_layer(s).expires_after(opt.requestTimeout);
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(out), kAsTuple);
      if (wec || stopping || w.closing) break;
      if (!w.pending) {
        w.timer.expires_after(kEventPing);
        co_await w.timer.async_wait(kAsTuple);
      }
      w.pending = false;
      if (stopping || w.closing) break;
      EventBatch b = co_await asio::co_spawn(pool, eventsOnPool(&api, cookie, cursor, log), use_awaitable);
      if (stopping || b.failed) break;
      if (!b.text) {
        out = "event: session_ended\ndata: {}\n\n";
        beast::get_lowest_layer(s).expires_after(opt.requestTimeout);
        co_await asio::async_write(s, asio::buffer(out), kAsTuple);
        break;
      }
      cursor = b.cursor;
      w.pending = b.more;
      out = b.text->empty() ? std::string(": ping\n\n") : std::move(*b.text);
    }
    eventWaiters.erase(std::find(eventWaiters.begin(), eventWaiters.end(), &w));
    ++perAddress[client];  // serve() counts it down as the connection ends
    --openStreams;
  }

  Status setUpTls() {
    boost::system::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                    ec);
    // TLS 1.2 only with forward secrecy and AEAD (TLS 1.3's suites are all so).
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(ctx.native_handle(), "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
      return internalError("setting the member interface's TLS ciphers failed");
    if (!ec) ctx.use_certificate_chain(asio::buffer(opt.certPem), ec);
    if (ec) return invalidArgument("the member interface's certificate is unusable: " + ec.message());
    ctx.use_private_key(asio::buffer(opt.keyPem), ssl::context::pem, ec);
    if (ec) return invalidArgument("the member interface's private key is unusable: " + ec.message());
    return {};
  }

  awaitable<void> acceptLoop() {
    while (acceptor && acceptor->is_open()) {
      auto [ec, sock] = co_await acceptor->async_accept(kAsTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor || !acceptor->is_open()) break;
        continue;
      }
      if (stopping) break;
      boost::system::error_code rec;
      const auto ep = sock.remote_endpoint(rec);
      const std::string client = rec ? "?" : ep.address().to_string();
      if (perAddress[client] >= kMaxConnectionsPerAddress) {
        log->debug("refused a connection from {}: {} open already", client, perAddress[client]);
        refusedPerAddress.fetch_add(1, std::memory_order_relaxed);
        continue;  // closed as it goes out of scope
      }
      if (conns.size() - openStreams >= opt.maxConnections && !evictLongestWaiting()) continue;
      asio::co_spawn(ioc, serve(std::move(sock), client), asio::detached);
    }
  }

  // Closes the connection that has waited longest for its client (its
  // coroutine then ends and frees the place). False if none is waiting.
  bool evictLongestWaiting() {
    auto oldest = std::min_element(waiting.begin(), waiting.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    if (oldest == waiting.end()) return false;
    Stream* s = oldest->first;
    waiting.erase(oldest);
    beast::error_code ignored;
    beast::get_lowest_layer(*s).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*s).close();
    const std::uint64_t n = evicted.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n % 1000 == 1)
      log->warn("{} connections open, the limit: closed the one idle longest to let a new one in ({} so far)",
                conns.size() - openStreams, n);
    return true;
  }

  awaitable<void> serve(tcp::socket sock, std::string client) {
    if (stopping) co_return;  // accepted just before the stop: the socket closes here
    auto s = std::make_shared<Stream>(beast::tcp_stream(std::move(sock)), ctx);
    conns.insert(s);
    open.store(conns.size(), std::memory_order_relaxed);
    if (conns.size() > peak.load(std::memory_order_relaxed)) peak.store(conns.size(), std::memory_order_relaxed);
    ++perAddress[client];
    beast::get_lowest_layer(*s).expires_after(opt.headerTimeout);
    waiting[s.get()] = std::chrono::steady_clock::now();
    auto [hec] = co_await s->async_handshake(ssl::stream_base::server, kAsTuple);
    if (!hec) co_await requests(*s, client);
    beast::error_code ignored;
    beast::get_lowest_layer(*s).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*s).close();
    waiting.erase(s.get());
    conns.erase(s);
    open.store(conns.size(), std::memory_order_relaxed);
    if (--perAddress[client] == 0) perAddress.erase(client);
  }

  awaitable<void> reply(Stream& s, const MemberResponse& r, unsigned version, bool keepAlive) {
    auto res = toHttp(r, version, keepAlive);
    beast::get_lowest_layer(s).expires_after(opt.requestTimeout);
    co_await http::async_write(s, res, kAsTuple);
  }

  // Answers a request refused before its end was read (too large), then
  // drains what the client still sends for a moment (until it closes, 2 s
  // of silence, or 4 bodies' worth): closing with unread data would reset
  // the connection, and the client could lose the answer.
  awaitable<void> refuseAndLinger(Stream& s, const MemberResponse& r, unsigned version) {
    co_await reply(s, r, version, false);
    auto& lowest = beast::get_lowest_layer(s);
    std::array<char, 16 * 1024> sink{};
    std::size_t drained = 0;
    lowest.expires_after(std::chrono::seconds(2));
    while (drained < 4 * opt.maxBodyBytes) {
      auto [rec, n] = co_await lowest.async_read_some(asio::buffer(sink), kAsTuple);
      if (rec) break;
      drained += n;
    }
  }

  // Answers 400 naming what was wrong, logs it, and closes: nothing after
  // it on this connection is read as another request.
  awaitable<void> refuseMalformed(Stream& s, const std::string& client, const beast::error_code& ec) {
    log->info("refused a malformed request from {}: {}", client, ec.message());
    co_await reply(s, malformedRequest(ec), 11, false);
  }

  awaitable<void> requests(Stream& s, const std::string& client) {
    beast::flat_buffer buf;
    for (;;) {
      http::request_parser<http::string_body> parser;
      setLimits(parser, opt.maxBodyBytes);
      beast::get_lowest_layer(s).expires_after(opt.headerTimeout);
      waiting[&s] = std::chrono::steady_clock::now();
      auto [ec, n] = co_await http::async_read_header(s, buf, parser, kAsTuple);
      waiting.erase(&s);
      if (ec == http::error::header_limit) {
        co_await refuseAndLinger(s, headersTooLarge(), 11);
        co_return;
      }
      if (malformed(ec)) {
        co_await refuseMalformed(s, client, ec);
        co_return;
      }
      // A Content-Length over the limit ends the header read already.
      if (ec && ec != http::error::body_limit) co_return;  // closed or timed out
      const unsigned version = parser.get().version();
      if (ec == http::error::body_limit) {
        co_await refuseAndLinger(s, bodyTooLarge(opt.maxBodyBytes), version);
        co_return;
      }
      beast::get_lowest_layer(s).expires_after(opt.requestTimeout);
      auto [bec, bn] = co_await http::async_read(s, buf, parser, kAsTuple);
      if (bec == http::error::body_limit) {
        co_await refuseAndLinger(s, bodyTooLarge(opt.maxBodyBytes), version);
        co_return;
      }
      if (malformed(bec)) {
        co_await refuseMalformed(s, client, bec);
        co_return;
      }
      if (bec) co_return;
      const bool keepAlive = parser.get().keep_alive();
      MemberRequest mr = toMemberRequest(parser.get(), client);
      std::string cookie = mr.cookie;
      if (stopping) co_return;  // shutting down: the pool may be gone
      const std::string line = mr.method + " " + mr.target.substr(0, 200);
      // The handler may hash a password: off this thread. (A plain function,
      // not a capturing lambda: g++ 12 mishandles captures of coroutine lambdas.)
      MemberResponse r = co_await asio::co_spawn(pool, handleOnPool(&api, std::move(mr), log), use_awaitable);
      log->debug("{} {} from {}", line, r.status, client);
      if (r.stream) {
        co_await streamEvents(s, std::move(cookie), r.streamFrom, version, client);
        co_return;
      }
      co_await reply(s, r, version, keepAlive);
      if (!keepAlive) co_return;
    }
  }
};

MemberServer::MemberServer(MemberApi& api, MemberServerOptions options, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(api, std::move(options), std::move(log))) {}

MemberServer::~MemberServer() { stop(); }

Status MemberServer::start() {
  Impl& m = *impl_;
  if (auto s = m.setUpTls(); !s.ok()) return s;
  auto addr = federation::parsePeerAddress(m.opt.listen);
  if (!addr.ok()) return Status(addr.status().code(), "[http] listen: " + addr.status().message());
  boost::system::error_code ec;
  tcp::resolver resolver(m.ioc);
  auto results = resolver.resolve(addr->host, std::to_string(addr->port), ec);
  if (ec || results.empty())
    return unavailable("cannot serve the member interface on " + m.opt.listen + ": " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  m.acceptor.emplace(m.ioc);
  m.acceptor->open(ep.protocol(), ec);
  if (!ec) m.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor->bind(ep, ec);
  if (!ec) m.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable("cannot serve the member interface on " + m.opt.listen + ": " + ec.message());
  m.boundPort = m.acceptor->local_endpoint().port();
  m.arrivalsWatch = m.api.watchArrivals([&m] { asio::post(m.ioc, [&m] { m.wakeEventStreams(); }); });
  asio::co_spawn(m.ioc, m.acceptLoop(), asio::detached);
  m.thread = std::thread([&m] { m.ioc.run(); });
  return {};
}

void MemberServer::stop() {
  Impl& m = *impl_;
  if (m.stopped || !m.thread.joinable()) {
    m.stopped = true;
    return;
  }
  m.stopped = true;
  m.api.unwatchArrivals(m.arrivalsWatch);
  // On the network thread: no new connection or request, every connection
  // closed. Requests in a handler finish there; their coroutines end when
  // they resume on the closed stream. Then the thread, then the pool.
  asio::post(m.ioc, [&m] {
    m.stopping = true;
    boost::system::error_code ec;
    if (m.acceptor) m.acceptor->close(ec);
    for (const auto& s : m.conns) beast::get_lowest_layer(*s).close();
    for (EventWaiter* w : m.eventWaiters) w->timer.cancel();
  });
  m.thread.join();
  m.pool.join();
}

std::optional<std::uint16_t> MemberServer::port() const { return impl_->boundPort; }

MemberServerStats MemberServer::stats() const {
  const Impl& m = *impl_;
  return {m.open.load(std::memory_order_relaxed), m.peak.load(std::memory_order_relaxed),
          m.evicted.load(std::memory_order_relaxed), m.refusedPerAddress.load(std::memory_order_relaxed)};
}

ParsedMemberRequest parseMemberRequest(std::string_view bytes, std::size_t maxBodyBytes, const std::string& client) {
  ParsedMemberRequest out;
  http::request_parser<http::string_body> parser;
  setLimits(parser, maxBodyBytes);
  parser.eager(true);
  while (!parser.is_done()) {
    beast::error_code ec;
    const std::size_t n = parser.put(asio::buffer(bytes.data() + out.consumed, bytes.size() - out.consumed), ec);
    out.consumed += n;
    // One put() parses as far as the bytes go. The server calls it again
    // only with more bytes (Beast asserts as much: a chunk header seen
    // twice with nothing new trips it), so here `bytes` ends inside the
    // request.
    if (ec == http::error::need_more || (!ec && n == 0)) return out;
    if (ec == http::error::header_limit) {
      out.refusal = headersTooLarge();
    } else if (ec == http::error::body_limit) {
      out.refusal = bodyTooLarge(maxBodyBytes);
    } else if (ec) {
      out.refusal = malformedRequest(ec);
    }
    if (out.refusal) return out;
  }
  out.keepAlive = parser.get().keep_alive();
  out.request = toMemberRequest(parser.get(), client);
  return out;
}

}  // namespace civnet::daemon

// The admin API client (see admin_client.hpp). Blocking calls are built from
// Beast's async operations on a private io_context, because Beast's stream
// deadlines (expires_after) apply to async operations only.
#include "admin_client.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace civnet::tools {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = asio::local::stream_protocol;

namespace {

constexpr std::uint64_t kMaxReplyBytes = 64 * 1024 * 1024;

// Runs one started async operation to completion (or to its deadline).
beast::error_code runToCompletion(asio::io_context& ioc, beast::error_code& result, bool& done) {
  ioc.restart();
  ioc.run();
  if (!done) return asio::error::operation_aborted;
  return result;
}

// A reply's status and headers (names in lower case), without its body.
template <typename Response>
HttpReply replyHead(const Response& res) {
  HttpReply reply;
  reply.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = std::string(field.value());
  }
  reply.contentType = reply.headers["content-type"];
  reply.keepAlive = res.keep_alive();
  return reply;
}

// Reads one reply on `stream` (a started connection) within `timeout`.
Result<HttpReply> readReply(asio::io_context& ioc, beast::basic_stream<Local>& stream, const std::string& socketPath,
                            std::chrono::seconds timeout, bool keepOpen) {
  beast::error_code ec;
  bool done = false;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  stream.expires_after(timeout);
  http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto e = runToCompletion(ioc, ec, done)) {
    if (e == beast::error::timeout)
      return ioError("civnetd at " + socketPath + " did not answer within " + std::to_string(timeout.count()) +
                     " s");
    return ioError("reading civnetd's answer: " + e.message());
  }

  auto res = parser.release();
  HttpReply reply = replyHead(res);
  reply.body = std::move(res.body());
  if (!keepOpen) {
    beast::error_code ignored;
    stream.socket().shutdown(Local::socket::shutdown_both, ignored);
  }
  return reply;
}

// Connects `stream` to civnetd's socket within `timeout`.
Status connectTo(asio::io_context& ioc, beast::basic_stream<Local>& stream, const std::string& socketPath,
                 std::chrono::seconds timeout) {
  beast::error_code ec;
  bool done = false;
  stream.expires_after(timeout);
  stream.async_connect(Local::endpoint(socketPath), [&](beast::error_code e) {
    ec = e;
    done = true;
  });
  if (auto e = runToCompletion(ioc, ec, done)) {
    if (e == asio::error::connection_refused || e == asio::error::not_found ||
        e == beast::errc::no_such_file_or_directory)
      return unavailable("cannot reach civnetd at " + socketPath);
    if (e == beast::errc::permission_denied)
      return permissionDenied("cannot open " + socketPath + ": permission denied (run as the node's user)");
    return unavailable("cannot reach civnetd at " + socketPath + ": " + e.message());
  }
  return {};
}

}  // namespace

namespace {

// Writes `method target` with `body` on a connected `stream` and reads the
// answer; `keepAlive` asks civnetd to keep the connection open after it.
Result<HttpReply> exchange(asio::io_context& ioc, beast::basic_stream<Local>& stream, const std::string& socketPath,
                           std::chrono::seconds timeout, const std::string& method, const std::string& target,
                           const std::string& body, const std::string& contentType, bool keepAlive) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "civnetd");
  req.set(http::field::user_agent, "civnetctl");
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, contentType);
    req.body() = body;
  }
  req.keep_alive(keepAlive);
  req.prepare_payload();

  beast::error_code ec;
  bool done = false;
  stream.expires_after(timeout);
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto e = runToCompletion(ioc, ec, done)) {
    if (e == beast::error::timeout)
      return ioError("civnetd at " + socketPath + " did not take the request within " +
                     std::to_string(timeout.count()) + " s");
    // civnetd may answer and close before taking the whole body (413 for a
    // body over its limit); its answer is then already waiting in our
    // receive queue, and says more than "Broken pipe".
    if (e == asio::error::broken_pipe || e == asio::error::connection_reset) {
      auto early = readReply(ioc, stream, socketPath, timeout, false);
      if (early.ok()) return early;
    }
    return ioError("sending the request to civnetd: " + e.message());
  }
  return readReply(ioc, stream, socketPath, timeout, keepAlive);
}

}  // namespace

Result<HttpReply> AdminClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::string& contentType) const {
  asio::io_context ioc(1);
  beast::basic_stream<Local> stream(ioc);
  if (auto s = connectTo(ioc, stream, socketPath_, timeout_); !s.ok()) return s;
  return exchange(ioc, stream, socketPath_, timeout_, method, target, body, contentType, false);
}

struct AdminSession::Conn {
  asio::io_context ioc{1};
  beast::basic_stream<Local> stream{ioc};
};

AdminSession::AdminSession(std::string socketPath, std::chrono::seconds timeout)
    : socketPath_(std::move(socketPath)), timeout_(timeout) {}
AdminSession::~AdminSession() = default;

Result<HttpReply> AdminSession::request(const std::string& method, const std::string& target,
                                        const std::string& body, const std::string& contentType) {
  if (!conn_) {
    auto c = std::make_unique<Conn>();
    if (auto s = connectTo(c->ioc, c->stream, socketPath_, timeout_); !s.ok()) return s;
    conn_ = std::move(c);
  }
  auto r = exchange(conn_->ioc, conn_->stream, socketPath_, timeout_, method, target, body, contentType, true);
  // civnetd closes a connection after an error, on shutdown, or when it
  // said so; the next request opens a new one.
  if (!r.ok() || !r->keepAlive) conn_.reset();
  return r;
}

Result<HttpReply> AdminClient::stream(const std::string& target,
                                      const std::function<Status(std::string_view)>& sink) const {
  asio::io_context ioc(1);
  beast::basic_stream<Local> stream(ioc);
  beast::error_code ec;
  bool done = false;
  if (auto s = connectTo(ioc, stream, socketPath_, timeout_); !s.ok()) return s;

  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "civnetd");
  req.set(http::field::user_agent, "civnetctl");
  req.keep_alive(false);
  stream.expires_after(timeout_);
  http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto e = runToCompletion(ioc, ec, done)) return ioError("sending the request to civnetd: " + e.message());

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  done = false;
  stream.expires_after(timeout_);
  http::async_read_header(stream, buffer, parser, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto e = runToCompletion(ioc, ec, done)) {
    if (e == beast::error::timeout)
      return ioError("civnetd at " + socketPath_ + " did not answer within " + std::to_string(timeout_.count()) + " s");
    return ioError("reading civnetd's answer: " + e.message());
  }
  HttpReply reply = replyHead(parser.get());

  if (reply.status != 200) {
    // An error: small, read whole as text.
    http::response_parser<http::string_body> whole(std::move(parser));
    whole.body_limit(kMaxReplyBytes);
    done = false;
    stream.expires_after(timeout_);
    http::async_read(stream, buffer, whole, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (auto e = runToCompletion(ioc, ec, done)) return ioError("reading civnetd's answer: " + e.message());
    reply.body = std::move(whole.get().body());
    return reply;
  }

  std::string piece(256 * 1024, '\0');
  std::uint64_t received = 0;
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    done = false;
    stream.expires_after(timeout_);
    http::async_read_some(stream, buffer, parser, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    auto e = runToCompletion(ioc, ec, done);
    if (e && e != http::error::need_buffer) {
      if (e == beast::error::timeout)
        return ioError("civnetd sent nothing for " + std::to_string(timeout_.count()) + " s after " +
                       std::to_string(received) + " bytes");
      return ioError("civnetd's answer was cut off after " + std::to_string(received) + " bytes (" + e.message() +
                     "; did civnetd stop?)");
    }
    const std::size_t n = piece.size() - parser.get().body().size;
    received += n;
    if (n > 0)
      if (auto s = sink(std::string_view(piece.data(), n)); !s.ok()) return s;
  }
  beast::error_code ignored;
  stream.socket().shutdown(Local::socket::shutdown_both, ignored);
  return reply;
}

}  // namespace civnet::tools

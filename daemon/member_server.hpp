// The member interface's HTTPS server (Boost.Beast over OpenSSL): TLS 1.2
// or 1.3, HTTP/1.1 with keep-alive, on its own thread and io_context.
// Handlers (MemberApi::handle, which may hash a password) run on a small
// thread pool, so the network thread never waits for them.
//
// Limits: the request header at most 8 KiB (431), the body at most
// maxBodyBytes (413), the header within headerTimeout of the connection or
// of the previous answer and the whole request within requestTimeout (a slow
// client is closed, others go on), at most 32 connections per client
// address and maxConnections in all; at that limit a new connection closes
// the one that has waited longest for its client (in the TLS handshake or
// for a request's headers), so slow clients cannot keep others out. Every
// answer carries the security headers (Content-Security-Policy without
// inline script, HSTS, nosniff, frame-ancestors none, no-referrer) and
// Cache-Control: no-store.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/member_api.hpp"
#include "schemas/status.hpp"

namespace spdlog { class logger; }

namespace civnet::daemon {

class MemberApi;

struct MemberServerOptions {
  std::string listen;   // HOST:PORT (port 0: any free one)
  std::string certPem;  // certificate chain
  std::string keyPem;   // its private key
  std::size_t maxBodyBytes = 256 * 1024;
  std::chrono::seconds headerTimeout{10};
  std::chrono::seconds requestTimeout{30};
  std::size_t maxConnections = 256;
  // Threads that run the handlers (store reads, searches, logins). More than
  // the cores: with 2, two searches held every thread and list pages, a
  // millisecond's work, queued behind them.
  int workerThreads = 8;
};

// What the server's connections have been doing (for /metrics).
struct MemberServerStats {
  std::uint64_t open = 0;               // connections open now, event streams included
  std::uint64_t peak = 0;               // the most open at once since the start
  std::uint64_t evicted = 0;            // closed at the limit to let a new one in
  std::uint64_t refusedPerAddress = 0;  // refused: their address had 32 open already
};

class MemberServer {
 public:
  // REQUIRES: `api` outlives this object.
  MemberServer(MemberApi& api, MemberServerOptions options, std::shared_ptr<spdlog::logger> log);
  ~MemberServer();  // stop()
  MemberServer(const MemberServer&) = delete;
  MemberServer& operator=(const MemberServer&) = delete;

  // Loads the certificate, binds (refused with the address and the reason
  // if it cannot) and starts serving.
  Status start();
  // Closes every connection and joins the threads. Idempotent.
  void stop();
  std::optional<std::uint16_t> port() const;
  // Safe from any thread.
  MemberServerStats stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// How the server reads one request from the start of `bytes`, without a
// socket: the same parser, limits and refusals (for the HTTP fuzz target).
// At most one of `request` (a whole request of `consumed` bytes) and
// `refusal` (the answer the server sends before it closes the connection:
// 400 malformed, 413 body too large, 431 headers too large) is set; neither
// when `bytes` ends inside the request.
struct ParsedMemberRequest {
  std::optional<MemberRequest> request;
  std::optional<MemberResponse> refusal;
  std::size_t consumed = 0;
  bool keepAlive = false;
};
ParsedMemberRequest parseMemberRequest(std::string_view bytes, std::size_t maxBodyBytes, const std::string& client);

}  // namespace civnet::daemon

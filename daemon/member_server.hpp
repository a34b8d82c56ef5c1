// The member interface's HTTPS server (Boost.Beast over OpenSSL): TLS 1.2
// or 1.3, HTTP/1.1 with keep-alive, on its own thread and io_context.
// Handlers (MemberApi::handle, which may hash a password) run on a small
// thread pool, so the network thread never waits for them.
//
// Limits: the request header at most 8 KiB (431), the body at most
// maxBodyBytes (413), the header within headerTimeout of the connection or
// of the previous answer and the whole request within requestTimeout (a slow
// client is closed, others go on), at most maxConnections at once. Every
// answer carries the security headers (Content-Security-Policy without
// inline script, HSTS, nosniff, frame-ancestors none, no-referrer) and
// Cache-Control: no-store.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace civnet::daemon

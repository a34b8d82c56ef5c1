// The admin API server: HTTP/1.1 on a Unix socket in the data dir, mode 0600
// (file permissions are the authentication), one io_context on the calling
// thread, one coroutine per connection. Handlers run on a small thread pool
// (AdminApi::handle may block on the store) and the session co_awaits them.
//
// Every read has a deadline (request_timeout_seconds) and a size cap (the
// header 16 KiB; the body AdminApi::bodyLimit). SIGINT or SIGTERM stops the
// server cleanly: no new connections, idle connections and connections still
// sending a request are closed, requests being handled are answered, then
// the socket file is removed. SIGHUP calls onHangup (a reload) and serves on.
// With [metrics] listen, the same loop serves GET /metrics over plain HTTP on
// TCP: that one path, one request per connection, at most 32 at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "schemas/status.hpp"

namespace spdlog { class logger; }

namespace civnet::daemon {

class AdminApi;

struct ServerOptions {
  std::filesystem::path socketPath;
  std::chrono::seconds requestTimeout{30};
  int workerThreads = 16;
  // Called on SIGHUP (off the io thread; it may block): reload the config.
  std::function<void()> onHangup;
  // Where to serve GET /metrics over plain HTTP for a Prometheus scraper
  // ([metrics] listen); no host: nowhere. The port may be 0 (any).
  std::string metricsHost;
  std::uint16_t metricsPort = 0;
  // Told the port the metrics listener got, once it listens.
  std::function<void(std::uint16_t)> onMetricsPort;
};

// Makes sure nothing else serves on `socketPath`: a stale socket file (no
// process listening) is removed; a live one is refused ("another civnetd is
// running"), as is a path that is not a socket or too long for one.
Status claimSocketPath(const std::filesystem::path& socketPath);

// Serves until SIGINT or SIGTERM. Returns ok after a clean shutdown, with the
// socket file removed; an error if the socket cannot be set up.
// REQUIRES: `api` outlives the call.
Status serveAdmin(const ServerOptions& options, AdminApi& api, std::shared_ptr<spdlog::logger> log);

}  // namespace civnet::daemon

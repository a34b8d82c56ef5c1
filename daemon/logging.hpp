// civnetd's loggers: one spdlog logger per category (node, admin, store, membership, net),
// all writing one line per event to stderr, created by main and passed down
// (no registry, no globals). Never log a secret: keys appear as public hex.
#pragma once

#include <memory>
#include <string>

namespace spdlog { class logger; }

namespace civnet::daemon {

struct Logs {
  std::shared_ptr<spdlog::logger> node;   // start-up, shutdown, configuration
  std::shared_ptr<spdlog::logger> admin;  // the admin API: requests, jobs
  std::shared_ptr<spdlog::logger> store;  // store events seen by the daemon
  std::shared_ptr<spdlog::logger> membership;  // the stewards' rules: the view, refusals
  std::shared_ptr<spdlog::logger> net;         // peer links: connections, refusals, sync
  std::shared_ptr<spdlog::logger> http;        // the member interface: logins, its server
};

// REQUIRES: isLogLevel(level).
Logs makeLogs(const std::string& level);
// Sets every category's level (a name isLogLevel accepts).
void setLogLevel(const Logs& logs, const std::string& level);

}  // namespace civnet::daemon

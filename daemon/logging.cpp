// Logger set-up (see logging.hpp).
#include "logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace civnet::daemon {

Logs makeLogs(const std::string& level) {
  // One sink shared by every category, so lines never interleave mid-line.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l %-5n %v");
  auto lvl = spdlog::level::from_str(level);
  auto make = [&](const char* name) {
    auto l = std::make_shared<spdlog::logger>(name, sink);
    l->set_level(lvl);
    l->flush_on(spdlog::level::info);
    return l;
  };
  return Logs{make("node"), make("admin"), make("store"), make("membership"), make("net"), make("http")};
}

void setLogLevel(const Logs& logs, const std::string& level) {
  const auto lvl = spdlog::level::from_str(level);
  for (const auto& l : {logs.node, logs.admin, logs.store, logs.membership, logs.net, logs.http}) l->set_level(lvl);
}

}  // namespace civnet::daemon

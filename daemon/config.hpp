// civnetd's configuration: one TOML file in the data dir (civnetd.toml) with
// sensible defaults, so a fresh `civnetd init` runs without editing it.
//
// Unknown keys and bad values are refused, naming the file, the line and the
// reason: a typo in a config file must not silently fall back to a default.
// Command-line flags (e.g. --log-level) override what the file says.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "schemas/status.hpp"

namespace civnet::daemon {

struct Config {
  // [log]
  std::string logLevel = "info";  // trace, debug, info, warn, error, critical, off
  // [admin]
  int requestTimeoutSeconds = 30;                 // to read a request and write its answer
  std::size_t maxRequestBytes = 8 * 1024 * 1024;  // largest request body (an import batch)
  int workerThreads = 2;                          // threads running store calls for the API
  // [store]
  std::size_t blockCacheMib = 32;
};

// The commented file `civnetd init` writes; parses to Config{}.
std::string defaultConfigText();

// Parses TOML text; `fileName` is used in error messages only.
Result<Config> parseConfig(const std::string& text, const std::string& fileName);
Result<Config> loadConfig(const std::filesystem::path& file);

// True for the level names spdlog knows ("trace" ... "off").
bool isLogLevel(const std::string& level);

}  // namespace civnet::daemon

// `civnetd run`: loads a node's configuration, keys and store, checks that it
// belongs to a network, and serves the admin API until SIGINT/SIGTERM.
//
// Start-up failures (missing or corrupt data dir, a bad config line, a key
// file readable by others, a store of a newer version, no network) come back
// as one Status line for main to print; nothing is served in that case.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "schemas/status.hpp"

namespace civnet::daemon {

struct RunOptions {
  std::filesystem::path dataDir;
  std::optional<std::string> logLevel;  // overrides [log] level
  std::optional<std::string> peerListen = std::nullopt;  // overrides [net] listen ("" listens nowhere)
  std::optional<std::string> httpListen = std::nullopt;  // overrides [http] listen ("" serves none)
};

// Blocks until the node has shut down. ok after a clean shutdown.
Status runNode(const RunOptions& options);

}  // namespace civnet::daemon

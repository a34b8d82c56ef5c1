// Reloading civnetd.toml while the node runs (SIGHUP, `civnetctl reload`).
//
// What can change live changes at once: the log level, the [[peer]] list
// (peers added are dialed, peers removed are dropped, a new address is
// dialed instead of the old one), and [admin] max_request_bytes. Anything
// else that changed is named as taking effect at the next restart. A file
// that does not parse, or holds a bad value, changes nothing: the node goes
// on with what it runs, and the error names the file and line.
//
// Thread-safe: reloads are serialised.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/logging.hpp"
#include "schemas/status.hpp"

namespace civnet::federation { class PeerNetwork; }

namespace civnet::daemon {

class PeerBook;

struct ReloadTargets {
  Logs logs;
  // The level --log-level set at start, which a reload leaves in force.
  std::optional<std::string> logLevelFlag;
  PeerBook* peers = nullptr;
  federation::PeerNetwork* network = nullptr;
  std::function<void(std::size_t)> setMaxRequestBytes;
  // [store] max_size_mib and min_free_disk_mib, in MiB.
  std::function<void(std::size_t maxSizeMib, std::size_t minFreeDiskMib)> setStoreLimits;
};

class Reloader {
 public:
  // `running`: the configuration the node started with.
  Reloader(std::filesystem::path file, Config running, ReloadTargets targets);

  // Reads the file again and applies what changed. Returns one line per
  // change (empty when nothing changed), each also logged; an error if the
  // file is not valid (then nothing changed).
  Result<std::vector<std::string>> reload();

 private:
  std::mutex mu_;
  std::filesystem::path file_;
  Config running_;  // guarded by mu_
  ReloadTargets targets_;
};

}  // namespace civnet::daemon

// civnetd's command line: argv in, a DaemonCommand (or a usage error) out.
// Kept apart from main so tests can check the parsing without running a
// node, and so CLI11's heavy header is compiled in this one file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "schemas/status.hpp"

namespace civnet::daemon {

enum class DaemonVerb { init, genesis, run, help, version };

struct DaemonCommand {
  DaemonVerb verb = DaemonVerb::help;
  std::string dataDir;
  std::optional<std::string> org;       // init
  std::optional<std::string> network;   // init: a genesis file to join
  std::string name;                     // genesis: the network's name
  std::string out;                      // genesis: the file to write
  std::optional<std::string> logLevel;  // run
  std::string helpText;                 // help, version: what to print
};

// `args` are the arguments after the program name. `envDataDir` is the value
// of CIVNET_DATA_DIR, used when --data-dir is not given. An error's message
// is one line naming what is wrong.
Result<DaemonCommand> parseDaemonArgs(const std::vector<std::string>& args,
                                      const std::optional<std::string>& envDataDir);

}  // namespace civnet::daemon

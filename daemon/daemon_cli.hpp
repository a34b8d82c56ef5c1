// civnetd's command line: argv in, a DaemonCommand (or a usage error) out.
// Kept apart from main so tests can check the parsing without running a
// node, and so CLI11's heavy header is compiled in this one file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schemas/status.hpp"

namespace civnet::daemon {

enum class DaemonVerb {
  init,
  genesis,       // the one-steward network: genesis --data-dir --name --out
  genesisDraft,  // genesis draft --name --steward KEY... --threshold K --out FILE
  genesisSign,   // genesis sign --data-dir DIR FILE
  genesisCheck,  // genesis check FILE
  join,          // join --data-dir DIR --network FILE
  run,
  checkConfig,   // check-config (--data-dir DIR | --config FILE)
  restore,       // restore --data-dir DIR FILE
  repair,        // repair --data-dir DIR
  help,
  version
};

struct DaemonCommand {
  DaemonVerb verb = DaemonVerb::help;
  std::string dataDir;                  // every verb but genesisDraft and genesisCheck
  std::optional<std::string> org;       // init
  std::optional<std::string> network;   // init: a genesis file to join; join: required
  bool steward = false;                 // init: also make keys/steward.key
  std::string name;                     // genesis, genesisDraft: the network's name
  std::string out;                      // genesis, genesisDraft: the file to write
  std::vector<std::string> stewards;    // genesisDraft: 64-hex-char feed keys, as given
  std::int64_t threshold = 0;           // genesisDraft: k, range checked by draftGenesis
  std::string file;                     // genesisSign, genesisCheck: the genesis file; restore: the backup
  std::optional<std::string> logLevel;  // run
  std::optional<std::string> config;    // checkConfig: a config file (else DIR/civnetd.toml)
  std::optional<std::string> peerListen;  // init (kept in the config), run (overrides it): HOST:PORT
  std::optional<std::string> httpListen;  // the same for the member web interface
  std::string helpText;                 // help, version: what to print
};

// `args` are the arguments after the program name. `envDataDir` is the value
// of CIVNET_DATA_DIR, used when --data-dir is not given. An error's message
// is one line naming what is wrong. Steward keys are checked to be 64 hex
// characters here; the genesis rules (no key twice, 1 <= k <= stewards) are
// draftGenesis's (daemon/node_setup.hpp).
Result<DaemonCommand> parseDaemonArgs(const std::vector<std::string>& args,
                                      const std::optional<std::string>& envDataDir);

}  // namespace civnet::daemon

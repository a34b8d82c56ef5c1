// civnetd's entry point: parses the command line and runs init, genesis or
// run. Every failure is one line on stderr ("civnetd: ...") and a non-zero
// exit: 1 when the command failed, 2 for a usage error.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "daemon/daemon_cli.hpp"
#include "daemon/node.hpp"
#include "daemon/node_setup.hpp"

namespace {

int fail(const civnet::Status& s) {
  std::cerr << "civnetd: " << s.message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace civnet::daemon;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> env;
  if (const char* e = std::getenv("CIVNET_DATA_DIR")) env = e;
  auto cmd = parseDaemonArgs(args, env);
  if (!cmd.ok()) {
    std::cerr << "civnetd: " << cmd.status().message() << "\n";
    return 2;
  }
  // A client that hangs up must not kill the node.
  std::signal(SIGPIPE, SIG_IGN);

  try {
    switch (cmd->verb) {
      case DaemonVerb::help:
      case DaemonVerb::version:
        std::cout << cmd->helpText;
        return 0;
      case DaemonVerb::init: {
        InitOptions o{cmd->dataDir, cmd->org, std::nullopt};
        if (cmd->network) o.network = *cmd->network;
        auto r = initNode(o);
        if (!r.ok()) return fail(r.status());
        std::cout << "created a node in " << r->dataDir.string() << "\n"
                  << "organization  " << r->org << "\n"
                  << "node key      " << r->nodeKey.hex() << "\n"
                  << "feed key      " << r->feedKey.hex() << "\n";
        if (r->network)
          std::cout << "network       " << r->network->hex() << " (" << r->networkName << ")\n"
                    << "start it with: civnetd run --data-dir " << r->dataDir.string() << "\n";
        else
          std::cout << "it belongs to no network yet: create one with\n  civnetd genesis --data-dir "
                    << r->dataDir.string() << " --name NAME --out FILE\n"
                    << "or create the node with --network FILE to join an existing one\n";
        return 0;
      }
      case DaemonVerb::genesis: {
        auto r = makeGenesis(GenesisOptions{cmd->dataDir, cmd->name, cmd->out});
        if (!r.ok()) return fail(r.status());
        std::cout << "created network \"" << r->name << "\"\n"
                  << "network id    " << r->network.hex() << "\n"
                  << "steward key   " << r->steward.hex() << "\n"
                  << "genesis file  " << r->out.string() << "\n"
                  << "other nodes join with: civnetd init --data-dir DIR --network " << r->out.string() << "\n";
        return 0;
      }
      case DaemonVerb::run: {
        auto s = runNode(RunOptions{cmd->dataDir, cmd->logLevel});
        if (!s.ok()) return fail(s);
        return 0;
      }
    }
  } catch (const std::exception& e) {
    // Exceptions are bugs or fatal misconfiguration: still one line.
    std::cerr << "civnetd: fatal: " << e.what() << "\n";
    return 1;
  }
  return 1;
}

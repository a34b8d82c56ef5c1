// civnetd's argument parsing with CLI11 (see daemon_cli.hpp).
#include "daemon_cli.hpp"

#include <CLI/CLI.hpp>

#ifndef CIVNET_VERSION
#define CIVNET_VERSION "unknown"
#endif

namespace civnet::daemon {

Result<DaemonCommand> parseDaemonArgs(const std::vector<std::string>& args,
                                      const std::optional<std::string>& envDataDir) {
  DaemonCommand cmd;
  CLI::App app{"civnetd: a node of a civnet network.\n"
               "Create a node with `init`, a network with `genesis`, and serve with `run`.",
               "civnetd"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and exit");

  const char* dataDirHelp = "The node's data directory (default: $CIVNET_DATA_DIR)";
  auto* init = app.add_subcommand("init", "Create a node: keys, TLS certificate, config, store");
  init->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  init->add_option("--org", cmd.org, "The organization this node hosts (default: the data dir's name)");
  init->add_option("--network", cmd.network, "Join the network of this genesis file");

  auto* genesis = app.add_subcommand("genesis", "Create a one-steward network with this node as its steward");
  genesis->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  genesis->add_option("--name", cmd.name, "The network's name")->required();
  genesis->add_option("--out", cmd.out, "Write the genesis file here (never overwritten)")->required();

  auto* run = app.add_subcommand("run", "Run the node: serve the admin API until SIGINT or SIGTERM");
  run->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  run->add_option("--log-level", cmd.logLevel, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  std::vector<const char*> argv{"civnetd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    cmd.verb = DaemonVerb::help;
    cmd.helpText = app.help();
    return cmd;
  } catch (const CLI::CallForAllHelp&) {
    cmd.verb = DaemonVerb::help;
    cmd.helpText = app.help("", CLI::AppFormatMode::All);
    return cmd;
  } catch (const CLI::ParseError& e) {
    std::string where = app.get_subcommands().empty() ? "civnetd --help"
                                                      : "civnetd " + app.get_subcommands().front()->get_name() + " --help";
    return invalidArgument(std::string(e.what()) + " (see " + where + ")");
  }

  if (version) {
    cmd.verb = DaemonVerb::version;
    cmd.helpText = std::string("civnetd ") + CIVNET_VERSION + "\n";
    return cmd;
  }
  if (init->parsed()) cmd.verb = DaemonVerb::init;
  else if (genesis->parsed()) cmd.verb = DaemonVerb::genesis;
  else if (run->parsed()) cmd.verb = DaemonVerb::run;
  else {
    cmd.verb = DaemonVerb::help;
    cmd.helpText = app.help();
    return cmd;
  }

  if (cmd.dataDir.empty()) {
    if (envDataDir && !envDataDir->empty()) cmd.dataDir = *envDataDir;
    else return invalidArgument("--data-dir DIR is required (or set CIVNET_DATA_DIR)");
  }
  if (cmd.verb == DaemonVerb::init && cmd.org && cmd.org->empty())
    return invalidArgument("--org must not be empty");
  if (cmd.verb == DaemonVerb::genesis && cmd.name.empty()) return invalidArgument("--name must not be empty");
  return cmd;
}

}  // namespace civnet::daemon

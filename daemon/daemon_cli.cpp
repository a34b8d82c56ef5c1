// civnetd's argument parsing with CLI11 (see daemon_cli.hpp).
#include "daemon_cli.hpp"

#include <CLI/CLI.hpp>

#include "schemas/crypto.hpp"

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
  init->add_option("--peer-listen", cmd.peerListen,
                   "Where other nodes connect, HOST:PORT (kept in civnetd.toml; default 0.0.0.0:7420)");
  init->add_option("--http-listen", cmd.httpListen,
                   "Where members' browsers connect (HTTPS), HOST:PORT (kept in civnetd.toml; default 0.0.0.0:7443)");
  init->add_flag("--steward", cmd.steward,
                 "Also make a steward key (keys/steward.key) to give to the founders of a network");

  auto* genesis = app.add_subcommand(
      "genesis",
      "Create a network: with --name and --out, a one-steward network with this node as its steward;\n"
      "with draft, sign and check, a network of several stewards");
  genesis->require_subcommand(0, 1);
  genesis->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  genesis->add_option("--name", cmd.name, "The network's name");
  genesis->add_option("--out", cmd.out, "Write the genesis file here (never overwritten)");

  auto* draft = genesis->add_subcommand("draft", "Write an unsigned genesis naming several stewards");
  draft->add_option("--name", cmd.name, "The network's name")->required();
  draft->add_option("--steward", cmd.stewards, "A steward's feed key (64 hex characters); repeat for each")
      ->required();
  draft->add_option("--threshold", cmd.threshold, "k: how many stewards make an action final")->required();
  draft->add_option("--out", cmd.out, "Write the draft here (never overwritten)")->required();

  auto* sign = genesis->add_subcommand("sign", "Sign a draft with this node's steward key (rewrites FILE)");
  sign->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  sign->add_option("FILE", cmd.file, "The genesis draft")->required();

  auto* check = genesis->add_subcommand("check", "Show who signed a genesis; exit 0 only when it is complete");
  check->add_option("FILE", cmd.file, "The genesis file")->required();

  auto* join = app.add_subcommand("join", "Join a node made without --network to the network of a genesis file");
  join->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  join->add_option("--network", cmd.network, "The network's (complete) genesis file")->required();

  auto* run = app.add_subcommand("run", "Run the node: serve the admin API until SIGINT or SIGTERM");
  run->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  run->add_option("--peer-listen", cmd.peerListen, "Where other nodes connect, HOST:PORT (overrides civnetd.toml)");
  run->add_option("--http-listen", cmd.httpListen,
                  "Where members' browsers connect (HTTPS), HOST:PORT (overrides civnetd.toml)");
  run->add_option("--log-level", cmd.logLevel, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  auto* checkConfig = app.add_subcommand(
      "check-config", "Check a node's civnetd.toml as `run` would, without starting; exit 0 if it is valid");
  checkConfig->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  checkConfig->add_option("--config", cmd.config, "Check this file instead of DIR/civnetd.toml (e.g. before installing it)");
  checkConfig->footer("Example: civnetd check-config --data-dir /var/lib/civnet");

  auto* restore = app.add_subcommand(
      "restore",
      "Make a node from a backup (civnetctl backup) in a new or empty DIR, checking every entry;\n"
      "the restored node publishes again once a peer has confirmed its feeds");
  restore->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  restore->add_option("FILE", cmd.file, "The backup file")->required();
  restore->footer("Example: civnetd restore --data-dir /var/lib/civnet /root/civnet-2026-11-30.backup");

  auto* repair = app.add_subcommand(
      "repair",
      "Rebuild a damaged store with no backup from what can still be read of it, keeping the\n"
      "damaged one aside; what was lost comes back from peers (docs/operations.md, \"A damaged store\")");
  repair->add_option("--data-dir", cmd.dataDir, dataDirHelp);
  repair->footer("Example: civnetd repair --data-dir /var/lib/civnet");

  init->footer("Example: civnetd init --data-dir /var/lib/civnet --org \"River Women\" --network sahel.genesis");
  genesis->footer("Example: civnetd genesis --data-dir /var/lib/civnet --name \"Sahel Network\" --out sahel.genesis");
  draft->footer("Example: civnetd genesis draft --name \"Sahel Network\" --steward KEY1 --steward KEY2 "
                "--steward KEY3 --threshold 2 --out sahel.genesis");
  sign->footer("Example: civnetd genesis sign --data-dir /var/lib/civnet sahel.genesis");
  check->footer("Example: civnetd genesis check sahel.genesis && echo complete");
  join->footer("Example: civnetd join --data-dir /var/lib/civnet --network sahel.genesis");
  run->footer("Example: civnetd run --data-dir /var/lib/civnet --log-level debug");

  // "civnetd genesis draft --help": the deepest command the parse reached.
  auto helpHint = [&] {
    std::string where = "civnetd";
    for (const CLI::App* a = &app; !a->get_subcommands().empty(); a = a->get_subcommands().front())
      where += " " + a->get_subcommands().front()->get_name();
    return " (see " + where + " --help)";
  };

  std::vector<const char*> argv{"civnetd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    cmd.verb = DaemonVerb::help;
    const CLI::App* deepest = &app;
    while (!deepest->get_subcommands().empty()) deepest = deepest->get_subcommands().front();
    cmd.helpText = deepest == &app ? app.help() : deepest->help();
    return cmd;
  } catch (const CLI::CallForAllHelp&) {
    cmd.verb = DaemonVerb::help;
    cmd.helpText = app.help("", CLI::AppFormatMode::All);
    return cmd;
  } catch (const CLI::ParseError& e) {
    return invalidArgument(std::string(e.what()) + helpHint());
  }

  if (version) {
    cmd.verb = DaemonVerb::version;
    cmd.helpText = std::string("civnetd ") + CIVNET_VERSION + "\n";
    return cmd;
  }
  if (init->parsed()) cmd.verb = DaemonVerb::init;
  else if (draft->parsed()) cmd.verb = DaemonVerb::genesisDraft;
  else if (sign->parsed()) cmd.verb = DaemonVerb::genesisSign;
  else if (check->parsed()) cmd.verb = DaemonVerb::genesisCheck;
  else if (genesis->parsed()) cmd.verb = DaemonVerb::genesis;
  else if (join->parsed()) cmd.verb = DaemonVerb::join;
  else if (run->parsed()) cmd.verb = DaemonVerb::run;
  else if (checkConfig->parsed()) cmd.verb = DaemonVerb::checkConfig;
  else if (restore->parsed()) cmd.verb = DaemonVerb::restore;
  else if (repair->parsed()) cmd.verb = DaemonVerb::repair;
  else {
    cmd.verb = DaemonVerb::help;
    cmd.helpText = app.help();
    return cmd;
  }

  if (cmd.verb == DaemonVerb::genesis) {
    // The one-steward form; its flags are optional only because draft, sign
    // and check live under the same word.
    if (genesis->count("--name") == 0) return invalidArgument("--name is required" + helpHint());
    if (genesis->count("--out") == 0) return invalidArgument("--out is required" + helpHint());
    if (cmd.name.empty()) return invalidArgument("--name must not be empty");
  }
  if (cmd.verb == DaemonVerb::genesisDraft) {
    for (const auto& key : cmd.stewards)
      if (auto k = PublicKey::parseHex(key, "--steward"); !k.ok()) return k.status();
    if (cmd.name.empty()) return invalidArgument("--name must not be empty");
    if (cmd.out.empty()) return invalidArgument("--out must not be empty");
  }
  if ((cmd.verb == DaemonVerb::genesisSign || cmd.verb == DaemonVerb::genesisCheck) && cmd.file.empty())
    return invalidArgument("the genesis FILE must not be empty");
  if (cmd.verb == DaemonVerb::join && cmd.network->empty()) return invalidArgument("--network must not be empty");
  if (cmd.verb == DaemonVerb::restore && cmd.file.empty()) return invalidArgument("the backup FILE must not be empty");

  if (cmd.verb == DaemonVerb::checkConfig && cmd.config && cmd.config->empty())
    return invalidArgument("--config must not be empty");
  bool needsDataDir = cmd.verb != DaemonVerb::genesisDraft && cmd.verb != DaemonVerb::genesisCheck &&
                      !(cmd.verb == DaemonVerb::checkConfig && cmd.config);
  if (needsDataDir && cmd.dataDir.empty()) {
    if (envDataDir && !envDataDir->empty()) cmd.dataDir = *envDataDir;
    else return invalidArgument("--data-dir DIR is required (or set CIVNET_DATA_DIR)");
  }
  if (cmd.verb == DaemonVerb::init && cmd.org && cmd.org->empty())
    return invalidArgument("--org must not be empty");
  return cmd;
}

}  // namespace civnet::daemon

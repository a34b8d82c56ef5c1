// Tests of civnetd's argument parsing (daemon/daemon_cli.hpp).
#include <doctest/doctest.h>

#include "daemon/daemon_cli.hpp"

using civnet::daemon::DaemonCommand;
using civnet::daemon::DaemonVerb;
using civnet::daemon::parseDaemonArgs;

namespace {

const std::optional<std::string> kNoEnv;

DaemonCommand parseOk(const std::vector<std::string>& args, const std::optional<std::string>& env = kNoEnv) {
  auto r = parseDaemonArgs(args, env);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.value();
}

std::string parseError(const std::vector<std::string>& args, const std::optional<std::string>& env = kNoEnv) {
  auto r = parseDaemonArgs(args, env);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("daemon_cli") {
  TEST_CASE("init takes a data dir, an organization and a network") {
    DaemonCommand c = parseOk({"init", "--data-dir", "n", "--org", "Water Org", "--network", "net.genesis"});
    CHECK(c.verb == DaemonVerb::init);
    CHECK(c.dataDir == "n");
    REQUIRE(c.org);
    CHECK(*c.org == "Water Org");
    REQUIRE(c.network);
    CHECK(*c.network == "net.genesis");
  }

  TEST_CASE("init and run take --peer-listen; without it nothing overrides the config") {
    DaemonCommand i = parseOk({"init", "--data-dir", "n", "--peer-listen", "127.0.0.1:7421"});
    REQUIRE(i.peerListen);
    CHECK(*i.peerListen == "127.0.0.1:7421");
    DaemonCommand r = parseOk({"run", "--data-dir", "n", "--peer-listen", ""});
    REQUIRE(r.peerListen);
    CHECK(r.peerListen->empty());
    CHECK_FALSE(parseOk({"run", "--data-dir", "n"}).peerListen);
  }

  TEST_CASE("every command's help shows an example of it") {
    for (auto args : {std::vector<std::string>{"init"}, {"genesis"}, {"genesis", "draft"}, {"genesis", "sign"},
                      {"genesis", "check"}, {"join"}, {"run"}, {"check-config"}}) {
      std::vector<std::string> withHelp = args;
      withHelp.push_back("--help");
      DaemonCommand c = parseOk(withHelp);
      std::string command = "civnetd";
      for (const auto& a : args) command += " " + a;
      INFO(command);
      CHECK(c.helpText.find("Example: " + command) != std::string::npos);
    }
  }

  TEST_CASE("check-config takes a data dir or a config file") {
    DaemonCommand c = parseOk({"check-config", "--data-dir", "n"});
    CHECK(c.verb == DaemonVerb::checkConfig);
    CHECK(c.dataDir == "n");
    CHECK_FALSE(c.config.has_value());
    DaemonCommand f = parseOk({"check-config", "--config", "/etc/civnet/civnetd.toml"});
    CHECK(f.config == std::optional<std::string>("/etc/civnet/civnetd.toml"));
    CHECK(parseOk({"check-config"}, std::string("from-env")).dataDir == "from-env");
    CHECK(parseError({"check-config"}).find("--data-dir") != std::string::npos);
    CHECK(parseError({"check-config", "--config", ""}).find("--config must not be empty") != std::string::npos);
  }

  TEST_CASE("init leaves the organization and network unset when not given") {
    DaemonCommand c = parseOk({"init", "--data-dir", "n"});
    CHECK_FALSE(c.org);
    CHECK_FALSE(c.network);
  }

  TEST_CASE("init refuses an empty organization name") {
    CHECK(contains(parseError({"init", "--data-dir", "n", "--org", ""}), "--org"));
  }

  TEST_CASE("a command without a data dir is refused unless CIVNET_DATA_DIR is set") {
    CHECK(contains(parseError({"run"}), "--data-dir"));
    CHECK(parseOk({"run"}, std::string("/srv/node")).dataDir == "/srv/node");
  }

  TEST_CASE("genesis needs a name and an output file") {
    DaemonCommand c = parseOk({"genesis", "--data-dir", "n", "--name", "Net", "--out", "net.genesis"});
    CHECK(c.verb == DaemonVerb::genesis);
    CHECK(c.name == "Net");
    CHECK(c.out == "net.genesis");
    CHECK(contains(parseError({"genesis", "--data-dir", "n", "--out", "f"}), "--name"));
    CHECK(contains(parseError({"genesis", "--data-dir", "n", "--name", "Net"}), "--out"));
  }

  TEST_CASE("init --steward asks for a steward key, and is off by default") {
    CHECK(parseOk({"init", "--data-dir", "n", "--steward"}).steward);
    CHECK_FALSE(parseOk({"init", "--data-dir", "n"}).steward);
  }

  TEST_CASE("the one-steward genesis still needs no subcommand, and an empty name is refused") {
    CHECK(parseOk({"genesis", "--data-dir", "n", "--name", "Net", "--out", "f"}).verb == DaemonVerb::genesis);
    CHECK(contains(parseError({"genesis", "--data-dir", "n", "--name", "", "--out", "f"}), "--name"));
    CHECK(contains(parseError({"genesis", "--name", "Net", "--out", "f"}), "--data-dir"));
  }

  TEST_CASE("genesis draft takes a name, repeated stewards, a threshold and an output file, without a data dir") {
    const std::string a(64, 'a'), b(64, 'B');
    DaemonCommand c = parseOk({"genesis", "draft", "--name", "Net", "--steward", a, "--steward", b,
                               "--threshold", "2", "--out", "net.draft"});
    CHECK(c.verb == DaemonVerb::genesisDraft);
    CHECK(c.name == "Net");
    CHECK(c.stewards == std::vector<std::string>{a, b});
    CHECK(c.threshold == 2);
    CHECK(c.out == "net.draft");
    CHECK(c.dataDir.empty());
  }

  TEST_CASE("genesis draft passes an out-of-range threshold on to the genesis rules") {
    const std::string a(64, 'a');
    CHECK(parseOk({"genesis", "draft", "--name", "N", "--steward", a, "--threshold", "0", "--out", "f"}).threshold == 0);
    CHECK(parseOk({"genesis", "draft", "--name", "N", "--steward", a, "--threshold", "-1", "--out", "f"}).threshold ==
          -1);
    CHECK(parseOk({"genesis", "draft", "--name", "N", "--steward", a, "--threshold", "5", "--out", "f"}).threshold == 5);
  }

  TEST_CASE("genesis draft refuses a steward key that is not 64 hex characters, and missing flags") {
    const std::string a(64, 'a');
    std::string e = parseError({"genesis", "draft", "--name", "N", "--steward", "abc", "--threshold", "1", "--out", "f"});
    CHECK(contains(e, "--steward must be 64 hex characters"));
    CHECK(contains(e, "\"abc\""));
    CHECK(contains(parseError({"genesis", "draft", "--name", "N", "--steward", std::string(63, 'a') + "g",
                               "--threshold", "1", "--out", "f"}),
                   "--steward"));
    CHECK(contains(parseError({"genesis", "draft", "--name", "N", "--threshold", "1", "--out", "f"}), "--steward"));
    CHECK(contains(parseError({"genesis", "draft", "--name", "N", "--steward", a, "--out", "f"}), "--threshold"));
    CHECK(contains(parseError({"genesis", "draft", "--name", "N", "--steward", a, "--threshold", "1"}), "--out"));
    CHECK(contains(parseError({"genesis", "draft", "--name", "N", "--steward", a, "--threshold", "two", "--out", "f"}),
                   "--threshold"));
    CHECK(contains(parseError({"genesis", "draft", "--steward", a, "--threshold", "1", "--out", "f"}),
                   "civnetd genesis draft --help"));
  }

  TEST_CASE("genesis sign takes a data dir and the draft file") {
    DaemonCommand c = parseOk({"genesis", "sign", "--data-dir", "n", "net.draft"});
    CHECK(c.verb == DaemonVerb::genesisSign);
    CHECK(c.dataDir == "n");
    CHECK(c.file == "net.draft");
    CHECK(parseOk({"genesis", "sign", "net.draft"}, std::string("/srv/node")).dataDir == "/srv/node");
    CHECK(contains(parseError({"genesis", "sign", "net.draft"}), "--data-dir"));
    CHECK(contains(parseError({"genesis", "sign", "--data-dir", "n"}), "FILE"));
  }

  TEST_CASE("genesis check takes a file and no data dir") {
    DaemonCommand c = parseOk({"genesis", "check", "net.genesis"});
    CHECK(c.verb == DaemonVerb::genesisCheck);
    CHECK(c.file == "net.genesis");
    CHECK(contains(parseError({"genesis", "check"}), "FILE"));
    CHECK(contains(parseError({"genesis", "check", "a", "b"}), "--help"));
  }

  TEST_CASE("join takes a data dir and a network file") {
    DaemonCommand c = parseOk({"join", "--data-dir", "n", "--network", "net.genesis"});
    CHECK(c.verb == DaemonVerb::join);
    CHECK(c.dataDir == "n");
    REQUIRE(c.network);
    CHECK(*c.network == "net.genesis");
    CHECK(contains(parseError({"join", "--data-dir", "n"}), "--network"));
    CHECK(contains(parseError({"join", "--data-dir", "n", "--network", ""}), "--network"));
  }

  TEST_CASE("genesis draft --help shows the draft's own options") {
    DaemonCommand c = parseOk({"genesis", "draft", "--help"});
    CHECK(c.verb == DaemonVerb::help);
    CHECK(contains(c.helpText, "--threshold"));
  }

  TEST_CASE("run takes a log level that overrides the config") {
    DaemonCommand c = parseOk({"run", "--data-dir", "n", "--log-level", "debug"});
    CHECK(c.verb == DaemonVerb::run);
    REQUIRE(c.logLevel);
    CHECK(*c.logLevel == "debug");
    CHECK_FALSE(parseOk({"run", "--data-dir", "n"}).logLevel);
  }

  TEST_CASE("run refuses an unknown log level") {
    parseError({"run", "--data-dir", "n", "--log-level", "loud"});
  }

  TEST_CASE("an unknown command or flag is refused with a pointer to --help") {
    CHECK(contains(parseError({"serve"}), "--help"));
    CHECK(contains(parseError({"run", "--data-dir", "n", "--port", "1"}), "--help"));
  }

  TEST_CASE("no command and --help give the help text") {
    CHECK(parseOk({}).verb == DaemonVerb::help);
    DaemonCommand c = parseOk({"--help"});
    CHECK(c.verb == DaemonVerb::help);
    CHECK(contains(c.helpText, "genesis"));
  }

  TEST_CASE("--version prints the version") {
    DaemonCommand c = parseOk({"--version"});
    CHECK(c.verb == DaemonVerb::version);
    CHECK(contains(c.helpText, "civnetd"));
  }
}

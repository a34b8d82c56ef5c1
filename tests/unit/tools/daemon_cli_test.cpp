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

// Tests of civnetd.toml parsing (daemon/config.hpp): defaults, overrides, and
// refusals that name the file and line.
#include <doctest/doctest.h>

#include "daemon/config.hpp"

using civnet::daemon::Config;
using civnet::daemon::defaultConfigText;
using civnet::daemon::parseConfig;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string parseError(const std::string& text) {
  auto r = parseConfig(text, "civnetd.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}

}  // namespace

TEST_SUITE("daemon_config") {
  TEST_CASE("the file init writes parses to the defaults") {
    auto r = parseConfig(defaultConfigText(), "civnetd.toml");
    INFO(r.status().message());
    REQUIRE(r.ok());
    Config d;
    CHECK(r->logLevel == d.logLevel);
    CHECK(r->requestTimeoutSeconds == d.requestTimeoutSeconds);
    CHECK(r->maxRequestBytes == d.maxRequestBytes);
    CHECK(r->workerThreads == d.workerThreads);
    CHECK(r->blockCacheMib == d.blockCacheMib);
  }

  TEST_CASE("[net] and [[peer]] give where to listen and whom to dial") {
    const std::string key(64, 'a'), other(64, 'b');
    auto r = parseConfig("[net]\nlisten = \"127.0.0.1:7500\"\nping_interval_seconds = 5\nmax_inbound_peers = 8\n"
                         "[[peer]]\naddress = \"hub.example.org:7420\"\nkey = \"" + key + "\"\n"
                         "[[peer]]\naddress = \"[::1]:7421\"\nkey = \"" + other + "\"\n",
                         "civnetd.toml");
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->peerListen == "127.0.0.1:7500");
    CHECK(r->pingIntervalSeconds == 5);
    CHECK(r->maxInboundPeers == 8);
    REQUIRE(r->peers.size() == 2);
    CHECK(r->peers[0].address == "hub.example.org:7420");
    CHECK(r->peers[1].key == other);
    CHECK(parseConfig("[net]\nlisten = \"\"\n", "c")->peerListen.empty());
    CHECK(Config{}.peerListen == "0.0.0.0:7420");
    CHECK(parseConfig(defaultConfigText("127.0.0.1:0"), "c")->peerListen == "127.0.0.1:0");
    CHECK(parseConfig(defaultConfigText("127.0.0.1:0", "127.0.0.1:8443"), "c")->httpListen == "127.0.0.1:8443");
    CHECK(parseConfig("[http]\nlisten = \"\"\n", "c")->httpListen.empty());
    auto half = parseConfig("[http]\ncert_file = \"/etc/civnet/web.crt\"\n", "c");
    REQUIRE_FALSE(half.ok());
    CHECK(half.status().message().find("cert_file and key_file go together") != std::string::npos);
    auto both = parseConfig("[http]\ncert_file = \"a.crt\"\nkey_file = \"a.key\"\n", "c");
    REQUIRE(both.ok());
    CHECK(both->httpCertFile == "a.crt");
    CHECK(both->httpKeyFile == "a.key");
    CHECK(parseConfig("[http]\nlisten = \"nowhere\"\n", "c").status().message().find("HOST:PORT") != std::string::npos);
  }

  TEST_CASE("[http] session lifetimes: defaults, set, and refused outside their range") {
    auto d = parseConfig(defaultConfigText("127.0.0.1:0"), "c");
    REQUIRE(d.ok());
    CHECK(d->sessionIdleMinutes == 120);
    CHECK(d->sessionMaxHours == 12);
    auto set = parseConfig("[http]\nsession_idle_minutes = 30\nsession_max_hours = 8\n", "c");
    REQUIRE(set.ok());
    CHECK(set->sessionIdleMinutes == 30);
    CHECK(set->sessionMaxHours == 8);
    auto low = parseConfig("[http]\nsession_idle_minutes = 1\n", "c");
    REQUIRE_FALSE(low.ok());
    CHECK(low.status().message().find("session_idle_minutes") != std::string::npos);
    CHECK_FALSE(parseConfig("[http]\nsession_max_hours = 1000\n", "c").ok());
  }

  TEST_CASE("[net] advertise, dial_members and max_outbound_peers") {
    auto r = parseConfig("[net]\nadvertise = \"hub.example.org:7420\"\ndial_members = false\nmax_outbound_peers = 3\n", "c");
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->advertise == "hub.example.org:7420");
    CHECK_FALSE(r->dialMembers);
    CHECK(r->maxOutboundPeers == 3);
    CHECK(Config{}.advertise.empty());
    CHECK(Config{}.dialMembers);
    CHECK(contains(parseError("[net]\nadvertise = \"hub\"\n"), "[net] advertise"));
    CHECK(contains(parseError("[net]\ndial_members = 1\n"), "true or false"));
    CHECK(contains(parseError("[net]\nmax_outbound_peers = 0\n"), "between 1 and 256"));
  }

  TEST_CASE("a bad listen address or peer is refused with its line and what is wrong") {
    const std::string key(64, 'a');
    CHECK(contains(parseError("[net]\nlisten = \"nowhere\"\n"), "civnetd.toml:2"));
    CHECK(contains(parseError("[net]\nlisten = \"nowhere\"\n"), "no port"));
    CHECK(contains(parseError("[net]\nlisten = 7420\n"), "must be a string"));
    CHECK(contains(parseError("[[peer]]\naddress = \"h:1\"\n"), "needs address"));
    CHECK(contains(parseError("[[peer]]\naddress = \"h\"\nkey = \"" + key + "\"\n"), "no port"));
    CHECK(contains(parseError("[[peer]]\naddress = \"h:1\"\nkey = \"abc\"\n"), "[[peer]] key"));
    CHECK(contains(parseError("[[peer]]\naddress = \"h:1\"\nkey = \"" + key + "\"\nport = 3\n"), "port"));
    CHECK(contains(parseError("[[peer]]\naddress = \"h:1\"\nkey = \"" + key + "\"\n[[peer]]\naddress = \"g:2\"\nkey = \"" +
                              key + "\"\n"),
                   "given twice"));
    CHECK(contains(parseError("peer = \"h:1\"\n"), "[[peer]] tables"));
    CHECK(contains(parseError("[net]\nping_interval_seconds = 0\n"), "between 1 and 300"));
  }

  TEST_CASE("an empty file gives the defaults") {
    auto r = parseConfig("", "civnetd.toml");
    REQUIRE(r.ok());
    CHECK(r->logLevel == "info");
  }

  TEST_CASE("values in the file override the defaults") {
    auto r = parseConfig("[log]\nlevel = \"debug\"\n[admin]\nrequest_timeout_seconds = 5\nworker_threads = 4\n"
                         "[store]\nblock_cache_mib = 8\n",
                         "civnetd.toml");
    REQUIRE(r.ok());
    CHECK(r->logLevel == "debug");
    CHECK(r->requestTimeoutSeconds == 5);
    CHECK(r->workerThreads == 4);
    CHECK(r->blockCacheMib == 8);
  }

  TEST_CASE("an unknown key is refused with its file and line") {
    std::string e = parseError("[log]\nlevel = \"info\"\nlevle = \"debug\"\n");
    CHECK(contains(e, "civnetd.toml:3"));
    CHECK(contains(e, "levle"));
  }

  TEST_CASE("an unknown section is refused") {
    CHECK(contains(parseError("[peers]\nx = 1\n"), "peers"));
  }

  TEST_CASE("a value of the wrong type is refused with its line") {
    std::string e = parseError("[admin]\n\nrequest_timeout_seconds = \"soon\"\n");
    CHECK(contains(e, "civnetd.toml:3"));
    CHECK(contains(e, "integer"));
  }

  TEST_CASE("a value out of range is refused naming the range") {
    std::string e = parseError("[admin]\nworker_threads = 0\n");
    CHECK(contains(e, "between 1 and 64"));
  }

  TEST_CASE("an unknown log level is refused") {
    CHECK(contains(parseError("[log]\nlevel = \"loud\"\n"), "level"));
  }

  TEST_CASE("a TOML syntax error is refused with its line") {
    CHECK(contains(parseError("[log]\nlevel = \n"), "civnetd.toml:2"));
  }

  TEST_CASE("a key where a section is expected is refused") {
    CHECK(contains(parseError("log = \"debug\"\n"), "section"));
  }
}

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
    CHECK(contains(e, "between 1 and 16"));
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

// Tests of civnetctl's argument parsing (tools/ctl_cli.hpp): which command a
// command line means, where the socket is, and which lines are refused with
// which message, all without a daemon.
#include <doctest/doctest.h>

#include <sstream>

#include "tools/ctl_cli.hpp"

using civnet::tools::CtlCommand;
using civnet::tools::CtlVerb;
using civnet::tools::parseCtlArgs;

namespace {

const std::string kKey(64, 'a');
const std::optional<std::string> kNoEnv;

CtlCommand parseOk(const std::vector<std::string>& args, const std::optional<std::string>& env = kNoEnv) {
  auto r = parseCtlArgs(args, env);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r.value();
}

std::string parseError(const std::vector<std::string>& args, const std::optional<std::string>& env = kNoEnv) {
  auto r = parseCtlArgs(args, env);
  REQUIRE_FALSE(r.ok());
  CHECK((r.status().code() == civnet::StatusCode::invalidArgument));
  CHECK(r.status().message().find('\n') == std::string::npos);  // one line
  return r.status().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("ctl_cli") {
  TEST_CASE("steward-set needs whole keys, a possible threshold and pins as KEY:SEQ") {
    const std::string other(64, 'b');
    CtlCommand c = parseOk({"--data-dir", "/srv/node", "steward-set", "--steward", kKey, "--steward", other, "--threshold", "2", "--pin",
                            std::string(64, 'c') + ":3"});
    CHECK(c.verb == CtlVerb::stewardSet);
    CHECK(c.stewards.size() == 2);
    CHECK(c.threshold == 2);
    const std::string d = "--data-dir=/srv/node";
    CHECK(contains(parseError({d, "steward-set", "--steward", kKey, "--threshold", "2"}), "impossible"));
    CHECK(contains(parseError({d, "steward-set", "--steward", "abc", "--threshold", "1"}), "64 hex"));
    CHECK(contains(parseError({d, "steward-set", "--steward", kKey, "--threshold", "1", "--pin", kKey}), "KEY:SEQ"));
  }

  TEST_CASE("reindex is a command of its own, with --json") {
    CtlCommand c = parseOk({"--data-dir", "/srv/node", "reindex", "--json"});
    CHECK(c.verb == CtlVerb::reindex);
    CHECK(c.json);
  }

  TEST_CASE("status with --data-dir talks to the admin socket in that directory") {
    CtlCommand c = parseOk({"--data-dir", "/srv/node", "status"});
    CHECK(c.verb == CtlVerb::status);
    CHECK(c.socketPath == "/srv/node/admin.sock");
    CHECK(c.dataDir == "/srv/node");
    CHECK_FALSE(c.json);
  }

  TEST_CASE("global options may follow the command") {
    CtlCommand c = parseOk({"status", "--json", "--data-dir", "d"});
    CHECK(c.verb == CtlVerb::status);
    CHECK(c.json);
    CHECK(c.socketPath == "d/admin.sock");
  }

  TEST_CASE("--json is accepted after a nested command") {
    CtlCommand c = parseOk({"--data-dir", "d", "entries", "list", "--json"});
    CHECK(c.verb == CtlVerb::entriesList);
    CHECK(c.json);
  }

  TEST_CASE("--socket names the socket directly and its directory is the hint") {
    CtlCommand c = parseOk({"--socket", "/run/civnet/admin.sock", "status"});
    CHECK(c.socketPath == "/run/civnet/admin.sock");
    CHECK(c.dataDir == "/run/civnet");
  }

  TEST_CASE("CIVNET_DATA_DIR is used when no flag names the node") {
    CtlCommand c = parseOk({"status"}, std::string("/var/lib/civnet"));
    CHECK(c.socketPath == "/var/lib/civnet/admin.sock");
  }

  TEST_CASE("--data-dir wins over CIVNET_DATA_DIR") {
    CtlCommand c = parseOk({"--data-dir", "mine", "status"}, std::string("/var/lib/civnet"));
    CHECK(c.socketPath == "mine/admin.sock");
  }

  TEST_CASE("a command without any node is refused with a hint") {
    std::string e = parseError({"status"});
    CHECK(contains(e, "--data-dir"));
    CHECK(contains(e, "CIVNET_DATA_DIR"));
  }

  TEST_CASE("both --data-dir and --socket are refused") {
    CHECK(contains(parseError({"--data-dir", "d", "--socket", "s", "status"}), "not both"));
  }

  TEST_CASE("no command gives the help text") {
    CtlCommand c = parseOk({});
    CHECK(c.verb == CtlVerb::help);
    CHECK(contains(c.helpText, "publish"));
  }

  TEST_CASE("--help gives the help text without needing a node") {
    CtlCommand c = parseOk({"--help"});
    CHECK(c.verb == CtlVerb::help);
    CHECK(contains(c.helpText, "Usage"));
  }

  TEST_CASE("an unknown command is refused") {
    CHECK(contains(parseError({"--data-dir", "d", "frobnicate"}), "civnetctl --help"));
  }

  TEST_CASE("publish takes a title, a body and repeated tags") {
    CtlCommand c = parseOk({"--data-dir", "d", "publish", "--title", "Water", "--body", "Text", "--tag", "a",
                            "--tag", "b"});
    CHECK(c.verb == CtlVerb::publish);
    CHECK(c.title == "Water");
    REQUIRE(c.body);
    CHECK(*c.body == "Text");
    CHECK_FALSE(c.bodyFile);
    CHECK(c.tags == std::vector<std::string>{"a", "b"});
  }

  TEST_CASE("publish takes the hosted organization to publish for with --org; none means the node's own") {
    CtlCommand c = parseOk({"--data-dir", "d", "publish", "--title", "Water", "--body", "", "--org", "River Women"});
    REQUIRE(c.org);
    CHECK(*c.org == "River Women");
    CHECK_FALSE(parseOk({"--data-dir", "d", "publish", "--title", "Water", "--body", ""}).org);
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--title", "W", "--body", "", "--org", ""}),
                   "--org must not be empty"));
  }

  TEST_CASE("orgs add takes a name; orgs list nothing; orgs alone names both") {
    CtlCommand c = parseOk({"--data-dir", "d", "orgs", "add", "River Women"});
    CHECK(c.verb == CtlVerb::orgsAdd);
    CHECK(c.name == "River Women");
    CHECK(parseOk({"--data-dir", "d", "orgs", "list", "--json"}).verb == CtlVerb::orgsList);
    CHECK(contains(parseError({"--data-dir", "d", "orgs", "add"}), "name"));
    CHECK(contains(parseError({"--data-dir", "d", "orgs", "add", ""}), "the name must not be empty"));
    CHECK(contains(parseError({"--data-dir", "d", "orgs", "add", "a\xff"}), "orgs add: the name"));
    CHECK(contains(parseError({"--data-dir", "d", "orgs"}), "orgs list, orgs add NAME or orgs profile"));
  }

  TEST_CASE("orgs profile takes the fields to change, each checked, and nothing to show the profile") {
    CtlCommand c = parseOk({"--data-dir", "d", "orgs", "profile", "--region", "Sahel", "--label", "women-led",
                            "--label", "youth-led", "--focus", "water", "--contact", ""});
    CHECK(c.verb == CtlVerb::orgsProfile);
    CHECK(c.region == std::optional<std::string>("Sahel"));
    CHECK(c.labels == std::vector<std::string>{"women-led", "youth-led"});
    CHECK(c.focusAreas == std::vector<std::string>{"water"});
    CHECK(c.contact == std::optional<std::string>(""));
    CHECK_FALSE(c.country.has_value());
    CHECK(parseOk({"--data-dir", "d", "orgs", "profile"}).verb == CtlVerb::orgsProfile);
    CHECK(contains(parseError({"--data-dir", "d", "orgs", "profile", "--label", ""}), "orgs profile: --label"));
    CHECK(contains(parseError({"--data-dir", "d", "orgs", "profile", "--country", "a\xff"}), "orgs profile: --country"));
  }

  TEST_CASE("health takes nothing but the global options") {
    CHECK(parseOk({"--data-dir", "d", "health"}).verb == CtlVerb::health);
    CHECK(parseOk({"--data-dir", "d", "health", "--json"}).json);
    CHECK(contains(parseError({"--data-dir", "d", "health", "now"}), "now"));
  }

  TEST_CASE("metrics takes nothing but the global options") {
    CHECK(parseOk({"--data-dir", "d", "metrics"}).verb == CtlVerb::metrics);
    CHECK(contains(parseError({"--data-dir", "d", "metrics", "all"}), "all"));
  }

  TEST_CASE("search takes words and the entries filters") {
    CtlCommand c = parseOk({"--data-dir", "d", "search", "clean water", "--tag", "wash", "--limit", "5"});
    CHECK(c.verb == CtlVerb::search);
    CHECK(c.query == "clean water");
    CHECK(c.tag == std::optional<std::string>("wash"));
    CHECK(c.limit == 5);
    CHECK(contains(parseError({"--data-dir", "d", "search"}), "query"));
  }

  TEST_CASE("peers add takes HOST:PORT and a whole key; remove a key prefix; list nothing") {
    CtlCommand c = parseOk({"--data-dir", "d", "peers", "add", "192.0.2.7:7420", kKey});
    CHECK(c.verb == CtlVerb::peersAdd);
    CHECK(c.address == "192.0.2.7:7420");
    CHECK(c.key == kKey);
    CHECK(contains(parseError({"--data-dir", "d", "peers", "add", "192.0.2.7:7420", "abc"}), "64 hex"));
    CHECK(contains(parseError({"--data-dir", "d", "peers", "add", "192.0.2.7", kKey}), "HOST:PORT"));
    CHECK(parseOk({"--data-dir", "d", "peers", "remove", "3a06d9aa"}).verb == CtlVerb::peersRemove);
    CHECK(contains(parseError({"--data-dir", "d", "peers", "remove", "3a06"}), "8 to 64 hex"));
    CHECK(parseOk({"--data-dir", "d", "peers", "list"}).verb == CtlVerb::peersList);
    CHECK(contains(parseError({"--data-dir", "d", "peers"}), "peers list, peers add HOST:PORT KEY or peers remove KEY"));
  }

  TEST_CASE("accounts add takes a handle, a name and options; disable and reset a handle") {
    CtlCommand c = parseOk({"--data-dir", "d", "accounts", "add", "amina.o", "--name", "Amina O", "--org", "River",
                            "--admin", "--password-stdin"});
    CHECK(c.verb == CtlVerb::accountsAdd);
    CHECK(c.handle == "amina.o");
    CHECK(c.name == "Amina O");
    CHECK(c.org == "River");
    CHECK(c.admin);
    CHECK(c.passwordStdin);
    CtlCommand plain = parseOk({"--data-dir", "d", "accounts", "add", "bo", "--name", "Bo"});
    CHECK_FALSE(plain.admin);
    CHECK_FALSE(plain.passwordStdin);
    CHECK(contains(parseError({"--data-dir", "d", "accounts", "add", "bo"}), "--name"));
    CHECK(contains(parseError({"--data-dir", "d", "accounts", "add", "Bo Bo", "--name", "Bo"}), "a handle is 2 to 32"));
    CHECK(parseOk({"--data-dir", "d", "accounts", "disable", "bo"}).verb == CtlVerb::accountsDisable);
    CHECK(parseOk({"--data-dir", "d", "accounts", "reset", "bo", "--password-stdin"}).passwordStdin);
    CHECK(contains(parseError({"--data-dir", "d", "accounts", "reset", "a/b"}), "a handle is 2 to 32"));
    CHECK(parseOk({"--data-dir", "d", "accounts", "list"}).verb == CtlVerb::accountsList);
    CHECK(contains(parseError({"--data-dir", "d", "accounts"}), "accounts list, add HANDLE --name NAME"));
  }

  TEST_CASE("sync takes --wait and a timeout") {
    CtlCommand c = parseOk({"--data-dir", "d", "sync"});
    CHECK(c.verb == CtlVerb::sync);
    CHECK_FALSE(c.wait);
    c = parseOk({"--data-dir", "d", "sync", "--wait", "--timeout", "30"});
    CHECK(c.wait);
    CHECK(c.timeoutSeconds == 30);
    CHECK(contains(parseError({"--data-dir", "d", "sync", "--timeout", "0"}), "timeout"));
  }

  TEST_CASE("publish takes the body from a file") {
    CtlCommand c = parseOk({"--data-dir", "d", "publish", "--title", "T", "--body-file", "post.md"});
    REQUIRE(c.bodyFile);
    CHECK(*c.bodyFile == "post.md");
    CHECK_FALSE(c.body);
  }

  TEST_CASE("publish accepts an empty body given explicitly") {
    CtlCommand c = parseOk({"--data-dir", "d", "publish", "--title", "T", "--body", ""});
    REQUIRE(c.body);
    CHECK(c.body->empty());
  }

  TEST_CASE("publish refuses both --body and --body-file") {
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--title", "T", "--body", "B", "--body-file", "F"}),
                   "not both"));
  }

  TEST_CASE("publish refuses a post without a body") {
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--title", "T"}), "--body"));
  }

  TEST_CASE("publish refuses a post without a title") {
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--body", "B"}), "--title"));
  }

  TEST_CASE("publish refuses an empty title") {
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--title", "", "--body", "B"}), "--title"));
  }

  TEST_CASE("publish refuses a title, body or tag that is not UTF-8, naming the byte") {
    CHECK(parseError({"--data-dir", "d", "publish", "--title", "caf\xE9", "--body", "B"}) ==
          "publish: --title is not valid UTF-8 text (byte offset 3)");
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--title", "T", "--body", "\xFFx"}),
                   "--body is not valid UTF-8 text (byte offset 0)"));
    CHECK(contains(parseError({"--data-dir", "d", "publish", "--title", "T", "--body", "B", "--tag", "ok", "--tag",
                               "b\xC3"}),
                   "--tag number 2 is not valid UTF-8 text (byte offset 1)"));
  }

  TEST_CASE("entries list takes filters and a limit") {
    CtlCommand c =
        parseOk({"--data-dir", "d", "entries", "list", "--author", kKey, "--tag", "water", "--limit", "7"});
    CHECK(c.verb == CtlVerb::entriesList);
    REQUIRE(c.author);
    CHECK(*c.author == kKey);
    REQUIRE(c.tag);
    CHECK(*c.tag == "water");
    CHECK(c.limit == 7);
  }

  TEST_CASE("entries list and show take the 12-character ids of the tables, in either case") {
    CtlCommand l = parseOk({"--data-dir", "d", "entries", "list", "--author", "53b91f9b8c27"});
    REQUIRE(l.author);
    CHECK(*l.author == "53b91f9b8c27");
    CHECK(parseOk({"--data-dir", "d", "entries", "list", "--author", "53B91F9B"}).author == "53B91F9B");
    CHECK(parseOk({"--data-dir", "d", "entries", "show", "16b857556a22"}).id == "16b857556a22");
    CHECK(parseOk({"--data-dir", "d", "entries", "show", std::string(64, 'F')}).id == std::string(64, 'F'));
  }

  TEST_CASE("entries list and show refuse prefixes under 8 hex characters") {
    CHECK(contains(parseError({"--data-dir", "d", "entries", "list", "--author", "53b91f9"}), "8 to 64 hex"));
    CHECK(contains(parseError({"--data-dir", "d", "entries", "show", "16b8575"}), "8 to 64 hex"));
    CHECK(contains(parseError({"--data-dir", "d", "entries", "show", std::string(65, 'a')}), "8 to 64 hex"));
    CHECK(contains(parseError({"--data-dir", "d", "entries", "show", "16b857556a2g"}), "8 to 64 hex"));
  }

  TEST_CASE("entries list defaults to 50 entries") {
    CHECK(parseOk({"--data-dir", "d", "entries", "list"}).limit == 50);
  }

  TEST_CASE("entries list refuses an author that is not a feed key") {
    CHECK(contains(parseError({"--data-dir", "d", "entries", "list", "--author", "abc"}), "64 hex"));
  }

  TEST_CASE("entries list refuses a limit out of range") {
    CHECK(contains(parseError({"--data-dir", "d", "entries", "list", "--limit", "0"}), "--limit"));
    CHECK(contains(parseError({"--data-dir", "d", "entries", "list", "--limit", "1001"}), "--limit"));
  }

  TEST_CASE("entries list refuses a limit that is not a number") {
    parseError({"--data-dir", "d", "entries", "list", "--limit", "many"});
  }

  TEST_CASE("entries without list or show is refused, naming them") {
    CHECK(contains(parseError({"--data-dir", "d", "entries"}), "entries list or entries show"));
  }

  TEST_CASE("an unknown word after a command is named, with that command's help") {
    std::string e = parseError({"--data-dir", "d", "entries", "frob"});
    CHECK(contains(e, "frob"));
    CHECK(contains(e, "civnetctl entries --help"));
    e = parseError({"--data-dir", "d", "entries", "list", "extra"});
    CHECK(contains(e, "extra"));
    CHECK(contains(e, "civnetctl entries list --help"));
    CHECK(contains(parseError({"--data-dir", "d", "status", "--bogus"}), "--bogus"));
  }

  TEST_CASE("each command's help shows the global options") {
    for (auto args : {std::vector<std::string>{"publish", "--help"}, std::vector<std::string>{"entries", "--help"},
                      std::vector<std::string>{"entries", "list", "--help"}, std::vector<std::string>{"status", "-h"},
                      std::vector<std::string>{"import", "--help"}}) {
      CtlCommand c = parseOk(args);
      INFO(c.helpText);
      CHECK(c.verb == CtlVerb::help);
      CHECK(contains(c.helpText, "Usage: civnetctl " + args[0]));
      for (auto option : {"--data-dir", "--socket", "--json"}) CHECK(contains(c.helpText, option));
    }
  }

  TEST_CASE("every command's help shows an example of it") {
    for (const char* command :
         {"status", "feeds", "publish", "entries list", "entries show", "health", "metrics", "search", "verify",
          "reindex", "export", "import", "members list", "members show", "admit", "steward-set", "revoke", "lift",
          "takedown", "retract", "peers list", "peers add", "peers remove", "sync", "orgs list", "orgs add",
          "orgs profile", "accounts list", "accounts add", "accounts disable", "accounts reset"}) {
      std::vector<std::string> args;
      std::string word;
      for (std::istringstream in(command); in >> word;) args.push_back(word);
      args.push_back("--help");
      CtlCommand c = parseOk(args);
      INFO(command);
      const auto at = c.helpText.find("Example: civnetctl ");
      REQUIRE(at != std::string::npos);
      const std::string example = c.helpText.substr(at, c.helpText.find('\n', at) - at);
      CHECK(contains(example, " " + args[0]));  // an example of this command, not another
    }
  }

  TEST_CASE("entries show takes one entry id") {
    CtlCommand c = parseOk({"--data-dir", "d", "entries", "show", kKey});
    CHECK(c.verb == CtlVerb::entriesShow);
    CHECK(c.id == kKey);
  }

  TEST_CASE("entries show refuses an id that is not hex") {
    CHECK(contains(parseError({"--data-dir", "d", "entries", "show", "xyz"}), "64 hex"));
  }

  TEST_CASE("verify takes no arguments") {
    CHECK(parseOk({"--data-dir", "d", "verify"}).verb == CtlVerb::verify);
    CHECK(contains(parseError({"--data-dir", "d", "verify", "extra"}), "extra"));
  }

  TEST_CASE("export needs --out") {
    CtlCommand c = parseOk({"--data-dir", "d", "export", "--out", "backup.civnet"});
    CHECK(c.verb == CtlVerb::exportFile);
    CHECK(c.file == "backup.civnet");
    CHECK(contains(parseError({"--data-dir", "d", "export"}), "--out"));
  }

  TEST_CASE("import takes the file as its argument") {
    CtlCommand c = parseOk({"--data-dir", "d", "import", "backup.civnet"});
    CHECK(c.verb == CtlVerb::importFile);
    CHECK(c.file == "backup.civnet");
    parseError({"--data-dir", "d", "import"});
  }

  // --- membership ---

  TEST_CASE("members list takes --region, --label and --state") {
    CtlCommand c = parseOk({"--data-dir", "d", "members", "list", "--region", "West Africa", "--label", "women-led",
                            "--state", "pending", "--json"});
    CHECK(c.verb == CtlVerb::membersList);
    CHECK(c.region == "West Africa");
    CHECK(c.label == "women-led");
    CHECK(c.state == "pending");
    CHECK(c.json);
    CtlCommand all = parseOk({"--data-dir", "d", "members", "list"});
    CHECK_FALSE(all.region);
    CHECK_FALSE(all.label);
    CHECK_FALSE(all.state);
  }

  TEST_CASE("members list refuses a state that is not one of the six") {
    CHECK(contains(parseError({"--data-dir", "d", "members", "list", "--state", "active"}),
                   "--state must be none, pending, member, expired, suspended or revoked"));
  }

  TEST_CASE("members show takes a feed key or its first 8+ hex characters") {
    CtlCommand c = parseOk({"--data-dir", "d", "members", "show", "53b91f9b8c27"});
    CHECK(c.verb == CtlVerb::membersShow);
    CHECK(c.key == "53b91f9b8c27");
    CHECK(contains(parseError({"--data-dir", "d", "members", "show", "53b91f9"}), "8 to 64 hex"));
    CHECK(contains(parseError({"--data-dir", "d", "members", "show"}), "key"));
  }

  TEST_CASE("members without list or show is refused, naming them") {
    CHECK(contains(parseError({"--data-dir", "d", "members"}), "members list or members show"));
  }

  TEST_CASE("admit needs --name and --region") {
    CHECK(contains(parseError({"--data-dir", "d", "admit", kKey, "--region", "Andes"}), "--name"));
    CHECK(contains(parseError({"--data-dir", "d", "admit", kKey, "--name", "Org"}), "--region"));
    CHECK(contains(parseError({"--data-dir", "d", "admit", kKey, "--name", "", "--region", "Andes"}),
                   "admit: --name must not be empty"));
    CHECK(contains(parseError({"--data-dir", "d", "admit", kKey, "--name", "Org", "--region", ""}),
                   "admit: --region must not be empty"));
  }

  TEST_CASE("admit takes repeated labels and focus areas, a country and an expiry") {
    CtlCommand c = parseOk({"--data-dir", "d", "admit", kKey, "--name", "Water Org", "--region", "West Africa",
                            "--country", "Ghana", "--label", "women-led", "--label", "youth-led", "--focus", "water",
                            "--expires", "2027-01-01"});
    CHECK(c.verb == CtlVerb::admit);
    CHECK(c.key == kKey);
    CHECK(c.name == "Water Org");
    CHECK(c.region == "West Africa");
    CHECK(c.country == "Ghana");
    CHECK(c.labels == std::vector<std::string>{"women-led", "youth-led"});
    CHECK(c.focusAreas == std::vector<std::string>{"water"});
    CHECK(c.expiresAt == 1798761600000);  // 2027-01-01T00:00:00Z
    CHECK_FALSE(parseOk({"--data-dir", "d", "admit", kKey, "--name", "N", "--region", "R"}).expiresAt);
  }

  TEST_CASE("admit refuses a key that is not the whole feed key, and text that is not UTF-8") {
    CHECK(contains(parseError({"--data-dir", "d", "admit", "53b91f9b8c27", "--name", "N", "--region", "R"}),
                   "whole feed key"));
    CHECK(parseError({"--data-dir", "d", "admit", kKey, "--name", "caf\xE9", "--region", "R"}) ==
          "admit: --name is not valid UTF-8 text (byte offset 3)");
    CHECK(contains(parseError({"--data-dir", "d", "admit", kKey, "--name", "N", "--region", "R", "--label", ""}),
                   "admit: --label must not be empty"));
  }

  TEST_CASE("--expires takes a date, a UTC time or ms, and refuses anything else") {
    using civnet::tools::parseTimeMs;
    CHECK(parseTimeMs("2027-01-01", "x").value() == 1798761600000);
    CHECK(parseTimeMs("2027-01-01T12:30Z", "x").value() == 1798761600000 + (12 * 3600 + 30 * 60) * 1000LL);
    CHECK(parseTimeMs("2027-01-01T12:30:15Z", "x").value() == 1798761600000 + (12 * 3600 + 30 * 60 + 15) * 1000LL);
    CHECK(parseTimeMs("1798761600000", "x").value() == 1798761600000);
    for (const char* bad : {"", "tomorrow", "2027-13-01", "2027-02-30", "2026-02-29", "2027-01-01T12:30",
                            "2027-01-01 12:30Z", "0", "27-01-01"}) {
      INFO(bad);
      CHECK_FALSE(parseTimeMs(bad, "x").ok());
    }
    CHECK(parseTimeMs("2028-02-29", "x").ok());
    CHECK(contains(parseError({"--data-dir", "d", "admit", kKey, "--name", "N", "--region", "R", "--expires", "soon"}),
                   "admit: --expires must be a date"));
  }

  TEST_CASE("revoke refuses a missing --reason") {
    CHECK(contains(parseError({"--data-dir", "d", "revoke", kKey}), "--reason"));
    CHECK(contains(parseError({"--data-dir", "d", "revoke", kKey, "--reason", ""}), "revoke: --reason must not be empty"));
  }

  TEST_CASE("revoke pins at --after-seq when given, else leaves the pin to the node") {
    CtlCommand c = parseOk({"--data-dir", "d", "revoke", "53b91f9b8c27", "--after-seq", "2", "--reason", "spam"});
    CHECK(c.verb == CtlVerb::revoke);
    CHECK(c.key == "53b91f9b8c27");
    CHECK(c.afterSeq == 2u);
    CHECK(c.reason == "spam");
    CHECK_FALSE(parseOk({"--data-dir", "d", "revoke", kKey, "--reason", "spam"}).afterSeq);
    parseError({"--data-dir", "d", "revoke", kKey, "--after-seq", "two", "--reason", "spam"});
  }

  TEST_CASE("lift takes a feed key") {
    CtlCommand c = parseOk({"--data-dir", "d", "lift", kKey});
    CHECK(c.verb == CtlVerb::lift);
    CHECK(c.key == kKey);
    CHECK(contains(parseError({"--data-dir", "d", "lift", "xyz"}), "8 to 64 hex"));
  }

  TEST_CASE("takedown needs --reason, and --author with --seq for an entry not held yet") {
    CtlCommand c = parseOk({"--data-dir", "d", "takedown", "16b857556a22", "--reason", "abuse"});
    CHECK(c.verb == CtlVerb::takedown);
    CHECK(c.id == "16b857556a22");
    CHECK(c.reason == "abuse");
    CHECK_FALSE(c.author);
    CHECK(contains(parseError({"--data-dir", "d", "takedown", "16b857556a22"}), "--reason"));
    CtlCommand ref =
        parseOk({"--data-dir", "d", "takedown", kKey, "--reason", "abuse", "--author", kKey, "--seq", "3"});
    CHECK(ref.author == kKey);
    CHECK(ref.seq == 3u);
    CHECK(contains(parseError({"--data-dir", "d", "takedown", kKey, "--reason", "abuse", "--author", kKey}),
                   "both --author and --seq"));
    CHECK(contains(parseError({"--data-dir", "d", "takedown", "16b857556a22", "--reason", "abuse", "--author", kKey,
                               "--seq", "3"}),
                   "whole id"));
  }

  TEST_CASE("retract takes an entry id and an optional reason") {
    CtlCommand c = parseOk({"--data-dir", "d", "retract", "16b857556a22"});
    CHECK(c.verb == CtlVerb::retract);
    CHECK(c.id == "16b857556a22");
    CHECK_FALSE(c.reason);
    CHECK(parseOk({"--data-dir", "d", "retract", kKey, "--reason", "mistake"}).reason == "mistake");
    CHECK(contains(parseError({"--data-dir", "d", "retract", "16b8"}), "8 to 64 hex"));
  }

  TEST_CASE("help names the exit codes") {
    CtlCommand c = parseOk({"revoke", "--help"});
    CHECK(c.verb == CtlVerb::help);
    CHECK(contains(c.helpText, "Exit codes"));
  }
}

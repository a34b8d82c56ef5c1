// Unit tests of the backup file format (schemas/backup.hpp): a round trip
// fed in pieces of every size, and the refusals: a truncated file at every
// length, an altered byte, records out of order, a record length over the
// limit, and file names that would leave the data dir.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "schemas/backup.hpp"

using namespace civnet;
using namespace civnet::backup;

namespace {

struct Got {
  std::vector<BackupHeader> headers;
  std::vector<BackupFile> files;
  std::vector<std::pair<std::string, std::string>> rows;
};

Reader readerInto(Got& got) {
  return Reader({[&](const BackupHeader& h) {
                   got.headers.push_back(h);
                   return Status{};
                 },
                 [&](const BackupFile& f) {
                   got.files.push_back(f);
                   return Status{};
                 },
                 [&](std::string_view k, std::string_view v) {
                   got.rows.emplace_back(std::string(k), std::string(v));
                   return Status{};
                 }});
}

BackupHeader sampleHeader() {
  BackupHeader h;
  h.network.bytes[0] = 0xab;
  h.networkName = "Sahel Network";
  h.nodeKey.bytes[31] = 7;
  h.storeSchema = 2;
  h.createdMs = 1'790'000'000'000;
  h.software = "civnetd 0.1.0";
  h.frontier.bytes[5] = 9;
  h.feeds = 3;
  h.entries = 42;
  return h;
}

std::string sampleBackup() {
  Writer w;
  std::string out = w.begin(sampleHeader());
  out += w.file(BackupFile{"civnetd.toml", 0644, "[log]\nlevel = \"info\"\n"});
  out += w.file(BackupFile{"keys/node.key", 0600, "-----BEGIN PRIVATE KEY-----\n"});
  std::string rows;
  appendRow(rows, "t\x01", std::string("tip\0bytes", 9));
  appendRow(rows, "mschema_version", "2");
  out += w.rows(rows, 2);
  std::string more;
  appendRow(more, "e\x02", "");
  out += w.rows(more, 1);
  return out + w.end();
}

Status readAll(const std::string& bytes, Got& got, std::size_t piece) {
  Reader r = readerInto(got);
  for (std::size_t at = 0; at < bytes.size(); at += piece)
    if (auto s = r.feed(std::string_view(bytes).substr(at, piece)); !s.ok()) return s;
  return r.finish();
}

}  // namespace

TEST_SUITE("backup") {
  TEST_CASE("a backup reads back whole whatever the size of the pieces it arrives in") {
    const std::string bytes = sampleBackup();
    for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{64}, bytes.size()}) {
      Got got;
      REQUIRE(readAll(bytes, got, piece).ok());
      REQUIRE(got.headers.size() == 1);
      CHECK(got.headers[0].networkName == "Sahel Network");
      CHECK(got.headers[0].network == sampleHeader().network);
      CHECK(got.headers[0].frontier == sampleHeader().frontier);
      CHECK(got.headers[0].entries == 42);
      CHECK(got.headers[0].createdMs == 1'790'000'000'000);
      REQUIRE(got.files.size() == 2);
      CHECK(got.files[1].name == "keys/node.key");
      CHECK(got.files[1].mode == 0600);
      REQUIRE(got.rows.size() == 3);
      CHECK(got.rows[0].second == std::string("tip\0bytes", 9));
      CHECK(got.rows[2].first == "e\x02");
    }
  }

  TEST_CASE("a backup cut short anywhere is refused") {
    const std::string bytes = sampleBackup();
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      Got got;
      Status s = readAll(bytes.substr(0, n), got, 7);
      CHECK_MESSAGE(!s.ok(), "a backup cut to ", n, " bytes was taken");
    }
  }

  TEST_CASE("one altered byte anywhere is refused") {
    const std::string bytes = sampleBackup();
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(bad[at] ^ 0x20);
      Got got;
      CHECK_MESSAGE(!readAll(bad, got, 4096).ok(), "a backup altered at byte ", at, " was taken");
    }
  }

  TEST_CASE("bytes after the end record, a record over the limit and a second header are refused") {
    Got got;
    Status s = readAll(sampleBackup() + "R", got, 4096);
    CHECK(s.message().find("after its end record") != std::string::npos);

    Writer w;
    std::string big = w.begin(sampleHeader());
    big += "R";
    big += std::string("\x7f\xff\xff\xff", 4);  // 2 GiB: refused from its length alone
    Got got2;
    Reader r = readerInto(got2);
    s = r.feed(big);
    CHECK((s.code() == StatusCode::corruption));
    CHECK(s.message().find("at most") != std::string::npos);

    Writer w3;
    std::string twice = w3.begin(sampleHeader());
    twice += twice.substr(kMagic.size());
    Got got3;
    CHECK(readerInto(got3).feed(twice).message().find("second header") != std::string::npos);

    Got got4;
    CHECK(readAll("PK\x03\x04 zip", got4, 64).message().find("not a civnet backup") != std::string::npos);
  }

  TEST_CASE("file names that would leave the data dir are refused") {
    for (std::string name : {"/etc/passwd", "../x", "keys/../../x", "keys//node.key", "./civnetd.toml", "", "keys/."}) {
      auto f = decodeFile(encodeFile(BackupFile{name, 0600, "x"}));
      CHECK_MESSAGE(!f.ok(), "name \"", name, "\" was taken");
    }
    CHECK(!decodeFile(encodeFile(BackupFile{"civnetd.toml", 04755, "x"})).ok());  // setuid is no permission
    CHECK(decodeFile(encodeFile(BackupFile{"keys/orgs/ab.key", 0600, "x"})).ok());
  }

  TEST_CASE("a header of a newer format is refused with what to do") {
    BackupHeader h = sampleHeader();
    h.format = kFormatVersion + 1;
    auto d = decodeHeader(encodeHeader(h));
    REQUIRE(!d.ok());
    CHECK((d.status().code() == StatusCode::unsupported));
    CHECK(d.status().message().find("newer civnetd") != std::string::npos);
    CHECK(!decodeHeader("format 1\n").ok());
  }
}

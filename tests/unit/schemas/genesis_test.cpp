// Unit tests of the network genesis (schemas/genesis.hpp): which drafts are
// complete, the network id, and the file form.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "schemas/genesis.hpp"
#include "schemas_test_util.hpp"

namespace civnet::record {
namespace {

using test::codeOf;
using test::verdictOf;
using test::keyFromByte;
using test::TempDir;

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

Genesis draft(std::vector<PublicKey> stewards, std::uint32_t k) {
  Genesis g;
  g.name = "Civil Society Knowledge Network";
  g.stewards = std::move(stewards);
  g.threshold = k;
  g.createdAt = 1'700'000'000'000;
  return g;
}

TEST_SUITE("genesis") {

TEST_CASE("checkBody judges a draft without its signatures") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  CHECK(draft({a.publicKey(), b.publicKey()}, 2).checkBody().ok());
  CHECK(contains(draft({a.publicKey(), b.publicKey()}, 3).checkBody().message(), "impossible"));
  CHECK(contains(draft({a.publicKey(), a.publicKey()}, 1).checkBody().message(), "twice"));
  CHECK(contains(draft({}, 1).checkBody().message(), "no steward"));
}

TEST_CASE("verifySignature checks one steward's signature, and only over this draft") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  Genesis g = draft({a.publicKey(), b.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  REQUIRE(g.signatures.size() == 1);
  CHECK(g.verifySignature(g.signatures[0]));
  Genesis other = g;
  other.name = "Another network";
  CHECK_FALSE(other.verifySignature(g.signatures[0]));
  StewardSignature forged = g.signatures[0];
  forged.steward = b.publicKey();
  CHECK_FALSE(g.verifySignature(forged));
}

TEST_CASE("a one-steward genesis signed by its steward is complete") {
  auto s = keyFromByte(40);
  Genesis g = draft({s.publicKey()}, 1);
  REQUIRE(g.sign(s).ok());
  Status st = g.checkComplete();
  CHECK_MESSAGE(st.ok(), st.message());
}

TEST_CASE("an unsigned genesis is refused as not fully signed") {
  auto s = keyFromByte(40);
  Genesis g = draft({s.publicKey()}, 1);
  Status st = g.checkComplete();
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "not fully signed"));
  CHECK(contains(st.message(), s.publicKey().shortHex()));
}

TEST_CASE("a genesis of three stewards needs all three signatures, whatever k is") {
  auto a = keyFromByte(41), b = keyFromByte(42), c = keyFromByte(43);
  Genesis g = draft({a.publicKey(), b.publicKey(), c.publicKey()}, 2);
  REQUIRE(g.sign(a).ok());
  REQUIRE(g.sign(c).ok());
  Status partly = g.checkComplete();
  REQUIRE_FALSE(partly.ok());
  CHECK(contains(partly.message(), "not fully signed"));
  CHECK(contains(partly.message(), b.publicKey().shortHex()));
  REQUIRE(g.sign(b).ok());
  CHECK(g.checkComplete().ok());
}

TEST_CASE("a threshold of 0, or above the number of stewards, is refused as impossible") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  for (std::uint32_t k : {0u, 3u, 100u}) {
    CAPTURE(k);
    Genesis g = draft({a.publicKey(), b.publicKey()}, k);
    REQUIRE(g.sign(a).ok());
    REQUIRE(g.sign(b).ok());
    Status st = g.checkComplete();
    REQUIRE_FALSE(st.ok());
    CHECK(contains(st.message(), "impossible"));
    CHECK(contains(st.message(), std::to_string(k)));
  }
}

TEST_CASE("a steward named twice is refused") {
  auto a = keyFromByte(41);
  Genesis g = draft({a.publicKey(), a.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  Status st = g.checkComplete();
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "twice"));
}

TEST_CASE("a genesis without a name or without stewards is refused") {
  auto a = keyFromByte(41);
  Genesis noName = draft({a.publicKey()}, 1);
  noName.name.clear();
  REQUIRE(noName.sign(a).ok());
  Status st = noName.checkComplete();
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "name"));

  Genesis nobody = draft({}, 1);
  CHECK_FALSE(nobody.checkComplete().ok());
}

TEST_CASE("only a steward can sign a genesis") {
  auto a = keyFromByte(41), outsider = keyFromByte(44);
  Genesis g = draft({a.publicKey()}, 1);
  Status st = g.sign(outsider);
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "not a steward"));
  CHECK(g.signatures.empty());
}

TEST_CASE("signing twice keeps one signature per steward") {
  auto a = keyFromByte(41);
  Genesis g = draft({a.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  REQUIRE(g.sign(a).ok());
  CHECK(g.signatures.size() == 1);
  CHECK(g.checkComplete().ok());
}

TEST_CASE("a genesis carrying a non-steward's signature is refused") {
  auto a = keyFromByte(41), outsider = keyFromByte(44);
  Genesis g = draft({a.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  Genesis other = draft({outsider.publicKey()}, 1);
  REQUIRE(other.sign(outsider).ok());
  g.signatures.push_back(other.signatures[0]);
  Status st = g.checkComplete();
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), outsider.publicKey().shortHex()));
}

TEST_CASE("a steward's signature over another draft does not count") {
  auto a = keyFromByte(41);
  Genesis g = draft({a.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  g.createdAt += 1;  // the draft changed after signing
  Status st = g.checkComplete();
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "does not verify"));
}

TEST_CASE("the network id is SHA-256 of the body and does not change when signatures are added") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  Genesis g = draft({a.publicKey(), b.publicKey()}, 1);
  Digest before = g.networkId();
  CHECK(before == sha256(g.body()));
  REQUIRE(g.sign(a).ok());
  CHECK(g.networkId() == before);
  REQUIRE(g.sign(b).ok());
  CHECK(g.networkId() == before);
}

TEST_CASE("the network id changes with every field of the body") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  Genesis g = draft({a.publicKey(), b.publicKey()}, 1);
  Digest id = g.networkId();
  Genesis x = g;
  x.name += ".";
  CHECK(x.networkId() != id);
  x = g;
  x.threshold = 2;
  CHECK(x.networkId() != id);
  x = g;
  x.createdAt += 1;
  CHECK(x.networkId() != id);
  x = g;
  std::swap(x.stewards[0], x.stewards[1]);
  CHECK(x.networkId() != id);
}

TEST_CASE("a genesis file round trips and keeps the network id") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  Genesis g = draft({a.publicKey(), b.publicKey()}, 2);
  REQUIRE(g.sign(a).ok());
  REQUIRE(g.sign(b).ok());
  auto back = decodeGenesisFile(encodeGenesisFile(g));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->name == g.name);
  CHECK(back->stewards == g.stewards);
  CHECK(back->threshold == 2);
  CHECK(back->createdAt == g.createdAt);
  REQUIRE(back->signatures.size() == 2);
  CHECK(back->signatures[0].steward == g.signatures[0].steward);
  CHECK(back->signatures[0].signature == g.signatures[0].signature);
  CHECK(back->networkId() == g.networkId());
  CHECK(back->checkComplete().ok());
}

TEST_CASE("a partly signed draft survives the file form, so stewards can pass it around") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  Genesis g = draft({a.publicKey(), b.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  auto back = decodeGenesisFile(encodeGenesisFile(g));
  REQUIRE(back.ok());
  CHECK_FALSE(back->checkComplete().ok());
  REQUIRE(back->sign(b).ok());
  CHECK(back->checkComplete().ok());
  CHECK(back->networkId() == g.networkId());
}

TEST_CASE("a genesis file with a tampered name is refused") {
  auto a = keyFromByte(41);
  Genesis g = draft({a.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  Bytes file = encodeGenesisFile(g);
  std::string text(file.begin(), file.end());
  auto pos = text.find("Civil Society");
  REQUIRE(pos != std::string::npos);
  file[pos] = 'c';
  auto back = decodeGenesisFile(file);
  bool refused = !back.ok() || !back->checkComplete().ok();
  CHECK(refused);
}

TEST_CASE("no single flipped byte in a genesis file yields another complete genesis") {
  auto a = keyFromByte(41), b = keyFromByte(42);
  Genesis g = draft({a.publicKey(), b.publicKey()}, 2);
  REQUIRE(g.sign(a).ok());
  REQUIRE(g.sign(b).ok());
  Bytes file = encodeGenesisFile(g);
  for (std::size_t i = 0; i < file.size(); ++i) {
    Bytes bad = file;
    bad[i] ^= 0x01;
    auto back = decodeGenesisFile(bad);
    if (!back.ok() || !back->checkComplete().ok()) continue;
    // Accepted: it must then be the very same genesis.
    CAPTURE(i);
    CHECK(back->networkId() == g.networkId());
    CHECK(back->name == g.name);
    CHECK(back->threshold == g.threshold);
  }
}

TEST_CASE("decodeGenesisFile refuses garbage, empty and oversized input") {
  CHECK_FALSE(decodeGenesisFile(Bytes{}).ok());
  CHECK_FALSE(decodeGenesisFile(Bytes(7, 1)).ok());
  CHECK_FALSE(decodeGenesisFile(Bytes(64, 0xff)).ok());
  CHECK_FALSE(decodeGenesisFile(Bytes(64, 0x00)).ok());
  CHECK_FALSE(decodeGenesisFile(Bytes(65 * 1024, 0)).ok());
}

TEST_CASE("readGenesisFile reads a written file and names a missing one") {
  TempDir dir;
  auto a = keyFromByte(41);
  Genesis g = draft({a.publicKey()}, 1);
  REQUIRE(g.sign(a).ok());
  auto path = dir.path() / "network.genesis";
  {
    Bytes file = encodeGenesisFile(g);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  auto back = readGenesisFile(path);
  REQUIRE(back.ok());
  CHECK(back->networkId() == g.networkId());

  auto missing = readGenesisFile(dir.path() / "nope.genesis");
  REQUIRE_FALSE(missing.ok());
  CHECK(codeOf(missing.status()) == "not_found");
  CHECK(contains(missing.status().message(), "nope.genesis"));

  auto junkPath = dir.path() / "junk.genesis";
  {
    std::ofstream out(junkPath, std::ios::binary);
    out << "this is not a genesis file at all!!!!!!";
  }
  auto junk = readGenesisFile(junkPath);
  REQUIRE_FALSE(junk.ok());
  CHECK(contains(junk.status().message(), "junk.genesis"));
}

}  // TEST_SUITE
}  // namespace
}  // namespace civnet::record

// Small helpers shared by the record-layer unit tests: hex literals, keys
// from fixed seeds, feeds of valid signed entries, and a temporary directory
// that removes itself.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/crypto.hpp"
#include "schemas/record.hpp"

namespace civnet::test {

// Verdicts and status codes by their names (the words logs, metrics and
// tests share), so a failed check prints "badLink", not a number. doctest
// cannot print the enums itself: it finds our toString, which returns
// const char*, by argument-dependent lookup.
inline std::string verdictOf(const record::Check& c) { return record::toString(c.verdict); }
inline std::string codeOf(const Status& s) { return toString(s.code()); }

// Bytes of a hex literal. The literal is part of the test, so a bad one is a
// bug in the test: it fails the test case instead of decoding to garbage.
inline Bytes hexBytes(std::string_view hex) {
  Bytes out(hex.size() / 2);
  REQUIRE(hex.size() % 2 == 0);
  REQUIRE(fromHex(hex, out));
  return out;
}

// A deterministic key: the seed is 32 copies of `b`.
inline PrivateKey keyFromByte(std::uint8_t b) {
  Bytes seed(32, b);
  auto k = PrivateKey::fromSeed(seed);
  REQUIRE(k.ok());
  return std::move(k).value();
}

inline Digest networkNamed(std::string_view name) { return sha256(asBytes(name)); }

inline Bytes contentFor(std::uint64_t seq) {
  std::string s = "content of entry " + std::to_string(seq);
  return Bytes(s.begin(), s.end());
}

// A valid feed segment of `n` entries signed by `key`, starting at
// `firstSeq` and linking to `prev` (ignored when firstSeq is 1).
inline std::vector<record::Entry> makeFeed(const PrivateKey& key, const Digest& network,
                                           std::size_t n, std::uint64_t firstSeq = 1,
                                           Digest prev = {},
                                           std::int64_t t0 = 1'700'000'000'000) {
  std::vector<record::Entry> out;
  for (std::size_t i = 0; i < n; ++i) {
    record::Header h;
    h.network = network;
    h.author = key.publicKey();
    h.seq = firstSeq + i;
    h.prev = h.seq == 1 ? Digest{} : prev;
    h.timestamp = t0 + static_cast<std::int64_t>(i) * 1000;
    h.kind = static_cast<std::uint16_t>(record::Kind::post);
    out.push_back(record::makeEntry(key, h, contentFor(h.seq)));
    prev = out.back().id;
  }
  return out;
}

inline std::vector<record::SignedEntry> signedEntries(const std::vector<record::Entry>& es) {
  std::vector<record::SignedEntry> out;
  for (const auto& e : es) out.push_back(e.signedEntry);
  return out;
}

// Makes one entry that follows `before` in its feed, with the header fields
// `edit` changes, properly signed by `key`: what a misbehaving author (or a
// buggy node) could produce.
template <typename Edit>
record::Entry nextEntry(const PrivateKey& key, const record::Entry& before, Edit edit) {
  record::Header h = before.header;
  h.seq = before.header.seq + 1;
  h.prev = before.id;
  h.timestamp = before.header.timestamp + 1000;
  edit(h);
  return record::makeEntry(key, h, contentFor(h.seq));
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "civnet-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace civnet::test

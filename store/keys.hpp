// The store's key layout. Every key starts with a one-byte table tag;
// integers are big-endian so LevelDB's byte order is numeric order.
//
//   e + author(32) + seq(8)   -> id(32) + signature(64) + header bytes
//   c + author + seq          -> content bytes (absent: erased or missing)
//   h + id(32)                -> author + seq
//   t + author                -> seq(8) + id(32) + timestamp(8) + flags(1)
//   d + author + seq          -> id of the erasing entry (tombstone; later issues)
//   x + author + seq          -> encoded ForkProof
//   q + author + seq          -> why an entry is held back (later issues)
//   w + author + seq          -> ""   content missing: neither held nor erased
//                                     (asked of peers with WantContent)
//   l + logpos(8)             -> author + seq + id   (arrival log, local order)
//   i + t + time(8) + author + seq              -> ""   by timestamp
//   i + k + kind(2) + time + author + seq       -> ""   by kind
//   i + g + len(2) + tag + time + author + seq  -> ""   by tag (posts)
//   i + r + author + seq + time + author + seq  -> ""   replies to an entry
//   i + v + author + seq + time + author + seq  -> ""   revisions of a post
//   i + p + time + author + seq                 -> ""   top-level posts (no
//                                                       reply, no revision)
//   a + handle                -> a member account (daemon/accounts)
//   s + token hash            -> a member session (daemon/accounts)
//   m + name                  -> node metadata (schema version, network,
//                                index cursor, ...)
//
// Timestamps in index keys are int64 with the sign bit flipped, so negative
// times sort first. Internal to store/: nothing outside includes this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/crypto.hpp"

namespace civnet::store::keys {

inline constexpr char kEntry = 'e';
inline constexpr char kContent = 'c';
inline constexpr char kId = 'h';
inline constexpr char kTip = 't';
inline constexpr char kTombstone = 'd';
inline constexpr char kForkProof = 'x';
inline constexpr char kHeld = 'q';
inline constexpr char kWanted = 'w';
inline constexpr char kLog = 'l';
inline constexpr char kIndex = 'i';
inline constexpr char kMeta = 'm';

inline constexpr char kByTime = 't';
inline constexpr char kByKind = 'k';
inline constexpr char kByTag = 'g';
inline constexpr char kByReply = 'r';
inline constexpr char kByRevised = 'v';
inline constexpr char kThread = 'p';

inline void putU64(std::string& s, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void putU16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
inline void putTime(std::string& s, std::int64_t t) {
  putU64(s, static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63));
}
inline std::uint64_t getU64(std::string_view s, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<std::uint8_t>(s[at + i]);
  return v;
}
inline std::int64_t getTime(std::string_view s, std::size_t at) {
  return static_cast<std::int64_t>(getU64(s, at) ^ (std::uint64_t{1} << 63));
}
inline void putBytes(std::string& s, ByteView b) {
  s.append(reinterpret_cast<const char*>(b.data()), b.size());
}
inline ByteView viewOf(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// author + seq, the feed position used by several tables.
inline std::string feedPos(char table, const PublicKey& author, std::uint64_t seq) {
  std::string k(1, table);
  putBytes(k, author.view());
  putU64(k, seq);
  return k;
}
inline std::string feedPrefix(char table, const PublicKey& author) {
  std::string k(1, table);
  putBytes(k, author.view());
  return k;
}

inline std::string entryKey(const PublicKey& a, std::uint64_t seq) { return feedPos(kEntry, a, seq); }
inline std::string contentKey(const PublicKey& a, std::uint64_t seq) { return feedPos(kContent, a, seq); }
inline std::string tombstoneKey(const PublicKey& a, std::uint64_t seq) { return feedPos(kTombstone, a, seq); }
inline std::string wantedKey(const PublicKey& a, std::uint64_t seq) { return feedPos(kWanted, a, seq); }
inline std::string forkProofKey(const PublicKey& a, std::uint64_t seq) { return feedPos(kForkProof, a, seq); }
inline std::string tipKey(const PublicKey& a) { return feedPrefix(kTip, a); }
inline std::string idKey(const Digest& id) {
  std::string k(1, kId);
  putBytes(k, id.view());
  return k;
}
inline std::string logKey(std::uint64_t pos) {
  std::string k(1, kLog);
  putU64(k, pos);
  return k;
}
inline std::string metaKey(std::string_view name) { return std::string(1, kMeta) + std::string(name); }

// Index key prefixes; a full key appends time + author + seq.
inline std::string byTimePrefix() { return {kIndex, kByTime}; }
inline std::string byKindPrefix(std::uint16_t kind) {
  std::string k{kIndex, kByKind};
  putU16(k, kind);
  return k;
}
inline std::string byTagPrefix(std::string_view tag) {
  std::string k{kIndex, kByTag};
  putU16(k, static_cast<std::uint16_t>(tag.size()));
  k.append(tag);
  return k;
}
inline std::string byReplyPrefix(const PublicKey& target, std::uint64_t seq) {
  std::string k{kIndex, kByReply};
  putBytes(k, target.view());
  putU64(k, seq);
  return k;
}
inline std::string byRevisedPrefix(const PublicKey& target, std::uint64_t seq) {
  std::string k{kIndex, kByRevised};
  putBytes(k, target.view());
  putU64(k, seq);
  return k;
}
inline std::string threadPrefix() { return {kIndex, kThread}; }
inline std::string indexKey(std::string prefix, std::int64_t time, const PublicKey& a,
                            std::uint64_t seq) {
  putTime(prefix, time);
  putBytes(prefix, a.view());
  putU64(prefix, seq);
  return prefix;
}

// The smallest key greater than every key starting with `prefix`, or ""
// when there is none (prefix of all 0xff).
inline std::string prefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(prefix.back());
    if (c != 0xff) {
      ++c;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace civnet::store::keys

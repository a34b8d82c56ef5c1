// The peer protocol's messages (schemas/wire.capnp) as plain C++ values, and
// their encoding: one PeerMessage per Cap'n Proto stream frame.
//
// decode() is the boundary for bytes from a peer: every size is checked
// (keys and digests exactly 32 bytes, at most kBuckets buckets, the frame at
// most kMaxMessageBytes), and a frame that is not a valid message comes back
// as invalidArgument naming what was wrong, never as an exception.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "crypto.hpp"
#include "record.hpp"
#include "status.hpp"

namespace civnet::peerwire {

// The protocol versions this build speaks.
// Version 2 sends profiles when asked (Hello.wantProfiles) instead of in
// every Hello; version 1 was never released.
inline constexpr std::uint16_t kVersionMin = 2;
inline constexpr std::uint16_t kVersionMax = 2;
// Feeds are grouped into buckets by the top 6 bits of their key.
inline constexpr std::size_t kBuckets = 64;
inline constexpr std::size_t kMaxMessageBytes = record::kMaxFrameBytes;
// At most this many seqs in one WantContent.
inline constexpr std::size_t kMaxWantSeqs = 4096;

inline std::size_t bucketOf(const PublicKey& feed) { return feed.bytes[0] >> 2; }

struct Hello {
  std::uint16_t versionMin = kVersionMin;
  std::uint16_t versionMax = kVersionMax;
  Digest network;
  std::string software;
  Digest topDigest;
  std::vector<Bytes> profiles;  // framed SignedEntry (version 1; empty and ignored in version 2)
  bool wantProfiles = false;    // send your Profiles before anything else
};
// The answer to a Hello that set wantProfiles.
struct Profiles {
  std::vector<Bytes> entries;  // framed SignedEntry
};
struct Buckets {
  std::vector<Digest> hashes;  // kBuckets of them
};
struct FeedTip {
  PublicKey feed;
  std::uint64_t seq = 0;
  Digest id;
  bool frozen = false;
  bool operator==(const FeedTip&) const = default;
};
struct Frontier {
  std::vector<std::uint8_t> buckets;
  std::vector<FeedTip> tips;
  bool more = false;  // another part follows
};
// At most this many tips in one Frontier part (about 3 MiB encoded).
inline constexpr std::size_t kMaxFrontierPartTips = 32768;
struct Entries {
  std::vector<Bytes> frames;  // framed SignedEntry, one feed, oldest first
};
struct Nack {
  PublicKey feed;
  std::uint64_t seq = 0;
  std::uint64_t myTip = 0;
  std::string verdict;
  std::string detail;
};
struct WantContent {
  PublicKey feed;
  std::vector<std::uint64_t> seqs;
};
struct ForkProof {
  Bytes proof;
};
struct Ping {
  std::uint64_t nonce = 0;
};
struct Pong {
  std::uint64_t nonce = 0;
};
enum class GoodbyeReason : std::uint8_t {
  normal, versionMismatch, wrongNetwork, notMember, forged, unknownMessage, timeout, overloaded,
};
const char* toString(GoodbyeReason r);
struct Goodbye {
  GoodbyeReason reason = GoodbyeReason::normal;
  std::string detail;
};

using Message =
    std::variant<Hello, Buckets, Frontier, Entries, Nack, WantContent, ForkProof, Ping, Pong, Goodbye, Profiles>;

// "hello", "entries", ... for logs and counters.
const char* messageName(const Message& m);

// One frame: segment table and segments. decode(): unsupported for a kind
// of message this version does not know (a newer peer's), invalidArgument
// for anything malformed.
Bytes encode(const Message& m);
Result<Message> decode(ByteView frame);

}  // namespace civnet::peerwire

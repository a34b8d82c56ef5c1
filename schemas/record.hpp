// The record rules: canonical header bytes, entry ids, signing, and the
// verification of one entry and of a run of one feed (the chain rule).
//
// See schemas/entry.capnp for the wire form. This header exposes plain C++
// types only; Cap'n Proto stays inside record.cpp and content.cpp.
//
//   signature = Ed25519(author, "civnet/entry/v1" || 0x00 || header bytes)
//   entry id  = SHA-256(header bytes || signature)
//
// Chain rule: a contiguous run of one feed is proven by each `prev` link,
// each present content's hash, and the signature of the run's last entry.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto.hpp"

namespace civnet::record {

// Limits enforced on every decode.
inline constexpr std::size_t kMaxHeaderBytes = 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024;        // a post's Markdown body
inline constexpr std::size_t kMaxContentBytes = 96 * 1024;     // any entry's whole content
inline constexpr std::size_t kMaxFrameBytes = 8 * 1024 * 1024; // one framed message
inline constexpr int kNestingLimit = 16;
// Entries stamped further ahead than this are deferred (retried later).
inline constexpr std::int64_t kMaxFutureSkewMs = 10 * 60 * 1000;

// Entry kinds. Mirrors wire::Kind; numbers this node does not know are kept.
enum class Kind : std::uint16_t {
  unknown = 0,
  post = 1,
  retraction = 2,
  profile = 3,
  admission = 4,
  revocation = 5,
  lift = 6,
  takedown = 7,
  stewardSet = 8,
  sealed = 9,
};
// "post", "profile", ...; "kind-17" for a kind this node does not know.
std::string kindName(std::uint16_t kind);
// REQUIRES: nothing. Returns false for an unknown name.
bool kindFromName(std::string_view name, Kind& out);

// Why an entry or run was or was not taken. Ordered: everything up to
// `storeFailed` is no fault of the sender; up to `revoked` is "not acceptable here"
// (honest peers can send these while views differ: answered with a Nack);
// everything after is forged or malformed (drop the link, count the peer).
enum class Verdict : std::uint8_t {
  accepted,
  duplicate,            // already held, nothing changed
  futureTimestamp,      // more than 10 minutes ahead: deferred, not refused
  storeFailed,          // this node could not write: its fault, not the sender's
  // --- not acceptable here ---
  noNetwork,            // this node belongs to no network yet
  wrongNetwork,         // the header names another network
  gap,                  // starts past this node's tip + 1
  prevMismatch,         // links to an entry other than the one held at seq-1
  timestampBackwards,   // earlier than the entry before it in the feed
  fork,                 // a second valid entry at a seq already held
  frozen,               // the feed is frozen by a fork proof
  notMember,            // the feed is not admitted by k stewards (at that time)
  suspended,            // past a steward's pin: held back until lifted
  revoked,              // past the pin of k matching revocations: refused forever
  // --- forged or malformed ---
  malformed,            // not a decodable record, or fields of the wrong size
  notCanonical,         // header bytes are not canonical Cap'n Proto
  tooLarge,             // over a size limit
  badLink,              // a run's entries do not link up (seq or prev)
  badContentHash,       // content does not match the header's hash or size
  badSignature,         // the signature does not verify
};
const char* toString(Verdict v);
inline bool isForged(Verdict v) { return v >= Verdict::malformed; }
inline bool isStoredOrHeld(Verdict v) { return v <= Verdict::duplicate; }

struct Header {
  Digest network;
  PublicKey author;
  std::uint64_t seq = 0;
  Digest prev;                // all zero for seq 1
  std::int64_t timestamp = 0; // ms since the Unix epoch
  std::uint16_t kind = 0;
  Digest contentHash;
  std::uint32_t contentSize = 0;
};

// The form entries travel and are stored in: bytes exactly as signed.
struct SignedEntry {
  Bytes header;                 // canonical EntryHeader bytes
  Signature signature;
  std::optional<Bytes> content; // absent when erased or not fetched yet
};

// A signed entry with its header decoded and its id computed.
struct Entry {
  Header header;
  Digest id;
  SignedEntry signedEntry;
};

// The outcome of a check: a verdict, which entry of a run it concerns, and a
// one-line detail naming what was wrong.
struct Check {
  Verdict verdict = Verdict::accepted;
  std::size_t index = 0;
  std::string detail;

  bool ok() const { return verdict == Verdict::accepted; }
  // "badLink: prev is not the id of the entry before it (entry 3, seq 7)"
  // for logs and errors: the verdict's name, then the detail.
  std::string describe() const;
};

// Canonical bytes of `h`. Deterministic: the same header gives the same bytes.
Bytes encodeHeader(const Header& h);

// Decodes header bytes received from elsewhere: size limit, canonical form,
// field widths. Fills `out` only when the result is ok.
Check decodeHeader(ByteView bytes, Header& out);

// The bytes that are signed: "civnet/entry/v1" || 0x00 || header bytes.
Bytes signingMessage(ByteView headerBytes);
Digest entryId(ByteView headerBytes, const Signature& sig);

// Builds and signs an entry. Sets contentHash and contentSize from `content`.
// REQUIRES: key.publicKey() == h.author.
Entry makeEntry(const PrivateKey& key, Header h, Bytes content);

// Decodes one signed entry and checks everything but its signature: header
// limits and form, content size and hash if content is present.
Check parseEntry(SignedEntry se, Entry& out);

// Checks the signature of one parsed entry.
bool verifySignature(const Entry& e);

// The chain rule. Parses every entry of `run` and checks: one author, one
// network (== `network`), consecutive seqs, each `prev` link, timestamps
// non-decreasing, each present content's hash, and the last entry's
// signature only. On success `out` holds the parsed entries in order.
// Stops at the first failure; `index` then names the entry, and so does
// the detail ("(entry 3, seq 7)", or "(entry 3)" for an entry that does not parse).
Check verifyRun(std::span<const SignedEntry> run, const Digest& network, std::vector<Entry>& out);
// The same, taking the entries' bytes instead of copying them (ingest).
Check verifyRun(std::vector<SignedEntry>&& run, const Digest& network, std::vector<Entry>& out);

// Standard Cap'n Proto stream framing of one SignedEntry (what export files
// and `capnp decode schemas/entry.capnp SignedEntry` read).
Bytes encodeFrame(const SignedEntry& se);
// REQUIRES: `frame` is exactly one framed message.
Check decodeFrame(ByteView frame, SignedEntry& out);

// Fork proofs: two signed headers of one feed at one seq, both valid.
Bytes encodeForkProof(const SignedEntry& a, const SignedEntry& b);
// Decodes and fully checks a proof (both signatures, same network, author
// and seq, different ids). On success fills `author` and `seq`.
Check verifyForkProof(ByteView proof, PublicKey& author, std::uint64_t& seq, Digest* network = nullptr);

}  // namespace civnet::record

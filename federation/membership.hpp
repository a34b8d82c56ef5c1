// The membership view: who belongs to the network and what content stands,
// computed from the records held and nothing else.
//
// computeMembership() is a pure function of the genesis, the attestation
// and retraction entries held (with their own seqs and timestamps) and what
// this node holds at a few feed positions (to judge revocation pins). It
// never looks at arrival order or the local clock, so every node holding
// the same records computes the same view. The rules, written for stewards,
// are in docs/membership.md; in short: one steward acts provisionally, k
// matching stewards make an action final.
//
// Thread safety: a MembershipView is a value; share it read-only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "schemas/content.hpp"
#include "schemas/crypto.hpp"
#include "schemas/genesis.hpp"
#include "schemas/record.hpp"

namespace civnet::federation {

// One held entry of an attestation kind (admission, revocation, lift,
// takedown, stewardSet), a retraction or a profile, from any feed:
// non-stewards' attestations are passed in too, and grant nothing.
struct AttestationEntry {
  PublicKey author;
  std::uint64_t seq = 0;
  Digest id;
  std::int64_t timestamp = 0;
  std::uint16_t kind = 0;
  Bytes content;  // canonical content bytes; entries without content are skipped
};

// What this node holds at one feed position.
struct HeldEntry {
  Digest id;
  std::uint16_t kind = 0;
};

struct MembershipInput {
  const record::Genesis* genesis = nullptr;  // REQUIRES: complete (checkComplete ok)
  std::span<const AttestationEntry> entries;  // REQUIRES: outlives the call
  // What is held at (feed, seq), or nullopt. Used for revocation pins and
  // for refusing takedowns and retractions of attestations.
  std::function<std::optional<HeldEntry>(const PublicKey&, std::uint64_t)> held;
  // "Now" for the states shown to people (expiry): the latest timestamp of
  // any entry held, never the local clock.
  std::int64_t asOf = 0;
};

enum class MemberState : std::uint8_t {
  none,       // no counting admission
  pending,    // admitted by fewer than k stewards
  member,     // admitted by k stewards, not expired at asOf
  expired,    // was admitted by k, but the admissions have expired at asOf
  suspended,  // a steward's revocation holds it back past a pin
  revoked,    // k matching revocations: refused past the pin forever
};
const char* toString(MemberState s);

// Where a revocation pin stands on this node.
enum class PinState : std::uint8_t {
  held,      // this node holds the pinned entry
  notYet,    // this node holds fewer entries of the feed: applied when they come
  conflict,  // this node holds another entry at the pinned seq
};
const char* toString(PinState s);

struct Pin {
  std::uint64_t seq = 0;
  Digest id;
  PinState state = PinState::held;
  bool operator==(const Pin&) const = default;
};

struct FeedMembership {
  MemberState state = MemberState::none;
  std::set<PublicKey> admittedBy;           // counting stewards with an admission
  std::optional<record::Admission> details; // from the latest counting admission
  std::pair<std::int64_t, Digest> detailsFrom;  // that admission's (timestamp, id): the latest wins
  std::optional<Pin> suspendedAt;           // lowest pin of the active revocations
  std::optional<Pin> revokedAt;             // pin reached by k matching revocations
  std::set<PublicKey> revokedBy;            // counting stewards with an active revocation
  bool operator==(const FeedMembership&) const = default;
};

struct MembershipView {
  // The steward set in force: the genesis (epoch 0) or the latest set that
  // k stewards of the one before it signed.
  std::uint64_t epoch = 0;
  std::vector<PublicKey> stewards;  // sorted
  std::uint32_t threshold = 1;
  Digest setHash;                   // the network id at epoch 0

  std::map<PublicKey, FeedMembership> feeds;
  std::set<record::EntryRef> hidden;  // taken down by one steward (or more)
  std::set<record::EntryRef> erased;  // taken down by k stewards, or retracted by its author
  // Records that grant nothing, each with why (e.g. "admission by a
  // non-steward"), for status and the log. Sorted, so views compare equal.
  std::vector<std::string> ignored;

  bool operator==(const MembershipView&) const = default;

  bool isSteward(const PublicKey& feed) const;
  // Would an entry of `author` at `seq`, stamped `timestamp`, be taken?
  // accepted, notMember, suspended or revoked. Stewards' feeds are always
  // members; a removed steward's feed counts as a steward's up to its pin.
  record::Verdict judge(const PublicKey& author, std::uint64_t seq, std::int64_t timestamp) const;

  // Member nodes: the node keys named by the latest (not erased) profile of
  // each member feed or current steward's feed. Peers are judged by this.
  std::set<PublicKey> memberNodes;

  // What each feed says of itself: its latest profile still standing (not
  // erased), whatever its state. The directory's name, region and labels
  // come from the stewards' admissions; this is shown beside them.
  struct OwnProfile {
    record::EntryRef entry;
    record::Profile profile;
    bool operator==(const OwnProfile&) const = default;
  };
  std::map<PublicKey, OwnProfile> profiles;

  // Removed stewards and the last seq of their feed that still counts
  // (absent: none of their attestations count any more).
  std::map<PublicKey, std::optional<std::uint64_t>> removedStewards;
  // Admissions that count, per feed and steward: the latest expiry (0 = never).
  std::map<PublicKey, std::map<PublicKey, std::int64_t>> admissionExpiry;
};

MembershipView computeMembership(const MembershipInput& input);

// The common change, a steward admitting organizations, made in place:
// `view` becomes what computeMembership would return for the records it was
// computed from plus `added`, at `asOf`. Returns false, leaving `view` as it
// was, when `added` holds anything else, or anything the rest of the records
// bear on (a non-steward's or removed steward's record, content that does
// not decode, an entry a takedown or retraction already names); the caller
// then computes the view afresh. Otherwise returns the feeds admitted.
// REQUIRES: `view` was computed at `asOf`, or at a time with the same
// admissions expired.
std::optional<std::set<PublicKey>> applyAdmissions(MembershipView& view, std::span<const AttestationEntry> added,
                                                   std::int64_t asOf);

// True for the kinds only stewards may use (and that takedowns and
// retractions may not target).
bool isAttestationKind(std::uint16_t kind);

}  // namespace civnet::federation

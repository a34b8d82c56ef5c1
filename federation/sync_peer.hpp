// One sync session's protocol logic, apart from any socket: messages from the
// peer in, messages to send (and runs to ingest) out. docs/protocol.md
// describes the conversation; the transport (federation/peer_network) feeds
// this class and writes what it returns.
//
//   1. Both sides send Hello; a side that does not know the peer's node key
//      as a member node's sets wantProfiles, and the peer answers with its
//      profiles before anything else. The peer is refused (Goodbye) when
//      the version ranges do not overlap, the network differs, or its node
//      key is not a member node's: named by the latest profile of a member
//      or steward feed in this node's view, or by a profile it sent (signed
//      by a member feed). A node that holds no steward's feed yet trusts
//      the key its sysadmin configured for an outbound peer instead.
//   2. Equal top digests: in sync. Otherwise each sends its 64 bucket
//      hashes, then the tips of its member feeds in the buckets that differ.
//   3. From the peer's frontier each side knows what the peer lacks, and
//      pushes it in runs (nextPush), stewards' feeds first.
//   4. Live: every new tip (onNews) the peer lacks is pushed the same way.
//      What the peer holds is tracked per feed: what it listed, what it
//      sent, what was pushed to it, so nothing is sent twice or echoed back.
//   5. Content this node holds entries without (it came without it, and
//      nothing erased it here) is asked of peers that hold those entries
//      (WantContent); a peer answers with runs of the entries it holds the
//      content of, which fill it in.
//   6. A run this node does not take gets a Nack; the feed is not pushed to
//      a peer that refused it again until this node's view changes. Forged
//      input (a run that does not verify, a malformed message) ends the
//      session with Goodbye(forged).
//
// Not thread-safe: one session's calls come from one strand.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "federation/membership.hpp"
#include "schemas/peer_wire.hpp"
#include "schemas/record.hpp"
#include "store/store.hpp"

namespace civnet::federation {

class MembershipTracker;

// What a node's sync sessions need of it.
struct SyncNode {
  store::Store* store = nullptr;
  MembershipTracker* membership = nullptr;
  Digest network;
  PublicKey nodeKey;
  std::string software;
  // Framed SignedEntry: the latest profile of each feed this node hosts
  // that names this node (sent to a peer that asks for them).
  std::function<std::vector<Bytes>()> hostedProfiles;
  // At most this many tips in one Frontier message (a larger frontier goes
  // in parts).
  std::size_t frontierPartTips = peerwire::kMaxFrontierPartTips;
};

// The frontier this node offers: the tips of its member feeds (capped at a
// suspension or revocation pin), grouped in buckets and hashed.
struct Frontier {
  std::map<PublicKey, peerwire::FeedTip> tips;
  std::array<Digest, peerwire::kBuckets> buckets;
  Digest top;
};
Frontier offeredFrontier(const store::Store& store, const MembershipView& view);

class SyncPeer {
 public:
  struct Step {
    std::vector<peerwire::Message> send;
    // A run to ingest, off the network thread; then call afterIngest().
    std::vector<record::SignedEntry> ingest;
    // Set when the session must end: send it, then close.
    std::optional<peerwire::Goodbye> close;
    // Set when the peer said goodbye: close without answering.
    std::optional<peerwire::Goodbye> peerEnded;
    // A fork proof to apply to the store (Store::applyForkProof), off the
    // network thread; then call afterForkProof().
    std::optional<Bytes> forkProof;
    // Something the sysadmin should hear of (logged as a warning), e.g. a
    // peer speaking a newer protocol: this node should be upgraded.
    std::optional<std::string> notice;
  };
  struct Counters {
    std::uint64_t entriesSent = 0;
    std::uint64_t entriesReceived = 0;  // stored from this peer
    std::uint64_t nacksSent = 0;
    std::uint64_t nacksReceived = 0;
    std::uint64_t forged = 0;  // forged runs or messages from this peer
    std::uint64_t refusedAgain = 0;  // runs nacked again: the peer resent a feed after its Nack
    std::uint64_t contentSent = 0;      // entries sent for their content (WantContent)
    std::uint64_t contentReceived = 0;  // entries whose missing content this peer sent
  };

  // `configuredKey`: the key the sysadmin configured for this address when
  // this node dialed it.
  SyncPeer(const SyncNode& node, PublicKey peerKey, std::optional<PublicKey> configuredKey);

  peerwire::Hello hello();
  Step onMessage(const peerwire::Message& m);
  // After the run onMessage asked for was ingested.
  Step afterIngest(const store::IngestResult& r, const std::vector<record::SignedEntry>& run);
  // After the fork proof onMessage asked for was applied.
  Step afterForkProof(const store::IngestResult& r);
  // New tips in this node's store (local or relayed). `offered`, when
  // given, is offeredFrontier() now (computed once for all sessions).
  void onNews(const std::vector<store::Tip>& tips, const Frontier* offered = nullptr);
  // What to push next: a fork proof the peer lacks, a WantContent for
  // content this node lacks and the peer may hold, the content the peer
  // asked for, or the next run (at most about `maxBytes`, at least one
  // entry); nothing when the peer lacks nothing this node offers.
  std::optional<peerwire::Message> nextPush(std::size_t maxBytes);

  // Offers again the feeds the peer deferred (a futureTimestamp or
  // storeFailed Nack); the transport calls it now and then.
  void retryDeferred();

  bool established() const { return established_; }
  // The frontiers were exchanged, nothing is left to push, and this node
  // holds what the peer's frontier listed (but what it refused).
  bool inSync() const;
  const Counters& counters() const { return counters_; }
  // Entries the peer's frontier listed that this node does not hold yet
  // (leaving out feeds it refused or froze).
  std::uint64_t entriesBehind() const;
  const std::string& peerSoftware() const { return peerSoftware_; }
  const PublicKey& peerKey() const { return peerKey_; }

 private:
  Step onHello(const peerwire::Hello& h);
  Step onBuckets(const peerwire::Buckets& b);
  Step onFrontier(const peerwire::Frontier& f);
  Step onEntries(const peerwire::Entries& e);
  void onNack(const peerwire::Nack& n);
  void onWantContent(const peerwire::WantContent& w);
  void askForMissingContent();
  std::optional<peerwire::Message> nextContent(std::size_t maxBytes);
  // Judges the peer's node key by the view, or by the profiles it sent.
  bool peerIsMember(const std::vector<Bytes>& profiles, const MembershipView& view, std::string& why) const;
  // Judges the peer and, if it is a member node's, starts the exchange of
  // frontiers (appended to `s`); else a goodbye.
  void establish(const std::vector<Bytes>& profiles, const Digest& peerTop, Step& s);
  void markNews(const PublicKey& feed);
  void offerProof(const PublicKey& feed);
  static Step goodbye(peerwire::GoodbyeReason r, std::string detail);

  const SyncNode& node_;
  const PublicKey peerKey_;
  const std::optional<PublicKey> configuredKey_;
  bool helloSeen_ = false;
  bool awaitingProfiles_ = false;  // this node's Hello set wantProfiles; no Profiles yet
  Digest peerTop_;                 // the peer's Hello's topDigest, kept until they come
  bool established_ = false;
  bool frontierKnown_ = false;
  std::string peerSoftware_;
  std::map<PublicKey, std::uint64_t> peerHas_;   // seq the peer is known to hold
  std::set<PublicKey> news_;                     // feeds the peer may lack
  std::map<PublicKey, std::uint64_t> refused_;   // feed -> this node's tip when the peer nacked it
  std::map<PublicKey, std::uint64_t> peerListed_;  // the peer's frontier: what it will push
  std::set<PublicKey> notTaken_;                 // feeds this node nacked
  std::set<PublicKey> proofsToSend_;             // frozen feeds whose proof the peer may lack
  std::set<PublicKey> proofsSent_;
  std::set<PublicKey> pushed_;                   // feeds this node sent runs of (a Nack must name one)
  std::set<PublicKey> deferred_;                 // feeds the peer deferred: offered again by retryDeferred()
  std::optional<Frontier> bucketsSent_;          // what this node offered when it sent its Buckets
  bool bucketsReceived_ = false;
  bool frontierReceived_ = false;
  // The frontier this node sends (in parts, by nextPush), and how far.
  std::optional<peerwire::Frontier> frontierOut_;
  std::size_t frontierOutAt_ = 0;
  // The peer's frontier while its parts arrive: the buckets it lists, and
  // how many tips came.
  bool frontierParts_ = false;
  std::set<std::size_t> frontierListed_;
  std::size_t frontierTips_ = 0;
  // What the peer's frontier says it holds, and the runs it sent with their
  // content (one without does not count): missing content is asked of it
  // by this.
  std::map<PublicKey, std::uint64_t> peerOffered_;
  // Missing content: what this node asked the peer for and is still
  // missing, what it still has to ask, and the store's
  // missingContentGeneration() when it last looked.
  std::set<std::pair<PublicKey, std::uint64_t>> asked_;
  std::vector<peerwire::WantContent> wantsToSend_;
  std::optional<std::uint64_t> missingLookedAt_;
  // Content the peer asked for, per feed, and what of it was missing here
  // too (answered once it arrives); every entry it ever asked for on this
  // link (at most kMaxContentAsked), so none is answered twice.
  std::map<PublicKey, std::set<std::uint64_t>> contentAsked_, unanswered_;
  std::optional<std::uint64_t> unansweredAt_;
  std::set<std::pair<PublicKey, std::uint64_t>> contentSeen_;
  Counters counters_;
};

}  // namespace civnet::federation

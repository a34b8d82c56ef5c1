// One sync session's protocol logic (see sync_peer.hpp).
#include "sync_peer.hpp"

#include <algorithm>

#include "federation/membership_tracker.hpp"
#include "schemas/content.hpp"

namespace civnet::federation {
namespace {

using peerwire::FeedTip;
using peerwire::GoodbyeReason;

constexpr std::size_t kMaxRunEntries = 4096;
constexpr std::size_t kMaxHelloProfiles = 16;  // checked of a Hello's profiles
// Missing content: at most this many entries asked of a peer and not filled
// yet, found among at most kMaxMissingScan missing entries; at most
// kMaxContentAsked entries a peer asked for on one link are looked at.
constexpr std::size_t kMaxAskedPerLink = 65536;
constexpr std::size_t kMaxMissingScan = 262144;
constexpr std::size_t kMaxContentAsked = 65536;
// A peer's frontier (all its parts) lists at most this many feeds.
constexpr std::size_t kMaxFrontierFeeds = 262144;

// What this node offers of one feed: its tip if the view takes it, else the
// chain up to a suspension or revocation pin, else nothing.
std::optional<FeedTip> offeredTip(const MembershipView& view, const store::Tip& t) {
  if (view.judge(t.feed, t.seq, t.timestamp) == record::Verdict::accepted)
    return FeedTip{t.feed, t.seq, t.id, t.frozen};
  auto m = view.feeds.find(t.feed);
  if (m == view.feeds.end()) return std::nullopt;
  const std::optional<Pin>& pin = m->second.revokedAt ? m->second.revokedAt : m->second.suspendedAt;
  if (!pin || pin->seq == 0 || pin->state != PinState::held) return std::nullopt;
  if (pin->seq >= t.seq) return FeedTip{t.feed, t.seq, t.id, t.frozen};
  return FeedTip{t.feed, pin->seq, pin->id, t.frozen};
}

void appendBE(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

bool holdsStewardFeeds(const store::Store& store, const MembershipView& view) {
  return std::any_of(view.stewards.begin(), view.stewards.end(),
                     [&](const PublicKey& s) { return store.tip(s).has_value(); });
}

}  // namespace

Frontier offeredFrontier(const store::Store& store, const MembershipView& view) {
  Frontier f;
  for (const store::Tip& t : store.tips())
    if (auto o = offeredTip(view, t)) f.tips[t.feed] = *o;
  std::array<Bytes, peerwire::kBuckets> rows;
  for (const auto& [feed, t] : f.tips) {  // sorted by key, so by bucket too
    Bytes& r = rows[peerwire::bucketOf(feed)];
    r.insert(r.end(), feed.bytes.begin(), feed.bytes.end());
    appendBE(r, t.seq);
    r.insert(r.end(), t.id.bytes.begin(), t.id.bytes.end());
    r.push_back(t.frozen ? 1 : 0);
  }
  Bytes all;
  for (std::size_t b = 0; b < peerwire::kBuckets; ++b) {
    f.buckets[b] = sha256(rows[b]);
    all.insert(all.end(), f.buckets[b].bytes.begin(), f.buckets[b].bytes.end());
  }
  f.top = sha256(all);
  return f;
}

SyncPeer::SyncPeer(const SyncNode& node, PublicKey peerKey, std::optional<PublicKey> configuredKey)
    : node_(node), peerKey_(peerKey), configuredKey_(configuredKey) {}

SyncPeer::Step SyncPeer::goodbye(GoodbyeReason r, std::string detail) {
  Step s;
  s.close = peerwire::Goodbye{r, std::move(detail)};
  return s;
}

peerwire::Hello SyncPeer::hello() {
  auto view = node_.membership->view();
  peerwire::Hello h;
  h.network = node_.network;
  h.software = node_.software;
  h.topDigest = offeredFrontier(*node_.store, *view).top;
  // The peer's profiles are needed only to learn that its node key is a
  // member node's; most sessions are between nodes that know each other.
  h.wantProfiles = awaitingProfiles_ = !view->memberNodes.count(peerKey_);
  return h;
}

SyncPeer::Step SyncPeer::onMessage(const peerwire::Message& m) {
  if (std::holds_alternative<peerwire::Goodbye>(m)) {
    Step s;
    s.peerEnded = std::get<peerwire::Goodbye>(m);
    return s;
  }
  if (!helloSeen_) {
    if (!std::holds_alternative<peerwire::Hello>(m))
      return goodbye(GoodbyeReason::forged, std::string("expected hello first, got ") + peerwire::messageName(m));
  {
    const auto& h = std::get<peerwire::Hello>(m);
    Step step = onHello(h);
    if (h.versionMax > peerwire::kVersionMax)
      step.notice = "the peer (" + (h.software.empty() ? std::string("unnamed software") : h.software.substr(0, 80)) +
                    ") speaks protocol versions up to " + std::to_string(h.versionMax) + ", this node up to " +
                    std::to_string(peerwire::kVersionMax) + ": upgrade civnetd";
    return step;
  }
  }
  if (awaitingProfiles_) {
    // The peer answers this node's wantProfiles before anything else (its
    // Hello was seen above).
    if (const auto* p = std::get_if<peerwire::Profiles>(&m)) {
      awaitingProfiles_ = false;
      Step s;
      establish(p->entries, peerTop_, s);
      return s;
    }
    if (!std::holds_alternative<peerwire::Ping>(m) && !std::holds_alternative<peerwire::Pong>(m))
      return goodbye(GoodbyeReason::forged,
                     std::string("expected the profiles this node asked for, got ") + peerwire::messageName(m));
  }
  return std::visit(
      [&](const auto& x) -> Step {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, peerwire::Hello>) {
          return goodbye(GoodbyeReason::forged, "a second hello");
        } else if constexpr (std::is_same_v<T, peerwire::Buckets>) {
          return onBuckets(x);
        } else if constexpr (std::is_same_v<T, peerwire::Frontier>) {
          return onFrontier(x);
        } else if constexpr (std::is_same_v<T, peerwire::Entries>) {
          return onEntries(x);
        } else if constexpr (std::is_same_v<T, peerwire::Nack>) {
          onNack(x);
          return {};
        } else if constexpr (std::is_same_v<T, peerwire::ForkProof>) {
          Step s;
          s.forkProof = x.proof;
          return s;
        } else if constexpr (std::is_same_v<T, peerwire::WantContent>) {
          onWantContent(x);
          return {};
        } else if constexpr (std::is_same_v<T, peerwire::Ping>) {
          Step s;
          s.send.push_back(peerwire::Pong{x.nonce});
          return s;
        } else if constexpr (std::is_same_v<T, peerwire::Profiles>) {
          return goodbye(GoodbyeReason::forged, "profiles this node did not ask for");
        } else {
          static_assert(std::is_same_v<T, peerwire::Pong> || std::is_same_v<T, peerwire::Goodbye>);
          return {};  // Pong keeps the link alive (the transport notes it); Goodbye was handled first
        }
      },
      m);
}

bool SyncPeer::peerIsMember(const std::vector<Bytes>& profiles, const MembershipView& view, std::string& why) const {
  if (view.memberNodes.count(peerKey_)) return true;
  for (std::size_t i = 0; i < profiles.size() && i < kMaxHelloProfiles; ++i) {
    record::SignedEntry se;
    record::Entry e;
    if (!record::decodeFrame(profiles[i], se).ok() || !record::parseEntry(se, e).ok()) continue;
    if (e.header.network != node_.network || e.header.kind != static_cast<std::uint16_t>(record::Kind::profile) ||
        !e.signedEntry.content)
      continue;
    auto f = view.feeds.find(e.header.author);
    const bool member = view.isSteward(e.header.author) ||
                        (f != view.feeds.end() && f->second.state == MemberState::member);
    if (!member) continue;
    // Only the feed's latest profile standing counts: an older one (which
    // may name a node the organization has since dropped) or an erased one
    // proves nothing.
    if (auto own = view.profiles.find(e.header.author); own != view.profiles.end() && e.header.seq < own->second.entry.seq)
      continue;
    if (view.erased.count(record::EntryRef{e.header.author, e.header.seq, e.id})) continue;
    if (!record::verifySignature(e)) continue;  // last: the costly check
    auto p = record::decodeProfile(*e.signedEntry.content);
    if (!p.ok()) continue;
    for (const auto& n : p->nodes)
      if (n.nodeKey == peerKey_) return true;
  }
  const bool judging = holdsStewardFeeds(*node_.store, view);
  if (configuredKey_ && *configuredKey_ == peerKey_ && !judging) return true;
  if (!judging) {
    why = "node key " + peerKey_.hex() +
          " is not known here as a member node's: this node holds no steward's feed yet, so it takes only the "
          "peers it dials itself with their configured keys (civnetctl peers add)";
    return false;
  }
  // The feeds the peer says it hosts (unchecked: a hint for the sysadmins).
  std::set<std::string> hosts;
  for (std::size_t i = 0; i < profiles.size() && i < kMaxHelloProfiles; ++i) {
    record::SignedEntry se;
    record::Header ph;
    if (record::decodeFrame(profiles[i], se).ok() && record::decodeHeader(se.header, ph).ok())
      hosts.insert(ph.author.hex());
  }
  why = "node key " + peerKey_.hex() +
        " is not a member node's: no profile of an admitted organization or of a steward names it";
  if (!hosts.empty()) {
    why += "; it says it hosts feed";
    why += hosts.size() > 1 ? "s " : " ";
    bool first = true;
    for (const auto& f : hosts) why += (first ? "" : ", ") + f, first = false;
    why += ", which stewards admit with: civnetctl admit FEED_KEY";
  }
  return false;
}

SyncPeer::Step SyncPeer::onHello(const peerwire::Hello& h) {
  helloSeen_ = true;
  peerSoftware_ = h.software;
  const auto lo = std::max(h.versionMin, peerwire::kVersionMin), hi = std::min(h.versionMax, peerwire::kVersionMax);
  if (lo > hi)
    return goodbye(GoodbyeReason::versionMismatch,
                   "this node speaks protocol versions " + std::to_string(peerwire::kVersionMin) + ".." +
                       std::to_string(peerwire::kVersionMax) + ", the peer " + std::to_string(h.versionMin) +
                       ".." + std::to_string(h.versionMax));
  if (h.network != node_.network)
    return goodbye(GoodbyeReason::wrongNetwork,
                   "the peer belongs to network " + h.network.hex() + ", this node to " + node_.network.hex());
  Step s;
  if (h.wantProfiles)
    s.send.push_back(peerwire::Profiles{node_.hostedProfiles ? node_.hostedProfiles() : std::vector<Bytes>{}});
  if (awaitingProfiles_) {
    peerTop_ = h.topDigest;
    return s;
  }
  establish({}, h.topDigest, s);  // Hello.profiles is version 1's, and ignored
  return s;
}

void SyncPeer::establish(const std::vector<Bytes>& profiles, const Digest& peerTop, Step& s) {
  auto view = node_.membership->view();
  std::string why;
  if (!peerIsMember(profiles, *view, why)) {
    s.close = peerwire::Goodbye{GoodbyeReason::notMember, std::move(why)};
    return;
  }
  established_ = true;

  Frontier mine = offeredFrontier(*node_.store, *view);
  if (mine.top == peerTop) {
    // In sync: the peer holds what this node offers.
    for (const auto& [feed, t] : mine.tips) {
      peerHas_[feed] = std::max(peerHas_[feed], t.seq);
      peerOffered_[feed] = t.seq;
    }
    frontierKnown_ = true;
    return;
  }
  peerwire::Buckets b;
  b.hashes.assign(mine.buckets.begin(), mine.buckets.end());
  s.send.push_back(std::move(b));
  bucketsSent_ = std::move(mine);
}

SyncPeer::Step SyncPeer::onBuckets(const peerwire::Buckets& theirs) {
  if (bucketsReceived_) return goodbye(GoodbyeReason::forged, "a second buckets message");
  bucketsReceived_ = true;
  Frontier mine = offeredFrontier(*node_.store, *node_.membership->view());
  peerwire::Frontier f;
  for (std::size_t b = 0; b < peerwire::kBuckets; ++b) {
    if (theirs.hashes[b] == mine.buckets[b]) continue;
    f.buckets.push_back(static_cast<std::uint8_t>(b));
  }
  for (const auto& [feed, t] : mine.tips) {
    const std::size_t b = peerwire::bucketOf(feed);
    if (theirs.hashes[b] == mine.buckets[b]) {
      peerHas_[feed] = std::max(peerHas_[feed], t.seq);  // the same bucket: the peer holds it
    } else {
      f.tips.push_back(t);
    }
  }
  // Sent by nextPush, in parts: a large frontier would not fit one frame.
  frontierOut_ = std::move(f);
  frontierOutAt_ = 0;
  return {};
}

bool SyncPeer::inSync() const {
  if (!frontierKnown_ || frontierOut_ || !news_.empty() || !proofsToSend_.empty() || !wantsToSend_.empty() ||
      !contentAsked_.empty())
    return false;
  return entriesBehind() == 0;
}

std::uint64_t SyncPeer::entriesBehind() const {
  std::uint64_t behind = 0;
  for (const auto& [feed, seq] : peerListed_) {
    if (notTaken_.count(feed)) continue;
    auto tip = node_.store->tip(feed);
    if (tip && tip->frozen) continue;  // past a fork nothing is taken
    const std::uint64_t held = tip ? tip->seq : 0;
    if (seq > held) behind += seq - held;
  }
  return behind;
}

void SyncPeer::offerProof(const PublicKey& feed) {
  if (!proofsSent_.count(feed)) proofsToSend_.insert(feed);
}

SyncPeer::Step SyncPeer::onFrontier(const peerwire::Frontier& f) {
  const std::set<std::size_t>& listed = frontierListed_;
  if (!frontierParts_) {
    // A frontier answers this node's Buckets, once.
    if (!bucketsSent_ || frontierReceived_) return goodbye(GoodbyeReason::forged, "a frontier this node did not ask for");
    frontierReceived_ = true;
    frontierParts_ = true;
    frontierListed_.insert(f.buckets.begin(), f.buckets.end());
    // The buckets the peer did not list matched what this node offered when
    // it sent its Buckets: the peer holds those tips.
    for (const auto& [feed, t] : bucketsSent_->tips)
      if (!listed.count(peerwire::bucketOf(feed))) {
        peerHas_[feed] = std::max(peerHas_[feed], t.seq);
        peerOffered_[feed] = t.seq;
      }
  } else if (!f.buckets.empty()) {
    return goodbye(GoodbyeReason::forged, "a later part of a frontier lists buckets");
  }
  frontierTips_ += f.tips.size();
  if (frontierTips_ > kMaxFrontierFeeds)
    return goodbye(GoodbyeReason::forged, "a frontier of more than " + std::to_string(kMaxFrontierFeeds) + " feeds");
  for (const FeedTip& t : f.tips) {
    if (!listed.count(peerwire::bucketOf(t.feed))) continue;  // not what it said it lists
    peerHas_[t.feed] = std::max(peerHas_[t.feed], t.seq);
    peerListed_[t.feed] = std::max(peerListed_[t.feed], t.seq);
    peerOffered_[t.feed] = t.seq;
    auto tip = node_.store->tip(t.feed);
    // The peer holds the feed unfrozen, or frozen but past this node's
    // fork (it met a later one): this node's proof truncates it alike.
    if (tip && tip->frozen && (!t.frozen || t.seq > tip->seq)) offerProof(t.feed);
    // Another entry than ours at a seq we hold: a fork. Push ours there, so
    // the peer proves it (and freezes the feed), and gossips the proof back.
    if (tip && tip->seq >= t.seq && t.seq > 0) {
      auto mine = node_.store->entryAt(t.feed, t.seq);
      if (mine.ok() && mine->id != t.id) {
        peerHas_[t.feed] = t.seq - 1;
        markNews(t.feed);
      }
    }
  }
  if (f.more) return {};
  frontierParts_ = false;
  frontierListed_.clear();
  frontierKnown_ = true;
  // Every feed this node offers now that the peer holds less of is news for
  // it: in the buckets that differed by what the peer listed, in the others
  // by what this node held when it compared them (news that came in since
  // was not tracked until now).
  Frontier mine = offeredFrontier(*node_.store, *node_.membership->view());
  for (const auto& [feed, t] : mine.tips)
    if (t.seq > peerHas_[feed]) markNews(feed);
  bucketsSent_.reset();  // no longer needed
  return {};
}

SyncPeer::Step SyncPeer::onEntries(const peerwire::Entries& e) {
  Step s;
  if (e.frames.empty()) return s;
  std::vector<record::SignedEntry> run;
  run.reserve(e.frames.size());
  PublicKey author;
  std::uint64_t firstSeq = 0;
  for (std::size_t i = 0; i < e.frames.size(); ++i) {
    // Only the frame and the header here: the store's chain rule checks
    // the rest (ids, content hashes, the signature) once, off this thread.
    record::SignedEntry se;
    record::Header header;
    record::Check c = record::decodeFrame(e.frames[i], se);
    if (c.ok()) c = record::decodeHeader(se.header, header);
    if (!c.ok()) {
      ++counters_.forged;
      return goodbye(GoodbyeReason::forged, "entry " + std::to_string(i + 1) + " of a run: " + c.describe());
    }
    if (i == 0) {
      author = header.author;
      firstSeq = header.seq;
    } else if (header.author != author || header.seq != firstSeq + i) {
      ++counters_.forged;
      return goodbye(GoodbyeReason::forged, "a run must hold consecutive entries of one feed");
    }
    run.push_back(std::move(se));
  }
  // The peer holds what it sends: never push it back.
  const std::uint64_t lastSeq = firstSeq + run.size() - 1;
  auto& has = peerHas_[author];
  has = std::max(has, lastSeq);
  // A run that came with its content shows the peer holds that content:
  // it may be asked for it (this node may have dropped it, having no room).
  if (run.back().content) {
    auto& offered = peerOffered_[author];
    offered = std::max(offered, lastSeq);
  }
  s.ingest = std::move(run);
  return s;
}

SyncPeer::Step SyncPeer::afterIngest(const store::IngestResult& r, const std::vector<record::SignedEntry>& run) {
  Step s;
  counters_.entriesReceived += r.stored;
  counters_.contentReceived += r.contentFilled;
  if (r.verdict == record::Verdict::accepted || r.verdict == record::Verdict::duplicate) {
    record::Entry first;
    if (!notTaken_.empty() && !run.empty() && record::parseEntry(run.front(), first).ok())
      notTaken_.erase(first.header.author);
    return s;
  }
  if (record::isForged(r.verdict)) {
    ++counters_.forged;
    return goodbye(GoodbyeReason::forged, std::string(record::toString(r.verdict)) + ": " + r.detail);
  }
  record::Entry first;
  if (run.empty() || !record::parseEntry(run.front(), first).ok()) return s;
  const PublicKey& feed = first.header.author;
  // The peer pushed a feed frozen here past the fork: it lacks the proof.
  if (r.verdict == record::Verdict::frozen) offerProof(feed);
  // A feed nacked before on this link: the peer sent it again. Honest peers
  // do so only when their own view changed since, so this is counted (and
  // shown per peer), not punished.
  if (!notTaken_.insert(feed).second) ++counters_.refusedAgain;
  auto tip = node_.store->tip(feed);
  peerwire::Nack n;
  n.feed = feed;
  n.myTip = tip ? tip->seq : 0;
  n.seq = n.myTip + 1;
  n.verdict = record::toString(r.verdict);
  n.detail = r.detail;
  ++counters_.nacksSent;
  s.send.push_back(std::move(n));
  return s;
}

void SyncPeer::onNack(const peerwire::Nack& n) {
  if (!pushed_.count(n.feed)) return;  // a Nack names a feed this node sent
  ++counters_.nacksReceived;
  peerHas_[n.feed] = n.myTip;
  news_.erase(n.feed);
  // Deferred, or the peer's own trouble: offered again with the feed's next
  // news. Otherwise not until this node's view changes, or the feed grows.
  if (n.verdict == record::toString(record::Verdict::futureTimestamp) ||
      n.verdict == record::toString(record::Verdict::storeFailed)) {
    deferred_.insert(n.feed);
    return;
  }
  auto tip = node_.store->tip(n.feed);
  refused_[n.feed] = tip ? tip->seq : 0;
}

void SyncPeer::retryDeferred() {
  for (const PublicKey& feed : deferred_) markNews(feed);
  deferred_.clear();
}

void SyncPeer::markNews(const PublicKey& feed) {
  if (auto r = refused_.find(feed); r != refused_.end()) {
    auto tip = node_.store->tip(feed);
    if (!tip || tip->seq <= r->second) return;
    refused_.erase(r);  // the feed grew since: offer it once more
  }
  news_.insert(feed);
}

void SyncPeer::onNews(const std::vector<store::Tip>& tips, const Frontier* offered) {
  if (!frontierKnown_) return;  // the frontier exchange covers them
  auto view = node_.membership->view();
  const bool viewMayChange = std::any_of(tips.begin(), tips.end(), [&](const store::Tip& t) {
    return view->isSteward(t.feed) || view->removedStewards.count(t.feed);
  });
  if (viewMayChange) {
    // A steward's news may admit a feed, or be what the peer lacked to take
    // what it refused: offer every feed the peer may lack again.
    refused_.clear();
    std::optional<Frontier> computed;
    if (!offered) offered = &computed.emplace(offeredFrontier(*node_.store, *view));
    for (const auto& [feed, t] : offered->tips)
      if (t.seq > peerHas_[feed]) news_.insert(feed);
  }
  for (const store::Tip& t : tips) {
    if (t.frozen) offerProof(t.feed);
    markNews(t.feed);
  }
}

SyncPeer::Step SyncPeer::afterForkProof(const store::IngestResult& r) {
  if (record::isForged(r.verdict) || r.verdict == record::Verdict::wrongNetwork) {
    ++counters_.forged;
    return goodbye(GoodbyeReason::forged, std::string("fork proof: ") + record::toString(r.verdict) + ": " + r.detail);
  }
  return {};
}

void SyncPeer::onWantContent(const peerwire::WantContent& w) {
  // Each entry is looked at once per link (asking again gets nothing), and
  // at most kMaxContentAsked in all: the rest is not answered.
  std::set<std::uint64_t>* seqs = nullptr;
  for (std::uint64_t seq : w.seqs) {
    if (contentSeen_.size() >= kMaxContentAsked) break;
    if (seq == 0 || !contentSeen_.insert({w.feed, seq}).second) continue;
    if (!seqs) seqs = &contentAsked_[w.feed];
    seqs->insert(seq);
  }
}

void SyncPeer::askForMissingContent() {
  if (node_.store->contentPaused()) return;  // no room for it now: asked once there is
  const std::uint64_t generation = node_.store->missingContentGeneration();
  if (missingLookedAt_ == generation) return;
  missingLookedAt_ = generation;
  // Each missing entry the peer's frontier says it holds is asked of it
  // once per link; what was asked and has arrived since is forgotten.
  std::set<std::pair<PublicKey, std::uint64_t>> asked;
  std::map<PublicKey, std::vector<std::uint64_t>> ask;
  std::optional<store::Position> after;
  for (std::size_t scanned = 0; scanned < kMaxMissingScan;) {
    auto page = node_.store->missingContent(after, 4096);
    scanned += page.size();
    for (const store::Position& p : page) {
      if (asked_.count({p.feed, p.seq})) {
        asked.insert({p.feed, p.seq});
        continue;
      }
      if (asked.size() >= kMaxAskedPerLink) continue;
      auto has = peerOffered_.find(p.feed);
      if (has == peerOffered_.end() || has->second < p.seq) continue;
      asked.insert({p.feed, p.seq});
      ask[p.feed].push_back(p.seq);
    }
    if (page.size() < 4096) break;
    after = page.back();
  }
  asked_ = std::move(asked);
  for (auto& [feed, seqs] : ask)
    for (std::size_t i = 0; i < seqs.size(); i += peerwire::kMaxWantSeqs) {
      peerwire::WantContent w;
      w.feed = feed;
      w.seqs.assign(seqs.begin() + static_cast<std::ptrdiff_t>(i),
                    seqs.begin() + static_cast<std::ptrdiff_t>(std::min(seqs.size(), i + peerwire::kMaxWantSeqs)));
      wantsToSend_.push_back(std::move(w));
    }
}

std::optional<peerwire::Message> SyncPeer::nextContent(std::size_t maxBytes) {
  // Content asked for that was missing here too: looked at again once the
  // store's missing content changed.
  const std::uint64_t generation = node_.store->missingContentGeneration();
  if (!unanswered_.empty() && unansweredAt_ != generation) {
    for (auto& [feed, seqs] : unanswered_) contentAsked_[feed].merge(seqs);
    unanswered_.clear();
  }
  unansweredAt_ = generation;
  if (contentAsked_.empty()) return std::nullopt;
  auto view = node_.membership->view();
  while (!contentAsked_.empty()) {
    auto it = contentAsked_.begin();
    const PublicKey feed = it->first;
    std::set<std::uint64_t>& seqs = it->second;
    if (seqs.empty()) {
      contentAsked_.erase(it);
      continue;
    }
    // Only what this node offers: not past a suspension or revocation pin
    // (a feed is held from seq 1 to its tip).
    auto tip = node_.store->tip(feed);
    std::optional<FeedTip> offered = tip ? offeredTip(*view, *tip) : std::nullopt;
    const std::uint64_t until = offered ? offered->seq : 0;
    const std::uint64_t first = *seqs.begin();
    seqs.erase(seqs.begin());
    if (first > until || node_.store->isErased(feed, first)) continue;  // not answered
    if (node_.store->isContentMissing(feed, first)) {
      unanswered_[feed].insert(first);  // answered once it arrives
      continue;
    }
    // A run of the consecutive asked entries from `first` this node holds
    // the content of.
    std::size_t n = 1;
    while (n < kMaxRunEntries && first + n <= until && seqs.count(first + n)) ++n;
    peerwire::Entries out;
    std::size_t bytes = 0;
    for (const record::Entry& e : node_.store->feedRange(feed, first, n, maxBytes)) {
      if (e.header.seq >= first + n || !e.signedEntry.content) break;
      Bytes frame = record::encodeFrame(e.signedEntry);
      if (!out.frames.empty() && bytes + frame.size() > maxBytes) break;
      bytes += frame.size();
      out.frames.push_back(std::move(frame));
      if (e.header.seq != first) seqs.erase(e.header.seq);
    }
    if (out.frames.empty()) continue;
    counters_.contentSent += out.frames.size();
    return peerwire::Message(std::move(out));
  }
  return std::nullopt;
}

std::optional<peerwire::Message> SyncPeer::nextPush(std::size_t maxBytes) {
  if (!established_) return std::nullopt;
  if (frontierOut_) {  // the next part of this node's frontier
    peerwire::Frontier part;
    if (frontierOutAt_ == 0) part.buckets = std::move(frontierOut_->buckets);
    const std::size_t n = std::min(std::max<std::size_t>(node_.frontierPartTips, 1), frontierOut_->tips.size() - frontierOutAt_);
    part.tips.assign(frontierOut_->tips.begin() + static_cast<std::ptrdiff_t>(frontierOutAt_),
                     frontierOut_->tips.begin() + static_cast<std::ptrdiff_t>(frontierOutAt_ + n));
    frontierOutAt_ += n;
    part.more = frontierOutAt_ < frontierOut_->tips.size();
    if (!part.more) frontierOut_.reset();
    return peerwire::Message(std::move(part));
  }
  if (!frontierKnown_) return std::nullopt;
  while (!proofsToSend_.empty()) {
    const PublicKey feed = *proofsToSend_.begin();
    proofsToSend_.erase(proofsToSend_.begin());
    proofsSent_.insert(feed);
    auto proofs = node_.store->forkProofs(feed);
    if (!proofs.empty()) return peerwire::Message(peerwire::ForkProof{std::move(proofs.front())});
  }
  askForMissingContent();
  if (!wantsToSend_.empty()) {
    peerwire::Message m(std::move(wantsToSend_.back()));
    wantsToSend_.pop_back();
    return m;
  }
  if (auto m = nextContent(maxBytes)) return m;
  auto view = node_.membership->view();
  while (!news_.empty()) {
    auto pick = std::find_if(news_.begin(), news_.end(), [&](const PublicKey& f) { return view->isSteward(f); });
    if (pick == news_.end()) pick = news_.begin();
    const PublicKey feed = *pick;
    auto tip = node_.store->tip(feed);
    std::optional<FeedTip> offered = tip ? offeredTip(*view, *tip) : std::nullopt;
    const std::uint64_t until = offered ? offered->seq : 0;
    std::uint64_t& has = peerHas_[feed];
    if (until <= has) {
      news_.erase(pick);
      continue;
    }
    peerwire::Entries out;
    std::size_t bytes = 0;
    pushed_.insert(feed);
    for (const record::Entry& e : node_.store->feedRange(feed, has + 1, kMaxRunEntries, maxBytes)) {
      if (e.header.seq > until || e.header.seq != has + 1) break;
      Bytes frame = record::encodeFrame(e.signedEntry);
      if (!out.frames.empty() && bytes + frame.size() > maxBytes) break;
      bytes += frame.size();
      out.frames.push_back(std::move(frame));
      has = e.header.seq;
    }
    if (out.frames.empty()) {  // nothing readable past what the peer holds
      news_.erase(feed);
      continue;
    }
    counters_.entriesSent += out.frames.size();
    if (has >= until) news_.erase(feed);
    return peerwire::Message(std::move(out));
  }
  return std::nullopt;
}

}  // namespace civnet::federation

// The membership view (see membership.hpp and docs/membership.md).
//
// Order independence is by construction: the entries are sorted by
// (author, seq) first, every tally is a set of distinct stewards, and every
// choice between candidates is by a total order on their bytes (a content
// hash, a timestamp then an id). The property test feeds the same records
// in hundreds of orders and checks the view does not change.
#include "membership.hpp"

#include <algorithm>
#include <tuple>

namespace civnet::federation {
namespace {

using record::Kind;

bool is(std::uint16_t kind, Kind k) { return kind == static_cast<std::uint16_t>(k); }

struct SetState {
  std::uint64_t epoch = 0;
  std::vector<PublicKey> stewards;  // sorted
  std::uint32_t threshold = 1;
  Digest hash;
};

struct Candidate {
  record::StewardSet set;
  Digest hash;  // of its canonical content bytes
  std::set<PublicKey> signers;
};

bool validSet(const record::StewardSet& s) {
  if (s.stewards.empty() || s.threshold < 1 || s.threshold > s.stewards.size()) return false;
  std::set<PublicKey> unique(s.stewards.begin(), s.stewards.end());
  return unique.size() == s.stewards.size();
}

bool contains(const std::vector<PublicKey>& sorted, const PublicKey& k) {
  return std::binary_search(sorted.begin(), sorted.end(), k);
}

// One more counting admission by `steward`: its latest expiry, where any
// admission without one (0) means never.
void addExpiry(std::map<PublicKey, std::int64_t>& expiry, const PublicKey& steward, std::int64_t expiresAt) {
  auto [it, inserted] = expiry.try_emplace(steward, expiresAt);
  if (!inserted && it->second != 0) it->second = expiresAt == 0 ? 0 : std::max(it->second, expiresAt);
}

// What the admissions alone make a feed at `asOf`.
MemberState admittedState(const std::map<PublicKey, std::int64_t>& expiry, std::uint32_t k, std::int64_t asOf) {
  std::uint32_t valid = 0;
  for (const auto& [steward, expiresAt] : expiry)
    if (expiresAt == 0 || asOf < expiresAt) ++valid;
  return valid >= k ? MemberState::member : expiry.size() >= k ? MemberState::expired : MemberState::pending;
}

// A revocation overrides what the admissions make a feed: revoked for
// good, or suspended.
void applyRevocations(FeedMembership& m) {
  if (m.revokedAt) m.state = MemberState::revoked;
  else if (m.suspendedAt) m.state = MemberState::suspended;
}

std::string who(const AttestationEntry& e) {
  return e.author.shortHex() + "/" + std::to_string(e.seq);
}

}  // namespace

const char* toString(MemberState s) {
  switch (s) {
    case MemberState::none: return "none";
    case MemberState::pending: return "pending";
    case MemberState::member: return "member";
    case MemberState::expired: return "expired";
    case MemberState::suspended: return "suspended";
    case MemberState::revoked: return "revoked";
  }
  return "unknown";
}

const char* toString(PinState s) {
  switch (s) {
    case PinState::held: return "held";
    case PinState::notYet: return "notYet";
    case PinState::conflict: return "conflict";
  }
  return "unknown";
}

bool isAttestationKind(std::uint16_t kind) {
  return is(kind, Kind::admission) || is(kind, Kind::revocation) || is(kind, Kind::lift) ||
         is(kind, Kind::takedown) || is(kind, Kind::stewardSet);
}

bool MembershipView::isSteward(const PublicKey& feed) const { return contains(stewards, feed); }

record::Verdict MembershipView::judge(const PublicKey& author, std::uint64_t seq,
                                      std::int64_t timestamp) const {
  using record::Verdict;
  if (isSteward(author)) return Verdict::accepted;
  if (auto r = removedStewards.find(author); r != removedStewards.end() && r->second && seq <= *r->second)
    return Verdict::accepted;
  auto f = feeds.find(author);
  if (f == feeds.end()) return Verdict::notMember;
  const FeedMembership& m = f->second;
  if (m.revokedAt && seq > m.revokedAt->seq) return Verdict::revoked;
  if (m.suspendedAt && seq > m.suspendedAt->seq) return Verdict::suspended;
  // Admission is judged at the entry's own timestamp (expiry), never now.
  std::uint32_t valid = 0;
  if (auto a = admissionExpiry.find(author); a != admissionExpiry.end())
    for (const auto& [steward, expiresAt] : a->second)
      if (expiresAt == 0 || timestamp < expiresAt) ++valid;
  return valid >= threshold ? Verdict::accepted : Verdict::notMember;
}

MembershipView computeMembership(const MembershipInput& input) {
  MembershipView view;
  std::vector<const AttestationEntry*> entries;
  for (const auto& e : input.entries)
    if (!e.content.empty()) entries.push_back(&e);
  std::sort(entries.begin(), entries.end(), [](const AttestationEntry* a, const AttestationEntry* b) {
    return std::tie(a->author, a->seq, a->id) < std::tie(b->author, b->seq, b->id);
  });
  std::set<std::string> ignored;
  auto heldAt = [&](const PublicKey& f, std::uint64_t s) -> std::optional<HeldEntry> {
    return input.held ? input.held(f, s) : std::nullopt;
  };

  // 1. The steward set in force: follow the epochs from the genesis.
  SetState cur;
  cur.stewards = input.genesis->stewards;
  std::sort(cur.stewards.begin(), cur.stewards.end());
  cur.threshold = input.genesis->threshold;
  cur.hash = input.genesis->networkId();
  std::map<std::pair<std::uint64_t, Digest>, std::map<Digest, Candidate>> candidates;
  for (const AttestationEntry* e : entries) {
    if (!is(e->kind, Kind::stewardSet)) continue;
    auto s = record::decodeStewardSet(e->content);
    if (!s.ok() || !validSet(*s)) {
      ignored.insert("steward set " + who(*e) + " is malformed or impossible");
      continue;
    }
    Digest h = sha256(e->content);
    auto& c = candidates[{s->epoch, s->previous}][h];
    c.set = *s;
    c.hash = h;
    c.signers.insert(e->author);
  }
  std::map<PublicKey, std::optional<std::uint64_t>> removed;
  for (;;) {
    auto it = candidates.find({cur.epoch + 1, cur.hash});
    if (it == candidates.end()) break;
    const Candidate* chosen = nullptr;
    for (const auto& [hash, c] : it->second) {  // ordered by hash: the lowest wins a tie
      std::uint32_t count = 0;
      for (const auto& s : c.signers) count += contains(cur.stewards, s) ? 1 : 0;
      if (count >= cur.threshold) {
        chosen = &c;
        break;
      }
    }
    if (!chosen) break;
    SetState next;
    next.epoch = cur.epoch + 1;
    next.stewards = chosen->set.stewards;
    std::sort(next.stewards.begin(), next.stewards.end());
    next.threshold = chosen->set.threshold;
    next.hash = chosen->hash;
    for (const auto& old : cur.stewards) {
      if (contains(next.stewards, old)) continue;
      std::optional<std::uint64_t> pin;
      for (const auto& p : chosen->set.pins)
        if (p.author == old) pin = pin ? std::min(*pin, p.seq) : p.seq;
      removed[old] = pin;
    }
    for (const auto& s : next.stewards) removed.erase(s);  // re-added: counts again
    cur = std::move(next);
  }
  view.epoch = cur.epoch;
  view.stewards = cur.stewards;
  view.threshold = cur.threshold;
  view.setHash = cur.hash;
  view.removedStewards = removed;

  // An attestation counts if its author is a steward now, or was one and its
  // feed is pinned at or after the attestation.
  auto counts = [&](const AttestationEntry& e) {
    if (contains(cur.stewards, e.author)) return true;
    auto r = removed.find(e.author);
    return r != removed.end() && r->second && e.seq <= *r->second;
  };
  const std::uint32_t k = cur.threshold;

  // 2. Tally admissions, revocations and lifts, takedowns, retractions.
  struct Tally {
    std::map<PublicKey, std::int64_t> expiry;  // steward -> latest expiry (0 = never)
    std::optional<std::pair<std::pair<std::int64_t, Digest>, record::Admission>> latest;
  };
  std::map<PublicKey, Tally> admissions;
  // feed -> (pinSeq, pinId) -> steward -> revocation refs (a steward may repeat itself)
  std::map<PublicKey, std::map<std::pair<std::uint64_t, Digest>, std::map<PublicKey, std::set<record::EntryRef>>>>
      revocations;
  std::set<record::EntryRef> lifted;  // revocation entries lifted by their own author
  std::map<record::EntryRef, std::set<PublicKey>> takedowns;

  for (const AttestationEntry* ep : entries) {
    const AttestationEntry& e = *ep;
    const record::EntryRef self{e.author, e.seq, e.id};
    if (is(e.kind, Kind::retraction)) {
      auto r = record::decodeRetraction(e.content);
      if (!r.ok()) {
        ignored.insert("retraction " + who(e) + " does not decode");
      } else if (r->target.author != e.author) {
        ignored.insert("retraction " + who(e) + " targets another author's entry");
      } else if (auto h = heldAt(r->target.author, r->target.seq);
                 h && h->id == r->target.id && isAttestationKind(h->kind)) {
        ignored.insert("retraction " + who(e) + " targets an attestation");
      } else {
        view.erased.insert(r->target);
        view.hidden.insert(r->target);
      }
      continue;
    }
    if (!isAttestationKind(e.kind) || is(e.kind, Kind::stewardSet)) continue;
    if (!counts(e)) {
      ignored.insert(record::kindName(e.kind) + " " + who(e) + " is not by a steward: it grants nothing");
      continue;
    }
    if (is(e.kind, Kind::admission)) {
      auto a = record::decodeAdmission(e.content);
      if (!a.ok()) {
        ignored.insert("admission " + who(e) + " does not decode");
        continue;
      }
      Tally& t = admissions[a->feed];
      addExpiry(t.expiry, e.author, a->expiresAt);
      if (!t.latest || std::pair(e.timestamp, e.id) > t.latest->first)
        t.latest.emplace(std::pair(e.timestamp, e.id), std::move(a).value());
    } else if (is(e.kind, Kind::revocation)) {
      auto v = record::decodeRevocation(e.content);
      if (!v.ok()) {
        ignored.insert("revocation " + who(e) + " does not decode");
        continue;
      }
      if (contains(cur.stewards, v->feed)) {
        ignored.insert("revocation " + who(e) + " targets a steward (replace it with a steward set)");
        continue;
      }
      revocations[v->feed][{v->pinSeq, v->pinSeq ? v->pinId : Digest{}}][e.author].insert(self);
    } else if (is(e.kind, Kind::lift)) {
      auto l = record::decodeLift(e.content);
      if (!l.ok()) {
        ignored.insert("lift " + who(e) + " does not decode");
      } else if (l->revocation.author != e.author) {
        ignored.insert("lift " + who(e) + " lifts another steward's revocation");
      } else {
        lifted.insert(l->revocation);
      }
    } else if (is(e.kind, Kind::takedown)) {
      auto t = record::decodeTakedown(e.content);
      if (!t.ok()) {
        ignored.insert("takedown " + who(e) + " does not decode");
      } else if (auto h = heldAt(t->target.author, t->target.seq);
                 h && h->id == t->target.id && isAttestationKind(h->kind)) {
        ignored.insert("takedown " + who(e) + " targets an attestation");
      } else {
        takedowns[t->target].insert(e.author);
      }
    }
  }

  // 3. Admissions: member once k stewards admitted.
  for (auto& [feed, t] : admissions) {
    FeedMembership& m = view.feeds[feed];
    for (const auto& [steward, expiresAt] : t.expiry) m.admittedBy.insert(steward);
    if (t.latest) {
      m.detailsFrom = t.latest->first;
      m.details = std::move(t.latest->second);
    }
    view.admissionExpiry[feed] = t.expiry;
    m.state = admittedState(t.expiry, k, input.asOf);
  }

  // 4. Revocations: k matching (lifted or not) revoke for good; any one
  //    still active suspends at the lowest active pin.
  for (auto& [feed, byPin] : revocations) {
    FeedMembership& m = view.feeds[feed];
    const PublicKey& revokedFeed = feed;  // clang 14 cannot capture a structured binding
    auto pinOf = [&](std::uint64_t seq, const Digest& id) {
      Pin p{seq, id, PinState::held};
      if (seq > 0) {
        auto h = heldAt(revokedFeed, seq);
        p.state = !h ? PinState::notYet : h->id == id ? PinState::held : PinState::conflict;
      }
      return p;
    };
    for (const auto& [pin, bySteward] : byPin) {  // ascending seq: the first final pin is the lowest
      if (bySteward.size() >= k && !m.revokedAt) m.revokedAt = pinOf(pin.first, pin.second);
      for (const auto& [steward, refs] : bySteward) {
        bool active = std::any_of(refs.begin(), refs.end(),
                                  [&](const record::EntryRef& r) { return !lifted.count(r); });
        if (!active) continue;
        m.revokedBy.insert(steward);
        if (!m.suspendedAt || pin.first < m.suspendedAt->seq) m.suspendedAt = pinOf(pin.first, pin.second);
      }
    }
    applyRevocations(m);
  }

  // 5. Takedowns: one hides, k matching erase.
  for (const auto& [target, by] : takedowns) {
    view.hidden.insert(target);
    if (by.size() >= k) view.erased.insert(target);
  }

  // 6. Member nodes: named by the latest profile still standing of a member
  //    feed or a current steward's feed.
  std::map<PublicKey, const AttestationEntry*> latestProfile;
  for (const AttestationEntry* e : entries) {
    if (!is(e->kind, Kind::profile) || view.erased.count(record::EntryRef{e->author, e->seq, e->id})) continue;
    auto& slot = latestProfile[e->author];
    if (!slot || e->seq > slot->seq) slot = e;  // sorted by (author, seq): the last one wins
  }
  for (const auto& [feed, e] : latestProfile) {
    auto profile = record::decodeProfile(e->content);
    if (!profile.ok()) {
      ignored.insert("profile " + who(*e) + " does not decode");
      continue;
    }
    auto m = view.feeds.find(feed);
    bool member = contains(cur.stewards, feed) ||
                  (m != view.feeds.end() && m->second.state == MemberState::member);
    if (member)
      for (const auto& n : profile->nodes) view.memberNodes.insert(n.nodeKey);
    view.profiles[feed] = MembershipView::OwnProfile{record::EntryRef{e->author, e->seq, e->id},
                                                     std::move(profile).value()};
  }

  view.ignored.assign(ignored.begin(), ignored.end());
  return view;
}

std::optional<std::set<PublicKey>> applyAdmissions(MembershipView& view, std::span<const AttestationEntry> added,
                                                   std::int64_t asOf) {
  // Check everything first: the view is changed only if all of it applies.
  std::vector<record::Admission> decoded;
  decoded.reserve(added.size());
  for (const AttestationEntry& e : added) {
    if (!is(e.kind, Kind::admission) || e.content.empty() || !view.isSteward(e.author) ||
        view.hidden.count(record::EntryRef{e.author, e.seq, e.id}))
      return std::nullopt;
    auto a = record::decodeAdmission(e.content);
    if (!a.ok()) return std::nullopt;
    decoded.push_back(std::move(a).value());
  }
  std::set<PublicKey> admitted;
  for (std::size_t i = 0; i < added.size(); ++i) {
    const AttestationEntry& e = added[i];
    record::Admission& a = decoded[i];
    const PublicKey feed = a.feed;
    admitted.insert(feed);
    auto& expiry = view.admissionExpiry[feed];
    addExpiry(expiry, e.author, a.expiresAt);
    FeedMembership& m = view.feeds[feed];
    const bool wasMember = m.state == MemberState::member;
    m.admittedBy.insert(e.author);
    if (!m.details || std::pair(e.timestamp, e.id) > m.detailsFrom) {
      m.detailsFrom = {e.timestamp, e.id};
      m.details = std::move(a);
    }
    // As computeMembership's steps 3 and 4.
    m.state = admittedState(expiry, view.threshold, asOf);
    applyRevocations(m);
    if (!wasMember && m.state == MemberState::member)  // step 6: a member's node
      if (auto p = view.profiles.find(feed); p != view.profiles.end())
        for (const auto& n : p->second.profile.nodes) view.memberNodes.insert(n.nodeKey);
  }
  return admitted;
}

}  // namespace civnet::federation

// The running node's membership view (see membership_tracker.hpp).
#include "membership_tracker.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace civnet::federation {
namespace {

AttestationEntry fromEntry(const record::Entry& e) {
  AttestationEntry a;
  a.author = e.header.author;
  a.seq = e.header.seq;
  a.id = e.id;
  a.timestamp = e.header.timestamp;
  a.kind = e.header.kind;
  if (e.signedEntry.content) a.content = *e.signedEntry.content;
  return a;
}

}  // namespace

bool isMembershipRecord(std::uint16_t kind) {
  return isAttestationKind(kind) || kind == static_cast<std::uint16_t>(record::Kind::retraction) ||
         kind == static_cast<std::uint16_t>(record::Kind::profile);
}

MembershipTracker::MembershipTracker(record::Genesis genesis, const store::Store& store)
    : genesis_(std::move(genesis)), store_(store) {}

Status MembershipTracker::load() {
  std::lock_guard lk(mu_);
  entries_.clear();
  for (auto kind : {record::Kind::admission, record::Kind::revocation, record::Kind::lift,
                    record::Kind::takedown, record::Kind::stewardSet, record::Kind::retraction,
                    record::Kind::profile}) {
    store::Query q;
    q.kind = static_cast<std::uint16_t>(kind);
    q.limit = std::numeric_limits<std::size_t>::max();
    q.includeHidden = true;
    for (const auto& e : store_.list(q)) entries_.push_back(fromEntry(e));
  }
  asOf_ = 0;
  for (const auto& t : store_.tips()) asOf_ = std::max(asOf_, t.timestamp);
  recomputeLocked();
  lastModeration_ = moderationOf(*view_);
  return {};
}

void MembershipTracker::recomputeLocked() {
  MembershipInput in;
  in.genesis = &genesis_;
  in.entries = entries_;  // a view: the records are not copied
  in.asOf = asOf_;
  in.held = [this](const PublicKey& feed, std::uint64_t seq) -> std::optional<HeldEntry> {
    auto e = store_.entryAt(feed, seq);
    if (!e.ok()) return std::nullopt;
    return HeldEntry{e->id, e->header.kind};
  };
  view_ = std::make_shared<const MembershipView>(computeMembership(in));
  nextExpiry_ = std::numeric_limits<std::int64_t>::max();
  for (const auto& [feed, bySteward] : view_->admissionExpiry)
    for (const auto& [steward, expiresAt] : bySteward)
      if (expiresAt > asOf_) nextExpiry_ = std::min(nextExpiry_, expiresAt);
}

void MembershipTracker::setChangeLog(std::function<void(const std::string&)> log) {
  std::lock_guard lk(mu_);
  changeLog_ = std::move(log);
}

std::shared_ptr<const MembershipView> MembershipTracker::view() const {
  std::lock_guard lk(mu_);
  return view_;
}

record::Verdict MembershipTracker::judge(const record::Header& h) {
  return view()->judge(h.author, h.seq, h.timestamp);
}

std::string MembershipTracker::explain(const record::Header& h, record::Verdict v) {
  auto view = this->view();
  auto it = view->feeds.find(h.author);
  const std::string feed = "feed " + h.author.shortHex();
  switch (v) {
    case record::Verdict::notMember: {
      if (it == view->feeds.end() || it->second.admittedBy.empty())
        return "notMember: no steward has admitted " + feed + " (as far as this node knows)";
      const FeedMembership& m = it->second;
      if (m.state == MemberState::expired) return "notMember: the admissions of " + feed + " had expired by then";
      return "notMember: " + feed + " is admitted by " + std::to_string(m.admittedBy.size()) + " of the " +
             std::to_string(view->threshold) + " stewards needed";
    }
    case record::Verdict::suspended:
      if (it != view->feeds.end() && it->second.suspendedAt)
        return "suspended: a steward suspended " + feed + " after seq " + std::to_string(it->second.suspendedAt->seq);
      break;
    case record::Verdict::revoked:
      if (it != view->feeds.end() && it->second.revokedAt)
        return "revoked: the stewards revoked " + feed + " after seq " + std::to_string(it->second.revokedAt->seq);
      break;
    default:
      break;
  }
  return record::toString(v);
}

Status MembershipTracker::mayPublish(const PublicKey& feed, std::int64_t) {
  auto v = view();
  auto it = v->feeds.find(feed);
  if (it == v->feeds.end() || v->isSteward(feed)) return {};
  // An organization not admitted yet may prepare its feed: peers take it
  // once k stewards have admitted it.
  if (it->second.state == MemberState::revoked)
    return refused("organization feed " + feed.shortHex() + " is revoked by the stewards (after seq " +
                   std::to_string(it->second.revokedAt->seq) + "): it can publish no more");
  if (it->second.state == MemberState::suspended)
    return refused("organization feed " + feed.shortHex() + " is suspended by a steward (after seq " +
                   std::to_string(it->second.suspendedAt->seq) +
                   "): publishing is refused until the suspension is lifted");
  return {};
}

std::optional<store::Moderation> MembershipTracker::committed(const std::vector<const record::Entry*>& stored) {
  std::lock_guard lk(mu_);
  const std::size_t firstAdded = entries_.size();
  bool recompute = false;
  for (const record::Entry* e : stored) {
    asOf_ = std::max(asOf_, e->header.timestamp);
    if (isMembershipRecord(e->header.kind)) {
      entries_.push_back(fromEntry(*e));
    } else if (!recompute) {
      // The view also depends on what is held where a pin or a takedown
      // points: recompute when such an entry arrives.
      const record::EntryRef ref{e->header.author, e->header.seq, e->id};
      auto f = view_->feeds.find(e->header.author);
      auto pending = [&](const std::optional<Pin>& p) {
        return p && p->state != PinState::held && p->seq == e->header.seq;
      };
      recompute = view_->hidden.count(ref) > 0 ||
                  (f != view_->feeds.end() && (pending(f->second.suspendedAt) || pending(f->second.revokedAt)));
    }
  }
  // States shown (expired) are judged at the latest timestamp held.
  if (asOf_ >= nextExpiry_) recompute = true;
  const std::span<const AttestationEntry> added(entries_.begin() + static_cast<std::ptrdiff_t>(firstAdded),
                                                entries_.end());
  if (!recompute && added.empty()) return std::nullopt;
  if (!recompute && admittedLocked(added)) return std::nullopt;
  return changedLocked();
}

bool MembershipTracker::admittedLocked(std::span<const AttestationEntry> added) {
  // Admissions alone change no moderation: the view is updated in place
  // (on a copy: readers keep the one they hold), not computed afresh from
  // every record, which made each admission cost O(records held).
  auto next = std::make_shared<MembershipView>(*view_);
  auto admitted = applyAdmissions(*next, added, asOf_);
  if (!admitted) return false;
  for (const PublicKey& feed : *admitted)
    for (const auto& [steward, expiresAt] : next->admissionExpiry.at(feed))
      if (expiresAt > asOf_) nextExpiry_ = std::min(nextExpiry_, expiresAt);
  const std::shared_ptr<const MembershipView> before = std::exchange(view_, std::move(next));
  if (changeLog_)
    for (const PublicKey& feed : *admitted) logFeedChange(*before, *view_, feed);
  return true;
}

std::optional<store::Moderation> MembershipTracker::truncated(const PublicKey& feed, std::uint64_t keptSeq) {
  std::lock_guard lk(mu_);
  // The records past the fork are no longer held: they count no more. (The
  // held() lookups see the truncated store too.)
  std::erase_if(entries_, [&](const AttestationEntry& a) { return a.author == feed && a.seq > keptSeq; });
  return changedLocked();
}

std::optional<store::Moderation> MembershipTracker::changedLocked() {
  const std::shared_ptr<const MembershipView> before = view_;
  recomputeLocked();
  if (changeLog_) logChanges(*before, *view_);
  store::Moderation m = moderationOf(*view_);
  if (m == lastModeration_) return std::nullopt;
  lastModeration_ = m;
  return m;
}

void MembershipTracker::logChanges(const MembershipView& before, const MembershipView& after) const {
  if (after.epoch != before.epoch)
    changeLog_("steward set epoch " + std::to_string(after.epoch) + " is in force: " +
               std::to_string(after.stewards.size()) + " stewards, " + std::to_string(after.threshold) +
               " make an action final");
  for (const auto& [feed, m] : after.feeds) logFeedChange(before, after, feed);
  if (after.hidden.size() != before.hidden.size() || after.erased.size() != before.erased.size())
    changeLog_("moderation: hidden " + std::to_string(after.hidden.size()) + ", erased " +
               std::to_string(after.erased.size()));
}

void MembershipTracker::logFeedChange(const MembershipView& before, const MembershipView& after,
                                      const PublicKey& feed) const {
  auto old = before.feeds.find(feed);
  auto now = after.feeds.find(feed);
  MemberState was = old == before.feeds.end() ? MemberState::none : old->second.state;
  MemberState is = now == after.feeds.end() ? MemberState::none : now->second.state;
  if (was == is) return;
  std::string name = now != after.feeds.end() && now->second.details ? " (\"" + now->second.details->name + "\")" : "";
  changeLog_("feed " + feed.shortHex() + name + ": " + toString(was) + " -> " + toString(is));
}

store::Moderation MembershipTracker::moderation() const {
  std::lock_guard lk(mu_);
  return moderationOf(*view_);
}

store::Moderation MembershipTracker::moderationOf(const MembershipView& v) {
  store::Moderation m;
  m.hidden = v.hidden;
  m.erased = v.erased;
  for (const auto& [feed, fm] : v.feeds) {
    if (fm.revokedAt) {
      // A pin on another branch than the one held cannot say where to cut:
      // it is reported (status), and nothing is purged.
      if (fm.revokedAt->state != PinState::conflict) m.purgeAfter[feed] = fm.revokedAt->seq;
    } else if (fm.suspendedAt) {
      m.holdAfter[feed] = fm.suspendedAt->seq;
    }
  }
  return m;
}

}  // namespace civnet::federation

// Keeps the membership view of a running node current, and enforces it on
// the store as its IngestPolicy: entries of feeds that are not members, or
// past a suspension or revocation pin, are refused at ingest; a suspended or
// revoked organization cannot publish.
//
// The view is recomputed (computeMembership) whenever a batch stores an
// attestation or a retraction, except for a batch of stewards' admissions
// alone, the common case, which is applied in place (applyAdmissions). Threads: judge(), mayPublish() and
// committed() run on the store's writer thread; view() may be called from
// any thread. One mutex guards the records and the current view.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <mutex>
#include <span>
#include <vector>

#include "federation/membership.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"

namespace civnet::federation {

class MembershipTracker final : public store::IngestPolicy {
 public:
  // REQUIRES: `genesis` is complete; `store` outlives the tracker.
  MembershipTracker(record::Genesis genesis, const store::Store& store);

  // Reads the attestations and retractions the store holds and computes the
  // first view. Call once, before store.setPolicy(this).
  Status load();

  std::shared_ptr<const MembershipView> view() const;
  // Called with one line per change of the view (a steward set taking
  // effect, a feed changing state, entries hidden or erased), on the
  // store's writer thread.
  void setChangeLog(std::function<void(const std::string&)> log);
  // What the current view says must be hidden, erased and purged. After
  // load(), hand it to store.applyModeration() once; later changes reach
  // the store through committed().
  store::Moderation moderation() const;

  record::Verdict judge(const record::Header& h) override;
  std::string explain(const record::Header& h, record::Verdict v) override;
  Status mayPublish(const PublicKey& feed, std::int64_t timestamp) override;
  std::optional<store::Moderation> committed(const std::vector<const record::Entry*>& stored) override;
  std::optional<store::Moderation> truncated(const PublicKey& feed, std::uint64_t keptSeq) override;

 private:
  void recomputeLocked();
  // Recomputes, logs what changed, and returns the moderation if it changed.
  std::optional<store::Moderation> changedLocked();
  // Applies admissions in place if that is all `added` is (true), else false.
  bool admittedLocked(std::span<const AttestationEntry> added);
  void logChanges(const MembershipView& before, const MembershipView& after) const;
  void logFeedChange(const MembershipView& before, const MembershipView& after, const PublicKey& feed) const;
  static store::Moderation moderationOf(const MembershipView& v);

  const record::Genesis genesis_;
  const store::Store& store_;
  mutable std::mutex mu_;
  std::vector<AttestationEntry> entries_;        // guarded by mu_
  std::int64_t asOf_ = 0;                         // guarded by mu_
  std::int64_t nextExpiry_ = 0;                   // guarded by mu_: recompute once asOf_ reaches it
  std::shared_ptr<const MembershipView> view_;    // guarded by mu_
  store::Moderation lastModeration_;              // guarded by mu_
  std::function<void(const std::string&)> changeLog_;  // guarded by mu_
};

// True for the kinds the membership view is computed from.
bool isMembershipRecord(std::uint16_t kind);

}  // namespace civnet::federation

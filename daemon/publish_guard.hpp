// The pause on publishing that follows a restore.
//
// A node restored from a backup holds its own feeds only up to the backup,
// while its peers may hold entries it published after it. Publishing then
// would put a second entry at a seq the network already holds: a fork, and a
// fork freezes the feed for good. So a restored node publishes to none of its
// feeds until a peer has confirmed their tips (a peer it is in sync with:
// sync first brings the entries this node lacks, its own included), or until
// the sysadmin lifts the pause (`civnetctl resume-publishing`), knowing that
// nothing was published after the backup.
//
// The pause lives in the store's meta table (kMetaPublishPaused), so it
// survives a restart. The guard wraps the store's ingest policy (the
// membership tracker): publishing is refused while paused; everything else
// is the inner policy's.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "store/store.hpp"

namespace spdlog { class logger; }

namespace civnet::daemon {

class PublishGuard final : public store::IngestPolicy {
 public:
  // Reads the pause from `store`. REQUIRES: `inner` and `store` outlive it.
  PublishGuard(store::IngestPolicy& inner, store::Store& store, std::shared_ptr<spdlog::logger> log);
  ~PublishGuard() override;  // stop()
  PublishGuard(const PublishGuard&) = delete;
  PublishGuard& operator=(const PublishGuard&) = delete;

  // While paused, asks `confirmingPeer` every second which peer (if any) is
  // in sync with this node, and lifts the pause the first time one is.
  void watch(std::function<std::optional<std::string>()> confirmingPeer);
  void stop();

  // Why publishing is paused, while it is.
  std::optional<std::string> paused() const;
  // Lifts the pause (kept in the store first); `by` says who, for the log.
  Status resume(const std::string& by);

  record::Verdict judge(const record::Header& h) override { return inner_.judge(h); }
  std::string explain(const record::Header& h, record::Verdict v) override { return inner_.explain(h, v); }
  Status mayPublish(const PublicKey& feed, std::int64_t timestamp) override;
  std::optional<store::Moderation> committed(const std::vector<const record::Entry*>& stored) override {
    return inner_.committed(stored);
  }
  std::optional<store::Moderation> truncated(const PublicKey& feed, std::uint64_t keptSeq) override {
    return inner_.truncated(feed, keptSeq);
  }

 private:
  store::IngestPolicy& inner_;
  store::Store& store_;
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> paused_;  // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::thread watcher_;
};

}  // namespace civnet::daemon

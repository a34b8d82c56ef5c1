// The pause on publishing after a restore (see publish_guard.hpp).
#include "daemon/publish_guard.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include "daemon/data_dir.hpp"

namespace civnet::daemon {

PublishGuard::PublishGuard(store::IngestPolicy& inner, store::Store& store, std::shared_ptr<spdlog::logger> log)
    : inner_(inner), store_(store), log_(std::move(log)) {
  if (auto why = store_.getMeta(kMetaPublishPaused); why && !why->empty()) paused_ = *why;
}

PublishGuard::~PublishGuard() { stop(); }

void PublishGuard::watch(std::function<std::optional<std::string>()> confirmingPeer) {
  std::unique_lock lk(mu_);
  if (!paused_ || watcher_.joinable()) return;
  log_->warn("publishing is paused: this node was {}; it publishes again once a peer it is in sync with has "
             "confirmed its feeds' tips (or after: civnetctl resume-publishing --force)",
             *paused_);
  watcher_ = std::thread([this, confirmingPeer = std::move(confirmingPeer)] {
    std::unique_lock lk(mu_);
    while (!stopping_ && paused_) {
      cv_.wait_for(lk, std::chrono::seconds(1));
      if (stopping_ || !paused_) break;
      lk.unlock();
      auto peer = confirmingPeer();
      if (peer) {
        if (auto s = resume("peer " + *peer + ", in sync with this node, confirmed its feeds' tips"); !s.ok())
          log_->error("could not lift the pause on publishing: {}", s.message());
      }
      lk.lock();
    }
  });
}

void PublishGuard::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) watcher_.join();
}

std::optional<std::string> PublishGuard::paused() const {
  std::lock_guard lk(mu_);
  return paused_;
}

Status PublishGuard::resume(const std::string& by) {
  {
    std::lock_guard lk(mu_);
    if (!paused_) return {};
  }
  // Kept first: a restart after this must not pause again, and a failure to
  // keep it must leave the pause in force.
  if (auto s = store_.putMeta(kMetaPublishPaused, ""); !s.ok()) return s;
  {
    std::lock_guard lk(mu_);
    if (!paused_) return {};
    paused_.reset();
  }
  cv_.notify_all();
  log_->warn("publishing resumed: {}", by);
  return {};
}

Status PublishGuard::mayPublish(const PublicKey& feed, std::int64_t timestamp) {
  {
    std::lock_guard lk(mu_);
    if (paused_)
      return refused("publishing is paused: this node was " + *paused_ +
                     ", and publishes again once a peer has confirmed its feeds' tips (connect it to a peer; if "
                     "nothing was published after the backup, the sysadmin may run: civnetctl resume-publishing --force)");
  }
  return inner_.mayPublish(feed, timestamp);
}

}  // namespace civnet::daemon

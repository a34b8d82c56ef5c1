// Room for the store: [store] max_size_mib and min_free_disk_mib.
//
// Checked every few seconds (and at once after a reload). Past either limit
// the store takes no content from peers (store::Store::setContentPaused):
// headers still sync, so every chain stays whole and the node stays in step
// with its peers, but what entries say waits. Once there is room again, with
// a margin of 5% of the limit so that it does not flap, the pause ends and
// the sync sessions ask for the content that is missing. The node's own
// publishes are not held back (they are small, and they are its purpose).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace spdlog { class logger; }
namespace civnet::store { class Store; }

namespace civnet::daemon {

// The store's size on disk, and the disk where the data dir is.
struct SpaceUse {
  std::uint64_t storeBytes = 0;
  bool diskKnown = false;  // statvfs answered
  std::uint64_t freeBytes = 0;   // for unprivileged users
  std::uint64_t totalBytes = 0;
};
SpaceUse measureSpace(const std::filesystem::path& storeDir, const std::filesystem::path& dataDir);

class SpaceWatch {
 public:
  struct Limits {
    std::uint64_t maxStoreBytes = 0;  // 0: none
    std::uint64_t minFreeBytes = 0;   // 0: none
  };
  // REQUIRES: `store` outlives this object.
  SpaceWatch(store::Store& store, std::filesystem::path storeDir, std::filesystem::path dataDir, Limits limits,
             std::shared_ptr<spdlog::logger> log);
  ~SpaceWatch();  // stop()
  SpaceWatch(const SpaceWatch&) = delete;
  SpaceWatch& operator=(const SpaceWatch&) = delete;

  // Checks now, then every `interval` on its own thread.
  void start(std::chrono::milliseconds interval = std::chrono::seconds(5));
  void stop();
  // New limits (a reload); checked at once.
  void setLimits(Limits limits);

  // Why the store takes no replicated content now, while it does not.
  std::optional<std::string> paused() const;
  // As last measured (at most a check interval ago).
  SpaceUse last() const;

 private:
  void check();
  store::Store& store_;
  const std::filesystem::path storeDir_, dataDir_;
  std::shared_ptr<spdlog::logger> log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Limits limits_;                      // guarded by mu_
  std::optional<std::string> paused_;  // guarded by mu_
  SpaceUse last_;                      // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  bool checkSoon_ = false;             // guarded by mu_
  std::thread thread_;
};

}  // namespace civnet::daemon

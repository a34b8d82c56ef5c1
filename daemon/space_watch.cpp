// Room for the store (see space_watch.hpp).
#include "daemon/space_watch.hpp"

#include <sys/statvfs.h>

#include <spdlog/spdlog.h>

#include "store/store.hpp"

namespace civnet::daemon {
namespace fs = std::filesystem;

namespace {

std::uint64_t directoryBytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code sizeEc;
    if (it->is_regular_file(sizeEc)) {
      const auto n = it->file_size(sizeEc);
      if (!sizeEc) total += n;
    }
  }
  return total;
}

std::string mib(std::uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

SpaceUse measureSpace(const fs::path& storeDir, const fs::path& dataDir) {
  SpaceUse u;
  u.storeBytes = directoryBytes(storeDir);
  struct statvfs st {};
  if (::statvfs(dataDir.c_str(), &st) == 0 && st.f_blocks > 0) {
    u.diskKnown = true;
    u.freeBytes = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    u.totalBytes = static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize;
  }
  return u;
}

SpaceWatch::SpaceWatch(store::Store& store, fs::path storeDir, fs::path dataDir, Limits limits,
                       std::shared_ptr<spdlog::logger> log)
    : store_(store), storeDir_(std::move(storeDir)), dataDir_(std::move(dataDir)), log_(std::move(log)),
      limits_(limits) {}

SpaceWatch::~SpaceWatch() { stop(); }

void SpaceWatch::start(std::chrono::milliseconds interval) {
  check();
  thread_ = std::thread([this, interval] {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      cv_.wait_for(lk, interval, [&] { return stopping_ || checkSoon_; });
      if (stopping_) break;
      checkSoon_ = false;
      lk.unlock();
      check();
      lk.lock();
    }
  });
}

void SpaceWatch::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpaceWatch::setLimits(Limits limits) {
  {
    std::lock_guard lk(mu_);
    limits_ = limits;
    checkSoon_ = true;
  }
  cv_.notify_all();
}

void SpaceWatch::check() {
  const SpaceUse u = measureSpace(storeDir_, dataDir_);
  const std::uint64_t used = u.storeBytes, free = u.freeBytes;
  const bool known = u.diskKnown;

  std::lock_guard lk(mu_);
  last_ = u;
  const Limits l = limits_;
  // Paused past a limit; resumed only with 5% of it to spare.
  const bool wasPaused = paused_.has_value();
  auto over = [&](std::uint64_t limit) { return wasPaused ? limit - limit / 20 : limit; };
  auto under = [&](std::uint64_t limit) { return wasPaused ? limit + limit / 20 : limit; };
  std::optional<std::string> why;
  if (l.maxStoreBytes > 0 && used > over(l.maxStoreBytes))
    why = "the store holds " + mib(used) + ", " + (used > l.maxStoreBytes ? "over" : "near") +
          " [store] max_size_mib = " + std::to_string(l.maxStoreBytes >> 20);
  else if (l.minFreeBytes > 0 && known && free < under(l.minFreeBytes))
    why = mib(free) + " free where " + dataDir_.string() + " is, " + (free < l.minFreeBytes ? "under" : "near") +
          " [store] min_free_disk_mib = " + std::to_string(l.minFreeBytes >> 20);
  if (why && !wasPaused)
    log_->warn("no room for more content: {}. Entries from peers are taken without their content until there is "
               "room (headers still sync)",
               *why);
  else if (!why && wasPaused)
    log_->info("room again for content ({} store, {} free): asking peers for the content held back", mib(used),
               mib(free));
  if (why.has_value() != wasPaused) store_.setContentPaused(why.has_value());
  paused_ = why;
}

std::optional<std::string> SpaceWatch::paused() const {
  std::lock_guard lk(mu_);
  return paused_;
}

SpaceUse SpaceWatch::last() const {
  std::lock_guard lk(mu_);
  return last_;
}

}  // namespace civnet::daemon

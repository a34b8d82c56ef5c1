// Benchmark 2 of docs/performance.md: publish. C concurrent clients publish
// N posts in all through the admin API of a running civnetd (its Unix
// socket, each client on one kept-open connection); civnetd
// acknowledges each only after the synced write that holds it, and many
// publishes share one synced write (group commit). Reports acknowledged
// publishes/s, and the synced writes they took (from /metrics, before and
// after). Prints one JSON object.
//
//   bench_publish --socket PATH [--clients C] [--publishes N] [--bytes B]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tools/admin_client.hpp"
#include "tools/bench/bench_common.hpp"

namespace {

using namespace civnet;
using Clock = std::chrono::steady_clock;

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_publish: " << why
            << "\nusage: bench_publish --socket PATH [--clients C] [--publishes N] [--bytes B]\n";
  std::exit(2);
}

[[noreturn]] void fail(const std::string& why) {
  std::cerr << "bench_publish: " << why << "\n";
  std::exit(1);
}

// civnet_store_synced_writes_total from the node's metrics.
std::uint64_t syncedWrites(const tools::AdminClient& client) {
  auto r = client.request("GET", "/metrics");
  if (!r.ok()) fail("reading metrics: " + r.status().message());
  const std::string name = "\ncivnet_store_synced_writes_total ";
  auto at = r->body.find(name);
  if (at == std::string::npos) fail("the node's metrics have no civnet_store_synced_writes_total");
  return std::stoull(r->body.substr(at + name.size()));
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket;
  std::size_t clients = 16, publishes = 20000, bytes = 400;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(k + " needs a value");
    std::string v = argv[++i];
    if (k == "--socket") {
      socket = v;
      continue;
    }
    auto n = bench::positive(v);
    if (!n) usage(k + " must be a positive number, got \"" + v + "\"");
    if (k == "--clients") clients = *n;
    else if (k == "--publishes") publishes = *n;
    else if (k == "--bytes") bytes = *n;
    else usage("unknown argument " + k);
  }
  if (socket.empty()) usage("--socket is required");

  const tools::AdminClient client(socket, std::chrono::seconds(30));
  // A body of plain words, JSON-safe as it is.
  std::string text;
  while (text.size() < bytes) text += "notes from the field on water points and training ";
  text.resize(bytes);

  const std::uint64_t writesBefore = syncedWrites(client);
  std::atomic<std::size_t> next{0}, acknowledged{0};
  std::mutex errMu;
  std::string firstError;
  auto work = [&] {
    tools::AdminSession session(socket, std::chrono::seconds(30));
    for (std::size_t i; (i = next.fetch_add(1)) < publishes;) {
      const std::string body = "{\"title\":\"Bench post " + std::to_string(i) + "\",\"body\":\"" + text + "\"}";
      auto r = session.request("POST", "/v1/publish", body);
      if (r.ok() && r->status == 201) {
        ++acknowledged;
        continue;
      }
      std::lock_guard lk(errMu);
      if (firstError.empty())
        firstError = r.ok() ? "HTTP " + std::to_string(r->status) + ": " + r->body : r.status().message();
      next = publishes;  // stop every client
    }
  };
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (std::size_t c = 0; c < clients; ++c) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!firstError.empty()) fail("a publish failed: " + firstError);
  const std::uint64_t writes = syncedWrites(client) - writesBefore;

  std::printf(
      "{\"benchmark\":\"publish\",\"clients\":%zu,\"publishes\":%zu,\"per_s\":%.0f,\"synced_writes\":%llu,"
      "\"per_synced_write\":%.1f}\n",
      clients, acknowledged.load(), static_cast<double>(acknowledged.load()) / seconds,
      static_cast<unsigned long long>(writes),
      writes ? static_cast<double>(acknowledged.load()) / static_cast<double>(writes) : 0.0);
  return 0;
}

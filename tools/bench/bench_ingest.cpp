// Benchmark 1 of docs/performance.md: ingest. N entries of about B bytes in
// F feeds, made and signed first (not timed), then stored through
// store::Store::ingest (verified by the chain rule, written by the writer
// thread, indexed) in runs like those peers send. In the same process and
// run it measures the machine's own limits (tools/bench/bench_common.hpp),
// so the result holds as a ratio from one machine to the next. Prints one
// line naming its figures; --json prints them as one JSON object instead.
// With --each-signature it also ingests the same entries into a second
// store with every entry's signature checked first, on the same thread, as
// a store without the chain rule would have to: the rate the chain rule is
// compared with.
//
//   bench_ingest [--entries N] [--feeds F] [--bytes B] [--dir DIR] [--each-signature] [--json]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "tools/bench/bench_common.hpp"

namespace {

using namespace civnet;
using Clock = std::chrono::steady_clock;

struct Args {
  std::size_t entries = 100000;
  std::size_t feeds = 300;
  std::size_t bytes = 600;  // an entry's own bytes: header + signature + content, about
  std::filesystem::path dir;
  bool eachSignature = false;
  bool json = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_ingest: " << why
            << "\nusage: bench_ingest [--entries N] [--feeds F] [--bytes B] [--dir DIR] [--each-signature] [--json]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> std::size_t {
      std::string v = value();
      auto n = bench::positive(v);
      if (!n) usage(k + " must be a positive number, got \"" + v + "\"");
      return *n;
    };
    if (k == "--entries") a.entries = number();
    else if (k == "--feeds") a.feeds = number();
    else if (k == "--bytes") a.bytes = number();
    else if (k == "--dir") a.dir = value();
    else if (k == "--json") a.json = true;
    else if (k == "--each-signature") a.eachSignature = true;
    else usage("unknown argument " + k);
  }
  if (a.feeds > a.entries) usage("--feeds must not exceed --entries");
  if (a.bytes < 200) usage("--bytes must be at least 200 (a header and a signature take about 170)");
  return a;
}

// User and system CPU time of every thread of this process (LevelDB's
// compaction thread too), in seconds.
double cpuSeconds() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

[[noreturn]] void fail(const std::string& why) {
  std::cerr << "bench_ingest: " << why << "\n";
  std::exit(1);
}

// One timed ingest of every entry of `feeds` into a new store at `dir`.
struct Timed {
  double rate = 0;       // entries stored per second
  double coresBusy = 0;  // this process's CPU time over the ingest's wall time
  std::uint64_t storeBytes = 0;
};
Timed ingestAll(const Digest& network, const bench::Feeds& feeds, const std::filesystem::path& dir,
                bool checkEachSignature, std::size_t expected) {
  auto runs = bench::runsInTurn(feeds, 256 * 1024);
  store::Options so;
  so.createIfMissing = true;
  auto opened = store::Store::open(dir, so);
  if (!opened.ok()) fail(opened.status().message());
  auto st = std::move(opened).value();
  if (auto s = st->setNetwork(network); !s.ok()) fail(s.message());
  Timed t;
  std::size_t stored = 0;
  const double cpuBefore = cpuSeconds();
  const auto start = Clock::now();
  for (auto& run : runs) {
    if (checkEachSignature)
      for (const auto& se : run) {
        record::Entry e;
        if (!record::parseEntry(se, e).ok() || !record::verifySignature(e)) fail("an entry's signature did not verify");
      }
    auto r = st->ingest(std::move(run));
    if (r.verdict != record::Verdict::accepted)
      fail(std::string("ingest refused a run: ") + record::toString(r.verdict) + ": " + r.detail);
    stored += r.stored;
  }
  (void)st->indexedPosition();  // the indexer has passed every entry
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  t.rate = static_cast<double>(stored) / wall;
  t.coresBusy = (cpuSeconds() - cpuBefore) / wall;
  if (stored != expected || st->counts().entries != expected)
    fail("stored " + std::to_string(stored) + " of " + std::to_string(expected) + " entries");
  st.reset();
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec))
    if (f.is_regular_file(ec)) t.storeBytes += f.file_size(ec);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::optional<bench::TempDir> temp;
  std::filesystem::path dir = args.dir;
  if (dir.empty()) dir = temp.emplace().path();

  const Digest network = sha256(asBytes("civnet bench network"));
  const auto feeds = bench::makeFeeds(network, args.entries, args.feeds, args.bytes, 1'700'000'000'000);

  const double verifyRate = bench::ed25519VerifyRate(feeds);
  if (verifyRate == 0) fail("a signature did not verify");
  auto put = bench::levelDbPutRate(feeds, dir / "raw");
  if (!put.ok()) fail(put.status().message());
  const double putRate = *put;

  // The store's ingest, as peers' runs arrive (already decoded): one run
  // per feed at a time, at most 256 KiB each (NetworkOptions::maxRunBytes).
  const Timed chained = ingestAll(network, feeds, dir / "store", false, args.entries);
  // The same entries with every signature checked, into a store of its own.
  std::optional<Timed> each;
  if (args.eachSignature) each = ingestAll(network, feeds, dir / "store-each", true, args.entries);

  const double avg = static_cast<double>(feeds.ownBytes) / static_cast<double>(args.entries);
  const double storeRatio = static_cast<double>(chained.storeBytes) / static_cast<double>(feeds.ownBytes);
  if (args.json) {
    std::printf(
        "{\"benchmark\":\"ingest\",\"entries\":%zu,\"feeds\":%zu,\"entry_bytes\":%.0f,\"entries_per_s\":%.0f,"
        "\"verify_per_s\":%.0f,\"put_per_s\":%.0f,\"store_ratio\":%.3f,\"cores_busy\":%.2f",
        args.entries, args.feeds, avg, chained.rate, verifyRate, putRate, storeRatio, chained.coresBusy);
    if (each) std::printf(",\"each_signature_per_s\":%.0f", each->rate);
    std::printf("}\n");
  } else {
    std::printf(
        "ingest: %zu entries in %zu feeds, %.0f B each: %.0f entries/s stored; ed25519 verify (1 core) %.0f/s: "
        "%.2fx; leveldb batched put %.0f/s: %.2fx; store %.2fx the entries' own bytes; %.2f cores busy",
        args.entries, args.feeds, avg, chained.rate, verifyRate, chained.rate / verifyRate, putRate, chained.rate / putRate,
        storeRatio, chained.coresBusy);
    if (each) std::printf("; with every signature checked first %.0f entries/s (%.1fx slower)", each->rate,
                          chained.rate / each->rate);
    std::printf("\n");
  }
  return 0;
}

// What the store's row layout costs, apart from everything else ingest does
// (docs/performance.md, "The store layout"): LevelDB's batched put rate for
// N entries of about B bytes from F feeds, written as ingest writes them (a
// WriteBatch per run of about 256 KiB, the feeds in turn), with each entry
// stored as
//
//   1 row:  the entry with its content (LevelDB's own pace: the ceiling);
//   3 rows: the entry with its content, its id, its place among threads;
//   8 rows: today's layout (store/keys.hpp): entry, content, id, arrival
//           log, by-time, by-kind and thread index rows, and a tip per run.
//
// Keys and values have the store's shapes and sizes; their bytes are made
// up (nothing is signed: this measures LevelDB, not the entries). Prints
// one line per layout, or one JSON object with --json.
//
//   bench_layout [--entries N] [--feeds F] [--bytes B] [--json]
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "tools/bench/bench_common.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& why) {
  std::cerr << "bench_layout: " << why << "\n";
  std::exit(1);
}

void putBig(std::string& s, std::uint64_t v, int bytes) {
  for (int b = bytes - 1; b >= 0; --b) s.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

// Entries per second for `rows` rows per entry (1, 3 or 8), into a fresh
// database under `dir`.
double putRate(int rows, std::size_t entries, std::size_t feeds, std::size_t bytes,
               const std::filesystem::path& dir) {
  auto opened = civnet::bench::openLevelDb(dir / std::to_string(rows));
  if (!opened.ok()) fail(opened.status().message());
  std::unique_ptr<leveldb::DB> db = std::move(opened).value();

  std::mt19937_64 rng(rows);
  auto random = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  std::vector<std::string> authors;
  for (std::size_t f = 0; f < feeds; ++f) authors.push_back(random(32));
  // Header, signature, id and content at the store's sizes; content is text.
  const std::size_t headerBytes = 150, contentBytes = bytes > headerBytes + 96 ? bytes - headerBytes - 96 : 64;
  const std::string header(headerBytes, 'h'), signature = random(64);
  std::string content(contentBytes, ' ');
  for (auto& c : content) c = "etaoin shrdlu cmfwyp"[rng() % 20];

  const std::size_t perRun = std::max<std::size_t>(1, 256 * 1024 / bytes);
  std::vector<std::uint64_t> seq(feeds, 0);
  std::uint64_t logPos = 0;
  std::int64_t time = 1'700'000'000'000;
  std::size_t n = 0;
  const auto start = Clock::now();
  while (n < entries) {
    for (std::size_t f = 0; f < feeds && n < entries; ++f) {
      leveldb::WriteBatch batch;
      for (std::size_t r = 0; r < perRun && n < entries; ++r, ++n) {
        const std::uint64_t s = ++seq[f];
        ++time;
        const std::string id = random(32);
        std::string entryKey = "e" + authors[f];
        putBig(entryKey, s, 8);
        if (rows == 1) {
          batch.Put(entryKey, id + signature + header + content);
          continue;
        }
        std::string idKey = "h" + id, position = authors[f];
        putBig(position, s, 8);
        std::string threadKey = "ip";
        putBig(threadKey, static_cast<std::uint64_t>(time), 8);
        threadKey += position;
        if (rows == 3) {
          batch.Put(entryKey, id + signature + header + content);
          batch.Put(idKey, position);
          batch.Put(threadKey, "");
          continue;
        }
        std::string contentKey = "c" + position, logKey = "l", timeKey = "it", kindKey = "ik";
        putBig(logKey, ++logPos, 8);
        putBig(timeKey, static_cast<std::uint64_t>(time), 8);
        timeKey += position;
        putBig(kindKey, 1, 2);
        putBig(kindKey, static_cast<std::uint64_t>(time), 8);
        kindKey += position;
        batch.Put(entryKey, id + signature + header);
        batch.Put(contentKey, content);
        batch.Put(idKey, position);
        batch.Put(logKey, position + id);
        batch.Put(timeKey, "");
        batch.Put(kindKey, "");
        batch.Put(threadKey, "");
      }
      if (rows == 8) batch.Put("t" + authors[f], std::string(49, 't'));
      if (auto st = db->Write({}, &batch); !st.ok()) fail("LevelDB write: " + st.ToString());
    }
  }
  return static_cast<double>(entries) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace civnet;
  bool json = false;
  const auto [entries, feeds, bytes] = bench::parseShape(argc, argv, "bench_layout", &json);
  bench::TempDir dir;
  const double one = putRate(1, entries, feeds, bytes, dir.path());
  const double three = putRate(3, entries, feeds, bytes, dir.path());
  const double eight = putRate(8, entries, feeds, bytes, dir.path());
  if (json) {
    std::printf("{\"entries\":%zu,\"feeds\":%zu,\"bytes\":%zu,\"rows1_per_s\":%.0f,\"rows3_per_s\":%.0f,"
                "\"rows8_per_s\":%.0f}\n",
                entries, feeds, bytes, one, three, eight);
  } else {
    std::printf("layout: %zu entries in %zu feeds, %zu B each: 1 row %.0f entries/s, 3 rows %.0f/s (%.2fx), "
                "8 rows (today's) %.0f/s (%.2fx)\n",
                entries, feeds, bytes, one, three, three / one, eight, eight / one);
  }
}

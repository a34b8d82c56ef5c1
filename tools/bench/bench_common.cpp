#include "tools/bench/bench_common.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "schemas/content.hpp"
#include "store/store.hpp"

namespace civnet::bench {
namespace {

using Clock = std::chrono::steady_clock;

double perSecond(std::size_t n, Clock::duration d) {
  return static_cast<double>(n) / std::chrono::duration<double>(d).count();
}

// A post's body of about n bytes: words drawn from a vocabulary of a few
// thousand (common ones often, rare ones seldom, as in real text), so a
// search matches some posts, not all, and compression sees text.
std::string body(std::size_t n, std::uint64_t seed) {
  static const std::vector<std::string> vocabulary = [] {
    const char* stems[] = {"water", "health", "clinic", "youth", "women", "training", "savings", "rights",
                           "school", "farm", "harvest", "market", "report", "survey", "outreach", "shelter",
                           "legal", "radio", "budget", "meeting", "volunteer", "district", "village", "loan",
                           "seed", "well", "latrine", "vaccine", "mentor", "court", "forum", "network"};
    const char* ends[] = {"", "s", "ing", "ed", "er", "ers", "al", "ity", "ment", "ship", "ward", "hood"};
    std::vector<std::string> v;
    for (const char* s : stems)
      for (const char* e : ends)
        for (int k = 0; k < 8; ++k) v.push_back(std::string(s) + e + (k ? std::to_string(k) : ""));
    return v;
  }();
  std::string b;
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  while (b.size() < n) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift
    // Skewed: the square of a uniform draw favours the start of the list.
    const double u = static_cast<double>(x % 1000000) / 1000000.0;
    b += vocabulary[static_cast<std::size_t>(u * u * static_cast<double>(vocabulary.size()))];
    b += ' ';
  }
  b.resize(n);
  return b;
}

}  // namespace

std::size_t Feeds::entries() const {
  std::size_t n = 0;
  for (const auto& c : chains) n += c.size();
  return n;
}

Feeds makeFeeds(const Digest& network, std::size_t entries, std::size_t feeds, std::size_t bytes,
                std::int64_t firstMs) {
  Feeds f;
  for (std::size_t i = 0; i < feeds; ++i) f.keys.push_back(PrivateKey::generate());
  f.chains.resize(feeds);
  // The body that brings header + signature + content to about `bytes`:
  // what an entry with an empty body takes, measured.
  record::Post probe;
  probe.title = "Field report 000000";
  record::Header ph;
  ph.network = network;
  ph.seq = 2;
  ph.timestamp = firstMs;
  ph.kind = static_cast<std::uint16_t>(record::Kind::post);
  const auto pe = record::makeEntry(f.keys[0], ph, record::encodePost(probe));
  const std::size_t overhead = pe.signedEntry.header.size() + 64 + pe.signedEntry.content->size() + 8;
  const std::size_t bodyBytes = bytes > overhead ? bytes - overhead : 1;

  // Headers are made in order (each links to the one before); signing is
  // the slow part, so each thread takes whole feeds.
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  auto work = [&](std::size_t t) {
    for (std::size_t fi = t; fi < feeds; fi += threads) {
      auto& chain = f.chains[fi];
      for (std::size_t i = fi; i < entries; i += feeds) {
        record::Header h;
        h.network = network;
        h.seq = chain.size() + 1;
        h.prev = chain.empty() ? Digest{} : chain.back().id;
        h.timestamp = firstMs + static_cast<std::int64_t>(i);
        h.kind = static_cast<std::uint16_t>(record::Kind::post);
        record::Post p;
        p.title = "Field report " + std::to_string(i);
        p.body = body(bodyBytes, i);
        chain.push_back(record::makeEntry(f.keys[fi], h, record::encodePost(p)));
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work, t);
  for (auto& th : pool) th.join();
  for (const auto& chain : f.chains)
    for (const auto& e : chain)
      f.ownBytes += e.signedEntry.header.size() + e.signedEntry.signature.bytes.size() +
                    (e.signedEntry.content ? e.signedEntry.content->size() : 0);
  return f;
}

std::vector<std::vector<record::SignedEntry>> runsInTurn(const Feeds& f, std::size_t maxRunBytes) {
  std::vector<std::vector<record::SignedEntry>> runs;
  std::vector<std::size_t> next(f.chains.size(), 0);
  for (bool more = true; more;) {
    more = false;
    for (std::size_t fi = 0; fi < f.chains.size(); ++fi) {
      const auto& chain = f.chains[fi];
      if (next[fi] >= chain.size()) continue;
      std::vector<record::SignedEntry> run;
      std::size_t bytes = 0;
      while (next[fi] < chain.size() && (run.empty() || bytes < maxRunBytes)) {
        const auto& se = chain[next[fi]++].signedEntry;
        bytes += se.header.size() + 64 + (se.content ? se.content->size() : 0);
        run.push_back(se);
      }
      runs.push_back(std::move(run));
      more = more || next[fi] < chain.size();
    }
  }
  return runs;
}

double ed25519VerifyRate(const Feeds& f) {
  // A rate: 20,000 verifies take a few seconds and say as much as a
  // million would.
  constexpr std::size_t kSample = 20000;
  std::size_t ok = 0, n = 0;
  const auto start = Clock::now();
  for (const auto& chain : f.chains)
    for (const auto& e : chain) {
      if (n == kSample) break;
      ok += record::verifySignature(e);
      ++n;
    }
  const auto took = Clock::now() - start;
  return ok == n ? perSecond(n, took) : 0;
}

Result<std::unique_ptr<leveldb::DB>> openLevelDb(const std::filesystem::path& dir) {
  leveldb::Options lo;
  lo.create_if_missing = true;
  lo.error_if_exists = true;
  // The store's own memtable, table and block sizes.
  lo.write_buffer_size = store::TableSizes::memtableBytes;
  lo.max_file_size = store::TableSizes::tableFileBytes;
  lo.block_size = store::TableSizes::blockBytes;
  leveldb::DB* raw = nullptr;
  auto st = leveldb::DB::Open(lo, dir.string(), &raw);
  if (!st.ok()) return ioError("opening LevelDB in " + dir.string() + ": " + st.ToString());
  return std::unique_ptr<leveldb::DB>(raw);
}

Shape parseShape(int argc, char** argv, const std::string& program, bool* json) {
  auto usage = [&](const std::string& why) {
    std::cerr << program << ": " << why << "\nusage: " << program << " [--entries N] [--feeds F] [--bytes B]"
              << (json ? " [--json]" : "") << "\n";
    std::exit(2);
  };
  Shape shape;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (json && k == "--json") {
      *json = true;
      continue;
    }
    if (k != "--entries" && k != "--feeds" && k != "--bytes") usage("unknown argument " + k);
    if (i + 1 >= argc) usage(k + " needs a value");
    std::string v = argv[++i];
    auto n = positive(v);
    if (!n) usage(k + " must be a positive number, got \"" + v + "\"");
    (k == "--entries" ? shape.entries : k == "--feeds" ? shape.feeds : shape.bytes) = *n;
  }
  if (shape.feeds > shape.entries) usage("--feeds must not exceed --entries");
  if (shape.bytes < 200) usage("--bytes must be at least 200");
  return shape;
}

Result<double> levelDbPutRate(const Feeds& f, const std::filesystem::path& dir) {
  auto opened = openLevelDb(dir);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<leveldb::DB> db = std::move(opened).value();
  const auto start = Clock::now();
  leveldb::WriteBatch batch;
  std::size_t pending = 0, n = 0;
  auto flush = [&]() -> Status {
    auto s = db->Write({}, &batch);
    if (!s.ok()) return ioError("LevelDB write: " + s.ToString());
    batch.Clear();
    pending = 0;
    return {};
  };
  for (const auto& chain : f.chains)
    for (const auto& e : chain) {
      std::string key(1, 'e');
      key.append(reinterpret_cast<const char*>(e.header.author.bytes.data()), 32);
      for (int b = 7; b >= 0; --b) key.push_back(static_cast<char>((e.header.seq >> (8 * b)) & 0xff));
      std::string value(reinterpret_cast<const char*>(e.signedEntry.header.data()), e.signedEntry.header.size());
      value.append(reinterpret_cast<const char*>(e.signedEntry.signature.bytes.data()), 64);
      if (e.signedEntry.content)
        value.append(reinterpret_cast<const char*>(e.signedEntry.content->data()), e.signedEntry.content->size());
      pending += key.size() + value.size();
      batch.Put(key, value);
      ++n;
      if (pending >= 256 * 1024)
        if (Status s = flush(); !s.ok()) return s;
    }
  if (Status s = flush(); !s.ok()) return s;
  return perSecond(n, Clock::now() - start);
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "civnet-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::filesystem::filesystem_error("mkdtemp", std::error_code(errno, std::generic_category()));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::optional<std::size_t> positive(const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || v[0] == '-' || *end != '\0' || errno != 0 || n == 0) return std::nullopt;
  return static_cast<std::size_t>(n);
}

}  // namespace civnet::bench

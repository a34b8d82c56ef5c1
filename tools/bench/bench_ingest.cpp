// Benchmark 1 of docs/performance.md: ingest. N entries of about B bytes in
// F feeds, made and signed first (not timed), then stored through
// store::Store::ingest (verified by the chain rule, written by the writer
// thread) in runs like those peers send. In the same process and run it
// measures the machine's own limits, so the result holds as a ratio from one
// machine to the next:
//   - one core's Ed25519 verify rate through OpenSSL (the limit if every
//     entry's signature is checked), over the same entries;
//   - LevelDB's raw batched put rate for the same keys and values, no sync.
// Prints one line naming its figures (and, with --markdown, a table row).
//
//   bench_ingest [--entries N] [--feeds F] [--bytes B] [--dir DIR] [--markdown]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "schemas/content.hpp"
#include "schemas/crypto.hpp"
#include "schemas/record.hpp"
#include "store/store.hpp"

namespace {

using namespace civnet;
using Clock = std::chrono::steady_clock;

struct Args {
  std::size_t entries = 100000;
  std::size_t feeds = 300;
  std::size_t bytes = 600;  // an entry's own bytes: header + signature + content, about
  std::filesystem::path dir;
  bool markdown = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_ingest: " << why
            << "\nusage: bench_ingest [--entries N] [--feeds F] [--bytes B] [--dir DIR] [--markdown]\n";
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
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n == 0) usage(k + " must be a positive number, got \"" + v + "\"");
      return static_cast<std::size_t>(n);
    };
    if (k == "--entries") a.entries = number();
    else if (k == "--feeds") a.feeds = number();
    else if (k == "--bytes") a.bytes = number();
    else if (k == "--dir") a.dir = value();
    else if (k == "--markdown") a.markdown = true;
    else usage("unknown argument " + k);
  }
  if (a.feeds > a.entries) usage("--feeds must not exceed --entries");
  if (a.bytes < 200) usage("--bytes must be at least 200 (a header and a signature take about 170)");
  return a;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  std::filesystem::path dir = args.dir;
  bool madeDir = false;
  if (dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "civnet-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("bench_ingest: mkdtemp");
      return 1;
    }
    dir = tmpl;
    madeDir = true;
  }

  // The entries: runs of consecutive entries per feed, signed now.
  const Digest network = sha256(asBytes("civnet bench network"));
  std::vector<PrivateKey> keys;
  for (std::size_t f = 0; f < args.feeds; ++f) keys.push_back(PrivateKey::generate());
  std::vector<std::vector<record::Entry>> byFeed(args.feeds);
  std::size_t ownBytes = 0;
  const std::int64_t t0 = 1'700'000'000'000;
  {
    // Body size so that header + signature + content come to about --bytes:
    // what an entry with an empty body takes, measured.
    record::Post probe;
    probe.title = "Bench report";
    record::Header ph;
    ph.network = network;
    ph.author = keys[0].publicKey();
    ph.seq = 1;
    ph.timestamp = t0;
    ph.kind = static_cast<std::uint16_t>(record::Kind::post);
    const auto pe = record::makeEntry(keys[0], ph, record::encodePost(probe));
    const std::size_t overhead = pe.signedEntry.header.size() + 64 + pe.signedEntry.content->size() + 8;
    const std::string body(args.bytes > overhead ? args.bytes - overhead : 1, 'x');
    for (std::size_t i = 0; i < args.entries; ++i) {
      const std::size_t f = i % args.feeds;
      auto& chain = byFeed[f];
      record::Header h;
      h.network = network;
      h.author = keys[f].publicKey();
      h.seq = chain.size() + 1;
      h.prev = chain.empty() ? Digest{} : chain.back().id;
      h.timestamp = t0 + static_cast<std::int64_t>(i);
      h.kind = static_cast<std::uint16_t>(record::Kind::post);
      record::Post p;
      p.title = "Bench report";
      p.body = body;
      chain.push_back(record::makeEntry(keys[f], h, record::encodePost(p)));
      const auto& se = chain.back().signedEntry;
      ownBytes += se.header.size() + se.signature.bytes.size() + (se.content ? se.content->size() : 0);
    }
  }

  // 1. One core's Ed25519 verify rate over these entries.
  double verifyRate = 0;
  {
    std::size_t ok = 0;
    const auto start = Clock::now();
    for (const auto& chain : byFeed)
      for (const auto& e : chain) ok += record::verifySignature(e);
    const double s = seconds(Clock::now() - start);
    if (ok != args.entries) {
      std::cerr << "bench_ingest: " << args.entries - ok << " signatures did not verify\n";
      return 1;
    }
    verifyRate = static_cast<double>(args.entries) / s;
  }

  // 2. LevelDB's raw batched put rate: the same keys (table, author, seq)
  // and values (the entry's bytes), batches of about 256 KiB, no sync.
  double putRate = 0;
  {
    leveldb::Options lo;
    lo.create_if_missing = true;
    lo.error_if_exists = true;
    lo.write_buffer_size = 16 * 1024 * 1024;
    lo.max_file_size = 8 * 1024 * 1024;
    leveldb::DB* raw = nullptr;
    auto st = leveldb::DB::Open(lo, (dir / "raw").string(), &raw);
    if (!st.ok()) {
      std::cerr << "bench_ingest: opening LevelDB: " << st.ToString() << "\n";
      return 1;
    }
    std::unique_ptr<leveldb::DB> db(raw);
    const auto start = Clock::now();
    leveldb::WriteBatch batch;
    std::size_t pending = 0;
    for (const auto& chain : byFeed)
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
        if (pending >= 256 * 1024) {
          if (!db->Write({}, &batch).ok()) return 1;
          batch.Clear();
          pending = 0;
        }
      }
    if (!db->Write({}, &batch).ok()) return 1;
    putRate = static_cast<double>(args.entries) / seconds(Clock::now() - start);
  }

  // 3. The store's ingest, as peers' runs arrive: one run per feed at a
  // time, at most 256 KiB each (NetworkOptions::maxRunBytes), feeds taken
  // in turn.
  double ingestRate = 0;
  std::uint64_t storeBytes = 0;
  {
    store::Options so;
    so.createIfMissing = true;
    auto opened = store::Store::open(dir / "store", so);
    if (!opened.ok()) {
      std::cerr << "bench_ingest: " << opened.status().message() << "\n";
      return 1;
    }
    auto st = std::move(opened).value();
    if (!st->setNetwork(network).ok()) return 1;
    std::vector<std::size_t> next(args.feeds, 0);
    std::size_t stored = 0;
    const auto start = Clock::now();
    for (bool more = true; more;) {
      more = false;
      for (std::size_t f = 0; f < args.feeds; ++f) {
        auto& chain = byFeed[f];
        if (next[f] >= chain.size()) continue;
        std::vector<record::SignedEntry> run;
        std::size_t bytes = 0;
        while (next[f] < chain.size() && (run.empty() || bytes < 256 * 1024)) {
          const auto& se = chain[next[f]++].signedEntry;
          bytes += se.header.size() + 64 + (se.content ? se.content->size() : 0);
          run.push_back(se);
        }
        auto r = st->ingest(std::move(run));
        if (r.verdict != record::Verdict::accepted) {
          std::cerr << "bench_ingest: ingest refused a run: " << record::toString(r.verdict) << ": " << r.detail
                    << "\n";
          return 1;
        }
        stored += r.stored;
        more = more || next[f] < chain.size();
      }
    }
    (void)st->indexedPosition();  // the indexer has passed every entry
    ingestRate = static_cast<double>(stored) / seconds(Clock::now() - start);
    if (stored != args.entries || st->counts().entries != args.entries) {
      std::cerr << "bench_ingest: stored " << stored << " of " << args.entries << " entries\n";
      return 1;
    }
    st.reset();
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(dir / "store", ec))
      if (f.is_regular_file(ec)) storeBytes += f.file_size(ec);
  }
  if (madeDir) std::filesystem::remove_all(dir);

  const double avg = static_cast<double>(ownBytes) / static_cast<double>(args.entries);
  std::printf(
      "ingest: %zu entries in %zu feeds, %.0f B each: %.0f entries/s stored; ed25519 verify (1 core) %.0f/s: "
      "%.2fx; leveldb batched put %.0f/s: %.2fx; store %.2fx the entries' own bytes\n",
      args.entries, args.feeds, avg, ingestRate, verifyRate, ingestRate / verifyRate, putRate, ingestRate / putRate,
      static_cast<double>(storeBytes) / static_cast<double>(ownBytes));
  if (args.markdown)
    std::printf("| ingest | %zu entries, %zu feeds, %.0f B | %.0f entries/s | %.2fx verify (%.0f/s) | %.2fx put (%.0f/s) |\n",
                args.entries, args.feeds, avg, ingestRate, ingestRate / verifyRate, verifyRate, ingestRate / putRate,
                putRate);
  return 0;
}

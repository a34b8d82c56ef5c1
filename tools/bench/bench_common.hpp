// What civnet's benchmark programs share (docs/performance.md): made-up
// feeds of signed posts, and the machine's own limits each result is
// compared with:
//   - one core's Ed25519 verify rate through OpenSSL (the limit if every
//     entry's signature were checked);
//   - LevelDB's raw batched put rate for the same keys and values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "schemas/crypto.hpp"
#include "schemas/record.hpp"

namespace leveldb {
class DB;
}

namespace civnet::bench {

// `entries` posts of about `bytes` bytes each (header, signature and
// content) in `feeds` feeds of `network`, entry i in feed i % feeds, each
// feed a fresh key; signed on every core. Timestamps start at `firstMs`,
// one ms apart in the order made.
struct Feeds {
  std::vector<PrivateKey> keys;
  std::vector<std::vector<record::Entry>> chains;  // chains[f]: feed f, seq 1, 2, ...
  std::size_t ownBytes = 0;                        // header + signature + content, all entries
  std::size_t entries() const;
};
Feeds makeFeeds(const Digest& network, std::size_t entries, std::size_t feeds, std::size_t bytes,
                std::int64_t firstMs);

// The entries of `f` in runs of at most `maxRunBytes` (as peers send them),
// one run per feed in turn until every feed is sent.
std::vector<std::vector<record::SignedEntry>> runsInTurn(const Feeds& f, std::size_t maxRunBytes);

// One core's Ed25519 verify rate over these entries, the first 20,000 at
// most (verifies/s). Fails (returns 0) if a signature does not verify.
double ed25519VerifyRate(const Feeds& f);

// LevelDB's raw batched put rate (puts/s) in a fresh database under `dir`:
// one put per entry, key = table byte + author + seq, value = the entry's
// bytes, batches of 256 KiB, no sync; the store's memtable and table sizes.
// Errors name the LevelDB failure.
Result<double> levelDbPutRate(const Feeds& f, const std::filesystem::path& dir);

// A new LevelDB database at `dir` with the store's memtable and table sizes
// (as store.cpp's setTableSizes). Errors name the LevelDB failure.
Result<std::unique_ptr<leveldb::DB>> openLevelDb(const std::filesystem::path& dir);

// The size of the made-up entries a program measures: --entries N,
// --feeds F (at most N), --bytes B (at least 200), and --json if `json` is
// given. Bad arguments print `program`'s usage and exit with 2.
struct Shape {
  std::size_t entries = 100000, feeds = 300, bytes = 600;
};
Shape parseShape(int argc, char** argv, const std::string& program, bool* json = nullptr);

// A fresh directory under the system's temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A positive number from a command-line value, or nullopt.
std::optional<std::size_t> positive(const std::string& v);

}  // namespace civnet::bench

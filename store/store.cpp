// The node store on LevelDB (see store.hpp for the contract, keys.hpp for
// the layout).
//
// One writer thread owns every write. Callers enqueue a request and wait on
// its future. The writer drains the queue: ingests are applied one by one
// (each its own unsynced WriteBatch), then every pending publish is built,
// signed and written in one synced WriteBatch (group commit), then the
// indexer catches up with the arrival log. The in-memory tip table is
// updated only after a batch is durable in LevelDB, so readers never see a
// tip the database does not hold.
#include "store.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <cstring>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <variant>

#include <sys/resource.h>
#include <sys/statvfs.h>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "keys.hpp"
#include "pread_env.hpp"

namespace civnet::store {
namespace {

using record::Entry;
using record::SignedEntry;
using record::Verdict;

class SystemClock final : public Clock {
 public:
  std::int64_t nowMs() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

constexpr std::string_view kMetaSchemaVersion = "schema_version";
constexpr std::string_view kMetaNetwork = "network";
constexpr std::string_view kMetaIndexCursor = "index_cursor";
// The derived indexes' layout. A store indexed by another layout drops its
// index rows at open and indexes its arrival log again (indexes are derived,
// so this loses nothing). 2: threads (p) and revisions (v).
constexpr std::string_view kMetaIndexVersion = "index_version";
constexpr std::string_view kIndexVersion = "2";
constexpr std::size_t kTipValueSize = 8 + 32 + 8 + 1;
constexpr std::uint8_t kTipFrozen = 1;
constexpr std::size_t kIndexStep = 2048;  // log rows indexed per batch
constexpr std::size_t kMaxPublishGroup = 1024;

std::string encodeTip(const Tip& t) {
  std::string v;
  keys::putU64(v, t.seq);
  keys::putBytes(v, t.id.view());
  keys::putTime(v, t.timestamp);
  v.push_back(static_cast<char>(t.frozen ? kTipFrozen : 0));
  return v;
}

bool decodeTip(std::string_view key, std::string_view v, Tip& t) {
  if (key.size() != 33 || v.size() != kTipValueSize) return false;
  PublicKey::fromView(keys::viewOf(key.substr(1)), t.feed);
  t.seq = keys::getU64(v, 0);
  Digest::fromView(keys::viewOf(v.substr(8, 32)), t.id);
  t.timestamp = keys::getTime(v, 40);
  t.frozen = (static_cast<std::uint8_t>(v[48]) & kTipFrozen) != 0;
  return true;
}

// e-row value: id + signature + header bytes.
std::string encodeEntryValue(const Entry& e) {
  std::string v;
  v.reserve(32 + 64 + e.signedEntry.header.size());
  keys::putBytes(v, e.id.view());
  keys::putBytes(v, e.signedEntry.signature.view());
  keys::putBytes(v, e.signedEntry.header);
  return v;
}

// Table files kept open: as configured, but at most half the process's
// file-descriptor limit. Each open table holds a descriptor (preadEnv:
// nothing is mapped), and sockets, the search index and logs need theirs.
// Under systemd the unit allows 65,536; a shell's usual 1,024 allows 512.
int openFilesWithin(int configured) {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return configured;
  const auto half = static_cast<long long>(rl.rlim_cur / 2);
  return static_cast<int>(std::max(64LL, std::min(static_cast<long long>(configured), half)));
}

// The memtable, table and block sizes every civnet store is written with
// (a restored or repaired one too). Blocks already written keep their
// size; new tables take these.
void setTableSizes(leveldb::Options& lo) {
  lo.write_buffer_size = TableSizes::memtableBytes;
  lo.max_file_size = TableSizes::tableFileBytes;
  lo.block_size = TableSizes::blockBytes;
}

// The meta row "schema_version" of the store in `dir`, as a number.
Result<std::uint32_t> parseSchemaVersion(const std::string& v, const std::filesystem::path& dir) {
  char* end = nullptr;
  const unsigned long ver = std::strtoul(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || ver > std::numeric_limits<std::uint32_t>::max())
    return corruption("store " + dir.string() + " has an unreadable schema version \"" + v + "\"");
  return static_cast<std::uint32_t>(ver);
}

// Every read checks the checksum of each block it takes from a table file,
// so that a damaged block is refused (a Corruption status) instead of
// served; blocks in the block cache were checked when they were read.
leveldb::ReadOptions checked(const leveldb::Snapshot* snap = nullptr) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.snapshot = snap;
  return ro;
}

Status fromLevelDb(const leveldb::Status& s, const std::string& context) {
  if (s.ok()) return {};
  if (s.IsNotFound()) return notFound(context + ": " + s.ToString());
  if (s.IsCorruption()) return corruption(context + ": " + s.ToString());
  return ioError(context + ": " + s.ToString());
}

// An arrival-log row: the indexer (re)indexes this entry when it gets here.
void putLogRow(leveldb::WriteBatch& b, const Entry& e, std::uint64_t logPos) {
  std::string v;
  keys::putBytes(v, e.header.author.view());
  keys::putU64(v, e.header.seq);
  keys::putBytes(v, e.id.view());
  b.Put(keys::logKey(logPos), v);
}

void putEntryRows(leveldb::WriteBatch& b, const Entry& e, std::uint64_t logPos, bool withContent = true) {
  const auto& h = e.header;
  b.Put(keys::entryKey(h.author, h.seq), encodeEntryValue(e));
  if (withContent && e.signedEntry.content) {
    const Bytes& c = *e.signedEntry.content;
    b.Put(keys::contentKey(h.author, h.seq),
          leveldb::Slice(reinterpret_cast<const char*>(c.data()), c.size()));
  }
  std::string pos;
  keys::putBytes(pos, h.author.view());
  keys::putU64(pos, h.seq);
  b.Put(keys::idKey(e.id), pos);
  putLogRow(b, e, logPos);
}

// The derived index rows of one entry. Used to add them (indexer) and to
// remove them (truncation), so the two can never disagree.
std::vector<std::string> indexRows(const record::Header& h, std::optional<ByteView> content) {
  std::vector<std::string> rows;
  rows.push_back(keys::indexKey(keys::byTimePrefix(), h.timestamp, h.author, h.seq));
  rows.push_back(keys::indexKey(keys::byKindPrefix(h.kind), h.timestamp, h.author, h.seq));
  if (h.kind == static_cast<std::uint16_t>(record::Kind::post) && content) {
    auto post = record::decodePost(*content);
    if (post.ok()) {
      for (const auto& tag : post->tags)
        if (!tag.empty() && tag.size() <= record::kMaxTagBytes)
          rows.push_back(keys::indexKey(keys::byTagPrefix(tag), h.timestamp, h.author, h.seq));
      if (post->replyTo)
        rows.push_back(keys::indexKey(
            keys::byReplyPrefix(post->replyTo->author, post->replyTo->seq), h.timestamp,
            h.author, h.seq));
      // Only an author revises its own post.
      if (post->revises && post->revises->author == h.author && post->revises->seq < h.seq)
        rows.push_back(keys::indexKey(keys::byRevisedPrefix(h.author, post->revises->seq),
                                      h.timestamp, h.author, h.seq));
      if (!post->replyTo && !post->revises)
        rows.push_back(keys::indexKey(keys::threadPrefix(), h.timestamp, h.author, h.seq));
    }
  }
  return rows;
}

std::vector<std::string> indexRows(const record::Header& h, const std::string* content) {
  return indexRows(h, content ? std::optional(keys::viewOf(*content)) : std::nullopt);
}

}  // namespace

const Clock& systemClock() {
  static const SystemClock clock;
  return clock;
}

// ---------------------------------------------------------------------------

class Store::Impl {
 public:
  Impl(std::filesystem::path dir, const Options& o) : dir_(std::move(dir)), options_(o) {
    clock_ = o.clock ? o.clock : &systemClock();
    policy_ = o.policy;
  }
  ~Impl() { close(); }

  Status open();
  void close();

  // Requests handed to the writer thread.
  struct PublishReq {
    const PrivateKey* key;
    std::uint16_t kind;
    Bytes content;
    std::promise<Result<Entry>> done;
  };
  struct IngestReq {
    std::vector<Entry> run;  // already verified by the chain rule
    std::promise<IngestResult> done;
  };
  struct MetaReq {
    std::string key, value;
    bool isNetwork = false;  // set once: checked on the writer, so two callers cannot race
    std::promise<Status> done;
  };
  struct ModerationReq {
    Moderation moderation;
    std::promise<Status> done;
  };
  struct LocalReq {
    std::vector<LocalWrite> writes;
    std::promise<Status> done;
  };
  struct ReindexReq {
    std::function<void(std::uint64_t, std::uint64_t)> progress;
    std::promise<Status> done;
  };
  struct ForkProofReq {
    Bytes proof;
    PublicKey author;
    std::uint64_t seq = 0;
    std::promise<IngestResult> done;
  };
  using Request = std::variant<std::unique_ptr<PublishReq>, std::unique_ptr<IngestReq>,
                               std::unique_ptr<MetaReq>, std::unique_ptr<ModerationReq>,
                               std::unique_ptr<ReindexReq>, std::unique_ptr<ForkProofReq>,
                               std::unique_ptr<LocalReq>>;

  // Hands a request to the writer and waits for its answer; `closing` is
  // the answer when the store closes before taking it.
  template <typename R, typename Answer>
  Answer roundTrip(std::unique_ptr<R> req, Answer closing) {
    auto fut = req->done.get_future();
    fut = submit(std::move(req), std::move(fut));
    try {
      return fut.get();
    } catch (const std::future_error&) {
      return closing;
    }
  }
  template <typename R>
  Status roundTrip(std::unique_ptr<R> req) {
    return roundTrip(std::move(req), unavailable("the store is closing"));
  }
  template <typename R>
  IngestResult ingestRoundTrip(std::unique_ptr<R> req) {
    IngestResult closing;
    closing.verdict = Verdict::noNetwork;
    closing.detail = "the store is closing";
    return roundTrip(std::move(req), std::move(closing));
  }

  template <typename R, typename Fut>
  Fut submit(std::unique_ptr<R> req, Fut fut) {
    {
      std::lock_guard lk(queueMu_);
      if (stopping_) {
        // Store is closing: nothing may be queued behind the drain.
        return fut;  // broken promise: the caller sees an error
      }
      queue_.push_back(std::move(req));
    }
    queueCv_.notify_one();
    return fut;
  }

  void writerLoop();
  IngestResult applyIngest(IngestReq& req);
  IngestResult applyForkProofReq(ForkProofReq& req);
  // Stores `proof` (of a fork at `seq`), truncates the feed before `seq` and
  // freezes it, in one batch; then tells the policy and the listener.
  IngestResult truncateAndFreeze(const PublicKey& author, std::uint64_t seq, ByteView proof, const Tip& tip);
  // Schema version 1 to 2: writes the w rows of the entries held without
  // content, in one synced batch with the new version.
  Status addWantedRows();
  // The lowest seq at which a fork proof for `author` is held.
  std::optional<std::uint64_t> lowestForkProof(const PublicKey& author) const;
  Status applyMeta(MetaReq& req);
  // Writer thread only.
  Status applyModeration(const Moderation& m);
  void afterCommit(const std::vector<const Entry*>& stored);
  void applyPublishes(std::vector<std::unique_ptr<PublishReq>>& group);
  void runIndexer(const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});
  // Indexing in the commit's own batch: when the indexer has passed every
  // committed entry, the writer, which holds the new entries decoded,
  // writes their index rows and the advanced cursor with them (no second
  // batch, no reading back). Otherwise the indexer catches up in order.
  bool indexCaughtUp() const;
  static void putIndexRows(leveldb::WriteBatch& b, const Entry& e, bool withContent);
  void markIndexed(std::uint64_t cursor);
  static void putIndexCursor(leveldb::WriteBatch& b, std::uint64_t cursor);
  Status applyReindex(const ReindexReq& req);
  Status dropIndexes();
  Status indexEntry(leveldb::WriteBatch& b, std::string_view logValue);

  // Reads.
  std::optional<Tip> tipOf(const PublicKey& feed) const {
    std::shared_lock lk(tipsMu_);
    auto it = tips_.find(feed);
    if (it == tips_.end()) return std::nullopt;
    return it->second;
  }
  Result<Entry> readEntry(const PublicKey& author, std::uint64_t seq,
                          const leveldb::Snapshot* snap = nullptr) const;
  // The entry an arrival log row (author + seq + id) names, if the store
  // still holds it with that id (a fork may have truncated it since).
  std::optional<Entry> loggedEntry(std::string_view logValue) const;
  Entry entryFromRow(std::string_view key, std::string_view value, bool withContent,
                     const leveldb::Snapshot* snap) const;
  void waitIndexed() const;

  std::filesystem::path dir_;
  Options options_;
  std::optional<std::uint32_t> upgradedFrom_;  // set by open()
  std::atomic<IngestPolicy*> policy_{nullptr};
  mutable std::mutex listenerMu_;
  TipListener tipListener_;  // guarded by listenerMu_
  std::map<int, IndexedListener> indexedListeners_;  // guarded by listenerMu_
  int nextListener_ = 1;                              // guarded by listenerMu_
  void notifyTips(const std::vector<PublicKey>& feeds) const;
  Moderation desired_;  // writer thread only: applied to entries as they arrive
  const Clock* clock_;
  std::unique_ptr<leveldb::DB> db_;
  // db_ is replaced only by reopenIfStopped(), on the writer thread, holding dbMu_
  // exclusively; every other thread holds it shared while it uses db_ (a
  // ReadGuard in each reading member of Store).
  mutable std::shared_mutex dbMu_;
  leveldb::Options dbOptions_;  // as open() made them, for reopenIfStopped()
  // Holds db_ for reading (see dbMu_). A guard nested in another on the
  // same thread (a list filter that reads the store again) takes nothing.
  // Never wait for the writer while holding one (e.g. a write request from
  // a list filter): a writer reopening the database would wait for it.
  class ReadGuard {
   public:
    explicit ReadGuard(const Impl& impl) {
      if (depth_++ == 0) lock_ = std::shared_lock(impl.dbMu_);
    }
    ~ReadGuard() { --depth_; }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

   private:
    std::shared_lock<std::shared_mutex> lock_;
    static thread_local int depth_;
  };
  Status loadTipsAndLog();
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;

  mutable std::shared_mutex tipsMu_;
  std::map<PublicKey, Tip> tips_;  // guarded by tipsMu_; written by the writer only
  std::optional<Digest> network_;  // guarded by tipsMu_

  mutable std::mutex queueMu_;
  std::condition_variable queueCv_;
  std::deque<Request> queue_;
  bool stopping_ = false;
  std::thread writer_;

  // Arrival log positions: next to assign (writer only), last committed,
  // and last indexed (readers wait for indexed >= committed).
  std::atomic<std::uint64_t> syncedWrites_{0}, published_{0}, ingested_{0};
  std::atomic<std::uint64_t> missingGeneration_{0};
  std::atomic<bool> contentPaused_{false};
  // Every write goes through this, so failures are counted (health,
  // metrics). After a failed write nothing more is written until the
  // database has been reopened: LevelDB may have left part of a record at
  // the end of its log, and a record written after it would make the log
  // unreadable past that point at the next open (records acknowledged
  // after it lost). Reopening ends the log at its last whole record.
  leveldb::Status writeDb(const leveldb::WriteOptions& wo, leveldb::WriteBatch* b) {
    if (writeBroken_) return stoppedWriting();
    leveldb::Status s = db_->Write(wo, b);
    if (!s.ok()) {
      std::lock_guard lk(writeErrorMu_);
      ++writeErrors_;
      lastWriteError_ = s.ToString();
      lastWriteErrorMs_ = clock_->nowMs();
      writeBroken_ = true;
    }
    return s;
  }
  // Reopening writes what the log holds to a new table (up to a write
  // buffer) and starts a new log: it waits for this much room, a margin
  // included, so that it does not fail half way for want of it.
  std::uint64_t reopenRoom() const { return static_cast<std::uint64_t>(dbOptions_.write_buffer_size) + (16 << 20); }
  // Bytes free where the store is, or nullopt if the system does not say.
  std::optional<std::uint64_t> freeBytes() const;
  // Why a write is refused while writes are stopped.
  leveldb::Status stoppedWriting() const;
  // When writes are stopped and there is room: closes and opens the
  // database again (readers wait). Writer thread, between requests only:
  // nothing may hold an iterator of the old database then.
  void reopenIfStopped();
  std::atomic<bool> writeBroken_{false};  // set and cleared on the writer thread
  std::atomic<std::uint64_t> reopens_{0};
  // A read met a damaged block (checksum mismatch): counted for health
  // and metrics; what it was reading is refused, never served.
  void noteCorruption(const leveldb::Status& s) const {
    std::lock_guard lk(writeErrorMu_);
    ++readCorruptions_;
    lastReadCorruption_ = s.ToString();
  }
  mutable std::uint64_t readCorruptions_ = 0;    // guarded by writeErrorMu_
  mutable std::string lastReadCorruption_;       // guarded by writeErrorMu_
  mutable std::mutex writeErrorMu_;
  std::uint64_t writeErrors_ = 0;     // guarded by writeErrorMu_
  std::string lastWriteError_;        // guarded by writeErrorMu_
  std::int64_t lastWriteErrorMs_ = 0; // guarded by writeErrorMu_
  // Entries refused by ingest, by verdict (Stats::refused).
  std::array<std::atomic<std::uint64_t>, 256> refused_{};
  void countRefused(const IngestResult& r, std::size_t runSize) {
    if (r.verdict == Verdict::accepted || r.verdict == Verdict::duplicate) return;
    const std::uint64_t taken = r.stored + r.duplicates;
    refused_[static_cast<std::uint8_t>(r.verdict)] += runSize > taken ? runSize - taken : 0;
  }
  std::uint64_t nextLog_ = 1;
  std::atomic<std::uint64_t> committedLog_{0};
  mutable std::mutex indexMu_;
  mutable std::condition_variable indexCv_;
  std::uint64_t indexedLog_ = 0;  // guarded by indexMu_
};

Status Store::Impl::open() {
  std::error_code ec;
  bool exists = std::filesystem::exists(dir_, ec);
  if (!exists && !options_.createIfMissing)
    return notFound("store " + dir_.string() +
                    " does not exist (is --data-dir right? create a node with: civnetd init)");
  if (exists && !std::filesystem::is_directory(dir_, ec))
    return invalidArgument("store " + dir_.string() + " is not a directory");
  if (exists && !options_.createIfMissing && !std::filesystem::exists(dir_ / "CURRENT", ec))
    return corruption("store " + dir_.string() + " is not a civnet store (no LevelDB files)");

  leveldb::Options& lo = dbOptions_;
  lo.create_if_missing = options_.createIfMissing;
  lo.paranoid_checks = true;
  cache_.reset(leveldb::NewLRUCache(options_.blockCacheBytes));
  lo.block_cache = cache_.get();
  lo.max_open_files = openFilesWithin(options_.maxOpenFiles);
  filter_.reset(leveldb::NewBloomFilterPolicy(10));
  lo.filter_policy = filter_.get();
  lo.env = preadEnv();
  setTableSizes(lo);
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(lo, dir_.string(), &raw);
  if (!s.ok()) {
    std::string text = s.ToString();
    if (text.find("lock") != std::string::npos)
      return unavailable("store " + dir_.string() +
                         " is in use by another process (is civnetd already running?)");
    if (s.IsCorruption())
      return corruption("store " + dir_.string() + " is corrupt: " + text);
    return fromLevelDb(s, "opening store " + dir_.string());
  }
  db_.reset(raw);

  // Schema version: a new store gets ours; a newer one is refused.
  std::string v;
  s = db_->Get(checked(), keys::metaKey(kMetaSchemaVersion), &v);
  if (s.IsNotFound()) {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
    it->SeekToFirst();
    if (it->Valid())
      return corruption("store " + dir_.string() +
                        " holds data but no schema version: not a civnet store");
    leveldb::WriteOptions wo;
    wo.sync = true;
    s = db_->Put(wo, keys::metaKey(kMetaSchemaVersion), std::to_string(kSchemaVersion));
    if (!s.ok()) return fromLevelDb(s, "initialising store " + dir_.string());
  } else if (!s.ok()) {
    return fromLevelDb(s, "reading store " + dir_.string());
  } else {
    auto parsed = parseSchemaVersion(v, dir_);
    if (!parsed.ok()) return parsed.status();
    const std::uint32_t ver = *parsed;
    if (ver > kSchemaVersion)
      return unsupported("store " + dir_.string() + " was written by a newer civnet (schema version " +
                         std::to_string(ver) + "; this build reads up to " +
                         std::to_string(kSchemaVersion) + "): upgrade civnetd");
    if (ver < kSchemaVersion && options_.beforeUpgrade)
      if (Status st = options_.beforeUpgrade(ver); !st.ok()) return st;
    // Version 2 added the w rows (missing content).
    if (ver < 2)
      if (Status st = addWantedRows(); !st.ok()) return st;
    if (ver < kSchemaVersion) upgradedFrom_ = ver;
  }

  s = db_->Get(checked(), keys::metaKey(kMetaNetwork), &v);
  if (s.ok()) {
    Digest id;
    if (!Digest::fromView(keys::viewOf(v), id))
      return corruption("store " + dir_.string() + " holds a malformed network id");
    network_ = id;
  }

  if (Status st = loadTipsAndLog(); !st.ok()) return st;
  s = db_->Get(checked(), keys::metaKey(kMetaIndexCursor), &v);
  if (s.ok() && v.size() == 8) indexedLog_ = keys::getU64(v, 0);
  // Indexed by another layout (or by a build before index versions): the
  // writer thread's first indexer run rebuilds them.
  s = db_->Get(checked(), keys::metaKey(kMetaIndexVersion), &v);
  if (!s.ok() || v != kIndexVersion)
    if (Status st = dropIndexes(); !st.ok()) return st;

  writer_ = std::thread([this] { writerLoop(); });
  return {};
}

Status Store::Impl::loadTipsAndLog() {
  std::map<PublicKey, Tip> tips;
  std::uint64_t next = 1;
  {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
    std::string prefix(1, keys::kTip);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      Tip t;
      if (!decodeTip(std::string_view(it->key().data(), it->key().size()),
                     std::string_view(it->value().data(), it->value().size()), t))
        return corruption("store " + dir_.string() + " holds a malformed tip row");
      tips[t.feed] = t;
    }
    if (!it->status().ok()) return fromLevelDb(it->status(), "reading tips");
    // The arrival log's last position.
    it->Seek(keys::prefixEnd(std::string(1, keys::kLog)));
    if (it->Valid()) it->Prev(); else it->SeekToLast();
    if (it->Valid() && it->key().size() == 9 && it->key()[0] == keys::kLog)
      next = keys::getU64(std::string_view(it->key().data(), 9), 1) + 1;
    if (!it->status().ok()) return fromLevelDb(it->status(), "reading the arrival log");
  }
  {
    std::unique_lock lk(tipsMu_);
    tips_ = std::move(tips);
  }
  nextLog_ = next;
  committedLog_ = nextLog_ - 1;
  return {};
}

thread_local int Store::Impl::ReadGuard::depth_ = 0;

std::optional<std::uint64_t> Store::Impl::freeBytes() const {
  struct statvfs sv {};
  if (::statvfs(dir_.c_str(), &sv) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
}

leveldb::Status Store::Impl::stoppedWriting() const {
  std::string why;
  {
    std::lock_guard lk(writeErrorMu_);
    why = lastWriteError_;
  }
  const auto avail = freeBytes();
  return leveldb::Status::IOError("the store stopped writing after a write error (" + why +
                                  ") and starts again by itself once " + std::to_string(reopenRoom() >> 20) +
                                  " MiB are free where it is" +
                                  (avail ? " (" + std::to_string(*avail >> 20) + " MiB now)" : std::string()));
}

void Store::Impl::reopenIfStopped() {
  if (!writeBroken_) return;
  if (const auto avail = freeBytes(); avail && *avail < reopenRoom()) return;
  std::string why;
  {
    std::lock_guard lk(writeErrorMu_);
    why = lastWriteError_;
  }
  const std::uint64_t committedBefore = committedLog_;
  {
    std::unique_lock lk(dbMu_);
    db_.reset();  // the log ends at its last whole record
    leveldb::Status s;
    for (int attempt = 1; attempt <= 10; ++attempt) {
      leveldb::DB* raw = nullptr;
      s = leveldb::DB::Open(dbOptions_, dir_.string(), &raw);
      if (s.ok()) {
        db_.reset(raw);
        break;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    Status loaded = s.ok() ? loadTipsAndLog() : fromLevelDb(s, "opening it");
    if (!loaded.ok()) {
      // Nothing can read or write this store now: stop, so that a
      // supervisor restarts the node (which opens it, or says why not).
      std::fprintf(stderr, "civnetd: fatal: store %s could not be opened again after a write error (%s): %s\n",
                   dir_.c_str(), why.c_str(), loaded.message().c_str());
      std::fflush(stderr);
      std::_Exit(1);
    }
  }
  writeBroken_ = false;
  ++reopens_;
  // A write reported failed may have reached the log whole (its sync
  // failed, not its append): what it stored is taken in now.
  if (committedLog_ > committedBefore) {
    std::vector<Entry> found;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
    for (it->Seek(keys::logKey(committedBefore + 1)); it->Valid() && it->key().size() == 9 &&
                                                      it->key()[0] == keys::kLog;
         it->Next()) {
      if (auto e = loggedEntry(std::string_view(it->value().data(), it->value().size()))) found.push_back(std::move(*e));
    }
    std::vector<const Entry*> stored;
    for (const Entry& e : found) stored.push_back(&e);
    afterCommit(stored);
  }
}

void Store::Impl::close() {
  {
    std::lock_guard lk(queueMu_);
    if (stopping_) return;
    stopping_ = true;
  }
  queueCv_.notify_all();
  if (writer_.joinable()) writer_.join();
  db_.reset();
}

void Store::Impl::writerLoop() {
  // Catch up first: after a crash the last index batch (written unsynced)
  // may be lost while the entries it covered are not.
  runIndexer();
  for (;;) {
    std::deque<Request> batch;
    {
      std::unique_lock lk(queueMu_);
      queueCv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      batch.swap(queue_);
    }
    reopenIfStopped();
    std::vector<std::unique_ptr<PublishReq>> publishes;
    for (auto& r : batch) {
      if (auto* ing = std::get_if<std::unique_ptr<IngestReq>>(&r)) {
        (*ing)->done.set_value(applyIngest(**ing));
      } else if (auto* pub = std::get_if<std::unique_ptr<PublishReq>>(&r)) {
        publishes.push_back(std::move(*pub));
        if (publishes.size() >= kMaxPublishGroup) applyPublishes(publishes);
      } else if (auto* meta = std::get_if<std::unique_ptr<MetaReq>>(&r)) {
        (*meta)->done.set_value(applyMeta(**meta));
      } else if (auto* mod = std::get_if<std::unique_ptr<ModerationReq>>(&r)) {
        (*mod)->done.set_value(applyModeration((*mod)->moderation));
      } else if (auto* re = std::get_if<std::unique_ptr<ReindexReq>>(&r)) {
        (*re)->done.set_value(applyReindex(**re));
      } else if (auto* fp = std::get_if<std::unique_ptr<ForkProofReq>>(&r)) {
        (*fp)->done.set_value(applyForkProofReq(**fp));
      } else if (auto* local = std::get_if<std::unique_ptr<LocalReq>>(&r)) {
        leveldb::WriteBatch b;
        for (const LocalWrite& w : (*local)->writes) {
          const std::string k = std::string(1, static_cast<char>(w.table)) + w.key;
          if (w.value) b.Put(k, *w.value);
          else b.Delete(k);
        }
        leveldb::WriteOptions wo;
        wo.sync = true;
        auto s = writeDb(wo, &b);
        (*local)->done.set_value(s.ok() ? Status{} : fromLevelDb(s, "writing accounts or sessions"));
      }
    }
    if (!publishes.empty()) applyPublishes(publishes);
    runIndexer();
  }
}

Status Store::Impl::applyMeta(MetaReq& req) {
  Digest id;
  if (req.isNetwork) {
    Digest::fromView(keys::viewOf(req.value), id);
    std::shared_lock lk(tipsMu_);
    if (network_ && *network_ == id) return {};
    if (network_)
      return refused("this node already belongs to network " + network_->shortHex() +
                     "; it cannot move to " + id.shortHex());
  }
  leveldb::WriteOptions wo;
  wo.sync = true;
  leveldb::WriteBatch b;
  b.Put(req.key, req.value);
  auto s = writeDb(wo, &b);
  if (!s.ok()) return fromLevelDb(s, "writing node metadata");
  if (req.isNetwork) {
    std::unique_lock lk(tipsMu_);
    network_ = id;
  }
  return {};
}

void Store::Impl::notifyTips(const std::vector<PublicKey>& feeds) const {
  TipListener l;
  {
    std::lock_guard lk(listenerMu_);
    l = tipListener_;
  }
  if (!l) return;
  std::vector<Tip> tips;
  for (const PublicKey& f : feeds)
    if (auto t = tipOf(f)) tips.push_back(*t);
  if (!tips.empty()) l(tips);
}

void Store::Impl::afterCommit(const std::vector<const Entry*>& stored) {
  if (IngestPolicy* policy = policy_.load())
    if (auto m = policy->committed(stored))
      // A failure leaves the previous state; the next change or open retries.
      (void)applyModeration(*m);
  // After the policy: a listener that judges the new tips sees the view
  // these entries made.
  std::vector<PublicKey> feeds;
  for (const Entry* e : stored)
    if (feeds.empty() || feeds.back() != e->header.author) feeds.push_back(e->header.author);
  std::sort(feeds.begin(), feeds.end());
  feeds.erase(std::unique(feeds.begin(), feeds.end()), feeds.end());
  notifyTips(feeds);
}

Status Store::Impl::applyModeration(const Moderation& m) {
  leveldb::WriteBatch b;
  auto heldId = [&](const PublicKey& f, std::uint64_t seq) -> std::optional<std::pair<Digest, std::string>> {
    std::string v;
    if (!db_->Get(checked(), keys::entryKey(f, seq), &v).ok() || v.size() < 96) return std::nullopt;
    Digest id;
    Digest::fromView(keys::viewOf(std::string_view(v).substr(0, 32)), id);
    return std::make_pair(id, v);
  };
  auto headerOf = [](const std::string& v, record::Header& h) {
    return record::decodeHeader(keys::viewOf(std::string_view(v).substr(96)), h).ok();
  };

  // Erase content: the content-derived index rows go with it; the entry,
  // its time and kind rows and a tombstone stay, so chains still verify.
  for (const auto& ref : m.erased) {
    auto held = heldId(ref.author, ref.seq);
    if (!held || held->first != ref.id) continue;
    std::string dummy;
    if (db_->Get(checked(), keys::tombstoneKey(ref.author, ref.seq), &dummy).ok()) continue;
    record::Header h;
    std::string content;
    if (headerOf(held->second, h) && db_->Get(checked(), keys::contentKey(ref.author, ref.seq), &content).ok()) {
      auto kept = indexRows(h, nullptr);
      for (const auto& row : indexRows(h, &content))
        if (std::find(kept.begin(), kept.end(), row) == kept.end()) b.Delete(row);
    }
    b.Delete(keys::contentKey(ref.author, ref.seq));
    b.Delete(keys::wantedKey(ref.author, ref.seq));
    b.Put(keys::tombstoneKey(ref.author, ref.seq), "erased");
  }

  // Purge revoked feeds past their pin: the entries go, every row with them.
  std::map<PublicKey, Tip> newTips;
  std::vector<PublicKey> purged;
  for (const auto& [feed, pin] : m.purgeAfter) {
    auto tip = tipOf(feed);
    if (!tip || tip->seq <= pin) continue;
    for (std::uint64_t seq = pin + 1; seq <= tip->seq; ++seq) {
      if (auto held = heldId(feed, seq)) {
        b.Delete(keys::idKey(held->first));
        record::Header h;
        if (headerOf(held->second, h)) {
          std::string content;
          bool have = db_->Get(checked(), keys::contentKey(feed, seq), &content).ok();
          for (const auto& row : indexRows(h, have ? &content : nullptr)) b.Delete(row);
        }
      }
      for (char table : {keys::kEntry, keys::kContent, keys::kTombstone, keys::kHeld, keys::kWanted})
        b.Delete(keys::feedPos(table, feed, seq));
    }
    Tip nt;
    nt.feed = feed;
    nt.seq = pin;
    if (pin > 0) {
      auto held = heldId(feed, pin);
      record::Header h;
      if (held && headerOf(held->second, h)) {
        nt.id = held->first;
        nt.timestamp = h.timestamp;
      }
      b.Put(keys::tipKey(feed), encodeTip(nt));
    } else {
      b.Delete(keys::tipKey(feed));
    }
    newTips[feed] = nt;
    purged.push_back(feed);
  }

  // Hidden entries: the q rows are made to match exactly.
  std::map<std::string, std::string> want;
  for (const auto& ref : m.hidden) {
    auto held = heldId(ref.author, ref.seq);
    auto p = m.purgeAfter.find(ref.author);
    if (held && held->first == ref.id && (p == m.purgeAfter.end() || ref.seq <= p->second))
      // Erased (k takedowns, or its author's retraction) says more than
      // "takedown", which one steward's takedown alone gives.
      want[keys::feedPos(keys::kHeld, ref.author, ref.seq)] = m.erased.count(ref) ? "erased" : "takedown";
  }
  for (const auto& [feed, pin] : m.holdAfter) {
    auto tip = newTips.count(feed) ? std::optional<Tip>(newTips[feed]) : tipOf(feed);
    if (!tip) continue;
    for (std::uint64_t seq = pin + 1; seq <= tip->seq; ++seq)
      want.try_emplace(keys::feedPos(keys::kHeld, feed, seq), "suspended");
  }
  {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
    std::string prefix(1, keys::kHeld);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string k = it->key().ToString();
      auto w = want.find(k);
      if (w == want.end()) b.Delete(k);
      else if (w->second == it->value().ToString()) want.erase(w);
    }
  }
  for (const auto& [k, reason] : want) b.Put(k, reason);

  desired_ = m;
  if (b.ApproximateSize() > leveldb::WriteBatch().ApproximateSize()) {
    auto s = writeDb({}, &b);
    if (!s.ok()) return fromLevelDb(s, "applying moderation");
  }
  if (!newTips.empty()) {
    std::unique_lock lk(tipsMu_);
    for (const auto& [feed, t] : newTips) {
      if (t.seq == 0) tips_.erase(feed);
      else tips_[feed] = t;
    }
  }
  // Deleted values must not linger on disk: compact the purged feeds' rows.
  for (const auto& feed : purged) {
    for (char table : {keys::kEntry, keys::kContent}) {
      std::string from = keys::feedPrefix(table, feed), to = keys::prefixEnd(from);
      leveldb::Slice a(from), z(to);
      db_->CompactRange(&a, &z);
    }
  }
  return {};
}

Status Store::Impl::addWantedRows() {
  leveldb::WriteBatch b;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
  const std::string prefix(1, keys::kEntry);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() != 41) continue;
    PublicKey feed;
    PublicKey::fromView(keys::viewOf(k.substr(1, 32)), feed);
    const std::uint64_t seq = keys::getU64(k, 33);
    std::string dummy;
    if (db_->Get(checked(), keys::contentKey(feed, seq), &dummy).ok() || db_->Get(checked(), keys::tombstoneKey(feed, seq), &dummy).ok())
      continue;
    b.Put(keys::wantedKey(feed, seq), "");
  }
  if (!it->status().ok()) return fromLevelDb(it->status(), "listing entries without content");
  b.Put(keys::metaKey(kMetaSchemaVersion), "2");
  leveldb::WriteOptions wo;
  wo.sync = true;
  if (auto s = writeDb(wo, &b); !s.ok()) return fromLevelDb(s, "recording entries without content");
  return {};
}

std::optional<std::uint64_t> Store::Impl::lowestForkProof(const PublicKey& author) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
  const std::string prefix = keys::feedPrefix(keys::kForkProof, author);
  it->Seek(prefix);
  if (!it->Valid() || !it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8) return std::nullopt;
  return keys::getU64(std::string_view(it->key().data(), it->key().size()), prefix.size());
}

IngestResult Store::Impl::truncateAndFreeze(const PublicKey& author, std::uint64_t seq, ByteView proof,
                                           const Tip& tip) {
  IngestResult res;
  leveldb::WriteBatch forkBatch;
  forkBatch.Put(keys::forkProofKey(author, seq),
                leveldb::Slice(reinterpret_cast<const char*>(proof.data()), proof.size()));
  // Truncate to seq-1 and freeze: every node holding the proof converges.
  for (std::uint64_t s2 = seq; s2 <= tip.seq; ++s2) {
    std::string v2;
    if (db_->Get(checked(), keys::entryKey(author, s2), &v2).ok() && v2.size() >= 96) {
      Digest id2;
      Digest::fromView(keys::viewOf(std::string_view(v2).substr(0, 32)), id2);
      forkBatch.Delete(keys::idKey(id2));
      record::Header h2;
      if (record::decodeHeader(keys::viewOf(std::string_view(v2).substr(96)), h2).ok()) {
        std::string c2;
        bool have = db_->Get(checked(), keys::contentKey(author, s2), &c2).ok();
        for (const auto& row : indexRows(h2, have ? &c2 : nullptr)) forkBatch.Delete(row);
      }
    }
    forkBatch.Delete(keys::entryKey(author, s2));
    forkBatch.Delete(keys::contentKey(author, s2));
    forkBatch.Delete(keys::wantedKey(author, s2));
  }
  Tip frozen = tip;
  frozen.feed = author;
  frozen.frozen = true;
  if (tip.seq >= seq) {
    frozen.seq = seq - 1;
    frozen.id = Digest{};
    frozen.timestamp = 0;
    if (frozen.seq > 0) {
      std::string v3;
      if (db_->Get(checked(), keys::entryKey(author, frozen.seq), &v3).ok() && v3.size() >= 96) {
        Digest::fromView(keys::viewOf(std::string_view(v3).substr(0, 32)), frozen.id);
        record::Header h3;
        if (record::decodeHeader(keys::viewOf(std::string_view(v3).substr(96)), h3).ok())
          frozen.timestamp = h3.timestamp;
      }
    }
  }
  // A feed not held at all keeps no tip: the proof alone freezes it (its
  // entries before the fork are taken when they come).
  const bool tipRow = frozen.seq > 0;
  if (tipRow) forkBatch.Put(keys::tipKey(author), encodeTip(frozen));
  else forkBatch.Delete(keys::tipKey(author));
  auto s3 = writeDb({}, &forkBatch);
  if (!s3.ok()) {
    res.verdict = Verdict::storeFailed;
    res.detail = "fork at seq " + std::to_string(seq) + " of feed " + author.shortHex() +
                 ": storing the proof failed: " + s3.ToString();
    return res;
  }
  {
    std::unique_lock lk(tipsMu_);
    if (tipRow) tips_[author] = frozen;
    else tips_.erase(author);
  }
  if (tip.seq >= seq)
    if (IngestPolicy* policy = policy_.load())
      if (auto m = policy->truncated(author, frozen.seq))
        (void)applyModeration(*m);  // a failure leaves the previous state; the next change retries
  notifyTips({author});
  res.verdict = Verdict::fork;
  res.detail = "fork at seq " + std::to_string(seq) + " of feed " + author.shortHex() + ": proof stored, feed " +
               (tip.seq >= seq ? "truncated to seq " + std::to_string(frozen.seq) + " and frozen" : "frozen");
  return res;
}

IngestResult Store::Impl::applyForkProofReq(ForkProofReq& req) {
  std::string held;
  if (db_->Get(checked(), keys::forkProofKey(req.author, req.seq), &held).ok()) {
    IngestResult res;
    res.verdict = Verdict::duplicate;
    res.detail = "this fork proof is held already";
    return res;
  }
  Tip tip;
  tip.feed = req.author;
  if (auto t = tipOf(req.author)) tip = *t;
  if (auto lowest = lowestForkProof(req.author); lowest && *lowest < req.seq) {
    // Frozen before this seq already: the proof adds nothing but is kept.
    leveldb::WriteBatch b;
    b.Put(keys::forkProofKey(req.author, req.seq),
          leveldb::Slice(reinterpret_cast<const char*>(req.proof.data()), req.proof.size()));
    IngestResult res;
    auto s = writeDb({}, &b);
    res.verdict = s.ok() ? Verdict::duplicate : Verdict::storeFailed;
    res.detail = s.ok() ? "the feed is frozen at an earlier fork" : s.ToString();
    return res;
  }
  IngestResult res = truncateAndFreeze(req.author, req.seq, req.proof, tip);
  if (res.verdict == Verdict::fork) res.verdict = Verdict::accepted;
  return res;
}

IngestResult Store::Impl::applyIngest(IngestReq& req) {
  IngestResult res;
  auto& run = req.run;
  const PublicKey author = run.front().header.author;
  Tip tip;
  tip.feed = author;
  if (auto t = tipOf(author)) tip = *t;
  // A fork proof freezes a feed: nothing at or past the forked seq is taken
  // again, entries before it still are (a proof may arrive before the feed).
  std::optional<std::uint64_t> forkedAt;
  if (tip.frozen || tip.seq == 0) forkedAt = lowestForkProof(author);
  if (tip.frozen && !forkedAt) forkedAt = tip.seq + 1;
  if (forkedAt && run.front().header.seq >= *forkedAt) {
    res.verdict = Verdict::frozen;
    res.detail = "feed " + author.shortHex() + " is frozen by a fork proof at seq " + std::to_string(*forkedAt);
    return res;
  }

  leveldb::WriteBatch batch;
  std::uint64_t logPos = nextLog_;
  const bool indexNow = indexCaughtUp();
  std::size_t i = 0;
  std::vector<const Entry*> filled;  // held entries whose missing content arrived
  // Entries at seqs already held: duplicates (maybe bringing missing
  // content) or a fork.
  for (; i < run.size() && run[i].header.seq <= tip.seq; ++i) {
    const Entry& e = run[i];
    std::string held;
    auto s = db_->Get(checked(), keys::entryKey(author, e.header.seq), &held);
    if (!s.ok() || held.size() < 96) {
      res.verdict = Verdict::gap;
      res.detail = "seq " + std::to_string(e.header.seq) + " of feed " + author.shortHex() +
                   " is not held here (" + s.ToString() + ")";
      return res;
    }
    Digest heldId;
    Digest::fromView(keys::viewOf(std::string_view(held).substr(0, 32)), heldId);
    if (heldId == e.id) {
      ++res.duplicates;
      if (e.signedEntry.content) {
        std::string dummy;
        bool haveContent = db_->Get(checked(), keys::contentKey(author, e.header.seq), &dummy).ok();
        bool erased = db_->Get(checked(), keys::tombstoneKey(author, e.header.seq), &dummy).ok();
        if (!haveContent && !erased) {
          const Bytes& c = *e.signedEntry.content;
          batch.Put(keys::contentKey(author, e.header.seq),
                    leveldb::Slice(reinterpret_cast<const char*>(c.data()), c.size()));
          batch.Delete(keys::wantedKey(author, e.header.seq));
          putLogRow(batch, e, logPos++);  // its tags and replies can be indexed now
          if (indexNow) putIndexRows(batch, e, true);
          filled.push_back(&e);  // counted once written
        }
      }
      continue;
    }
    // A second entry at a held seq. Both must verify on their own to make a
    // proof that every other node will accept.
    SignedEntry heldSe;
    heldSe.signature = {};
    Signature::fromView(keys::viewOf(std::string_view(held).substr(32, 64)), heldSe.signature);
    heldSe.header.assign(held.begin() + 96, held.end());
    if (!record::verifySignature(e)) {
      res.verdict = Verdict::badSignature;
      res.detail = "entry at seq " + std::to_string(e.header.seq) + " of feed " +
                   author.shortHex() + " conflicts with the one held, and its signature does not verify";
      return res;
    }
    Bytes proof = record::encodeForkProof(heldSe, e.signedEntry);
    {
      // The held entry may have been proven by a later signature only (the
      // chain rule); a proof every other node accepts needs its own too.
      PublicKey pa;
      std::uint64_t ps = 0;
      record::Check pc = record::verifyForkProof(proof, pa, ps);
      if (!pc.ok()) {
        res.verdict = Verdict::prevMismatch;
        res.detail = "entry at seq " + std::to_string(e.header.seq) + " of feed " + author.shortHex() +
                     " conflicts with the one held, but no fork proof can be made (" + pc.describe() +
                     "): nothing changed";
        return res;
      }
    }
    return truncateAndFreeze(author, e.header.seq, proof, tip);
  }

  // New entries: connect the first to the held tip.
  std::size_t end = run.size();
  Verdict cut = Verdict::accepted;
  std::string cutDetail;
  if (i < run.size()) {
    const Entry& first = run[i];
    if (first.header.seq != tip.seq + 1) {
      res.verdict = Verdict::gap;
      res.detail = "run starts at seq " + std::to_string(first.header.seq) + " but feed " +
                   author.shortHex() + " is held up to seq " + std::to_string(tip.seq);
      return res;
    }
    if (tip.seq > 0 && first.header.prev != tip.id) {
      res.verdict = Verdict::prevMismatch;
      res.detail = "seq " + std::to_string(first.header.seq) + " of feed " + author.shortHex() +
                   " links to an entry other than the one held at seq " + std::to_string(tip.seq);
      return res;
    }
    if (first.header.timestamp < tip.timestamp) {
      res.verdict = Verdict::timestampBackwards;
      res.detail = "seq " + std::to_string(first.header.seq) + " of feed " + author.shortHex() +
                   " is stamped earlier than seq " + std::to_string(tip.seq);
      return res;
    }
    // Defer entries stamped too far ahead, and stop at the first entry the
    // policy refuses; keep the verified prefix before either.
    const std::int64_t limit = clock_->nowMs() + record::kMaxFutureSkewMs;
    IngestPolicy* policy = policy_.load();
    for (std::size_t k = i; k < run.size(); ++k) {
      if (forkedAt && run[k].header.seq >= *forkedAt) {
        end = k;
        cut = Verdict::frozen;
        cutDetail = "feed " + author.shortHex() + " is frozen by a fork proof at seq " + std::to_string(*forkedAt);
        break;
      }
      if (run[k].header.timestamp > limit) {
        end = k;
        cut = Verdict::futureTimestamp;
        cutDetail = "seq " + std::to_string(run[k].header.seq) + " of feed " + author.shortHex() +
                    " is stamped more than 10 minutes ahead: deferred";
        break;
      }
      if (policy) {
        Verdict v = policy->judge(run[k].header);
        if (v != Verdict::accepted) {
          end = k;
          cut = v;
          cutDetail = "seq " + std::to_string(run[k].header.seq) + " of feed " + author.shortHex() + ": " +
                      policy->explain(run[k].header, v);
          break;
        }
      }
    }
    if (end < run.size() && end > i && !record::verifySignature(run[end - 1])) {
      // The run's last signature proved the whole run; a prefix needs its own.
      res.verdict = Verdict::badSignature;
      res.detail = "signature of seq " + std::to_string(run[end - 1].header.seq) + " of feed " +
                   author.shortHex() + " does not verify";
      return res;
    }
    for (std::size_t k = i; k < end; ++k) {
      const Entry& e = run[k];
      const record::EntryRef ref{author, e.header.seq, e.id};
      // A takedown (or retraction) may arrive before its target.
      const bool erase = desired_.erased.count(ref) > 0;
      putEntryRows(batch, e, logPos++, !erase);
      if (indexNow) putIndexRows(batch, e, !erase);
      if (erase) {
        batch.Put(keys::tombstoneKey(author, e.header.seq), "erased");
      } else if (!e.signedEntry.content) {
        batch.Put(keys::wantedKey(author, e.header.seq), "");
        ++res.contentMissing;
      }
      if (desired_.hidden.count(ref)) batch.Put(keys::feedPos(keys::kHeld, author, e.header.seq), "takedown");
    }
    if (end > i) {
      Tip nt;
      nt.feed = author;
      nt.frozen = forkedAt.has_value();
      nt.seq = run[end - 1].header.seq;
      nt.id = run[end - 1].id;
      nt.timestamp = run[end - 1].header.timestamp;
      batch.Put(keys::tipKey(author), encodeTip(nt));
      tip = nt;
    }
    res.stored = end - i;
  }

  if (res.stored > 0 || !filled.empty()) {
    if (indexNow) putIndexCursor(batch, logPos - 1);
    auto s = writeDb({}, &batch);  // replicated data: no sync, it can be fetched again
    if (!s.ok()) {
      res = IngestResult{};
      res.verdict = Verdict::storeFailed;
      res.detail = "store write failed: " + s.ToString();
      return res;
    }
    if (res.stored > 0) {
      std::unique_lock lk(tipsMu_);
      tips_[author] = tip;
    }
    ingested_ += res.stored;
    res.contentFilled = filled.size();
    if (res.contentMissing > 0 || res.contentFilled > 0) ++missingGeneration_;
    nextLog_ = logPos;
    committedLog_ = nextLog_ - 1;
    // The policy hears of content that arrived late too (an attestation's
    // content counts only once it is here).
    std::vector<const Entry*> stored = filled;
    for (std::size_t k = i; k < end; ++k) stored.push_back(&run[k]);
    if (!stored.empty()) afterCommit(stored);
    // Only now, after the moderation these entries caused is written: the
    // indexed listeners (search, live events) must not see a post that a
    // retraction or takedown in the same commit erases.
    if (indexNow) markIndexed(committedLog_);
  }

  if (end < run.size()) {
    res.verdict = cut;
    res.detail = cutDetail + (res.stored ? " (" + std::to_string(res.stored) + " before it stored)" : "");
  } else if (res.stored > 0 || res.contentFilled > 0) {
    res.verdict = Verdict::accepted;
  } else {
    res.verdict = Verdict::duplicate;
  }
  return res;
}

void Store::Impl::applyPublishes(std::vector<std::unique_ptr<PublishReq>>& group) {
  std::optional<Digest> net;
  {
    std::shared_lock lk(tipsMu_);
    net = network_;
  }
  leveldb::WriteBatch batch;
  std::map<PublicKey, Tip> newTips;
  std::vector<std::pair<PublishReq*, Entry>> made;
  std::uint64_t logPos = nextLog_;
  const bool indexNow = indexCaughtUp();
  const std::int64_t now = clock_->nowMs();
  for (auto& req : group) {
    if (!net) {
      req->done.set_value(refused("this node belongs to no network yet: nothing can be published"));
      continue;
    }
    const PublicKey& author = req->key->publicKey();
    Tip tip;
    tip.feed = author;
    if (auto it = newTips.find(author); it != newTips.end()) tip = it->second;
    else if (auto t = tipOf(author)) tip = *t;
    if (tip.frozen) {
      req->done.set_value(refused("feed " + author.shortHex() +
                                  " is frozen by a fork proof: it cannot publish again"));
      continue;
    }
    const std::int64_t stamp = std::max(now, tip.timestamp);
    if (IngestPolicy* policy = policy_.load()) {
      if (Status ps = policy->mayPublish(author, stamp); !ps.ok()) {
        req->done.set_value(ps);
        continue;
      }
    }
    record::Header h;
    h.network = *net;
    h.author = author;
    h.seq = tip.seq + 1;
    h.prev = tip.seq ? tip.id : Digest{};
    h.timestamp = stamp;
    h.kind = req->kind;
    Entry e = record::makeEntry(*req->key, h, std::move(req->content));
    putEntryRows(batch, e, logPos++);
    if (indexNow) putIndexRows(batch, e, true);
    Tip nt{author, h.seq, e.id, h.timestamp, false};
    batch.Put(keys::tipKey(author), encodeTip(nt));
    newTips[author] = nt;
    made.emplace_back(req.get(), std::move(e));
  }
  if (!made.empty()) {
    if (indexNow) putIndexCursor(batch, logPos - 1);
    leveldb::WriteOptions wo;
    wo.sync = true;  // acknowledged only once durable
    if (options_.beforeSyncedWrite) options_.beforeSyncedWrite();
    auto s = writeDb(wo, &batch);
    if (s.ok()) {
      ++syncedWrites_;
      published_ += made.size();
    }
    if (!s.ok()) {
      for (auto& [req, e] : made)
        req->done.set_value(ioError("store write failed, nothing published: " + s.ToString()));
    } else {
      {
        std::unique_lock lk(tipsMu_);
        for (auto& [k, t] : newTips) tips_[k] = t;
      }
      nextLog_ = logPos;
      committedLog_ = nextLog_ - 1;
      std::vector<const Entry*> stored;
      for (auto& [req, e] : made) stored.push_back(&e);
      afterCommit(stored);
      if (indexNow) markIndexed(committedLog_);  // after moderation, as in applyIngest
      for (auto& [req, e] : made) req->done.set_value(std::move(e));
    }
  }
  group.clear();
}

Status Store::Impl::indexEntry(leveldb::WriteBatch& b, std::string_view logValue) {
  if (logValue.size() != 32 + 8 + 32) return corruption("malformed arrival log row");
  PublicKey author;
  Digest id;
  PublicKey::fromView(keys::viewOf(logValue.substr(0, 32)), author);
  std::uint64_t seq = keys::getU64(logValue, 32);
  Digest::fromView(keys::viewOf(logValue.substr(40, 32)), id);
  std::string v;
  // Truncated by a fork since it arrived: nothing to index.
  if (!db_->Get(checked(), keys::entryKey(author, seq), &v).ok() || v.size() < 96) return {};
  if (std::memcmp(v.data(), id.bytes.data(), 32) != 0) return {};
  record::Header h;
  if (!record::decodeHeader(keys::viewOf(std::string_view(v).substr(96)), h).ok())
    return corruption("stored header of " + author.shortHex() + "/" + std::to_string(seq) +
                      " does not decode");
  std::string content;
  bool haveContent = db_->Get(checked(), keys::contentKey(author, seq), &content).ok();
  for (const auto& row : indexRows(h, haveContent ? &content : nullptr)) b.Put(row, {});
  return {};
}

// Drops every derived index row in bounded batches, then the cursor (the
// indexer starts again from the arrival log's beginning).
Status Store::Impl::dropIndexes() {
  // One pass (the iterator reads a snapshot, so deleting behind it is
  // safe), a batch per 10,000 rows; then the range is compacted, so the
  // deletions do not slow every later read of it.
  const std::string begin(1, keys::kIndex), end(1, keys::kIndex + 1);
  {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
    leveldb::WriteBatch b;
    std::size_t n = 0;
    for (it->Seek(begin); it->Valid() && it->key()[0] == keys::kIndex; it->Next()) {
      b.Delete(it->key());
      if (++n % 10000 == 0) {
        if (auto s = writeDb({}, &b); !s.ok()) return fromLevelDb(s, "dropping the indexes");
        b.Clear();
      }
    }
    if (!it->status().ok()) return fromLevelDb(it->status(), "reading the indexes");
    if (auto s = writeDb({}, &b); !s.ok()) return fromLevelDb(s, "dropping the indexes");
  }
  const leveldb::Slice from(begin), to(end);
  db_->CompactRange(&from, &to);
  std::string zero;
  keys::putU64(zero, 0);
  leveldb::WriteBatch b;
  b.Put(keys::metaKey(kMetaIndexCursor), zero);
  b.Put(keys::metaKey(kMetaIndexVersion), std::string(kIndexVersion));
  if (auto s = writeDb({}, &b); !s.ok()) return fromLevelDb(s, "resetting the index cursor");
  std::lock_guard lk(indexMu_);
  indexedLog_ = 0;
  return {};
}

Status Store::Impl::applyReindex(const ReindexReq& req) {
  if (auto st = dropIndexes(); !st.ok()) return st;
  runIndexer(req.progress);
  std::lock_guard lk(indexMu_);
  if (indexedLog_ < committedLog_) return ioError("the indexer could not finish: a write failed");
  return {};
}

void Store::Impl::runIndexer(const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  std::uint64_t cursor;
  {
    std::lock_guard lk(indexMu_);
    cursor = indexedLog_;
  }
  const std::uint64_t target = committedLog_;
  while (cursor < target) {
    leveldb::WriteBatch b;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(checked()));
    std::uint64_t last = cursor;
    std::size_t n = 0;
    for (it->Seek(keys::logKey(cursor + 1));
         it->Valid() && n < kIndexStep && it->key().size() == 9 && it->key()[0] == keys::kLog;
         it->Next(), ++n) {
      std::uint64_t pos = keys::getU64(std::string_view(it->key().data(), 9), 1);
      if (pos > target) break;
      // A damaged row is skipped, not retried forever; `verify` reports it.
      (void)indexEntry(b, std::string_view(it->value().data(), it->value().size()));
      last = pos;
    }
    if (last == cursor) last = target;  // no log rows left up to the target
    putIndexCursor(b, last);
    if (!writeDb({}, &b).ok()) return;  // try again after the next commit
    cursor = last;
    markIndexed(cursor);
    if (progress) progress(cursor, target);
  }
}

bool Store::Impl::indexCaughtUp() const {
  std::lock_guard lk(indexMu_);
  return indexedLog_ == committedLog_;
}

void Store::Impl::putIndexRows(leveldb::WriteBatch& b, const Entry& e, bool withContent) {
  std::optional<ByteView> content;
  if (withContent && e.signedEntry.content) content = ByteView(*e.signedEntry.content);
  for (const auto& row : indexRows(e.header, content)) b.Put(row, {});
}

void Store::Impl::markIndexed(std::uint64_t cursor) {
  {
    std::lock_guard lk(indexMu_);
    indexedLog_ = cursor;
  }
  indexCv_.notify_all();
  std::lock_guard lk(listenerMu_);
  for (const auto& [handle, l] : indexedListeners_) l(cursor);
}

void Store::Impl::putIndexCursor(leveldb::WriteBatch& b, std::uint64_t cursor) {
  std::string c;
  keys::putU64(c, cursor);
  b.Put(keys::metaKey(kMetaIndexCursor), c);
}

void Store::Impl::waitIndexed() const {
  const std::uint64_t target = committedLog_;
  std::unique_lock lk(indexMu_);
  // The writer indexes right after each commit; a short bounded wait keeps a
  // failing disk from hanging readers forever.
  indexCv_.wait_for(lk, std::chrono::seconds(5), [&] { return indexedLog_ >= target; });
}

Entry Store::Impl::entryFromRow(std::string_view key, std::string_view value, bool withContent,
                                const leveldb::Snapshot* snap) const {
  Entry e;
  Digest::fromView(keys::viewOf(value.substr(0, 32)), e.id);
  Signature::fromView(keys::viewOf(value.substr(32, 64)), e.signedEntry.signature);
  auto hb = value.substr(96);
  e.signedEntry.header.assign(hb.begin(), hb.end());
  (void)record::decodeHeader(e.signedEntry.header, e.header);
  if (withContent) {
    std::string c;
    std::string ckey(key);
    ckey[0] = keys::kContent;
    const leveldb::Status cs = db_->Get(checked(snap), ckey, &c);
    if (cs.ok()) e.signedEntry.content = Bytes(c.begin(), c.end());
    else if (cs.IsCorruption()) noteCorruption(cs);  // served without it, as if missing
  }
  return e;
}

Result<Entry> Store::Impl::readEntry(const PublicKey& author, std::uint64_t seq,
                                     const leveldb::Snapshot* snap) const {
  std::string key = keys::entryKey(author, seq);
  std::string v;
  auto s = db_->Get(checked(snap), key, &v);
  if (s.IsNotFound())
    return notFound("no entry at seq " + std::to_string(seq) + " of feed " + author.shortHex());
  if (s.IsCorruption()) noteCorruption(s);
  if (!s.ok()) return fromLevelDb(s, "reading entry " + std::to_string(seq) + " of feed " + author.shortHex());
  if (v.size() < 96) return corruption("entry row of " + author.shortHex() + " is damaged");
  return entryFromRow(key, v, true, snap);
}

std::optional<Entry> Store::Impl::loggedEntry(std::string_view v) const {
  if (v.size() != 32 + 8 + 32) return std::nullopt;
  PublicKey author;
  Digest id;
  PublicKey::fromView(keys::viewOf(v.substr(0, 32)), author);
  Digest::fromView(keys::viewOf(v.substr(40, 32)), id);
  auto e = readEntry(author, keys::getU64(v, 32));
  if (!e.ok() || e->id != id) return std::nullopt;
  return std::move(e).value();
}

// ---------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir,
                                           const Options& options) {
  auto impl = std::make_unique<Impl>(dir, options);
  if (Status s = impl->open(); !s.ok()) return s;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::optional<std::uint32_t> Store::upgradedFrom() const { return impl_->upgradedFrom_; }

void Store::setPolicy(IngestPolicy* policy) { impl_->policy_ = policy; }

void Store::setTipListener(TipListener listener) {
  std::lock_guard lk(impl_->listenerMu_);
  impl_->tipListener_ = std::move(listener);
}

int Store::addIndexedListener(IndexedListener listener) {
  std::lock_guard lk(impl_->listenerMu_);
  const int handle = impl_->nextListener_++;
  impl_->indexedListeners_.emplace(handle, std::move(listener));
  return handle;
}

void Store::removeIndexedListener(int handle) {
  std::lock_guard lk(impl_->listenerMu_);
  impl_->indexedListeners_.erase(handle);
}

std::uint64_t Store::committedPosition() const { return impl_->committedLog_; }

std::uint64_t Store::indexedPosition() const {
  impl_->waitIndexed();
  std::lock_guard lk(impl_->indexMu_);
  return impl_->indexedLog_;
}

Status Store::applyModeration(const Moderation& m) {
  auto req = std::make_unique<Impl::ModerationReq>();
  req->moderation = m;
  return impl_->roundTrip(std::move(req));
}

Status Store::reindex(const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  auto req = std::make_unique<Impl::ReindexReq>();
  req->progress = progress;
  return impl_->roundTrip(std::move(req));
}

std::optional<std::string> Store::hiddenReason(const PublicKey& feed, std::uint64_t seq) const {
  Impl::ReadGuard rg(*impl_);
  std::string v;
  if (impl_->db_->Get(checked(), keys::feedPos(keys::kHeld, feed, seq), &v).ok()) return v;
  return std::nullopt;
}

bool Store::isErased(const PublicKey& feed, std::uint64_t seq) const {
  Impl::ReadGuard rg(*impl_);
  std::string v;
  return impl_->db_->Get(checked(), keys::tombstoneKey(feed, seq), &v).ok();
}

bool Store::isContentMissing(const PublicKey& feed, std::uint64_t seq) const {
  Impl::ReadGuard rg(*impl_);
  std::string v;
  return impl_->db_->Get(checked(), keys::wantedKey(feed, seq), &v).ok();
}

std::optional<Digest> Store::network() const {
  std::shared_lock lk(impl_->tipsMu_);
  return impl_->network_;
}

Status Store::setNetwork(const Digest& id) {
  auto req = std::make_unique<Impl::MetaReq>();
  req->isNetwork = true;
  req->key = keys::metaKey(kMetaNetwork);
  req->value.assign(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
  return impl_->roundTrip(std::move(req));
}

Result<Entry> Store::publish(const PrivateKey& key, std::uint16_t kind, Bytes content) {
  if (content.size() > record::kMaxContentBytes)
    return invalidArgument("content is " + std::to_string(content.size()) + " bytes, limit " +
                           std::to_string(record::kMaxContentBytes));
  auto req = std::make_unique<Impl::PublishReq>();
  req->key = &key;
  req->kind = kind;
  req->content = std::move(content);
  auto fut = req->done.get_future();
  fut = impl_->submit(std::move(req), std::move(fut));
  try {
    return fut.get();
  } catch (const std::future_error&) {
    return unavailable("the store is closing");
  }
}

IngestResult Store::ingest(std::vector<SignedEntry> run) {
  IngestResult res;
  if (run.empty()) {
    res.verdict = Verdict::malformed;
    res.detail = "a run holds at least one entry";
    return res;
  }
  auto net = network();
  if (!net) {
    res.verdict = Verdict::noNetwork;
    res.detail = "this node belongs to no network yet";
    return res;
  }
  auto req = std::make_unique<Impl::IngestReq>();
  // The stateless part of the chain rule runs on the caller's thread.
  const std::size_t size = run.size();
  record::Check c = record::verifyRun(std::move(run), *net, req->run);
  if (!c.ok()) {
    res.verdict = c.verdict;
    res.detail = c.detail;
    impl_->countRefused(res, size);
    return res;
  }
  // No room for content: the chain is kept, its content asked for later.
  if (impl_->contentPaused_.load())
    for (auto& e : req->run) e.signedEntry.content.reset();
  res = impl_->ingestRoundTrip(std::move(req));
  impl_->countRefused(res, size);
  return res;
}

Result<Entry> Store::entryById(const Digest& id) const {
  Impl::ReadGuard rg(*impl_);
  std::string pos;
  auto s = impl_->db_->Get(checked(), keys::idKey(id), &pos);
  if (s.IsNotFound()) return notFound("no entry with id " + id.hex());
  if (s.IsCorruption()) impl_->noteCorruption(s);
  if (!s.ok()) return fromLevelDb(s, "reading the id index");
  if (pos.size() != 40) return corruption("id index row of " + id.shortHex() + " is damaged");
  PublicKey author;
  PublicKey::fromView(keys::viewOf(std::string_view(pos).substr(0, 32)), author);
  return impl_->readEntry(author, keys::getU64(pos, 32));
}

Result<Digest> Store::resolveId(std::string_view hexPrefix) const {
  Impl::ReadGuard rg(*impl_);
  if (hexPrefix.size() < 8 || hexPrefix.size() > 64)
    return invalidArgument("an entry id (or its prefix) has 8 to 64 hex characters, got " +
                           std::to_string(hexPrefix.size()));
  if (hexPrefix.size() == 64) return Digest::parseHex(hexPrefix, "entry id");
  // An odd-length prefix is matched on its whole bytes, then on the last nibble.
  std::size_t whole = hexPrefix.size() / 2;
  Bytes prefix(whole);
  auto nibble = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  if (!std::all_of(hexPrefix.begin(), hexPrefix.end(), nibble) ||
      !fromHex(hexPrefix.substr(0, whole * 2), prefix))
    return invalidArgument("entry id prefix \"" + std::string(hexPrefix) + "\" is not hex");
  std::string lower(hexPrefix);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = keys::idKey(Digest{}).substr(0, 1);
  keys::putBytes(key, prefix);
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  std::optional<Digest> found;
  for (it->Seek(key); it->Valid() && it->key().starts_with(key); it->Next()) {
    if (it->key().size() != 33) continue;
    Digest id;
    Digest::fromView(keys::viewOf(std::string_view(it->key().data() + 1, 32)), id);
    if (id.hex().compare(0, lower.size(), lower) != 0) continue;
    if (found)
      return invalidArgument("entry id prefix " + lower + " is ambiguous: give more characters");
    found = id;
  }
  if (!found) return notFound("no entry whose id starts with " + lower);
  return *found;
}

Result<Entry> Store::entryAt(const PublicKey& feed, std::uint64_t seq) const {
  Impl::ReadGuard rg(*impl_);
  return impl_->readEntry(feed, seq);
}

std::vector<Entry> Store::feedRange(const PublicKey& feed, std::uint64_t from, std::size_t maxEntries,
                                    std::size_t maxBytes) const {
  Impl::ReadGuard rg(*impl_);
  std::vector<Entry> out;
  std::size_t bytes = 0;
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  std::string prefix = keys::feedPrefix(keys::kEntry, feed);
  for (it->Seek(keys::entryKey(feed, from));
       it->Valid() && it->key().starts_with(prefix) && out.size() < maxEntries && bytes < maxBytes; it->Next()) {
    if (it->value().size() < 96) continue;
    out.push_back(impl_->entryFromRow(std::string_view(it->key().data(), it->key().size()),
                                      std::string_view(it->value().data(), it->value().size()),
                                      true, nullptr));
    const auto& se = out.back().signedEntry;
    bytes += se.header.size() + se.signature.bytes.size() + (se.content ? se.content->size() : 0);
  }
  return out;
}

std::size_t Store::countReplies(const Position& to, std::size_t max) const {
  impl_->waitIndexed();
  Impl::ReadGuard rg(*impl_);  // after the wait: the writer may need dbMu_ to make progress
  const std::string prefix = keys::byReplyPrefix(to.feed, to.seq);
  std::size_t n = 0;
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && n < max; it->Next()) {
    auto k = std::string_view(it->key().data(), it->key().size());
    if (k.size() != prefix.size() + 8 + 32 + 8) continue;
    PublicKey author;
    PublicKey::fromView(keys::viewOf(k.substr(prefix.size() + 8, 32)), author);
    if (!hiddenReason(author, keys::getU64(k, prefix.size() + 40))) ++n;
  }
  return n;
}

std::vector<Store::Arrival> Store::arrivals(std::uint64_t after, std::size_t max) const {
  Impl::ReadGuard rg(*impl_);
  std::uint64_t upTo;
  {
    std::lock_guard lk(impl_->indexMu_);
    upTo = impl_->indexedLog_;
  }
  std::vector<Arrival> out;
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  for (it->Seek(keys::logKey(after + 1));
       it->Valid() && out.size() < max && it->key().size() == 9 && it->key()[0] == keys::kLog; it->Next()) {
    const std::uint64_t pos = keys::getU64(std::string_view(it->key().data(), 9), 1);
    if (pos > upTo) break;
    out.push_back(Arrival{pos, impl_->loggedEntry(std::string_view(it->value().data(), it->value().size()))});
  }
  return out;
}

std::vector<Entry> Store::scan(const std::optional<Position>& after, std::size_t maxEntries,
                               std::size_t maxBytes) const {
  Impl::ReadGuard rg(*impl_);
  std::vector<Entry> out;
  std::size_t bytes = 0;
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  if (after) {
    it->Seek(keys::entryKey(after->feed, after->seq));
    if (it->Valid() && it->key() == keys::entryKey(after->feed, after->seq)) it->Next();
  } else {
    it->Seek(std::string(1, keys::kEntry));
  }
  for (; it->Valid() && it->key().size() == 41 && it->key()[0] == keys::kEntry &&
         out.size() < maxEntries && (out.empty() || bytes < maxBytes);
       it->Next()) {
    if (it->value().size() < 96) continue;
    out.push_back(impl_->entryFromRow(std::string_view(it->key().data(), it->key().size()),
                                      std::string_view(it->value().data(), it->value().size()),
                                      true, nullptr));
    bytes += out.back().signedEntry.header.size() + 64 +
             (out.back().signedEntry.content ? out.back().signedEntry.content->size() : 0);
  }
  return out;
}

std::optional<Tip> Store::tip(const PublicKey& feed) const { return impl_->tipOf(feed); }

std::vector<Tip> Store::tips() const {
  std::shared_lock lk(impl_->tipsMu_);
  std::vector<Tip> out;
  out.reserve(impl_->tips_.size());
  for (const auto& [k, t] : impl_->tips_) out.push_back(t);
  return out;
}

namespace {
// SHA-256 over the sorted (feed, seq, id) of every tip.
Digest digestOfTips(const std::map<PublicKey, Tip>& tips) {
  Sha256 h;
  for (const auto& [k, t] : tips) {  // std::map: sorted by feed key
    std::string row;
    keys::putBytes(row, t.feed.view());
    keys::putU64(row, t.seq);
    keys::putBytes(row, t.id.view());
    h.update(keys::viewOf(row));
  }
  return h.finish();
}
}  // namespace

Digest Store::frontierDigest() const {
  std::shared_lock lk(impl_->tipsMu_);
  return digestOfTips(impl_->tips_);
}

Counts Store::counts() const {
  std::shared_lock lk(impl_->tipsMu_);
  Counts c;
  c.feeds = impl_->tips_.size();
  for (const auto& [k, t] : impl_->tips_) c.entries += t.seq;  // feeds are contiguous from 1
  return c;
}

std::vector<Entry> Store::list(const Query& q, std::optional<ListCursor>* stoppedAt) const {
  if (q.waitIndexed) impl_->waitIndexed();
  Impl::ReadGuard rg(*impl_);  // after the wait: the writer may need dbMu_ to make progress
  std::vector<Entry> out;
  if (stoppedAt) stoppedAt->reset();
  if (q.limit == 0) return out;
  std::size_t scanned = 0;
  // True when the scan bound is reached with the page not full: where it stopped.
  auto bounded = [&](std::int64_t time, const PublicKey& author, std::uint64_t seq) {
    if (q.maxScanned == 0 || ++scanned < q.maxScanned || out.size() >= q.limit) return false;
    if (stoppedAt) *stoppedAt = ListCursor{time, author, seq};
    return true;
  };
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));

  // An index row exists (a cheap check instead of decoding content).
  auto hasRow = [&](const std::string& key) {
    std::string v;
    return impl_->db_->Get(checked(), key, &v).ok();
  };
  auto matches = [&](const Entry& e, bool viaThreads) {
    const auto& h = e.header;
    if (q.author && h.author != *q.author) return false;
    if (q.kind && h.kind != *q.kind) return false;
    if (q.threadsOnly && !viaThreads && !hasRow(keys::indexKey(keys::threadPrefix(), h.timestamp, h.author, h.seq)))
      return false;
    if (q.tag && (q.repliesTo || q.revisionsOf) &&
        !hasRow(keys::indexKey(keys::byTagPrefix(*q.tag), h.timestamp, h.author, h.seq)))
      return false;
    if (!q.includeHidden && hiddenReason(h.author, h.seq)) return false;
    return !q.filter || q.filter(e);
  };
  // Positions the iterator on the newest row of `prefix` older than q.after.
  auto seekNewest = [&](const std::string& prefix, const std::string& afterKey) {
    it->Seek(afterKey.empty() ? keys::prefixEnd(prefix) : afterKey);
    if (it->Valid()) it->Prev(); else it->SeekToLast();
  };

  if (q.author && !q.tag && !q.repliesTo && !q.revisionsOf) {
    // A feed is in time order already: walk it backwards from its tip.
    std::string prefix = keys::feedPrefix(keys::kEntry, *q.author);
    seekNewest(prefix, q.after ? keys::entryKey(*q.author, q.after->seq) : std::string());
    for (; it->Valid() && it->key().starts_with(prefix) && out.size() < q.limit; it->Prev()) {
      if (it->value().size() < 96) continue;
      Entry e = impl_->entryFromRow(std::string_view(it->key().data(), it->key().size()),
                                    std::string_view(it->value().data(), it->value().size()),
                                    true, nullptr);
      const ListCursor at{e.header.timestamp, e.header.author, e.header.seq};
      if (matches(e, false)) out.push_back(std::move(e));
      if (bounded(at.time, at.author, at.seq)) break;
    }
    return out;
  }

  const bool viaThreads = q.threadsOnly && !q.tag && !q.repliesTo && !q.revisionsOf;
  std::string prefix = q.repliesTo     ? keys::byReplyPrefix(q.repliesTo->feed, q.repliesTo->seq)
                       : q.revisionsOf ? keys::byRevisedPrefix(q.revisionsOf->feed, q.revisionsOf->seq)
                       : q.tag         ? keys::byTagPrefix(*q.tag)
                       : viaThreads    ? keys::threadPrefix()
                       : q.kind        ? keys::byKindPrefix(*q.kind)
                                       : keys::byTimePrefix();
  if (!q.after) {
    // Most threads have no revisions and no replies: one forward Seek
    // says so, where seekNewest's Prev must step every table's iterator.
    it->Seek(prefix);
    if (!it->Valid() || !it->key().starts_with(prefix)) return out;
  }
  seekNewest(prefix, q.after ? keys::indexKey(prefix, q.after->time, q.after->author, q.after->seq) : std::string());
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < q.limit; it->Prev()) {
    auto k = std::string_view(it->key().data(), it->key().size());
    if (k.size() != prefix.size() + 8 + 32 + 8) continue;
    PublicKey author;
    PublicKey::fromView(keys::viewOf(k.substr(prefix.size() + 8, 32)), author);
    std::uint64_t seq = keys::getU64(k, prefix.size() + 40);
    const std::int64_t time = keys::getTime(k, prefix.size());
    auto e = impl_->readEntry(author, seq);
    if (e.ok() && matches(*e, viaThreads)) out.push_back(std::move(e).value());
    if (bounded(time, author, seq)) break;
  }
  return out;
}

Stats Store::stats() const {
  Stats st;
  st.syncedWrites = impl_->syncedWrites_;
  st.published = impl_->published_;
  st.ingested = impl_->ingested_;
  {
    std::lock_guard lk(impl_->writeErrorMu_);
    st.writeErrors = impl_->writeErrors_;
    st.lastWriteError = impl_->lastWriteError_;
    st.lastWriteErrorMs = impl_->lastWriteErrorMs_;
    st.readCorruptions = impl_->readCorruptions_;
    st.lastReadCorruption = impl_->lastReadCorruption_;
  }
  st.writesStopped = impl_->writeBroken_;
  st.reopens = impl_->reopens_;
  for (std::size_t v = 0; v < impl_->refused_.size(); ++v)
    if (const std::uint64_t n = impl_->refused_[v].load())
      st.refused[static_cast<Verdict>(v)] = n;
  std::lock_guard lk(impl_->queueMu_);
  st.queued = impl_->queue_.size();
  return st;
}

IngestResult Store::applyForkProof(const Bytes& proof) {
  auto req = std::make_unique<Impl::ForkProofReq>();
  Digest net;
  record::Check c = record::verifyForkProof(proof, req->author, req->seq, &net);
  IngestResult res;
  if (!c.ok()) {
    res.verdict = c.verdict;
    res.detail = "fork proof: " + c.detail;
    return res;
  }
  auto mine = network();
  if (!mine || net != *mine) {
    res.verdict = Verdict::wrongNetwork;
    res.detail = "fork proof of feed " + req->author.shortHex() + " is of network " + net.shortHex();
    return res;
  }
  req->proof = proof;
  return impl_->ingestRoundTrip(std::move(req));
}

std::vector<Position> Store::missingContent(const std::optional<Position>& after, std::size_t max) const {
  Impl::ReadGuard rg(*impl_);
  std::vector<Position> out;
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  const std::string prefix(1, keys::kWanted);
  if (after) {
    it->Seek(keys::wantedKey(after->feed, after->seq));
    if (it->Valid() && it->key() == keys::wantedKey(after->feed, after->seq)) it->Next();
  } else {
    it->Seek(prefix);
  }
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < max; it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.size() != 41) continue;
    Position p;
    PublicKey::fromView(keys::viewOf(k.substr(1, 32)), p.feed);
    p.seq = keys::getU64(k, 33);
    out.push_back(p);
  }
  return out;
}

std::uint64_t Store::missingContentGeneration() const { return impl_->missingGeneration_; }

void Store::setContentPaused(bool paused) {
  if (impl_->contentPaused_.exchange(paused) && !paused)
    ++impl_->missingGeneration_;  // sessions look at what is missing again, and ask for it
}

bool Store::contentPaused() const { return impl_->contentPaused_.load(); }

std::vector<Bytes> Store::forkProofs(const PublicKey& feed) const {
  Impl::ReadGuard rg(*impl_);
  std::vector<Bytes> out;
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  std::string prefix = keys::feedPrefix(keys::kForkProof, feed);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
    out.emplace_back(it->value().data(), it->value().data() + it->value().size());
  return out;
}

VerifyReport Store::verify(const std::function<bool(std::uint64_t, std::uint64_t)>& progress) const {
  Impl::ReadGuard rg(*impl_);
  VerifyReport r;
  leveldb::DB* db = impl_->db_.get();
  const leveldb::Snapshot* snap = db->GetSnapshot();
  leveldb::ReadOptions ro = checked(snap);
  ro.fill_cache = false;

  // Tips as of the snapshot.
  std::map<PublicKey, Tip> tips;
  {
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(ro));
    std::string prefix(1, keys::kTip);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      Tip t;
      if (decodeTip(std::string_view(it->key().data(), it->key().size()),
                    std::string_view(it->value().data(), it->value().size()), t))
        tips[t.feed] = t;
      else
        r.problems.push_back("a tip row is malformed");
    }
  }
  std::uint64_t total = 0;
  for (auto& [k, t] : tips) total += t.seq;
  std::optional<Digest> network = this->network();

  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(ro));
  std::optional<PublicKey> feed;
  std::uint64_t expectSeq = 1;
  Digest prevId;
  std::int64_t prevTime = 0;
  auto finishFeed = [&] {
    if (!feed) return;
    ++r.feeds;
    auto t = tips.find(*feed);
    if (t == tips.end()) {
      r.problems.push_back("feed " + feed->shortHex() + " has entries but no tip");
    } else {
      if (t->second.seq != expectSeq - 1)
        r.problems.push_back("feed " + feed->shortHex() + ": tip says seq " +
                             std::to_string(t->second.seq) + ", entries end at " +
                             std::to_string(expectSeq - 1));
      else if (t->second.id != prevId)
        r.problems.push_back("feed " + feed->shortHex() + ": tip id differs from the last entry's id");
      tips.erase(t);
    }
  };
  for (it->Seek(std::string(1, keys::kEntry)); it->Valid() && it->key()[0] == keys::kEntry;
       it->Next()) {
    auto k = std::string_view(it->key().data(), it->key().size());
    auto v = std::string_view(it->value().data(), it->value().size());
    if (k.size() != 41 || v.size() < 96) {
      r.problems.push_back("a malformed entry row");
      continue;
    }
    PublicKey author;
    PublicKey::fromView(keys::viewOf(k.substr(1, 32)), author);
    std::uint64_t seq = keys::getU64(k, 33);
    if (!feed || author != *feed) {
      finishFeed();
      feed = author;
      expectSeq = 1;
      prevId = Digest{};
      prevTime = std::numeric_limits<std::int64_t>::min();
    }
    std::string where = "feed " + author.shortHex() + " seq " + std::to_string(seq);
    ++r.entries;
    Entry e = impl_->entryFromRow(k, v, true, snap);
    record::Header h;
    record::Check hc = record::decodeHeader(e.signedEntry.header, h);
    if (!hc.ok()) {
      r.problems.push_back(where + ": " + hc.describe());
    } else {
      if (h.author != author || h.seq != seq)
        r.problems.push_back(where + ": header names another feed position");
      if (seq != expectSeq)
        r.problems.push_back(where + ": expected seq " + std::to_string(expectSeq) + " (a gap)");
      if (seq > 1 && h.prev != prevId)
        r.problems.push_back(where + ": prev does not link to the entry before it");
      if (h.timestamp < prevTime) r.problems.push_back(where + ": timestamp goes backwards");
      if (network && h.network != *network)
        r.problems.push_back(where + ": belongs to another network");
      Digest id = record::entryId(e.signedEntry.header, e.signedEntry.signature);
      if (id != e.id) r.problems.push_back(where + ": stored id does not match its bytes");
      if (!record::verifySignature(e)) r.problems.push_back(where + ": signature does not verify");
      ++r.signaturesChecked;
      if (e.signedEntry.content) {
        ++r.contentChecked;
        if (e.signedEntry.content->size() != h.contentSize ||
            sha256(*e.signedEntry.content) != h.contentHash)
          r.problems.push_back(where + ": content does not match its hash");
      }
      std::string pos;
      const leveldb::Status ps = db->Get(ro, keys::idKey(id), &pos);
      if (ps.IsCorruption()) {
        impl_->noteCorruption(ps);  // health says so too
        r.problems.push_back(where + ": its id index row is in a damaged block (" + ps.ToString() + ")");
      }
      else if (!ps.ok() || pos.size() != 40 || pos.compare(0, 32, std::string(k.substr(1, 32))) != 0 ||
               keys::getU64(pos, 32) != seq)
        r.problems.push_back(where + ": id index does not point here");
      prevTime = h.timestamp;
    }
    prevId = e.id;
    expectSeq = seq + 1;
    if (progress && (r.entries % 1024 == 0) && !progress(r.entries, total)) {
      r.stopped = true;
      break;
    }
  }
  if (r.stopped) {
    db->ReleaseSnapshot(snap);
    return r;
  }
  finishFeed();
  for (auto& [k, t] : tips)
    if (t.seq > 0)
      r.problems.push_back("feed " + k.shortHex() + " has a tip at seq " + std::to_string(t.seq) +
                           " but no entries");
    else
      ++r.feeds;  // a feed frozen before its first entry
  if (!it->status().ok()) {
    if (it->status().IsCorruption()) impl_->noteCorruption(it->status());
    r.problems.push_back("reading the store: " + it->status().ToString());
  }
  if (progress) progress(r.entries, total);
  db->ReleaseSnapshot(snap);
  return r;
}

// --- backup and restore ---

namespace {

// Meta rows a backup leaves out: the indexer's, rebuilt on restore.
bool derivedMeta(std::string_view key) {
  return key == keys::metaKey(kMetaIndexCursor) || key == keys::metaKey(kMetaIndexVersion);
}

class SnapshotBackup final : public BackupSource {
 public:
  // Holds `mu` shared for its whole life (the store's database cannot be
  // reopened under it), and reads `db` as of the moment it was made.
  SnapshotBackup(std::shared_mutex& mu, const std::unique_ptr<leveldb::DB>& db, std::filesystem::path dir)
      : hold_(mu), db_(db.get()), dir_(std::move(dir)), snap_(db_->GetSnapshot()) {
    ro_ = checked(snap_);
    ro_.fill_cache = false;
  }
  ~SnapshotBackup() override {
    it_.reset();
    db_->ReleaseSnapshot(snap_);
  }

  Status load() {
    std::string v;
    auto s = db_->Get(ro_, keys::metaKey(kMetaSchemaVersion), &v);
    if (!s.ok()) return fromLevelDb(s, "reading the store's schema version");
    auto schema = parseSchemaVersion(v, dir_);
    if (!schema.ok()) return schema.status();
    schema_ = *schema;
    std::map<PublicKey, Tip> tips;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro_));
    const std::string prefix(1, keys::kTip);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      Tip t;
      if (!decodeTip(std::string_view(it->key().data(), it->key().size()),
                     std::string_view(it->value().data(), it->value().size()), t))
        return corruption("the store holds a malformed tip row (run civnetctl verify)");
      tips[t.feed] = t;
      counts_.entries += t.seq;
    }
    if (!it->status().ok()) return fromLevelDb(it->status(), "reading tips");
    counts_.feeds = tips.size();
    frontier_ = digestOfTips(tips);
    it_.reset(db_->NewIterator(ro_));
    it_->SeekToFirst();
    return {};
  }

  std::uint32_t schemaVersion() const override { return schema_; }
  Digest frontier() const override { return frontier_; }
  Counts counts() const override { return counts_; }
  Status status() const override { return status_; }

  bool next(std::size_t maxBytes, const std::function<void(std::string_view, std::string_view)>& row) override {
    std::size_t bytes = 0;
    while (it_->Valid() && bytes < maxBytes) {
      std::string_view k(it_->key().data(), it_->key().size());
      const char table = k.front();
      if (table == keys::kIndex || table == static_cast<char>(LocalTable::session)) {
        it_->Seek(keys::prefixEnd(std::string(1, table)));  // skip the whole table
        continue;
      }
      if (!(table == keys::kMeta && derivedMeta(k))) {
        std::string_view v(it_->value().data(), it_->value().size());
        row(k, v);
        bytes += k.size() + v.size() + 8;
      }
      it_->Next();
    }
    if (!it_->status().ok()) {
      status_ = fromLevelDb(it_->status(), "reading the store for the backup");
      return false;
    }
    return it_->Valid();
  }

 private:
  std::shared_lock<std::shared_mutex> hold_;  // first: taken before db_ is read
  leveldb::DB* db_;
  std::filesystem::path dir_;
  const leveldb::Snapshot* snap_;
  leveldb::ReadOptions ro_;
  std::unique_ptr<leveldb::Iterator> it_;
  std::uint32_t schema_ = 0;
  Digest frontier_;
  Counts counts_;
  Status status_;
};

class LevelDbRestore final : public RestoreSink {
 public:
  explicit LevelDbRestore(std::unique_ptr<leveldb::DB> db, std::filesystem::path dir)
      : db_(std::move(db)), dir_(std::move(dir)) {}

  Status add(std::string_view key, std::string_view value) override {
    static constexpr std::string_view kTables = "echtdxqwlma";  // keys.hpp's tables but the derived ones
    if (key.empty() || kTables.find(key.front()) == std::string_view::npos)
      return corruption("the backup holds a store row of an unknown table (key starts with byte " +
                        std::to_string(static_cast<unsigned char>(key.front())) + ")");
    if (key.front() == keys::kMeta && derivedMeta(key)) return {};
    batch_.Put(leveldb::Slice(key.data(), key.size()), leveldb::Slice(value.data(), value.size()));
    pending_ += key.size() + value.size();
    if (pending_ >= 4 * 1024 * 1024) return flush(false);
    return {};
  }

  Status finish() override {
    if (!db_) return internalError("restore finished twice");
    Status s = flush(true);
    db_.reset();
    return s;
  }

 private:
  Status flush(bool sync) {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    auto s = db_->Write(wo, &batch_);
    batch_.Clear();
    pending_ = 0;
    if (!s.ok()) return fromLevelDb(s, "writing the restored store " + dir_.string());
    return {};
  }
  std::unique_ptr<leveldb::DB> db_;
  std::filesystem::path dir_;
  leveldb::WriteBatch batch_;
  std::size_t pending_ = 0;
};

}  // namespace

Result<std::unique_ptr<BackupSource>> Store::backup() const {
  auto b = std::make_unique<SnapshotBackup>(impl_->dbMu_, impl_->db_, impl_->dir_);
  if (auto s = b->load(); !s.ok()) return s;
  return std::unique_ptr<BackupSource>(std::move(b));
}

Result<std::unique_ptr<RestoreSink>> Store::restoreInto(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec))
    return alreadyExists("store " + dir.string() + " exists already: a backup is restored into a new store only");
  leveldb::Options lo;
  lo.create_if_missing = true;
  lo.error_if_exists = true;
  setTableSizes(lo);
  leveldb::DB* raw = nullptr;
  auto s = leveldb::DB::Open(lo, dir.string(), &raw);
  if (!s.ok()) return fromLevelDb(s, "creating the store " + dir.string());
  return std::unique_ptr<RestoreSink>(new LevelDbRestore(std::unique_ptr<leveldb::DB>(raw), dir));
}

namespace {

// Fills the new store `st` from the readable rows of `old` (see
// Store::salvage). Fails if reading `old` meets an error.
Result<SalvageReport> salvageRows(leveldb::DB& old, Store& st, const std::function<void(const std::string&)>& say) {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  SalvageReport r;
  // One feed at a time, in seq order (the key order), in runs of up to
  // 256: ingest checks every signature and link as it would a peer's.
  PublicKey feed;
  bool haveFeed = false, dead = false;
  std::uint64_t expect = 1, droppedHere = 0, firstDropped = 0;
  std::string why;
  std::vector<record::SignedEntry> run;
  // A refused run is taken again one entry at a time, so that everything
  // before the refused entry is kept; an entry refused with its content is
  // taken without it (the content is asked of peers), since damage in the
  // content does not make the signed header less valid.
  auto ingestRun = [&] {
    if (run.empty() || dead) return;
    const std::uint64_t n = run.size(), first = expect - n;
    std::vector<record::SignedEntry> again = run;
    IngestResult res = st.ingest(std::move(run));
    run.clear();
    r.contentMissing += res.contentMissing;
    std::uint64_t taken = res.stored + res.duplicates;
    if (taken == n) {
      r.entriesKept += taken;
      return;
    }
    taken = 0;  // nothing of a refused run is written
    for (auto& e : again) {
      IngestResult one = st.ingest({e});
      if (one.stored + one.duplicates == 0 && e.content) {
        e.content.reset();
        IngestResult bare = st.ingest({e});
        if (bare.stored + bare.duplicates == 1) {
          ++r.contentDamaged;
          one = bare;
        }
      }
      if (one.stored + one.duplicates == 0) {
        dead = true;
        droppedHere += n - taken;
        firstDropped = first + taken;
        why = "seq " + std::to_string(firstDropped) + " refused (" + one.detail + ")";
        break;
      }
      r.contentMissing += one.contentMissing;  // 0 for a duplicate: counted in `res`
      ++taken;
    }
    r.entriesKept += taken;
  };
  auto endFeed = [&] {
    ingestRun();
    if (!haveFeed) return;
    const std::uint64_t kept = firstDropped ? firstDropped - 1 : expect - 1;
    if (kept > 0) ++r.feeds;
    if (droppedHere > 0) {
      r.entriesDropped += droppedHere;
      r.notes.push_back("feed " + feed.hex() + ": kept seq 1.." + std::to_string(kept) + "; " + why + ", " +
                        std::to_string(droppedHere) + " dropped");
    }
  };
  std::vector<LocalWrite> accounts;
  std::vector<std::pair<std::string, std::string>> meta;
  std::vector<Bytes> proofs;
  std::unique_ptr<leveldb::Iterator> it(old.NewIterator(ro));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view k(it->key().data(), it->key().size());
    const std::string_view v(it->value().data(), it->value().size());
    ++r.rowsRead;
    if (r.rowsRead % 200000 == 0) say("read " + std::to_string(r.rowsRead) + " rows");
    switch (k.front()) {
      case static_cast<char>(LocalTable::account):
        accounts.push_back({LocalTable::account, std::string(k.substr(1)), std::string(v)});
        break;
      case static_cast<char>(LocalTable::session):
        ++r.sessionsDropped;
        break;
      case keys::kMeta:
        if (k.substr(1).starts_with("x.")) meta.emplace_back(std::string(k.substr(3)), std::string(v));
        break;
      case keys::kForkProof:
        proofs.emplace_back(v.begin(), v.end());
        break;
      case keys::kEntry: {
        ++r.entriesFound;
        if (k.size() != 1 + 32 + 8 || v.size() <= 96) {
          ++r.entriesDropped;  // not a row this store writes: nothing to salvage
          break;
        }
        PublicKey author;
        PublicKey::fromView(keys::viewOf(k.substr(1, 32)), author);
        const std::uint64_t seq = keys::getU64(k, 33);
        if (!haveFeed || author != feed) {
          endFeed();
          feed = author;
          haveFeed = true;
          dead = false;
          expect = 1;
          droppedHere = firstDropped = 0;
          why.clear();
        }
        if (!dead && seq != expect) {
          ingestRun();
          if (!dead) {
            dead = true;
            firstDropped = expect;
            why = "seq " + std::to_string(expect) + " lost and the entries found after it";
          }
        }
        if (dead) {
          ++droppedHere;
          break;
        }
        record::SignedEntry e;
        Signature::fromView(keys::viewOf(v.substr(32, 64)), e.signature);
        const std::string_view hb = v.substr(96);
        e.header.assign(hb.begin(), hb.end());
        std::string c;
        std::string ck(k);
        ck[0] = keys::kContent;
        if (old.Get(ro, ck, &c).ok()) e.content = Bytes(c.begin(), c.end());
        run.push_back(std::move(e));
        ++expect;
        if (run.size() >= 256) ingestRun();
        break;
      }
      default:
        break;  // derived rows (ids, tips, the arrival log, indexes): made again by ingest
    }
  }
  endFeed();
  if (!it->status().ok()) return fromLevelDb(it->status(), "reading the store");
  it.reset();
  say("stored " + std::to_string(r.entriesKept) + " of the " + std::to_string(r.entriesFound) + " entries found");

  for (const Bytes& p : proofs) {
    IngestResult res = st.applyForkProof(p);
    if (res.verdict == Verdict::accepted || res.verdict == Verdict::duplicate) ++r.forkProofs;
  }
  r.accounts = accounts.size();
  if (!accounts.empty())
    if (auto s = st.writeLocal(std::move(accounts)); !s.ok()) return s;
  for (const auto& [name, value] : meta) {
    if (auto s = st.putMeta(name, value); !s.ok()) return s;
    ++r.metaKept;
  }
  return r;
}

}  // namespace

Result<SalvageReport> Store::salvage(const std::filesystem::path& damaged, const std::filesystem::path& scratch,
                                     const std::filesystem::path& into, const Digest& network,
                                     const std::function<void(const std::string&)>& progress) {
  namespace fs = std::filesystem;
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  std::error_code ec;
  if (!fs::is_directory(damaged, ec) || (!fs::exists(damaged / "CURRENT", ec) && !fs::exists(damaged / "LOCK", ec)))
    return notFound("store " + damaged.string() + " does not exist or holds no LevelDB files");
  if (fs::exists(into, ec)) return alreadyExists("store " + into.string() + " exists already");
  fs::remove_all(scratch, ec);
  fs::copy(damaged, scratch, fs::copy_options::recursive, ec);
  if (ec) return ioError("copying " + damaged.string() + " to " + scratch.string() + ": " + ec.message());
  struct RemoveScratch {
    fs::path dir;
    ~RemoveScratch() {
      std::error_code e;
      fs::remove_all(dir, e);
    }
  } removeScratch{scratch};

  // Two ways to read the copy. First, LevelDB's own recovery without
  // paranoid checks: it replays the log with checksums, skipping damaged
  // records, and the rows are then read with checksums too. Where that
  // fails (a damaged MANIFEST, a damaged table block), LevelDB's repair:
  // it rebuilds the MANIFEST from the files and keeps what it can read of
  // them, but reads the log without checksums, so damaged bytes there can
  // come through as data. Entries are checked again by ingest either way;
  // the node-local rows (accounts, settings) cannot be.
  leveldb::Options lo;
  setTableSizes(lo);
  lo.paranoid_checks = false;
  Result<SalvageReport> out = internalError("no attempt");
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1) {
      say("LevelDB's repair of the copy: " + out.status().message());
      if (auto rs = leveldb::RepairDB(scratch.string(), lo); !rs.ok())
        return fromLevelDb(rs, "repairing a copy of " + damaged.string());
    }
    leveldb::DB* raw = nullptr;
    if (auto os = leveldb::DB::Open(lo, scratch.string(), &raw); !os.ok()) {
      out = corruption(os.ToString());
      continue;
    }
    std::unique_ptr<leveldb::DB> old(raw);
    {
      std::string v;
      Digest held;
      if (old->Get(leveldb::ReadOptions(), keys::metaKey(kMetaNetwork), &v).ok() &&
          Digest::fromView(keys::viewOf(v), held) && held != network)
        return refused("store " + damaged.string() + " is of another network than genesis.bin (" +
                       network.shortHex() + ")");
    }
    fs::remove_all(into, ec);
    Options so;
    so.createIfMissing = true;
    auto made = Store::open(into, so);
    if (!made.ok()) return made.status();
    if (auto s = (*made)->setNetwork(network); !s.ok()) return s;
    out = salvageRows(*old, **made, say);
    if (!out.ok() && out.status().code() != StatusCode::corruption) return out.status();
    if (!out.ok()) continue;
    out->repairedByLevelDb = attempt == 1;
    say("verifying every chain and signature of the new store");
    VerifyReport v = (*made)->verify();
    if (!v.ok())
      return corruption("the salvaged store does not verify (" + std::to_string(v.problems.size()) +
                        " problems; first: " + (v.problems.empty() ? std::string("stopped") : v.problems.front()) +
                        ")");
    (void)(*made)->indexedPosition();  // the indexes complete before the store closes
    return out;
  }
  fs::remove_all(into, ec);
  return corruption("even after LevelDB's repair, the copy of " + damaged.string() +
                    " cannot be read: " + out.status().message());
}

std::optional<std::string> Store::getLocal(LocalTable table, std::string_view key) const {
  Impl::ReadGuard rg(*impl_);
  std::string v;
  if (impl_->db_->Get(checked(), std::string(1, static_cast<char>(table)) + std::string(key), &v).ok()) return v;
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> Store::listLocal(LocalTable table, std::string_view prefix) const {
  Impl::ReadGuard rg(*impl_);
  std::vector<std::pair<std::string, std::string>> out;
  const std::string start = std::string(1, static_cast<char>(table)) + std::string(prefix);
  std::unique_ptr<leveldb::Iterator> it(impl_->db_->NewIterator(checked()));
  for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next())
    out.emplace_back(std::string(it->key().data() + 1, it->key().size() - 1), it->value().ToString());
  return out;
}

Status Store::writeLocal(std::vector<LocalWrite> writes) {
  auto req = std::make_unique<Impl::LocalReq>();
  req->writes = std::move(writes);
  return impl_->roundTrip(std::move(req));
}

std::optional<std::string> Store::getMeta(const std::string& name) const {
  Impl::ReadGuard rg(*impl_);
  std::string v;
  if (impl_->db_->Get(checked(), keys::metaKey("x." + name), &v).ok()) return v;
  return std::nullopt;
}

Status Store::putMeta(const std::string& name, const std::string& value) {
  auto req = std::make_unique<Impl::MetaReq>();
  // Callers' names live under "x." so they cannot clobber the store's own.
  req->key = keys::metaKey("x." + name);
  req->value = value;
  return impl_->roundTrip(std::move(req));
}

}  // namespace civnet::store

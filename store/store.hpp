// The node store: one LevelDB database holding feeds of signed entries, their
// content, tips, tombstones, fork proofs, derived indexes and node metadata.
//
// Knows nothing of sockets. Layout (keys start with a one-byte table tag;
// integers big-endian so ranges sort) is in store/keys.hpp and docs/store.md.
//
// Threads: every write goes through one writer thread. Local publishes are
// group-committed: concurrent publish() calls share one synced WriteBatch and
// each returns only after that write is durable. Ingested runs are written
// without sync (they can be fetched again). An indexer on the same thread
// follows a cursor over the arrival log right after each commit, so derived
// indexes lag after a crash but never diverge. Reads may come from any
// thread at any time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schemas/content.hpp"
#include "schemas/crypto.hpp"
#include "schemas/record.hpp"
#include "schemas/status.hpp"

namespace civnet::store {

// Wall-clock time in ms since the Unix epoch; an interface so tests can
// set the time (future timestamps, expiry).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t nowMs() const = 0;
};
const Clock& systemClock();

// What the membership rules say must be hidden, erased or purged: the whole
// desired state, which the store brings its `q` (held) and `d` (tombstone)
// rows and its feeds in line with. Erasure and purging are final.
struct Moderation {
  std::set<record::EntryRef> hidden;            // shown to no one (one steward's takedown)
  std::set<record::EntryRef> erased;            // content deleted, tombstone kept
  std::map<PublicKey, std::uint64_t> holdAfter;  // suspended: entries after seq hidden
  std::map<PublicKey, std::uint64_t> purgeAfter; // revoked: entries after seq deleted
  bool operator==(const Moderation&) const = default;
};

// Who may write to the store, decided above it (the membership rules live in
// federation/, which the store may not include). Called on the writer
// thread only, never concurrently; implementations must not call back into
// the store's write methods.
class IngestPolicy {
 public:
  virtual ~IngestPolicy() = default;
  // May this verified entry from elsewhere be stored? Anything but accepted
  // cuts the run before it (the verified prefix is kept) and is reported.
  virtual record::Verdict judge(const record::Header& h) = 0;
  // One line on why judge() refused `h` ("feed ... is admitted by 1 of 2
  // stewards"), for the refusal's detail. Called right after judge().
  virtual std::string explain(const record::Header& h, record::Verdict v) {
    (void)h;
    return record::toString(v);
  }
  // May this node publish to `feed` now? ok, or why not.
  virtual Status mayPublish(const PublicKey& feed, std::int64_t timestamp) = 0;
  // Right after a batch is durable: the entries it stored, in order (and
  // held entries whose missing content it brought). Returns
  // the new moderation when these entries changed it; the store applies it
  // at once, in one batch.
  virtual std::optional<Moderation> committed(const std::vector<const record::Entry*>& stored) = 0;
  // Right after a fork proof truncated `feed` to `keptSeq` (its entries
  // after that are gone). Returns the new moderation when losing them
  // changed it (an attestation among them no longer counts).
  virtual std::optional<Moderation> truncated(const PublicKey& feed, std::uint64_t keptSeq) = 0;
};

// The on-disk layout version this build writes. Opening a store written
// with a higher version is refused.
inline constexpr std::uint32_t kSchemaVersion = 2;  // 2: w rows (missing content)

// The LevelDB sizes every store is written with (the benchmarks' raw
// LevelDB put uses them too, so that it is the store's own ceiling).
// A 32 MiB memtable and 16 KiB blocks: at a million entries on 2 cores,
// LevelDB's one compaction thread is what ingest waits for, and these cut
// ingest's cost per entry there by about 40% against 16 MiB and 4 KiB
// (docs/performance.md).
struct TableSizes {
  static constexpr std::size_t memtableBytes = 32 * 1024 * 1024;
  static constexpr std::size_t tableFileBytes = 8 * 1024 * 1024;
  static constexpr std::size_t blockBytes = 16 * 1024;
};

struct Options {
  bool createIfMissing = false;
  const Clock* clock = nullptr;  // nullptr: the system clock
  std::size_t blockCacheBytes = 32 * 1024 * 1024;
  int maxOpenFiles = 1000;  // LevelDB's table files kept open at once
  // Called by open() when the store is of an older schema version, before
  // anything is changed (nothing writes meanwhile): e.g. to keep a copy of
  // its files. An error stops the open, the store left as it was.
  std::function<Status(std::uint32_t fromVersion)> beforeUpgrade;
  // Test hook: called on the writer thread just before each synced
  // (publish) write. Tests use it to hold the writer and observe grouping.
  std::function<void()> beforeSyncedWrite;
  // Who may write; nullptr takes every entry of the network. REQUIRES: it
  // outlives the store. Can also be set later with setPolicy().
  IngestPolicy* policy = nullptr;
};

// Counters since open, for metrics and tests.
struct Stats {
  std::uint64_t syncedWrites = 0;  // synced WriteBatches (publish groups)
  std::uint64_t published = 0;     // entries published locally
  std::uint64_t ingested = 0;      // entries stored from elsewhere
  std::uint64_t queued = 0;        // requests waiting for the writer now
  // Entries from elsewhere not stored, by the verdict that refused (or,
  // for futureTimestamp, deferred) them.
  std::map<record::Verdict, std::uint64_t> refused;
  // Writes LevelDB refused (a full disk, an I/O error), and the last one.
  std::uint64_t writeErrors = 0;
  std::string lastWriteError;
  std::int64_t lastWriteErrorMs = 0;
  // After a failed write the store writes nothing more until it has closed
  // and opened its database again (see writeDb in store.cpp): it does so
  // by itself at the next write once there is room on the disk.
  bool writesStopped = false;
  std::uint64_t reopens = 0;  // times it did so
  // Reads that met a damaged block (a checksum mismatch) and refused what
  // it held, and the last one's message.
  std::uint64_t readCorruptions = 0;
  std::string lastReadCorruption;
};

// A feed's latest entry as this node holds it.
struct Tip {
  PublicKey feed;
  std::uint64_t seq = 0;
  Digest id;
  std::int64_t timestamp = 0;
  bool frozen = false;  // a fork proof froze this feed
};

// A position in the store's feed order (author, then seq).
struct Position {
  PublicKey feed;
  std::uint64_t seq = 0;
};

struct IngestResult {
  // accepted if at least one new entry (or missing content) was stored;
  // duplicate if everything was already held; otherwise why the run (or
  // the rest of it, after `stored` entries) was not taken.
  record::Verdict verdict = record::Verdict::accepted;
  std::uint64_t stored = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t contentFilled = 0;  // entries whose missing content arrived
  std::uint64_t contentMissing = 0; // entries stored without content (not erased here)
  std::string detail;               // one line naming what was wrong
};

// A place in list()'s newest-first order: an entry's own timestamp, then
// its feed and seq (both descending). A page's last entry is where the next
// page starts.
struct ListCursor {
  std::int64_t time = 0;
  PublicKey author;
  std::uint64_t seq = 0;
};

// Filters for listing entries, newest first. Every filter given must hold.
struct Query {
  std::optional<PublicKey> author;
  std::optional<std::string> tag;
  std::optional<std::uint16_t> kind;
  // Posts that are neither a comment nor a revision (needs their content).
  bool threadsOnly = false;
  // Comments on one entry (posts whose replyTo names it).
  std::optional<Position> repliesTo;
  // Revisions of one post (later posts of its own feed whose revises names it).
  std::optional<Position> revisionsOf;
  // Only entries after this one in the order (older ones).
  std::optional<ListCursor> after;
  // Called on each candidate (on the caller's thread); false leaves it out.
  std::function<bool(const record::Entry&)> filter;
  // Stop after examining this many candidates (0: no bound), so a filter
  // that matches little cannot walk a whole index in one call; list()'s
  // `stoppedAt` then says where to go on from.
  std::size_t maxScanned = 0;
  // Wait for the indexer to pass what is committed (a nested list() in a
  // filter, which runs after one such wait, need not wait again).
  bool waitIndexed = true;
  std::size_t limit = 50;
  bool includeHidden = false;  // hidden entries are left out unless asked for
};

struct VerifyReport {
  std::uint64_t feeds = 0;
  std::uint64_t entries = 0;
  std::uint64_t signaturesChecked = 0;
  std::uint64_t contentChecked = 0;
  std::vector<std::string> problems;  // one line each; empty when all is well
  bool stopped = false;               // the progress callback asked to stop early
  bool ok() const { return problems.empty() && !stopped; }
};

struct Counts {
  std::uint64_t feeds = 0;
  std::uint64_t entries = 0;
};

// Told the new tips of the feeds a batch moved (entries stored by publish or
// ingest, or a feed truncated by a fork proof), on the writer thread, after
// the batch is in the store and the policy has seen it. It must not block nor call the store's write
// methods: hand the work to another thread.
using TipListener = std::function<void(const std::vector<Tip>&)>;

// Told, on the writer thread, each time the derived indexes pass further
// into the arrival log (the position now passed). It must not block nor
// call the store's write methods.
using IndexedListener = std::function<void(std::uint64_t)>;

// Node-local rows that are never replicated: member accounts and sessions.
enum class LocalTable : char { account = 'a', session = 's' };
struct LocalWrite {
  LocalTable table = LocalTable::account;
  std::string key;
  std::optional<std::string> value;  // nullopt: delete the row
};

// A consistent copy of a store's own rows, for a backup: read on one
// LevelDB snapshot, so it holds exactly what was committed when it was
// taken while the node goes on writing. It leaves out what is derived (the
// index rows and the indexer's cursor, rebuilt on restore) and what must not
// outlive this run of the node (member sessions). REQUIRES: it is destroyed
// before the store.
class BackupSource {
 public:
  virtual ~BackupSource() = default;
  // As of the snapshot.
  virtual std::uint32_t schemaVersion() const = 0;
  virtual Digest frontier() const = 0;
  virtual Counts counts() const = 0;
  // Hands the next rows, about `maxBytes` of them, to `row`; false once
  // every row was handed over (or reading failed: see status()).
  virtual bool next(std::size_t maxBytes, const std::function<void(std::string_view, std::string_view)>& row) = 0;
  virtual Status status() const = 0;
};

// Writes the rows of a backup into a new store. Nothing is a store until
// finish() returned ok: open() then rebuilds the indexes, and the caller
// verifies it (Store::verify) before trusting it.
class RestoreSink {
 public:
  virtual ~RestoreSink() = default;
  // Refuses a row of a table this build does not know.
  virtual Status add(std::string_view key, std::string_view value) = 0;
  // Writes what is pending with a synced write and closes the database.
  virtual Status finish() = 0;
};

// What Store::salvage() found in a damaged store and what it kept.
struct SalvageReport {
  std::uint64_t rowsRead = 0;        // rows LevelDB's repair could read back
  std::uint64_t entriesFound = 0;    // entry rows among them
  std::uint64_t entriesKept = 0;     // stored again, verified, in unbroken chains from seq 1
  std::uint64_t entriesDropped = 0;  // past a gap in their feed, or refused by the chain rule
  std::uint64_t contentMissing = 0;  // kept without their content (asked of peers)
  std::uint64_t contentDamaged = 0;  // of those, content that was there but did not match its hash
  bool repairedByLevelDb = false;    // read through leveldb::RepairDB (see salvage())
  std::uint64_t feeds = 0;           // feeds kept
  std::uint64_t forkProofs = 0;      // fork proofs applied again
  std::uint64_t accounts = 0;        // member accounts kept
  std::uint64_t sessionsDropped = 0; // member sessions left behind (members log in again)
  std::uint64_t metaKept = 0;        // node metadata rows kept
  std::vector<std::string> notes;    // one line per feed that lost entries
};

class Store {
 public:
  // Opens (or with createIfMissing, creates) the store in `dir`. Refuses a
  // missing or corrupt store, and one written by a newer version, with a
  // message that names the directory and what is wrong.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                             const Options& options);
  // The schema version open() found and upgraded, when it was older.
  std::optional<std::uint32_t> upgradedFrom() const;
  // Drains the writer (pending writes complete) and closes the database.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- network ---
  // The network this store belongs to, once set.
  std::optional<Digest> network() const;
  // Sets the network once; setting another one later is refused.
  Status setNetwork(const Digest& id);
  // Installs the policy that judges every later ingest and publish (it
  // usually needs the open store to build its first view, hence after
  // open). REQUIRES: `policy` outlives the store, or is replaced first.
  void setPolicy(IngestPolicy* policy);
  // Installs (or, with an empty function, removes) the one tip listener.
  void setTipListener(TipListener listener);
  // Adds a listener to the indexer's progress; returns a handle for
  // removeIndexedListener. Followers of arrivals() use it to wake up.
  int addIndexedListener(IndexedListener listener);
  void removeIndexedListener(int handle);
  // The arrival-log position the derived indexes have passed, once they
  // hold everything committed before the call.
  std::uint64_t indexedPosition() const;
  // The arrival-log position of the last entry committed (indexed or not
  // yet), without waiting.
  std::uint64_t committedPosition() const;
  // Brings the store in line with `m` (hides and unhides, erases content,
  // purges revoked feeds past their pin) in one batch, and keeps `m` to
  // apply to entries that arrive later (a takedown may come first).
  Status applyModeration(const Moderation& m);
  // Why an entry is hidden ("takedown" by one steward, "erased", "suspended"), if it is.
  std::optional<std::string> hiddenReason(const PublicKey& feed, std::uint64_t seq) const;
  // True if the entry's content was erased (a tombstone is held).
  bool isErased(const PublicKey& feed, std::uint64_t seq) const;
  // True if the entry is held without its content, and nothing erased it.
  bool isContentMissing(const PublicKey& feed, std::uint64_t seq) const;

  // --- writes (thread-safe; serialised through the writer thread) ---

  // Appends a new entry to the feed of `key`: next seq, prev = current tip,
  // timestamp = max(now, tip's timestamp). Returns after the synced write.
  // Refused if the store has no network or the feed is frozen.
  Result<record::Entry> publish(const PrivateKey& key, std::uint16_t kind, Bytes content);

  // Ingests one contiguous run of one feed from elsewhere (a peer, an import).
  // Verifies it by the chain rule against this node's network, then connects
  // it to what is held: duplicates are skipped (missing content is filled),
  // a gap or a link to a different entry is refused, a second valid entry at
  // a held seq stores a fork proof, truncates the feed before it and freezes
  // it. Entries stamped more than 10 minutes ahead are deferred: the
  // verified prefix before them is stored. All that is stored is written in
  // one WriteBatch; a refused run writes nothing.
  IngestResult ingest(std::vector<record::SignedEntry> run);

  // A fork proof from elsewhere (two valid entries of one feed at one seq,
  // record::verifyForkProof). Stores it and freezes the feed: what this node
  // holds at and past the forked seq is truncated, as when it meets the
  // fork itself, and entries before that seq are still taken. accepted if
  // it changed something, duplicate if the proof was held, otherwise why it
  // was refused (forged or of another network).
  IngestResult applyForkProof(const Bytes& proof);

  // --- reads (thread-safe) ---
  Result<record::Entry> entryById(const Digest& id) const;
  // The full id of the one entry whose id starts with `hexPrefix` (8 to 64
  // hex characters, as people copy them from tables). notFound when none
  // does; invalidArgument when the prefix is malformed or matches several.
  Result<Digest> resolveId(std::string_view hexPrefix) const;
  Result<record::Entry> entryAt(const PublicKey& feed, std::uint64_t seq) const;
  // Entries of one feed from seq `from` (inclusive), at most `maxEntries`
  // and about `maxBytes` of headers and content (at least one entry).
  std::vector<record::Entry> feedRange(const PublicKey& feed, std::uint64_t from, std::size_t maxEntries,
                                       std::size_t maxBytes = std::numeric_limits<std::size_t>::max()) const;
  // Entries in feed order after `after` (from the start when absent), at
  // most `maxEntries` and about `maxBytes` (at least one entry is returned).
  std::vector<record::Entry> scan(const std::optional<Position>& after, std::size_t maxEntries,
                                  std::size_t maxBytes) const;
  std::optional<Tip> tip(const PublicKey& feed) const;
  std::vector<Tip> tips() const;
  // SHA-256 over the sorted list of (feed, seq, id) of every tip.
  Digest frontierDigest() const;
  Counts counts() const;
  // Entries newest first (by their own timestamps), filtered. Sees every
  // entry whose publish() or ingest() returned before the call.
  // With q.maxScanned, `stoppedAt` (if given) is set when the bound ended
  // the walk before q.limit entries were found: the last candidate
  // examined, to pass as the next q.after.
  std::vector<record::Entry> list(const Query& q, std::optional<ListCursor>* stoppedAt = nullptr) const;
  Stats stats() const;
  // How many entries reply to the entry at `to` (index rows only: none
  // is read), leaving out hidden ones; counts up to `max`.
  std::size_t countReplies(const Position& to, std::size_t max) const;
  // The arrival log (this node's own order of everything it stored,
  // including content that arrived late) after position `after`, up to
  // what the derived indexes have passed, at most `max` positions. Each
  // entry comes with its content when held; one truncated by a fork since
  // comes as nullopt. Followers (the search index) keep their own cursor in
  // it.
  struct Arrival {
    std::uint64_t pos = 0;
    std::optional<record::Entry> entry;
  };
  std::vector<Arrival> arrivals(std::uint64_t after, std::size_t max) const;
  // Entries held whose content is missing (it came neither with them nor
  // since, and no takedown or retraction erased it), in feed order after
  // `after`, at most `max`. Peers are asked for it (WantContent).
  std::vector<Position> missingContent(const std::optional<Position>& after, std::size_t max) const;
  // Grows each time an entry is stored without its content, and each time
  // missing content arrives: a sync session that saw another value looks
  // again at what it lacks (missingContent()) and at what a peer asked for.
  std::uint64_t missingContentGeneration() const;
  // While paused (no room on disk), ingest takes entries without their
  // content: the chains stay whole and in sync, and the content is held as
  // missing, to be asked of peers once unpaused (missingContentGeneration()
  // moves then). Local publishes are not affected.
  void setContentPaused(bool paused);
  bool contentPaused() const;
  // Fork proofs held for `feed` (encoded ForkProof messages).
  std::vector<Bytes> forkProofs(const PublicKey& feed) const;

  // Re-proves the whole store: every chain link and every signature, every
  // present content's hash, tips and the id index, on a snapshot while
  // writes go on. `progress(done, total)` is called now and then with entry
  // counts; returning false stops the pass early (report.stopped is set).
  VerifyReport verify(const std::function<bool(std::uint64_t, std::uint64_t)>& progress = {}) const;

  // Rebuilds every derived index from the entries held: drops all index
  // rows and the indexer's cursor, then indexes the arrival log again. Runs
  // on the writer thread, so writes wait meanwhile. `progress(done, total)`
  // is called between steps (arrival-log positions).
  Status reindex(const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

  // A consistent copy of the store for a backup (see BackupSource).
  Result<std::unique_ptr<BackupSource>> backup() const;
  // A new store in `dir`, which must not hold one yet, to fill from a
  // backup's rows.
  static Result<std::unique_ptr<RestoreSink>> restoreInto(const std::filesystem::path& dir);

  // Builds a new store in `into` (which must not exist) from what can be
  // read of the damaged store in `damaged`, for a node with no backup. The
  // damaged store is left as it is: LevelDB's repair (which drops damaged
  // log records and table blocks and rebuilds the manifest) runs on a copy
  // in `scratch` (made anew, removed at the end). From that copy, each
  // feed's entries from seq 1 up to the first one missing or refused by
  // the chain rule go through ingest() as if from a peer, with their
  // content where it survived; fork proofs are applied again, and member
  // accounts and node metadata are copied. Sessions and derived rows are
  // not. The new store belongs to `network`, and must then verify. What
  // was dropped comes back from peers. `progress` gets a line now and then.
  static Result<SalvageReport> salvage(const std::filesystem::path& damaged, const std::filesystem::path& scratch,
                                       const std::filesystem::path& into, const Digest& network,
                                       const std::function<void(const std::string&)>& progress = {});

  // --- node-local rows (accounts, sessions) ---
  std::optional<std::string> getLocal(LocalTable table, std::string_view key) const;
  // The rows of `table` whose key starts with `prefix`, in key order.
  std::vector<std::pair<std::string, std::string>> listLocal(LocalTable table, std::string_view prefix = {}) const;
  // Applies `writes` in one synced batch, in order.
  Status writeLocal(std::vector<LocalWrite> writes);

  // --- node metadata (small values kept with the store) ---
  std::optional<std::string> getMeta(const std::string& name) const;
  Status putMeta(const std::string& name, const std::string& value);

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace civnet::store

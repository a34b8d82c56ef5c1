// The search index (see search.hpp).
#include "search.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <xapian.h>

#include "daemon/http_text.hpp"
#include "schemas/content.hpp"
#include "store/store.hpp"

namespace civnet::daemon {

namespace {

constexpr std::string_view kCursorKey = "civnet_cursor";
constexpr std::string_view kLanguagesKey = "civnet_languages";
constexpr std::size_t kBatch = 1024;  // arrivals per Xapian commit when behind (256: 25% slower)
// A search waits for the indexer only when it is at most this many arrivals behind.
constexpr std::uint64_t kWaitWithin = 1024;
// Under a stream of small commits (publishes share synced writes a few at
// a time), the index commits at most this often, in larger batches: a
// Xapian commit costs about as much as indexing dozens of posts. A search
// that must see what just arrived does not wait for it (hurry()).
constexpr auto kCommitGap = std::chrono::milliseconds(100);

// Boolean term prefixes.
std::string threadTerm(const Digest& id) { return "Q" + id.hex(); }
std::string revisionTerm(const Digest& id) { return "R" + id.hex(); }
std::string orgTerm(const PublicKey& k) { return "XO" + k.hex(); }
std::string tagTerm(std::string_view tag) { return "XT" + asciiLower(tag); }

// "en", "fr-CA", "pt_BR" -> "en", "fr", "pt".
std::string primaryLanguage(std::string_view tag) {
  std::string out;
  for (char c : tag) {
    if (c == '-' || c == '_') break;
    out.push_back(c);
  }
  return asciiLower(out);
}

// A stemmer for a language Xapian knows; none (no stemming) otherwise.
Xapian::Stem stemmerFor(const std::string& language) {
  if (language.empty()) return Xapian::Stem();
  try {
    return Xapian::Stem(language);
  } catch (const Xapian::InvalidArgumentError&) {
    return Xapian::Stem();
  }
}

std::set<std::string> splitLanguages(const std::string& text) {
  std::set<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.insert(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

}  // namespace

class SearchIndex::Impl {
 public:
  Impl(std::filesystem::path dir, store::Store& store, std::shared_ptr<spdlog::logger> log)
      : dir(std::move(dir)), store(store), log(std::move(log)) {}

  std::filesystem::path dir;
  store::Store& store;
  std::shared_ptr<spdlog::logger> log;

  mutable std::mutex dbMu;  // guards db, cursor, generation and languages
  Xapian::WritableDatabase db;
  // Searches read through their own read-only handles (a Xapian object is
  // not shared between threads), so they run at once, and beside the
  // indexer, instead of one at a time under dbMu. Each sees the last commit.
  std::mutex readersMu;
  std::vector<std::unique_ptr<Xapian::Database>> idleReaders;  // guarded by readersMu
  std::uint64_t readersGeneration = 0;  // guarded by readersMu; grows when the files are replaced

  struct Reader {
    std::unique_ptr<Xapian::Database> db;
    std::uint64_t generation = 0;
  };

  Reader borrowReader() {
    Reader r;
    {
      std::lock_guard lk(readersMu);
      r.generation = readersGeneration;
      if (!idleReaders.empty()) {
        r.db = std::move(idleReaders.back());
        idleReaders.pop_back();
      }
    }
    if (!r.db) r.db = std::make_unique<Xapian::Database>(dir.string());
    else r.db->reopen();  // to the latest commit
    return r;
  }

  // A reader borrowed before the files were replaced (a rebuild) is dropped.
  void returnReader(Reader r) {
    std::lock_guard lk(readersMu);
    if (r.generation == readersGeneration) idleReaders.push_back(std::move(r.db));
  }

  void dropReaders() {
    std::lock_guard lk(readersMu);
    idleReaders.clear();
    ++readersGeneration;
  }

  // The languages the index holds, for searches (which do not take dbMu
  // unless they must wait: the indexer holds it for whole batches, at its
  // low priority).
  std::mutex languagesMu;
  std::set<std::string> committedLanguages;  // guarded by languagesMu

  void publishCommitted() {
    passed = cursor;
    std::lock_guard lk(languagesMu);
    committedLanguages = languages;
  }

  // Set by a search that found the index damaged; the indexer rebuilds it.
  std::atomic<bool> damaged{false};

  std::uint64_t cursor = 0;      // arrival-log position passed
  std::atomic<std::uint64_t> passed{0};  // `cursor` for readers that must not wait for dbMu
  std::uint64_t generation = 0;  // grows at each rebuild
  std::set<std::string> languages;
  std::condition_variable advanced;  // with dbMu: the cursor moved

  std::mutex wakeMu;
  std::condition_variable wakeCv;
  bool woken = false;    // guarded by wakeMu
  bool hurried = false;  // guarded by wakeMu: someone waits for the next commit
  bool stopping = false; // guarded by wakeMu
  // Also set by the destructor, read between arrivals: a batch stops short
  // so the node's stop does not wait for it (this thread runs at
  // SCHED_IDLE, so on a busy machine a batch can take minutes).
  std::atomic<bool> stopNow{false};
  std::chrono::steady_clock::time_point lastCommit;  // the indexer thread's
  int listener = 0;
  std::thread thread;

  // Without fsync at each commit (DB_NO_SYNC): the index is derived, its
  // cursor is committed with the documents, so a commit lost to a crash is
  // indexed again from the store; an index a power cut damaged is rebuilt
  // when civnetd opens it, or as soon as the indexer or a search meets the
  // damage (remakeLocked), or by `civnetctl reindex`. Syncing it cost a
  // second fsync per group commit of publishes, on the same disk.
  void openDb(int flags) {
    db = Xapian::WritableDatabase(dir.string(), flags | Xapian::DB_NO_SYNC);
    const std::string c = db.get_metadata(std::string(kCursorKey));
    cursor = c.empty() ? 0 : std::stoull(c);
    languages = splitLanguages(db.get_metadata(std::string(kLanguagesKey)));
    publishCommitted();
  }

  // A damaged index (a power cut without fsync, say) is made again from
  // the store. dbMu held.
  void remakeLocked(const std::string& why) {
    log->error("search index {}: {}; rebuilding it from the store", dir.string(), why);
    emptyLocked();
  }

  // Replaces the index's files with an empty index, which the indexer then
  // fills from the store's beginning. dbMu held. Throws Xapian::Error.
  void emptyLocked() {
    db.close();
    openDb(Xapian::DB_CREATE_OR_OVERWRITE);
    dropReaders();  // before any search can borrow a handle to the old files
    ++generation;
  }

  void wake() {
    {
      std::lock_guard lk(wakeMu);
      woken = true;
    }
    wakeCv.notify_one();
  }

  // As wake(), and the indexer commits what it has without waiting for
  // kCommitGap to pass.
  void hurry() {
    {
      std::lock_guard lk(wakeMu);
      woken = hurried = true;
    }
    wakeCv.notify_one();
  }

  void run() {
    // Below the threads that sync and serve (SCHED_IDLE: it runs on what
    // CPU they leave; nice 19 where that is refused): on a busy node the
    // index lags instead of slowing them. It is derived, and a search waits
    // (up to 3 s) for it to pass what it must see.
    sched_param idle{};
    if (::sched_setscheduler(0, SCHED_IDLE, &idle) != 0)  // this thread only
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
    std::unique_lock lk(wakeMu);
    bool more = true;  // first, whatever arrived while the node was down
    while (!stopping) {
      // Woken from idle by a commit: let the next few gather for one Xapian
      // commit, unless a search waits for this one. Behind, no pause.
      if (!more && !hurried) wakeCv.wait_until(lk, lastCommit + kCommitGap, [&] { return stopping || hurried; });
      if (stopping) break;
      woken = hurried = false;
      lk.unlock();
      more = false;
      try {
        if (damaged.exchange(false)) {
          std::lock_guard dl(dbMu);
          remakeLocked("a search found it damaged");
        }
        more = step();
      } catch (const Xapian::DatabaseCorruptError& e) {
        try {
          std::lock_guard dl(dbMu);
          remakeLocked(e.get_description());
          more = true;
        } catch (const Xapian::Error& e2) {
          log->error("search index: cannot rebuild it: {} (retrying in 10 s)", e2.get_description());
        }
      } catch (const Xapian::Error& e) {
        log->error("search index: {} (retrying in 10 s)", e.get_description());
      }
      lk.lock();
      if (!more) wakeCv.wait_for(lk, std::chrono::seconds(10), [&] { return stopping || woken; });
    }
  }

  // Indexes the next batch of arrivals; true if there may be more.
  bool step() {
    std::uint64_t from, gen;
    {
      std::lock_guard lk(dbMu);
      from = cursor;
      gen = generation;
    }
    auto batch = store.arrivals(from, kBatch);
    if (batch.empty()) return false;
    std::lock_guard lk(dbMu);
    if (gen != generation) return true;  // rebuilt meanwhile: start again
    const std::size_t langsBefore = languages.size();
    std::uint64_t done = from;
    for (const auto& a : batch) {
      if (stopNow.load(std::memory_order_relaxed)) break;
      if (a.entry) apply(*a.entry);
      done = a.pos;
    }
    if (done == from) return false;
    cursor = done;
    db.set_metadata(std::string(kCursorKey), std::to_string(cursor));
    if (stopNow.load(std::memory_order_relaxed)) return false;  // committed by close(), at the stop
    if (languages.size() != langsBefore) {
      std::string joined;
      for (const auto& l : languages) joined += (joined.empty() ? "" : ",") + l;
      db.set_metadata(std::string(kLanguagesKey), joined);
    }
    db.commit();
    lastCommit = std::chrono::steady_clock::now();
    publishCommitted();
    advanced.notify_all();
    return batch.size() == kBatch;
  }

  // Brings the index in line with one arrival. dbMu held.
  void apply(const record::Entry& e) {
    const auto kind = static_cast<record::Kind>(e.header.kind);
    if (!e.signedEntry.content) return;
    const ByteView content = *e.signedEntry.content;
    if (kind == record::Kind::post) {
      auto p = record::decodePost(content);
      if (!p.ok() || p->replyTo) return;  // comments are not indexed
      if (p->revises) {
        if (p->revises->author == e.header.author && p->revises->seq < e.header.seq) refresh(p->revises->id);
        return;
      }
      refresh(e, *p);  // the post as just read: not read again
    } else if (kind == record::Kind::retraction || kind == record::Kind::takedown) {
      std::optional<record::EntryRef> target;
      if (kind == record::Kind::retraction) {
        if (auto r = record::decodeRetraction(content); r.ok()) target = r->target;
      } else if (auto t = record::decodeTakedown(content); t.ok()) {
        target = t->target;
      }
      if (!target) return;
      refreshWhere(threadTerm(target->id));
      refreshWhere(revisionTerm(target->id));
    } else if (kind == record::Kind::revocation) {
      if (auto r = record::decodeRevocation(content); r.ok()) refreshWhere(orgTerm(r->feed));
    }
  }

  // Refreshes every thread whose document holds `term`.
  void refreshWhere(const std::string& term) {
    std::vector<Digest> roots;
    for (auto it = db.postlist_begin(term); it != db.postlist_end(term); ++it) {
      auto id = Digest::parseHex(db.get_document(*it).get_data(), "thread");
      if (id.ok()) roots.push_back(*id);
    }
    for (const Digest& r : roots) refresh(r);
  }

  // The document of the thread rooted at `rootId`, as the store holds it
  // now: the newest revision's text, or none once the post is gone or
  // erased. dbMu held.
  void refresh(const Digest& rootId) {
    auto root = store.entryById(rootId);
    if (!root.ok() || !root->signedEntry.content) {
      db.delete_document(threadTerm(rootId));
      return;
    }
    auto rootPost = record::decodePost(*root->signedEntry.content);
    if (rootPost.ok()) refresh(*root, *rootPost);
  }

  // As above, for a root already read and decoded (a post that just arrived).
  void refresh(const record::Entry& root, const record::Post& rootPost) {
    const Digest& rootId = root.id;
    if (store.isErased(root.header.author, root.header.seq)) {
      db.delete_document(threadTerm(rootId));
      return;
    }
    if (rootPost.replyTo || rootPost.revises) return;
    store::Query q;
    q.revisionsOf = store::Position{root.header.author, root.header.seq};
    q.limit = 1;
    q.waitIndexed = false;  // what it follows is indexed already
    std::optional<record::Post> newest;
    std::optional<Digest> newestId;
    q.filter = [&](const record::Entry& r) {
      if (!r.signedEntry.content) return false;
      auto p = record::decodePost(*r.signedEntry.content);
      if (!p.ok() || !record::isRevisionOf(*p, rootId)) return false;
      newest = std::move(p).value();
      newestId = r.id;
      return true;
    };
    (void)store.list(q);
    const record::Post& post = newest ? *newest : rootPost;

    Xapian::Document doc;
    Xapian::TermGenerator tg;
    const std::string lang = primaryLanguage(post.language);
    const Stemmer& stemmer = stemmerOf(lang);
    tg.set_stemmer(stemmer.stem);
    tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    tg.set_document(doc);
    tg.index_text(post.title, 3);
    tg.increase_termpos();
    for (const auto& t : post.tags) {
      tg.index_text(t, 2);
      tg.increase_termpos();
      if (!t.empty() && t.size() <= record::kMaxTagBytes) doc.add_boolean_term(tagTerm(t));
    }
    tg.index_text(post.body);
    doc.add_boolean_term(threadTerm(rootId));
    doc.add_boolean_term(orgTerm(root.header.author));
    if (newestId) doc.add_boolean_term(revisionTerm(*newestId));
    doc.set_data(rootId.hex());
    db.replace_document(threadTerm(rootId), doc);
    if (stemmer.stems) languages.insert(lang);
  }

  // Each language's stemmer, made once (a Xapian::Stem is a shared handle).
  struct Stemmer {
    Xapian::Stem stem;
    bool stems = false;  // Xapian knows the language
  };
  std::map<std::string, Stemmer, std::less<>> stemmers;  // guarded by dbMu
  const Stemmer& stemmerOf(const std::string& lang) {
    auto it = stemmers.find(lang);
    if (it != stemmers.end()) return it->second;
    Stemmer s{stemmerFor(lang), false};
    s.stems = !lang.empty() && s.stem.get_description() != Xapian::Stem().get_description();
    if (stemmers.size() > 256) stemmers.clear();  // posts name languages freely: keep it small
    return stemmers.emplace(lang, std::move(s)).first->second;
  }
};

SearchIndex::SearchIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<SearchIndex>> SearchIndex::open(const std::filesystem::path& dir, store::Store& store,
                                                       std::shared_ptr<spdlog::logger> log) {
  auto impl = std::make_unique<Impl>(dir, store, std::move(log));
  // The index is derived: one that cannot be read, or that has seen more
  // of the arrival log than this store holds (it belongs to another copy of
  // the store), is made again from scratch. Only a lock held by another
  // process is refused.
  std::string why;
  try {
    impl->openDb(Xapian::DB_CREATE_OR_OPEN);
    if (impl->cursor > store.committedPosition())
      why = "it has indexed " + std::to_string(impl->cursor) + " arrivals and the store holds " +
            std::to_string(store.committedPosition());
  } catch (const Xapian::DatabaseLockError& e) {
    return unavailable("the search index " + dir.string() + " is in use by another process: " + e.get_description());
  } catch (const Xapian::Error& e) {
    why = e.get_description();
  } catch (const std::exception& e) {  // a malformed cursor
    why = e.what();
  }
  if (!why.empty()) {
    impl->log->warn("search index {}: {}; rebuilding it", dir.string(), why);
    try {
      impl->db = Xapian::WritableDatabase();
      impl->openDb(Xapian::DB_CREATE_OR_OVERWRITE);
    } catch (const Xapian::Error& e) {
      return ioError("cannot make the search index " + dir.string() + ": " + e.get_description());
    }
  }
  Impl* m = impl.get();
  m->listener = store.addIndexedListener([m](std::uint64_t) { m->wake(); });
  m->thread = std::thread([m] { m->run(); });
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(impl)));
}

SearchIndex::~SearchIndex() {
  Impl& m = *impl_;
  m.store.removeIndexedListener(m.listener);
  m.stopNow.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lk(m.wakeMu);
    m.stopping = true;
  }
  m.wakeCv.notify_one();
  if (m.thread.joinable()) m.thread.join();
  std::lock_guard lk(m.dbMu);
  try {
    m.db.close();
  } catch (const Xapian::Error&) {
  }
}

namespace {

// One search through `db`. Throws Xapian::Error for the caller to handle
// (query parse errors are answered here).
Result<SearchHits> searchWith(const Xapian::Database& db, const std::set<std::string>& languages,
                              std::string_view text, const SearchFilter& filter, std::size_t offset,
                              std::size_t limit) {
  try {
    Xapian::QueryParser qp;
    qp.set_database(db);
    qp.set_default_op(Xapian::Query::OP_AND);
    qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
    // No FLAG_PURE_NOT: "NOT rain" alone would match everything once the
    // query is asked in several languages (every post lacks one of them's
    // stem); it is refused with the advice to put NOT between words.
    const unsigned flags = Xapian::QueryParser::FLAG_DEFAULT;
    // The query in every language the index holds (a word is stemmed as
    // each of them would stem it; documents hold their words unstemmed
    // too), or unstemmed when it holds none.
    const std::string q(text);
    std::vector<Xapian::Query> parts;
    if (languages.empty()) parts.push_back(qp.parse_query(q, flags));
    for (const auto& lang : languages) {
      qp.set_stemmer(stemmerFor(lang));
      parts.push_back(qp.parse_query(q, flags));
    }
    Xapian::Query query(Xapian::Query::OP_OR, parts.begin(), parts.end());
    if (parts.front().empty()) return invalidArgument("the search holds no word to look for");
    std::vector<Xapian::Query> filters;
    if (filter.tag) filters.emplace_back(tagTerm(*filter.tag));
    if (filter.orgs) {
      std::vector<Xapian::Query> orgs;
      for (const auto& o : *filter.orgs) orgs.emplace_back(orgTerm(o));
      if (orgs.empty()) return SearchHits{};
      filters.emplace_back(Xapian::Query::OP_OR, orgs.begin(), orgs.end());
    }
    if (!filters.empty())
      query = Xapian::Query(Xapian::Query::OP_FILTER, query,
                            Xapian::Query(Xapian::Query::OP_AND, filters.begin(), filters.end()));
    Xapian::Enquire enquire(db);
    enquire.set_query(query);
    Xapian::MSet mset = enquire.get_mset(static_cast<Xapian::doccount>(offset),
                                         static_cast<Xapian::doccount>(limit + 1));
    SearchHits hits;
    for (auto it = mset.begin(); it != mset.end(); ++it) {
      if (hits.threads.size() == limit) {
        hits.more = true;
        break;
      }
      auto id = Digest::parseHex(it.get_document().get_data(), "thread");
      if (id.ok()) hits.threads.push_back(*id);
    }
    return hits;
  } catch (const Xapian::QueryParserError&) {
    return invalidArgument("the search could not be read: AND, OR and NOT go between words (water OR wells, "
                           "water NOT rain)");
  }
}

}  // namespace

Result<SearchHits> SearchIndex::search(std::string_view text, const SearchFilter& filter, std::size_t offset,
                                       std::size_t limit) {
  Impl& m = *impl_;
  const std::uint64_t target = m.store.indexedPosition();
  // The indexer commits before it lets go of dbMu: once the cursor has
  // passed the target, a reader opened now sees those posts. It is waited
  // for only when it is close behind (a member looking for what they just
  // published); far behind, during a large catch-up, every search would
  // wait its 3 s in vain, so it answers from what is in. dbMu is taken
  // only to wait.
  const std::uint64_t passed = m.passed.load();
  if (target > passed && target <= passed + kWaitWithin) {
    m.hurry();
    std::unique_lock lk(m.dbMu);
    m.advanced.wait_for(lk, std::chrono::seconds(3), [&] { return m.cursor >= target; });
  }
  std::set<std::string> languages;
  {
    std::lock_guard lk(m.languagesMu);
    languages = m.committedLanguages;
  }
  // A reader may find its revision overwritten by the indexer's commits
  // during a long query (DatabaseModifiedError): once more on a fresh one.
  for (int attempt = 0;; ++attempt) {
    try {
      auto reader = m.borrowReader();
      auto hits = searchWith(*reader.db, languages, text, filter, offset, limit);
      m.returnReader(std::move(reader));
      return hits;
    } catch (const Xapian::DatabaseModifiedError& e) {
      if (attempt > 0) return ioError("the search index changed during the search twice: " + e.get_description());
    } catch (const Xapian::DatabaseCorruptError& e) {
      m.dropReaders();
      m.damaged = true;
      m.hurry();
      return ioError("the search index is damaged and is being rebuilt from the store: " + e.get_description());
    } catch (const Xapian::Error& e) {
      m.dropReaders();  // rebuilt or damaged: open new ones next time
      return ioError("the search index failed: " + e.get_description());
    }
  }
}

Status SearchIndex::rebuild() {
  Impl& m = *impl_;
  {
    std::lock_guard lk(m.dbMu);
    try {
      m.emptyLocked();
    } catch (const Xapian::Error& e) {
      // Keep serving what there was, if it can still be opened.
      try {
        m.openDb(Xapian::DB_CREATE_OR_OPEN);
      } catch (const Xapian::Error&) {
      }
      return ioError("cannot rebuild the search index " + m.dir.string() + ": " + e.get_description());
    }
  }
  m.hurry();
  const std::uint64_t target = m.store.indexedPosition();
  std::unique_lock lk(m.dbMu);
  while (m.cursor < target) {
    const std::uint64_t before = m.cursor;
    if (m.advanced.wait_for(lk, std::chrono::seconds(60), [&] { return m.cursor >= target; })) break;
    {
      std::lock_guard wl(m.wakeMu);
      if (m.stopping) return unavailable("civnetd is stopping");
    }
    // A minute without progress: a failing disk, say. The follower keeps
    // trying; the caller hears of it rather than waiting forever.
    if (m.cursor == before)
      return ioError("the search index stopped catching up at arrival " + std::to_string(m.cursor) + " of " +
                     std::to_string(target) + ": see civnetd's log");
  }
  m.log->info("search index rebuilt: {} posts", m.db.get_doccount());
  return {};
}

std::uint64_t SearchIndex::documents() const {
  std::lock_guard lk(impl_->dbMu);
  return impl_->db.get_doccount();
}

std::uint64_t SearchIndex::cursor() const { return impl_->passed.load(); }

std::uint64_t SearchIndex::arrivalsBehind() const {
  const std::uint64_t committed = impl_->store.committedPosition(), passed = cursor();
  return committed > passed ? committed - passed : 0;
}

}  // namespace civnet::daemon

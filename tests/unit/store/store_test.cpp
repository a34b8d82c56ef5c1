// Unit tests of the node store: publishing with group commit, ingest with
// every refusal, forks, reads, indexes, verify, and opening refusals.
// Each test gets a fresh store in its own temporary directory.
#include "tests/support/doctest.hpp"
#include "tests/support/temp_dir.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "schemas/content.hpp"
#include "schemas/record.hpp"
#include "store/store.hpp"


using namespace civnet;
using record::Entry;
using record::SignedEntry;
using record::Verdict;

namespace {

using TempDir = civnet::test::TempDir;


class FakeClock final : public store::Clock {
 public:
  std::int64_t nowMs() const override { return now; }
  std::int64_t now = 1'700'000'000'000;
};

Digest testNetwork() { return sha256(asBytes("test network")); }

// The key of a feed position's row in `table` (store/keys.hpp: table,
// author, seq big-endian), for tests that damage rows behind the store's back.
std::string rowKey(char table, const PublicKey& author, std::uint8_t seq) {
  std::string key(1, table);
  key.append(reinterpret_cast<const char*>(author.bytes.data()), 32);
  key.append(7, '\0');
  key.push_back(static_cast<char>(seq));
  return key;
}

std::unique_ptr<store::Store> openStore(const std::filesystem::path& dir,
                                        const store::Clock* clock = nullptr,
                                        std::function<void()> hook = {}) {
  store::Options o;
  o.createIfMissing = true;
  o.clock = clock;
  o.beforeSyncedWrite = std::move(hook);
  auto s = store::Store::open(dir / "store", o);
  REQUIRE_MESSAGE(s.ok(), s.status().message());
  auto st = std::move(s).value();
  REQUIRE(st->setNetwork(testNetwork()).ok());
  return st;
}

Bytes postContent(const std::string& title, std::vector<std::string> tags = {}) {
  record::Post p;
  p.title = title;
  p.body = "Body of " + title;
  p.tags = std::move(tags);
  return record::encodePost(p);
}

// A feed written elsewhere: entries built and signed here, not stored.
struct Feed {
  PrivateKey key = PrivateKey::generate();
  Digest network = testNetwork();
  std::vector<Entry> entries;
  std::int64_t time = 1'700'000'000'000;

  Entry& append(std::vector<std::string> tags = {}, std::int64_t dt = 1000) {
    record::Header h;
    h.network = network;
    h.author = key.publicKey();
    h.seq = entries.size() + 1;
    h.prev = entries.empty() ? Digest{} : entries.back().id;
    time += dt;
    h.timestamp = time;
    h.kind = static_cast<std::uint16_t>(record::Kind::post);
    entries.push_back(record::makeEntry(
        key, h, postContent("entry " + std::to_string(h.seq), std::move(tags))));
    return entries.back();
  }
  void appendMany(int n) {
    for (int i = 0; i < n; ++i) append();
  }
  // Signed entries for seqs [from, to] (1-based, inclusive).
  std::vector<SignedEntry> run(std::uint64_t from, std::uint64_t to) const {
    std::vector<SignedEntry> r;
    for (auto s = from; s <= to; ++s) r.push_back(entries[s - 1].signedEntry);
    return r;
  }
  // The same run as it travels when its sender erased every content.
  std::vector<SignedEntry> headers(std::uint64_t from, std::uint64_t to) const {
    auto r = run(from, to);
    for (auto& se : r) se.content.reset();
    return r;
  }
};

// The same key, signing a different seq 3 after `f`'s first two entries (a
// cloned key). `f` keeps its entries as they were signed, under a new key.
Feed forkAt3(Feed& f) {
  Feed clone;
  clone.key = std::move(f.key);
  f.key = PrivateKey::generate();
  clone.entries.assign(f.entries.begin(), f.entries.begin() + 2);
  clone.time = f.entries[1].header.timestamp;
  clone.append({"other"});
  return clone;
}

}  // namespace

TEST_SUITE("store") {
  TEST_CASE("publish appends to the feed with linked seqs and survives a reopen") {
    TempDir dir;
    auto key = PrivateKey::generate();
    std::vector<Digest> ids;
    {
      auto st = openStore(dir.path());
      for (int i = 0; i < 3; ++i) {
        auto e = st->publish(key, 1, postContent("post " + std::to_string(i)));
        REQUIRE(e.ok());
        CHECK(e->header.seq == static_cast<std::uint64_t>(i + 1));
        if (i > 0) CHECK(e->header.prev == ids.back());
        ids.push_back(e->id);
      }
    }
    auto st = openStore(dir.path());
    auto tip = st->tip(key.publicKey());
    REQUIRE(tip);
    CHECK(tip->seq == 3);
    CHECK(tip->id == ids.back());
    for (const auto& id : ids) {
      auto e = st->entryById(id);
      REQUIRE(e.ok());
      CHECK(e->signedEntry.content.has_value());
      CHECK(record::verifySignature(*e));
    }
    CHECK(st->counts().entries == 3);
    CHECK(st->counts().feeds == 1);
  }

  TEST_CASE("publish is refused while the store belongs to no network") {
    TempDir dir;
    store::Options o;
    o.createIfMissing = true;
    auto st = store::Store::open(dir.path() / "store", o);
    REQUIRE(st.ok());
    auto key = PrivateKey::generate();
    auto e = (*st)->publish(key, 1, postContent("x"));
    REQUIRE_FALSE(e.ok());
    CHECK(e.status().message().find("no network") != std::string::npos);
    CHECK((*st)->counts().entries == 0);
  }

  TEST_CASE("the network cannot be changed once set") {
    TempDir dir;
    auto st = openStore(dir.path());
    CHECK(st->setNetwork(testNetwork()).ok());
    Status s = st->setNetwork(sha256(asBytes("another")));
    CHECK(s.code() == StatusCode::refused);
    CHECK(*st->network() == testNetwork());
  }

  TEST_CASE("concurrent publishes are acknowledged only after a synced write they share") {
    TempDir dir;
    std::mutex mu;
    std::condition_variable cv;
    bool writerHeld = false, release = false;
    int hookCalls = 0;
    auto hook = [&] {
      std::unique_lock lk(mu);
      if (++hookCalls == 1) {
        writerHeld = true;
        cv.notify_all();
        cv.wait(lk, [&] { return release; });
      }
    };
    auto st = openStore(dir.path(), nullptr, hook);
    auto key = PrivateKey::generate();
    std::atomic<int> acknowledged{0};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
      REQUIRE(st->publish(key, 1, postContent("first")).ok());
      ++acknowledged;
    });
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return writerHeld; });
    }
    // The writer is inside the first group's synced write; 15 more arrive.
    for (int i = 0; i < 15; ++i)
      threads.emplace_back([&, i] {
        REQUIRE(st->publish(key, 1, postContent("p" + std::to_string(i))).ok());
        ++acknowledged;
      });
    while (st->stats().queued < 15) std::this_thread::yield();
    CHECK(acknowledged == 0);  // nobody is acknowledged before the write
    {
      std::lock_guard lk(mu);
      release = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    CHECK(acknowledged == 16);
    auto stats = st->stats();
    CHECK(stats.published == 16);
    CHECK(stats.syncedWrites == 2);  // the first alone, then the 15 together
    CHECK(st->tip(key.publicKey())->seq == 16);
    CHECK(st->verify().ok());
  }

  TEST_CASE("frontier digests agree when the same runs arrive in different orders") {
    std::vector<Feed> feeds(4);
    for (auto& f : feeds) f.appendMany(5);
    TempDir a, b;
    auto sa = openStore(a.path());
    auto sb = openStore(b.path());
    for (auto& f : feeds) CHECK(sa->ingest(f.run(1, 5)).verdict == Verdict::accepted);
    for (auto it = feeds.rbegin(); it != feeds.rend(); ++it) {
      CHECK(sb->ingest(it->run(1, 2)).verdict == Verdict::accepted);
      CHECK(sb->ingest(it->run(3, 5)).verdict == Verdict::accepted);
    }
    CHECK(sa->frontierDigest() == sb->frontierDigest());
    feeds[0].append();
    CHECK(sa->ingest(feeds[0].run(6, 6)).verdict == Verdict::accepted);
    CHECK(sa->frontierDigest() != sb->frontierDigest());
    CHECK(sa->counts().entries == 21);
  }

  TEST_CASE("reads find entries by id, by feed range, and list them newest first by tag and author") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.append({"water"});
    f.append({"health", "water"});
    f.append({"health"});
    REQUIRE(st->ingest(f.run(1, 3)).verdict == Verdict::accepted);
    auto key = PrivateKey::generate();
    auto own = st->publish(key, 1, postContent("own", {"water"}));
    REQUIRE(own.ok());

    auto byId = st->entryById(f.entries[1].id);
    REQUIRE(byId.ok());
    CHECK(byId->header.seq == 2);
    CHECK(st->entryById(sha256(asBytes("nothing"))).status().code() == StatusCode::notFound);

    auto range = st->feedRange(f.key.publicKey(), 2, 10);
    REQUIRE(range.size() == 2);
    CHECK(range[0].header.seq == 2);

    store::Query q;
    q.tag = "water";
    auto water = st->list(q);
    REQUIRE(water.size() == 3);
    // Own post is stamped now (later than the feed's 2023 timestamps).
    CHECK(water[0].id == own->id);
    CHECK(water[1].id == f.entries[1].id);
    CHECK(water[2].id == f.entries[0].id);

    store::Query qa;
    qa.author = f.key.publicKey();
    qa.limit = 2;
    auto byAuthor = st->list(qa);
    REQUIRE(byAuthor.size() == 2);
    CHECK(byAuthor[0].header.seq == 3);
    CHECK(byAuthor[1].header.seq == 2);

    store::Query all;
    CHECK(st->list(all).size() == 4);

    auto page = st->scan(std::nullopt, 100, 1 << 20);
    CHECK(page.size() == 4);
    auto rest = st->scan(store::Position{page[1].header.author, page[1].header.seq}, 100, 1 << 20);
    CHECK(rest.size() == 2);
  }

  TEST_CASE("threads leave out comments and revisions; replies and revisions are listed by their post") {
    TempDir dir;
    auto st = openStore(dir.path());
    auto key = PrivateKey::generate();
    auto other = PrivateKey::generate();
    auto makePost = [](std::string title, std::string body, std::vector<std::string> tags,
                       std::optional<record::EntryRef> replyTo, std::optional<record::EntryRef> revises) {
      record::Post p;
      p.title = std::move(title);
      p.body = std::move(body);
      p.tags = std::move(tags);
      p.replyTo = std::move(replyTo);
      p.revises = std::move(revises);
      return p;
    };
    auto publishPost = [&](const PrivateKey& k, record::Post p) {
      auto e = st->publish(k, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
      REQUIRE(e.ok());
      return *e;
    };
    auto root = publishPost(key, makePost("Wells", "", {"water"}, std::nullopt, std::nullopt));
    const record::EntryRef ref{root.header.author, root.header.seq, root.id};
    auto comment = publishPost(other, makePost("", "How deep?", {}, ref, std::nullopt));
    auto revision = publishPost(key, makePost("Wells, revised", "", {"water"}, std::nullopt, ref));
    // Someone else's "revision" is not one.
    auto fake = publishPost(other, makePost("Mine now", "", {}, std::nullopt, ref));

    store::Query threads;
    threads.threadsOnly = true;
    auto t = st->list(threads);
    REQUIRE(t.size() == 1);
    CHECK(t[0].id == root.id);
    threads.tag = "water";  // through the tag index, the same rule
    REQUIRE(st->list(threads).size() == 1);

    store::Query replies;
    replies.repliesTo = store::Position{root.header.author, root.header.seq};
    auto r = st->list(replies);
    REQUIRE(r.size() == 1);
    CHECK(r[0].id == comment.id);

    store::Query revisions;
    revisions.revisionsOf = store::Position{root.header.author, root.header.seq};
    auto v = st->list(revisions);
    REQUIRE(v.size() == 1);
    CHECK(v[0].id == revision.id);
    CHECK(fake.id != revision.id);

    store::Query filtered;
    filtered.filter = [&](const record::Entry& e) { return e.header.author == other.publicKey(); };
    CHECK(st->list(filtered).size() == 2);
  }

  TEST_CASE("a listing goes on after a cursor, in pages that neither repeat nor skip") {
    TempDir dir;
    FakeClock clock;
    auto st = openStore(dir.path(), &clock);
    auto a = PrivateKey::generate(), b = PrivateKey::generate();
    std::vector<Digest> made;
    for (int i = 0; i < 7; ++i) {
      if (i % 3 != 2) clock.now += 1000;  // some entries share a timestamp
      auto e = st->publish(i % 2 ? a : b, 1, postContent("p" + std::to_string(i), {"t"}));
      REQUIRE(e.ok());
      made.push_back(e->id);
    }
    for (bool byTag : {false, true}) {
      store::Query q;
      q.limit = 3;
      if (byTag) q.tag = "t";
      std::vector<Digest> seen;
      for (int pages = 0; pages < 10; ++pages) {
        auto page = st->list(q);
        for (const auto& e : page) seen.push_back(e.id);
        if (page.size() < q.limit) break;
        q.after = store::ListCursor{page.back().header.timestamp, page.back().header.author, page.back().header.seq};
      }
      std::vector<Digest> sortedSeen = seen, sortedMade = made;
      std::sort(sortedSeen.begin(), sortedSeen.end());
      std::sort(sortedMade.begin(), sortedMade.end());
      CHECK(seen.size() == made.size());
      CHECK(sortedSeen == sortedMade);
    }
    // One author's feed, from a cursor.
    store::Query q;
    q.author = a.publicKey();
    auto all = st->list(q);
    REQUIRE(all.size() == 3);
    q.after = store::ListCursor{all[0].header.timestamp, all[0].header.author, all[0].header.seq};
    auto rest = st->list(q);
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].id == all[1].id);
  }

  TEST_CASE("the arrival log is read in order from a cursor, and listeners hear the indexer move") {
    TempDir dir;
    auto st = openStore(dir.path());
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<std::uint64_t> heard{0};
    int handle = st->addIndexedListener([&](std::uint64_t pos) {
      std::lock_guard lk(mu);
      heard = pos;
      cv.notify_all();
    });
    Feed f;
    f.appendMany(3);
    REQUIRE(st->ingest(f.run(1, 3)).verdict == Verdict::accepted);
    const std::uint64_t end = st->indexedPosition();
    {
      // The listener runs on the writer thread just after readers see the
      // new position: wait for it (bounded; not a measure of speed).
      std::unique_lock lk(mu);
      cv.wait_for(lk, std::chrono::seconds(30), [&] { return heard.load() == end; });
    }
    CHECK(heard.load() == end);
    auto all = st->arrivals(0, 100);
    REQUIRE(all.size() == 3);
    CHECK(all[2].pos == end);
    REQUIRE(all[0].entry);
    CHECK(all[0].entry->id == f.entries[0].id);
    auto later = st->arrivals(all[0].pos, 100);
    REQUIRE(later.size() == 2);
    CHECK(later[0].entry->id == f.entries[1].id);
    CHECK(st->arrivals(end, 100).empty());
    st->removeIndexedListener(handle);
    heard = 0;
    REQUIRE(st->publish(PrivateKey::generate(), 1, postContent("after")).ok());
    CHECK(heard.load() == 0);
  }

  TEST_CASE("a store indexed by an older layout is indexed again when it opens") {
    TempDir dir;
    auto key = PrivateKey::generate();
    Digest rootId;
    {
      auto st = openStore(dir.path());
      auto e = st->publish(key, static_cast<std::uint16_t>(record::Kind::post), postContent("root"));
      REQUIRE(e.ok());
      rootId = e->id;
    }
    {  // as a build before thread rows left it: no p rows, no index version
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      std::unique_ptr<leveldb::Iterator> it(db->NewIterator({}));
      std::vector<std::string> drop;
      for (it->Seek("ip"); it->Valid() && it->key().starts_with("ip"); it->Next()) drop.push_back(it->key().ToString());
      it.reset();
      REQUIRE(!drop.empty());
      for (const auto& k : drop) REQUIRE(db->Delete({}, k).ok());
      REQUIRE(db->Delete({}, "mindex_version").ok());
      delete db;
    }
    auto st = openStore(dir.path());
    store::Query q;
    q.threadsOnly = true;
    auto t = st->list(q);
    REQUIRE(t.size() == 1);
    CHECK(t[0].id == rootId);
  }

  TEST_CASE("an entry id can be given by a unique prefix of 8 or more hex characters") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(40);
    REQUIRE(st->ingest(f.run(1, 40)).verdict == Verdict::accepted);
    const Digest id = f.entries[17].id;
    CHECK(*st->resolveId(id.hex().substr(0, 12)) == id);
    CHECK(*st->resolveId(id.hex().substr(0, 9)) == id);  // odd length
    CHECK(*st->resolveId(id.hex()) == id);
    std::string upper = id.hex().substr(0, 12);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(*st->resolveId(upper) == id);
    CHECK(st->resolveId("abc").status().code() == StatusCode::invalidArgument);
    CHECK(st->resolveId("zzzzzzzzzz").status().code() == StatusCode::invalidArgument);
    // A prefix no held id has.
    std::string absent = id.hex().substr(0, 12);
    absent[11] = absent[11] == '0' ? '1' : '0';
    bool someoneHasIt = false;
    for (const auto& e : f.entries) someoneHasIt |= e.id.hex().starts_with(absent);
    if (!someoneHasIt) CHECK(st->resolveId(absent).status().code() == StatusCode::notFound);
  }

  TEST_CASE("verify re-proves a healthy store and reports a tampered signature by feed and seq") {
    TempDir dir;
    Feed f;
    f.appendMany(10);
    {
      auto st = openStore(dir.path());
      REQUIRE(st->ingest(f.run(1, 10)).verdict == Verdict::accepted);
      auto report = st->verify();
      CHECK(report.ok());
      CHECK(report.entries == 10);
      CHECK(report.signaturesChecked == 10);
      CHECK(report.contentChecked == 10);
    }
    {
      // Damage one stored signature behind the store's back.
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      const std::string key = rowKey('e', f.key.publicKey(), 4);
      std::string v;
      REQUIRE(db->Get({}, key, &v).ok());
      v[40] ^= 1;
      REQUIRE(db->Put({}, key, v).ok());
      delete db;
    }
    auto st = openStore(dir.path());
    std::uint64_t lastDone = 0;
    auto report = st->verify([&](std::uint64_t done, std::uint64_t) {
      lastDone = done;
      return true;
    });
    CHECK_FALSE(report.ok());
    CHECK(lastDone == 10);
    bool named = false;
    for (const auto& p : report.problems)
      if (p.find("seq 4") != std::string::npos && p.find("signature") != std::string::npos) named = true;
    CHECK_MESSAGE(named, "problems do not name seq 4's signature");
  }

  TEST_CASE("verify stops early when its progress callback says so, and does not call that a pass") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(2100);
    REQUIRE(st->ingest(f.run(1, 2100)).verdict == Verdict::accepted);
    int calls = 0;
    auto report = st->verify([&](std::uint64_t, std::uint64_t total) {
      CHECK(total == 2100);
      return ++calls < 1;
    });
    CHECK(report.stopped);
    CHECK_FALSE(report.ok());
    CHECK(report.entries < 2100);
    CHECK(st->verify().ok());
  }

  TEST_CASE("opening refuses a missing directory, a non-store, and a store of a newer version") {
    TempDir dir;
    store::Options o;
    auto missing = store::Store::open(dir.path() / "nope", o);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().code() == StatusCode::notFound);
    CHECK(missing.status().message().find("nope") != std::string::npos);

    std::filesystem::create_directories(dir.path() / "empty");
    auto notStore = store::Store::open(dir.path() / "empty", o);
    REQUIRE_FALSE(notStore.ok());
    CHECK(notStore.status().message().find("not a civnet store") != std::string::npos);

    { auto st = openStore(dir.path()); }
    {
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      REQUIRE(db->Put({}, "mschema_version", "99").ok());
      delete db;
    }
    auto newer = store::Store::open(dir.path() / "store", o);
    REQUIRE_FALSE(newer.ok());
    CHECK(newer.status().code() == StatusCode::unsupported);
    CHECK(newer.status().message().find("newer") != std::string::npos);
  }

  TEST_CASE("opening refuses a store with corrupt files") {
    TempDir dir;
    { auto st = openStore(dir.path()); }
    {
      std::ofstream current(dir.path() / "store" / "CURRENT", std::ios::trunc);
      current << "MANIFEST-999999\n";
    }
    store::Options o;
    auto st = store::Store::open(dir.path() / "store", o);
    REQUIRE_FALSE(st.ok());
    CHECK(st.status().message().find(dir.path().string()) != std::string::npos);
  }

  TEST_CASE("salvage keeps each feed up to its first lost entry, damaged content as missing, accounts and settings, and leaves the damaged store") {
    TempDir dir;
    Feed a, b;
    a.appendMany(10);
    b.appendMany(6);
    {
      auto st = openStore(dir.path());
      REQUIRE(st->ingest(a.run(1, 10)).verdict == Verdict::accepted);
      REQUIRE(st->ingest(b.run(1, 6)).verdict == Verdict::accepted);
      REQUIRE(st->writeLocal({{store::LocalTable::account, "amina", "account row"},
                              {store::LocalTable::session, "token hash", "session row"}})
                  .ok());
      REQUIRE(st->putMeta("node.peers", "peer list").ok());
    }
    {
      // Feed a's seq 5 lost (as in a damaged block), and b's seq 3 content.
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      REQUIRE(db->Delete({}, rowKey('e', a.key.publicKey(), 5)).ok());
      REQUIRE(db->Delete({}, rowKey('c', b.key.publicKey(), 3)).ok());
      REQUIRE(db->Put({}, rowKey('c', b.key.publicKey(), 5), "not the content that was signed").ok());
      delete db;
    }
    std::vector<std::string> before;
    for (const auto& f : std::filesystem::directory_iterator(dir.path() / "store"))
      before.push_back(f.path().filename().string() + ":" + std::to_string(f.file_size()));
    std::sort(before.begin(), before.end());
    std::vector<std::string> said;
    auto r = store::Store::salvage(dir.path() / "store", dir.path() / "scratch", dir.path() / "new", testNetwork(),
                                   [&](const std::string& line) { said.push_back(line); });
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(r->entriesFound == 15);
    CHECK(r->entriesKept == 4 + 6);
    CHECK(r->entriesDropped == 5);  // a's seq 6..10
    CHECK(r->contentMissing == 2);  // b's seq 3, and seq 5, whose content is damaged
    CHECK(r->contentDamaged == 1);
    CHECK_FALSE(r->repairedByLevelDb);  // the store opened: no need of LevelDB's repair
    CHECK(r->feeds == 2);
    CHECK(r->accounts == 1);
    CHECK(r->sessionsDropped == 1);
    CHECK(r->metaKept == 1);
    REQUIRE(r->notes.size() == 1);
    CHECK(r->notes[0] == "feed " + a.key.publicKey().hex() + ": kept seq 1..4; seq 5 lost and the entries found after it, 5 dropped");
    CHECK_FALSE(said.empty());
    CHECK_FALSE(std::filesystem::exists(dir.path() / "scratch"));
    // The damaged store is as it was.
    std::vector<std::string> after;
    for (const auto& f : std::filesystem::directory_iterator(dir.path() / "store"))
      after.push_back(f.path().filename().string() + ":" + std::to_string(f.file_size()));
    std::sort(after.begin(), after.end());
    CHECK(after == before);
    // The new store: verified chains, what was kept, and no more.
    store::Options o;
    auto st = store::Store::open(dir.path() / "new", o);
    REQUIRE(st.ok());
    CHECK((*st)->verify().ok());
    CHECK((*st)->tip(a.key.publicKey())->seq == 4);
    CHECK((*st)->tip(b.key.publicKey())->seq == 6);
    CHECK((*st)->isContentMissing(b.key.publicKey(), 3));
    CHECK((*st)->isContentMissing(b.key.publicKey(), 5));
    CHECK((*st)->getLocal(store::LocalTable::account, "amina") == std::optional<std::string>("account row"));
    CHECK_FALSE((*st)->getLocal(store::LocalTable::session, "token hash"));
    CHECK((*st)->getMeta("node.peers") == std::optional<std::string>("peer list"));
    // The rest comes from a peer as usual.
    CHECK((*st)->ingest(a.run(5, 10)).verdict == Verdict::accepted);
    CHECK((*st)->frontierDigest() == [&] {
      TempDir whole;
      auto ref = openStore(whole.path());
      REQUIRE(ref->ingest(a.run(1, 10)).verdict == Verdict::accepted);
      REQUIRE(ref->ingest(b.run(1, 6)).verdict == Verdict::accepted);
      return ref->frontierDigest();
    }());
  }

  TEST_CASE("salvage reads a store whose MANIFEST is damaged through LevelDB's repair, and keeps it all") {
    TempDir dir;
    Feed a;
    a.appendMany(20);
    {
      auto st = openStore(dir.path());
      REQUIRE(st->ingest(a.run(1, 20)).verdict == Verdict::accepted);
    }
    std::string manifest;
    {
      std::ifstream current(dir.path() / "store" / "CURRENT");
      std::getline(current, manifest);
    }
    {
      std::fstream m(dir.path() / "store" / manifest, std::ios::in | std::ios::out | std::ios::binary);
      m.seekp(10);
      m.write("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    }
    store::Options o;
    REQUIRE_FALSE(store::Store::open(dir.path() / "store", o).ok());  // as civnetd run finds it
    auto r = store::Store::salvage(dir.path() / "store", dir.path() / "scratch", dir.path() / "new", testNetwork());
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    CHECK(r->repairedByLevelDb);
    CHECK(r->entriesKept == 20);
    CHECK(r->entriesDropped == 0);
    auto st = store::Store::open(dir.path() / "new", o);
    REQUIRE(st.ok());
    CHECK((*st)->tip(a.key.publicKey())->seq == 20);
    CHECK((*st)->verify().ok());
  }

  TEST_CASE("salvage refuses a store of another network, and a target that exists") {
    TempDir dir;
    { auto st = openStore(dir.path()); }
    auto other = store::Store::salvage(dir.path() / "store", dir.path() / "scratch", dir.path() / "new",
                                       sha256(asBytes("another network")));
    REQUIRE_FALSE(other.ok());
    CHECK(other.status().message().find("another network") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "new"));
    std::filesystem::create_directories(dir.path() / "taken");
    auto taken = store::Store::salvage(dir.path() / "store", dir.path() / "scratch", dir.path() / "taken",
                                       testNetwork());
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.status().code() == StatusCode::alreadyExists);
  }

  TEST_CASE("a second process cannot open a store that is in use") {
    TempDir dir;
    auto st = openStore(dir.path());
    store::Options o;
    auto again = store::Store::open(dir.path() / "store", o);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().message().find("in use") != std::string::npos);
  }

  TEST_CASE("indexes lost in a crash are rebuilt when the store opens") {
    TempDir dir;
    auto key = PrivateKey::generate();
    {
      auto st = openStore(dir.path());
      for (int i = 0; i < 3; ++i) REQUIRE(st->publish(key, 1, postContent("p", {"kept"})).ok());
    }
    {
      // As after a crash that lost the unsynced index batch: no index rows,
      // cursor back at the start.
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      std::unique_ptr<leveldb::Iterator> it(db->NewIterator({}));
      leveldb::WriteBatch b;
      for (it->Seek("i"); it->Valid() && it->key().starts_with("i"); it->Next()) b.Delete(it->key());
      b.Put("mindex_cursor", std::string(8, '\0'));
      REQUIRE(db->Write({}, &b).ok());
      it.reset();
      delete db;
    }
    // Opened without any write (no setNetwork), so only opening can index.
    auto st = std::move(store::Store::open(dir.path() / "store", store::Options{})).value();
    store::Query q;
    q.tag = "kept";
    CHECK(st->list(q).size() == 3);
    CHECK(st->list(store::Query{}).size() == 3);
  }

  TEST_CASE("reindex rebuilds damaged indexes from the entries held, reporting progress") {
    TempDir dir;
    Feed f;
    for (int i = 0; i < 3000; ++i) f.append({i % 3 == 0 ? "third" : "rest"});
    store::Query q;
    q.tag = "third";
    q.limit = 5000;
    std::vector<Digest> before;
    {
      auto st = openStore(dir.path());
      REQUIRE(st->ingest(f.run(1, 3000)).verdict == Verdict::accepted);
      for (const auto& e : st->list(q)) before.push_back(e.id);
      REQUIRE(before.size() == 1000);
    }
    {
      // Damage: the tag index is lost while the cursor says all is indexed.
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      std::unique_ptr<leveldb::Iterator> it(db->NewIterator({}));
      leveldb::WriteBatch b;
      for (it->Seek("ig"); it->Valid() && it->key().starts_with("ig"); it->Next()) b.Delete(it->key());
      REQUIRE(db->Write({}, &b).ok());
      it.reset();
      delete db;
    }
    auto st = openStore(dir.path());
    CHECK(st->list(q).empty());
    std::uint64_t lastDone = 0, total = 0;
    int calls = 0;
    REQUIRE(st->reindex([&](std::uint64_t done, std::uint64_t t) {
                  CHECK(done >= lastDone);
                  lastDone = done;
                  total = t;
                  ++calls;
                }).ok());
    CHECK(calls >= 2);  // in steps, not one silent pass
    CHECK(lastDone == total);
    std::vector<Digest> after;
    for (const auto& e : st->list(q)) after.push_back(e.id);
    CHECK(after == before);
  }

  TEST_CASE("two callers setting different networks at once: one wins, the other is refused") {
    TempDir dir;
    store::Options o;
    o.createIfMissing = true;
    auto st = std::move(store::Store::open(dir.path() / "store", o)).value();
    Status a, b;
    std::thread ta([&] { a = st->setNetwork(sha256(asBytes("net a"))); });
    std::thread tb([&] { b = st->setNetwork(sha256(asBytes("net b"))); });
    ta.join();
    tb.join();
    CHECK(a.ok() != b.ok());
    CHECK((a.ok() ? b : a).code() == StatusCode::refused);
    CHECK(*st->network() == sha256(asBytes(a.ok() ? "net a" : "net b")));
  }

  TEST_CASE("node metadata round-trips and survives a reopen") {
    TempDir dir;
    {
      auto st = openStore(dir.path());
      REQUIRE(st->putMeta("org_name", "Women of the Valley").ok());
    }
    auto st = openStore(dir.path());
    CHECK(st->getMeta("org_name") == std::optional<std::string>("Women of the Valley"));
    CHECK_FALSE(st->getMeta("missing"));
  }
}

TEST_SUITE("store_ingest") {
  TEST_CASE("ingesting the same run twice changes nothing the second time") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(20);
    auto first = st->ingest(f.run(1, 20));
    CHECK(first.verdict == Verdict::accepted);
    CHECK(first.stored == 20);
    Digest before = st->frontierDigest();
    auto second = st->ingest(f.run(1, 20));
    CHECK(second.verdict == Verdict::duplicate);
    CHECK(second.stored == 0);
    CHECK(second.duplicates == 20);
    CHECK(st->frontierDigest() == before);
    CHECK(st->counts().entries == 20);
    // An overlapping run stores only what is new.
    f.appendMany(5);
    auto overlap = st->ingest(f.run(15, 25));
    CHECK(overlap.verdict == Verdict::accepted);
    CHECK(overlap.stored == 5);
    CHECK(overlap.duplicates == 6);
  }

  TEST_CASE("ingest refuses a run that starts past the tip (a gap) and writes nothing") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(6);
    REQUIRE(st->ingest(f.run(1, 2)).verdict == Verdict::accepted);
    auto r = st->ingest(f.run(4, 6));
    CHECK(r.verdict == Verdict::gap);
    CHECK(r.detail.find("seq 4") != std::string::npos);
    CHECK(st->tip(f.key.publicKey())->seq == 2);
  }

  TEST_CASE("ingest refuses a run linking to an entry other than the one held") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(3);
    REQUIRE(st->ingest(f.run(1, 2)).verdict == Verdict::accepted);
    // Seq 3 re-signed with a prev that is not the held seq 2.
    record::Header h = f.entries[2].header;
    h.prev = sha256(asBytes("elsewhere"));
    Entry bad = record::makeEntry(f.key, h, *f.entries[2].signedEntry.content);
    auto r = st->ingest({bad.signedEntry});
    CHECK(r.verdict == Verdict::prevMismatch);
    CHECK(st->tip(f.key.publicKey())->seq == 2);
  }

  TEST_CASE("ingest refuses forged runs: broken link, bad last signature, tampered middle signature, wrong content") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(5);
    const Digest before = st->frontierDigest();

    auto brokenLink = f.run(1, 5);
    brokenLink[2] = record::makeEntry(f.key, [&] {
                      auto h = f.entries[2].header;
                      h.prev = sha256(asBytes("x"));
                      return h;
                    }(), *f.entries[2].signedEntry.content).signedEntry;
    CHECK(st->ingest(brokenLink).verdict == Verdict::badLink);

    auto badLast = f.run(1, 5);
    badLast[4].signature.bytes[10] ^= 0x40;
    CHECK(st->ingest(badLast).verdict == Verdict::badSignature);

    auto tamperedMiddle = f.run(1, 5);
    tamperedMiddle[2].signature.bytes[0] ^= 1;
    auto r = st->ingest(tamperedMiddle);
    CHECK(r.verdict == Verdict::badLink);  // seq 4's prev no longer matches
    CHECK(record::isForged(r.verdict));

    auto wrongContent = f.run(1, 5);
    (*wrongContent[1].content)[0] ^= 1;
    CHECK(st->ingest(wrongContent).verdict == Verdict::badContentHash);

    auto tamperedHeader = f.run(1, 1);
    tamperedHeader[0].header[tamperedHeader[0].header.size() - 1] ^= 1;
    CHECK(record::isForged(st->ingest(tamperedHeader).verdict));

    CHECK(st->frontierDigest() == before);
    CHECK(st->counts().entries == 0);
  }

  TEST_CASE("ingest refuses an entry of another network") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.network = sha256(asBytes("other network"));
    f.appendMany(2);
    CHECK(st->ingest(f.run(1, 2)).verdict == Verdict::wrongNetwork);
  }

  TEST_CASE("ingest refuses a timestamp earlier than the held tip's") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(2);
    REQUIRE(st->ingest(f.run(1, 2)).verdict == Verdict::accepted);
    f.append({}, -5000);  // signed by the author, but earlier than seq 2
    CHECK(st->ingest(f.run(3, 3)).verdict == Verdict::timestampBackwards);
    CHECK(st->tip(f.key.publicKey())->seq == 2);
  }

  TEST_CASE("entries stamped more than 10 minutes ahead are deferred and the verified prefix is kept") {
    TempDir dir;
    FakeClock clock;
    auto st = openStore(dir.path(), &clock);
    Feed f;
    f.time = clock.now - 10'000;
    f.appendMany(3);                                // within the past
    f.append({}, 11 * 60 * 1000);                   // 11 minutes ahead
    auto r = st->ingest(f.run(1, 4));
    CHECK(r.verdict == Verdict::futureTimestamp);
    CHECK(r.stored == 3);
    CHECK(st->tip(f.key.publicKey())->seq == 3);
    // Later, when the clock has caught up, the same entry is taken.
    clock.now += 2 * 60 * 1000;
    CHECK(st->ingest(f.run(4, 4)).verdict == Verdict::accepted);
    CHECK(st->tip(f.key.publicKey())->seq == 4);
  }

  TEST_CASE("a fork stores a proof, truncates the feed before it and freezes it") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(5);
    REQUIRE(st->ingest(f.run(1, 5)).verdict == Verdict::accepted);
    // The same key signs a different seq 3 (a cloned key).
    Feed clone = forkAt3(f);
    auto r = st->ingest(clone.run(1, 3));
    CHECK(r.verdict == Verdict::fork);
    auto tip = st->tip(clone.key.publicKey());
    REQUIRE(tip);
    CHECK(tip->frozen);
    CHECK(tip->seq == 2);
    CHECK(tip->id == f.entries[1].id);
    CHECK(st->entryById(f.entries[3].id).status().code() == StatusCode::notFound);
    auto proofs = st->forkProofs(clone.key.publicKey());
    REQUIRE(proofs.size() == 1);
    PublicKey author;
    std::uint64_t seq = 0;
    CHECK(record::verifyForkProof(proofs[0], author, seq).ok());
    CHECK(author == clone.key.publicKey());
    CHECK(seq == 3);
    // Nothing more is taken for a frozen feed, and it cannot publish.
    clone.append();
    CHECK(st->ingest(clone.run(4, 4)).verdict == Verdict::frozen);
    auto pub = st->publish(clone.key, 1, postContent("after fork"));
    CHECK_FALSE(pub.ok());
    CHECK(st->verify().ok());
  }

  TEST_CASE("a fork proof from elsewhere truncates and freezes a feed held past the fork, and only freezes one held less far") {
    TempDir a, b, c;
    auto proven = openStore(a.path());
    Feed f;
    f.appendMany(5);
    REQUIRE(proven->ingest(f.run(1, 5)).verdict == Verdict::accepted);
    Feed clone = forkAt3(f);
    REQUIRE(proven->ingest(clone.run(1, 3)).verdict == Verdict::fork);
    const Bytes proof = proven->forkProofs(clone.key.publicKey()).at(0);
    const PublicKey x = clone.key.publicKey();

    // A store holding the feed up to 5: truncated to 2 and frozen, once.
    auto ahead = openStore(b.path());
    REQUIRE(ahead->ingest(f.run(1, 5)).verdict == Verdict::accepted);
    CHECK(ahead->applyForkProof(proof).verdict == Verdict::accepted);
    CHECK(ahead->tip(x)->seq == 2);
    CHECK(ahead->tip(x)->frozen);
    CHECK(ahead->applyForkProof(proof).verdict == Verdict::duplicate);
    CHECK(ahead->verify().ok());

    // A store that does not hold the feed yet: frozen, but entries before
    // the fork are still taken, and nothing at or past it.
    auto behind = openStore(c.path());
    CHECK(behind->applyForkProof(proof).verdict == Verdict::accepted);
    CHECK_FALSE(behind->tip(x));
    CHECK(behind->ingest(f.run(1, 1)).verdict == Verdict::accepted);
    CHECK(behind->tip(x)->frozen);
    store::IngestResult rest = behind->ingest(f.run(2, 4));
    CHECK(rest.verdict == Verdict::frozen);
    CHECK(rest.stored == 1);
    CHECK(behind->tip(x)->seq == 2);
    CHECK(rest.detail.find("frozen by a fork proof at seq 3") != std::string::npos);

    // Bytes that are not a proof, or a proof of another network, change nothing.
    CHECK(record::isForged(behind->applyForkProof(Bytes(64, 1)).verdict));
    TempDir d;
    store::Options o;
    o.createIfMissing = true;
    auto elsewhere = store::Store::open(d.path() / "store", o);
    REQUIRE(elsewhere.ok());
    REQUIRE((*elsewhere)->setNetwork(sha256(asBytes("another network"))).ok());
    CHECK((*elsewhere)->applyForkProof(proof).verdict == Verdict::wrongNetwork);
    CHECK((*elsewhere)->forkProofs(x).empty());
  }

  TEST_CASE("a fork is not declared when the held entry's own signature does not verify") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(2);
    // Seq 1 carries a bad signature, proven only by seq 2's (the chain rule).
    auto run = f.run(1, 2);
    run[0].signature.bytes[5] ^= 1;
    Entry e2 = f.entries[1];
    {
      record::Header h = e2.header;
      h.prev = record::entryId(run[0].header, run[0].signature);
      e2 = record::makeEntry(f.key, h, *e2.signedEntry.content);
      run[1] = e2.signedEntry;
    }
    REQUIRE(st->ingest(run).verdict == Verdict::accepted);
    // A properly signed, different seq 1 arrives.
    Feed other;
    other.key = std::move(f.key);
    other.time = f.entries[0].header.timestamp;
    other.append({"different"});
    auto r = st->ingest(other.run(1, 1));
    CHECK(r.verdict == Verdict::prevMismatch);
    CHECK(r.detail.find("no fork proof") != std::string::npos);
    auto tip = st->tip(other.key.publicKey());
    REQUIRE(tip);
    CHECK_FALSE(tip->frozen);
    CHECK(tip->seq == 2);
    CHECK(st->forkProofs(other.key.publicKey()).empty());
  }

  TEST_CASE("content that arrives after its header is indexed by its tags") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.append({"late"});
    REQUIRE(st->ingest(f.headers(1, 1)).verdict == Verdict::accepted);
    store::Query q;
    q.tag = "late";
    CHECK(st->list(q).empty());
    REQUIRE(st->ingest(f.run(1, 1)).contentFilled == 1);
    auto found = st->list(q);
    REQUIRE(found.size() == 1);
    CHECK(found[0].id == f.entries[0].id);
  }

  TEST_CASE("content that was missing is filled in by a later run") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(3);
    const auto generation = st->missingContentGeneration();
    auto stored = st->ingest(f.headers(1, 3));
    REQUIRE(stored.verdict == Verdict::accepted);
    CHECK(stored.contentMissing == 3);
    CHECK(st->missingContentGeneration() > generation);
    CHECK_FALSE(st->entryAt(f.key.publicKey(), 2)->signedEntry.content.has_value());
    // Listed as missing, in feed order, from a position on.
    auto seqsOf = [](const std::vector<store::Position>& ps) {
      std::vector<std::uint64_t> out;
      for (const auto& p : ps) out.push_back(p.seq);
      return out;
    };
    CHECK(seqsOf(st->missingContent(std::nullopt, 10)) == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(seqsOf(st->missingContent(store::Position{f.key.publicKey(), 1}, 10)) == std::vector<std::uint64_t>{2, 3});
    CHECK(seqsOf(st->missingContent(std::nullopt, 1)) == std::vector<std::uint64_t>{1});
    auto r = st->ingest(f.run(1, 3));
    CHECK(r.verdict == Verdict::accepted);
    CHECK(r.contentFilled == 3);
    CHECK(st->entryAt(f.key.publicKey(), 2)->signedEntry.content.has_value());
    CHECK(st->missingContent(std::nullopt, 10).empty());
    CHECK(st->verify().ok());
  }

  TEST_CASE("a schema version 1 store gets its missing-content rows at its next open") {
    TempDir dir;
    Feed f;
    f.appendMany(2);
    {
      auto st = openStore(dir.path());
      auto headersOnly = f.run(1, 2);
      headersOnly[1].content.reset();
      REQUIRE(st->ingest(headersOnly).contentMissing == 1);
    }
    {  // as version 1 left it: no w rows
      leveldb::DB* db = nullptr;
      REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
      REQUIRE(db->Delete({}, std::string(1, 'w') + std::string(reinterpret_cast<const char*>(f.key.publicKey().bytes.data()), 32) +
                                 std::string("\0\0\0\0\0\0\0\2", 8)).ok());
      REQUIRE(db->Put({}, "mschema_version", "1").ok());
      delete db;
    }
    store::Options o;
    auto st = store::Store::open(dir.path() / "store", o);
    REQUIRE(st.ok());
    auto missing = (*st)->missingContent(std::nullopt, 10);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].seq == 2);
    CHECK(missing[0].feed == f.key.publicKey());
    st->reset();
    leveldb::DB* db = nullptr;
    REQUIRE(leveldb::DB::Open({}, (dir.path() / "store").string(), &db).ok());
    std::string version;
    REQUIRE(db->Get({}, "mschema_version", &version).ok());
    CHECK(version == "2");
    delete db;
  }

  TEST_CASE("content erased here is neither missing nor taken when it arrives") {
    TempDir dir;
    auto st = openStore(dir.path());
    Feed f;
    f.appendMany(2);
    REQUIRE(st->ingest(f.headers(1, 2)).verdict == Verdict::accepted);
    store::Moderation m;
    m.erased.insert(record::EntryRef{f.key.publicKey(), 2, f.entries[1].id});
    REQUIRE(st->applyModeration(m).ok());
    auto missing = st->missingContent(std::nullopt, 10);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].seq == 1);
    // The content of the erased entry is dropped; the other one's is filled.
    auto r = st->ingest(f.run(1, 2));
    CHECK(r.contentFilled == 1);
    CHECK_FALSE(st->entryAt(f.key.publicKey(), 2)->signedEntry.content.has_value());
    CHECK(st->isErased(f.key.publicKey(), 2));
    CHECK(st->missingContent(std::nullopt, 10).empty());
  }

  TEST_CASE("entries of kinds this node does not know are stored and read back unchanged") {
    TempDir dir;
    auto st = openStore(dir.path());
    auto key = PrivateKey::generate();
    record::Header h;
    h.network = testNetwork();
    h.seq = 1;
    h.timestamp = 1'700'000'000'000;
    h.kind = 4242;
    Entry e = record::makeEntry(key, h, Bytes{1, 2, 3, 4, 5, 6, 7, 8});
    REQUIRE(st->ingest({e.signedEntry}).verdict == Verdict::accepted);
    auto back = st->entryById(e.id);
    REQUIRE(back.ok());
    CHECK(back->signedEntry.header == e.signedEntry.header);
    CHECK(back->signedEntry.content == e.signedEntry.content);
    CHECK(back->header.kind == 4242);
  }
}

TEST_SUITE("store_local") {
  TEST_CASE("node-local rows are written in one batch, listed by prefix, deleted, and kept across a reopen") {
    TempDir dir;
    {
      auto st = openStore(dir.path());
      REQUIRE(st->writeLocal({{store::LocalTable::account, "amina", "a"},
                              {store::LocalTable::account, "ali", "b"},
                              {store::LocalTable::account, "bo", "c"},
                              {store::LocalTable::session, "amina", "session"}})
                  .ok());
      CHECK(st->getLocal(store::LocalTable::account, "ali") == "b");
      CHECK(st->getLocal(store::LocalTable::session, "ali") == std::nullopt);
      auto as = st->listLocal(store::LocalTable::account, "a");
      REQUIRE(as.size() == 2);
      CHECK(as[0] == std::make_pair(std::string("ali"), std::string("b")));
      CHECK(as[1] == std::make_pair(std::string("amina"), std::string("a")));
      CHECK(st->listLocal(store::LocalTable::account).size() == 3);
      REQUIRE(st->writeLocal({{store::LocalTable::account, "bo", std::nullopt}}).ok());
      CHECK(st->getLocal(store::LocalTable::account, "bo") == std::nullopt);
      // Not entries: the store still holds none, and verifies.
      CHECK(st->counts().entries == 0);
      CHECK(st->verify().ok());
    }
    store::Options o;
    auto st = store::Store::open(dir.path() / "store", o);
    REQUIRE(st.ok());
    CHECK((*st)->getLocal(store::LocalTable::account, "amina") == "a");
    CHECK((*st)->listLocal(store::LocalTable::account).size() == 2);
    CHECK((*st)->getLocal(store::LocalTable::session, "amina") == "session");
  }
}

TEST_SUITE("store_durability") {
  TEST_CASE("every acknowledged publish survives kill -9 and the store still verifies") {
    TempDir dir;
    { auto st = openStore(dir.path()); }  // create with a network
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      store::Options o;
      auto st = store::Store::open(dir.path() / "store", o);
      if (!st.ok()) ::_exit(3);
      auto key = PrivateKey::generate();
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
          for (;;) {
            auto e = (*st)->publish(key, 1, postContent("crash test"));
            if (!e.ok()) ::_exit(4);
            // Report the id only once acknowledged.
            if (::write(fds[1], e->id.bytes.data(), 32) != 32) ::_exit(5);
          }
        });
      for (auto& t : threads) t.join();
      ::_exit(0);
    }
    ::close(fds[1]);
    std::vector<Digest> acked;
    while (acked.size() < 300) {
      Digest d;
      std::size_t got = 0;
      while (got < 32) {
        ssize_t n = ::read(fds[0], d.bytes.data() + got, 32 - got);
        REQUIRE(n > 0);
        got += static_cast<std::size_t>(n);
      }
      acked.push_back(d);
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(fds[0]);
    CHECK(WIFSIGNALED(status));

    store::Options o;
    auto st = store::Store::open(dir.path() / "store", o);
    REQUIRE(st.ok());
    for (const auto& id : acked) CHECK((*st)->entryById(id).ok());
    auto report = (*st)->verify();
    CHECK(report.ok());
    CHECK(report.entries >= acked.size());
  }
}

TEST_SUITE("store_backup") {
  TEST_CASE("a backup taken while writes go on restores to the snapshot's frontier, without sessions or indexes") {
    TempDir dir;
    auto st = openStore(dir.path());
    auto key = PrivateKey::generate();
    for (int i = 0; i < 20; ++i)
      REQUIRE(st->publish(key, static_cast<std::uint16_t>(record::Kind::post), postContent("p" + std::to_string(i), {"t"})).ok());
    Feed other;
    other.appendMany(5);
    REQUIRE(st->ingest(other.run(1, 5)).stored == 5);
    REQUIRE(st->writeLocal({{store::LocalTable::account, "amina", "account row"},
                            {store::LocalTable::session, "tokenhash", "session row"}}).ok());
    REQUIRE(st->putMeta("node.org_name", "River Women").ok());

    auto b = st->backup();
    REQUIRE(b.ok());
    const Digest frontier = st->frontierDigest();
    CHECK((*b)->frontier() == frontier);
    CHECK((*b)->counts().entries == 25);
    // Written after the snapshot: not in the backup.
    REQUIRE(st->publish(key, static_cast<std::uint16_t>(record::Kind::post), postContent("later")).ok());

    auto sink = store::Store::restoreInto(dir.path() / "restored");
    REQUIRE(sink.ok());
    std::size_t rows = 0;
    bool more = true;
    while (more) {
      more = (*b)->next(512, [&](std::string_view k, std::string_view v) {
        ++rows;
        CHECK(k.front() != 'i');  // index rows are rebuilt, not copied
        CHECK(k.front() != 's');  // sessions end with the run that made them
        REQUIRE((*sink)->add(k, v).ok());
      });
    }
    REQUIRE((*b)->status().ok());
    CHECK(rows > 25);
    REQUIRE((*sink)->finish().ok());
    b->reset();

    store::Options o;
    auto r = store::Store::open(dir.path() / "restored", o);
    REQUIRE(r.ok());
    CHECK((*r)->frontierDigest() == frontier);
    CHECK((*r)->network() == testNetwork());
    CHECK((*r)->verify().ok());
    CHECK((*r)->getLocal(store::LocalTable::account, "amina") == std::optional<std::string>("account row"));
    CHECK(!(*r)->getLocal(store::LocalTable::session, "tokenhash"));
    CHECK((*r)->getMeta("node.org_name") == std::optional<std::string>("River Women"));
    store::Query q;
    q.tag = "t";
    q.limit = 100;
    CHECK((*r)->list(q).size() == 20);  // the tag index was rebuilt
  }

  TEST_CASE("a restore goes into a new store only, and refuses rows of unknown tables") {
    TempDir dir;
    { auto st = openStore(dir.path()); }
    CHECK(store::Store::restoreInto(dir.path() / "store").status().code() == StatusCode::alreadyExists);
    auto sink = store::Store::restoreInto(dir.path() / "new");
    REQUIRE(sink.ok());
    auto s = (*sink)->add("Zbogus", "x");
    CHECK(s.code() == StatusCode::corruption);
    CHECK(s.message().find("unknown table") != std::string::npos);
  }
}

// The full-text search index (daemon/search.hpp) on a real store and a real
// Xapian database in a temporary directory: what it finds, in what order,
// how it pages and filters, and that it keeps its place across a restart,
// rebuilds on demand, and refuses a search with no word in it.
#include "tests/support/doctest.hpp"
#include "tests/support/temp_dir.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/search.hpp"
#include "schemas/content.hpp"
#include "store/store.hpp"

using namespace civnet;
using civnet::daemon::SearchFilter;
using civnet::daemon::SearchIndex;

namespace {

std::shared_ptr<spdlog::logger> quietLog() {
  return std::make_shared<spdlog::logger>("search-test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

struct Fixture {
  civnet::test::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<SearchIndex> index;
  PrivateKey org = PrivateKey::generate();
  PrivateKey other = PrivateKey::generate();
  Fixture() {
    store::Options so;
    so.createIfMissing = true;
    auto s = store::Store::open(dir.path() / "store", so);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(store->setNetwork(sha256(asBytes("search test"))).ok());
    openIndex();
  }
  void openIndex() {
    auto i = SearchIndex::open(dir.path() / "search", *store, quietLog());
    REQUIRE_MESSAGE(i.ok(), i.status().message());
    index = std::move(i).value();
  }
  record::Entry post(const PrivateKey& k, std::string title, std::string body, std::vector<std::string> tags = {},
                     std::string language = "en", std::optional<record::EntryRef> revises = std::nullopt) {
    record::Post p;
    p.title = std::move(title);
    p.body = std::move(body);
    p.tags = std::move(tags);
    p.language = std::move(language);
    p.revises = std::move(revises);
    auto e = store->publish(k, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
    REQUIRE(e.ok());
    return *e;
  }
  std::vector<Digest> find(std::string_view text, const SearchFilter& f = {}, std::size_t offset = 0,
                           std::size_t limit = 10) {
    auto hits = index->search(text, f, offset, limit);
    REQUIRE_MESSAGE(hits.ok(), hits.status().message());
    return hits->threads;
  }
};

}  // namespace

TEST_SUITE("search") {
  TEST_CASE("words are found by their stem in the post's language, titles ranking above bodies") {
    Fixture f;
    auto inBody = f.post(f.org, "Spring report", "We dug a well by the school.");
    auto inTitle = f.post(f.org, "Wells for three villages", "What we learned.");
    auto french = f.post(f.org, "Formations des animatrices", "Douze animatrices formées.", {}, "fr");
    CHECK(f.find("wells") == std::vector<Digest>{inTitle.id, inBody.id});
    CHECK(f.find("formation") == std::vector<Digest>{french.id});
    CHECK(f.find("\"three villages\"") == std::vector<Digest>{inTitle.id});
    CHECK(f.find("wells -school") == std::vector<Digest>{inTitle.id});
    CHECK(f.find("submarine").empty());
    auto none = f.index->search("!!!", {}, 0, 10);
    REQUIRE_FALSE(none.ok());
    CHECK(none.status().code() == StatusCode::invalidArgument);
  }

  TEST_CASE("filters by tag and organization, and pages with more") {
    Fixture f;
    auto a = f.post(f.org, "Water point one", "", {"Water"});
    auto b = f.post(f.other, "Water point two", "", {"water"});
    auto c = f.post(f.org, "Water point three", "", {"health"});
    SearchFilter byTag;
    byTag.tag = "WATER";  // ignoring case
    auto tagged = f.find("water", byTag);
    CHECK(tagged.size() == 2);
    CHECK(std::find(tagged.begin(), tagged.end(), c.id) == tagged.end());
    SearchFilter byOrg;
    byOrg.orgs = std::set<PublicKey>{f.other.publicKey()};
    CHECK(f.find("water", byOrg) == std::vector<Digest>{b.id});
    byOrg.orgs = std::set<PublicKey>{};
    CHECK(f.find("water", byOrg).empty());
    auto page1 = f.index->search("water", {}, 0, 2);
    auto page2 = f.index->search("water", {}, 2, 2);
    REQUIRE(page1.ok());
    REQUIRE(page2.ok());
    CHECK(page1->more);
    CHECK_FALSE(page2->more);
    std::set<Digest> all(page1->threads.begin(), page1->threads.end());
    all.insert(page2->threads.begin(), page2->threads.end());
    CHECK(all == std::set<Digest>{a.id, b.id, c.id});
  }

  TEST_CASE("a revision's text replaces its post's, and only its own organization's revision counts") {
    Fixture f;
    auto root = f.post(f.org, "Wells", "Old text about pumps.");
    const record::EntryRef ref{root.header.author, root.header.seq, root.id};
    f.post(f.org, "Boreholes", "New text.", {}, "en", ref);
    f.post(f.other, "Hijacked", "Spam words.", {}, "en", ref);
    CHECK(f.find("boreholes") == std::vector<Digest>{root.id});
    CHECK(f.find("pumps").empty());
    CHECK(f.find("spam").empty());
  }

  TEST_CASE("the index keeps its place across a restart, and rebuild starts from scratch") {
    Fixture f;
    auto one = f.post(f.org, "Literacy circles", "Evening classes.");
    REQUIRE(f.find("literacy").size() == 1);
    const std::uint64_t cursor = f.index->cursor();
    CHECK(cursor == f.store->indexedPosition());
    f.index.reset();
    auto two = f.post(f.org, "Literacy for adults", "Weekend classes.");  // while it is closed
    f.openIndex();
    CHECK(f.find("literacy").size() == 2);  // caught up from its cursor
    CHECK(f.index->documents() == 2);
    REQUIRE(f.index->rebuild().ok());
    CHECK(f.index->documents() == 2);
    CHECK(f.index->cursor() == f.store->indexedPosition());
    CHECK(f.find("weekend") == std::vector<Digest>{two.id});
    CHECK(one.id != two.id);
  }
}

// Tests of the admin API's handlers (daemon/admin_api.hpp) on a real store in
// a temp dir, without a socket: routing, errors as JSON, publish and list,
// export paging, import's grouping into runs and its refusals, and the
// membership endpoints (members, admit, revoke, lift, takedown, retract) on a
// store whose policy is a real MembershipTracker of a real genesis.
#include "tests/support/doctest.hpp"

#include "tests/support/temp_dir.hpp"

#include <filesystem>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/admin_api.hpp"
#include "daemon/hosted_orgs.hpp"
#include "federation/membership_tracker.hpp"
#include "schemas/content.hpp"
#include "schemas/genesis.hpp"
#include "schemas/record.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using civnet::daemon::AdminApi;
using civnet::daemon::ApiRequest;
using civnet::daemon::ApiResponse;

namespace {

using TempDir = civnet::test::TempDir;

// The organizations a test node hosts: `org` (a copy of its key) first.
std::unique_ptr<civnet::daemon::HostedOrgs> hostedOrgs(const fs::path& root, civnet::store::Store& store,
                                                        const civnet::PrivateKey& org) {
  fs::create_directories(root / "keys");
  auto copy = civnet::PrivateKey::fromPem(org.toPem());
  REQUIRE(copy.ok());
  return std::make_unique<civnet::daemon::HostedOrgs>(civnet::daemon::DataDir{root}, store, std::move(copy).value(),
                                                      "Test Org", civnet::PrivateKey::generate().publicKey());
}


// A store of network `network` with the API in front of it.
struct Fixture {
  TempDir dir;
  civnet::Digest network = civnet::sha256(civnet::asBytes("test network"));
  civnet::PrivateKey org = civnet::PrivateKey::generate();
  std::unique_ptr<civnet::store::Store> store;
  std::unique_ptr<civnet::daemon::HostedOrgs> orgs;
  std::unique_ptr<AdminApi> api;

  Fixture() {
    civnet::store::Options o;
    o.createIfMissing = true;
    auto s = civnet::store::Store::open(dir.path() / "store", o);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(store->setNetwork(network).ok());
    civnet::daemon::NodeInfo info;
    info.nodeKey = civnet::PrivateKey::generate().publicKey();
    info.network = network;
    orgs = hostedOrgs(dir.path(), *store, org);
    auto log = std::make_shared<spdlog::logger>("admin", std::make_shared<spdlog::sinks::null_sink_mt>());
    api = std::make_unique<AdminApi>(*store, *orgs, info, civnet::daemon::ApiLimits{}, log);
  }
  ~Fixture() { api.reset(); }

  ApiResponse call(std::string method, std::string target, std::string body = "") {
    return api->handle(ApiRequest{std::move(method), std::move(target), std::move(body)});
  }
  json::object callJson(std::string method, std::string target, std::string body, unsigned status) {
    ApiResponse r = call(std::move(method), std::move(target), std::move(body));
    INFO(r.body);
    CHECK(r.status == status);
    CHECK(r.contentType == "application/json");
    return json::parse(r.body).as_object();
  }
};

std::string errorCode(const ApiResponse& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}
std::string errorMessage(const ApiResponse& r) {
  return std::string(json::parse(r.body).at("error").at("message").as_string());
}

// A run of `n` posts of a feed that is not the node's own.
std::vector<civnet::record::SignedEntry> foreignRun(const civnet::PrivateKey& key, const civnet::Digest& network,
                                                    int n) {
  std::vector<civnet::record::SignedEntry> run;
  civnet::Digest prev{};
  for (int i = 1; i <= n; ++i) {
    civnet::record::Header h;
    h.network = network;
    h.author = key.publicKey();
    h.seq = static_cast<std::uint64_t>(i);
    h.prev = prev;
    h.timestamp = 1700000000000 + i;
    h.kind = static_cast<std::uint16_t>(civnet::record::Kind::post);
    civnet::record::Post p;
    p.title = "foreign " + std::to_string(i);
    auto e = civnet::record::makeEntry(key, h, civnet::record::encodePost(p));
    prev = e.id;
    run.push_back(e.signedEntry);
  }
  return run;
}

std::string frames(const std::vector<civnet::record::SignedEntry>& run) {
  std::string out;
  for (auto& se : run) {
    auto f = civnet::record::encodeFrame(se);
    out.append(reinterpret_cast<const char*>(f.data()), f.size());
  }
  return out;
}


// A node of a network with `n` stewards and threshold `k`, its store policed
// by a MembershipTracker. With `steward` >= 0 the node holds that steward's
// key; `apiAs(i)` gives the API of a node holding steward i's key on the same
// store (so a second steward can act without a second node).
struct MemberFixture {
  TempDir dir;
  std::vector<civnet::PrivateKey> stewards;
  civnet::record::Genesis genesis;
  civnet::Digest network;
  civnet::PrivateKey org = civnet::PrivateKey::generate();
  std::unique_ptr<civnet::store::Store> store;
  std::unique_ptr<civnet::federation::MembershipTracker> tracker;
  std::unique_ptr<civnet::daemon::HostedOrgs> orgs;
  std::vector<std::unique_ptr<AdminApi>> apis;  // [0]: this node's
  std::shared_ptr<spdlog::logger> log =
      std::make_shared<spdlog::logger>("admin", std::make_shared<spdlog::sinks::null_sink_mt>());

  MemberFixture(int n, std::uint32_t k, int steward = 0) {
    for (int i = 0; i < n; ++i) stewards.push_back(civnet::PrivateKey::generate());
    genesis.name = "Admin API test";
    for (auto& s : stewards) genesis.stewards.push_back(s.publicKey());
    genesis.threshold = k;
    genesis.createdAt = 1'700'000'000'000;
    for (auto& s : stewards) REQUIRE(genesis.sign(s).ok());
    REQUIRE(genesis.checkComplete().ok());
    network = genesis.networkId();

    civnet::store::Options o;
    o.createIfMissing = true;
    auto s = civnet::store::Store::open(dir.path() / "store", o);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(store->setNetwork(network).ok());
    tracker = std::make_unique<civnet::federation::MembershipTracker>(genesis, *store);
    REQUIRE(tracker->load().ok());
    store->setPolicy(tracker.get());
    REQUIRE(store->applyModeration(tracker->moderation()).ok());
    orgs = hostedOrgs(dir.path(), *store, org);
    apis.push_back(makeApi(steward >= 0 ? &stewards[static_cast<std::size_t>(steward)] : nullptr));
  }
  ~MemberFixture() {
    apis.clear();
    store->setPolicy(nullptr);
  }

  std::unique_ptr<AdminApi> makeApi(const civnet::PrivateKey* stewardKey) {
    civnet::daemon::NodeInfo info;
    info.nodeKey = civnet::PrivateKey::generate().publicKey();
    info.network = network;
    if (stewardKey) info.stewardKey = stewardKey->publicKey();
    return std::make_unique<AdminApi>(*store, *orgs, info, civnet::daemon::ApiLimits{}, log,
                                      civnet::daemon::MembershipServices{stewardKey, tracker.get()});
  }
  AdminApi& apiAs(int steward) {
    apis.push_back(makeApi(&stewards[static_cast<std::size_t>(steward)]));
    return *apis.back();
  }

  ApiResponse call(std::string method, std::string target, std::string body = "") {
    return call(*apis[0], std::move(method), std::move(target), std::move(body));
  }
  static ApiResponse call(AdminApi& api, std::string method, std::string target, std::string body = "") {
    return api.handle(ApiRequest{std::move(method), std::move(target), std::move(body)});
  }
  json::object callJson(std::string method, std::string target, std::string body, unsigned status) {
    return callJson(*apis[0], std::move(method), std::move(target), std::move(body), status);
  }
  static json::object callJson(AdminApi& api, std::string method, std::string target, std::string body,
                               unsigned status) {
    ApiResponse r = call(api, std::move(method), std::move(target), std::move(body));
    INFO(r.body);
    CHECK(r.status == status);
    return json::parse(r.body).as_object();
  }

  std::string stateOf(const civnet::PublicKey& feed) {
    auto v = tracker->view();
    auto it = v->feeds.find(feed);
    return civnet::federation::toString(it == v->feeds.end() ? civnet::federation::MemberState::none
                                                             : it->second.state);
  }
};

std::string admitBody(const civnet::PublicKey& feed, std::string name = "Org", std::string region = "West Africa",
                      std::vector<std::string> labels = {}) {
  json::array l;
  for (auto& x : labels) l.emplace_back(x);
  return json::serialize(json::object{{"feed_key", feed.hex()}, {"name", name}, {"region", region}, {"labels", l}});
}

}  // namespace

TEST_SUITE("admin_api") {
  TEST_CASE("status names the node's keys, network and counts") {
    Fixture f;
    json::object o = f.callJson("GET", "/v1/status", "", 200);
    for (auto key : {"node_key", "feed_key", "network_id", "feeds", "entries", "frontier_digest"})
      CHECK(o.contains(key));
    CHECK(o.at("feed_key").as_string() == f.org.publicKey().hex());
    CHECK(o.at("network_id").as_string() == f.network.hex());
    CHECK(o.at("entries").to_number<std::uint64_t>() == 0);
  }

  TEST_CASE("status names the largest import body, so clients can size their batches") {
    Fixture f;
    json::object o = f.callJson("GET", "/v1/status", "", 200);
    CHECK(o.at("max_import_bytes").to_number<std::uint64_t>() == civnet::daemon::ApiLimits{}.maxRequestBytes);
  }

  TEST_CASE("an unknown endpoint is a JSON 404") {
    Fixture f;
    ApiResponse r = f.call("GET", "/v1/nope");
    CHECK(r.status == 404);
    CHECK(errorCode(r) == "not_found");
  }

  TEST_CASE("a wrong method is a 405 naming the allowed one") {
    Fixture f;
    ApiResponse r = f.call("GET", "/v1/publish");
    CHECK(r.status == 405);
    CHECK(errorCode(r) == "method_not_allowed");
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0].second == "POST");
  }

  TEST_CASE("publish then list and show return the post") {
    Fixture f;
    json::object p = f.callJson("POST", "/v1/publish", R"({"title":"Wells","body":"Dig deep.","tags":["water"]})", 201);
    CHECK(p.at("seq").to_number<std::uint64_t>() == 1);
    CHECK(p.at("author").as_string() == f.org.publicKey().hex());
    std::string id(p.at("id").as_string());

    json::object list = f.callJson("GET", "/v1/entries?tag=water", "", 200);
    auto& entries = list.at("entries").as_array();
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].at("id").as_string() == id);
    CHECK(entries[0].at("title").as_string() == "Wells");
    CHECK_FALSE(entries[0].as_object().contains("body"));

    json::object shown = f.callJson("GET", "/v1/entries/" + id, "", 200);
    CHECK(shown.at("body").as_string() == "Dig deep.");
  }

  TEST_CASE("publish refuses a body that is not JSON, a missing title and unknown fields") {
    Fixture f;
    CHECK(f.call("POST", "/v1/publish", "{not json").status == 400);
    CHECK(f.call("POST", "/v1/publish", R"({"body":"b"})").status == 400);
    CHECK(f.call("POST", "/v1/publish", R"({"title":"t","colour":"red"})").status == 400);
    CHECK(f.call("POST", "/v1/publish", R"({"title":"t","tags":"water"})").status == 400);
    CHECK(f.store->counts().entries == 0);
  }

  TEST_CASE("list refuses unknown parameters and limits out of range") {
    Fixture f;
    CHECK(f.call("GET", "/v1/entries?colour=red").status == 400);
    CHECK(f.call("GET", "/v1/entries?limit=0").status == 400);
    CHECK(f.call("GET", "/v1/entries?limit=abc").status == 400);
    CHECK(f.call("GET", "/v1/entries?author=xyz").status == 400);
    CHECK(f.call("GET", "/v1/entries?limit=1000").status == 200);
  }

  TEST_CASE("a missing entry is a 404 and a malformed id a 400") {
    Fixture f;
    CHECK(f.call("GET", "/v1/entries/" + std::string(64, '0')).status == 404);
    CHECK(f.call("GET", "/v1/entries/zz").status == 400);
  }

  TEST_CASE("show finds an entry by the 12 characters tables show, in either case") {
    Fixture f;
    json::object p = f.callJson("POST", "/v1/publish", R"({"title":"Wells","body":"Dig deep."})", 201);
    std::string id(p.at("id").as_string());
    std::string upper = id;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(f.callJson("GET", "/v1/entries/" + id.substr(0, 12), "", 200).at("id").as_string() == id);
    CHECK(f.callJson("GET", "/v1/entries/" + upper.substr(0, 12), "", 200).at("id").as_string() == id);
    CHECK(f.callJson("GET", "/v1/entries/" + upper, "", 200).at("id").as_string() == id);
    ApiResponse none = f.call("GET", "/v1/entries/" + std::string(id[0] == '0' ? "1" : "0") + id.substr(1, 11));
    CHECK(none.status == 404);
    CHECK(f.call("GET", "/v1/entries/" + id.substr(0, 7)).status == 400);
  }

  TEST_CASE("list takes an author by the 12 characters tables show, in either case") {
    Fixture f;
    f.callJson("POST", "/v1/publish", R"({"title":"mine","body":"x"})", 201);
    civnet::PrivateKey other = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/import", frames(foreignRun(other, f.network, 2)), 200);
    std::string key = other.publicKey().hex(), upper = key;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& author : {key.substr(0, 12), upper.substr(0, 12), upper, key.substr(0, 8)}) {
      INFO(author);
      json::object list = f.callJson("GET", "/v1/entries?author=" + author, "", 200);
      auto& entries = list.at("entries").as_array();
      REQUIRE(entries.size() == 2);
      for (auto& e : entries) CHECK(e.at("author").as_string() == key);
    }
  }

  TEST_CASE("list refuses an author prefix that names no feed, or several") {
    Fixture f;
    // Two keys whose public keys share their first 8 hex characters (found
    // by search over these seeds).
    auto keyOf = [](int n) {
      std::string seed = "civnet ambiguous feed " + std::to_string(n);
      return std::move(civnet::PrivateKey::fromSeed(civnet::sha256(civnet::asBytes(seed)).view())).value();
    };
    civnet::PrivateKey k1 = keyOf(18575), k2 = keyOf(21716);
    std::string shared = k1.publicKey().hex().substr(0, 8);
    REQUIRE(k2.publicKey().hex().substr(0, 8) == shared);
    f.callJson("POST", "/v1/import", frames(foreignRun(k1, f.network, 1)) + frames(foreignRun(k2, f.network, 1)),
               200);
    ApiResponse ambiguous = f.call("GET", "/v1/entries?author=" + shared);
    CHECK(ambiguous.status == 400);
    CHECK(ambiguous.body.find("ambiguous") != std::string::npos);
    CHECK(f.callJson("GET", "/v1/entries?author=" + k1.publicKey().hex().substr(0, 9), "", 200)
              .at("entries").as_array().size() == 1);
    std::string none = shared == "00000000" ? "11111111" : "00000000";
    ApiResponse missing = f.call("GET", "/v1/entries?author=" + none);
    CHECK(missing.status == 404);
    CHECK(missing.body.find("no feed starts with " + none) != std::string::npos);
    CHECK(f.call("GET", "/v1/entries?author=abc").status == 400);
  }

  TEST_CASE("export pages follow the cursor until every entry is out") {
    Fixture f;
    for (int i = 0; i < 5; ++i)
      f.callJson("POST", "/v1/publish", R"({"title":"post","body":"x"})", 201);
    std::string all, cursor;
    int pages = 0;
    for (;;) {
      ApiResponse r = f.call("GET", "/v1/export?max_bytes=1" + (cursor.empty() ? "" : "&after=" + cursor));
      REQUIRE(r.status == 200);
      CHECK(r.contentType == "application/octet-stream");
      all += r.body;
      ++pages;
      std::string next;
      for (auto& [k, v] : r.headers)
        if (k == "Civnet-Next-Cursor") next = v;
      if (next.empty()) break;
      cursor = next;
      REQUIRE(pages < 10);
    }
    CHECK(pages == 5);  // max_bytes=1: one entry per page
    ApiResponse whole = f.call("GET", "/v1/export");
    CHECK(whole.body == all);
  }

  TEST_CASE("import groups a body into runs per feed and stores them") {
    Fixture f;
    civnet::PrivateKey k1 = civnet::PrivateKey::generate(), k2 = civnet::PrivateKey::generate();
    std::string body = frames(foreignRun(k1, f.network, 3)) + frames(foreignRun(k2, f.network, 2));
    json::object r = f.callJson("POST", "/v1/import", body, 200);
    CHECK(r.at("stored").to_number<std::uint64_t>() == 5);
    CHECK(r.at("refused").as_array().empty());
    CHECK(f.store->counts().feeds == 2);
    json::object again = f.callJson("POST", "/v1/import", body, 200);
    CHECK(again.at("stored").to_number<std::uint64_t>() == 0);
    CHECK(again.at("duplicates").to_number<std::uint64_t>() == 5);
  }

  TEST_CASE("import reports a refused run and still takes the other runs") {
    Fixture f;
    civnet::PrivateKey k1 = civnet::PrivateKey::generate(), k2 = civnet::PrivateKey::generate();
    auto bad = foreignRun(k1, f.network, 2);
    bad.back().signature.bytes[0] ^= 1;
    std::string body = frames(bad) + frames(foreignRun(k2, f.network, 2));
    json::object r = f.callJson("POST", "/v1/import", body, 200);
    CHECK(r.at("stored").to_number<std::uint64_t>() == 2);
    auto& refused = r.at("refused").as_array();
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].at("feed").as_string() == k1.publicKey().hex());
    CHECK(refused[0].at("verdict").as_string() == "badSignature");
    CHECK(refused[0].at("entries").to_number<std::uint64_t>() == 2);  // the whole run
  }

  TEST_CASE("import counts the entries of each refused run, so the counts add up") {
    Fixture f;
    civnet::PrivateKey k1 = civnet::PrivateKey::generate(), k2 = civnet::PrivateKey::generate();
    auto run1 = foreignRun(k1, f.network, 5);
    // Seqs 1-2 held, then 3-5 offered after a gap (seq 3 missing).
    f.callJson("POST", "/v1/import", frames({run1[0], run1[1]}), 200);
    auto other = civnet::sha256(civnet::asBytes("another network"));
    std::string body = frames({run1[0], run1[1], run1[3], run1[4]}) + frames(foreignRun(k2, other, 3));
    json::object r = f.callJson("POST", "/v1/import", body, 200);
    CHECK(r.at("entries").to_number<std::uint64_t>() == 7);
    CHECK(r.at("duplicates").to_number<std::uint64_t>() == 2);
    auto& refused = r.at("refused").as_array();
    REQUIRE(refused.size() == 2);
    CHECK(refused[0].at("verdict").as_string() == "gap");
    CHECK(refused[0].at("seq").to_number<std::uint64_t>() == 4);
    CHECK(refused[0].at("entries").to_number<std::uint64_t>() == 2);
    CHECK(refused[1].at("verdict").as_string() == "wrongNetwork");
    CHECK(refused[1].at("entries").to_number<std::uint64_t>() == 3);
    std::uint64_t sum = r.at("stored").to_number<std::uint64_t>() + r.at("duplicates").to_number<std::uint64_t>();
    for (auto& x : refused) sum += x.at("entries").to_number<std::uint64_t>();
    CHECK(sum == 7);
  }

  TEST_CASE("import refuses entries of another network") {
    Fixture f;
    civnet::PrivateKey k = civnet::PrivateKey::generate();
    auto other = civnet::sha256(civnet::asBytes("another network"));
    json::object r = f.callJson("POST", "/v1/import", frames(foreignRun(k, other, 1)), 200);
    REQUIRE(r.at("refused").as_array().size() == 1);
    CHECK(r.at("refused").as_array()[0].at("verdict").as_string() == "wrongNetwork");
    CHECK(f.store->counts().entries == 0);
  }

  TEST_CASE("import of a body cut inside a frame stores nothing") {
    Fixture f;
    civnet::PrivateKey k = civnet::PrivateKey::generate();
    std::string body = frames(foreignRun(k, f.network, 2));
    body.resize(body.size() - 3);
    ApiResponse r = f.call("POST", "/v1/import", body);
    CHECK(r.status == 400);
    CHECK(f.store->counts().entries == 0);
  }

  TEST_CASE("a verify job runs to done and reports the store sound") {
    Fixture f;
    f.callJson("POST", "/v1/publish", R"({"title":"t","body":"b"})", 201);
    json::object job = f.callJson("POST", "/v1/jobs/verify", "", 202);
    std::string id(job.at("job").as_string());
    for (int i = 0; i < 1000 && job.at("state").as_string() == "running"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the job
      job = f.callJson("GET", "/v1/jobs/" + id, "", 200);
    }
    REQUIRE(job.at("state").as_string() == "done");
    CHECK(job.at("result").at("ok").as_bool());
    CHECK(job.at("result").at("entries").to_number<std::uint64_t>() == 1);
    CHECK(f.call("GET", "/v1/jobs/999").status == 404);
  }

  TEST_CASE("a reindex job reports its progress and its result") {
    Fixture f;
    for (int i = 0; i < 3; ++i) f.callJson("POST", "/v1/publish", R"({"title":"t","body":"b","tags":["x"]})", 201);
    json::object job = f.callJson("POST", "/v1/jobs/reindex", "", 202);
    CHECK(job.at("kind").as_string() == "reindex");
    std::string id(job.at("job").as_string());
    for (int i = 0; i < 1000 && job.at("state").as_string() == "running"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling the job
      job = f.callJson("GET", "/v1/jobs/" + id, "", 200);
    }
    REQUIRE(job.at("state").as_string() == "done");
    CHECK(job.at("result").at("entries").to_number<std::uint64_t>() == 3);
    CHECK(job.at("done").to_number<std::uint64_t>() == job.at("total").to_number<std::uint64_t>());
    CHECK(f.callJson("GET", "/v1/entries?tag=x", "", 200).at("entries").as_array().size() == 3);
  }

  // --- membership ---

  TEST_CASE("reindex rebuilds the indexes and the membership view, which stay as they were") {
    MemberFixture f(1, 1);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/admit", admitBody(org.publicKey(), "Water Org"), 201);
    json::object before = f.callJson("GET", "/v1/members", "", 200);
    json::object r = f.callJson("POST", "/v1/reindex", "{}", 200);
    CHECK(r.at("entries").to_number<std::uint64_t>() == 1);
    CHECK(r.at("feeds_known").to_number<std::uint64_t>() == 1);
    CHECK(f.callJson("GET", "/v1/members", "", 200) == before);
    CHECK(f.stateOf(org.publicKey()) == "member");
    json::object listed = f.callJson("GET", "/v1/entries?kind=admission", "", 200);
    CHECK(listed.at("entries").as_array().size() == 1);
  }

  TEST_CASE("a steward set signed by two of three replaces a lost steward key") {
    MemberFixture f(3, 2);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    civnet::PrivateKey replacement = civnet::PrivateKey::generate();
    // The steward about to be lost has made one attestation.
    MemberFixture::callJson(f.apiAs(2), "POST", "/v1/admit", admitBody(org.publicKey(), "Water Org"), 201);
    auto hex = [](const civnet::PublicKey& k) { return k.hex(); };
    std::string body = "{\"stewards\":[\"" + hex(f.stewards[0].publicKey()) + "\",\"" +
                       hex(f.stewards[1].publicKey()) + "\",\"" + hex(replacement.publicKey()) +
                       "\"],\"threshold\":2,\"pins\":[{\"feed\":\"" + hex(f.stewards[2].publicKey()) +
                       "\",\"seq\":1}]}";
    // The new steward's node may not act until the set is in force...
    AdminApi& newSteward = *f.apis.emplace_back(f.makeApi(&replacement));
    civnet::PrivateKey later = civnet::PrivateKey::generate();
    ApiResponse early = MemberFixture::call(newSteward, "POST", "/v1/admit", admitBody(later.publicKey(), "Later Org"));
    CHECK(early.status == 403);
    CHECK(early.body.find("is not a steward of the set in force (epoch 0)") != std::string::npos);
    json::object first = f.callJson("POST", "/v1/steward-set", body, 201);
    CHECK(first.at("epoch").to_number<std::uint64_t>() == 1);
    CHECK(first.at("in_force_epoch").to_number<std::uint64_t>() == 0);
    json::object second = MemberFixture::callJson(f.apiAs(1), "POST", "/v1/steward-set", body, 201);
    CHECK(second.at("in_force_epoch").to_number<std::uint64_t>() == 1);
    auto v = f.tracker->view();
    CHECK(v->isSteward(replacement.publicKey()));
    CHECK_FALSE(v->isSteward(f.stewards[2].publicKey()));
    // ...and acts as soon as it is, without a restart.
    MemberFixture::callJson(newSteward, "POST", "/v1/admit", admitBody(later.publicKey(), "Later Org"), 201);
    CHECK(f.tracker->view()->feeds.at(later.publicKey()).admittedBy.count(replacement.publicKey()) == 1);
    // Its attestation up to the pin still counts; its key acts no more.
    CHECK(v->feeds.at(org.publicKey()).admittedBy.count(f.stewards[2].publicKey()) == 1);
    ApiResponse refused = MemberFixture::call(f.apiAs(2), "POST", "/v1/admit", admitBody(org.publicKey(), "Water Org"));
    CHECK(refused.status == 403);
    // A pin on a feed this node does not hold that far is refused.
    std::string badPin = body;
    badPin.replace(badPin.find("\"seq\":1"), 7, "\"seq\":9");
    CHECK(f.call("POST", "/v1/steward-set", badPin).status == 409);
  }

  TEST_CASE("a steward's admission makes a feed a member when k = 1") {
    MemberFixture f(1, 1);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    json::object r = f.callJson("POST", "/v1/admit", admitBody(org.publicKey(), "Water Org"), 201);
    CHECK(r.at("kind").as_string() == "admission");
    CHECK(r.at("author").as_string() == f.stewards[0].publicKey().hex());
    CHECK(r.at("seq").to_number<std::uint64_t>() == 1);
    CHECK(r.at("state").as_string() == "member");
    CHECK(f.stateOf(org.publicKey()) == "member");
    json::object m = f.callJson("GET", "/v1/members/" + org.publicKey().hex(), "", 200);
    CHECK(m.at("name").as_string() == "Water Org");
    CHECK(m.at("state").as_string() == "member");
    REQUIRE(m.at("admitted_by").as_array().size() == 1);
    CHECK(m.at("admitted_by").as_array()[0].as_string() == f.stewards[0].publicKey().hex());
  }

  TEST_CASE("admitting a second feed under a name already admitted, in any case, notes the first") {
    MemberFixture f(1, 1);
    civnet::PrivateKey first = civnet::PrivateKey::generate();
    civnet::PrivateKey second = civnet::PrivateKey::generate();
    civnet::PrivateKey other = civnet::PrivateKey::generate();
    CHECK(f.callJson("POST", "/v1/admit", admitBody(first.publicKey(), "Water Org"), 201).count("note") == 0);
    json::object r = f.callJson("POST", "/v1/admit", admitBody(second.publicKey(), "WATER org"), 201);
    REQUIRE(r.count("note") == 1);
    CHECK(std::string(r.at("note").as_string()).find(first.publicKey().shortHex()) != std::string::npos);
    CHECK(f.callJson("POST", "/v1/admit", admitBody(other.publicKey(), "Water Orgs"), 201).count("note") == 0);
  }

  TEST_CASE("one steward's admission leaves a feed pending when k = 2; a second steward's makes it a member") {
    MemberFixture f(3, 2);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    CHECK(f.callJson("POST", "/v1/admit", admitBody(org.publicKey()), 201).at("state").as_string() == "pending");
    CHECK(f.stateOf(org.publicKey()) == "pending");
    AdminApi& second = f.apiAs(1);
    CHECK(MemberFixture::callJson(second, "POST", "/v1/admit", admitBody(org.publicKey()), 201).at("state").as_string() ==
          "member");
    CHECK(f.stateOf(org.publicKey()) == "member");
    CHECK(f.callJson("GET", "/v1/members/" + org.publicKey().hex(), "", 200).at("admitted_by").as_array().size() == 2);
  }

  TEST_CASE("a node without a steward key is refused every steward action with not_a_steward") {
    MemberFixture f(1, 1, -1);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    std::string key = org.publicKey().hex();
    for (auto [target, body] : std::vector<std::pair<std::string, std::string>>{
             {"/v1/admit", admitBody(org.publicKey())},
             {"/v1/revoke", R"({"feed_key":")" + key + R"(","reason":"spam"})"},
             {"/v1/lift", R"({"feed_key":")" + key + R"("})"},
             {"/v1/takedown", R"({"entry_id":")" + std::string(64, 'a') + R"(","reason":"abuse"})"}}) {
      INFO(target);
      ApiResponse r = f.call("POST", target, body);
      CHECK(r.status == 403);
      CHECK(errorCode(r) == "not_a_steward");
      CHECK(r.body.find("this node holds no steward key of this network") != std::string::npos);
    }
    CHECK(f.store->counts().entries == 0);
    CHECK(f.stateOf(org.publicKey()) == "none");
  }

  TEST_CASE("membership endpoints answer 503 without a membership view") {
    Fixture f;
    ApiResponse r = f.call("GET", "/v1/members");
    CHECK(r.status == 503);
    CHECK(r.body.find("membership view not available") != std::string::npos);
    CHECK(f.call("GET", "/v1/members/" + std::string(64, 'a')).status == 503);
    CHECK(errorCode(f.call("POST", "/v1/admit", "{}")) == "not_a_steward");
    CHECK_FALSE(f.callJson("GET", "/v1/status", "", 200).contains("membership"));
  }

  TEST_CASE("admit refuses a missing name or region, a malformed key, unknown fields and text that is not UTF-8") {
    MemberFixture f(1, 1);
    std::string key = civnet::PrivateKey::generate().publicKey().hex();
    auto refused = [&](const std::string& body, const std::string& part) {
      ApiResponse r = f.call("POST", "/v1/admit", body);
      INFO(body);
      INFO(r.body);
      CHECK(r.status == 400);
      CHECK(std::string(json::parse(r.body).at("error").at("message").as_string()).find(part) != std::string::npos);
    };
    refused(R"({"feed_key":")" + key + R"(","region":"Andes"})", "\"name\" is required");
    refused(R"({"feed_key":")" + key + R"(","name":"","region":"Andes"})", "\"name\" is required");
    refused(R"({"feed_key":")" + key + R"(","name":"Org"})", "\"region\" is required");
    refused(R"({"feed_key":"abc","name":"Org","region":"Andes"})", "\"feed_key\" must be 64 hex characters");
    refused(R"({"name":"Org","region":"Andes"})", "\"feed_key\" is required");
    refused(R"({"feed_key":")" + key + R"(","name":"Org","region":"Andes","colour":"red"})", "unknown field");
    refused(R"({"feed_key":")" + key + R"(","name":"Org","region":"Andes","labels":[""]})", "\"labels\" item 1");
    refused(R"({"feed_key":")" + key + R"(","name":"Org\u0000","region":"Andes"})", "\"name\"");
    refused("{\"feed_key\":\"" + key + "\",\"name\":\"Org\",\"region\":\"And\xff\"}", "JSON");
    refused(R"({"feed_key":")" + key + R"(","name":"Org","region":"Andes","expires_at":-5})", "expires_at");
    CHECK(f.store->counts().entries == 0);
  }

  TEST_CASE("revoke pins at the tip this node holds by default") {
    MemberFixture f(1, 1);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/admit", admitBody(org.publicKey()), 201);
    auto run = foreignRun(org, f.network, 3);
    REQUIRE(f.store->ingest(run).stored == 3);
    json::object r = f.callJson("POST", "/v1/revoke",
                                R"({"feed_key":")" + org.publicKey().hex().substr(0, 12) + R"(","reason":"spam"})", 201);
    CHECK(r.at("kind").as_string() == "revocation");
    CHECK(r.at("pin_seq").to_number<std::uint64_t>() == 3);
    auto third = f.store->entryAt(org.publicKey(), 3);
    REQUIRE(third.ok());
    CHECK(r.at("pin_id").as_string() == third->id.hex());
    CHECK(r.at("state").as_string() == "revoked");  // k = 1: final at once
    json::object m = f.callJson("GET", "/v1/members/" + org.publicKey().hex(), "", 200);
    CHECK(m.at("revoked_after").to_number<std::uint64_t>() == 3);
    CHECK(m.at("pin_state").as_string() == "held");
  }

  TEST_CASE("revoke refuses a seq this node does not hold, and signs nothing") {
    MemberFixture f(1, 1);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/admit", admitBody(org.publicKey()), 201);
    REQUIRE(f.store->ingest(foreignRun(org, f.network, 3)).stored == 3);
    ApiResponse r = f.call("POST", "/v1/revoke",
                           R"({"feed_key":")" + org.publicKey().hex() + R"(","after_seq":5,"reason":"spam"})");
    CHECK(r.status == 409);
    CHECK(r.body.find("this node holds feed " + org.publicKey().shortHex() + " only up to seq 3; cannot pin at 5") !=
          std::string::npos);
    CHECK(f.store->tip(f.stewards[0].publicKey())->seq == 1);  // the admission only
    CHECK(f.stateOf(org.publicKey()) == "member");
    CHECK(f.call("POST", "/v1/revoke", R"({"feed_key":")" + org.publicKey().hex() + R"("})").status == 400);  // no reason
  }

  TEST_CASE("revoke of a key this node knows nothing of takes an explicit after_seq 0") {
    MemberFixture f(1, 1);
    const std::string typo = civnet::PrivateKey::generate().publicKey().hex();
    ApiResponse r = f.call("POST", "/v1/revoke", R"({"feed_key":")" + typo + R"(","reason":"stolen key"})");
    CHECK(r.status == 409);
    CHECK(errorMessage(r).find("knows nothing of feed " + typo.substr(0, 12)) != std::string::npos);
    CHECK_FALSE(f.store->tip(f.stewards[0].publicKey()));  // nothing signed
    json::object ok =
        f.callJson("POST", "/v1/revoke", R"({"feed_key":")" + typo + R"(","after_seq":0,"reason":"stolen key"})", 201);
    CHECK(ok.at("pin_seq").to_number<std::uint64_t>() == 0);
  }

  TEST_CASE("one steward's revocation suspends at its pin when k = 2, and its lift restores the feed") {
    MemberFixture f(3, 2);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    AdminApi& second = f.apiAs(1);
    f.callJson("POST", "/v1/admit", admitBody(org.publicKey()), 201);
    MemberFixture::callJson(second, "POST", "/v1/admit", admitBody(org.publicKey()), 201);
    REQUIRE(f.store->ingest(foreignRun(org, f.network, 3)).stored == 3);

    json::object r = f.callJson("POST", "/v1/revoke",
                                R"({"feed_key":")" + org.publicKey().hex() + R"(","after_seq":2,"reason":"spam"})", 201);
    CHECK(r.at("state").as_string() == "suspended");
    CHECK(f.store->hiddenReason(org.publicKey(), 3).value_or("") == "suspended");
    CHECK_FALSE(f.store->hiddenReason(org.publicKey(), 2));
    json::object m = f.callJson("GET", "/v1/members/" + org.publicKey().hex(), "", 200);
    CHECK(m.at("suspended_after").to_number<std::uint64_t>() == 2);

    // Only the revoking steward's own revocation can be lifted by it.
    ApiResponse other = MemberFixture::call(second, "POST", "/v1/lift", R"({"feed_key":")" + org.publicKey().hex() + R"("})");
    CHECK(other.status == 409);
    CHECK(other.body.find("no active revocation") != std::string::npos);

    json::object l = f.callJson("POST", "/v1/lift", R"({"feed_key":")" + org.publicKey().hex() + R"("})", 201);
    CHECK(l.at("kind").as_string() == "lift");
    CHECK(l.at("lifts").as_array().size() == 1);
    CHECK(l.at("state").as_string() == "member");
    CHECK(f.stateOf(org.publicKey()) == "member");
    CHECK_FALSE(f.store->hiddenReason(org.publicKey(), 3));

    // Lifted already: nothing left to lift.
    CHECK(f.call("POST", "/v1/lift", R"({"feed_key":")" + org.publicKey().hex() + R"("})").status == 409);
  }

  TEST_CASE("takedown refuses an attestation and hides (k = 1: erases) another entry") {
    MemberFixture f(1, 1);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    json::object adm = f.callJson("POST", "/v1/admit", admitBody(org.publicKey()), 201);
    ApiResponse r = f.call("POST", "/v1/takedown",
                           R"({"entry_id":")" + std::string(adm.at("id").as_string()) + R"(","reason":"abuse"})");
    CHECK(r.status == 409);
    CHECK(r.body.find("takedowns cannot target attestations") != std::string::npos);

    auto run = foreignRun(org, f.network, 2);
    REQUIRE(f.store->ingest(run).stored == 2);
    auto post = f.store->entryAt(org.publicKey(), 2);
    REQUIRE(post.ok());
    json::object t = f.callJson("POST", "/v1/takedown",
                                R"({"entry_id":")" + post->id.hex().substr(0, 12) + R"(","reason":"abuse"})", 201);
    CHECK(t.at("kind").as_string() == "takedown");
    CHECK(t.at("effect").as_string() == "erased");
    CHECK(f.store->isErased(org.publicKey(), 2));
    CHECK_FALSE(f.store->isErased(org.publicKey(), 1));
    CHECK(f.call("POST", "/v1/takedown", R"({"entry_id":")" + post->id.hex() + R"("})").status == 400);  // no reason
  }

  TEST_CASE("a takedown of an entry not held yet needs its author, seq and id") {
    MemberFixture f(3, 2);
    civnet::PrivateKey org = civnet::PrivateKey::generate();
    auto run = foreignRun(org, f.network, 1);
    civnet::record::Header h;
    REQUIRE(civnet::record::decodeHeader(run[0].header, h).ok());
    civnet::Digest id = civnet::record::makeEntry(org, h, civnet::record::encodePost({})).id;  // any id will do
    ApiResponse r = f.call("POST", "/v1/takedown", R"({"entry_id":")" + id.hex() + R"(","reason":"abuse"})");
    CHECK(r.status == 409);
    CHECK(r.body.find("needs its author, seq and id") != std::string::npos);
    json::object t = f.callJson("POST", "/v1/takedown",
                                R"({"author":")" + org.publicKey().hex() + R"(","seq":1,"id":")" + id.hex() +
                                    R"(","reason":"abuse"})",
                                201);
    CHECK_FALSE(t.at("held").as_bool());
    CHECK(t.at("target").at("seq").to_number<std::uint64_t>() == 1);
  }

  TEST_CASE("retract refuses another organization's entry and erases one of this node's own") {
    MemberFixture f(1, 1);
    civnet::PrivateKey other = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/admit", admitBody(other.publicKey()), 201);
    f.callJson("POST", "/v1/admit", admitBody(f.org.publicKey()), 201);
    REQUIRE(f.store->ingest(foreignRun(other, f.network, 1)).stored == 1);
    auto theirs = f.store->entryAt(other.publicKey(), 1);
    REQUIRE(theirs.ok());
    ApiResponse r = f.call("POST", "/v1/retract", R"({"entry_id":")" + theirs->id.hex() + R"("})");
    CHECK(r.status == 403);
    CHECK(r.body.find("entry " + theirs->id.shortHex() + " is not an entry of an organization this node hosts") !=
          std::string::npos);
    CHECK_FALSE(f.store->isErased(other.publicKey(), 1));

    json::object mine = f.callJson("POST", "/v1/publish", R"({"title":"Oops","body":"wrong"})", 201);
    std::string id(mine.at("id").as_string());
    json::object ret = f.callJson("POST", "/v1/retract", R"({"entry_id":")" + id + R"(","reason":"posted by mistake"})", 201);
    CHECK(ret.at("kind").as_string() == "retraction");
    CHECK(ret.at("author").as_string() == f.org.publicKey().hex());
    CHECK(f.store->isErased(f.org.publicKey(), 1));
    CHECK(f.call("POST", "/v1/retract", R"({"entry_id":")" + id + R"("})").status == 409);  // already erased
    // The retraction itself stands.
    CHECK(f.call("POST", "/v1/retract", R"({"entry_id":")" + std::string(ret.at("id").as_string()) + R"("})").status ==
          409);
  }

  TEST_CASE("retract works without a membership view, and refuses to retract an entry twice") {
    Fixture f;
    json::object mine = f.callJson("POST", "/v1/publish", R"({"title":"Oops","body":"wrong"})", 201);
    std::string id(mine.at("id").as_string());
    f.callJson("POST", "/v1/retract", R"({"entry_id":")" + id.substr(0, 12) + R"("})", 201);
    ApiResponse again = f.call("POST", "/v1/retract", R"({"entry_id":")" + id + R"("})");
    CHECK(again.status == 409);
    CHECK(again.body.find("already retracted") != std::string::npos);
    CHECK(f.call("POST", "/v1/retract", R"({"entry_id":")" + std::string(64, '0') + R"("})").status == 404);
    CHECK(f.call("POST", "/v1/retract", "{}").status == 400);
    CHECK(f.store->counts().entries == 2);
  }

  TEST_CASE("orgs add makes a hosted organization with its own feed, pending until admitted") {
    MemberFixture f(1, 1);
    json::object added = f.callJson("POST", "/v1/orgs", R"({"name":"River Women"})", 201);
    CHECK(added.at("name").as_string() == "River Women");
    CHECK(added.at("state").as_string() == "none");
    auto feed = civnet::PublicKey::parseHex(std::string(added.at("feed_key").as_string()), "feed key");
    REQUIRE(feed.ok());
    // Its key file is named by its feed key, mode 0600, and its first entry
    // is its profile naming this node.
    fs::path keyFile = f.dir.path() / "keys" / "orgs" / (feed->hex() + ".key");
    REQUIRE(fs::exists(keyFile));
    CHECK((fs::status(keyFile).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
    auto profile = f.store->entryAt(*feed, 1);
    REQUIRE(profile.ok());
    CHECK(profile->id.hex() == added.at("profile_id").as_string());
    auto p = civnet::record::decodeProfile(*profile->signedEntry.content);
    REQUIRE(p.ok());
    CHECK(p->name == "River Women");

    json::object listed = f.callJson("GET", "/v1/orgs", "", 200);
    json::array& orgs = listed.at("orgs").as_array();
    REQUIRE(orgs.size() == 2);
    CHECK(orgs[0].at("name").as_string() == "Test Org");
    CHECK(orgs[0].at("primary").as_bool());
    CHECK(orgs[1].at("name").as_string() == "River Women");
    CHECK(orgs[1].at("state").as_string() == "none");
    CHECK(orgs[1].at("entries").to_number<std::uint64_t>() == 1);

    f.callJson("POST", "/v1/admit", admitBody(*feed, "River Women"), 201);
    listed = f.callJson("GET", "/v1/orgs", "", 200);
    CHECK(listed.at("orgs").as_array()[1].at("state").as_string() == "member");
    // members show gives what the organization says of itself beside the
    // stewards' admission: its profile, naming this node as its host.
    json::object shown = f.callJson("GET", "/v1/members/" + feed->hex(), "", 200);
    REQUIRE(shown.at("profile").is_object());
    CHECK(shown.at("profile").at("name").as_string() == "River Women");
    CHECK(shown.at("profile").at("entry").at("id").as_string() == added.at("profile_id").as_string());
    CHECK(shown.at("profile").at("nodes").as_array().size() == 1);
    CHECK(f.callJson("GET", "/v1/status", "", 200).at("hosted_orgs").to_number<std::uint64_t>() == 2);
  }

  TEST_CASE("orgs add refuses a name a hosted organization has (in any case), an empty name and a control character") {
    MemberFixture f(1, 1);
    f.callJson("POST", "/v1/orgs", R"({"name":"River Women"})", 201);
    const std::uint64_t entries = f.store->counts().entries;
    for (auto [body, status, part] : std::vector<std::tuple<std::string, unsigned, std::string>>{
             {R"({"name":"river women"})", 409, "already hosts an organization named \"River Women\""},
             {R"({"name":"test org"})", 409, "already hosts an organization named \"Test Org\""},
             {R"({"name":""})", 400, "must not be empty"},
             {R"({"name":"a\u0007b"})", 400, "control character"},
             {R"({})", 400, "\"name\" is required"},
             {R"({"name":"x","region":"y"})", 400, "unknown field"}}) {
      INFO(body);
      ApiResponse r = f.call("POST", "/v1/orgs", body);
      CHECK(r.status == status);
      CHECK(errorMessage(r).find(part) != std::string::npos);
    }
    CHECK(f.store->counts().entries == entries);
    CHECK(f.callJson("GET", "/v1/orgs", "", 200).at("orgs").as_array().size() == 2);
  }

  TEST_CASE("publish and retract act for the hosted organization named, with its own key") {
    MemberFixture f(1, 1);
    json::object added = f.callJson("POST", "/v1/orgs", R"({"name":"River Women"})", 201);
    std::string feed(added.at("feed_key").as_string());
    auto key = civnet::PublicKey::parseHex(feed, "feed key");
    f.callJson("POST", "/v1/admit", admitBody(*key, "River Women"), 201);
    json::object byName = f.callJson("POST", "/v1/publish", R"({"title":"Wells","org":"river women"})", 201);
    CHECK(byName.at("author").as_string() == feed);
    CHECK(byName.at("org").as_string() == "River Women");
    CHECK(byName.at("seq").to_number<std::uint64_t>() == 2);
    json::object byKey =
        f.callJson("POST", "/v1/publish", R"({"title":"Pumps","org":")" + feed.substr(0, 12) + R"("})", 201);
    CHECK(byKey.at("author").as_string() == feed);
    ApiResponse unknown = f.call("POST", "/v1/publish", R"({"title":"x","org":"Nobody"})");
    CHECK(unknown.status == 404);
    CHECK(errorMessage(unknown).find("this node hosts no organization named \"Nobody\"") != std::string::npos);

    json::object ret =
        f.callJson("POST", "/v1/retract", R"({"entry_id":")" + std::string(byName.at("id").as_string()) + R"("})", 201);
    CHECK(ret.at("author").as_string() == feed);
    CHECK(f.store->isErased(*key, 2));
  }

  TEST_CASE("a hosted organization survives a restart; a key file an interrupted add left is skipped") {
    TempDir dir;
    civnet::Digest network = civnet::sha256(civnet::asBytes("hosted orgs"));
    civnet::PrivateKey primary = civnet::PrivateKey::generate();
    civnet::PublicKey added;
    auto openStore = [&] {
      civnet::store::Options o;
      o.createIfMissing = true;
      auto s = civnet::store::Store::open(dir.path() / "store", o);
      REQUIRE(s.ok());
      return std::move(s).value();
    };
    {
      auto store = openStore();
      REQUIRE(store->setNetwork(network).ok());
      auto orgs = hostedOrgs(dir.path(), *store, primary);
      auto a = orgs->add("Youth Voices");
      REQUIRE(a.ok());
      added = a->org.feed;
    }
    // A key file whose organization was never recorded.
    civnet::PrivateKey stray = civnet::PrivateKey::generate();
    REQUIRE(civnet::saveKeyFile(dir.path() / "keys" / "orgs" / (stray.publicKey().hex() + ".key"), stray).ok());
    // A recorded organization whose profile was never published.
    civnet::PrivateKey cut = civnet::PrivateKey::generate();
    REQUIRE(civnet::saveKeyFile(dir.path() / "keys" / "orgs" / (cut.publicKey().hex() + ".key"), cut).ok());
    {
      auto store = openStore();
      REQUIRE(store->putMeta(civnet::daemon::hostedOrgMetaName(cut.publicKey()), "Cut Short").ok());
      auto orgs = hostedOrgs(dir.path(), *store, primary);
      std::vector<std::string> notes;
      REQUIRE(orgs->load(notes).ok());
      auto list = orgs->list();
      REQUIRE(list.size() == 3);
      CHECK(list[1].name == "Cut Short");
      CHECK(list[2].name == "Youth Voices");
      CHECK(list[2].feed == added);
      CHECK(orgs->key(added) != nullptr);
      CHECK(orgs->key(stray.publicKey()) == nullptr);
      REQUIRE(notes.size() == 2);
      CHECK(store->tip(cut.publicKey()).has_value());  // its profile, published now
      CHECK(store->tip(added)->seq == 1);
      bool strayNoted = false;
      for (const auto& n : notes) strayNoted |= n.find(stray.publicKey().hex()) != std::string::npos;
      CHECK(strayNoted);
    }
  }

  TEST_CASE("a hosted organization's key file holding another key stops the start") {
    TempDir dir;
    civnet::PrivateKey primary = civnet::PrivateKey::generate();
    civnet::store::Options o;
    o.createIfMissing = true;
    auto store = civnet::store::Store::open(dir.path() / "store", o);
    REQUIRE(store.ok());
    auto orgs = hostedOrgs(dir.path(), **store, primary);
    fs::create_directories(dir.path() / "keys" / "orgs");
    civnet::PrivateKey k = civnet::PrivateKey::generate();
    REQUIRE(civnet::saveKeyFile(dir.path() / "keys" / "orgs" / (std::string(64, 'a') + ".key"), k).ok());
    std::vector<std::string> notes;
    civnet::Status s = orgs->load(notes);
    CHECK(s.code() == civnet::StatusCode::corruption);
    CHECK(s.message().find("not the key its name says") != std::string::npos);
  }

  TEST_CASE("members list filters by region, label and state") {
    MemberFixture f(1, 1);
    civnet::PrivateKey a = civnet::PrivateKey::generate(), b = civnet::PrivateKey::generate(),
                       c = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/admit", admitBody(a.publicKey(), "Alpha", "West Africa", {"women-led"}), 201);
    f.callJson("POST", "/v1/admit", admitBody(b.publicKey(), "Beta", "Andes", {"youth-led"}), 201);
    f.callJson("POST", "/v1/admit", admitBody(c.publicKey(), "Gamma", "Andes", {"women-led"}), 201);
    f.callJson("POST", "/v1/revoke", R"({"feed_key":")" + c.publicKey().hex() + R"(","reason":"gone"})", 201);

    auto names = [&](const std::string& query) {
      json::object o = f.callJson("GET", "/v1/members" + query, "", 200);
      std::vector<std::string> out;
      for (auto& m : o.at("members").as_array()) out.emplace_back(m.at("name").as_string());
      return out;
    };
    CHECK(names("") == std::vector<std::string>{"Alpha", "Beta", "Gamma"});
    CHECK(names("?region=west%20africa") == std::vector<std::string>{"Alpha"});
    CHECK(names("?region=Andes") == std::vector<std::string>{"Beta", "Gamma"});
    CHECK(names("?label=women-led") == std::vector<std::string>{"Alpha", "Gamma"});
    CHECK(names("?state=revoked") == std::vector<std::string>{"Gamma"});
    CHECK(names("?state=member&region=Andes") == std::vector<std::string>{"Beta"});
    CHECK(names("?label=nobody").empty());
    CHECK(f.call("GET", "/v1/members?state=bogus").status == 400);
    CHECK(f.call("GET", "/v1/members?colour=red").status == 400);

    json::object all = f.callJson("GET", "/v1/members", "", 200);
    CHECK(all.at("epoch").to_number<std::uint64_t>() == 0);
    CHECK(all.at("threshold").to_number<std::uint64_t>() == 1);
    CHECK(all.at("stewards").as_array().size() == 1);
  }

  TEST_CASE("members show takes the 12 characters tables show and refuses an unknown feed") {
    MemberFixture f(1, 1);
    civnet::PrivateKey a = civnet::PrivateKey::generate();
    f.callJson("POST", "/v1/admit", admitBody(a.publicKey(), "Alpha"), 201);
    CHECK(f.callJson("GET", "/v1/members/" + a.publicKey().hex().substr(0, 12), "", 200).at("feed_key").as_string() ==
          a.publicKey().hex());
    std::string none = a.publicKey().hex()[0] == '0' ? "11111111" : "00000000";
    CHECK(f.call("GET", "/v1/members/" + none).status == 404);
    CHECK(f.call("GET", "/v1/members/xyz").status == 400);
  }

  TEST_CASE("status reports the steward set and this organization's membership") {
    MemberFixture f(3, 2);
    json::object m = f.callJson("GET", "/v1/status", "", 200).at("membership").as_object();
    CHECK(m.at("epoch").to_number<std::uint64_t>() == 0);
    CHECK(m.at("threshold").to_number<std::uint64_t>() == 2);
    CHECK(m.at("stewards").as_array().size() == 3);
    CHECK(m.at("this_org_state").as_string() == "none");
    CHECK(m.at("this_node_steward").as_bool());
    CHECK(m.at("ignored_count").to_number<std::uint64_t>() == 0);
    CHECK(m.at("member_nodes").to_number<std::uint64_t>() == 0);  // no profile names a node yet
    CHECK_FALSE(m.at("this_node_member").as_bool());
    f.callJson("POST", "/v1/admit", admitBody(f.org.publicKey()), 201);
    CHECK(f.callJson("GET", "/v1/status", "", 200).at("membership").at("this_org_state").as_string() == "pending");
  }
}

// Tests of the admin API's handlers (daemon/admin_api.hpp) on a real store in
// a temp dir, without a socket: routing, errors as JSON, publish and list,
// export paging, and import's grouping into runs and its refusals.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/admin_api.hpp"
#include "schemas/content.hpp"
#include "schemas/record.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using civnet::daemon::AdminApi;
using civnet::daemon::ApiRequest;
using civnet::daemon::ApiResponse;

namespace {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("civnet-admin-api-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A store of network `network` with the API in front of it.
struct Fixture {
  TempDir dir;
  civnet::Digest network = civnet::sha256(civnet::asBytes("test network"));
  civnet::PrivateKey org = civnet::PrivateKey::generate();
  std::unique_ptr<civnet::store::Store> store;
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
    info.feedKey = org.publicKey();
    info.network = network;
    info.orgName = "Test Org";
    auto log = std::make_shared<spdlog::logger>("admin", std::make_shared<spdlog::sinks::null_sink_mt>());
    api = std::make_unique<AdminApi>(*store, org, info, civnet::daemon::ApiLimits{}, log);
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
}

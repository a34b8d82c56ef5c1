// Tests of `civnetd init` and `civnetd genesis` (daemon/node_setup.hpp) in a
// temp dir: which directories are made durable before the store records the
// network (with a fake DirSync that records calls and can fail one), and
// the data dir paths init refuses.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "daemon/data_dir.hpp"
#include "daemon/node_setup.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using civnet::daemon::DataDir;
using civnet::daemon::DirSync;
using civnet::daemon::GenesisOptions;
using civnet::daemon::InitOptions;

namespace {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("civnet-setup-" + std::to_string(rd()) + std::to_string(rd()));
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

// Records every directory synced; fails the sync of the first directory
// whose name is `failOn` (nothing fails when it is empty).
class RecordingDirSync final : public DirSync {
 public:
  explicit RecordingDirSync(std::string failOn = "") : failOn_(std::move(failOn)) {}
  civnet::Status syncDir(const fs::path& dir) const override {
    synced.push_back(dir);
    if (!failOn_.empty() && dir.filename() == failOn_) return civnet::ioError("syncing " + dir.string() + ": test");
    return civnet::daemon::systemDirSync().syncDir(dir);
  }
  mutable std::vector<fs::path> synced;

 private:
  std::string failOn_;
};

// The network the store in `dir` records, opened after the command closed it.
std::optional<civnet::Digest> storedNetwork(const fs::path& dir) {
  auto st = civnet::store::Store::open(DataDir{dir}.store(), civnet::store::Options{});
  REQUIRE(st.ok());
  return st.value()->network();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("node_setup") {
  TEST_CASE("init refuses an organization name that is not UTF-8 text and leaves nothing behind") {
    TempDir tmp;
    fs::path node = tmp.path() / "n";
    auto r = civnet::daemon::initNode(InitOptions{node, "Caf\xe9 Collective", std::nullopt});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "is not valid UTF-8 text (byte offset 3)"));
    CHECK_FALSE(fs::exists(node));
  }

  TEST_CASE("genesis makes the steward key and genesis.bin durable before the store names the network") {
    TempDir t;
    fs::path node = t.path() / "a";
    REQUIRE(civnet::daemon::initNode(InitOptions{node, "Org A", std::nullopt}).ok());
    RecordingDirSync sync;
    fs::path out = t.path() / "net.genesis";
    auto g = civnet::daemon::makeGenesis(GenesisOptions{node, "Net", out, &sync});
    INFO(g.status().message());
    REQUIRE(g.ok());
    CHECK(std::find(sync.synced.begin(), sync.synced.end(), DataDir{node}.keysDir()) != sync.synced.end());
    CHECK(std::find(sync.synced.begin(), sync.synced.end(), node) != sync.synced.end());
    CHECK(std::find(sync.synced.begin(), sync.synced.end(), t.path()) != sync.synced.end());  // out's dir
    CHECK(storedNetwork(node) == g->network);
  }

  TEST_CASE("genesis that cannot sync the keys directory leaves the node without a network or a steward key") {
    TempDir t;
    fs::path node = t.path() / "a";
    REQUIRE(civnet::daemon::initNode(InitOptions{node, "Org A", std::nullopt}).ok());
    RecordingDirSync sync("keys");
    auto g = civnet::daemon::makeGenesis(GenesisOptions{node, "Net", t.path() / "net.genesis", &sync});
    REQUIRE_FALSE(g.ok());
    CHECK(contains(g.status().message(), "keys"));
    CHECK_FALSE(storedNetwork(node));
    CHECK_FALSE(fs::exists(DataDir{node}.stewardKey()));
    CHECK_FALSE(fs::exists(t.path() / "net.genesis"));
  }

  TEST_CASE("genesis that cannot sync the data dir leaves the node without a network or genesis.bin") {
    TempDir t;
    fs::path node = t.path() / "a";
    REQUIRE(civnet::daemon::initNode(InitOptions{node, "Org A", std::nullopt}).ok());
    RecordingDirSync sync("a");
    auto g = civnet::daemon::makeGenesis(GenesisOptions{node, "Net", t.path() / "net.genesis", &sync});
    REQUIRE_FALSE(g.ok());
    CHECK_FALSE(storedNetwork(node));
    CHECK_FALSE(fs::exists(DataDir{node}.genesis()));
    CHECK_FALSE(fs::exists(DataDir{node}.stewardKey()));
  }

  TEST_CASE("init of a node of a network syncs keys/ first, then the data dir, before it is renamed into place") {
    TempDir t;
    fs::path a = t.path() / "a";
    REQUIRE(civnet::daemon::initNode(InitOptions{a, "Org A", std::nullopt}).ok());
    fs::path genesis = t.path() / "net.genesis";
    REQUIRE(civnet::daemon::makeGenesis(GenesisOptions{a, "Net", genesis}).ok());

    RecordingDirSync sync;
    fs::path b = t.path() / "b";
    auto r = civnet::daemon::initNode(InitOptions{b, "Org B", genesis, &sync});
    INFO(r.status().message());
    REQUIRE(r.ok());
    // init works in b.tmp-XXXXXX: its keys/ is synced before the dir itself.
    REQUIRE(sync.synced.size() >= 2);
    CHECK(sync.synced[0].filename() == "keys");
    fs::path tmp = sync.synced[0].parent_path();
    CHECK(tmp.filename().string().starts_with("b.tmp-"));
    CHECK(sync.synced[1] == tmp);
    CHECK(storedNetwork(b) == r->network);
  }

  TEST_CASE("init that cannot sync the keys directory leaves nothing behind") {
    TempDir t;
    RecordingDirSync sync("keys");
    auto r = civnet::daemon::initNode(InitOptions{t.path() / "b", "Org B", std::nullopt, &sync});
    REQUIRE_FALSE(r.ok());
    CHECK(fs::is_empty(t.path()));
  }

  TEST_CASE("init refuses a data dir whose admin socket path would be over 107 bytes") {
    TempDir t;
    // DIR/admin.sock of exactly 107 bytes is fine; one more is refused.
    std::size_t base = (t.path() / "admin.sock").string().size() + 1;  // + the "/" after the name
    REQUIRE(base < 100);
    fs::path fits = t.path() / std::string(107 - base, 'a');
    REQUIRE(DataDir{fits}.adminSocket().string().size() == 107);
    auto ok = civnet::daemon::initNode(InitOptions{fits, "Org", std::nullopt});
    INFO(ok.status().message());
    CHECK(ok.ok());

    fs::path tooLong = t.path() / std::string(108 - base, 'b');
    auto r = civnet::daemon::initNode(InitOptions{tooLong, "Org", std::nullopt});
    REQUIRE_FALSE(r.ok());
    CHECK((r.status().code() == civnet::StatusCode::invalidArgument));
    CHECK(contains(r.status().message(), "too long"));
    CHECK(contains(r.status().message(), "108 bytes"));
    CHECK(contains(r.status().message(), "at most 107"));
    CHECK_FALSE(fs::exists(tooLong));
  }
}

// Tests of `civnetd init`, `civnetd genesis` (one steward; draft, sign,
// check) and `civnetd join` (daemon/node_setup.hpp) in a temp dir: which
// directories are made durable before the store records the network (with a
// fake DirSync that records calls and can fail one), the data dir paths init
// refuses, the genesis rules a draft must meet, and what a refused sign or
// join leaves behind (nothing).
#include <doctest/doctest.h>

#include "tests/support/temp_dir.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "daemon/data_dir.hpp"
#include "daemon/config.hpp"
#include "daemon/node_setup.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using civnet::daemon::DataDir;
using civnet::daemon::DirSync;
using civnet::daemon::DraftOptions;
using civnet::daemon::GenesisOptions;
using civnet::daemon::InitOptions;
using civnet::daemon::JoinOptions;
using civnet::daemon::SignatureState;
using civnet::daemon::SignOptions;

namespace {

using TempDir = civnet::test::TempDir;


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

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A node made with init --steward, and its steward key.
struct StewardNode {
  fs::path dir;
  civnet::PublicKey key;
};

StewardNode stewardNode(const fs::path& dir) {
  InitOptions o{dir, "Org " + dir.filename().string(), std::nullopt};
  o.steward = true;
  auto r = civnet::daemon::initNode(o);
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(r->stewardKey);
  return {dir, *r->stewardKey};
}

// Three steward nodes in `root` and a 2-of-3 draft naming them, in `draft`.
std::vector<StewardNode> threeStewardsAndDraft(const fs::path& root, const fs::path& draft) {
  std::vector<StewardNode> nodes{stewardNode(root / "s1"), stewardNode(root / "s2"), stewardNode(root / "s3")};
  DraftOptions d;
  d.name = "Net";
  for (const auto& n : nodes) d.stewards.push_back(n.key.hex());
  d.threshold = 2;
  d.out = draft;
  auto g = civnet::daemon::draftGenesis(d);
  INFO(g.status().message());
  REQUIRE(g.ok());
  return nodes;
}

void signAs(const StewardNode& n, const fs::path& file) {
  auto r = civnet::daemon::signGenesisFile(SignOptions{n.dir, file});
  INFO(r.status().message());
  REQUIRE(r.ok());
}

std::optional<std::string> storedMeta(const fs::path& dir, const char* name) {
  auto st = civnet::store::Store::open(DataDir{dir}.store(), civnet::store::Options{});
  REQUIRE(st.ok());
  return st.value()->getMeta(name);
}

}  // namespace

TEST_SUITE("node_setup") {
  TEST_CASE("init into an existing empty directory builds the node inside it and leaves no temporary dir") {
    TempDir tmp;
    fs::path node = tmp.path() / "state";
    fs::create_directory(node);  // as systemd's StateDirectory= makes it
    auto r = civnet::daemon::initNode(InitOptions{node, "River Women", std::nullopt});
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(node)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"civnetd.toml", "keys", "store"});
    CHECK(civnet::daemon::checkIsNode(civnet::daemon::DataDir{node}).ok());
    CHECK(civnet::daemon::loadNodeKeys(civnet::daemon::DataDir{node}).ok());
    // and not twice
    CHECK_FALSE(civnet::daemon::initNode(InitOptions{node, "River Women", std::nullopt}).ok());
  }

  TEST_CASE("init refuses an organization name that is not UTF-8 text and leaves nothing behind") {
    TempDir tmp;
    fs::path node = tmp.path() / "n";
    auto r = civnet::daemon::initNode(InitOptions{node, "Caf\xe9 Collective", std::nullopt});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "is not valid UTF-8 text (byte offset 3)"));
    CHECK_FALSE(fs::exists(node));
  }

  TEST_CASE("init --peer-listen writes [net] listen; a bad address is refused and leaves nothing behind") {
    TempDir tmp;
    InitOptions o{tmp.path() / "n", "Org", std::nullopt};
    o.peerListen = "127.0.0.1:7421";
    REQUIRE(civnet::daemon::initNode(o).ok());
    auto config = civnet::daemon::loadConfig(tmp.path() / "n" / "civnetd.toml");
    REQUIRE(config.ok());
    CHECK(config->peerListen == "127.0.0.1:7421");
    InitOptions bad{tmp.path() / "m", "Org", std::nullopt};
    bad.peerListen = "7421";
    auto r = civnet::daemon::initNode(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "--peer-listen: address \"7421\": no host"));
    CHECK_FALSE(fs::exists(tmp.path() / "m"));
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

  TEST_CASE("init --steward makes a private steward key and no network") {
    TempDir t;
    StewardNode n = stewardNode(t.path() / "s");
    fs::path key = DataDir{n.dir}.stewardKey();
    struct stat sb{};
    REQUIRE(::stat(key.c_str(), &sb) == 0);
    CHECK((sb.st_mode & 0777) == 0600);
    auto loaded = civnet::loadKeyFile(key);
    REQUIRE(loaded.ok());
    CHECK(loaded->publicKey() == n.key);
    CHECK_FALSE(storedNetwork(n.dir));
    CHECK_FALSE(fs::exists(DataDir{n.dir}.genesis()));
  }

  TEST_CASE("init without --steward makes no steward key") {
    TempDir t;
    auto r = civnet::daemon::initNode(InitOptions{t.path() / "n", "Org", std::nullopt});
    REQUIRE(r.ok());
    CHECK_FALSE(r->stewardKey);
    CHECK_FALSE(fs::exists(DataDir{t.path() / "n"}.stewardKey()));
  }

  TEST_CASE("a draft is unsigned and names its stewards and threshold") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    auto g = civnet::record::readGenesisFile(draft);
    REQUIRE(g.ok());
    CHECK(g->name == "Net");
    CHECK(g->threshold == 2);
    CHECK(g->signatures.empty());
    REQUIRE(g->stewards.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(g->stewards[i] == nodes[i].key);
    CHECK(g->createdAt > 0);
  }

  TEST_CASE("draft refuses a key given twice, an impossible threshold and no steward, and writes nothing") {
    TempDir t;
    const std::string a = civnet::PrivateKey::generate().publicKey().hex();
    const std::string b = civnet::PrivateKey::generate().publicKey().hex();
    fs::path out = t.path() / "net.draft";
    auto draft = [&](std::vector<std::string> keys, std::int64_t k) {
      DraftOptions d;
      d.name = "Net";
      d.stewards = std::move(keys);
      d.threshold = k;
      d.out = out;
      return civnet::daemon::draftGenesis(d);
    };
    auto twice = draft({a, b, a}, 2);
    REQUIRE_FALSE(twice.ok());
    CHECK(contains(twice.status().message(), "steward key " + a + " is given twice"));
    auto zero = draft({a, b}, 0);
    REQUIRE_FALSE(zero.ok());
    CHECK(contains(zero.status().message(), "--threshold 0 is impossible with 2 steward(s)"));
    auto tooMany = draft({a, b}, 3);
    REQUIRE_FALSE(tooMany.ok());
    CHECK(contains(tooMany.status().message(), "--threshold 3 is impossible with 2 steward(s)"));
    auto negative = draft({a, b}, -1);
    REQUIRE_FALSE(negative.ok());
    CHECK(contains(negative.status().message(), "--threshold -1"));
    auto none = draft({}, 1);
    REQUIRE_FALSE(none.ok());
    CHECK(contains(none.status().message(), "at least one steward"));
    auto badKey = draft({"xyz"}, 1);
    REQUIRE_FALSE(badKey.ok());
    CHECK(contains(badKey.status().message(), "64 hex characters"));
    CHECK(fs::is_empty(t.path()));
  }

  TEST_CASE("draft refuses a name that is not UTF-8 text") {
    TempDir t;
    DraftOptions d;
    d.name = "Caf\xe9";
    d.stewards = {civnet::PrivateKey::generate().publicKey().hex()};
    d.threshold = 1;
    d.out = t.path() / "net.draft";
    auto g = civnet::daemon::draftGenesis(d);
    REQUIRE_FALSE(g.ok());
    CHECK(contains(g.status().message(), "UTF-8"));
    CHECK(fs::is_empty(t.path()));
  }

  TEST_CASE("draft never overwrites a file") {
    TempDir t;
    fs::path out = t.path() / "net.draft";
    { std::ofstream(out) << "precious"; }
    DraftOptions d;
    d.name = "Net";
    d.stewards = {civnet::PrivateKey::generate().publicKey().hex()};
    d.threshold = 1;
    d.out = out;
    auto g = civnet::daemon::draftGenesis(d);
    REQUIRE_FALSE(g.ok());
    CHECK(contains(g.status().message(), "already exists"));
    CHECK(readAll(out) == "precious");
  }

  TEST_CASE("signing adds one signature per steward, keeps the network id, and a second signing changes nothing") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    auto before = civnet::daemon::checkGenesisFile(draft);
    REQUIRE(before.ok());
    CHECK_FALSE(before->complete.ok());

    RecordingDirSync sync;
    auto r = civnet::daemon::signGenesisFile(SignOptions{nodes[1].dir, draft, &sync});
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->steward == nodes[1].key);
    CHECK_FALSE(r->alreadySigned);
    CHECK(std::find(sync.synced.begin(), sync.synced.end(), t.path()) != sync.synced.end());
    CHECK(r->after.network == before->network);
    REQUIRE(r->after.stewards.size() == 3);
    CHECK((r->after.stewards[0].state == SignatureState::missing));
    CHECK((r->after.stewards[1].state == SignatureState::valid));
    CHECK((r->after.stewards[2].state == SignatureState::missing));
    // The reason names both stewards still to sign.
    CHECK(contains(r->after.complete.message(), "2 of 3 stewards have not signed it yet"));
    CHECK(contains(r->after.complete.message(), nodes[0].key.shortHex()));
    CHECK(contains(r->after.complete.message(), nodes[2].key.shortHex()));

    const std::string once = readAll(draft);
    auto again = civnet::daemon::signGenesisFile(SignOptions{nodes[1].dir, draft});
    REQUIRE(again.ok());
    CHECK(again->alreadySigned);
    CHECK(readAll(draft) == once);
    // No temp file left next to the draft.
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(t.path()))
      if (e.is_regular_file()) files.push_back(e.path());
    CHECK(files == std::vector<fs::path>{draft});

    signAs(nodes[0], draft);
    signAs(nodes[2], draft);
    auto done = civnet::daemon::checkGenesisFile(draft);
    REQUIRE(done.ok());
    CHECK(done->complete.ok());
    CHECK(done->network == before->network);
    for (const auto& s : done->stewards) CHECK((s.state == SignatureState::valid));
    auto g = civnet::record::readGenesisFile(draft);
    REQUIRE(g.ok());
    CHECK(g->checkComplete().ok());
  }

  TEST_CASE("sign refuses a node whose steward key the draft does not name, and leaves the draft as it was") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    threeStewardsAndDraft(t.path(), draft);
    StewardNode other = stewardNode(t.path() / "other");
    const std::string before = readAll(draft);
    auto r = civnet::daemon::signGenesisFile(SignOptions{other.dir, draft});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(),
                   "this node's steward key " + other.key.hex() + " is not one of the draft's stewards"));
    CHECK(readAll(draft) == before);
  }

  TEST_CASE("sign refuses a node without a steward key, naming init --steward") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    threeStewardsAndDraft(t.path(), draft);
    REQUIRE(civnet::daemon::initNode(InitOptions{t.path() / "plain", "Org", std::nullopt}).ok());
    auto r = civnet::daemon::signGenesisFile(SignOptions{t.path() / "plain", draft});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "has no steward key"));
    CHECK(contains(r.status().message(), "civnetd init --steward"));
  }

  TEST_CASE("a tampered signature shows as bad and the genesis is not complete, as checkComplete says") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    for (const auto& n : nodes) signAs(n, draft);
    auto g = civnet::record::readGenesisFile(draft);
    REQUIRE(g.ok());
    REQUIRE(g->signatures.size() == 3);
    g->signatures[1].signature.bytes[5] ^= 0x01;
    CHECK_FALSE(g->checkComplete().ok());
    auto c = civnet::daemon::inspectGenesis(g.value());
    CHECK_FALSE(c.complete.ok());
    int bad = 0;
    for (const auto& s : c.stewards)
      if (s.state == SignatureState::bad) {
        ++bad;
        CHECK(s.steward == g->signatures[1].steward);
      }
    CHECK(bad == 1);
    CHECK(contains(c.complete.message(), "the signature of " + g->signatures[1].steward.shortHex() +
                                             " does not verify"));
  }

  TEST_CASE("join refuses an incomplete genesis and leaves the node without a network") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    signAs(nodes[0], draft);
    auto r = civnet::daemon::joinNetwork(JoinOptions{nodes[0].dir, draft});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "is not a complete genesis"));
    CHECK_FALSE(storedNetwork(nodes[0].dir));
    CHECK_FALSE(fs::exists(DataDir{nodes[0].dir}.genesis()));
  }

  TEST_CASE("init --network refuses an incomplete genesis and leaves nothing behind") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    signAs(nodes[0], draft);
    auto r = civnet::daemon::initNode(InitOptions{t.path() / "b", "Org B", draft});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "not fully signed"));
    CHECK_FALSE(fs::exists(t.path() / "b"));
  }

  TEST_CASE("join of steward nodes records the network and, for each, its steward key") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    for (const auto& n : nodes) signAs(n, draft);
    RecordingDirSync sync;
    auto first = civnet::daemon::joinNetwork(JoinOptions{nodes[0].dir, draft, &sync});
    INFO(first.status().message());
    REQUIRE(first.ok());
    CHECK(std::find(sync.synced.begin(), sync.synced.end(), nodes[0].dir) != sync.synced.end());
    for (const auto& n : nodes) {
      if (n.dir != nodes[0].dir) {
        auto r = civnet::daemon::joinNetwork(JoinOptions{n.dir, draft});
        REQUIRE(r.ok());
        CHECK(r->network == first->network);
      }
      CHECK(storedNetwork(n.dir) == first->network);
      CHECK(storedMeta(n.dir, civnet::daemon::kMetaStewardKey) == n.key.hex());
      CHECK(storedMeta(n.dir, civnet::daemon::kMetaNetworkName) == "Net");
      CHECK(readAll(DataDir{n.dir}.genesis()) == readAll(draft));
    }
    REQUIRE(first->steward);
    CHECK(*first->steward == nodes[0].key);
  }

  TEST_CASE("a node whose steward key the genesis does not name joins as no steward") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    for (const auto& n : nodes) signAs(n, draft);
    StewardNode other = stewardNode(t.path() / "other");
    auto r = civnet::daemon::joinNetwork(JoinOptions{other.dir, draft});
    REQUIRE(r.ok());
    CHECK_FALSE(r->steward);
    CHECK_FALSE(storedMeta(other.dir, civnet::daemon::kMetaStewardKey));

    InitOptions o{t.path() / "plain", "Org", draft};
    auto plain = civnet::daemon::initNode(o);
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->stewardOfNetwork);
    CHECK(plain->network == r->network);
  }

  TEST_CASE("join refuses a node that already belongs to a network") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    for (const auto& n : nodes) signAs(n, draft);
    REQUIRE(civnet::daemon::joinNetwork(JoinOptions{nodes[0].dir, draft}).ok());
    const std::string copy = readAll(DataDir{nodes[0].dir}.genesis());
    auto r = civnet::daemon::joinNetwork(JoinOptions{nodes[0].dir, draft});
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.status().message(), "already belongs to network"));
    CHECK(readAll(DataDir{nodes[0].dir}.genesis()) == copy);
  }

  TEST_CASE("join that cannot sync the data dir leaves no genesis.bin and no network") {
    TempDir t;
    fs::path draft = t.path() / "net.draft";
    auto nodes = threeStewardsAndDraft(t.path(), draft);
    for (const auto& n : nodes) signAs(n, draft);
    RecordingDirSync sync("s1");
    auto r = civnet::daemon::joinNetwork(JoinOptions{nodes[0].dir, draft, &sync});
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(storedNetwork(nodes[0].dir));
    CHECK_FALSE(fs::exists(DataDir{nodes[0].dir}.genesis()));
    // ... and a later join succeeds.
    CHECK(civnet::daemon::joinNetwork(JoinOptions{nodes[0].dir, draft}).ok());
  }

  TEST_CASE("the one-steward genesis refuses a node made with --steward, naming draft, sign and join") {
    TempDir t;
    StewardNode n = stewardNode(t.path() / "s");
    auto g = civnet::daemon::makeGenesis(GenesisOptions{n.dir, "Net", t.path() / "net.genesis"});
    REQUIRE_FALSE(g.ok());
    CHECK(contains(g.status().message(), "genesis draft"));
    CHECK_FALSE(storedNetwork(n.dir));
    CHECK_FALSE(fs::exists(t.path() / "net.genesis"));
  }
}

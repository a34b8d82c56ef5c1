// civnetd init, genesis (one steward; draft, sign, check) and join (see
// node_setup.hpp).
#include "node_setup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <set>
#include <system_error>

#include "daemon/config.hpp"
#include "federation/peer_network.hpp"
#include "schemas/content.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"

namespace civnet::daemon {
namespace fs = std::filesystem;
namespace {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

Status writeNewFile(const fs::path& path, ByteView data, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST) return alreadyExists(path.string() + " already exists");
    return ioError("creating " + path.string() + ": " + errnoText(err));
  }
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ioError("writing " + path.string() + ": " + errnoText(err));
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return ioError("writing " + path.string() + ": " + errnoText(errno));
  return {};
}

namespace {

// Publishes `path` without ever replacing an existing file: writes a
// temporary file next to it, then hard-links it into place (link() fails
// with EEXIST if `path` appeared meanwhile).
Status writeFileNoReplace(const fs::path& path, ByteView data, mode_t mode) {
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (auto s = writeNewFile(tmp, data, mode); !s.ok()) return s;
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return alreadyExists(path.string() + " already exists; refusing to overwrite it");
    return ioError("creating " + path.string() + ": " + errnoText(err));
  }
  return {};
}

// Replaces `path` with `data` so that a reader sees the old file or the new
// one, never a mix, and a power cut leaves one of the two: a temporary file
// in the same directory, fsynced, renamed over `path`, then the directory
// fsynced.
Status replaceFile(const fs::path& path, ByteView data, mode_t mode, const DirSync& sync) {
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (auto s = writeNewFile(tmp, data, mode); !s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError("replacing " + path.string() + ": " + errnoText(err));
  }
  fs::path dir = path.parent_path();
  return sync.syncDir(dir.empty() ? fs::path(".") : dir);
}

class SystemDirSync final : public DirSync {
 public:
  Status syncDir(const fs::path& dir) const override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ioError("opening " + dir.string() + ": " + errnoText(errno));
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ioError("syncing " + dir.string() + ": " + errnoText(err));
    return {};
  }
};

// Removes a directory tree on scope exit unless released.
class RemoveOnFailure {
 public:
  explicit RemoveOnFailure(fs::path p) : path_(std::move(p)) {}
  ~RemoveOnFailure() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  void release() { path_.clear(); }
  RemoveOnFailure(const RemoveOnFailure&) = delete;
  RemoveOnFailure& operator=(const RemoveOnFailure&) = delete;

 private:
  fs::path path_;
};

Result<Bytes> readSmallFile(const fs::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + path.string());
  Bytes out;
  char buf[8192];
  while (in) {
    in.read(buf, sizeof buf);
    out.insert(out.end(), buf, buf + in.gcount());
    if (out.size() > limit) return refused(path.string() + " is larger than " + std::to_string(limit) + " bytes");
  }
  if (in.bad()) return ioError("error reading " + path.string());
  return out;
}

bool looksLikeNode(const fs::path& dir) {
  std::error_code ec;
  DataDir d{dir};
  return fs::exists(d.config(), ec) || fs::exists(d.keysDir(), ec) || fs::exists(d.store(), ec);
}

// A genesis file as read: its bytes (copied as they are: they are the
// signed document) and what they say.
struct GenesisFile {
  Bytes bytes;
  record::Genesis genesis;
};

Result<GenesisFile> readGenesis(const fs::path& path) {
  auto raw = readSmallFile(path, 1 << 20);
  if (!raw.ok()) return raw.status();
  auto g = record::decodeGenesisFile(raw.value());
  if (!g.ok()) return g.status().withContext("genesis file " + path.string());
  return GenesisFile{std::move(raw).value(), std::move(g).value()};
}

// A genesis file a node may join: complete, by record::Genesis::checkComplete.
Result<GenesisFile> readCompleteGenesis(const fs::path& path) {
  auto file = readGenesis(path);
  if (!file.ok()) return file.status();
  if (auto s = file->genesis.checkComplete(); !s.ok())
    return s.withContext("genesis file " + path.string() + " is not a complete genesis");
  return file;
}

std::string shortKeys(const std::vector<PublicKey>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k.shortHex();
  return out;
}

// The rules of a genesis body, which a draft must meet before anyone signs
// it: checkComplete's, minus signatures. The duplicate and threshold
// messages name the keys and flags; the rest is checkComplete's own word.
// checkComplete reports a broken body as invalidArgument and a missing or
// bad signature otherwise (refused, corruption), so a draft passes when it
// gets anything but invalidArgument.
// The genesis rules on a draft, with messages that name the flags' values.
Status checkGenesisBody(const record::Genesis& g) {
  std::set<PublicKey> seen;
  for (const auto& k : g.stewards)
    if (!seen.insert(k).second) return invalidArgument("steward key " + k.hex() + " is given twice");
  if (!g.stewards.empty() && (g.threshold < 1 || g.threshold > g.stewards.size()))
    return invalidArgument("the threshold is " + std::to_string(g.threshold) + " but must be between 1 and " +
                           std::to_string(g.stewards.size()) + ", the number of stewards");
  return g.checkBody();
}

// Whether `sig` is a valid signature of `g` by its steward.
// What joining a network takes: the data dir (for init, its temporary dir),
// the genesis, and the node's keys and organization name.
struct NetworkJoin {
  DataDir dir;
  const GenesisFile& genesis;
  const PrivateKey& org;
  PublicKey nodeKey;
  std::optional<PublicKey> steward;  // the node's steward key, if it has one
  std::string orgName;
  const DirSync& sync;
};

struct Joined {
  Digest network;
  bool steward = false;  // the node's steward key is a steward of the network
  Digest profileId;
};

// The one way a node joins a network (init --network, genesis, join):
// writes genesis.bin (never replacing one) and makes it durable with the
// data dir naming it, then records the network in the store, then the
// network's name and the steward key (when the genesis names it) in the
// store's meta table, then publishes the organization's first profile.
// REQUIRES: the key files are durable already, and the store has no network.
// Removes genesis.bin again if it fails before the store records the network.
Result<Joined> joinStore(store::Store& st, const NetworkJoin& j) {
  const record::Genesis& g = j.genesis.genesis;
  if (auto s = writeFileNoReplace(j.dir.genesis(), j.genesis.bytes, 0644); !s.ok()) return s;
  auto undo = [&](const Status& why) {
    ::unlink(j.dir.genesis().c_str());
    return why;
  };
  // genesis.bin, keys/ and the config are named in the data dir: durable
  // before the store (synced by LevelDB) names the network.
  if (auto s = j.sync.syncDir(j.dir.root); !s.ok()) return undo(s);
  Joined joined;
  joined.network = g.networkId();
  joined.steward = j.steward && isStewardOf(g, *j.steward);
  if (auto s = st.setNetwork(joined.network); !s.ok()) return undo(s);
  if (auto s = st.putMeta(kMetaNetworkName, g.name); !s.ok()) return s;
  if (joined.steward)
    if (auto s = st.putMeta(kMetaStewardKey, j.steward->hex()); !s.ok()) return s;
  auto profile = publishProfile(st, j.org, j.orgName, j.nodeKey);
  if (!profile.ok()) return profile.status();
  joined.profileId = profile->id;
  return joined;
}

}  // namespace

const DirSync& systemDirSync() {
  static const SystemDirSync sync;
  return sync;
}

bool isStewardOf(const record::Genesis& genesis, const PublicKey& key) {
  return std::find(genesis.stewards.begin(), genesis.stewards.end(), key) != genesis.stewards.end();
}

const char* toString(SignatureState s) {
  switch (s) {
    case SignatureState::valid: return "signed";
    case SignatureState::missing: return "missing";
    case SignatureState::bad: return "bad signature";
  }
  return "?";
}

Status validateName(const std::string& name, const std::string& what) {
  if (name.empty()) return invalidArgument(what + " must not be empty");
  if (name.size() > 200) return invalidArgument(what + " is longer than 200 bytes");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return invalidArgument(what + " contains a control character");
  return record::checkText(what, name);  // UTF-8, as every text in a record
}

Result<record::Entry> publishProfile(store::Store& st, const PrivateKey& org, const std::string& name,
                                     const PublicKey& nodeKey) {
  record::Profile p;
  p.name = name;
  p.nodes.push_back(record::HostingNode{nodeKey, {}});
  auto e = st.publish(org, static_cast<std::uint16_t>(record::Kind::profile), record::encodeProfile(p));
  if (!e.ok()) return e.status().withContext("publishing the organization's profile");
  return e;
}

Status checkIsNode(const DataDir& dir) {
  std::error_code ec;
  if (!fs::exists(dir.root, ec))
    return notFound("data dir " + dir.root.string() +
                    " does not exist (create a node with: civnetd init --data-dir " + dir.root.string() + ")");
  if (!fs::is_directory(dir.root, ec)) return invalidArgument(dir.root.string() + " is not a directory");
  if (!fs::exists(dir.config(), ec))
    return notFound(dir.root.string() + " is not a civnet data dir (no civnetd.toml; create a node with: " +
                    "civnetd init --data-dir DIR)");
  if (fs::exists(dir.restoreMarker(), ec))
    return corruption(dir.root.string() + " holds an unfinished restore (" + dir.restoreMarker().filename().string() +
                      " is there): empty the directory and run civnetd restore again");
  return {};
}

Result<NodeKeys> loadNodeKeys(const DataDir& dir) {
  auto node = loadKeyFile(dir.nodeKey());
  if (!node.ok()) return node.status();
  auto org = loadKeyFile(dir.orgKey());
  if (!org.ok()) return org.status();
  NodeKeys keys{std::move(node).value(), std::move(org).value(), std::nullopt};
  std::error_code ec;
  if (fs::exists(dir.stewardKey(), ec)) {
    auto steward = loadKeyFile(dir.stewardKey());
    if (!steward.ok()) return steward.status();
    keys.steward.emplace(std::move(steward).value());
  }
  return keys;
}

Result<InitReport> initNode(const InitOptions& options) {
  std::error_code ec;
  fs::path dir = fs::absolute(options.dataDir, ec).lexically_normal();
  if (ec) return ioError("data dir " + options.dataDir.string() + ": " + ec.message());
  if (dir.filename().empty()) dir = dir.parent_path();  // a trailing slash

  // `run` listens on DIR/admin.sock (the same absolute path) and could not:
  // say so now, not at the first run.
  const std::string socketPath = DataDir{dir}.adminSocket().string();
  constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
  if (socketPath.size() > kMaxSocketPath)
    return invalidArgument("the data dir path " + dir.string() + " is too long: its admin socket " + socketPath +
                           " would have " + std::to_string(socketPath.size()) +
                           " bytes, and a Unix socket path may have at most " + std::to_string(kMaxSocketPath) +
                           "; use a shorter path");

  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return alreadyExists(dir.string() + " exists and is not a directory");
    if (looksLikeNode(dir))
      return alreadyExists(dir.string() + " already holds a civnet node; refusing to overwrite");
    if (!fs::is_empty(dir, ec))
      return alreadyExists(dir.string() + " exists and is not empty; refusing to overwrite");
  }

  InitReport report;
  report.dataDir = dir;
  report.org = options.org.value_or(dir.filename().string());
  if (auto s = validateName(report.org, "the organization name (--org)"); !s.ok()) return s;

  std::optional<GenesisFile> genesis;
  if (options.network) {
    auto g = readCompleteGenesis(*options.network);
    if (!g.ok()) return g.status();
    genesis = std::move(g).value();
  }

  // The node is built in a temporary dir next to DIR and renamed into place.
  // An existing empty DIR (a service's state directory, owned by its user,
  // whose parent that user cannot write) gets it built inside instead, and
  // its parts moved up, the config last: a DIR without civnetd.toml is no
  // node.
  const bool inside = fs::exists(dir, ec);
  if (!inside) {
    fs::create_directories(dir.parent_path(), ec);
    if (ec) return ioError("creating " + dir.parent_path().string() + ": " + ec.message());
  }
  std::string tmpl = inside ? (dir / ".init-XXXXXX").string() : dir.string() + ".tmp-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return ioError(std::string("creating a temporary dir ") + (inside ? "in " : "next to ") + dir.string() + ": " +
                   errnoText(errno));
  fs::path tmp = tmpl;
  RemoveOnFailure cleanup(tmp);  // mkdtemp made it mode 0700
  DataDir d{tmp};
  const DirSync& sync = options.dirSync ? *options.dirSync : systemDirSync();

  if (::mkdir(d.keysDir().c_str(), 0700) != 0)
    return ioError("creating " + d.keysDir().string() + ": " + errnoText(errno));
  PrivateKey nodeKey = PrivateKey::generate();
  PrivateKey orgKey = PrivateKey::generate();
  report.nodeKey = nodeKey.publicKey();
  report.feedKey = orgKey.publicKey();
  if (auto s = saveKeyFile(d.nodeKey(), nodeKey); !s.ok()) return s;
  auto cert = makeSelfSignedCertPem(nodeKey, "civnet node " + nodeKey.publicKey().hex());
  if (!cert.ok()) return cert.status().withContext("making the node's TLS certificate");
  if (auto s = writeNewFile(d.nodeCert(), asBytes(cert.value()), 0644); !s.ok()) return s;
  if (auto s = saveKeyFile(d.orgKey(), orgKey); !s.ok()) return s;
  std::optional<PrivateKey> stewardKey;
  if (options.steward) {
    stewardKey.emplace(PrivateKey::generate());
    report.stewardKey = stewardKey->publicKey();
    if (auto s = saveKeyFile(d.stewardKey(), *stewardKey); !s.ok()) return s;
  }
  // The key files are fsynced, their names in keys/ are not until this.
  if (auto s = sync.syncDir(d.keysDir()); !s.ok()) return s;
  if (options.peerListen && !options.peerListen->empty())
    if (auto a = federation::parsePeerAddress(*options.peerListen); !a.ok())
      return Status(a.status().code(), "--peer-listen: " + a.status().message());
  if (options.httpListen && !options.httpListen->empty())
    if (auto a = federation::parsePeerAddress(*options.httpListen); !a.ok())
      return Status(a.status().code(), "--http-listen: " + a.status().message());
  std::string config = defaultConfigText(options.peerListen.value_or(Config{}.peerListen),
                                         options.httpListen.value_or(Config{}.httpListen));
  if (auto s = writeNewFile(d.config(), asBytes(config), 0644); !s.ok()) return s;

  {
    store::Options so;
    so.createIfMissing = true;
    auto st = store::Store::open(d.store(), so);
    if (!st.ok()) return st.status();
    store::Store& s = *st.value();
    for (auto [name, value] : {std::pair<const char*, std::string>{kMetaOrgName, report.org},
                               {kMetaNodeKey, report.nodeKey.hex()},
                               {kMetaFeedKey, report.feedKey.hex()}})
      if (auto ms = s.putMeta(name, value); !ms.ok()) return ms;
    if (genesis) {
      auto joined = joinStore(s, NetworkJoin{d, *genesis, orgKey, report.nodeKey, report.stewardKey,
                                             report.org, sync});
      if (!joined.ok()) return joined.status();
      report.network = joined->network;
      report.networkName = genesis->genesis.name;
      report.stewardOfNetwork = joined->steward;
      report.profileId = joined->profileId;
    }
  }  // the store is closed here, before the rename

  if (auto s = sync.syncDir(tmp); !s.ok()) return s;
  if (inside) {
    std::vector<fs::path> parts;
    for (const auto& e : fs::directory_iterator(tmp, ec)) parts.push_back(e.path().filename());
    if (ec) return ioError("listing " + tmp.string() + ": " + ec.message());
    std::stable_partition(parts.begin(), parts.end(), [&](const fs::path& p) { return p != d.config().filename(); });
    std::vector<fs::path> moved;
    for (const auto& part : parts) {
      if (::rename((tmp / part).c_str(), (dir / part).c_str()) != 0) {
        const int err = errno;
        for (const auto& m : moved) fs::remove_all(dir / m, ec);
        return ioError("moving " + (tmp / part).string() + " into " + dir.string() + ": " + errnoText(err));
      }
      moved.push_back(part);
    }
    ::rmdir(tmp.c_str());
    cleanup.release();
    if (auto s = sync.syncDir(dir); !s.ok()) return s;
    return report;
  }
  // rename(2) replaces an empty directory and fails on a non-empty one, so a
  // node created meanwhile under the same name is never overwritten.
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    int err = errno;
    if (err == ENOTEMPTY || err == EEXIST)
      return alreadyExists(dir.string() + " appeared while initializing; refusing to overwrite");
    return ioError("renaming " + tmp.string() + " to " + dir.string() + ": " + errnoText(err));
  }
  cleanup.release();
  if (auto s = sync.syncDir(dir.parent_path()); !s.ok()) return s;
  return report;
}

Result<GenesisReport> makeGenesis(const GenesisOptions& options) {
  DataDir d{options.dataDir};
  if (auto s = checkIsNode(d); !s.ok()) return s;
  if (auto s = validateName(options.name, "the network name (--name)"); !s.ok()) return s;
  std::error_code ec;
  if (fs::exists(options.out, ec))
    return alreadyExists(options.out.string() + " already exists; refusing to overwrite it");
  auto keys = loadNodeKeys(d);
  if (!keys.ok()) return keys.status();

  auto st = store::Store::open(d.store(), store::Options{});
  if (!st.ok()) return st.status();
  store::Store& s = *st.value();
  if (auto net = s.network())
    return refused("the node in " + d.root.string() + " already belongs to network " + net->hex() +
                   "; a node belongs to one network");
  if (fs::exists(d.stewardKey(), ec))
    return alreadyExists(d.stewardKey().string() +
                         " already exists; refusing to overwrite it (to found a network with that key, use "
                         "civnetd genesis draft, genesis sign and join)");

  PrivateKey steward = PrivateKey::generate();
  record::Genesis g;
  g.name = options.name;
  g.stewards.push_back(steward.publicKey());
  g.threshold = 1;
  g.createdAt = nowMs();
  if (auto gs = g.sign(steward); !gs.ok()) return gs.withContext("signing the genesis");
  if (auto gs = g.checkComplete(); !gs.ok()) return gs.withContext("the new genesis");
  GenesisFile file{record::encodeGenesisFile(g), g};

  GenesisReport report{g.networkId(), g.name, steward.publicKey(), options.out, Digest{}, Digest{}};
  // Until the store joins the network, undo what was written on failure.
  bool wroteKey = false, wroteOut = false;
  auto undo = [&](Status why) {
    if (wroteOut) ::unlink(options.out.c_str());
    if (wroteKey) ::unlink(d.stewardKey().c_str());
    return why;
  };
  const DirSync& sync = options.dirSync ? *options.dirSync : systemDirSync();
  if (auto ks = saveKeyFile(d.stewardKey(), steward); !ks.ok()) return undo(ks);
  wroteKey = true;
  if (auto ss = sync.syncDir(d.keysDir()); !ss.ok()) return undo(ss);
  if (auto ws = writeFileNoReplace(options.out, file.bytes, 0644); !ws.ok()) return undo(ws);
  wroteOut = true;
  fs::path outDir = options.out.parent_path();
  if (auto ss = sync.syncDir(outDir.empty() ? fs::path(".") : outDir); !ss.ok()) return undo(ss);

  auto org = s.getMeta(kMetaOrgName);
  // joinStore removes genesis.bin itself if the store does not record the
  // network; the steward key and FILE are ours to remove then.
  auto joined = joinStore(s, NetworkJoin{d, file, keys->org, keys->node.publicKey(), steward.publicKey(),
                                         org.value_or(d.root.filename().string()), sync});
  if (!joined.ok()) return s.network() ? joined.status() : undo(joined.status());
  report.profileId = joined->profileId;
  // The network's only steward admits the organization whose node made the
  // network (k = 1: a member at once), so a one-node network just works.
  record::Admission admission;
  admission.feed = keys->org.publicKey();
  admission.name = org.value_or(d.root.filename().string());
  auto admitted = s.publish(steward, static_cast<std::uint16_t>(record::Kind::admission),
                            record::encodeAdmission(admission));
  if (!admitted.ok()) return admitted.status().withContext("admitting this node's organization");
  report.admissionId = admitted->id;
  return report;
}

Result<JoinReport> joinNetwork(const JoinOptions& options) {
  DataDir d{options.dataDir};
  if (auto s = checkIsNode(d); !s.ok()) return s;
  auto genesis = readCompleteGenesis(options.network);
  if (!genesis.ok()) return genesis.status();
  auto keys = loadNodeKeys(d);
  if (!keys.ok()) return keys.status();

  auto st = store::Store::open(d.store(), store::Options{});
  if (!st.ok()) return st.status();
  store::Store& s = *st.value();
  if (auto net = s.network())
    return refused("the node in " + d.root.string() + " already belongs to network " + net->hex() +
                   "; a node belongs to one network");

  std::optional<PublicKey> steward;
  if (keys->steward) steward = keys->steward->publicKey();
  auto org = s.getMeta(kMetaOrgName);
  const DirSync& sync = options.dirSync ? *options.dirSync : systemDirSync();
  auto joined = joinStore(s, NetworkJoin{d, *genesis, keys->org, keys->node.publicKey(), steward,
                                         org.value_or(d.root.filename().string()), sync});
  if (!joined.ok()) return joined.status();
  JoinReport report{joined->network, genesis->genesis.name, std::nullopt, joined->profileId};
  if (joined->steward) report.steward = steward;
  return report;
}

Result<record::Genesis> draftGenesis(const DraftOptions& options) {
  if (auto s = validateName(options.name, "the network name (--name)"); !s.ok()) return s;
  record::Genesis g;
  g.name = options.name;
  for (const auto& hex : options.stewards) {
    auto key = PublicKey::parseHex(hex, "a steward key (--steward)");
    if (!key.ok()) return key.status();
    if (isStewardOf(g, key.value()))
      return invalidArgument("steward key " + key->hex() + " is given twice (--steward)");
    g.stewards.push_back(key.value());
  }
  if (g.stewards.empty()) return invalidArgument("a genesis needs at least one steward (--steward KEY)");
  if (options.threshold < 1 || options.threshold > static_cast<std::int64_t>(g.stewards.size()))
    return invalidArgument("--threshold " + std::to_string(options.threshold) + " is impossible with " +
                           std::to_string(g.stewards.size()) + " steward(s): it must be between 1 and " +
                           std::to_string(g.stewards.size()));
  g.threshold = static_cast<std::uint32_t>(options.threshold);
  g.createdAt = options.createdAt != 0 ? options.createdAt : nowMs();
  if (auto s = checkGenesisBody(g); !s.ok()) return s;

  std::error_code ec;
  if (fs::exists(options.out, ec))
    return alreadyExists(options.out.string() + " already exists; refusing to overwrite it");
  const DirSync& sync = options.dirSync ? *options.dirSync : systemDirSync();
  if (auto s = writeFileNoReplace(options.out, record::encodeGenesisFile(g), 0644); !s.ok()) return s;
  fs::path outDir = options.out.parent_path();
  if (auto s = sync.syncDir(outDir.empty() ? fs::path(".") : outDir); !s.ok()) {
    ::unlink(options.out.c_str());
    return s;
  }
  return g;
}

GenesisCheck inspectGenesis(const record::Genesis& genesis) {
  GenesisCheck c{genesis, genesis.networkId(), {}, {}};
  std::vector<PublicKey> missing, bad;
  for (const auto& steward : genesis.stewards) {
    StewardSignatureState st{steward, SignatureState::missing};
    auto it = std::find_if(genesis.signatures.begin(), genesis.signatures.end(),
                           [&](const record::StewardSignature& s) { return s.steward == steward; });
    if (it != genesis.signatures.end())
      st.state = genesis.verifySignature(*it) ? SignatureState::valid : SignatureState::bad;
    if (st.state == SignatureState::missing) missing.push_back(steward);
    if (st.state == SignatureState::bad) bad.push_back(steward);
    c.stewards.push_back(st);
  }
  c.complete = genesis.checkComplete();
  if (c.complete.ok()) return c;
  if (auto body = checkGenesisBody(genesis); !body.ok()) {
    c.complete = body;
    return c;
  }
  // Name every steward still to sign, not only the first checkComplete meets.
  std::string why;
  if (!missing.empty())
    why = std::to_string(missing.size()) + " of " + std::to_string(genesis.stewards.size()) +
          " stewards have not signed it yet: " + shortKeys(missing);
  if (!bad.empty())
    why += (why.empty() ? "" : "; ") + std::string("the signature of ") + shortKeys(bad) + " does not verify";
  if (!why.empty()) c.complete = Status(c.complete.code(), "not complete: " + why);
  return c;
}

Result<GenesisCheck> checkGenesisFile(const fs::path& path) {
  auto file = readGenesis(path);
  if (!file.ok()) return file.status();
  return inspectGenesis(file->genesis);
}

Result<SignReport> signGenesisFile(const SignOptions& options) {
  DataDir d{options.dataDir};
  if (auto s = checkIsNode(d); !s.ok()) return s;
  std::error_code ec;
  if (!fs::exists(d.stewardKey(), ec))
    return notFound("the node in " + d.root.string() + " has no steward key (" + d.stewardKey().string() +
                    "); a steward's node is made with: civnetd init --steward");
  auto key = loadKeyFile(d.stewardKey());
  if (!key.ok()) return key.status();
  auto file = readGenesis(options.file);
  if (!file.ok()) return file.status();
  record::Genesis& g = file->genesis;
  if (auto s = checkGenesisBody(g); !s.ok())
    return s.withContext("refusing to sign " + options.file.string());
  const PublicKey me = key->publicKey();
  if (!isStewardOf(g, me))
    return refused("this node's steward key " + me.hex() + " is not one of the draft's stewards (" +
                   options.file.string() + " names " + shortKeys(g.stewards) + ")");

  SignReport report;
  report.steward = me;
  if (auto s = g.sign(key.value()); !s.ok()) return s.withContext("signing " + options.file.string());
  Bytes signedBytes = record::encodeGenesisFile(g);
  report.after = inspectGenesis(g);
  if (signedBytes == file->bytes) {
    report.alreadySigned = true;  // Ed25519 is deterministic: the same signature
    return report;
  }
  struct stat sb{};
  mode_t mode = ::stat(options.file.c_str(), &sb) == 0 ? (sb.st_mode & 07777) : 0644;
  const DirSync& sync = options.dirSync ? *options.dirSync : systemDirSync();
  if (auto s = replaceFile(options.file, signedBytes, mode, sync); !s.ok()) return s;
  return report;
}

namespace {
Result<std::string> readTextFile(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot read " + what + " " + path.string() + ": " + errnoText(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

Result<WebCert> loadOrMakeWebCert(const DataDir& dir, const std::string& certFile, const std::string& keyFile,
                                  bool& made) {
  made = false;
  WebCert wc;
  if (!certFile.empty()) {
    auto c = readTextFile(certFile, "[http] cert_file");
    if (!c.ok()) return c.status();
    auto k = readTextFile(keyFile, "[http] key_file");
    if (!k.ok()) return k.status();
    wc.certPem = std::move(c).value();
    wc.keyPem = std::move(k).value();
    return wc;
  }
  std::error_code ec;
  const bool haveCert = fs::exists(dir.webCert(), ec), haveKey = fs::exists(dir.webKey(), ec);
  if (haveCert != haveKey)
    return corruption((haveCert ? dir.webCert() : dir.webKey()).string() + " is there without " +
                      (haveCert ? dir.webKey() : dir.webCert()).string() +
                      ": delete it, and civnetd run makes both anew");
  if (haveCert) {
    auto c = readTextFile(dir.webCert(), "the member interface's certificate");
    if (!c.ok()) return c.status();
    auto k = readTextFile(dir.webKey(), "the member interface's key");
    if (!k.ok()) return k.status();
    wc.certPem = std::move(c).value();
    wc.keyPem = std::move(k).value();
    return wc;
  }
  char host[256] = {};
  std::vector<std::string> names{"localhost"};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0] && std::string(host) != "localhost") names.emplace_back(host);
  auto made_ = makeSelfSignedWebCert("civnet member interface", names, {"127.0.0.1", "::1"}, 825);
  if (!made_.ok()) return made_.status();
  if (auto s = writeFileNoReplace(dir.webKey(), asBytes(made_->keyPem), 0600); !s.ok()) return s;
  if (auto s = writeFileNoReplace(dir.webCert(), asBytes(made_->certPem), 0644); !s.ok()) return s;
  made = true;
  return std::move(made_).value();
}

}  // namespace civnet::daemon

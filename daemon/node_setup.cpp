// civnetd init and civnetd genesis (see node_setup.hpp).
#include "node_setup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>

#include "daemon/config.hpp"
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

// Writes all of `data` to a new file (O_EXCL) with `mode`, and fsyncs it.
Status writeNewFile(const fs::path& path, ByteView data, mode_t mode) {
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

Result<record::Entry> publishProfile(store::Store& st, const PrivateKey& org, const std::string& name,
                                     const PublicKey& nodeKey) {
  record::Profile p;
  p.name = name;
  p.nodes.push_back(record::HostingNode{nodeKey, {}});
  auto e = st.publish(org, static_cast<std::uint16_t>(record::Kind::profile), record::encodeProfile(p));
  if (!e.ok()) return e.status().withContext("publishing the organization's profile");
  return e;
}

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

}  // namespace

const DirSync& systemDirSync() {
  static const SystemDirSync sync;
  return sync;
}

Status validateName(const std::string& name, const std::string& what) {
  if (name.empty()) return invalidArgument(what + " must not be empty");
  if (name.size() > 200) return invalidArgument(what + " is longer than 200 bytes");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return invalidArgument(what + " contains a control character");
  return record::checkText(what, name);  // UTF-8, as every text in a record
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

  // The genesis file is copied byte for byte: it is the signed document.
  std::optional<record::Genesis> genesis;
  Bytes genesisBytes;
  if (options.network) {
    auto raw = readSmallFile(*options.network, 1 << 20);
    if (!raw.ok()) return raw.status();
    genesisBytes = std::move(raw).value();
    auto g = record::decodeGenesisFile(genesisBytes);
    if (!g.ok()) return g.status().withContext("genesis file " + options.network->string());
    if (auto s = g->checkComplete(); !s.ok())
      return s.withContext("genesis file " + options.network->string() + " is not a complete genesis");
    genesis = std::move(g).value();
  }

  fs::create_directories(dir.parent_path(), ec);
  if (ec) return ioError("creating " + dir.parent_path().string() + ": " + ec.message());
  std::string tmpl = dir.string() + ".tmp-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    return ioError("creating a temporary dir next to " + dir.string() + ": " + errnoText(errno));
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
  // The key files are fsynced, their names in keys/ are not until this.
  if (auto s = sync.syncDir(d.keysDir()); !s.ok()) return s;
  std::string config = defaultConfigText();
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
      if (auto ws = writeNewFile(d.genesis(), genesisBytes, 0644); !ws.ok()) return ws;
      // genesis.bin, keys/ and the config are named in the data dir: make
      // them durable before the store (synced by LevelDB) names the network.
      if (auto ss = sync.syncDir(tmp); !ss.ok()) return ss;
      report.network = genesis->networkId();
      report.networkName = genesis->name;
      if (auto ns = s.setNetwork(*report.network); !ns.ok()) return ns;
      if (auto ms = s.putMeta(kMetaNetworkName, genesis->name); !ms.ok()) return ms;
      auto profile = publishProfile(s, orgKey, report.org, report.nodeKey);
      if (!profile.ok()) return profile.status();
      report.profileId = profile->id;
    }
  }  // the store is closed here, before the rename

  if (auto s = sync.syncDir(tmp); !s.ok()) return s;
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
    return alreadyExists(d.stewardKey().string() + " already exists; refusing to overwrite it");

  PrivateKey steward = PrivateKey::generate();
  record::Genesis g;
  g.name = options.name;
  g.stewards.push_back(steward.publicKey());
  g.threshold = 1;
  g.createdAt = nowMs();
  if (auto gs = g.sign(steward); !gs.ok()) return gs.withContext("signing the genesis");
  if (auto gs = g.checkComplete(); !gs.ok()) return gs.withContext("the new genesis");
  Bytes file = record::encodeGenesisFile(g);

  GenesisReport report{g.networkId(), g.name, steward.publicKey(), options.out, Digest{}};
  // Until the store joins the network, undo what was written on failure.
  bool wroteKey = false, wroteOut = false, wroteCopy = false;
  auto undo = [&](Status why) {
    if (wroteCopy) ::unlink(d.genesis().c_str());
    if (wroteOut) ::unlink(options.out.c_str());
    if (wroteKey) ::unlink(d.stewardKey().c_str());
    return why;
  };
  const DirSync& sync = options.dirSync ? *options.dirSync : systemDirSync();
  if (auto ks = saveKeyFile(d.stewardKey(), steward); !ks.ok()) return undo(ks);
  wroteKey = true;
  if (auto ss = sync.syncDir(d.keysDir()); !ss.ok()) return undo(ss);
  if (auto ws = writeFileNoReplace(options.out, file, 0644); !ws.ok()) return undo(ws);
  wroteOut = true;
  fs::path outDir = options.out.parent_path();
  if (auto ss = sync.syncDir(outDir.empty() ? fs::path(".") : outDir); !ss.ok()) return undo(ss);
  if (auto ws = writeFileNoReplace(d.genesis(), file, 0644); !ws.ok()) return undo(ws);
  wroteCopy = true;
  // The steward key and genesis.bin are durable, names included, before
  // the store names the network.
  if (auto ss = sync.syncDir(d.root); !ss.ok()) return undo(ss);
  if (auto ms = s.putMeta(kMetaStewardKey, steward.publicKey().hex()); !ms.ok()) return undo(ms);
  if (auto ms = s.putMeta(kMetaNetworkName, g.name); !ms.ok()) return undo(ms);
  if (auto ns = s.setNetwork(report.network); !ns.ok()) return undo(ns);

  auto org = s.getMeta(kMetaOrgName);
  auto profile = publishProfile(s, keys->org, org.value_or(d.root.filename().string()), keys->node.publicKey());
  if (!profile.ok()) return profile.status();
  report.profileId = profile->id;
  return report;
}

}  // namespace civnet::daemon

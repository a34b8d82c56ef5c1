// Backups and restore (see backup.hpp).
#include "daemon/backup.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

#include "daemon/config.hpp"
#include "daemon/node_setup.hpp"
#include "daemon/space_watch.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"

namespace civnet::daemon {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kRowsPerRecord = 1024 * 1024;  // bytes of rows per 'R' record, about
constexpr std::size_t kMaxDataFile = 1024 * 1024;    // config, genesis, keys: all small

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The files of a data dir a backup carries, relative to it: the config, the
// genesis and everything under keys/. Not the store (its rows go apart), the
// search index (rebuilt) nor the socket.
Result<std::vector<backup::BackupFile>> dataDirFiles(const DataDir& dir) {
  std::vector<fs::path> paths{dir.config(), dir.genesis()};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir.keysDir(), ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) paths.push_back(it->path());
  if (ec) return ioError("listing " + dir.keysDir().string() + ": " + ec.message());
  std::vector<backup::BackupFile> out;
  for (const auto& p : paths) {
    backup::BackupFile f;
    f.name = p.lexically_relative(dir.root).generic_string();
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return ioError("reading " + p.string() + ": " + std::strerror(errno));
    if (static_cast<std::size_t>(st.st_size) > kMaxDataFile)
      return refused(p.string() + " is over " + std::to_string(kMaxDataFile) + " bytes: not a file a backup carries");
    f.mode = st.st_mode & 0777;
    std::ifstream in(p, std::ios::binary);
    if (!in) return ioError("reading " + p.string() + ": " + std::strerror(errno));
    std::ostringstream text;
    if (st.st_size > 0) text << in.rdbuf();
    if (in.bad()) return ioError("reading " + p.string());
    f.bytes = std::move(text).str();
    out.push_back(std::move(f));
  }
  return out;
}

// A damaged backup's error, with what to do about it.
Status damaged(const Status& s, const fs::path& file) {
  if (s.code() != StatusCode::corruption && s.code() != StatusCode::unsupported) return s.withContext(file.string());
  return Status(s.code(), file.string() + ": " + s.message() +
                              (s.code() == StatusCode::corruption
                                   ? " (the file is damaged or incomplete: use another copy; nothing was written)"
                                   : ""));
}

// Does a process listen on this Unix socket?
bool socketAnswers(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}

// Reads `file` through `reader` a piece at a time; `progress` may stop it
// by returning an error.
Status readThrough(const fs::path& file, backup::Reader& reader,
                   const std::function<Status(std::uint64_t)>& progress) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return invalidArgument("the backup file " + file.string() + " is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) return notFound("cannot open the backup file " + file.string() + ": " + std::strerror(errno));
  std::string buf(1024 * 1024, '\0');
  std::uint64_t read = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    read += n;
    if (auto s = reader.feed(std::string_view(buf.data(), n)); !s.ok()) return damaged(s, file);
    if (progress)
      if (auto s = progress(read); !s.ok()) return s;
  }
  if (in.bad()) return ioError("reading the backup file " + file.string() + ": " + std::strerror(errno));
  if (auto s = reader.finish(); !s.ok()) return damaged(s, file);
  return {};
}

// The header alone (the file's first record), for the checks that need no
// more: which network, which store schema.
Result<backup::BackupHeader> readHeader(const fs::path& file) {
  std::optional<backup::BackupHeader> header;
  backup::Reader r({[&](const backup::BackupHeader& h) {
                      header = h;
                      return Status{};
                    },
                    {},
                    {}});
  std::error_code ec;
  if (fs::is_directory(file, ec)) return invalidArgument("the backup file " + file.string() + " is a directory");
  std::ifstream in(file, std::ios::binary);
  if (!in) return notFound("cannot open the backup file " + file.string() + ": " + std::strerror(errno));
  std::string buf(64 * 1024, '\0');
  while (!header && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    if (n == 0) break;
    if (auto s = r.feed(std::string_view(buf.data(), n)); !s.ok() && !header) return damaged(s, file);
  }
  if (!header) return damaged(r.finish(), file);
  return *header;
}

std::string utcTime(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Empties what a failed restore wrote: the whole directory if the restore
// made it, else its contents (it was empty before).
class UndoRestore {
 public:
  UndoRestore(fs::path root, bool made) : root_(std::move(root)), made_(made) {}
  ~UndoRestore() {
    if (done_) return;
    std::error_code ec;
    if (made_) {
      fs::remove_all(root_, ec);
      return;
    }
    for (auto it = fs::directory_iterator(root_, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
      fs::remove_all(it->path(), ec);
  }
  void done() { done_ = true; }
  UndoRestore(const UndoRestore&) = delete;
  UndoRestore& operator=(const UndoRestore&) = delete;

 private:
  fs::path root_;
  bool made_;
  bool done_ = false;
};

// A backup being streamed: what is sent next, and the snapshot it reads.
struct BackupState {
  backup::Writer writer;
  backup::BackupHeader header;
  std::vector<backup::BackupFile> files;
  std::unique_ptr<store::BackupSource> source;
  enum Step { header_, files_, rows_, end_, done } step = header_;
};

// The next piece of the backup: the magic and header, the files, a rows
// record, the end record. Empty when a step has nothing to send.
Status nextPiece(BackupState& st, std::string& chunk) {
  switch (st.step) {
    case BackupState::header_:
      chunk = st.writer.begin(st.header);
      st.step = BackupState::files_;
      return {};
    case BackupState::files_:
      for (const auto& f : st.files) chunk += st.writer.file(f);
      st.files.clear();
      st.step = BackupState::rows_;
      return {};
    case BackupState::rows_: {
      std::string payload;
      std::uint64_t n = 0;
      const bool more = st.source->next(kRowsPerRecord, [&](std::string_view k, std::string_view v) {
        backup::appendRow(payload, k, v);
        ++n;
      });
      if (!st.source->status().ok()) return st.source->status();
      if (n > 0) chunk = st.writer.rows(payload, n);
      if (!more) {
        st.step = BackupState::end_;
        st.source.reset();  // releases the snapshot
      }
      return {};
    }
    case BackupState::end_:
      chunk = st.writer.end();
      st.step = BackupState::done;
      return {};
    case BackupState::done:
      return {};
  }
  return {};
}

}  // namespace

Result<BackupStream> startBackup(store::Store& store, const DataDir& dir, const std::string& networkName,
                                 const std::string& software) {
  auto files = dataDirFiles(dir);
  if (!files.ok()) return files.status();
  auto source = store.backup();
  if (!source.ok()) return source.status();
  auto network = store.network();
  if (!network) return refused("this node belongs to no network yet: there is nothing to back up");

  BackupStream out;
  backup::BackupHeader& h = out.header;
  h.network = *network;
  h.networkName = networkName;
  if (auto nodeKey = store.getMeta(kMetaNodeKey))
    if (auto k = PublicKey::parseHex(*nodeKey, "node key"); k.ok()) h.nodeKey = *k;
  h.storeSchema = (*source)->schemaVersion();
  h.createdMs = nowMs();
  h.software = software;
  h.frontier = (*source)->frontier();
  h.feeds = (*source)->counts().feeds;
  h.entries = (*source)->counts().entries;

  auto st = std::make_shared<BackupState>();
  st->header = h;
  st->files = std::move(files).value();
  st->source = std::move(source).value();
  out.next = [st](std::string& chunk) -> Status {
    chunk.clear();
    // An empty chunk ends the stream: go on until there is something to
    // send, or the end record was sent.
    while (chunk.empty() && st->step != BackupState::done)
      if (Status s = nextPiece(*st, chunk); !s.ok()) return s;
    return {};
  };
  return out;
}

namespace {
// `path` made absolute and normal, without a trailing slash: the data dir
// as restore and repair name it in their messages and build paths from.
fs::path absoluteDir(const fs::path& path) {
  std::error_code ec;
  fs::path root = fs::absolute(path, ec);
  if (ec) root = path;
  root = root.lexically_normal();
  if (root.filename().empty()) root = root.parent_path();
  return root;
}
}  // namespace

Result<RestoreReport> restoreNode(const RestoreOptions& o) {
  auto say = [&](const std::string& line) {
    if (o.progress) o.progress(line);
  };
  std::error_code ec;
  const fs::path root = absoluteDir(o.dataDir);
  const DataDir dir{root};

  auto stop = [&]() -> Status {
    if (o.interrupted && o.interrupted->load()) return unavailable("interrupted: nothing was kept");
    return {};
  };

  // 1. Where it goes, checked from the header alone: a new or empty
  // directory, never a live node, nor one of another network.
  RestoreReport report;
  auto header = readHeader(o.file);
  if (!header.ok()) return header.status();
  report.header = *header;
  const backup::BackupHeader& h = report.header;
  if (h.storeSchema > store::kSchemaVersion)
    return unsupported("the backup's store has schema version " + std::to_string(h.storeSchema) +
                       ", newer than this civnetd writes (" + std::to_string(store::kSchemaVersion) +
                       "): restore it with the civnetd that made it, or a newer one");
  const bool exists = fs::exists(root, ec);
  if (exists && !fs::is_directory(root, ec)) return invalidArgument(root.string() + " is not a directory");
  if (exists && !fs::is_empty(root, ec)) {
    if (fs::exists(dir.adminSocket(), ec) && socketAnswers(dir.adminSocket()))
      return refused("a civnetd is running on " + root.string() +
                     ": stop it first (a restore never replaces a live node, and goes into an empty directory)");
    if (auto g = record::readGenesisFile(dir.genesis()); g.ok() && g->networkId() != h.network)
      return refused("the backup is of network \"" + h.networkName + "\" (" + h.network.shortHex() + ") but " +
                     root.string() + " holds a node of network \"" + g->name + "\" (" + g->networkId().shortHex() +
                     "); restore into a new or empty directory");
    if (fs::exists(dir.restoreMarker(), ec))
      return alreadyExists(root.string() + " holds an unfinished restore (" + dir.restoreMarker().filename().string() +
                           " is there): empty it and run civnetd restore again");
    return alreadyExists(root.string() + " is not empty: a backup is restored into a new or empty directory only " +
                         "(move the old one aside first, e.g. mv " + root.string() + " " + root.string() + ".old)");
  }

  // 2. The whole file, checked before anything is written: its structure,
  // every record's length and, at the end, its digest.
  {
    backup::Reader check({{}, {}, {}});
    std::uint64_t nextSay = 64 * 1024 * 1024;
    auto s = readThrough(o.file, check, [&](std::uint64_t n) {
      if (n >= nextSay) {
        say("checking the backup file: " + std::to_string(n / (1024 * 1024)) + " MiB read");
        nextSay += 64 * 1024 * 1024;
      }
      return stop();
    });
    if (!s.ok()) return s;
    report.bytes = check.bytes();
  }
  say("the backup file is whole: node " + h.nodeKey.shortHex() + " of network \"" + h.networkName + "\" (" +
      h.network.shortHex() + "), " + std::to_string(h.entries) + " entries in " + std::to_string(h.feeds) +
      " feeds, taken " + utcTime(h.createdMs) + " by " + h.software);

  if (!exists) {
    if (!fs::create_directories(root, ec) && ec)
      return ioError("creating " + root.string() + ": " + ec.message());
  }
  fs::permissions(root, fs::perms::owner_all, ec);
  UndoRestore undo(root, !exists);
  if (auto s = writeNewFile(dir.restoreMarker(), asBytes("civnetd restore is writing this directory\n"), 0600);
      !s.ok())
    return s;

  // 3. Write it: the files, then the store's rows.
  auto sink = store::Store::restoreInto(dir.store());
  if (!sink.ok()) return sink.status();
  bool sawGenesis = false, sawConfig = false, sawNodeKey = false;
  backup::Reader write({{},
                        [&](const backup::BackupFile& f) -> Status {
                          const fs::path path = root / f.name;
                          if (f.name == dir.restoreMarker().filename() || path == dir.adminSocket() ||
                              f.name == "store" || f.name.starts_with("store/"))
                            return corruption("the backup holds a file \"" + f.name + "\" that is not part of a node");
                          // Directories (keys/, keys/orgs/) as init makes them: the owner's only.
                          for (fs::path d = root; const auto& part : path.parent_path().lexically_relative(root)) {
                            if (part == ".") continue;
                            d /= part;
                            if (fs::create_directory(d, ec)) fs::permissions(d, fs::perms::owner_all, ec);
                            if (ec) return ioError("creating " + d.string() + ": " + ec.message());
                          }
                          sawGenesis |= path == dir.genesis();
                          sawConfig |= path == dir.config();
                          sawNodeKey |= path == dir.nodeKey();
                          return writeNewFile(path, asBytes(f.bytes), f.mode & 0755);
                        },
                        [&](std::string_view k, std::string_view v) { return (*sink)->add(k, v); }});
  if (auto s = readThrough(o.file, write, [&](std::uint64_t) { return stop(); }); !s.ok()) return s;
  if (auto s = (*sink)->finish(); !s.ok()) return s;
  sink->reset();
  report.files = write.files();
  report.rows = write.rows();
  if (!sawGenesis || !sawConfig || !sawNodeKey)
    return corruption("the backup lacks " +
                      std::string(!sawConfig ? "civnetd.toml" : !sawGenesis ? "genesis.bin" : "keys/node.key") +
                      ": it cannot make a node");
  say("wrote " + std::to_string(report.files) + " files and " + std::to_string(report.rows) + " store rows");

  // 4. Check what was written as the node would: its genesis, its store's
  // network, every chain and signature, and the frontier the backup names.
  auto genesis = record::readGenesisFile(dir.genesis());
  if (!genesis.ok()) return genesis.status().withContext("the backup's genesis.bin");
  if (genesis->networkId() != h.network)
    return corruption("the backup's genesis.bin is of network " + genesis->networkId().shortHex() +
                      ", not the network its header names (" + h.network.shortHex() + ")");
  if (auto c = checkConfigFile(dir.config()); !c.ok()) return c.status().withContext("the backup's civnetd.toml");
  {
    store::Options so;
    auto st = store::Store::open(dir.store(), so);  // brings an older schema up to date
    if (!st.ok()) return st.status().withContext("opening the restored store");
    if ((*st)->network() != h.network)
      return corruption("the backup's store is not of the network its header names (" + h.network.shortHex() + ")");
    std::uint64_t nextSay = 0;
    auto v = (*st)->verify([&](std::uint64_t done, std::uint64_t total) {
      if (done >= nextSay) {
        say("verifying every entry's chain and signature: " + std::to_string(done) + " of " + std::to_string(total));
        nextSay = done + 100000;
      }
      return !(o.interrupted && o.interrupted->load());
    });
    if (auto s = stop(); !s.ok()) return s;
    if (!v.ok())
      return corruption("the restored store does not verify (" + std::to_string(v.problems.size()) +
                        " problems; first: " + (v.problems.empty() ? std::string("stopped") : v.problems.front()) +
                        ")");
    report.signaturesChecked = v.signaturesChecked;
    if ((*st)->frontierDigest() != h.frontier)
      return corruption("the restored store's frontier digest " + (*st)->frontierDigest().hex() +
                        " is not the one the backup names (" + h.frontier.hex() + ")");
    if (auto s = (*st)->putMeta(kMetaPublishPaused, "restored from a backup taken " + utcTime(h.createdMs)); !s.ok())
      return s;
    (void)(*st)->indexedPosition();  // the indexes rebuilt before the store closes
  }
  ::unlink(dir.restoreMarker().c_str());
  if (auto s = systemDirSync().syncDir(root); !s.ok()) return s;
  undo.done();
  return report;
}

namespace {
// Now, as a file name's part: 2026-12-01T041500Z.
std::string fileStamp() {
  std::string stamp = utcTime(nowMs());
  stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
  return stamp;
}
}  // namespace

namespace {
// What a repair writes last into the new store, synced, before it is put
// in place: publishing paused, with this prefix.
constexpr std::string_view kRepairedMark = "repaired after damage";

// The new store moved into DIR/store (the damaged one is already aside);
// the search index, derived from the store, is removed to be rebuilt.
Status putRepairedInPlace(const DataDir& dir, const fs::path& root) {
  std::error_code ec;
  fs::rename(dir.repairedStore(), dir.store(), ec);
  if (ec) return ioError("putting the salvaged store in place: " + ec.message());
  fs::remove_all(dir.search(), ec);
  return systemDirSync().syncDir(root);
}
}  // namespace

bool repairStopped(const DataDir& dir) {
  std::error_code ec;
  return !fs::exists(dir.store(), ec) && fs::is_directory(dir.repairedStore(), ec);
}

Result<RepairReport> repairNode(const RepairOptions& o) {
  std::error_code ec;
  const fs::path root = absoluteDir(o.dataDir);
  const DataDir dir{root};
  if (!fs::is_directory(root, ec)) return notFound(root.string() + " is not a node's data directory");
  if (fs::exists(dir.adminSocket(), ec) && socketAnswers(dir.adminSocket()))
    return refused("a civnetd is running on " + root.string() + ": stop it first (a repair never changes a live node)");
  if (fs::exists(dir.restoreMarker(), ec))
    return refused(root.string() + " holds an unfinished restore: finish it (civnetd restore) rather than repair it");
  auto genesis = record::readGenesisFile(dir.genesis());
  if (!genesis.ok())
    return genesis.status().withContext("a repair needs the node's genesis.bin (any node of the network has it)");
  const fs::path fresh = dir.repairedStore(), scratch = root / "store.repair-scratch";
  if (repairStopped(dir)) {
    // A repair stopped between its two renames: the damaged store is aside
    // and the new one is whole. Its last write, synced, paused publishing:
    // without that mark it is a salvage cut short, never put in place.
    {
      auto st = store::Store::open(fresh, store::Options{});
      if (!st.ok() || !(*st)->getMeta(kMetaPublishPaused).value_or("").starts_with(kRepairedMark))
        return corruption("there is no store to repair in " + root.string() + ", and " + fresh.string() +
                          " is an unfinished repair's, not whole: restore a backup (civnetd restore), or "
                          "move the damaged store kept beside it back to " + dir.store().string() +
                          " and repair again");
    }
    RepairReport report;
    report.finishedStopped = true;
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.path().filename().string().starts_with("store.damaged-") && e.path() > report.damagedKeptAt)
        report.damagedKeptAt = e.path();  // the newest (the stamps sort by time)
    if (auto s = putRepairedInPlace(dir, root); !s.ok()) return s;
    return report;
  }
  if (!fs::exists(dir.store(), ec)) return notFound("there is no store to repair: " + dir.store().string());

  // Leftovers of a repair that was stopped: never the node's store.
  fs::remove_all(fresh, ec);
  fs::remove_all(scratch, ec);
  // Room for a copy of the damaged store and a new one beside it.
  const SpaceUse room = measureSpace(dir.store(), root);
  const std::uint64_t needed = 2 * room.storeBytes + 32 * 1024 * 1024;
  if (room.diskKnown && room.freeBytes < needed)
    return ioError("a repair needs about " + std::to_string(needed >> 20) + " MiB free beside " + root.string() +
                   " (a copy of the damaged store and a new one), and " + std::to_string(room.freeBytes >> 20) +
                   " MiB are: free some space first");
  RepairReport report;
  auto salvaged = store::Store::salvage(dir.store(), scratch, fresh, genesis->networkId(), o.progress);
  if (!salvaged.ok()) {
    fs::remove_all(fresh, ec);
    return salvaged.status();
  }
  report.salvage = std::move(salvaged).value();
  {
    store::Options so;
    auto st = store::Store::open(fresh, so);
    if (!st.ok()) return st.status().withContext("opening the salvaged store");
    if (auto s = (*st)->putMeta(kMetaPublishPaused, std::string(kRepairedMark) + " on " + utcTime(nowMs())); !s.ok())
      return s;
  }
  report.damagedKeptAt = root / ("store.damaged-" + fileStamp());
  fs::rename(dir.store(), report.damagedKeptAt, ec);
  if (ec) return ioError("moving " + dir.store().string() + " aside: " + ec.message());
  if (auto s = putRepairedInPlace(dir, root); !s.ok()) {
    if (repairStopped(dir)) fs::rename(report.damagedKeptAt, dir.store(), ec);  // the damaged one back
    return s;
  }
  return report;
}

Result<fs::path> keepStoreBeforeUpgrade(const DataDir& dir, std::uint32_t fromVersion) {
  const std::string stamp = fileStamp();
  const fs::path to = dir.root / ("store.schema" + std::to_string(fromVersion) + "-" + stamp);
  std::error_code ec;
  if (!fs::create_directory(to, ec)) return ioError("creating " + to.string() + ": " + (ec ? ec.message() : "it exists"));
  fs::permissions(to, fs::perms::owner_all, ec);
  bool kept = false;
  struct Undo {
    const fs::path& to;
    bool& kept;
    ~Undo() {
      std::error_code ignored;
      if (!kept) fs::remove_all(to, ignored);
    }
  } undo{to, kept};
  for (const auto& e : fs::directory_iterator(dir.store(), ec)) {
    const std::string name = e.path().filename().string();
    if (name == "LOCK" || name.starts_with("LOG")) continue;  // the lock and LevelDB's text log
    if (name.ends_with(".ldb") || name.ends_with(".sst")) {
      fs::create_hard_link(e.path(), to / name, ec);
      if (!ec) continue;
    }
    fs::copy_file(e.path(), to / name, ec);
    if (ec) return ioError("copying " + e.path().string() + " to " + to.string() + ": " + ec.message());
  }
  if (ec) return ioError("listing " + dir.store().string() + ": " + ec.message());
  if (auto s = systemDirSync().syncDir(to); !s.ok()) return s;
  if (auto s = systemDirSync().syncDir(dir.root); !s.ok()) return s;
  kept = true;
  return to;
}

}  // namespace civnet::daemon

// Backups of a running node and their restore (docs/operations.md, "Backups
// and restore"; the file format is schemas/backup.hpp).
//
// A backup holds what it takes to bring the node back: its store, read on one
// LevelDB snapshot while the node goes on serving, and the files of its data
// dir (civnetd.toml, genesis.bin, keys/). It holds the node's private keys,
// so it is written with mode 0600 and must be kept like them.
//
// `civnetd restore` writes a backup into a new or empty data dir and checks
// it before the node can run there: the file's own digest, every store row's
// table, then the store itself (every chain link and signature, the
// frontier digest the backup names, the genesis of the same network). A
// restore that fails leaves the directory as it found it. The restored node
// pauses publishing (see PublishGuard) so it cannot fork its own feeds.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "daemon/data_dir.hpp"
#include "schemas/backup.hpp"
#include "schemas/status.hpp"
#include "store/store.hpp"

namespace civnet::daemon {

struct BackupStream {
  backup::BackupHeader header;
  // Fills `chunk` with the next piece of the backup file; leaves it empty
  // after the end record.
  std::function<Status(std::string& chunk)> next;
};

// Starts a backup of the node in `dir` whose store is `store`, from a
// snapshot taken now. REQUIRES: the stream ends before the store closes.
Result<BackupStream> startBackup(store::Store& store, const DataDir& dir, const std::string& networkName,
                                 const std::string& software);

struct RestoreOptions {
  std::filesystem::path dataDir;
  std::filesystem::path file;
  // Told of progress now and then, one line each (stderr in civnetd).
  std::function<void(const std::string&)> progress;
  // Set (by a signal handler) to stop: the restore then undoes what it wrote.
  const std::atomic<bool>* interrupted = nullptr;
};

struct RestoreReport {
  backup::BackupHeader header;
  std::uint64_t files = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::uint64_t signaturesChecked = 0;
};

Result<RestoreReport> restoreNode(const RestoreOptions& options);

struct RepairOptions {
  std::filesystem::path dataDir;
  std::function<void(const std::string&)> progress;
};

struct RepairReport {
  store::SalvageReport salvage;
  std::filesystem::path damagedKeptAt;  // the damaged store, moved aside as it was
  // This run only finished an earlier repair that was stopped between
  // moving the damaged store aside and putting the new one in its place
  // (`salvage` is then empty: that repair's figures were printed by it).
  bool finishedStopped = false;
};

// `civnetd repair`: for a node whose store is damaged and that has no
// backup. Builds a new store from what can be read of the damaged one
// (store::Store::salvage), then moves the damaged store aside to
// DIR/store.damaged-TIME (kept, never deleted) and puts the new one in its
// place. The search index is removed (it is rebuilt at the next start)
// and publishing is paused as after a restore: entries of the node's own
// feeds may have been lost, and a peer must confirm them before the node
// publishes, or it could fork its own feeds. Refused while a civnetd runs
// on DIR. Until the two final renames, DIR/store is untouched; a repair
// stopped between them (no DIR/store, the new store beside it) is finished
// by the next `civnetd repair`, and `civnetd run` says so.
Result<RepairReport> repairNode(const RepairOptions& options);

// A repair of `dir` stopped between its two final renames: no DIR/store,
// the new store beside it. `civnetd repair` finishes it; `run` refuses.
bool repairStopped(const DataDir& dir);

// Before `run` upgrades an older store in place: keeps the store as it is
// in DIR/store.schemaN-TIME, its table files hard-linked (LevelDB never
// changes a table file once written, so the copy costs little space) and
// the rest copied. Returns that path; on failure removes what it made.
Result<std::filesystem::path> keepStoreBeforeUpgrade(const DataDir& dir, std::uint32_t fromVersion);

}  // namespace civnet::daemon

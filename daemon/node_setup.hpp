// Creating a node and its network: what `civnetd init` and `civnetd genesis`
// do, and loading a node's keys for `civnetd run`.
//
// Both commands leave nothing half-written when they fail: init builds the
// whole data dir under a temporary name next to it and renames it into place
// at the end; genesis removes the key and file it made if a later step fails
// before the node joins the network.
//
// Both make the key files and genesis.bin durable (the files and the
// directories naming them) before the store records the network, so a
// power cut cannot leave a store naming a network whose keys or genesis
// were lost.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "daemon/data_dir.hpp"
#include "schemas/crypto.hpp"
#include "schemas/status.hpp"

namespace civnet::store { class Store; }

namespace civnet::daemon {

// Makes the entries of a directory (files created in it) durable: fsync of
// the directory. An interface so tests can see the calls and make one fail.
class DirSync {
 public:
  virtual ~DirSync() = default;
  virtual Status syncDir(const std::filesystem::path& dir) const = 0;
};
const DirSync& systemDirSync();

struct InitOptions {
  std::filesystem::path dataDir;
  std::optional<std::string> org;              // default: the data dir's name
  std::optional<std::filesystem::path> network;  // a genesis file to join
  const DirSync* dirSync = nullptr;            // nullptr: systemDirSync()
};

struct InitReport {
  std::filesystem::path dataDir;  // absolute
  std::string org;
  PublicKey nodeKey;
  PublicKey feedKey;
  std::optional<Digest> network;
  std::string networkName;
  std::optional<Digest> profileId;  // the first profile entry, when in a network
};

// `civnetd init`. Refuses a data dir that already holds a node (or any
// other non-empty directory), a path so long that its admin socket would
// be over the Unix limit (107 bytes), and a genesis file that is not
// complete.
Result<InitReport> initNode(const InitOptions& options);

struct GenesisOptions {
  std::filesystem::path dataDir;
  std::string name;
  std::filesystem::path out;
  const DirSync* dirSync = nullptr;  // nullptr: systemDirSync()
};

struct GenesisReport {
  Digest network;
  std::string name;
  PublicKey steward;
  std::filesystem::path out;
  Digest profileId;
};

// `civnetd genesis`: a one-steward network (threshold 1) whose steward key
// this node keeps. Refuses a node that already belongs to a network and an
// existing output file.
Result<GenesisReport> makeGenesis(const GenesisOptions& options);

// The keys a running node uses. The steward key is there only on a
// steward's node.
struct NodeKeys {
  PrivateKey node;
  PrivateKey org;
  std::optional<PrivateKey> steward;
};
// Refuses key files readable by others (crypto's message names the file and
// the chmod that fixes it).
Result<NodeKeys> loadNodeKeys(const DataDir& dir);

// Checks that `dir` exists and holds a node (its config file), with a hint
// naming `civnetd init` otherwise.
Status checkIsNode(const DataDir& dir);

// True if the name is acceptable as an organization or network name.
Status validateName(const std::string& name, const std::string& what);

}  // namespace civnet::daemon

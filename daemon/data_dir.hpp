// The layout of a civnetd data directory, in one place.
//
//   DIR/civnetd.toml        the node's configuration (commented defaults)
//   DIR/keys/node.key       the node key (Ed25519, PKCS#8 PEM, mode 0600)
//   DIR/keys/node.crt       the self-signed TLS certificate carrying it
//   DIR/keys/org.key        the feed key of the organization init made
//   DIR/keys/orgs/HEX.key   the feed key of each organization added with
//                           `civnetctl orgs add` (named by the feed key;
//                           its name is in the store's meta table)
//   DIR/keys/steward.key    a steward's feed key (only on a steward's node)
//   DIR/genesis.bin         the genesis of the network the node belongs to
//   DIR/store/              the LevelDB store
//   DIR/admin.sock          the admin API socket, while civnetd runs
//   DIR/restore-incomplete  only while `civnetd restore` writes the dir
//
// civnetctl finds the socket by the same name (tools/ does not include
// daemon/, so it repeats "admin.sock"; keep the two in step).
#pragma once

#include <filesystem>
#include <string>

namespace civnet::daemon {

struct DataDir {
  std::filesystem::path root;

  std::filesystem::path config() const { return root / "civnetd.toml"; }
  std::filesystem::path keysDir() const { return root / "keys"; }
  std::filesystem::path nodeKey() const { return keysDir() / "node.key"; }
  std::filesystem::path nodeCert() const { return keysDir() / "node.crt"; }
  // The member interface's own certificate and key (made by run when absent).
  std::filesystem::path webCert() const { return keysDir() / "web.crt"; }
  std::filesystem::path webKey() const { return keysDir() / "web.key"; }
  std::filesystem::path orgKey() const { return keysDir() / "org.key"; }
  std::filesystem::path hostedOrgsDir() const { return keysDir() / "orgs"; }
  std::filesystem::path stewardKey() const { return keysDir() / "steward.key"; }
  std::filesystem::path genesis() const { return root / "genesis.bin"; }
  std::filesystem::path store() const { return root / "store"; }
  // The new store `civnetd repair` builds, until it is moved to store().
  std::filesystem::path repairedStore() const { return root / "store.repair-new"; }
  // The full-text search index (derived from the store; safe to delete).
  std::filesystem::path search() const { return root / "search"; }
  std::filesystem::path adminSocket() const { return root / "admin.sock"; }
  // Present while `civnetd restore` is writing the dir; `run` refuses it.
  std::filesystem::path restoreMarker() const { return root / "restore-incomplete"; }
};

// Names of the values init and genesis keep in the store's meta table.
inline constexpr const char* kMetaOrgName = "node.org_name";
inline constexpr const char* kMetaNodeKey = "node.node_key";
inline constexpr const char* kMetaFeedKey = "node.feed_key";
inline constexpr const char* kMetaStewardKey = "node.steward_key";
inline constexpr const char* kMetaNetworkName = "node.network_name";
// Set by `civnetd restore`: publishing is paused while it is set and not
// empty (its value says why); see PublishGuard.
inline constexpr const char* kMetaPublishPaused = "node.publish_paused";

}  // namespace civnet::daemon

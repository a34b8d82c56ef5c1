// The peers a node dials: those its civnetd.toml names, and those added
// while it runs (`civnetctl peers add`), which are kept in the store's meta
// table so they survive a restart. Peers from the config file are removed by
// editing it; the others with `civnetctl peers remove`.
//
// Thread-safe.
#pragma once

#include <mutex>
#include <vector>

#include "federation/peer_network.hpp"
#include "schemas/status.hpp"

namespace civnet::store { class Store; }

namespace civnet::daemon {

class PeerBook {
 public:
  // REQUIRES: `store` outlives this object.
  PeerBook(store::Store& store, std::vector<federation::PeerConfig> fromConfig);

  // Reads the peers added earlier. A stored line that does not parse is
  // refused (the meta table is this program's own).
  Status load();

  std::vector<federation::PeerConfig> all() const;
  bool inConfig(const PublicKey& key) const;
  // Was this key added at run time (and kept in the store)?
  bool isAdded(const PublicKey& key) const;
  // The config file's peers after a reload (SIGHUP).
  void setConfigured(std::vector<federation::PeerConfig> fromConfig);
  // Keeps a peer added at run time (synced). alreadyExists if its key is known.
  Status add(const federation::PeerConfig& peer);
  // Forgets a peer added at run time. notFound if unknown; refused (naming
  // the file) for a peer from the config file.
  Status remove(const PublicKey& key);

 private:
  Status saveLocked() const;
  bool inConfigLocked(const PublicKey& key) const;

  store::Store& store_;
  mutable std::mutex mu_;
  std::vector<federation::PeerConfig> config_;  // guarded by mu_
  std::vector<federation::PeerConfig> added_;  // guarded by mu_
};

// The store meta row holding the peers added at run time.
inline constexpr const char* kMetaPeers = "node.peers";

}  // namespace civnet::daemon

// The peers a node dials (see peer_book.hpp). Stored as one meta row, a
// line per peer: "<node key hex> <HOST:PORT>".
#include "peer_book.hpp"

#include <algorithm>
#include <sstream>

#include "store/store.hpp"

namespace civnet::daemon {

PeerBook::PeerBook(store::Store& store, std::vector<federation::PeerConfig> fromConfig)
    : store_(store), config_(std::move(fromConfig)) {}

Status PeerBook::load() {
  auto text = store_.getMeta(kMetaPeers);
  if (!text) return {};
  std::vector<federation::PeerConfig> peers;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto space = line.find(' ');
    auto key = PublicKey::parseHex(line.substr(0, space), "a stored peer's key");
    if (space == std::string::npos || !key.ok())
      return corruption("the store's list of added peers has a bad line: \"" + line.substr(0, 100) + "\"");
    auto address = federation::parsePeerAddress(line.substr(space + 1));
    if (!address.ok()) return corruption("the store's list of added peers: " + address.status().message());
    peers.push_back(federation::PeerConfig{*address, *key});
  }
  std::lock_guard lk(mu_);
  added_ = std::move(peers);
  return {};
}

std::vector<federation::PeerConfig> PeerBook::all() const {
  std::lock_guard lk(mu_);
  std::vector<federation::PeerConfig> out = config_;
  for (const auto& p : added_)
    if (!inConfigLocked(p.key)) out.push_back(p);
  return out;
}

bool PeerBook::inConfigLocked(const PublicKey& key) const {
  return std::any_of(config_.begin(), config_.end(), [&](const auto& p) { return p.key == key; });
}

bool PeerBook::inConfig(const PublicKey& key) const {
  std::lock_guard lk(mu_);
  return inConfigLocked(key);
}

bool PeerBook::isAdded(const PublicKey& key) const {
  std::lock_guard lk(mu_);
  return std::any_of(added_.begin(), added_.end(), [&](const auto& p) { return p.key == key; });
}

void PeerBook::setConfigured(std::vector<federation::PeerConfig> fromConfig) {
  std::lock_guard lk(mu_);
  config_ = std::move(fromConfig);
}

Status PeerBook::saveLocked() const {
  std::string text;
  for (const auto& p : added_) text += p.key.hex() + " " + p.address.text() + "\n";
  return store_.putMeta(kMetaPeers, text);
}

Status PeerBook::add(const federation::PeerConfig& peer) {
  std::lock_guard lk(mu_);
  if (inConfigLocked(peer.key))
    return alreadyExists("peer " + peer.key.shortHex() + " is in civnetd.toml already (a [[peer]] there)");
  if (auto old = std::find_if(added_.begin(), added_.end(), [&](const auto& p) { return p.key == peer.key; });
      old != added_.end())
    return alreadyExists("peer " + peer.key.shortHex() + " was added already, at " + old->address.text() +
                         (old->address == peer.address ? std::string()
                                                       : ": to change its address, civnetctl peers remove " +
                                                             peer.key.shortHex() + " first"));
  added_.push_back(peer);
  if (auto s = saveLocked(); !s.ok()) {
    added_.pop_back();
    return s;
  }
  return {};
}

Status PeerBook::remove(const PublicKey& key) {
  std::lock_guard lk(mu_);
  if (inConfigLocked(key))
    return refused("peer " + key.shortHex() +
                   " is in civnetd.toml: remove its [[peer]] there and reload (systemctl reload civnetd, or "
                   "civnetctl reload)");
  auto it = std::find_if(added_.begin(), added_.end(), [&](const auto& p) { return p.key == key; });
  if (it == added_.end()) return notFound("no peer with node key " + key.hex() + " was added");
  auto kept = *it;
  added_.erase(it);
  if (auto s = saveLocked(); !s.ok()) {
    added_.push_back(kept);
    return s;
  }
  return {};
}

}  // namespace civnet::daemon

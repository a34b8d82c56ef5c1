// Reloading civnetd.toml (see reload.hpp).
#include "daemon/reload.hpp"

#include <map>

#include <spdlog/spdlog.h>

#include "daemon/peer_book.hpp"
#include "federation/peer_network.hpp"

namespace civnet::daemon {

namespace {

// The [[peer]] entries by node key (the config parser checked both fields).
std::map<PublicKey, federation::PeerConfig> peersByKey(const Config& c) {
  std::map<PublicKey, federation::PeerConfig> out;
  for (const auto& p : c.peers)
    out.emplace(*PublicKey::parseHex(p.key, "a peer key"),
                federation::PeerConfig{*federation::parsePeerAddress(p.address), *PublicKey::parseHex(p.key, "a peer key")});
  return out;
}

}  // namespace

Reloader::Reloader(std::filesystem::path file, Config running, ReloadTargets targets)
    : file_(std::move(file)), running_(std::move(running)), targets_(std::move(targets)) {}

Result<std::vector<std::string>> Reloader::reload() {
  std::lock_guard lk(mu_);
  const auto& log = targets_.logs.node;
  auto next = checkConfigFile(file_);
  if (!next.ok()) {
    log->error("reload refused, the configuration in force is kept: {}", next.status().message());
    return next.status();
  }
  std::vector<std::string> changes;
  auto changed = [&](std::string line) {
    log->info("reload: {}", line);
    changes.push_back(std::move(line));
  };
  Config& was = running_;
  const Config& now = *next;

  // Live: the log level (unless --log-level set it), the peers, the limits.
  if (now.logLevel != was.logLevel) {
    if (targets_.logLevelFlag) {
      changed("[log] level is now " + now.logLevel + " in the file, but --log-level " + *targets_.logLevelFlag +
              " given at start stays in force");
    } else {
      setLogLevel(targets_.logs, now.logLevel);
      changed("[log] level " + was.logLevel + " -> " + now.logLevel);
    }
  }
  if (now.maxRequestBytes != was.maxRequestBytes) {
    if (targets_.setMaxRequestBytes) targets_.setMaxRequestBytes(now.maxRequestBytes);
    changed("[admin] max_request_bytes " + std::to_string(was.maxRequestBytes) + " -> " +
            std::to_string(now.maxRequestBytes));
  }
  if (now.maxSizeMib != was.maxSizeMib || now.minFreeDiskMib != was.minFreeDiskMib) {
    if (targets_.setStoreLimits) targets_.setStoreLimits(now.maxSizeMib, now.minFreeDiskMib);
    if (now.maxSizeMib != was.maxSizeMib)
      changed("[store] max_size_mib " + std::to_string(was.maxSizeMib) + " -> " + std::to_string(now.maxSizeMib));
    if (now.minFreeDiskMib != was.minFreeDiskMib)
      changed("[store] min_free_disk_mib " + std::to_string(was.minFreeDiskMib) + " -> " +
              std::to_string(now.minFreeDiskMib));
  }
  if (targets_.peers && targets_.network) {
    const auto before = peersByKey(was), after = peersByKey(now);
    std::vector<federation::PeerConfig> list;
    for (const auto& [key, p] : after) list.push_back(p);
    targets_.peers->setConfigured(list);
    for (const auto& [key, p] : before) {
      auto it = after.find(key);
      if (it != after.end() && it->second.address == p.address) continue;
      // Gone from the file (or moved): drop it, unless civnetctl peers add keeps it.
      if (it == after.end() && targets_.peers->isAdded(key)) {
        changed("peer " + key.shortHex() + " left civnetd.toml but stays: it was also added with civnetctl peers add");
        continue;
      }
      (void)targets_.network->removePeer(key);
      if (it == after.end()) changed("peer " + key.shortHex() + " (" + p.address.text() + ") removed");
    }
    for (const auto& [key, p] : after) {
      auto it = before.find(key);
      if (it != before.end() && it->second.address == p.address) continue;
      auto s = targets_.network->addPeer(p);
      if (!s.ok() && s.code() != StatusCode::alreadyExists) {
        changed("peer " + key.shortHex() + " (" + p.address.text() + ") could not be added: " + s.message());
        continue;
      }
      if (it == before.end())
        changed("peer " + key.shortHex() + " (" + p.address.text() + ") added");
      else
        changed("peer " + key.shortHex() + " moved from " + it->second.address.text() + " to " + p.address.text());
    }
  }

  // At the next restart: everything else.
  auto later = [&](bool differs, const std::string& what) {
    if (differs) changed(what + " changed: it takes effect when civnetd restarts");
  };
  later(now.requestTimeoutSeconds != was.requestTimeoutSeconds, "[admin] request_timeout_seconds");
  later(now.workerThreads != was.workerThreads, "[admin] worker_threads");
  later(now.blockCacheMib != was.blockCacheMib, "[store] block_cache_mib");
  later(now.maxOpenFiles != was.maxOpenFiles, "[store] max_open_files");
  later(now.peerListen != was.peerListen, "[net] listen");
  later(now.pingIntervalSeconds != was.pingIntervalSeconds, "[net] ping_interval_seconds");
  later(now.maxInboundPeers != was.maxInboundPeers, "[net] max_inbound_peers");
  later(now.advertise != was.advertise, "[net] advertise");
  later(now.dialMembers != was.dialMembers, "[net] dial_members");
  later(now.maxOutboundPeers != was.maxOutboundPeers, "[net] max_outbound_peers");
  later(now.httpListen != was.httpListen, "[http] listen");
  later(now.metricsListen != was.metricsListen, "[metrics] listen");
  later(now.httpCertFile != was.httpCertFile || now.httpKeyFile != was.httpKeyFile, "[http] cert_file or key_file");
  later(now.sessionIdleMinutes != was.sessionIdleMinutes || now.sessionMaxHours != was.sessionMaxHours,
        "[http] session_idle_minutes or session_max_hours");

  // What runs is what the file said for the live settings, and what it
  // said at start for the rest (so the next reload names them again).
  was.logLevel = now.logLevel;
  was.maxRequestBytes = now.maxRequestBytes;
  was.maxSizeMib = now.maxSizeMib;
  was.minFreeDiskMib = now.minFreeDiskMib;
  was.peers = now.peers;
  if (changes.empty()) log->info("reload: {} read again; nothing changed", file_.string());
  return changes;
}

}  // namespace civnet::daemon

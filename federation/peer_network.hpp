// The peer network: mutual TLS 1.3 links to other nodes, each running one
// sync session (federation/sync_peer.hpp), and the peer manager that keeps
// them up. docs/protocol.md describes the wire; docs/operations.md peering.
//
// Transport: TLS 1.3 only, no session tickets, no 0-RTT. Each node presents
// its self-signed certificate carrying its node key; certificate dates and
// issuers are ignored, the pin is the key. After the handshake the peer's
// key must be the one configured for that address (when this node dialed),
// and the Hello decides membership (SyncPeer).
//
// Threads: one network thread runs every socket, timer and session; runs
// are ingested on one worker thread, so the network thread never waits for
// the store. The store's tip listener posts news to the network thread.
// Public methods may be called from any thread, but not while stop() runs
// (the admin API that calls them is stopped first).
//
// The peer manager dials each configured peer, and after a link ends redials
// with exponential backoff and jitter. A dead link is noticed by pings. At
// most one link per peer: when two nodes dial each other, the link dialed by
// the lower node key stays, and a node does not dial a peer it already has
// a link with. A peer that sends forged input is dropped and counted; after
// `banAfterForged` such links its address is refused for `banFor`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "federation/sync_peer.hpp"
#include "schemas/crypto.hpp"
#include "schemas/status.hpp"

namespace spdlog { class logger; }

namespace civnet::federation {

// The documented default port for peer links.
inline constexpr std::uint16_t kDefaultPeerPort = 7420;

struct PeerAddress {
  std::string host;  // a name or an IP address (IPv6 without brackets)
  std::uint16_t port = kDefaultPeerPort;
  std::string text() const;  // "host:port", "[::1]:port"
  bool operator==(const PeerAddress&) const = default;
};
// "host:port" or "[v6]:port"; the port is required. invalidArgument naming
// what is wrong otherwise.
Result<PeerAddress> parsePeerAddress(std::string_view text);
// An address to dial: as parsePeerAddress, and port 0 is refused.
Result<PeerAddress> parseDialAddress(std::string_view text);

struct PeerConfig {
  PeerAddress address;
  PublicKey key;  // the node key expected there
};

struct NetworkOptions {
  std::optional<PeerAddress> listen;  // none: dial only
  std::vector<PeerConfig> peers;
  std::chrono::milliseconds pingInterval{10'000};
  std::chrono::milliseconds deadAfter{30'000};
  std::chrono::milliseconds handshakeTimeout{10'000};
  std::chrono::milliseconds backoffMin{500};
  std::chrono::milliseconds backoffMax{60'000};
  std::size_t maxRunBytes = 256 * 1024;  // one Entries message, about
  std::size_t maxQueuedMessages = 1024;  // a peer that reads none of these is dropped
  std::size_t maxInbound = 64;
  // Also dial member nodes at the addresses their organizations' profiles
  // advertise, while fewer than maxOutbound links are dialed by this node.
  bool dialMembers = false;
  std::size_t maxOutbound = 8;
  std::chrono::milliseconds discoverInterval{10'000};
  int banAfterForged = 3;
  std::chrono::seconds banFor{600};
};

struct PeerStatus {
  PublicKey key;
  std::string address;     // configured, or where an inbound link came from
  bool configured = false;  // configured or added by the sysadmin
  bool discovered = false;  // dialed at an address a member profile advertises
  bool outbound = false;   // the live link was dialed by this node
  std::string state;       // connected, connecting, waiting (to redial), idle (linked the other way)
  bool inSync = false;     // connected and nothing left to push either way this node knows of
  std::string software;
  SyncPeer::Counters counters;  // of the live link, or the last one
  std::uint64_t bytesIn = 0;    // message bytes received on the live link, or the last one
  std::uint64_t bytesOut = 0;   // and sent (TLS records and the handshake not counted)
  // The same link's TCP payload as the kernel counts it (federation/
  // tcp_bytes.hpp): TLS and its handshake included. `handshake*` is the part
  // the TLS handshake took; both 0 where the kernel does not count.
  std::uint64_t wireIn = 0, wireOut = 0;
  std::uint64_t handshakeIn = 0, handshakeOut = 0;
  // Sync lag of the live link: entries the peer's frontier listed that this
  // node does not hold yet, and seconds since the link was last in sync
  // (since it was made, if never; 0 while in sync).
  std::uint64_t entriesBehind = 0;
  std::uint64_t secondsBehind = 0;
  std::string lastError;
};

class PeerNetwork {
 public:
  // REQUIRES: what `node` points to outlives this object.
  PeerNetwork(SyncNode node, const PrivateKey& nodeKey, std::string certPem, NetworkOptions options,
              std::shared_ptr<spdlog::logger> log);
  ~PeerNetwork();  // stop()
  PeerNetwork(const PeerNetwork&) = delete;
  PeerNetwork& operator=(const PeerNetwork&) = delete;

  // Binds the listener (refused with the address and the reason if it
  // cannot) and starts the network thread, which dials the configured peers.
  Status start();
  // Says Goodbye to every peer and joins the threads. Idempotent.
  void stop();

  // The port the listener is bound to (the actual one when 0 was asked).
  std::optional<std::uint16_t> listenPort() const;
  std::vector<PeerStatus> peers() const;
  // Dials a new peer now (and after every restart, if the caller keeps it).
  // alreadyExists if that key is configured.
  Status addPeer(const PeerConfig& peer);
  // Forgets a configured peer and closes its link. notFound if unknown.
  Status removePeer(const PublicKey& key);
  // Ends every wait to redial: the peers are dialed now.
  void redialNow();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace civnet::federation

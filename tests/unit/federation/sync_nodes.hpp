// Test nodes for the sync tests: a one-steward network, and nodes each with
// a real store under a real membership tracker, hosting one organization
// whose profile names the node, and collecting the tips their store reports.
#pragma once

#include "tests/support/doctest.hpp"
#include "tests/support/temp_dir.hpp"

#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "federation/membership_tracker.hpp"
#include "federation/sync_peer.hpp"
#include "schemas/content.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"

namespace civnet::test {

// A one-steward network: the steward's key signs admissions.
struct Net {
  PrivateKey steward = PrivateKey::generate();
  record::Genesis genesis;
  Net() {
    genesis.name = "Sync test";
    genesis.stewards.push_back(steward.publicKey());
    genesis.threshold = 1;
    genesis.createdAt = 1'700'000'000'000;
    REQUIRE(genesis.sign(steward).ok());
  }
  Digest id() const { return genesis.networkId(); }
};

// A node: a store policed by a tracker, the organization it hosts (its
// profile names the node), and the tips its store reported.
struct Node {
  civnet::test::TempDir dir;
  PrivateKey nodeKey = PrivateKey::generate();
  PrivateKey org = PrivateKey::generate();
  std::unique_ptr<store::Store> store;
  std::unique_ptr<federation::MembershipTracker> tracker;
  federation::SyncNode sync;
  std::mutex mu;
  std::vector<store::Tip> news;

  Node(const Net& net, const std::string& name) {
    store::Options o;
    o.createIfMissing = true;
    auto s = store::Store::open(dir.path() / "store", o);
    REQUIRE(s.ok());
    store = std::move(s).value();
    REQUIRE(store->setNetwork(net.id()).ok());
    tracker = std::make_unique<federation::MembershipTracker>(net.genesis, *store);
    REQUIRE(tracker->load().ok());
    store->setPolicy(tracker.get());
    store->setTipListener([this](const std::vector<store::Tip>& tips) {
      std::lock_guard lk(mu);
      news.insert(news.end(), tips.begin(), tips.end());
    });
    record::Profile p;
    p.name = name;
    p.nodes.push_back(record::HostingNode{nodeKey.publicKey(), {}});
    REQUIRE(store->publish(org, static_cast<std::uint16_t>(record::Kind::profile), record::encodeProfile(p)).ok());
    sync.store = store.get();
    sync.membership = tracker.get();
    sync.network = net.id();
    sync.nodeKey = nodeKey.publicKey();
    sync.software = "test " + name;
    sync.hostedProfiles = [this] {
      auto e = store->entryAt(org.publicKey(), 1);
      return std::vector<Bytes>{record::encodeFrame(e->signedEntry)};
    };
  }
  ~Node() {
    store->setTipListener({});
    store->setPolicy(nullptr);
  }
  std::vector<store::Tip> takeNews() {
    std::lock_guard lk(mu);
    return std::exchange(news, {});
  }
  record::Entry post(const std::string& title) {
    record::Post p;
    p.title = title;
    auto e = store->publish(org, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
    REQUIRE(e.ok());
    return *e;
  }
  void admit(const Net& net, const PublicKey& feed) {
    record::Admission a;
    a.feed = feed;
    a.name = "Org";
    a.region = "Sahel";
    REQUIRE(store->publish(net.steward, static_cast<std::uint16_t>(record::Kind::admission),
                           record::encodeAdmission(a)).ok());
  }
  // Every (feed, seq, id) held, to compare stores.
  std::vector<std::tuple<PublicKey, std::uint64_t, Digest>> held() const {
    std::vector<std::tuple<PublicKey, std::uint64_t, Digest>> out;
    for (const auto& e : store->scan(std::nullopt, 1'000'000, std::size_t(1) << 40))
      out.emplace_back(e.header.author, e.header.seq, e.id);
    return out;
  }
};

// A post at `seq` of `key`'s feed linked to `prev`, made by hand (so a test
// can fork a feed or break its links), stamped at a fixed time plus seq.
inline record::Entry postAt(const Net& net, const PrivateKey& key, std::uint64_t seq, const Digest& prev,
                            const std::string& title) {
  record::Header h;
  h.network = net.id();
  h.author = key.publicKey();
  h.seq = seq;
  h.prev = prev;
  h.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(seq);
  h.kind = static_cast<std::uint16_t>(record::Kind::post);
  record::Post p;
  p.title = title;
  return record::makeEntry(key, h, record::encodePost(p));
}

// Every entry a node holds of one feed, as a run to ingest elsewhere.
inline std::vector<record::SignedEntry> runOf(const Node& n, const PublicKey& feed) {
  std::vector<record::SignedEntry> run;
  for (const auto& e : n.store->feedRange(feed, 1, 100'000)) run.push_back(e.signedEntry);
  return run;
}

// A one-steward network with two nodes whose organizations the steward
// (on the hub) has admitted.
struct HubAndFresh {
  Net net;
  Node hub{net, "Hub"};
  Node fresh{net, "Fresh"};
  HubAndFresh() {
    hub.admit(net, hub.org.publicKey());
    hub.admit(net, fresh.org.publicKey());
  }
};

}  // namespace civnet::test

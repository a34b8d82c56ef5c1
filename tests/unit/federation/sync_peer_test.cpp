// The sync protocol's logic (federation/sync_peer.hpp) between real stores,
// without sockets: every message goes through its wire encoding, runs are
// ingested by the receiving store under its membership tracker, and the
// stores' tip listeners drive live push, as the transport will.
#include "tests/support/doctest.hpp"
#include "tests/unit/federation/sync_nodes.hpp"

#include <deque>
#include <memory>
#include <mutex>

#include "federation/membership_tracker.hpp"
#include "federation/sync_peer.hpp"
#include "schemas/content.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"

using namespace civnet;
using federation::SyncPeer;
using peerwire::GoodbyeReason;

namespace {

using civnet::test::Net;
using civnet::test::Node;

// One link between two nodes: a SyncPeer on each side and the messages in
// flight. `b` dials `a` (so b trusts a's configured key until it holds the
// stewards' feed).
struct Link {
  Node& a;
  Node& b;
  SyncPeer atA;  // a's session with b
  SyncPeer atB;  // b's session with a
  std::deque<peerwire::Message> toA, toB;
  std::optional<peerwire::Goodbye> closedByA, closedByB;
  int frontiersToA = 0, frontiersToB = 0;  // Frontier messages (parts) delivered

  Link(Node& a_, Node& b_)
      : a(a_), b(b_), atA(a.sync, b.nodeKey.publicKey(), std::nullopt),
        atB(b.sync, a.nodeKey.publicKey(), a.nodeKey.publicKey()) {
    toB.push_back(atA.hello());
    toA.push_back(atB.hello());
  }
  bool closed() const { return closedByA || closedByB; }
};

// Delivers one message, as the transport would: through the wire encoding,
// ingesting a run on the receiving store.
void deliver(SyncPeer& to, Node& node, std::deque<peerwire::Message>& replies, std::optional<peerwire::Goodbye>& closed,
             const peerwire::Message& m) {
  auto decoded = peerwire::decode(peerwire::encode(m));
  REQUIRE(decoded.ok());
  SyncPeer::Step s = to.onMessage(*decoded);
  if (!s.ingest.empty()) {
    store::IngestResult r = node.store->ingest(s.ingest);
    SyncPeer::Step after = to.afterIngest(r, s.ingest);
    for (auto& x : after.send) s.send.push_back(std::move(x));
    if (after.close) s.close = after.close;
  }
  if (s.forkProof) {
    SyncPeer::Step after = to.afterForkProof(node.store->applyForkProof(*s.forkProof));
    if (after.close) s.close = after.close;
  }
  for (auto& x : s.send) replies.push_back(std::move(x));
  if (s.close) {
    replies.push_back(*s.close);
    closed = s.close;
  }
}

// Runs the links until nothing moves: deliveries, live news, pushes.
void pump(std::vector<Link*> links, std::size_t maxRunBytes = 64 * 1024) {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    for (Link* l : links) {
      if (l->closedByA || l->closedByB) {
        // The link is down: what is in flight is lost, save a goodbye.
        l->toA.clear();
        l->toB.clear();
        continue;
      }
      while (!l->toA.empty() && !l->closed()) {
        auto m = std::move(l->toA.front());
        l->toA.pop_front();
        l->frontiersToA += std::holds_alternative<peerwire::Frontier>(m);
        deliver(l->atA, l->a, l->toB, l->closedByA, m);
        moved = true;
      }
      while (!l->toB.empty() && !l->closed()) {
        auto m = std::move(l->toB.front());
        l->toB.pop_front();
        l->frontiersToB += std::holds_alternative<peerwire::Frontier>(m);
        deliver(l->atB, l->b, l->toA, l->closedByB, m);
        moved = true;
      }
    }
    // Live news reaches every session of the node whose store moved.
    std::set<Node*> nodes;
    for (Link* l : links) nodes.insert(&l->a), nodes.insert(&l->b);
    for (Node* n : nodes) {
      auto news = n->takeNews();
      if (news.empty()) continue;
      for (Link* l : links) {
        if (&l->a == n) l->atA.onNews(news);
        if (&l->b == n) l->atB.onNews(news);
      }
    }
    for (Link* l : links) {
      if (l->closed()) continue;
      while (auto e = l->atA.nextPush(maxRunBytes)) l->toB.push_back(std::move(*e)), moved = true;
      while (auto e = l->atB.nextPush(maxRunBytes)) l->toA.push_back(std::move(*e)), moved = true;
    }
    if (!moved) return;
  }
  FAIL("the links did not settle");
}

Digest topOf(Node& n) { return federation::offeredFrontier(*n.store, *n.tracker->view()).top; }

}  // namespace

TEST_SUITE("sync_peer") {
  TEST_CASE("a new node catches up with a hub, stewards' feed first, and both end with the same frontier") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    for (int i = 0; i < 40; ++i) hub.post("report " + std::to_string(i));
    Link link(hub, fresh);
    pump({&link}, 2048);  // small runs: many of them
    CHECK_FALSE(link.closed());
    CHECK(link.atA.established());
    CHECK(link.atB.established());
    CHECK(link.atA.inSync());
    CHECK(link.atB.inSync());
    // The fresh node holds everything the hub offers, and the hub the fresh
    // node's own feed (its profile; the hub admitted it).
    CHECK(fresh.held() == hub.held());
    CHECK(topOf(fresh) == topOf(hub));
    CHECK(fresh.store->tip(hub.org.publicKey())->seq == 41);
    CHECK(link.atA.counters().entriesSent == 41 + 2);  // the org feed and the two admissions
    CHECK(link.atB.counters().entriesReceived == 43);
    CHECK(link.atB.counters().nacksSent == 0);
  }

  TEST_CASE("entries behind counts what the peer's frontier listed that this node does not hold yet") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    for (int i = 0; i < 40; ++i) hub.post("report " + std::to_string(i));
    Link link(hub, fresh);
    // Everything flows but the hub's runs: the fresh node learns the hub's
    // frontier and holds none of what it lists.
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      while (!link.toA.empty() && !link.closed()) {
        auto m = std::move(link.toA.front());
        link.toA.pop_front();
        deliver(link.atA, link.a, link.toB, link.closedByA, m);
        moved = true;
      }
      while (!link.toB.empty() && !link.closed()) {
        auto m = std::move(link.toB.front());
        link.toB.pop_front();
        moved = true;
        if (std::holds_alternative<peerwire::Entries>(m)) continue;  // lost
        deliver(link.atB, link.b, link.toA, link.closedByB, m);
      }
      while (auto e = link.atA.nextPush(64 * 1024)) link.toB.push_back(std::move(*e)), moved = true;
      while (auto e = link.atB.nextPush(64 * 1024)) link.toA.push_back(std::move(*e)), moved = true;
      if (!moved) break;
    }
    REQUIRE_FALSE(link.closed());
    CHECK(link.atB.entriesBehind() >= 41);  // the hub's organization: its profile and 40 posts
    CHECK_FALSE(link.atB.inSync());
    // A new link carries them: nothing is behind on either side.
    Link again(hub, fresh);
    pump({&again});
    CHECK(again.atB.entriesBehind() == 0);
    CHECK(again.atA.entriesBehind() == 0);
    CHECK(again.atB.inSync());
  }

  TEST_CASE("a frontier larger than a part goes in several parts, and the sync is the same") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    // Twelve more admitted organizations on the hub, each with a post.
    for (int i = 0; i < 12; ++i) {
      PrivateKey org = PrivateKey::generate();
      record::Post p;
      p.title = "from org " + std::to_string(i);
      REQUIRE(hub.store->publish(org, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p)).ok());
      hub.admit(f.net, org.publicKey());
    }
    hub.sync.frontierPartTips = 2;
    fresh.sync.frontierPartTips = 2;
    Link link(hub, fresh);
    pump({&link});
    CHECK_FALSE(link.closed());
    CHECK(link.frontiersToB >= 5);  // the hub's 14 or so listed feeds, 2 a part
    CHECK(link.frontiersToA >= 1);
    CHECK(link.atA.inSync());
    CHECK(link.atB.inSync());
    CHECK(fresh.held() == hub.held());
    CHECK(topOf(fresh) == topOf(hub));
  }

  TEST_CASE("a later frontier part that lists buckets is forged") {
    civnet::test::HubAndFresh f;
    f.hub.post("so that the two frontiers differ");
    Link link(f.hub, f.fresh);
    // Deliver the hellos and the buckets by hand, then a forged second part.
    for (int i = 0; i < 2; ++i) {
      while (!link.toA.empty()) {
        auto m = link.toA.front();
        link.toA.pop_front();
        deliver(link.atA, link.a, link.toB, link.closedByA, m);
      }
      while (!link.toB.empty()) {
        auto m = link.toB.front();
        link.toB.pop_front();
        deliver(link.atB, link.b, link.toA, link.closedByB, m);
      }
    }
    REQUIRE_FALSE(link.closed());
    CHECK(link.atA.onMessage(peerwire::Frontier{{1}, {}, true}).close == std::nullopt);
    auto second = link.atA.onMessage(peerwire::Frontier{{2}, {}, false});
    REQUIRE(second.close);
    CHECK(second.close->reason == GoodbyeReason::forged);
    CHECK(second.close->detail == "a later part of a frontier lists buckets");

    // Once in sync, a new link's hellos carry equal digests: no Buckets is
    // sent, so a Frontier is one nobody asked for.
    Link synced(f.hub, f.fresh);
    pump({&synced});
    Link again(f.hub, f.fresh);
    pump({&again});
    CHECK(again.frontiersToA == 0);
    CHECK(again.frontiersToB == 0);
    auto unasked = again.atA.onMessage(peerwire::Frontier{{}, {}, false});
    REQUIRE(unasked.close);
    CHECK(unasked.close->detail == "a frontier this node did not ask for");
  }

  TEST_CASE("entries published while connected are pushed live, once, and never echoed back") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    Link link(hub, fresh);
    pump({&link});
    const auto sentA = link.atA.counters().entriesSent, sentB = link.atB.counters().entriesSent;
    record::Entry onHub = hub.post("live from the hub");
    record::Entry onFresh = fresh.post("live from the fresh node");
    pump({&link});
    CHECK(fresh.store->entryById(onHub.id).ok());
    CHECK(hub.store->entryById(onFresh.id).ok());
    CHECK(link.atA.counters().entriesSent == sentA + 1);
    CHECK(link.atB.counters().entriesSent == sentB + 1);
    CHECK(hub.held() == fresh.held());
  }

  TEST_CASE("a line of four nodes carries entries from one end to the other through relays") {
    Net net;
    Node n1(net, "One"), n2(net, "Two"), n3(net, "Three"), n4(net, "Four");
    for (Node* n : {&n1, &n2, &n3, &n4}) n1.admit(net, n->org.publicKey());
    // Each node joins the line once its neighbour holds the admissions (a
    // node that does not know a peer is a member refuses it; the peer
    // manager redials later).
    Link l12(n1, n2);
    pump({&l12});
    Link l23(n2, n3);
    pump({&l12, &l23});
    Link l34(n3, n4);
    pump({&l12, &l23, &l34});
    record::Entry far = n4.post("from the far end");
    record::Entry near = n1.post("from the near end");
    pump({&l12, &l23, &l34});
    CHECK(n1.store->entryById(far.id).ok());
    CHECK(n4.store->entryById(near.id).ok());
    for (Node* n : {&n2, &n3, &n4}) CHECK(n->held() == n1.held());
    CHECK(topOf(n4) == topOf(n1));
    for (Link* l : {&l12, &l23, &l34}) CHECK_FALSE(l->closed());
  }

  TEST_CASE("a peer whose node key no member feed's profile names is refused with notMember") {
    Net net;
    Node hub(net, "Hub");
    Node stranger(net, "Stranger");  // its organization is never admitted
    hub.admit(net, hub.org.publicKey());
    Link link(hub, stranger);
    pump({&link});
    REQUIRE(link.closedByA);
    CHECK(link.closedByA->reason == GoodbyeReason::notMember);
    CHECK(link.closedByA->detail.find("is not a member node's") != std::string::npos);
    CHECK(stranger.store->counts().entries == 1);  // nothing reached it
  }

  TEST_CASE("nodes that know each other's node keys say hello without profiles; a node asks for them once") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    for (int i = 0; i < 3; ++i) hub.post("report " + std::to_string(i));
    {
      // The first time, the hub does not hold fresh's profile, nor fresh
      // anything: each asks, each answers with its profiles, then they sync.
      Link link(hub, fresh);
      CHECK(std::get<peerwire::Hello>(link.toB.front()).wantProfiles);
      CHECK(std::get<peerwire::Hello>(link.toA.front()).wantProfiles);
      CHECK(std::get<peerwire::Hello>(link.toA.front()).profiles.empty());
      pump({&link});
      REQUIRE_FALSE(link.closed());
      CHECK(link.atA.established());
      CHECK(link.atB.established());
      CHECK(topOf(hub) == topOf(fresh));
    }
    // Now each holds the other's profile, naming its node key: a reconnect
    // asks for nothing and sends nothing but the two Hellos.
    Link again(hub, fresh);
    for (const auto* q : {&again.toA, &again.toB}) {
      const auto& h = std::get<peerwire::Hello>(q->front());
      CHECK_FALSE(h.wantProfiles);
      CHECK(h.profiles.empty());
    }
    std::size_t messages = 0;
    SyncPeer::Step s = again.atA.onMessage(again.toA.front());
    messages += s.send.size();
    CHECK_FALSE(s.close);
    CHECK(again.atA.established());
    s = again.atB.onMessage(again.toB.front());
    messages += s.send.size();
    CHECK(again.atB.established());
    CHECK(messages == 0);  // in sync: no buckets, no profiles
  }

  TEST_CASE("a node that asked for profiles takes nothing else first, and profiles not asked for are forged") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    {
      SyncPeer atHub(hub.sync, fresh.nodeKey.publicKey(), std::nullopt);
      REQUIRE(atHub.hello().wantProfiles);  // the hub does not hold fresh's profile
      SyncPeer atFresh(fresh.sync, hub.nodeKey.publicKey(), std::nullopt);
      // It answers fresh's own wantProfiles, and waits for fresh's: profiles
      // in the Hello itself (version 1's place) are ignored.
      peerwire::Hello withProfiles = atFresh.hello();
      withProfiles.profiles = fresh.sync.hostedProfiles();
      SyncPeer::Step first = atHub.onMessage(withProfiles);
      REQUIRE(first.send.size() == 1);
      CHECK(std::holds_alternative<peerwire::Profiles>(first.send[0]));
      CHECK_FALSE(atHub.established());
      CHECK(atHub.onMessage(peerwire::Ping{7}).send.size() == 1);  // a ping is still answered
      SyncPeer::Step s = atHub.onMessage(peerwire::Buckets{std::vector<Digest>(peerwire::kBuckets)});
      REQUIRE(s.close);
      CHECK(s.close->reason == GoodbyeReason::forged);
      CHECK(s.close->detail == "expected the profiles this node asked for, got buckets");
    }
    {
      // Profiles that do not name the peer's node key: refused as notMember,
      // with the feeds it says it hosts.
      SyncPeer atHub(hub.sync, fresh.nodeKey.publicKey(), std::nullopt);
      atHub.hello();
      SyncPeer atFresh(fresh.sync, hub.nodeKey.publicKey(), std::nullopt);
      atHub.onMessage(atFresh.hello());
      SyncPeer::Step s = atHub.onMessage(peerwire::Profiles{hub.sync.hostedProfiles()});
      REQUIRE(s.close);
      CHECK(s.close->reason == GoodbyeReason::notMember);
      CHECK(s.close->detail.find("it says it hosts feed " + hub.org.publicKey().hex()) != std::string::npos);
    }
    {
      // The hub knows itself: a hello from its own key asks for nothing, and
      // profiles sent anyway are forged.
      SyncPeer atHub(hub.sync, hub.nodeKey.publicKey(), std::nullopt);
      REQUIRE_FALSE(atHub.hello().wantProfiles);
      SyncPeer other(hub.sync, hub.nodeKey.publicKey(), std::nullopt);
      atHub.onMessage(other.hello());
      REQUIRE(atHub.established());
      SyncPeer::Step s = atHub.onMessage(peerwire::Profiles{hub.sync.hostedProfiles()});
      REQUIRE(s.close);
      CHECK(s.close->reason == GoodbyeReason::forged);
      CHECK(s.close->detail == "profiles this node did not ask for");
    }
  }

  TEST_CASE("a peer of another network, or of no common protocol version, is refused") {
    Net net, other;
    Node hub(net, "Hub");
    Node elsewhere(other, "Elsewhere");
    hub.admit(net, hub.org.publicKey());
    SyncPeer atHub(hub.sync, elsewhere.nodeKey.publicKey(), std::nullopt);
    SyncPeer::Step s = atHub.onMessage(SyncPeer(elsewhere.sync, hub.nodeKey.publicKey(), std::nullopt).hello());
    REQUIRE(s.close);
    CHECK(s.close->reason == GoodbyeReason::wrongNetwork);
    CHECK(s.close->detail.find(other.id().hex()) != std::string::npos);

    SyncPeer again(hub.sync, elsewhere.nodeKey.publicKey(), std::nullopt);
    peerwire::Hello future = SyncPeer(hub.sync, hub.nodeKey.publicKey(), std::nullopt).hello();
    future.versionMin = 7;
    future.versionMax = 9;
    SyncPeer::Step v = again.onMessage(future);
    REQUIRE(v.close);
    CHECK(v.close->reason == GoodbyeReason::versionMismatch);
    CHECK(v.close->detail == "this node speaks protocol versions 2..2, the peer 7..9");
    CHECK_FALSE(s.notice);  // an older node is told nothing of upgrades
  }

  TEST_CASE("a peer that also speaks a newer protocol is served, and the sysadmin is told to upgrade") {
    Net net;
    Node hub(net, "Hub");
    hub.admit(net, hub.org.publicKey());
    SyncPeer atHub(hub.sync, hub.nodeKey.publicKey(), std::nullopt);
    peerwire::Hello newer = SyncPeer(hub.sync, hub.nodeKey.publicKey(), std::nullopt).hello();
    newer.versionMax = peerwire::kVersionMax + 1;
    newer.software = "civnetd 0.3.0";
    SyncPeer::Step s = atHub.onMessage(newer);
    CHECK_FALSE(s.close);  // versions still overlap
    REQUIRE(s.notice);
    CHECK(*s.notice == "the peer (civnetd 0.3.0) speaks protocol versions up to 3, this node up to 2: upgrade civnetd");
    SyncPeer same(hub.sync, hub.nodeKey.publicKey(), std::nullopt);
    CHECK_FALSE(same.onMessage(SyncPeer(hub.sync, hub.nodeKey.publicKey(), std::nullopt).hello()).notice);
  }

  TEST_CASE("anything before hello, a second hello and a forged run end the session as forged") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    SyncPeer early(hub.sync, fresh.nodeKey.publicKey(), std::nullopt);
    SyncPeer::Step s = early.onMessage(peerwire::Ping{1});
    REQUIRE(s.close);
    CHECK(s.close->reason == GoodbyeReason::forged);
    CHECK(s.close->detail == "expected hello first, got ping");

    Link link(hub, fresh);
    pump({&link});
    REQUIRE_FALSE(link.closed());
    SyncPeer::Step twice = link.atA.onMessage(link.atB.hello());
    REQUIRE(twice.close);
    CHECK(twice.close->detail == "a second hello");

    // A run whose signature was tampered with: the store refuses it as
    // forged and nothing is stored.
    Link clean(hub, fresh);
    pump({&clean});
    record::Entry e = fresh.post("genuine");
    record::SignedEntry forged = e.signedEntry;
    forged.signature.bytes[0] ^= 1;
    peerwire::Entries run{{record::encodeFrame(forged)}};
    const auto before = hub.store->counts().entries;
    SyncPeer::Step step = clean.atA.onMessage(run);
    REQUIRE(step.ingest.size() == 1);
    SyncPeer::Step after = clean.atA.afterIngest(hub.store->ingest(step.ingest), step.ingest);
    REQUIRE(after.close);
    CHECK(after.close->reason == GoodbyeReason::forged);
    CHECK(hub.store->counts().entries == before);
    CHECK(clean.atA.counters().forged == 1);
  }

  TEST_CASE("a run with a gap gets a nack, one whose links are broken inside ends the session as forged") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    PrivateKey y = PrivateKey::generate();
    hub.admit(f.net, y.publicKey());
    auto entry = [&](std::uint64_t seq, const Digest& prev) {
      return civnet::test::postAt(f.net, y, seq, prev, "entry " + std::to_string(seq));
    };
    record::Entry y1 = entry(1, Digest{}), y2 = entry(2, y1.id), y3 = entry(3, y2.id);
    Link link(hub, fresh);
    pump({&link});
    auto push = [&](std::vector<record::Entry> run) {
      peerwire::Entries m;
      for (const auto& e : run) m.frames.push_back(record::encodeFrame(e.signedEntry));
      SyncPeer::Step s = link.atA.onMessage(m);
      REQUIRE(s.ingest.size() == run.size());
      return link.atA.afterIngest(hub.store->ingest(s.ingest), s.ingest);
    };
    // Seqs 2 and 3 while the hub holds nothing of y: not acceptable here.
    SyncPeer::Step gap = push({y2, y3});
    CHECK_FALSE(gap.close);
    REQUIRE(gap.send.size() == 1);
    REQUIRE(std::holds_alternative<peerwire::Nack>(gap.send[0]));
    CHECK(std::get<peerwire::Nack>(gap.send[0]).verdict == "gap");
    CHECK(std::get<peerwire::Nack>(gap.send[0]).myTip == 0);
    // Seq 2 linked to something else than seq 1 inside one run: forged.
    Digest elsewhere;
    elsewhere.bytes[0] = 7;
    SyncPeer::Step broken = push({y1, entry(2, elsewhere)});
    REQUIRE(broken.close);
    CHECK(broken.close->reason == GoodbyeReason::forged);
    CHECK(broken.close->detail.find("badLink") != std::string::npos);
    CHECK_FALSE(hub.store->tip(y.publicKey()));
    CHECK(link.atA.counters().forged == 1);
  }

  TEST_CASE("1,000 copies of an entry already held change nothing, end no session and are not passed on") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    Node third{f.net, "Third"};
    hub.admit(f.net, third.org.publicKey());
    Link link(hub, fresh), other(hub, third);
    record::Entry e = fresh.post("said once");
    pump({&link, &other});
    REQUIRE(hub.store->entryById(e.id).ok());
    REQUIRE(third.store->entryById(e.id).ok());
    const auto heldBefore = hub.held();
    (void)hub.takeNews();
    const auto sentToThird = other.atA.counters().entriesSent;
    const peerwire::Entries copy{{record::encodeFrame(e.signedEntry)}};
    for (int i = 0; i < 1000; ++i) {
      SyncPeer::Step s = link.atA.onMessage(copy);
      REQUIRE(s.ingest.size() == 1);
      store::IngestResult r = hub.store->ingest(s.ingest);
      CHECK(r.verdict == record::Verdict::duplicate);
      SyncPeer::Step after = link.atA.afterIngest(r, s.ingest);
      CHECK_FALSE(after.close);
      CHECK(after.send.empty());
    }
    CHECK(hub.held() == heldBefore);
    CHECK(hub.takeNews().empty());  // no tip moved: nothing for the other sessions
    pump({&link, &other});
    CHECK_FALSE(link.closed());
    CHECK(link.atA.counters().forged == 0);
    CHECK(other.atA.counters().entriesSent == sentToThird);
  }

  TEST_CASE("content its author retracted, sent again by a peer that still has it, is dropped and the peer kept") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    Link link(hub, fresh);
    record::Entry e = fresh.post("posted by mistake");
    pump({&link});
    REQUIRE(hub.store->entryById(e.id)->signedEntry.content);
    record::Retraction r;
    r.target = record::EntryRef{e.header.author, e.header.seq, e.id};
    r.reason = "by mistake";
    REQUIRE(fresh.store->publish(fresh.org, static_cast<std::uint16_t>(record::Kind::retraction),
                                 record::encodeRetraction(r)).ok());
    pump({&link});
    REQUIRE(hub.store->isErased(e.header.author, e.header.seq));
    // A peer that has not seen the retraction yet offers the entry whole.
    SyncPeer::Step s = link.atA.onMessage(peerwire::Entries{{record::encodeFrame(e.signedEntry)}});
    REQUIRE(s.ingest.size() == 1);
    store::IngestResult result = hub.store->ingest(s.ingest);
    CHECK(result.contentFilled == 0);
    SyncPeer::Step after = link.atA.afterIngest(result, s.ingest);
    CHECK_FALSE(after.close);
    CHECK(hub.store->isErased(e.header.author, e.header.seq));
    auto held = hub.store->entryById(e.id);
    REQUIRE(held.ok());
    CHECK_FALSE(held->signedEntry.content);
    CHECK(link.atA.counters().forged == 0);
  }

  TEST_CASE("a node that has not seen a revocation yet pushes the revoked feed: nacked, not banned, then alike") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    PrivateKey y = PrivateKey::generate();
    hub.admit(f.net, y.publicKey());
    record::Entry y1 = civnet::test::postAt(f.net, y, 1, Digest{}, "before");
    REQUIRE(fresh.store->ingest({y1.signedEntry}).verdict == record::Verdict::notMember);  // not admitted there yet
    {
      Link first(hub, fresh);
      pump({&first});
    }
    REQUIRE(fresh.store->ingest({y1.signedEntry}).stored == 1);
    Link sync1(hub, fresh);
    pump({&sync1});
    REQUIRE(hub.store->tip(y.publicKey())->seq == 1);
    // Apart, the steward (on the hub) revokes y after seq 1, and y writes
    // seq 2 on the fresh node, which does not know of the revocation.
    record::Revocation rev;
    rev.feed = y.publicKey();
    rev.pinSeq = 1;
    rev.pinId = y1.id;
    rev.reason = "spam";
    REQUIRE(hub.store->publish(f.net.steward, static_cast<std::uint16_t>(record::Kind::revocation),
                               record::encodeRevocation(rev)).ok());
    record::Entry y2 = civnet::test::postAt(f.net, y, 2, y1.id, "after");
    REQUIRE(fresh.store->ingest({y2.signedEntry}).stored == 1);
    // Together again: the fresh node's push of seq 2 arrives before it has
    // the revocation.
    Link link(hub, fresh);
    REQUIRE(std::holds_alternative<peerwire::Hello>(link.toA.front()));
    deliver(link.atA, hub, link.toB, link.closedByA, link.toA.front());  // the fresh node's hello
    link.toA.pop_front();
    SyncPeer::Step s = link.atA.onMessage(peerwire::Entries{{record::encodeFrame(y2.signedEntry)}});
    REQUIRE(s.ingest.size() == 1);
    SyncPeer::Step after = link.atA.afterIngest(hub.store->ingest(s.ingest), s.ingest);
    CHECK_FALSE(after.close);
    REQUIRE(after.send.size() == 1);
    REQUIRE(std::holds_alternative<peerwire::Nack>(after.send[0]));
    CHECK(std::get<peerwire::Nack>(after.send[0]).verdict == "revoked");
    for (auto& m : after.send) link.toB.push_back(std::move(m));
    pump({&link});
    CHECK_FALSE(link.closed());
    CHECK(link.atA.counters().forged == 0);
    CHECK(link.atB.counters().forged == 0);
    // Once the revocation reached it, the fresh node holds what the hub does.
    CHECK(hub.store->tip(y.publicKey())->seq == 1);
    CHECK(fresh.store->tip(y.publicKey())->seq == 1);
    CHECK(hub.held() == fresh.held());
  }

  TEST_CASE("a run the receiver does not take gets a nack, and is not pushed again until the view changes") {
    civnet::test::HubAndFresh f;
    Net& net = f.net;
    Node &hub = f.hub, &fresh = f.fresh;
    Link link(hub, fresh);
    pump({&link});
    // A third organization, not admitted, hosted on the fresh node: the hub
    // refuses its entries as not a member's.
    PrivateKey pending = PrivateKey::generate();
    record::Post p;
    p.title = "before admission";
    REQUIRE(fresh.store->publish(pending, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p)).ok());
    pump({&link});
    CHECK_FALSE(hub.store->tip(pending.publicKey()));
    // Not offered at all: a feed that is not a member's is not in the frontier.
    CHECK(link.atB.counters().nacksReceived == 0);

    // Pushed anyway (as a peer whose view differs would): the hub nacks it
    // with its verdict...
    auto first = fresh.store->entryAt(pending.publicKey(), 1);
    REQUIRE(first.ok());
    SyncPeer::Step s = link.atA.onMessage(peerwire::Entries{{record::encodeFrame(first->signedEntry)}});
    REQUIRE(s.ingest.size() == 1);
    SyncPeer::Step after = link.atA.afterIngest(hub.store->ingest(s.ingest), s.ingest);
    REQUIRE(after.send.size() == 1);
    REQUIRE(std::holds_alternative<peerwire::Nack>(after.send[0]));
    const auto& nack = std::get<peerwire::Nack>(after.send[0]);
    CHECK(nack.verdict == "notMember");
    CHECK(nack.myTip == 0);
    CHECK(link.atA.counters().nacksSent == 1);
    CHECK(link.atA.counters().refusedAgain == 0);
    // Sent again after the Nack: refused again, and counted as such.
    SyncPeer::Step again = link.atA.onMessage(peerwire::Entries{{record::encodeFrame(first->signedEntry)}});
    REQUIRE(again.ingest.size() == 1);
    CHECK(link.atA.afterIngest(hub.store->ingest(again.ingest), again.ingest).send.size() == 1);
    CHECK(link.atA.counters().refusedAgain == 1);
    CHECK(link.atA.counters().nacksSent == 2);
    // The fresh node never pushed that feed (it offers no feed that is not
    // a member's), so it takes no notice of the Nack.
    CHECK_FALSE(link.atB.onMessage(nack).close);
    CHECK(link.atB.counters().nacksReceived == 0);
    CHECK_FALSE(link.atB.nextPush(1 << 20));
    // Once the hub's steward admits the feed, the admission reaches the
    // fresh node, which then offers the feed, and the hub takes it.
    hub.admit(net, pending.publicKey());
    pump({&link});
    CHECK(hub.store->tip(pending.publicKey())->seq == 1);
    CHECK(hub.held() == fresh.held());
  }

  TEST_CASE("content a node holds entries without is asked of its peers and filled by those that hold it") {
    civnet::test::HubAndFresh f;
    Net& net = f.net;
    Node &hub = f.hub, &fresh = f.fresh;
    Node far(net, "Far");  // a third organization's node, admitted on the hub
    hub.admit(net, far.org.publicKey());
    for (int i = 0; i < 3; ++i) far.post("far report " + std::to_string(i));
    const PublicKey farFeed = far.org.publicKey();
    using civnet::test::runOf;
    // The hub holds the far feed (profile and 3 posts) without seq 3's
    // content; the fresh node holds the stewards' feed, and the far feed
    // without any content.
    auto onHub = runOf(far, farFeed);
    REQUIRE(onHub.size() == 4);
    onHub[2].content.reset();
    REQUIRE(hub.store->ingest(onHub).verdict == record::Verdict::accepted);
    REQUIRE(fresh.store->ingest(runOf(hub, net.steward.publicKey())).verdict == record::Verdict::accepted);
    auto headersOnly = runOf(far, farFeed);
    for (auto& se : headersOnly) se.content.reset();
    REQUIRE(fresh.store->ingest(headersOnly).contentMissing == 4);

    Link link(hub, fresh);
    pump({&link});
    CHECK_FALSE(link.closed());
    // The hub sent what it holds the content of; seq 3 is still missing.
    CHECK(link.atA.counters().contentSent == 3);
    CHECK(link.atB.counters().contentReceived == 3);
    for (std::uint64_t seq : {1, 2, 4})
      CHECK(fresh.store->entryAt(farFeed, seq)->signedEntry.content == far.store->entryAt(farFeed, seq)->signedEntry.content);
    auto missing = fresh.store->missingContent(std::nullopt, 10);
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].seq == 3);
    CHECK(hub.store->missingContent(std::nullopt, 10).size() == 1);
    CHECK(link.atA.inSync());
    CHECK(link.atB.inSync());

    // The far node holds it (and the stewards' feed, so it offers its own
    // feed): linked with the fresh node, it fills it in.
    REQUIRE(far.store->ingest(runOf(hub, net.steward.publicKey())).verdict == record::Verdict::accepted);
    Link second(fresh, far);
    pump({&link, &second});
    CHECK_FALSE(second.closed());
    CHECK(fresh.store->entryAt(farFeed, 3)->signedEntry.content == far.store->entryAt(farFeed, 3)->signedEntry.content);
    CHECK(fresh.store->missingContent(std::nullopt, 10).empty());
    CHECK(second.atA.counters().contentReceived == 1);
    // ...and the fresh node answers, now, what the hub asked of it before.
    CHECK(hub.store->missingContent(std::nullopt, 10).empty());
    CHECK(hub.store->entryAt(farFeed, 3)->signedEntry.content.has_value());

    // An entry is answered once per link: asking again gets nothing.
    const peerwire::WantContent again{hub.org.publicKey(), {1}};
    CHECK_FALSE(link.atA.onMessage(again).close);
    auto answer = link.atA.nextPush(1 << 20);
    REQUIRE(answer);
    REQUIRE(std::holds_alternative<peerwire::Entries>(*answer));
    CHECK(std::get<peerwire::Entries>(*answer).frames.size() == 1);
    CHECK_FALSE(link.atA.onMessage(again).close);
    CHECK_FALSE(link.atA.nextPush(1 << 20));
  }

  TEST_CASE("a run the peer deferred is offered again when the transport retries, not before") {
    civnet::test::HubAndFresh f;
    Link link(f.hub, f.fresh);
    pump({&link});
    record::Entry later = f.fresh.post("stamped ahead, as the hub's clock saw it");
    link.atB.onNews(f.fresh.takeNews());
    REQUIRE(link.atB.nextPush(1 << 20));  // the fresh node pushes it...
    // ...and the hub answers that it defers it (its clock was behind).
    peerwire::Nack defer{f.fresh.org.publicKey(), later.header.seq, later.header.seq - 1,
                         record::toString(record::Verdict::futureTimestamp), "deferred"};
    CHECK_FALSE(link.atB.onMessage(defer).close);
    CHECK(link.atB.counters().nacksReceived == 1);
    CHECK_FALSE(link.atB.nextPush(1 << 20));
    link.atB.retryDeferred();
    auto again = link.atB.nextPush(1 << 20);
    REQUIRE(again);
    REQUIRE(std::holds_alternative<peerwire::Entries>(*again));
    CHECK(std::get<peerwire::Entries>(*again).frames.size() == 1);
  }

  TEST_CASE("a fork met on one node is proven there, the proof travels, and both end truncated and frozen alike") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    // A third organization whose key signed two different entries at seq 3
    // (a stolen key, or a node restored from an old copy): the hub holds
    // one branch, the fresh node the other.
    PrivateKey x = PrivateKey::generate();
    hub.admit(f.net, x.publicKey());
    auto entry = [&](std::uint64_t seq, const Digest& prev, const std::string& title) {
      return civnet::test::postAt(f.net, x, seq, prev, title);
    };
    record::Entry e1 = entry(1, Digest{}, "one"), e2 = entry(2, e1.id, "two");
    record::Entry a3 = entry(3, e2.id, "three, as the hub has it"), b3 = entry(3, e2.id, "three, the other branch");
    REQUIRE(hub.store->ingest({e1.signedEntry, e2.signedEntry, a3.signedEntry}).stored == 3);
    Link first(hub, fresh);
    pump({&first});  // the fresh node takes the admissions, then x up to a3
    REQUIRE(fresh.store->entryAt(x.publicKey(), 3)->id == a3.id);

    // Another node met the other branch: it holds the stewards' feed (so x
    // is a member there) and x 1, 2 and b3.
    Node late(f.net, "Late");
    hub.admit(f.net, late.org.publicKey());
    const auto stewardFeed = civnet::test::runOf(hub, f.net.steward.publicKey());
    REQUIRE(late.store->ingest(stewardFeed).verdict == record::Verdict::accepted);
    REQUIRE(late.store->ingest({e1.signedEntry, e2.signedEntry, b3.signedEntry}).stored == 3);

    // Linked to the hub: each sees the other's seq 3, the one that receives
    // the other branch proves the fork, and the proof reaches every node.
    Link toLate(hub, late);
    pump({&first, &toLate});
    for (Node* n : {&hub, &fresh, &late}) {
      INFO(n->sync.software);
      auto t = n->store->tip(x.publicKey());
      REQUIRE(t);
      CHECK(t->seq == 2);
      CHECK(t->frozen);
      CHECK(n->store->forkProofs(x.publicKey()).size() == 1);
      CHECK_FALSE(n->store->entryById(a3.id).ok());
      CHECK_FALSE(n->store->entryById(b3.id).ok());
    }
    CHECK(fresh.held() == hub.held());
    CHECK(late.held() == hub.held());
    CHECK(topOf(fresh) == topOf(hub));
    CHECK(topOf(late) == topOf(hub));
    // Frozen: the feed takes nothing at or past the fork, on any node.
    CHECK(fresh.store->ingest({b3.signedEntry}).verdict == record::Verdict::frozen);
  }

  TEST_CASE("two nodes that froze one feed at different forks both end truncated before the lower one") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    PrivateKey x = PrivateKey::generate();
    hub.admit(f.net, x.publicKey());
    auto entry = [&](std::uint64_t seq, const Digest& prev, const std::string& title) {
      return civnet::test::postAt(f.net, x, seq, prev, title);
    };
    std::vector<record::Entry> chain;
    for (std::uint64_t seq = 1; seq <= 6; ++seq)
      chain.push_back(entry(seq, seq == 1 ? Digest{} : chain.back().id, "entry " + std::to_string(seq)));
    std::vector<record::SignedEntry> all;
    for (const auto& e : chain) all.push_back(e.signedEntry);
    // The hub met a fork at seq 5 (frozen at 4), the fresh node one at seq 3
    // (frozen at 2).
    REQUIRE(hub.store->ingest(all).stored == 6);
    REQUIRE(hub.store->ingest({entry(5, chain[3].id, "five, another branch").signedEntry}).verdict ==
            record::Verdict::fork);
    const auto stewardFeed = civnet::test::runOf(hub, f.net.steward.publicKey());
    REQUIRE(fresh.store->ingest(stewardFeed).verdict == record::Verdict::accepted);
    REQUIRE(fresh.store->ingest({all.begin(), all.begin() + 4}).stored == 4);
    REQUIRE(fresh.store->ingest({entry(3, chain[1].id, "three, another branch").signedEntry}).verdict ==
            record::Verdict::fork);
    REQUIRE(hub.store->tip(x.publicKey())->seq == 4);
    REQUIRE(fresh.store->tip(x.publicKey())->seq == 2);

    Link link(hub, fresh);
    pump({&link});
    CHECK_FALSE(link.closed());
    for (Node* n : {&hub, &fresh}) {
      INFO(n->sync.software);
      auto t = n->store->tip(x.publicKey());
      REQUIRE(t);
      CHECK(t->seq == 2);
      CHECK(t->frozen);
    }
    CHECK(fresh.held() == hub.held());
    CHECK(topOf(fresh) == topOf(hub));
    CHECK(link.atA.inSync());
    CHECK(link.atB.inSync());
  }

  TEST_CASE("a fork proof of another network, or one that does not verify, ends the session as forged") {
    civnet::test::HubAndFresh f;
    Link link(f.hub, f.fresh);
    pump({&link});
    SyncPeer::Step s = link.atA.onMessage(peerwire::ForkProof{Bytes(64, 7)});
    REQUIRE(s.forkProof);
    SyncPeer::Step after = link.atA.afterForkProof(f.hub.store->applyForkProof(*s.forkProof));
    REQUIRE(after.close);
    CHECK(after.close->reason == GoodbyeReason::forged);
  }
}

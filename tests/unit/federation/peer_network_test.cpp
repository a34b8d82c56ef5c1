// The peer network over real TLS on 127.0.0.1 (ephemeral ports), between
// real stores in one process: nodes converge, push live, relay along a
// line, redial after a refusal or a dropped link, keep one link per pair,
// and refuse a peer that is not the one configured. Tests wait for a
// condition (with a generous deadline), never for a fixed time.
#include "tests/support/doctest.hpp"
#include "tests/unit/federation/sync_nodes.hpp"

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "federation/peer_network.hpp"
#include "schemas/framing.hpp"

using namespace civnet;
using civnet::test::Net;
using civnet::test::Node;
using federation::PeerAddress;
using federation::PeerConfig;
using federation::PeerNetwork;
using federation::SyncPeer;
using peerwire::GoodbyeReason;

namespace {

// Silent, unless CIVNET_TEST_LOG is set (then every line on stderr).
std::shared_ptr<spdlog::logger> quietLog() {
  if (std::getenv("CIVNET_TEST_LOG")) {
    auto l = std::make_shared<spdlog::logger>("net", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::debug);
    return l;
  }
  return std::make_shared<spdlog::logger>("net", std::make_shared<spdlog::sinks::null_sink_mt>());
}

federation::NetworkOptions fastOptions() {
  federation::NetworkOptions o;
  o.listen = PeerAddress{"127.0.0.1", 0};
  o.backoffMin = std::chrono::milliseconds(20);
  o.backoffMax = std::chrono::milliseconds(200);
  o.maxRunBytes = 4096;  // many small runs
  return o;
}

// A node's peer network, listening on an ephemeral port.
std::unique_ptr<PeerNetwork> network(Node& n, federation::NetworkOptions o = fastOptions(),
                                     std::shared_ptr<spdlog::logger> log = quietLog()) {
  auto cert = makeSelfSignedCertPem(n.nodeKey, "civnet test node");
  REQUIRE(cert.ok());
  auto net = std::make_unique<PeerNetwork>(n.sync, n.nodeKey, *cert, std::move(o), std::move(log));
  Status s = net->start();
  INFO(s.message());
  REQUIRE(s.ok());
  return net;
}

// Pings every 100 ms: a link is dead after 300 ms without a message.
federation::NetworkOptions fastPings() {
  auto o = fastOptions();
  o.pingInterval = std::chrono::milliseconds(100);
  o.deadAfter = std::chrono::milliseconds(300);
  return o;
}

// A logger writing to `out`, for a test to read what the node logged.
std::shared_ptr<spdlog::logger> loggingTo(std::ostringstream& out) {
  return std::make_shared<spdlog::logger>("net", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
}

PeerConfig peerOf(Node& n, PeerNetwork& net) {
  return PeerConfig{PeerAddress{"127.0.0.1", *net.listenPort()}, n.nodeKey.publicKey()};
}

// Waits until `done` holds (checking every 20 ms), at most 30 s.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A hand-driven peer: real TLS with its own certificate, then whatever
// bytes a test wants to send, as a hostile peer could.
class RawPeer {
 public:
  RawPeer(const PrivateKey& key, std::uint16_t port) {
    auto cert = makeSelfSignedCertPem(key, "raw peer");
    REQUIRE(cert.ok());
    std::string pem = key.toPem();
    ctx_.use_certificate_chain(boost::asio::buffer(*cert));
    ctx_.use_private_key(boost::asio::buffer(pem), boost::asio::ssl::context::pem);
    ctx_.set_verify_mode(boost::asio::ssl::verify_none);
    // The stream takes the certificate from the context when it is made.
    stream_.emplace(ioc_, ctx_);
    boost::asio::ip::tcp::resolver r(ioc_);
    boost::asio::connect(stream_->lowest_layer(), r.resolve("127.0.0.1", std::to_string(port)));
    stream_->handshake(boost::asio::ssl::stream_base::client);
  }
  void sendBytes(const Bytes& b) { boost::asio::write(*stream_, boost::asio::buffer(b)); }
  void send(const peerwire::Message& m) { sendBytes(peerwire::encode(m)); }
  // The next message from the node, or nothing once it closed the link.
  std::optional<peerwire::Message> read() {
    boost::system::error_code ec;
    Bytes head(8);
    boost::asio::read(*stream_, boost::asio::buffer(head), ec);
    if (ec) return std::nullopt;
    auto size = record::frameSize(head, peerwire::kMaxMessageBytes);
    REQUIRE(size.ok());
    REQUIRE(*size >= 8);  // the node sends one-segment frames
    Bytes frame = head;
    frame.resize(*size);
    boost::asio::read(*stream_, boost::asio::buffer(frame.data() + 8, *size - 8), ec);
    if (ec) return std::nullopt;
    auto m = peerwire::decode(frame);
    REQUIRE(m.ok());
    return *m;
  }
  // Says hello as `node` would to the node with key `to`, reads its Hello,
  // and sends the profiles it asks for, if it does.
  void greet(const civnet::federation::SyncNode& node, const PublicKey& to) {
    send(SyncPeer(node, to, std::nullopt).hello());
    auto m = read();
    REQUIRE(m);
    auto* h = std::get_if<peerwire::Hello>(&*m);
    REQUIRE(h);
    if (h->wantProfiles) send(peerwire::Profiles{node.hostedProfiles ? node.hostedProfiles() : std::vector<Bytes>{}});
  }
  // Reads until the node's Goodbye (or the end of the link).
  std::optional<peerwire::Goodbye> goodbye() {
    while (auto m = read())
      if (auto* g = std::get_if<peerwire::Goodbye>(&*m)) return *g;
    return std::nullopt;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tlsv13};
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream_;
};

std::size_t connected(const PeerNetwork& net) {
  std::size_t n = 0;
  for (const auto& p : net.peers()) n += p.state == "connected";
  return n;
}

}  // namespace

TEST_SUITE("peer_network") {
  TEST_CASE("a new node catches up with a hub over TLS, then entries flow both ways live") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    for (int i = 0; i < 30; ++i) hub.post("report " + std::to_string(i));
    auto hubNet = network(hub);
    auto o = fastOptions();
    o.peers.push_back(peerOf(hub, *hubNet));
    auto freshNet = network(fresh, o);

    CHECK(eventually([&] { return fresh.held() == hub.held(); }));
    record::Entry a = fresh.post("from the fresh node");
    record::Entry b = hub.post("from the hub");
    CHECK(eventually([&] { return hub.store->entryById(a.id).ok() && fresh.store->entryById(b.id).ok(); }));
    CHECK(eventually([&] {
      auto ps = freshNet->peers();
      return ps.size() == 1 && ps[0].state == "connected" && ps[0].inSync;
    }));
    auto ps = freshNet->peers();
    REQUIRE(ps.size() == 1);
    CHECK(ps[0].key == hub.nodeKey.publicKey());
    CHECK(ps[0].configured);
    CHECK(ps[0].outbound);
    CHECK(ps[0].software == "test Hub");
    // Counted once the network thread has heard back from the store, a moment
    // after the entry is readable.
    CHECK(eventually([&] {
      return freshNet->peers()[0].counters.entriesReceived == 30 + 1 + 2 + 1;  // posts, profile, admissions, live post
    }));
    auto hs = hubNet->peers();
    REQUIRE(hs.size() == 1);
    CHECK_FALSE(hs[0].configured);
    CHECK(hs[0].key == fresh.nodeKey.publicKey());
    CHECK(hub.held() == fresh.held());
  }

  TEST_CASE("a line of four nodes converges through relays, the far nodes redialing until they are known") {
    Net net;
    Node n1(net, "One"), n2(net, "Two"), n3(net, "Three"), n4(net, "Four");
    for (Node* n : {&n1, &n2, &n3, &n4}) n1.admit(net, n->org.publicKey());
    auto net1 = network(n1);
    auto o2 = fastOptions();
    o2.peers.push_back(peerOf(n1, *net1));
    auto net2 = network(n2, o2);
    auto o3 = fastOptions();
    o3.peers.push_back(peerOf(n2, *net2));
    auto net3 = network(n3, o3);
    auto o4 = fastOptions();
    o4.peers.push_back(peerOf(n3, *net3));
    auto net4 = network(n4, o4);
    record::Entry far = n4.post("from the far end");
    record::Entry near = n1.post("from the near end");
    CHECK(eventually([&] { return n1.store->entryById(far.id).ok() && n4.store->entryById(near.id).ok(); }));
    CHECK(eventually([&] { return n2.held() == n1.held() && n3.held() == n1.held() && n4.held() == n1.held(); }));
    CHECK(federation::offeredFrontier(*n4.store, *n4.tracker->view()).top ==
          federation::offeredFrontier(*n1.store, *n1.tracker->view()).top);
  }

  TEST_CASE("a star: three nodes publishing at once through one hub all end with every entry") {
    Net net;
    Node hub(net, "Hub"), a(net, "A"), b(net, "B"), c(net, "C");
    for (Node* n : {&hub, &a, &b, &c}) hub.admit(net, n->org.publicKey());
    auto hubNet = network(hub);
    std::vector<std::unique_ptr<PeerNetwork>> leaves;
    for (Node* n : {&a, &b, &c}) {
      auto o = fastOptions();
      o.peers.push_back(peerOf(hub, *hubNet));
      leaves.push_back(network(*n, o));
    }
    // Each leaf publishes while linked; so does the hub.
    std::vector<std::thread> writers;
    for (Node* n : {&hub, &a, &b, &c})
      writers.emplace_back([n] {
        for (int i = 0; i < 20; ++i) n->post(n->sync.software + " post " + std::to_string(i));
      });
    for (auto& w : writers) w.join();
    CHECK(eventually([&] { return a.held() == hub.held() && b.held() == hub.held() && c.held() == hub.held(); }));
    CHECK(hub.store->counts().entries == 4 + 4 + 4 * 20);  // admissions, profiles, posts
  }

  TEST_CASE("a node dials a member node at the address its profile advertises") {
    Net net;
    Node hub(net, "Hub"), b(net, "B"), c(net, "C");
    for (Node* n : {&hub, &b, &c}) hub.admit(net, n->org.publicKey());
    auto hubNet = network(hub);
    auto ob = fastOptions();
    ob.peers.push_back(peerOf(hub, *hubNet));
    auto netB = network(b, ob);
    // B's organization advertises where B listens.
    record::Profile p;
    p.name = "B";
    p.nodes.push_back(record::HostingNode{b.nodeKey.publicKey(), {"127.0.0.1:" + std::to_string(*netB->listenPort())}});
    REQUIRE(b.store->publish(b.org, static_cast<std::uint16_t>(record::Kind::profile), record::encodeProfile(p)).ok());
    // C knows only the hub, and dials members it learns of.
    auto oc = fastOptions();
    oc.peers.push_back(peerOf(hub, *hubNet));
    oc.dialMembers = true;
    oc.discoverInterval = std::chrono::milliseconds(50);
    auto netC = network(c, oc);
    CHECK(eventually([&] {
      for (const auto& ps : netC->peers())
        if (ps.key == b.nodeKey.publicKey() && ps.discovered && ps.state == "connected") return true;
      return false;
    }));
  }

  TEST_CASE("two nodes that dial each other keep one link") {
    Net net;
    Node a(net, "A"), b(net, "B");
    a.admit(net, a.org.publicKey());
    a.admit(net, b.org.publicKey());
    // b must know the admissions before it can accept a: b dials first.
    auto netA = network(a);
    auto ob = fastOptions();
    ob.peers.push_back(peerOf(a, *netA));
    auto netB = network(b, ob);
    REQUIRE(eventually([&] { return b.held() == a.held(); }));
    REQUIRE(netA->addPeer(peerOf(b, *netB)).ok());
    CHECK(netA->addPeer(peerOf(b, *netB)).code() == StatusCode::alreadyExists);
    record::Entry e = a.post("after both dialed");
    CHECK(eventually([&] { return b.store->entryById(e.id).ok(); }));
    CHECK(eventually([&] { return connected(*netA) == 1 && connected(*netB) == 1; }));
    CHECK(netA->peers().size() == 1);
    CHECK(netB->peers().size() == 1);
  }

  TEST_CASE("a node redials after its peer went away, and catches up on what it missed") {
    civnet::test::HubAndFresh f;
    Node &hub = f.hub, &fresh = f.fresh;
    auto hubNet = network(hub);
    const std::uint16_t port = *hubNet->listenPort();
    auto o = fastOptions();
    o.peers.push_back(peerOf(hub, *hubNet));
    auto freshNet = network(fresh, o);
    REQUIRE(eventually([&] { return fresh.held() == hub.held(); }));

    hubNet->stop();
    hubNet.reset();
    record::Entry missed = hub.post("published while the link was down");
    CHECK(eventually([&] { return connected(*freshNet) == 0; }));
    auto again = fastOptions();
    again.listen = PeerAddress{"127.0.0.1", port};
    hubNet = network(hub, again);
    CHECK(eventually([&] { return fresh.store->entryById(missed.id).ok(); }));
    CHECK(eventually([&] { return fresh.held() == hub.held(); }));
  }

  TEST_CASE("a peer that presents another key than the one configured is refused, naming both") {
    Net net;
    Node hub(net, "Hub"), fresh(net, "Fresh");
    hub.admit(net, hub.org.publicKey());
    auto hubNet = network(hub);
    auto o = fastOptions();
    const PublicKey wrong = PrivateKey::generate().publicKey();
    o.peers.push_back(PeerConfig{PeerAddress{"127.0.0.1", *hubNet->listenPort()}, wrong});
    auto freshNet = network(fresh, o);
    CHECK(eventually([&] {
      auto ps = freshNet->peers();
      return ps.size() == 1 && ps[0].lastError.find("not the configured " + wrong.hex()) != std::string::npos;
    }));
    CHECK(freshNet->peers()[0].lastError.find(hub.nodeKey.publicKey().hex()) != std::string::npos);
    CHECK(fresh.store->counts().entries == 1);  // only its own profile
  }

  TEST_CASE("a peer sending bytes that are not a frame, or a frame over 8 MiB, is dropped as forged") {
    civnet::test::HubAndFresh f;
    auto hubNet = network(f.hub);
    {
      RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
      p.sendBytes(Bytes(64, 0xff));  // a segment table claiming 2^32 segments
      auto g = p.goodbye();
      REQUIRE(g);
      CHECK(g->reason == GoodbyeReason::forged);
      CHECK(g->detail.find("segments") != std::string::npos);
    }
    {
      RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
      // One segment of 2^27 words: a 1 GiB frame, refused from its first 8 bytes.
      p.sendBytes(Bytes{0, 0, 0, 0, 0, 0, 0, 0x08});
      auto g = p.goodbye();
      REQUIRE(g);
      CHECK(g->reason == GoodbyeReason::forged);
      CHECK(g->detail.find("over the limit") != std::string::npos);
    }
    // The node goes on serving honest peers.
    auto o = fastOptions();
    o.peers.push_back(peerOf(f.hub, *hubNet));
    auto freshNet = network(f.fresh, o);
    CHECK(eventually([&] { return f.fresh.held() == f.hub.held(); }));
  }

  TEST_CASE("after hello, a flood of pings is dropped as overloaded and a forged run as forged") {
    civnet::test::HubAndFresh f;
    auto hubNet = network(f.hub);
    const PublicKey hubKey = f.hub.nodeKey.publicKey();
    {
      RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
      p.greet(f.fresh.sync, hubKey);
      // One more than a ping interval allows (sent all at once, so the node
      // has read every one when it decides, and its goodbye is not cut off).
      for (std::uint64_t i = 0; i < 11; ++i) p.send(peerwire::Ping{i});
      auto g = p.goodbye();
      REQUIRE(g);
      CHECK(g->reason == GoodbyeReason::overloaded);
    }
    {
      RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
      p.greet(f.fresh.sync, hubKey);
      record::SignedEntry forged = f.fresh.store->entryAt(f.fresh.org.publicKey(), 1)->signedEntry;
      forged.signature.bytes[5] ^= 0x40;
      p.send(peerwire::Entries{{record::encodeFrame(forged)}});
      auto g = p.goodbye();
      REQUIRE(g);
      CHECK(g->reason == GoodbyeReason::forged);
      CHECK(g->detail.find("badSignature") != std::string::npos);
    }
    CHECK_FALSE(f.hub.store->tip(f.fresh.org.publicKey()));
    CHECK(eventually([&] { return hubNet->peers().empty(); }));  // neither link stays up
  }

  TEST_CASE("a peer that stops reading is dropped; the node does not hold more for it than the socket takes") {
    civnet::test::HubAndFresh f;
    const std::string big(60'000, 'x');
    for (int i = 0; i < 300; ++i) {  // about 18 MB: more than the socket buffers hold
      record::Post p;
      p.title = "big " + std::to_string(i);
      p.body = big;
      REQUIRE(f.hub.store->publish(f.hub.org, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p)).ok());
    }
    std::ostringstream logged;
    auto hubNet = network(f.hub, fastPings(), loggingTo(logged));
    RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
    p.greet(f.fresh.sync, f.hub.nodeKey.publicKey());
    // It answers the hub's Buckets with a frontier holding nothing (so the
    // hub pushes it everything), and then reads nothing, while still pinging
    // as if alive.
    peerwire::Frontier nothing;
    for (std::size_t b = 0; b < peerwire::kBuckets; ++b) nothing.buckets.push_back(static_cast<std::uint8_t>(b));
    p.send(nothing);
    CHECK(eventually([&] {
      try {
        p.send(peerwire::Ping{1});
      } catch (const std::exception&) {
        return true;  // the hub closed the link
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a ping rate an honest peer may use
      return false;
    }));
    CHECK(eventually([&] { return hubNet->peers().empty(); }));
    hubNet->stop();
    CHECK(logged.str().find("dropped: the peer does not read") != std::string::npos);
  }

  TEST_CASE("a link on which nothing arrives for three ping intervals is closed as dead") {
    civnet::test::HubAndFresh f;
    std::ostringstream logged;
    auto hubNet = network(f.hub, fastPings(), loggingTo(logged));
    RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
    p.greet(f.fresh.sync, f.hub.nodeKey.publicKey());
    // It reads what the hub sends (buckets, pings) but never answers.
    std::size_t pings = 0;
    while (auto m = p.read()) pings += std::holds_alternative<peerwire::Ping>(*m);
    CHECK(pings >= 1);
    CHECK(eventually([&] { return hubNet->peers().empty(); }));
    hubNet->stop();
    CHECK(logged.str().find("the link is dead") != std::string::npos);
  }

  TEST_CASE("removing a peer ends a dial still in its TLS handshake") {
    civnet::test::HubAndFresh f;
    auto o = fastOptions();
    o.handshakeTimeout = std::chrono::hours(1);  // only the removal can end it
    auto hubNet = network(f.hub, o);
    // A listener that takes the connection and never answers the TLS hello.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor silent(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const PeerConfig cfg{PeerAddress{"127.0.0.1", silent.local_endpoint().port()}, f.fresh.nodeKey.publicKey()};
    REQUIRE(hubNet->addPeer(cfg).ok());
    boost::asio::ip::tcp::socket sock(ioc);
    silent.accept(sock);
    std::array<char, 512> buf{};
    REQUIRE(sock.read_some(boost::asio::buffer(buf)) > 0);  // the ClientHello: the hub is in its handshake
    REQUIRE(hubNet->removePeer(cfg.key).ok());
    // The hub closes the connection: recv() sees its end (0), not the
    // receive timeout that bounds the wait (-1).
    timeval tv{30, 0};
    REQUIRE(::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    ssize_t n = 1;
    while (n > 0) n = ::recv(sock.native_handle(), buf.data(), buf.size(), 0);
    CHECK(n == 0);
    CHECK(hubNet->peers().empty());
  }

  TEST_CASE("an address that sends forged input again and again is refused for a while") {
    civnet::test::HubAndFresh f;
    auto o = fastOptions();
    o.banAfterForged = 2;
    auto hubNet = network(f.hub, o);
    for (int i = 0; i < 2; ++i) {
      RawPeer p(f.fresh.nodeKey, *hubNet->listenPort());
      p.sendBytes(Bytes(64, 0xff));
      REQUIRE(p.goodbye());
    }
    // Banned: the connection is closed at once, before any TLS.
    CHECK_THROWS(RawPeer(f.fresh.nodeKey, *hubNet->listenPort()));
  }

  TEST_CASE("an address that is not HOST:PORT is refused, naming what is wrong") {
    CHECK(federation::parsePeerAddress("10.0.0.1:7420")->text() == "10.0.0.1:7420");
    CHECK(federation::parsePeerAddress("[::1]:7420")->text() == "[::1]:7420");
    CHECK(federation::parsePeerAddress("hub.example.org:1")->host == "hub.example.org");
    CHECK(federation::parsePeerAddress("10.0.0.1").status().message().find("no port") != std::string::npos);
    CHECK(federation::parsePeerAddress("::1:7420").status().message().find("in brackets") != std::string::npos);
    CHECK(federation::parsePeerAddress("h:70000").status().message().find("0 to 65535") != std::string::npos);
    CHECK(federation::parsePeerAddress(":1").status().message().find("no host") != std::string::npos);
  }

  TEST_CASE("a port already in use is refused with the address and the reason") {
    Net net;
    Node a(net, "A"), b(net, "B");
    auto netA = network(a);
    auto o = fastOptions();
    o.listen = PeerAddress{"127.0.0.1", *netA->listenPort()};
    auto cert = makeSelfSignedCertPem(b.nodeKey, "b");
    PeerNetwork second(b.sync, b.nodeKey, *cert, o, quietLog());
    Status s = second.start();
    CHECK_FALSE(s.ok());
    CHECK(s.message().find("cannot listen for peers on 127.0.0.1:" + std::to_string(*netA->listenPort())) !=
          std::string::npos);
  }
}

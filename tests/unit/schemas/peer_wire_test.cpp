// Tests of the peer protocol's messages (schemas/peer_wire.hpp): every kind
// round-trips, and what a hostile peer could send is refused with a message
// naming the fault (never an exception, never a huge allocation).
#include "tests/support/doctest.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "schemas/peer_wire.hpp"
#include "schemas/wire.capnp.h"

using namespace civnet;
using namespace civnet::peerwire;

namespace {

Digest digestOf(const char* s) { return sha256(asBytes(s)); }

template <typename T>
T roundTrip(const Message& m) {
  Bytes frame = encode(m);
  auto back = decode(frame);
  INFO(back.status().message());
  REQUIRE(back.ok());
  REQUIRE(std::holds_alternative<T>(*back));
  return std::get<T>(*back);
}

// A raw PeerMessage built by hand, as a hostile peer could.
template <typename F>
Bytes raw(F fill) {
  capnp::MallocMessageBuilder mb;
  fill(mb.initRoot<wire::PeerMessage>());
  auto words = capnp::messageToFlatArray(mb);
  auto b = words.asBytes();
  return Bytes(b.begin(), b.end());
}

bool mentions(const Status& s, const std::string& part) { return s.message().find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("peer_wire") {
  TEST_CASE("every message kind survives encoding and decoding") {
    const PublicKey feed = PrivateKey::generate().publicKey();
    Hello h;
    h.network = digestOf("net");
    h.software = "civnetd 0.1.0";
    h.topDigest = digestOf("top");
    h.profiles = {Bytes{1, 2, 3}};
    Hello h2 = roundTrip<Hello>(h);
    CHECK(h2.versionMin == kVersionMin);
    CHECK(h2.versionMax == kVersionMax);
    CHECK(h2.network == h.network);
    CHECK(h2.software == "civnetd 0.1.0");
    CHECK(h2.topDigest == h.topDigest);
    CHECK(h2.profiles == h.profiles);
    CHECK_FALSE(h2.wantProfiles);
    h.wantProfiles = true;
    CHECK(roundTrip<Hello>(h).wantProfiles);

    Buckets b;
    for (std::size_t i = 0; i < kBuckets; ++i) b.hashes.push_back(digestOf(std::to_string(i).c_str()));
    CHECK(roundTrip<Buckets>(b).hashes == b.hashes);

    Frontier f{{3, 63}, {FeedTip{feed, 7, digestOf("id"), true}}};
    Frontier f2 = roundTrip<Frontier>(f);
    CHECK(f2.buckets == f.buckets);
    CHECK(f2.tips == f.tips);

    CHECK(roundTrip<Entries>(Entries{{Bytes(16, 9), Bytes(24, 8)}}).frames == std::vector<Bytes>{Bytes(16, 9), Bytes(24, 8)});
    Nack n2 = roundTrip<Nack>(Nack{feed, 4, 3, "notMember", "feed is not a member"});
    CHECK(n2.feed == feed);
    CHECK(n2.seq == 4);
    CHECK(n2.myTip == 3);
    CHECK(n2.verdict == "notMember");
    CHECK(roundTrip<WantContent>(WantContent{feed, {2, 5}}).seqs == std::vector<std::uint64_t>{2, 5});
    // The largest lists a message may hold decode (each list is read once,
    // within the traversal limit the frame's size sets).
    WantContent most{feed, {}};
    for (std::uint64_t i = 1; i <= peerwire::kMaxWantSeqs; ++i) most.seqs.push_back(i);
    CHECK(roundTrip<WantContent>(most).seqs == most.seqs);
    Hello full;
    full.network = digestOf("net");
    for (int i = 0; i < 256; ++i) full.profiles.push_back(Bytes(8, static_cast<std::uint8_t>(i)));
    CHECK(roundTrip<Hello>(full).profiles == full.profiles);
    CHECK(roundTrip<Profiles>(Profiles{full.profiles}).entries == full.profiles);
    full.profiles.push_back(Bytes(8, 0));
    auto tooMany = decode(encode(Profiles{full.profiles}));
    REQUIRE_FALSE(tooMany.ok());
    CHECK(tooMany.status().message() == "peer message: profiles holds more than 256 entries");
    Frontier wide{{1}, {}, true};
    for (std::size_t i = 0; i < peerwire::kMaxFrontierPartTips; ++i) wide.tips.push_back(FeedTip{feed, i, digestOf("id"), false});
    Frontier wide2 = roundTrip<Frontier>(wide);
    CHECK(wide2.tips.size() == wide.tips.size());
    CHECK(wide2.more);
    CHECK(roundTrip<ForkProof>(ForkProof{Bytes(8, 1)}).proof == Bytes(8, 1));
    CHECK(roundTrip<Ping>(Ping{42}).nonce == 42);
    CHECK(roundTrip<Pong>(Pong{43}).nonce == 43);
    Goodbye g = roundTrip<Goodbye>(Goodbye{GoodbyeReason::wrongNetwork, "network abc"});
    CHECK(g.reason == GoodbyeReason::wrongNetwork);
    CHECK(g.detail == "network abc");
    CHECK(std::string(messageName(Message{Ping{}})) == "ping");
    CHECK(std::string(messageName(Message{Profiles{}})) == "profiles");
  }

  TEST_CASE("a frame that is not a message is refused, naming why") {
    auto notWords = decode(Bytes(13, 0));
    REQUIRE_FALSE(notWords.ok());
    CHECK(mentions(notWords.status(), "not a whole number of words"));
    auto garbage = decode(Bytes(64, 0xff));
    REQUIRE_FALSE(garbage.ok());
    CHECK(mentions(garbage.status(), "does not decode"));
    Bytes good = encode(Ping{1});
    good.insert(good.end(), 8, 0);
    auto trailing = decode(good);
    REQUIRE_FALSE(trailing.ok());
    CHECK(mentions(trailing.status(), "trailing bytes"));
    auto huge = decode(Bytes(kMaxMessageBytes + 8, 0));
    REQUIRE_FALSE(huge.ok());
    CHECK(mentions(huge.status(), "limit"));
  }

  TEST_CASE("fields of the wrong size or count are refused") {
    auto shortNet = decode(raw([](wire::PeerMessage::Builder m) {
      auto h = m.initHello();
      h.setNetwork(capnp::Data::Reader(reinterpret_cast<const std::uint8_t*>("abc"), 3));
    }));
    REQUIRE_FALSE(shortNet.ok());
    CHECK(mentions(shortNet.status(), "hello.network must be 32 bytes, got 3"));
    auto fewBuckets = decode(raw([](wire::PeerMessage::Builder m) { m.initBuckets().initHashes(3); }));
    REQUIRE_FALSE(fewBuckets.ok());
    CHECK(mentions(fewBuckets.status(), "buckets must hold 64 hashes, got 3"));
    auto badBucket = decode(raw([](wire::PeerMessage::Builder m) { m.initFrontier().initBuckets(1).set(0, 64); }));
    REQUIRE_FALSE(badBucket.ok());
    CHECK(mentions(badBucket.status(), "frontier names bucket 64"));
    auto manyWants = decode(raw([](wire::PeerMessage::Builder m) {
      auto w = m.initWantContent();
      std::uint8_t key[32] = {};
      w.setFeed(capnp::Data::Reader(key, 32));
      w.initSeqs(5000);
    }));
    REQUIRE_FALSE(manyWants.ok());
    CHECK(mentions(manyWants.status(), "more than 4096"));
  }

  TEST_CASE("feeds fall into 64 buckets by the top bits of their key") {
    PublicKey k;
    k.bytes[0] = 0x00;
    CHECK(bucketOf(k) == 0);
    k.bytes[0] = 0xff;
    CHECK(bucketOf(k) == 63);
    k.bytes[0] = 0x84;
    CHECK(bucketOf(k) == 33);
  }
}

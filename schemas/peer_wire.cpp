// Encoding and decoding the peer protocol's messages (see peer_wire.hpp).
#include "peer_wire.hpp"

#include <cstring>
#include <iterator>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "detail/capnp_errors.hpp"
#include "wire.capnp.h"

namespace civnet::peerwire {
namespace {

constexpr std::size_t kMaxTextBytes = 1000;
constexpr std::size_t kMaxProfiles = 256;

capnp::Data::Reader dataOf(ByteView b) { return capnp::Data::Reader(b.data(), b.size()); }
template <std::size_t N, typename Tag>
capnp::Data::Reader dataOf(const FixedBytes<N, Tag>& b) {
  return capnp::Data::Reader(b.bytes.data(), N);
}

// Thrown inside decode() for a field of the wrong size; caught at its end.
struct Bad {
  std::string what;
};
// A message kind added after this version.
struct Unknown {
  unsigned which;
};

template <typename T>
T fixed(capnp::Data::Reader in, const char* what) {
  T out;
  if (!T::fromView(ByteView(in.begin(), in.size()), out))
    throw Bad{std::string(what) + " must be " + std::to_string(sizeof(out.bytes)) + " bytes, got " +
              std::to_string(in.size())};
  return out;
}
Bytes bytes(capnp::Data::Reader in) { return Bytes(in.begin(), in.end()); }
std::string text(capnp::Text::Reader in, const char* what) {
  if (in.size() > kMaxTextBytes) throw Bad{std::string(what) + " is longer than " + std::to_string(kMaxTextBytes) + " bytes"};
  return std::string(in.cStr(), in.size());
}

wire::Goodbye::Reason toWire(GoodbyeReason r) {
  switch (r) {
    case GoodbyeReason::normal: return wire::Goodbye::Reason::NORMAL;
    case GoodbyeReason::versionMismatch: return wire::Goodbye::Reason::VERSION_MISMATCH;
    case GoodbyeReason::wrongNetwork: return wire::Goodbye::Reason::WRONG_NETWORK;
    case GoodbyeReason::notMember: return wire::Goodbye::Reason::NOT_MEMBER;
    case GoodbyeReason::forged: return wire::Goodbye::Reason::FORGED;
    case GoodbyeReason::unknownMessage: return wire::Goodbye::Reason::UNKNOWN_MESSAGE;
    case GoodbyeReason::timeout: return wire::Goodbye::Reason::TIMEOUT;
    case GoodbyeReason::overloaded: return wire::Goodbye::Reason::OVERLOADED;
  }
  return wire::Goodbye::Reason::NORMAL;
}

GoodbyeReason fromWire(wire::Goodbye::Reason r) {
  switch (r) {
    case wire::Goodbye::Reason::NORMAL: return GoodbyeReason::normal;
    case wire::Goodbye::Reason::VERSION_MISMATCH: return GoodbyeReason::versionMismatch;
    case wire::Goodbye::Reason::WRONG_NETWORK: return GoodbyeReason::wrongNetwork;
    case wire::Goodbye::Reason::NOT_MEMBER: return GoodbyeReason::notMember;
    case wire::Goodbye::Reason::FORGED: return GoodbyeReason::forged;
    case wire::Goodbye::Reason::UNKNOWN_MESSAGE: return GoodbyeReason::unknownMessage;
    case wire::Goodbye::Reason::TIMEOUT: return GoodbyeReason::timeout;
    case wire::Goodbye::Reason::OVERLOADED: return GoodbyeReason::overloaded;
  }
  return GoodbyeReason::normal;  // a reason added later reads as a normal goodbye
}

struct Encoder {
  wire::PeerMessage::Builder b;

  void operator()(const Hello& h) {
    auto o = b.initHello();
    o.setVersionMin(h.versionMin);
    o.setVersionMax(h.versionMax);
    o.setNetwork(dataOf(h.network));
    o.setSoftware(h.software);
    o.setTopDigest(dataOf(h.topDigest));
    auto p = o.initProfiles(static_cast<unsigned>(h.profiles.size()));
    for (unsigned i = 0; i < h.profiles.size(); ++i) p.set(i, dataOf(h.profiles[i]));
    o.setWantProfiles(h.wantProfiles);
  }
  void operator()(const Profiles& x) {
    auto l = b.initProfiles(static_cast<unsigned>(x.entries.size()));
    for (unsigned i = 0; i < x.entries.size(); ++i) l.set(i, dataOf(x.entries[i]));
  }
  void operator()(const Buckets& x) {
    auto l = b.initBuckets().initHashes(static_cast<unsigned>(x.hashes.size()));
    for (unsigned i = 0; i < x.hashes.size(); ++i) l.set(i, dataOf(x.hashes[i]));
  }
  void operator()(const Frontier& x) {
    auto o = b.initFrontier();
    auto bl = o.initBuckets(static_cast<unsigned>(x.buckets.size()));
    for (unsigned i = 0; i < x.buckets.size(); ++i) bl.set(i, x.buckets[i]);
    auto tl = o.initTips(static_cast<unsigned>(x.tips.size()));
    for (unsigned i = 0; i < x.tips.size(); ++i) {
      tl[i].setFeed(dataOf(x.tips[i].feed));
      tl[i].setSeq(x.tips[i].seq);
      tl[i].setId(dataOf(x.tips[i].id));
      tl[i].setFrozen(x.tips[i].frozen);
    }
    o.setMore(x.more);
  }
  void operator()(const Entries& x) {
    auto l = b.initEntries().initEntries(static_cast<unsigned>(x.frames.size()));
    for (unsigned i = 0; i < x.frames.size(); ++i) l.set(i, dataOf(x.frames[i]));
  }
  void operator()(const Nack& x) {
    auto o = b.initNack();
    o.setFeed(dataOf(x.feed));
    o.setSeq(x.seq);
    o.setMyTip(x.myTip);
    o.setVerdict(x.verdict);
    o.setDetail(x.detail.substr(0, kMaxTextBytes));
  }
  void operator()(const WantContent& x) {
    auto o = b.initWantContent();
    o.setFeed(dataOf(x.feed));
    auto l = o.initSeqs(static_cast<unsigned>(x.seqs.size()));
    for (unsigned i = 0; i < x.seqs.size(); ++i) l.set(i, x.seqs[i]);
  }
  void operator()(const ForkProof& x) { b.setForkProof(dataOf(x.proof)); }
  void operator()(const Ping& x) { b.setPing(x.nonce); }
  void operator()(const Pong& x) { b.setPong(x.nonce); }
  void operator()(const Goodbye& x) {
    auto o = b.initGoodbye();
    o.setReason(toWire(x.reason));
    o.setDetail(x.detail.substr(0, kMaxTextBytes));
  }
};

Message read(wire::PeerMessage::Reader r) {
  switch (r.which()) {
    case wire::PeerMessage::HELLO: {
      auto o = r.getHello();
      Hello h;
      h.versionMin = o.getVersionMin();
      h.versionMax = o.getVersionMax();
      h.network = fixed<Digest>(o.getNetwork(), "hello.network");
      h.software = text(o.getSoftware(), "hello.software");
      h.topDigest = fixed<Digest>(o.getTopDigest(), "hello.topDigest");
      // Each get of a list counts against the traversal limit (about the
      // frame's size): every list is read once.
      auto profiles = o.getProfiles();
      if (profiles.size() > kMaxProfiles)
        throw Bad{"hello carries more than " + std::to_string(kMaxProfiles) + " profiles"};
      for (auto p : profiles) h.profiles.push_back(bytes(p));
      h.wantProfiles = o.getWantProfiles();
      return h;
    }
    case wire::PeerMessage::PROFILES: {
      auto l = r.getProfiles();
      if (l.size() > kMaxProfiles)
        throw Bad{"profiles holds more than " + std::to_string(kMaxProfiles) + " entries"};
      Profiles x;
      for (auto p : l) x.entries.push_back(bytes(p));
      return x;
    }
    case wire::PeerMessage::BUCKETS: {
      Buckets x;
      auto l = r.getBuckets().getHashes();
      if (l.size() != kBuckets) throw Bad{"buckets must hold " + std::to_string(kBuckets) + " hashes, got " + std::to_string(l.size())};
      for (auto h : l) x.hashes.push_back(fixed<Digest>(h, "a bucket hash"));
      return x;
    }
    case wire::PeerMessage::FRONTIER: {
      Frontier x;
      auto o = r.getFrontier();
      for (auto bkt : o.getBuckets()) {
        if (bkt >= kBuckets) throw Bad{"frontier names bucket " + std::to_string(bkt)};
        x.buckets.push_back(bkt);
      }
      for (auto t : o.getTips())
        x.tips.push_back(FeedTip{fixed<PublicKey>(t.getFeed(), "frontier feed"), t.getSeq(),
                                 fixed<Digest>(t.getId(), "frontier id"), t.getFrozen()});
      x.more = o.getMore();
      return x;
    }
    case wire::PeerMessage::ENTRIES: {
      Entries x;
      for (auto f : r.getEntries().getEntries()) x.frames.push_back(bytes(f));
      return x;
    }
    case wire::PeerMessage::NACK: {
      auto o = r.getNack();
      return Nack{fixed<PublicKey>(o.getFeed(), "nack feed"), o.getSeq(), o.getMyTip(),
                  text(o.getVerdict(), "nack verdict"), text(o.getDetail(), "nack detail")};
    }
    case wire::PeerMessage::WANT_CONTENT: {
      auto o = r.getWantContent();
      WantContent x;
      x.feed = fixed<PublicKey>(o.getFeed(), "wantContent feed");
      auto seqs = o.getSeqs();
      if (seqs.size() > kMaxWantSeqs)
        throw Bad{"wantContent asks for more than " + std::to_string(kMaxWantSeqs) + " entries"};
      for (auto s : seqs) x.seqs.push_back(s);
      return x;
    }
    case wire::PeerMessage::FORK_PROOF: return ForkProof{bytes(r.getForkProof())};
    case wire::PeerMessage::PING: return Ping{r.getPing()};
    case wire::PeerMessage::PONG: return Pong{r.getPong()};
    case wire::PeerMessage::GOODBYE: {
      auto o = r.getGoodbye();
      return Goodbye{fromWire(o.getReason()), text(o.getDetail(), "goodbye detail")};
    }
  }
  throw Unknown{static_cast<unsigned>(r.which())};
}

}  // namespace

const char* toString(GoodbyeReason r) {
  switch (r) {
    case GoodbyeReason::normal: return "normal";
    case GoodbyeReason::versionMismatch: return "versionMismatch";
    case GoodbyeReason::wrongNetwork: return "wrongNetwork";
    case GoodbyeReason::notMember: return "notMember";
    case GoodbyeReason::forged: return "forged";
    case GoodbyeReason::unknownMessage: return "unknownMessage";
    case GoodbyeReason::timeout: return "timeout";
    case GoodbyeReason::overloaded: return "overloaded";
  }
  return "?";
}

const char* messageName(const Message& m) {
  static constexpr const char* names[] = {"hello", "buckets", "frontier", "entries", "nack",
                                          "wantContent", "forkProof", "ping", "pong", "goodbye", "profiles"};
  static_assert(std::size(names) == std::variant_size_v<Message>);
  return names[m.index()];
}

Bytes encode(const Message& m) {
  capnp::MallocMessageBuilder mb;
  std::visit(Encoder{mb.initRoot<wire::PeerMessage>()}, m);
  auto words = capnp::messageToFlatArray(mb);
  auto b = words.asBytes();
  return Bytes(b.begin(), b.end());
}

Result<Message> decode(ByteView frame) {
  if (frame.size() > kMaxMessageBytes)
    return invalidArgument("peer message is " + std::to_string(frame.size()) + " bytes, limit " +
                           std::to_string(kMaxMessageBytes));
  if (frame.size() % 8 != 0) return invalidArgument("peer message is not a whole number of words");
  try {
    auto words = kj::heapArray<capnp::word>(frame.size() / 8);
    if (!frame.empty()) std::memcpy(words.begin(), frame.data(), frame.size());
    capnp::ReaderOptions o;
    o.traversalLimitInWords = frame.size() / 8 + 64;
    o.nestingLimit = record::kNestingLimit;
    capnp::FlatArrayMessageReader reader(words, o);
    if (reader.getEnd() != words.end()) return invalidArgument("peer message has trailing bytes");
    return read(reader.getRoot<wire::PeerMessage>());
  } catch (const Bad& b) {
    return invalidArgument("peer message: " + b.what);
  } catch (const Unknown& u) {
    return Status(StatusCode::unsupported, "peer message of a kind this version does not know (" +
                                               std::to_string(u.which) + ")");
  } catch (const kj::Exception& e) {
    return invalidArgument("peer message does not decode: " + record::detail::decodeError(e));
  }
}

}  // namespace civnet::peerwire

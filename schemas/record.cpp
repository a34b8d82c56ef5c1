// Implementation of the record rules (see record.hpp).
#include "record.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "detail/capnp_errors.hpp"
#include "entry.capnp.h"

namespace civnet::record {
namespace {

constexpr std::string_view kEntryTag = "civnet/entry/v1";

Check fail(Verdict v, std::string detail, std::size_t index = 0) {
  return Check{v, index, std::move(detail)};
}

capnp::ReaderOptions readerOptions(std::size_t bytes) {
  capnp::ReaderOptions o;
  // Room for the message itself plus a little; a message that points into
  // itself to look bigger hits this limit.
  o.traversalLimitInWords = bytes / 8 + 64;
  o.nestingLimit = kNestingLimit;
  return o;
}

// Copies bytes into word-aligned storage, as capnp readers require.
kj::Array<capnp::word> alignedCopy(ByteView bytes) {
  auto words = kj::heapArray<capnp::word>((bytes.size() + 7) / 8);
  if (!bytes.empty()) std::memcpy(words.begin(), bytes.data(), bytes.size());
  return words;
}

template <typename T>
bool copyFixed(capnp::Data::Reader in, T& out) {
  return T::fromView(ByteView(in.begin(), in.size()), out);
}

Bytes toBytes(kj::ArrayPtr<const capnp::word> words) {
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

capnp::Data::Reader dataOf(ByteView b) { return capnp::Data::Reader(b.data(), b.size()); }

void fillSignedEntry(wire::SignedEntry::Builder b, const SignedEntry& se, bool withContent) {
  b.setHeader(dataOf(se.header));
  b.setSignature(dataOf(se.signature.view()));
  if (withContent && se.content) b.setContent(dataOf(*se.content));
}

Check readSignedEntry(wire::SignedEntry::Reader r, SignedEntry& out) {
  // Each get*() of a Data field counts its bytes against the traversal
  // limit again, so every field is read once.
  auto h = r.getHeader();
  if (h.size() > kMaxHeaderBytes)
    return fail(Verdict::tooLarge, "header is " + std::to_string(h.size()) + " bytes, limit " +
                                       std::to_string(kMaxHeaderBytes));
  auto sig = r.getSignature();
  if (!copyFixed(sig, out.signature))
    return fail(Verdict::malformed, "signature must be 64 bytes, got " +
                                        std::to_string(sig.size()));
  out.header.assign(h.begin(), h.end());
  if (r.hasContent()) {
    auto c = r.getContent();
    if (c.size() > kMaxContentBytes)
      return fail(Verdict::tooLarge, "content is " + std::to_string(c.size()) +
                                         " bytes, limit " + std::to_string(kMaxContentBytes));
    out.content = Bytes(c.begin(), c.end());
  } else {
    out.content.reset();
  }
  return {};
}

}  // namespace

std::string kindName(std::uint16_t kind) {
  switch (static_cast<Kind>(kind)) {
    case Kind::unknown: return "unknown";
    case Kind::post: return "post";
    case Kind::retraction: return "retraction";
    case Kind::profile: return "profile";
    case Kind::admission: return "admission";
    case Kind::revocation: return "revocation";
    case Kind::lift: return "lift";
    case Kind::takedown: return "takedown";
    case Kind::stewardSet: return "stewardSet";
    case Kind::sealed: return "sealed";
  }
  return "kind-" + std::to_string(kind);
}

bool kindFromName(std::string_view name, Kind& out) {
  for (std::uint16_t k = 1; k <= static_cast<std::uint16_t>(Kind::sealed); ++k) {
    if (kindName(k) == name) {
      out = static_cast<Kind>(k);
      return true;
    }
  }
  return false;
}

const char* toString(Verdict v) {
  switch (v) {
    case Verdict::accepted: return "accepted";
    case Verdict::duplicate: return "duplicate";
    case Verdict::futureTimestamp: return "futureTimestamp";
    case Verdict::storeFailed: return "storeFailed";
    case Verdict::noNetwork: return "noNetwork";
    case Verdict::wrongNetwork: return "wrongNetwork";
    case Verdict::gap: return "gap";
    case Verdict::prevMismatch: return "prevMismatch";
    case Verdict::timestampBackwards: return "timestampBackwards";
    case Verdict::fork: return "fork";
    case Verdict::frozen: return "frozen";
    case Verdict::notMember: return "notMember";
    case Verdict::suspended: return "suspended";
    case Verdict::revoked: return "revoked";
    case Verdict::malformed: return "malformed";
    case Verdict::notCanonical: return "notCanonical";
    case Verdict::tooLarge: return "tooLarge";
    case Verdict::badLink: return "badLink";
    case Verdict::badContentHash: return "badContentHash";
    case Verdict::badSignature: return "badSignature";
  }
  return "unknownVerdict";
}

std::string Check::describe() const {
  std::string s = toString(verdict);
  if (!detail.empty()) s += ": " + detail;
  return s;
}

Bytes encodeHeader(const Header& h) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::EntryHeader>();
  b.setNetwork(dataOf(h.network.view()));
  b.setAuthor(dataOf(h.author.view()));
  b.setSeq(h.seq);
  if (h.seq > 1) b.setPrev(dataOf(h.prev.view()));
  b.setTimestamp(h.timestamp);
  b.setKind(static_cast<wire::Kind>(h.kind));
  b.setContentHash(dataOf(h.contentHash.view()));
  b.setContentSize(h.contentSize);
  return toBytes(capnp::canonicalize(b.asReader()));
}

Check decodeHeader(ByteView bytes, Header& out) {
  if (bytes.size() > kMaxHeaderBytes)
    return fail(Verdict::tooLarge, "header is " + std::to_string(bytes.size()) +
                                       " bytes, limit " + std::to_string(kMaxHeaderBytes));
  if (bytes.empty() || bytes.size() % 8 != 0)
    return fail(Verdict::notCanonical, "header is " + std::to_string(bytes.size()) +
                                           " bytes, not a whole number of words");
  try {
    auto words = alignedCopy(bytes);
    kj::ArrayPtr<const capnp::word> seg = words.asPtr();
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&seg, 1), readerOptions(bytes.size()));
    if (!reader.isCanonical()) return fail(Verdict::notCanonical, "header bytes are not canonical");
    auto r = reader.getRoot<wire::EntryHeader>();
    Header h;
    if (!copyFixed(r.getNetwork(), h.network))
      return fail(Verdict::malformed, "network id must be 32 bytes");
    if (!copyFixed(r.getAuthor(), h.author))
      return fail(Verdict::malformed, "author must be a 32-byte key");
    h.seq = r.getSeq();
    if (h.seq == 0) return fail(Verdict::malformed, "seq must start at 1");
    if (h.seq == 1) {
      if (r.hasPrev()) return fail(Verdict::malformed, "seq 1 must have no prev");
    } else if (!copyFixed(r.getPrev(), h.prev)) {
      return fail(Verdict::malformed, "prev must be 32 bytes");
    }
    h.timestamp = r.getTimestamp();
    h.kind = static_cast<std::uint16_t>(r.getKind());
    if (!copyFixed(r.getContentHash(), h.contentHash))
      return fail(Verdict::malformed, "content hash must be 32 bytes");
    h.contentSize = r.getContentSize();
    if (h.contentSize > kMaxContentBytes)
      return fail(Verdict::tooLarge, "content size " + std::to_string(h.contentSize) +
                                         " is over the limit " + std::to_string(kMaxContentBytes));
    out = h;
    return {};
  } catch (const kj::Exception& e) {
    return fail(Verdict::malformed, std::string("header does not decode: ") +
                                        detail::decodeError(e));
  }
}

Bytes signingMessage(ByteView headerBytes) {
  // Sized once and filled with memcpy: g++ 12 warns falsely about
  // reserve() followed by insert() (-Wstringop-overflow).
  Bytes m(kEntryTag.size() + 1 + headerBytes.size());
  std::memcpy(m.data(), kEntryTag.data(), kEntryTag.size());
  m[kEntryTag.size()] = 0;
  if (!headerBytes.empty())
    std::memcpy(m.data() + kEntryTag.size() + 1, headerBytes.data(), headerBytes.size());
  return m;
}

Digest entryId(ByteView headerBytes, const Signature& sig) {
  Sha256 h;
  h.update(headerBytes);
  h.update(sig.view());
  return h.finish();
}

Entry makeEntry(const PrivateKey& key, Header h, Bytes content) {
  h.author = key.publicKey();
  h.contentHash = sha256(content);
  h.contentSize = static_cast<std::uint32_t>(content.size());
  Entry e;
  e.header = h;
  e.signedEntry.header = encodeHeader(h);
  e.signedEntry.signature = key.sign(signingMessage(e.signedEntry.header));
  e.signedEntry.content = std::move(content);
  e.id = entryId(e.signedEntry.header, e.signedEntry.signature);
  return e;
}

Check parseEntry(SignedEntry se, Entry& out) {
  Header h;
  if (Check c = decodeHeader(se.header, h); !c.ok()) return c;
  if (se.content) {
    if (se.content->size() != h.contentSize)
      return fail(Verdict::badContentHash, "content is " + std::to_string(se.content->size()) +
                                               " bytes, header says " +
                                               std::to_string(h.contentSize));
    if (sha256(*se.content) != h.contentHash)
      return fail(Verdict::badContentHash, "content does not match the header's hash");
  }
  out.header = h;
  out.id = entryId(se.header, se.signature);
  out.signedEntry = std::move(se);
  return {};
}

bool verifySignature(const Entry& e) {
  return civnet::verifySignature(e.header.author, signingMessage(e.signedEntry.header),
                                 e.signedEntry.signature);
}

Check verifyRun(std::span<const SignedEntry> run, const Digest& network, std::vector<Entry>& out) {
  return verifyRun(std::vector<SignedEntry>(run.begin(), run.end()), network, out);
}

Check verifyRun(std::vector<SignedEntry>&& run, const Digest& network, std::vector<Entry>& out) {
  out.clear();
  out.reserve(run.size());
  for (std::size_t i = 0; i < run.size(); ++i) {
    Entry e;
    Check c = parseEntry(std::move(run[i]), e);
    if (!c.ok()) {
      c.index = i;
      c.detail += " (entry " + std::to_string(i) + ")";
      return c;
    }
    const Header& h = e.header;
    auto at = [&](std::string what) {
      return what + " (entry " + std::to_string(i) + ", seq " + std::to_string(h.seq) + ")";
    };
    if (h.network != network)
      return fail(Verdict::wrongNetwork, at("entry belongs to network " + h.network.shortHex() + ", this node's is " + network.shortHex()), i);
    if (i > 0) {
      const Header& p = out.back().header;
      if (h.author != p.author)
        return fail(Verdict::badLink, at("a run holds one feed, but the author changes"), i);
      if (h.seq != p.seq + 1)
        return fail(Verdict::badLink, at("seq does not follow " + std::to_string(p.seq)), i);
      if (h.prev != out.back().id)
        return fail(Verdict::badLink, at("prev is not the id of the entry before it"), i);
      if (h.timestamp < p.timestamp)
        return fail(Verdict::timestampBackwards, at("timestamp goes backwards"), i);
    }
    out.push_back(std::move(e));
  }
  if (!out.empty() && !verifySignature(out.back()))
    return fail(Verdict::badSignature,
                "signature of the run's last entry does not verify (entry " +
                    std::to_string(out.size() - 1) + ", seq " +
                    std::to_string(out.back().header.seq) + ")",
                out.size() - 1);
  return {};
}

Bytes encodeFrame(const SignedEntry& se) {
  capnp::MallocMessageBuilder mb;
  fillSignedEntry(mb.initRoot<wire::SignedEntry>(), se, true);
  return toBytes(capnp::messageToFlatArray(mb));
}

Check decodeFrame(ByteView frame, SignedEntry& out) {
  if (frame.size() > kMaxFrameBytes)
    return fail(Verdict::tooLarge, "frame is " + std::to_string(frame.size()) + " bytes, limit " +
                                       std::to_string(kMaxFrameBytes));
  if (frame.size() % 8 != 0)
    return fail(Verdict::malformed, "frame is not a whole number of words");
  try {
    auto words = alignedCopy(frame);
    capnp::FlatArrayMessageReader reader(words, readerOptions(frame.size()));
    if (reader.getEnd() != words.end())
      return fail(Verdict::malformed, "frame has trailing bytes");
    return readSignedEntry(reader.getRoot<wire::SignedEntry>(), out);
  } catch (const kj::Exception& e) {
    return fail(Verdict::malformed,
                std::string("frame does not decode: ") + detail::decodeError(e));
  }
}

Bytes encodeForkProof(const SignedEntry& a, const SignedEntry& b) {
  capnp::MallocMessageBuilder mb;
  auto p = mb.initRoot<wire::ForkProof>();
  fillSignedEntry(p.initA(), a, false);
  fillSignedEntry(p.initB(), b, false);
  return toBytes(capnp::messageToFlatArray(mb));
}

Check verifyForkProof(ByteView proof, PublicKey& author, std::uint64_t& seq, Digest* network) {
  try {
    if (proof.size() % 8 != 0 || proof.size() > 4 * kMaxHeaderBytes)
      return fail(Verdict::malformed, "fork proof has the wrong size");
    auto words = alignedCopy(proof);
    capnp::FlatArrayMessageReader reader(words, readerOptions(proof.size()));
    auto p = reader.getRoot<wire::ForkProof>();
    SignedEntry sa, sb;
    if (Check c = readSignedEntry(p.getA(), sa); !c.ok()) return c;
    if (Check c = readSignedEntry(p.getB(), sb); !c.ok()) return c;
    sa.content.reset();
    sb.content.reset();
    Entry a, b;
    if (Check c = parseEntry(sa, a); !c.ok()) return c;
    if (Check c = parseEntry(sb, b); !c.ok()) return c;
    // The same key in two networks signs two feeds: no fork.
    if (a.header.author != b.header.author || a.header.seq != b.header.seq ||
        a.header.network != b.header.network)
      return fail(Verdict::malformed, "fork proof names two different feed positions");
    if (a.id == b.id) return fail(Verdict::malformed, "fork proof holds one entry twice");
    if (!verifySignature(a) || !verifySignature(b))
      return fail(Verdict::badSignature, "a fork proof's header signature does not verify");
    author = a.header.author;
    seq = a.header.seq;
    if (network) *network = a.header.network;
    return {};
  } catch (const kj::Exception& e) {
    return fail(Verdict::malformed,
                std::string("fork proof does not decode: ") + detail::decodeError(e));
  }
}

}  // namespace civnet::record

// Unit tests of the record rules (schemas/record.hpp): canonical header
// bytes, entry ids and signatures, one entry's checks, the chain rule over a
// run, and fork proofs.
#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "schemas/entry.capnp.h"
#include "schemas/record.hpp"
#include "schemas_test_util.hpp"

namespace civnet::record {
namespace {

using test::codeOf;
using test::verdictOf;
using test::contentFor;
using test::keyFromByte;
using test::makeFeed;
using test::networkNamed;
using test::nextEntry;
using test::signedEntries;

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

Header sampleHeader(const PrivateKey& key, std::uint64_t seq = 2) {
  Header h;
  h.network = networkNamed("test network");
  h.author = key.publicKey();
  h.seq = seq;
  if (seq > 1) h.prev = sha256(asBytes("the entry before"));
  h.timestamp = 1'700'000'000'123;
  h.kind = static_cast<std::uint16_t>(Kind::post);
  h.contentHash = sha256(asBytes("content"));
  h.contentSize = 7;
  return h;
}

// An EntryHeader with any field values, including wrong ones; nullopt
// leaves a Data field unset (null).
struct RawHeader {
  std::optional<Bytes> network, author, prev, contentHash;
  std::uint64_t seq = 1;
  std::int64_t timestamp = 0;
  std::uint16_t kind = 1;
  std::uint32_t contentSize = 0;
};

RawHeader rawOf(const Header& h) {
  RawHeader r;
  r.network = Bytes(h.network.bytes.begin(), h.network.bytes.end());
  r.author = Bytes(h.author.bytes.begin(), h.author.bytes.end());
  if (h.seq > 1) r.prev = Bytes(h.prev.bytes.begin(), h.prev.bytes.end());
  r.contentHash = Bytes(h.contentHash.bytes.begin(), h.contentHash.bytes.end());
  r.seq = h.seq;
  r.timestamp = h.timestamp;
  r.kind = h.kind;
  r.contentSize = h.contentSize;
  return r;
}

capnp::Data::Reader dataOf(const Bytes& b) { return capnp::Data::Reader(b.data(), b.size()); }

// Fills the builder; `reversed` sets the Data fields last-to-first, so the
// builder lays them out in an order canonical form does not use.
void fillRaw(wire::EntryHeader::Builder b, const RawHeader& r, bool reversed) {
  auto setData = [&] {
    if (!reversed) {
      if (r.network) b.setNetwork(dataOf(*r.network));
      if (r.author) b.setAuthor(dataOf(*r.author));
      if (r.prev) b.setPrev(dataOf(*r.prev));
      if (r.contentHash) b.setContentHash(dataOf(*r.contentHash));
    } else {
      if (r.contentHash) b.setContentHash(dataOf(*r.contentHash));
      if (r.prev) b.setPrev(dataOf(*r.prev));
      if (r.author) b.setAuthor(dataOf(*r.author));
      if (r.network) b.setNetwork(dataOf(*r.network));
    }
  };
  setData();
  b.setSeq(r.seq);
  b.setTimestamp(r.timestamp);
  b.setKind(static_cast<wire::Kind>(r.kind));
  b.setContentSize(r.contentSize);
}

Bytes canonicalRaw(const RawHeader& r) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::EntryHeader>();
  fillRaw(b, r, false);
  auto words = capnp::canonicalize(b.asReader());
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// The builder's own layout of a one-segment message, without the segment
// table: the same fields as the canonical bytes, but not in canonical form.
Bytes builderSegment(const RawHeader& r, bool reversed) {
  capnp::MallocMessageBuilder mb;
  fillRaw(mb.initRoot<wire::EntryHeader>(), r, reversed);
  auto segments = mb.getSegmentsForOutput();
  REQUIRE(segments.size() == 1);
  auto bytes = segments[0].asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

Bytes builderFlatArray(const RawHeader& r) {
  capnp::MallocMessageBuilder mb;
  fillRaw(mb.initRoot<wire::EntryHeader>(), r, false);
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

void checkHeadersEqual(const Header& a, const Header& b) {
  CHECK(a.network == b.network);
  CHECK(a.author == b.author);
  CHECK(a.seq == b.seq);
  CHECK(a.prev == b.prev);
  CHECK(a.timestamp == b.timestamp);
  CHECK(a.kind == b.kind);
  CHECK(a.contentHash == b.contentHash);
  CHECK(a.contentSize == b.contentSize);
}

TEST_SUITE("record") {

// --- kinds and verdicts ---------------------------------------------------

TEST_CASE("kind names and numbers round trip, and an unknown kind gets a numbered name") {
  for (std::uint16_t k = 1; k <= static_cast<std::uint16_t>(Kind::sealed); ++k) {
    Kind back{};
    CAPTURE(k);
    REQUIRE(kindFromName(kindName(k), back));
    CHECK(static_cast<std::uint16_t>(back) == k);
  }
  CHECK(kindName(1) == "post");
  CHECK(kindName(8) == "stewardSet");
  CHECK(kindName(17) == "kind-17");
  Kind out{};
  CHECK_FALSE(kindFromName("kind-17", out));
  CHECK_FALSE(kindFromName("Post", out));
}

TEST_CASE("every verdict has its own name, and forged verdicts are exactly those from malformed on") {
  std::set<std::string> names;
  for (int v = 0; v <= static_cast<int>(Verdict::badSignature); ++v) {
    std::string n = toString(static_cast<Verdict>(v));
    CHECK(n != "unknownVerdict");
    names.insert(n);
  }
  CHECK(names.size() == static_cast<std::size_t>(Verdict::badSignature) + 1);
  CHECK_FALSE(isForged(Verdict::accepted));
  CHECK_FALSE(isForged(Verdict::futureTimestamp));
  CHECK_FALSE(isForged(Verdict::prevMismatch));
  CHECK_FALSE(isForged(Verdict::frozen));
  CHECK(isForged(Verdict::malformed));
  CHECK(isForged(Verdict::notCanonical));
  CHECK(isForged(Verdict::badLink));
  CHECK(isForged(Verdict::badSignature));
  CHECK(isStoredOrHeld(Verdict::duplicate));
  CHECK_FALSE(isStoredOrHeld(Verdict::futureTimestamp));
}

TEST_CASE("describe starts with the verdict's name and carries the detail") {
  Check c{Verdict::badLink, 3, "prev is wrong"};
  CHECK(c.describe().rfind("badLink", 0) == 0);
  CHECK(contains(c.describe(), "prev is wrong"));
  CHECK(Check{}.ok());
  CHECK(Check{}.describe() == "accepted");
}

// --- canonical header bytes -------------------------------------------------

TEST_CASE("encodeHeader is deterministic and decodes back to the same header") {
  auto key = keyFromByte(1);
  Header h = sampleHeader(key);
  Bytes a = encodeHeader(h);
  Bytes b = encodeHeader(h);
  CHECK(a == b);
  CHECK(a.size() % 8 == 0);
  CHECK(a.size() <= kMaxHeaderBytes);
  Header back;
  Check c = decodeHeader(a, back);
  REQUIRE_MESSAGE(c.ok(), c.describe());
  checkHeadersEqual(back, h);
}

TEST_CASE("encodeHeader gives exactly capnp::canonicalize's bytes of the same fields") {
  auto key = keyFromByte(1);
  Header h = sampleHeader(key);
  CHECK(encodeHeader(h) == canonicalRaw(rawOf(h)));
  Header first = sampleHeader(key, 1);
  CHECK(encodeHeader(first) == canonicalRaw(rawOf(first)));
}

TEST_CASE("headers that differ in any one field encode to different bytes") {
  auto key = keyFromByte(1);
  Header h = sampleHeader(key);
  Bytes base = encodeHeader(h);
  auto differs = [&](auto edit) {
    Header x = h;
    edit(x);
    return encodeHeader(x) != base;
  };
  CHECK(differs([](Header& x) { x.network.bytes[0] ^= 1; }));
  CHECK(differs([](Header& x) { x.author.bytes[31] ^= 1; }));
  CHECK(differs([](Header& x) { x.seq += 1; }));
  CHECK(differs([](Header& x) { x.prev.bytes[5] ^= 1; }));
  CHECK(differs([](Header& x) { x.timestamp += 1; }));
  CHECK(differs([](Header& x) { x.kind = 3; }));
  CHECK(differs([](Header& x) { x.contentHash.bytes[0] ^= 1; }));
  CHECK(differs([](Header& x) { x.contentSize += 1; }));
}

TEST_CASE("a seq 1 header has no prev on the wire and decodes with a zero prev") {
  auto key = keyFromByte(1);
  Header h = sampleHeader(key, 1);
  h.prev.bytes[0] = 0xaa;  // ignored for seq 1
  Header back;
  REQUIRE(decodeHeader(encodeHeader(h), back).ok());
  CHECK(back.prev.isZero());
  CHECK(back.seq == 1);
}

TEST_CASE("an unknown kind survives encode and decode unchanged") {
  auto key = keyFromByte(1);
  Header h = sampleHeader(key);
  h.kind = 17;
  Header back;
  REQUIRE(decodeHeader(encodeHeader(h), back).ok());
  CHECK(back.kind == 17);
}

TEST_CASE("decodeHeader refuses header bytes over 1 KiB as tooLarge") {
  auto key = keyFromByte(1);
  RawHeader r = rawOf(sampleHeader(key));
  r.network = Bytes(1100, 0x42);  // canonical, but far too big
  Bytes big = canonicalRaw(r);
  REQUIRE(big.size() > kMaxHeaderBytes);
  Header out;
  Check c = decodeHeader(big, out);
  CHECK(verdictOf(c) == "tooLarge");
  CHECK(contains(c.detail, std::to_string(big.size())));
  CHECK(contains(c.detail, "1024"));

  Bytes padded = encodeHeader(sampleHeader(key));
  padded.resize(kMaxHeaderBytes + 8, 0);
  CHECK(verdictOf(decodeHeader(padded, out)) == "tooLarge");
}

TEST_CASE("decodeHeader refuses a header laid out by a builder, not canonically") {
  auto key = keyFromByte(1);
  Header h = sampleHeader(key);
  Bytes builder = builderSegment(rawOf(h), /*reversed=*/true);
  REQUIRE(builder != encodeHeader(h));
  Header out;
  Check c = decodeHeader(builder, out);
  CHECK(verdictOf(c) == "notCanonical");
}

TEST_CASE("decodeHeader refuses canonical bytes with a padding word appended") {
  auto key = keyFromByte(1);
  Bytes bytes = encodeHeader(sampleHeader(key));
  bytes.resize(bytes.size() + 8, 0);
  Header out;
  CHECK(verdictOf(decodeHeader(bytes, out)) == "notCanonical");
}

TEST_CASE("decodeHeader refuses header bytes that still carry a segment table") {
  auto key = keyFromByte(1);
  Bytes flat = builderFlatArray(rawOf(sampleHeader(key)));
  Header out;
  Check c = decodeHeader(flat, out);
  CHECK_FALSE(c.ok());
  CHECK(isForged(c.verdict));
}

TEST_CASE("decodeHeader refuses bytes that are not a whole number of words, or none") {
  auto key = keyFromByte(1);
  Bytes bytes = encodeHeader(sampleHeader(key));
  Header out;
  bytes.push_back(0);
  CHECK(verdictOf(decodeHeader(bytes, out)) == "notCanonical");
  bytes.resize(bytes.size() - 2);
  CHECK(verdictOf(decodeHeader(bytes, out)) == "notCanonical");
  CHECK(verdictOf(decodeHeader(Bytes{}, out)) == "notCanonical");
}

TEST_CASE("decodeHeader refuses garbage words without throwing") {
  Header out;
  for (std::uint8_t fill : {0x00, 0x01, 0x7f, 0xff}) {
    CAPTURE(int(fill));
    Bytes junk(64, fill);
    CHECK_FALSE(decodeHeader(junk, out).ok());
  }
}

TEST_CASE("decodeHeader refuses fields of the wrong width as malformed") {
  auto key = keyFromByte(1);
  const RawHeader good = rawOf(sampleHeader(key));
  Header out;
  struct Case {
    const char* what;
    RawHeader raw;
    const char* detail;
  };
  auto with = [&](auto edit) {
    RawHeader r = good;
    edit(r);
    return r;
  };
  Case cases[] = {
      {"author of 31 bytes", with([](RawHeader& r) { r.author = Bytes(31, 1); }), "author"},
      {"author of 33 bytes", with([](RawHeader& r) { r.author = Bytes(33, 1); }), "author"},
      {"no author", with([](RawHeader& r) { r.author.reset(); }), "author"},
      {"network of 16 bytes", with([](RawHeader& r) { r.network = Bytes(16, 1); }), "network"},
      {"prev of 31 bytes", with([](RawHeader& r) { r.prev = Bytes(31, 1); }), "prev"},
      {"seq 2 without prev", with([](RawHeader& r) { r.prev.reset(); }), "prev"},
      {"content hash of 20 bytes", with([](RawHeader& r) { r.contentHash = Bytes(20, 1); }),
       "content hash"},
      {"seq 0", with([](RawHeader& r) { r.seq = 0; r.prev.reset(); }), "seq"},
      {"seq 1 with a prev", with([](RawHeader& r) { r.seq = 1; }), "prev"},
      {"seq 1 with an empty prev", with([](RawHeader& r) { r.seq = 1; r.prev = Bytes{}; }),
       "prev"},
      {"seq 2 with an empty prev", with([](RawHeader& r) { r.prev = Bytes{}; }), "prev"},
  };
  for (const auto& tc : cases) {
    CAPTURE(tc.what);
    Bytes bytes = canonicalRaw(tc.raw);
    Check c = decodeHeader(bytes, out);
    CHECK(verdictOf(c) == "malformed");
    CHECK(contains(c.detail, tc.detail));
  }
}

TEST_CASE("decodeHeader refuses a content size over the content limit as tooLarge") {
  auto key = keyFromByte(1);
  RawHeader r = rawOf(sampleHeader(key));
  r.contentSize = static_cast<std::uint32_t>(kMaxContentBytes) + 1;
  Header out;
  CHECK(verdictOf(decodeHeader(canonicalRaw(r), out)) == "tooLarge");
  r.contentSize = static_cast<std::uint32_t>(kMaxContentBytes);
  CHECK(decodeHeader(canonicalRaw(r), out).ok());
}

TEST_CASE("decodeHeader leaves its output alone when it refuses") {
  auto key = keyFromByte(1);
  Header out = sampleHeader(key);
  out.seq = 99;
  RawHeader r = rawOf(sampleHeader(key));
  r.author = Bytes(5, 1);
  REQUIRE_FALSE(decodeHeader(canonicalRaw(r), out).ok());
  CHECK(out.seq == 99);
}

// --- one entry --------------------------------------------------------------

TEST_CASE("makeEntry signs the tagged header and its id is SHA-256 of header and signature") {
  auto key = keyFromByte(2);
  Header h = sampleHeader(key, 1);
  Bytes content = contentFor(1);
  Entry e = makeEntry(key, h, content);
  CHECK(e.header.contentHash == sha256(content));
  CHECK(e.header.contentSize == content.size());
  CHECK(e.signedEntry.content == content);
  CHECK(e.signedEntry.header == encodeHeader(e.header));

  // The signed message is "civnet/entry/v1" || 0x00 || header bytes.
  std::string tag = "civnet/entry/v1";
  Bytes msg(tag.begin(), tag.end());
  msg.push_back(0);
  msg.insert(msg.end(), e.signedEntry.header.begin(), e.signedEntry.header.end());
  CHECK(signingMessage(e.signedEntry.header) == msg);
  CHECK(civnet::verifySignature(key.publicKey(), msg, e.signedEntry.signature));
  // Without the domain-separation tag, the signature is worthless.
  CHECK_FALSE(
      civnet::verifySignature(key.publicKey(), e.signedEntry.header, e.signedEntry.signature));

  Bytes idInput = e.signedEntry.header;
  idInput.insert(idInput.end(), e.signedEntry.signature.bytes.begin(),
                 e.signedEntry.signature.bytes.end());
  CHECK(e.id == sha256(idInput));
  CHECK(entryId(e.signedEntry.header, e.signedEntry.signature) == e.id);
}

TEST_CASE("makeEntry takes the author from the signing key") {
  auto key = keyFromByte(2);
  auto other = keyFromByte(3);
  Header h = sampleHeader(other);
  Entry e = makeEntry(key, h, contentFor(2));
  CHECK(e.header.author == key.publicKey());
  CHECK(verifySignature(e));
}

TEST_CASE("parseEntry and verifySignature accept what makeEntry made") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  Entry parsed;
  Check c = parseEntry(made.signedEntry, parsed);
  REQUIRE_MESSAGE(c.ok(), c.describe());
  checkHeadersEqual(parsed.header, made.header);
  CHECK(parsed.id == made.id);
  CHECK(parsed.signedEntry.content == made.signedEntry.content);
  CHECK(verifySignature(parsed));
}

TEST_CASE("an entry without its content is still valid") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  SignedEntry se = made.signedEntry;
  se.content.reset();
  Entry parsed;
  REQUIRE(parseEntry(se, parsed).ok());
  CHECK_FALSE(parsed.signedEntry.content.has_value());
  CHECK(parsed.id == made.id);
  CHECK(verifySignature(parsed));
}

TEST_CASE("an entry with empty content is valid when its header says so") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), Bytes{});
  CHECK(made.header.contentSize == 0);
  Entry parsed;
  REQUIRE(parseEntry(made.signedEntry, parsed).ok());
  REQUIRE(parsed.signedEntry.content.has_value());
  CHECK(parsed.signedEntry.content->empty());
}

TEST_CASE("a tampered timestamp byte in the header makes the signature fail") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  SignedEntry se = made.signedEntry;
  // Canonical layout: root pointer, then the data section, whose second
  // word is the timestamp. Changing it keeps the bytes canonical.
  se.header[16] ^= 0x01;
  Entry parsed;
  REQUIRE(parseEntry(se, parsed).ok());
  CHECK(parsed.header.timestamp != made.header.timestamp);
  CHECK_FALSE(verifySignature(parsed));
  CHECK(parsed.id != made.id);
}

TEST_CASE("no single flipped bit in the header bytes gives an entry that parses and verifies") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  int accepted = 0;
  for (std::size_t i = 0; i < made.signedEntry.header.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      SignedEntry se{made.signedEntry.header, made.signedEntry.signature, std::nullopt};
      se.header[i] ^= static_cast<std::uint8_t>(1u << bit);
      Entry parsed;
      if (parseEntry(se, parsed).ok() && verifySignature(parsed)) {
        ++accepted;
        CAPTURE(i);
        CAPTURE(bit);
        FAIL_CHECK("a tampered header was accepted");
      }
    }
  }
  CHECK(accepted == 0);
}

TEST_CASE("a tampered signature fails verification and changes the entry's id") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  SignedEntry se = made.signedEntry;
  se.signature.bytes[10] ^= 0x80;
  Entry parsed;
  REQUIRE(parseEntry(se, parsed).ok());
  CHECK_FALSE(verifySignature(parsed));
  CHECK(parsed.id != made.id);
}

TEST_CASE("parseEntry refuses content that does not match its hash") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  Bytes tampered = *made.signedEntry.content;
  tampered[0] ^= 0x01;  // same size, other bytes
  SignedEntry se{made.signedEntry.header, made.signedEntry.signature, tampered};
  Entry parsed;
  Check c = parseEntry(se, parsed);
  CHECK(verdictOf(c) == "badContentHash");
  CHECK(contains(c.detail, "hash"));
}

TEST_CASE("parseEntry refuses content whose size differs from the header's") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  SignedEntry se = made.signedEntry;
  std::size_t size = se.content->size();
  se.content->push_back('!');
  Entry parsed;
  Check c = parseEntry(se, parsed);
  CHECK(verdictOf(c) == "badContentHash");
  CHECK(contains(c.detail, std::to_string(size + 1)));
  CHECK(contains(c.detail, std::to_string(size)));

  se.content = Bytes{};
  CHECK(verdictOf(parseEntry(se, parsed)) == "badContentHash");
}

TEST_CASE("parseEntry passes on the header's refusal") {
  auto key = keyFromByte(2);
  Entry made = makeEntry(key, sampleHeader(key), contentFor(2));
  SignedEntry se = made.signedEntry;
  se.header.resize(se.header.size() + 8, 0);
  Entry parsed;
  CHECK(verdictOf(parseEntry(se, parsed)) == "notCanonical");
}

// --- the chain rule -----------------------------------------------------------

struct RunFixture {
  PrivateKey key = keyFromByte(7);
  Digest network = networkNamed("civnet test");
  std::vector<Entry> feed = makeFeed(key, network, 50);
  std::vector<SignedEntry> run = signedEntries(feed);
};

TEST_CASE_FIXTURE(RunFixture, "verifyRun accepts a good run of 50 entries and returns them in order") {
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  REQUIRE_MESSAGE(c.ok(), c.describe());
  REQUIRE(out.size() == 50);
  for (std::size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i].header.seq == i + 1);
    CHECK(out[i].id == feed[i].id);
  }
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun accepts a run that starts in the middle of a feed") {
  std::vector<SignedEntry> tail(run.begin() + 20, run.end());
  std::vector<Entry> out;
  CHECK(verifyRun(tail, network, out).ok());
  CHECK(out.front().header.seq == 21);
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun accepts a run whose entries carry no content") {
  for (auto& se : run) se.content.reset();
  std::vector<Entry> out;
  CHECK(verifyRun(run, network, out).ok());
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun checks only the last signature: the links vouch for the rest") {
  // The chain rule: a middle entry's own signature is not checked, because
  // its id (which covers the signature) is committed to by the next prev,
  // and so on up to the signed last entry. Here the author itself signs a
  // chain through an entry with a junk signature.
  std::vector<Entry> feed2(feed.begin(), feed.begin() + 10);
  Entry odd = feed2.back();
  odd.signedEntry.signature.bytes[0] ^= 0xff;
  odd.id = entryId(odd.signedEntry.header, odd.signedEntry.signature);
  feed2.back() = odd;
  feed2.push_back(nextEntry(key, odd, [](Header&) {}));
  std::vector<Entry> out;
  Check c = verifyRun(signedEntries(feed2), network, out);
  CHECK_MESSAGE(c.ok(), c.describe());
  CHECK_FALSE(verifySignature(out[9]));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run with a wrong prev in the middle as badLink") {
  std::vector<Entry> bad(feed.begin(), feed.begin() + 25);
  bad.push_back(nextEntry(key, bad.back(), [](Header& h) { h.prev.bytes[0] ^= 1; }));
  auto more = makeFeed(key, network, 10, 27, bad.back().id, bad.back().header.timestamp + 1000);
  bad.insert(bad.end(), more.begin(), more.end());
  std::vector<Entry> out;
  Check c = verifyRun(signedEntries(bad), network, out);
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 25);
  CHECK(contains(c.detail, "entry 25"));
  CHECK(contains(c.detail, "seq 26"));
  CHECK(contains(c.detail, "prev"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run whose middle signature was tampered") {
  run[20].signature.bytes[3] ^= 0x10;
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  // The tampered signature changes entry 20's id, so entry 21's prev no
  // longer matches it.
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 21);
  CHECK(contains(c.detail, "entry 21"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run whose middle header was tampered") {
  run[30].header[16] ^= 0x01;  // entry 30's timestamp
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 31);
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run whose last signature was tampered") {
  run.back().signature.bytes[63] ^= 0x01;
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "badSignature");
  CHECK(c.index == 49);
  CHECK(contains(c.detail, "entry 49"));
  CHECK(contains(c.detail, "seq 50"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run whose last header was tampered") {
  run.back().header[16] ^= 0x01;
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "badSignature");
  CHECK(c.index == 49);
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a single entry with a bad signature") {
  std::vector<SignedEntry> one{run[0]};
  one[0].signature.bytes[0] ^= 0x01;
  std::vector<Entry> out;
  Check c = verifyRun(one, network, out);
  CHECK(verdictOf(c) == "badSignature");
  CHECK(c.index == 0);
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run of another network as wrongNetwork") {
  std::vector<Entry> out;
  Check c = verifyRun(run, networkNamed("another network"), out);
  CHECK(verdictOf(c) == "wrongNetwork");
  CHECK(c.index == 0);
  CHECK(contains(c.detail, "entry 0"));
  CHECK(contains(c.detail, network.shortHex()));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run that switches network in the middle") {
  Digest other = networkNamed("another network");
  std::vector<Entry> bad(feed.begin(), feed.begin() + 10);
  bad.push_back(nextEntry(key, bad.back(), [&](Header& h) { h.network = other; }));
  bad.push_back(nextEntry(key, bad.back(), [&](Header& h) { h.network = network; }));
  std::vector<Entry> out;
  Check c = verifyRun(signedEntries(bad), network, out);
  CHECK(verdictOf(c) == "wrongNetwork");
  CHECK(c.index == 10);
  CHECK(contains(c.detail, "entry 10"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a timestamp that goes backwards") {
  std::vector<Entry> bad(feed.begin(), feed.begin() + 10);
  bad.push_back(nextEntry(key, bad.back(), [&](Header& h) { h.timestamp = feed[8].header.timestamp; }));
  bad.push_back(nextEntry(key, bad.back(), [](Header&) {}));
  std::vector<Entry> out;
  Check c = verifyRun(signedEntries(bad), network, out);
  CHECK(verdictOf(c) == "timestampBackwards");
  CHECK(c.index == 10);
  CHECK(contains(c.detail, "entry 10"));
  CHECK(contains(c.detail, "seq 11"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun accepts equal timestamps in a row") {
  std::vector<Entry> same(feed.begin(), feed.begin() + 3);
  same.push_back(nextEntry(key, same.back(), [&](Header& h) { h.timestamp = same.back().header.timestamp; }));
  std::vector<Entry> out;
  CHECK(verifyRun(signedEntries(same), network, out).ok());
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run with a seq gap as badLink") {
  run.erase(run.begin() + 17);
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 17);
  CHECK(contains(c.detail, "entry 17"));
  CHECK(contains(c.detail, "seq 19"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a seq that skips ahead even with a matching prev") {
  std::vector<Entry> bad(feed.begin(), feed.begin() + 5);
  bad.push_back(nextEntry(key, bad.back(), [](Header& h) { h.seq += 1; }));
  std::vector<Entry> out;
  Check c = verifyRun(signedEntries(bad), network, out);
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 5);
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run that mixes two authors as badLink") {
  auto mallory = keyFromByte(8);
  std::vector<Entry> bad(feed.begin(), feed.begin() + 5);
  // Mallory signs an entry that links perfectly to the victim's feed.
  bad.push_back(nextEntry(mallory, bad.back(), [](Header&) {}));
  std::vector<Entry> out;
  Check c = verifyRun(signedEntries(bad), network, out);
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 5);
  CHECK(contains(c.detail, "author"));
  CHECK(contains(c.detail, "entry 5"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses middle content that does not match its hash, naming the entry") {
  (*run[12].content)[0] ^= 0x01;
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "badContentHash");
  CHECK(c.index == 12);
  CHECK(contains(c.detail, "entry 12"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a non-canonical header in the middle, naming the entry") {
  run[40].header.resize(run[40].header.size() + 8, 0);
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "notCanonical");
  CHECK(c.index == 40);
  CHECK(contains(c.detail, "entry 40"));
}

TEST_CASE_FIXTURE(RunFixture, "verifyRun refuses a run with an entry repeated") {
  run.insert(run.begin() + 8, run[7]);
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK(verdictOf(c) == "badLink");
  CHECK(c.index == 8);
}

// --- fork proofs --------------------------------------------------------------

struct ForkFixture {
  PrivateKey key = keyFromByte(9);
  Digest network = networkNamed("civnet test");
  std::vector<Entry> feed = makeFeed(key, network, 5);
  // A second, different entry at seq 5: the same author signed both.
  Entry twin = nextEntry(key, feed[3], [](Header& h) { h.timestamp += 1; });
};

TEST_CASE_FIXTURE(ForkFixture, "a fork proof of two valid entries at one seq verifies and names author and seq") {
  REQUIRE(twin.header.seq == feed[4].header.seq);
  REQUIRE(twin.id != feed[4].id);
  Bytes proof = encodeForkProof(feed[4].signedEntry, twin.signedEntry);
  PublicKey author;
  std::uint64_t seq = 0;
  Check c = verifyForkProof(proof, author, seq);
  REQUIRE_MESSAGE(c.ok(), c.describe());
  CHECK(author == key.publicKey());
  CHECK(seq == 5);
}

TEST_CASE_FIXTURE(ForkFixture, "a fork proof leaves content out") {
  Bytes withContent = encodeForkProof(feed[4].signedEntry, twin.signedEntry);
  SignedEntry a = feed[4].signedEntry, b = twin.signedEntry;
  a.content.reset();
  b.content.reset();
  CHECK(encodeForkProof(a, b) == withContent);
}

TEST_CASE_FIXTURE(ForkFixture, "a fork proof of the same entry twice is refused") {
  Bytes proof = encodeForkProof(feed[4].signedEntry, feed[4].signedEntry);
  PublicKey author;
  std::uint64_t seq = 0;
  Check c = verifyForkProof(proof, author, seq);
  CHECK_FALSE(c.ok());
  CHECK(contains(c.detail, "twice"));
}

TEST_CASE_FIXTURE(ForkFixture, "a fork proof of two entries at different seqs is refused") {
  Bytes proof = encodeForkProof(feed[3].signedEntry, feed[4].signedEntry);
  PublicKey author;
  std::uint64_t seq = 0;
  CHECK_FALSE(verifyForkProof(proof, author, seq).ok());
}

TEST_CASE_FIXTURE(ForkFixture, "a fork proof of two different authors at one seq is refused") {
  auto other = keyFromByte(10);
  auto otherFeed = makeFeed(other, network, 5);
  Bytes proof = encodeForkProof(feed[4].signedEntry, otherFeed[4].signedEntry);
  PublicKey author;
  std::uint64_t seq = 0;
  CHECK_FALSE(verifyForkProof(proof, author, seq).ok());
}

TEST_CASE_FIXTURE(ForkFixture, "a fork proof with a bad signature on either side is refused") {
  for (int side = 0; side < 2; ++side) {
    CAPTURE(side);
    SignedEntry a = feed[4].signedEntry, b = twin.signedEntry;
    (side == 0 ? a : b).signature.bytes[7] ^= 0x04;
    PublicKey author;
    std::uint64_t seq = 0;
    Check c = verifyForkProof(encodeForkProof(a, b), author, seq);
    CHECK(verdictOf(c) == "badSignature");
  }
}

TEST_CASE_FIXTURE(ForkFixture, "a fork proof made of one feed's entries in two networks is refused") {
  // The same key in another network is another feed: its entry at seq 5 is
  // no fork of this one, and must not freeze it.
  auto elsewhere = makeFeed(key, networkNamed("another network"), 5);
  Bytes proof = encodeForkProof(feed[4].signedEntry, elsewhere[4].signedEntry);
  PublicKey author;
  std::uint64_t seq = 0;
  CHECK_FALSE(verifyForkProof(proof, author, seq).ok());
}

TEST_CASE_FIXTURE(ForkFixture, "a truncated, padded or garbage fork proof is refused without throwing") {
  Bytes proof = encodeForkProof(feed[4].signedEntry, twin.signedEntry);
  PublicKey author;
  std::uint64_t seq = 0;
  Bytes cut(proof.begin(), proof.begin() + static_cast<std::ptrdiff_t>(proof.size() / 2 / 8 * 8));
  CHECK_FALSE(verifyForkProof(cut, author, seq).ok());
  Bytes odd = proof;
  odd.push_back(0);
  CHECK_FALSE(verifyForkProof(odd, author, seq).ok());
  CHECK_FALSE(verifyForkProof(Bytes(64, 0xff), author, seq).ok());
  CHECK_FALSE(verifyForkProof(Bytes{}, author, seq).ok());
  CHECK_FALSE(verifyForkProof(Bytes(8192, 0), author, seq).ok());
}

}  // TEST_SUITE
}  // namespace
}  // namespace civnet::record

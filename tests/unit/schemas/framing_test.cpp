// Unit tests of stream framing: encodeFrame/decodeFrame (schemas/record.hpp)
// and FrameReader/frameSize (schemas/framing.hpp), including the rule that a
// frame's size is checked before any buffer is allocated.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <sstream>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "schemas/entry.capnp.h"
#include "schemas/framing.hpp"
#include "schemas/record.hpp"
#include "schemas_test_util.hpp"

// GCC 12 cannot see that this operator new is malloc-based and warns about
// free() in the matching operator delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Allocation watch: the global operator new of this test program records the
// largest single allocation while `gWatching` is set, so a test can tell that
// refusing an oversized frame allocated nothing of that size.
namespace {
std::atomic<bool> gWatching{false};
std::atomic<std::size_t> gLargest{0};
}  // namespace

void* operator new(std::size_t size) {
  if (gWatching.load(std::memory_order_relaxed)) {
    std::size_t cur = gLargest.load(std::memory_order_relaxed);
    while (size > cur && !gLargest.compare_exchange_weak(cur, size)) {
    }
  }
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace civnet::record {
namespace {

using test::codeOf;
using test::verdictOf;
using test::keyFromByte;
using test::makeFeed;
using test::networkNamed;

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

std::string asString(const Bytes& b) { return std::string(b.begin(), b.end()); }

Bytes le32s(std::initializer_list<std::uint32_t> values) {
  Bytes out;
  for (auto v : values)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return out;
}

struct FrameFixture {
  PrivateKey key = keyFromByte(21);
  Digest network = networkNamed("framing");
  std::vector<Entry> feed = makeFeed(key, network, 3);
};

void checkSame(const SignedEntry& a, const SignedEntry& b) {
  CHECK(a.header == b.header);
  CHECK(a.signature == b.signature);
  CHECK(a.content == b.content);
}

// A SignedEntry message built with tiny fixed-size segments, so that it is
// framed as several segments (a segment table longer than one word).
Bytes multiSegmentFrame(const SignedEntry& se) {
  capnp::MallocMessageBuilder mb(4, capnp::AllocationStrategy::FIXED_SIZE);
  auto b = mb.initRoot<wire::SignedEntry>();
  b.setHeader(capnp::Data::Reader(se.header.data(), se.header.size()));
  b.setSignature(capnp::Data::Reader(se.signature.bytes.data(), se.signature.bytes.size()));
  if (se.content) b.setContent(capnp::Data::Reader(se.content->data(), se.content->size()));
  REQUIRE(mb.getSegmentsForOutput().size() > 2);
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

TEST_SUITE("framing") {

// --- encodeFrame / decodeFrame ----------------------------------------------

TEST_CASE_FIXTURE(FrameFixture, "a signed entry survives encodeFrame and decodeFrame unchanged") {
  Bytes frame = encodeFrame(feed[0].signedEntry);
  SignedEntry back;
  Check c = decodeFrame(frame, back);
  REQUIRE_MESSAGE(c.ok(), c.describe());
  checkSame(back, feed[0].signedEntry);
  Entry parsed;
  REQUIRE(parseEntry(back, parsed).ok());
  CHECK(parsed.id == feed[0].id);
  CHECK(verifySignature(parsed));
}

TEST_CASE_FIXTURE(FrameFixture, "a frame keeps absent content apart from present empty content") {
  SignedEntry absent = feed[0].signedEntry;
  absent.content.reset();
  SignedEntry back;
  REQUIRE(decodeFrame(encodeFrame(absent), back).ok());
  CHECK_FALSE(back.content.has_value());

  Entry empty = makeEntry(key, feed[0].header, Bytes{});
  REQUIRE(empty.signedEntry.content.has_value());
  SignedEntry back2;
  REQUIRE(decodeFrame(encodeFrame(empty.signedEntry), back2).ok());
  REQUIRE(back2.content.has_value());
  CHECK(back2.content->empty());
  Entry parsed;
  CHECK(parseEntry(back2, parsed).ok());
}

TEST_CASE_FIXTURE(FrameFixture, "decodeFrame clears content left in its output by an earlier call") {
  SignedEntry out;
  REQUIRE(decodeFrame(encodeFrame(feed[0].signedEntry), out).ok());
  REQUIRE(out.content.has_value());
  SignedEntry absent = feed[1].signedEntry;
  absent.content.reset();
  REQUIRE(decodeFrame(encodeFrame(absent), out).ok());
  CHECK_FALSE(out.content.has_value());
  CHECK(out.header == absent.header);
}

TEST_CASE_FIXTURE(FrameFixture, "an encoded frame is standard framing: a one-segment table then the segment") {
  Bytes frame = encodeFrame(feed[0].signedEntry);
  REQUIRE(frame.size() >= 8);
  CHECK(frame.size() % 8 == 0);
  CHECK(frame[0] == 0);  // segment count - 1
  CHECK(frame[1] == 0);
  CHECK(frame[2] == 0);
  CHECK(frame[3] == 0);
  std::uint32_t words = frame[4] | frame[5] << 8 | frame[6] << 16 | std::uint32_t(frame[7]) << 24;
  CHECK(frame.size() == 8 + 8 * std::size_t{words});
  auto size = frameSize(frame);
  REQUIRE(size.ok());
  CHECK(size.value() == frame.size());
}

TEST_CASE_FIXTURE(FrameFixture, "decodeFrame reads a message framed in several segments") {
  Bytes frame = multiSegmentFrame(feed[1].signedEntry);
  SignedEntry back;
  Check c = decodeFrame(frame, back);
  REQUIRE_MESSAGE(c.ok(), c.describe());
  checkSame(back, feed[1].signedEntry);
}

TEST_CASE_FIXTURE(FrameFixture, "decodeFrame refuses a frame with trailing bytes") {
  Bytes frame = encodeFrame(feed[0].signedEntry);
  frame.resize(frame.size() + 8, 0);
  SignedEntry back;
  Check c = decodeFrame(frame, back);
  CHECK(verdictOf(c) == "malformed");
  CHECK(contains(c.detail, "trailing"));
}

TEST_CASE_FIXTURE(FrameFixture, "decodeFrame refuses a truncated frame without throwing") {
  Bytes frame = encodeFrame(feed[0].signedEntry);
  for (std::size_t cut = 0; cut < frame.size(); cut += 8) {
    CAPTURE(cut);
    Bytes part(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(cut));
    SignedEntry back;
    CHECK(isForged(decodeFrame(part, back).verdict));
  }
  Bytes odd = frame;
  odd.pop_back();
  SignedEntry back;
  CHECK(verdictOf(decodeFrame(odd, back)) == "malformed");
}

TEST_CASE("decodeFrame refuses a frame over 8 MiB as tooLarge") {
  Bytes big(kMaxFrameBytes + 8, 0);
  SignedEntry back;
  Check c = decodeFrame(big, back);
  CHECK(verdictOf(c) == "tooLarge");
  CHECK(contains(c.detail, std::to_string(kMaxFrameBytes)));
}

TEST_CASE_FIXTURE(FrameFixture, "decodeFrame refuses a header over 1 KiB, a short signature, and oversized content") {
  SignedEntry se = feed[0].signedEntry;
  SignedEntry back;

  SignedEntry bigHeader = se;
  bigHeader.header.resize(kMaxHeaderBytes + 8, 0);
  Check big = decodeFrame(encodeFrame(bigHeader), back);
  CHECK_MESSAGE(verdictOf(big) == "tooLarge", big.describe());

  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::SignedEntry>();
  b.setHeader(capnp::Data::Reader(se.header.data(), se.header.size()));
  Bytes shortSig(63, 1);
  b.setSignature(capnp::Data::Reader(shortSig.data(), shortSig.size()));
  auto words = capnp::messageToFlatArray(mb);
  Bytes frame(words.asBytes().begin(), words.asBytes().end());
  Check c = decodeFrame(frame, back);
  CHECK(verdictOf(c) == "malformed");
  CHECK(contains(c.detail, "64"));

  SignedEntry bigContent = se;
  bigContent.content = Bytes(kMaxContentBytes + 1, 'x');
  CHECK(verdictOf(decodeFrame(encodeFrame(bigContent), back)) == "tooLarge");
}

TEST_CASE("decodeFrame refuses garbage words without throwing") {
  SignedEntry back;
  for (std::uint8_t fill : {0x00, 0x01, 0x80, 0xff}) {
    CAPTURE(int(fill));
    CHECK_FALSE(decodeFrame(Bytes(48, fill), back).ok());
  }
  CHECK_FALSE(decodeFrame(Bytes{}, back).ok());
}

// --- frameSize ----------------------------------------------------------------

TEST_CASE("frameSize needs 4 bytes to tell, and the whole table for several segments") {
  CHECK(frameSize(Bytes{}).value() == 0);
  CHECK(frameSize(Bytes{0, 0, 0}).value() == 0);
  // One segment of 5 words: table 8 bytes + 40.
  CHECK(frameSize(le32s({0, 5})).value() == 48);
  // Three segments: a 16-byte table; 8 bytes are not enough to tell.
  Bytes three = le32s({2, 1, 2, 3});
  CHECK(frameSize(ByteView(three).first(8)).value() == 0);
  CHECK(frameSize(three).value() == 16 + 6 * 8);
  // Two segments: 4 + 2 * 4 = 12 bytes of table, padded to 16.
  Bytes two = le32s({1, 1, 1, 0});
  CHECK(frameSize(two).value() == 16 + 16);
}

TEST_CASE("frameSize accepts a frame of exactly the limit and refuses one word more") {
  std::uint32_t words = static_cast<std::uint32_t>((kMaxFrameBytes - 8) / 8);
  auto atLimit = frameSize(le32s({0, words}));
  REQUIRE(atLimit.ok());
  CHECK(atLimit.value() == kMaxFrameBytes);
  auto over = frameSize(le32s({0, words + 1}));
  REQUIRE_FALSE(over.ok());
  CHECK(contains(over.status().message(), std::to_string(kMaxFrameBytes)));
  CHECK(contains(over.status().message(), std::to_string(kMaxFrameBytes + 8)));
}

TEST_CASE("frameSize honours a smaller limit given by the caller") {
  CHECK(frameSize(le32s({0, 10}), 88).ok());
  CHECK_FALSE(frameSize(le32s({0, 11}), 88).ok());
}

TEST_CASE("frameSize refuses an absurd segment count and sizes that overflow 32 bits") {
  auto many = frameSize(le32s({0xffffffffu, 1}));
  REQUIRE_FALSE(many.ok());
  CHECK(contains(many.status().message(), "segments"));
  // Two segments of 2^32-1 words each must not wrap around to a small size.
  auto wrap = frameSize(le32s({1, 0xffffffffu, 0xffffffffu, 0}));
  CHECK_FALSE(wrap.ok());
}

// --- FrameReader --------------------------------------------------------------

TEST_CASE_FIXTURE(FrameFixture, "FrameReader returns each frame of a stream, then nullopt") {
  std::string stream;
  std::vector<Bytes> frames;
  for (const auto& e : feed) {
    frames.push_back(encodeFrame(e.signedEntry));
    stream += asString(frames.back());
  }
  std::istringstream in(stream);
  FrameReader reader(in);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    CAPTURE(i);
    auto next = reader.next();
    REQUIRE_MESSAGE(next.ok(), next.status().message());
    REQUIRE(next->has_value());
    CHECK(**next == frames[i]);
    SignedEntry se;
    REQUIRE(decodeFrame(**next, se).ok());
    checkSame(se, feed[i].signedEntry);
  }
  auto end = reader.next();
  REQUIRE(end.ok());
  CHECK_FALSE(end->has_value());
  CHECK(reader.framesRead() == 3);
  CHECK(reader.bytesRead() == stream.size());
  // Still the end when asked again.
  auto again = reader.next();
  REQUIRE(again.ok());
  CHECK_FALSE(again->has_value());
}

TEST_CASE("a run read back from a stream of frames passes the chain rule") {
  auto key = keyFromByte(22);
  Digest network = networkNamed("framing");
  auto feed = makeFeed(key, network, 20);
  std::string stream;
  for (const auto& e : feed) stream += asString(encodeFrame(e.signedEntry));
  std::istringstream in(stream);
  FrameReader reader(in);
  std::vector<SignedEntry> run;
  for (;;) {
    auto next = reader.next();
    REQUIRE_MESSAGE(next.ok(), next.status().message());
    if (!next->has_value()) break;
    SignedEntry se;
    Check c = decodeFrame(**next, se);
    REQUIRE_MESSAGE(c.ok(), c.describe());
    run.push_back(std::move(se));
  }
  REQUIRE(run.size() == 20);
  std::vector<Entry> out;
  Check c = verifyRun(run, network, out);
  CHECK_MESSAGE(c.ok(), c.describe());
  CHECK(out.back().id == feed.back().id);
}

TEST_CASE("FrameReader over an empty stream returns nullopt at once") {
  std::istringstream in("");
  FrameReader reader(in);
  auto next = reader.next();
  REQUIRE(next.ok());
  CHECK_FALSE(next->has_value());
  CHECK(reader.framesRead() == 0);
}

TEST_CASE_FIXTURE(FrameFixture, "FrameReader reads a frame whose segment table is longer than one word") {
  Bytes frame = multiSegmentFrame(feed[2].signedEntry);
  std::istringstream in(asString(encodeFrame(feed[0].signedEntry)) + asString(frame));
  FrameReader reader(in);
  REQUIRE(reader.next().ok());
  auto next = reader.next();
  REQUIRE_MESSAGE(next.ok(), next.status().message());
  REQUIRE(next->has_value());
  CHECK(**next == frame);
}

TEST_CASE_FIXTURE(FrameFixture, "FrameReader names the frame cut inside its first word") {
  Bytes first = encodeFrame(feed[0].signedEntry);
  Bytes second = encodeFrame(feed[1].signedEntry);
  std::string stream = asString(first) + asString(second).substr(0, 5);
  std::istringstream in(stream);
  FrameReader reader(in);
  REQUIRE(reader.next().ok());
  auto bad = reader.next();
  REQUIRE_FALSE(bad.ok());
  std::string m = bad.status().message();
  CHECK(contains(m, "frame 2"));
  CHECK(contains(m, "byte " + std::to_string(first.size())));
  CHECK(contains(m, "truncated"));
}

TEST_CASE_FIXTURE(FrameFixture, "FrameReader names the frame cut inside its segment table") {
  Bytes frame = multiSegmentFrame(feed[0].signedEntry);
  std::uint32_t segments = frame[0] + 1u;  // few segments: the low byte says it
  REQUIRE(segments >= 3);  // the table is longer than 8 bytes
  std::istringstream in(asString(frame).substr(0, 12));
  FrameReader reader(in);
  auto bad = reader.next();
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.status().message(), "frame 1"));
  CHECK(contains(bad.status().message(), "segment table"));
}

TEST_CASE_FIXTURE(FrameFixture, "FrameReader names the frame cut inside its body") {
  Bytes frame = encodeFrame(feed[0].signedEntry);
  for (std::size_t cut : {std::size_t{8}, std::size_t{9}, frame.size() / 2, frame.size() - 1}) {
    CAPTURE(cut);
    std::istringstream in(asString(frame).substr(0, cut));
    FrameReader reader(in);
    auto bad = reader.next();
    REQUIRE_FALSE(bad.ok());
    CHECK(contains(bad.status().message(), "frame 1"));
    CHECK(contains(bad.status().message(), "truncated"));
    CHECK(contains(bad.status().message(), std::to_string(frame.size())));
  }
}

TEST_CASE("FrameReader refuses a frame announcing 2^31 words before allocating it") {
  // One segment of 2^31 words (16 GiB) in a 16-byte stream.
  Bytes head = le32s({0, 0x80000000u});
  head.resize(16, 0);
  std::istringstream in(asString(head));
  FrameReader reader(in);
  gLargest = 0;
  gWatching = true;
  auto bad = reader.next();
  gWatching = false;
  REQUIRE_FALSE(bad.ok());
  CHECK(codeOf(bad.status()) == "corruption");
  std::string m = bad.status().message();
  CHECK(contains(m, "frame 1"));
  CHECK(contains(m, "over the limit"));
  CHECK(contains(m, std::to_string(8 + (std::uint64_t{1} << 34))));
  CHECK(gLargest.load() < 64 * 1024);

  // The watch itself sees a large allocation, so the check above can fail.
  gWatching = true;
  Bytes probe(1 << 20);
  gWatching = false;
  CHECK(gLargest.load() >= probe.size());
}

TEST_CASE("FrameReader refuses a frame over a smaller caller limit before allocating it") {
  Bytes head = le32s({0, 1024 * 1024});  // 8 MiB announced
  std::istringstream in(asString(head));
  FrameReader reader(in, 4096);
  gLargest = 0;
  gWatching = true;
  auto bad = reader.next();
  gWatching = false;
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.status().message(), "4096"));
  CHECK(gLargest.load() < 4096);
}

TEST_CASE("FrameReader refuses a multi-segment table whose sizes add up past the limit") {
  Bytes head = le32s({1, 0x00100000u, 0x00100000u, 0});  // 2 x 8 MiB
  std::istringstream in(asString(head));
  FrameReader reader(in);
  auto bad = reader.next();
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.status().message(), "over the limit"));
}

TEST_CASE("FrameReader refuses a table claiming thousands of segments") {
  Bytes head = le32s({100000, 1});
  std::istringstream in(asString(head));
  FrameReader reader(in);
  auto bad = reader.next();
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.status().message(), "frame 1"));
  CHECK(contains(bad.status().message(), "segments"));
}

}  // TEST_SUITE
}  // namespace
}  // namespace civnet::record

// Unit tests of post and profile content (schemas/content.hpp): canonical
// encoding, the limits a member's post must respect, and decoding content
// that arrives from elsewhere and cannot be trusted.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "schemas/content.hpp"
#include "schemas_test_util.hpp"

namespace civnet::record {
namespace {

using test::codeOf;
using test::verdictOf;
using test::keyFromByte;

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

Post samplePost() {
  Post p;
  p.title = "Running a community legal clinic";
  p.body = "# What we learned\n\nStart small, *document* everything. Ünïcödé ✓";
  p.tags = {"legal-aid", "clinics", "how-to"};
  p.topics = {"justice"};
  p.language = "en";
  p.region = "West Africa";
  return p;
}

EntryRef sampleRef(std::uint8_t b) {
  EntryRef r;
  r.author = keyFromByte(b).publicKey();
  r.seq = 42;
  r.id = sha256(Bytes{b});
  return r;
}

void checkPostsEqual(const Post& a, const Post& b) {
  CHECK(a.title == b.title);
  CHECK(a.body == b.body);
  CHECK(a.tags == b.tags);
  CHECK(a.topics == b.topics);
  CHECK(a.language == b.language);
  CHECK(a.region == b.region);
  REQUIRE(a.replyTo.has_value() == b.replyTo.has_value());
  if (a.replyTo) {
    CHECK(a.replyTo->author == b.replyTo->author);
    CHECK(a.replyTo->seq == b.replyTo->seq);
    CHECK(a.replyTo->id == b.replyTo->id);
  }
  REQUIRE(a.revises.has_value() == b.revises.has_value());
  if (a.revises) {
    CHECK(a.revises->author == b.revises->author);
    CHECK(a.revises->seq == b.revises->seq);
    CHECK(a.revises->id == b.revises->id);
  }
}

TEST_SUITE("content") {

TEST_CASE("a post survives encodePost and decodePost unchanged") {
  Post p = samplePost();
  auto back = decodePost(encodePost(p));
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  checkPostsEqual(back.value(), p);
  CHECK_FALSE(back->replyTo.has_value());
  CHECK_FALSE(back->revises.has_value());
}

TEST_CASE("a comment keeps its replyTo and a revision its revises reference") {
  Post p = samplePost();
  p.replyTo = sampleRef(1);
  p.revises = sampleRef(2);
  auto back = decodePost(encodePost(p));
  REQUIRE(back.ok());
  checkPostsEqual(back.value(), p);
}

TEST_CASE("a post with empty fields round trips") {
  Post p;
  p.title = "t";
  auto back = decodePost(encodePost(p));
  REQUIRE(back.ok());
  checkPostsEqual(back.value(), p);
}

TEST_CASE("encodePost is canonical: one post gives one byte string, so one content hash") {
  Post p = samplePost();
  Bytes a = encodePost(p);
  Bytes b = encodePost(samplePost());
  CHECK(a == b);
  CHECK(sha256(a) == sha256(b));
  CHECK(a.size() % 8 == 0);
  Post q = samplePost();
  q.tags.push_back("another");
  CHECK(encodePost(q) != a);
}

TEST_CASE("validatePost accepts an ordinary post and the limits themselves") {
  CHECK(validatePost(samplePost()).ok());
  Post p = samplePost();
  p.title = std::string(kMaxTitleBytes, 't');
  p.body = std::string(kMaxBodyBytes, 'b');
  p.tags.clear();
  for (std::size_t i = 0; i < kMaxTags; ++i) p.tags.push_back("tag" + std::to_string(i));
  p.tags[0] = std::string(kMaxTagBytes, 'x');
  Status st = validatePost(p);
  CHECK_MESSAGE(st.ok(), st.message());
}

TEST_CASE("validatePost refuses an empty title") {
  Post p = samplePost();
  p.title.clear();
  Status st = validatePost(p);
  REQUIRE_FALSE(st.ok());
  CHECK(codeOf(st) == "invalid_argument");
  CHECK(contains(st.message(), "title"));
}

TEST_CASE("validatePost refuses a title over the limit, naming the limit") {
  Post p = samplePost();
  p.title = std::string(kMaxTitleBytes + 1, 't');
  Status st = validatePost(p);
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "title"));
  CHECK(contains(st.message(), std::to_string(kMaxTitleBytes)));
}

TEST_CASE("validatePost refuses a body over 64 KiB, naming its size and the limit") {
  Post p = samplePost();
  p.body = std::string(kMaxBodyBytes + 1, 'b');
  Status st = validatePost(p);
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), "body"));
  CHECK(contains(st.message(), "65537"));
  CHECK(contains(st.message(), "65536"));
}

TEST_CASE("validatePost refuses too many tags") {
  Post p = samplePost();
  p.tags.clear();
  for (std::size_t i = 0; i <= kMaxTags; ++i) p.tags.push_back("t" + std::to_string(i));
  Status st = validatePost(p);
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), std::to_string(kMaxTags)));
  CHECK(contains(st.message(), "tags"));
}

TEST_CASE("validatePost refuses a tag with a comma, a control character, or no characters") {
  for (std::string bad : {std::string("a,b"), std::string("line\nbreak"), std::string("tab\there"),
                          std::string("del\x7f"), std::string()}) {
    CAPTURE(bad);
    Post p = samplePost();
    p.tags.push_back(bad);
    Status st = validatePost(p);
    REQUIRE_FALSE(st.ok());
    CHECK(contains(st.message(), "tag"));
  }
}

TEST_CASE("validatePost refuses a tag over the limit") {
  Post p = samplePost();
  p.tags.push_back(std::string(kMaxTagBytes + 1, 'x'));
  Status st = validatePost(p);
  REQUIRE_FALSE(st.ok());
  CHECK(contains(st.message(), std::to_string(kMaxTagBytes)));
}

TEST_CASE("validatePost refuses an overlong language or region") {
  Post p = samplePost();
  p.language = std::string(36, 'e');
  CHECK_FALSE(validatePost(p).ok());
  p = samplePost();
  p.region = std::string(101, 'r');
  CHECK_FALSE(validatePost(p).ok());
}

TEST_CASE("validatePost refuses a NUL byte in any text field, so nothing is cut silently") {
  Post p = samplePost();
  p.body = std::string("public part\0secret rest", 23);
  Status s = validatePost(p);
  CHECK_FALSE(s.ok());
  CHECK(contains(s.message(), "body contains a NUL byte (byte offset 11)"));
  p = samplePost();
  p.title = std::string("\0x", 2);
  CHECK(contains(validatePost(p).message(), "title contains a NUL byte"));
  p = samplePost();
  p.tags = {std::string("a\0b", 3)};
  CHECK_FALSE(validatePost(p).ok());
}

TEST_CASE("validatePost refuses text that is not UTF-8, naming the field and the byte") {
  Post p = samplePost();
  p.body = "fine text \xff\xfe then";
  Status s = validatePost(p);
  CHECK_FALSE(s.ok());
  CHECK(contains(s.message(), "body is not valid UTF-8 text (byte offset 10)"));
  for (std::string bad : {std::string("\xc0\xaf"), std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                          std::string("\xe2\x82")}) {
    p = samplePost();
    p.title = "t" + bad;
    CHECK_MESSAGE(!validatePost(p).ok(), "accepted overlong, surrogate, out of range or cut UTF-8");
  }
  p = samplePost();
  p.title = "Égalité, ✓ and 𝄞";
  CHECK(validatePost(p).ok());
}

TEST_CASE("checkText passes ASCII and well-formed UTF-8 of every length") {
  CHECK(checkText("t", "").ok());
  CHECK(checkText("t", "Clean water").ok());
  CHECK(checkText("t", "caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x92\xA7, \xED\x9F\xBF, \xF4\x8F\xBF\xBF").ok());
}

TEST_CASE("checkText names the offset of a byte that cannot start or continue a character") {
  CHECK(checkText("t", "ab\xFF").message() == "t is not valid UTF-8 text (byte offset 2)");
  CHECK(checkText("t", "\x80").message() == "t is not valid UTF-8 text (byte offset 0)");
  CHECK(checkText("t", "ok \xC3\xA9 \xC3").message() == "t is not valid UTF-8 text (byte offset 6)");
  CHECK(checkText("t", "\xC3(").message() == "t is not valid UTF-8 text (byte offset 0)");
}

TEST_CASE("checkText refuses overlong forms, surrogates and code points over U+10FFFF") {
  for (std::string_view bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80",
                               "\xF5\x80\x80\x80"})
    CHECK(checkText("t", bad).message() == "t is not valid UTF-8 text (byte offset 0)");
  CHECK(checkText("t", "x\xED\xA0\x80").message() == "t is not valid UTF-8 text (byte offset 1)");
}

TEST_CASE("checkText refuses a NUL byte as such") {
  CHECK(checkText("--title", std::string("a\0", 2)).message() == "--title contains a NUL byte (byte offset 1)");
}

TEST_CASE("encodePost keeps every byte of the text it is given") {
  Post p = samplePost();
  p.body = "line one\nline two ✓";
  auto back = decodePost(encodePost(p));
  REQUIRE(back.ok());
  CHECK(back->body == p.body);
}

TEST_CASE("validateProfile refuses an empty name and text that is not UTF-8") {
  Profile p;
  CHECK(contains(validateProfile(p).message(), "needs a name"));
  p.name = "Women's Rights Collective";
  CHECK(validateProfile(p).ok());
  p.country = "\xff";
  CHECK(contains(validateProfile(p).message(), "country is not valid UTF-8"));
  p.country = "";
  p.name = std::string(400, 'n');
  CHECK(contains(validateProfile(p).message(), "limit"));
}

TEST_CASE("decode errors are one printable line, whatever bytes came in") {
  Bytes garbage(64);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(0xa0 + i);
  auto r = decodePost(garbage);
  REQUIRE_FALSE(r.ok());
  const std::string message = r.status().message();
  for (char c : message)
    CHECK_MESSAGE((static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f),
                  "unprintable byte in: " << message);
}

TEST_CASE("decodePost refuses a body over 64 KiB that another node encoded anyway") {
  // encodePost does not validate: a careless or hostile node can publish
  // such content, and the 64 KiB body limit holds on every decode.
  Post p = samplePost();
  p.body = std::string(kMaxBodyBytes + 1, 'b');
  Bytes content = encodePost(p);
  REQUIRE(content.size() <= kMaxContentBytes);
  auto back = decodePost(content);
  REQUIRE_FALSE(back.ok());
  CHECK(contains(back.status().message(), "body"));
  CHECK(contains(back.status().message(), std::to_string(kMaxBodyBytes)));

  p.body = std::string(kMaxBodyBytes, 'b');
  CHECK(decodePost(encodePost(p)).ok());
}

TEST_CASE("decodePost refuses content over the content limit") {
  Bytes huge(kMaxContentBytes + 8, 0);
  auto back = decodePost(huge);
  REQUIRE_FALSE(back.ok());
  CHECK(codeOf(back.status()) == "corruption");
}

TEST_CASE("decodePost refuses garbage without crashing") {
  CHECK_FALSE(decodePost(Bytes{}).ok());
  CHECK_FALSE(decodePost(Bytes(7, 0x41)).ok());
  CHECK_FALSE(decodePost(Bytes(64, 0xff)).ok());
  Bytes good = encodePost(samplePost());
  Bytes cut(good.begin(), good.begin() + 16);
  CHECK_FALSE(decodePost(cut).ok());
  Bytes odd = good;
  odd.push_back(0);
  CHECK_FALSE(decodePost(odd).ok());

  // Random words: whatever they decode to, nothing may throw or crash.
  std::mt19937 rng(12345);
  for (int i = 0; i < 500; ++i) {
    Bytes junk(8 * (1 + rng() % 32));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    auto r = decodePost(junk);
    if (r.ok()) CHECK(r->body.size() <= kMaxBodyBytes);
  }
  // Every single-byte corruption of a real post, too.
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0xff;
    auto r = decodePost(bad);
    if (r.ok()) CHECK(r->title.size() <= good.size());
  }
}

TEST_CASE("a text field without its NUL terminator is refused") {
  Bytes good = encodePost(samplePost());
  // The title is the first text after the struct: find its bytes and
  // overwrite the NUL that ends it.
  std::string title = samplePost().title;
  std::string all(good.begin(), good.end());
  auto pos = all.find(title);
  REQUIRE(pos != std::string::npos);
  Bytes bad = good;
  bad[pos + title.size()] = 'X';
  CHECK_FALSE(decodePost(bad).ok());
}

TEST_CASE("attestations and retractions survive encoding and decoding unchanged") {
  PublicKey feed = keyFromByte(7).publicKey();
  Admission a{feed, "Youth Voices", "Andes", "PE", {"education"}, {"youth-led"}, 1'800'000'000'000};
  auto a2 = decodeAdmission(encodeAdmission(a));
  REQUIRE(a2.ok());
  CHECK(*a2 == a);

  Revocation r{feed, 4, sha256(asBytes("pin")), "spam"};
  auto r2 = decodeRevocation(encodeRevocation(r));
  REQUIRE(r2.ok());
  CHECK(r2->feed == feed);
  CHECK(r2->pinSeq == 4);
  CHECK(r2->pinId == r.pinId);
  CHECK(r2->reason == "spam");

  EntryRef ref{feed, 9, sha256(asBytes("target"))};
  auto t2 = decodeTakedown(encodeTakedown({ref, "abuse"}));
  REQUIRE(t2.ok());
  CHECK(t2->target == ref);
  auto l2 = decodeLift(encodeLift({ref}));
  REQUIRE(l2.ok());
  CHECK(l2->revocation == ref);
  auto x2 = decodeRetraction(encodeRetraction({ref, "outdated"}));
  REQUIRE(x2.ok());
  CHECK(x2->target == ref);

  StewardSet set{2, sha256(asBytes("previous")), {keyFromByte(1).publicKey(), keyFromByte(2).publicKey()}, 2, {ref}};
  auto s2 = decodeStewardSet(encodeStewardSet(set));
  REQUIRE(s2.ok());
  CHECK(s2->epoch == 2);
  CHECK(s2->stewards == set.stewards);
  CHECK(s2->threshold == 2);
  REQUIRE(s2->pins.size() == 1);
  CHECK(s2->pins[0] == ref);
}

TEST_CASE("an attestation naming a key or id of the wrong size is refused") {
  Revocation r{keyFromByte(3).publicKey(), 0, Digest{}, ""};
  Bytes bytes = encodeRevocation(r);
  CHECK(decodeRevocation(bytes).ok());  // pin 0 needs no id
  CHECK_FALSE(decodeAdmission(encodePost(Post{})).ok());
  CHECK_FALSE(decodeStewardSet(Bytes(16, 0)).ok());
}

TEST_CASE("a profile survives encodeProfile and decodeProfile unchanged") {
  Profile p;
  p.name = "Women's Rights Network";
  p.region = "East Africa";
  p.country = "KE";
  p.focusAreas = {"gender equality", "legal aid"};
  p.labels = {"women-led"};
  p.contact = "info@example.org";
  p.nodes.push_back({keyFromByte(30).publicKey(), {"node1.example.org:7420", "10.0.0.1:7420"}});
  p.nodes.push_back({keyFromByte(31).publicKey(), {}});
  Bytes a = encodeProfile(p);
  CHECK(a == encodeProfile(p));
  auto back = decodeProfile(a);
  REQUIRE(back.ok());
  CHECK(back->name == p.name);
  CHECK(back->region == p.region);
  CHECK(back->country == p.country);
  CHECK(back->focusAreas == p.focusAreas);
  CHECK(back->labels == p.labels);
  CHECK(back->contact == p.contact);
  REQUIRE(back->nodes.size() == 2);
  CHECK(back->nodes[0].nodeKey == p.nodes[0].nodeKey);
  CHECK(back->nodes[0].addresses == p.nodes[0].addresses);
  CHECK(back->nodes[1].nodeKey == p.nodes[1].nodeKey);
  CHECK(back->nodes[1].addresses.empty());
}

TEST_CASE("decodeProfile refuses garbage without crashing") {
  CHECK_FALSE(decodeProfile(Bytes{}).ok());
  CHECK_FALSE(decodeProfile(Bytes(64, 0xff)).ok());
  CHECK_FALSE(decodeProfile(Bytes(13, 0)).ok());
}

}  // TEST_SUITE
}  // namespace
}  // namespace civnet::record

// Canonical encoding and limited decoding of post and profile content.
#include "content.hpp"

#include <cstring>
#include <tuple>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "detail/capnp_errors.hpp"
#include "entry.capnp.h"

namespace civnet::record {
namespace {

capnp::Data::Reader dataOf(ByteView b) { return capnp::Data::Reader(b.data(), b.size()); }

void setRef(wire::EntryRef::Builder b, const EntryRef& r) {
  b.setAuthor(dataOf(r.author.view()));
  b.setSeq(r.seq);
  b.setId(dataOf(r.id.view()));
}

std::optional<EntryRef> getRef(wire::EntryRef::Reader r) {
  EntryRef out;
  out.seq = r.getSeq();
  auto a = r.getAuthor();
  auto i = r.getId();
  if (!PublicKey::fromView(ByteView(a.begin(), a.size()), out.author) ||
      !Digest::fromView(ByteView(i.begin(), i.size()), out.id))
    return std::nullopt;
  return out;
}

// With its explicit size: passing a std::string would go through c_str()
// and cut the text at an embedded NUL.
capnp::Text::Reader textOf(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

template <typename List>
void setTexts(List list, const std::vector<std::string>& v) {
  for (unsigned i = 0; i < v.size(); ++i) list.set(i, textOf(v[i]));
}

// Returns the offset of the first byte that is not part of valid UTF-8 (or
// is a NUL), or npos when `s` is clean.
std::size_t badTextOffset(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return i;
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return i;
      cp = cp << 6 | (cc & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
      return i;
    i += n;
  }
  return std::string_view::npos;
}


template <typename List>
std::vector<std::string> getTexts(List list) {
  std::vector<std::string> v;
  v.reserve(list.size());
  for (auto t : list) v.emplace_back(t.cStr(), t.size());
  return v;
}

Bytes canonicalBytes(capnp::MallocMessageBuilder& mb, auto reader) {
  (void)mb;
  auto words = capnp::canonicalize(reader);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// Decodes canonical content bytes (one segment, no segment table).
template <typename T, typename F>
auto decodeWith(ByteView content, F&& read) -> Result<decltype(read(std::declval<typename T::Reader>()))> {
  if (content.size() > kMaxContentBytes)
    return corruption("content is " + std::to_string(content.size()) + " bytes, limit " +
                      std::to_string(kMaxContentBytes));
  if (content.size() % 8 != 0) return corruption("content is not a whole number of words");
  try {
    auto words = kj::heapArray<capnp::word>(content.size() / 8);
    if (!content.empty()) std::memcpy(words.begin(), content.data(), content.size());
    kj::ArrayPtr<const capnp::word> seg = words.asPtr();
    capnp::ReaderOptions o;
    o.traversalLimitInWords = content.size() / 8 + 64;
    o.nestingLimit = kNestingLimit;
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&seg, 1), o);
    return read(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    return corruption(std::string("content does not decode: ") + detail::decodeError(e));
  }
}

}  // namespace

Status checkText(std::string_view field, std::string_view value) {
  std::size_t bad = badTextOffset(value);
  if (bad == std::string_view::npos) return {};
  if (value[bad] == 0)
    return invalidArgument(std::string(field) + " contains a NUL byte (byte offset " + std::to_string(bad) + ")");
  return invalidArgument(std::string(field) + " is not valid UTF-8 text (byte offset " + std::to_string(bad) + ")");
}

Status validatePost(const Post& p) {
  if (p.title.empty() && !p.replyTo) return invalidArgument("a post needs a title");
  if (p.replyTo && p.body.empty()) return invalidArgument("a comment needs a body");
  for (auto [field, value] : {std::pair<const char*, const std::string*>{"title", &p.title},
                              {"body", &p.body},
                              {"language", &p.language},
                              {"region", &p.region}})
    if (Status s = checkText(field, *value); !s.ok()) return s;
  for (const auto& t : p.tags)
    if (Status s = checkText("tag", t); !s.ok()) return s;
  for (const auto& t : p.topics)
    if (Status s = checkText("topic", t); !s.ok()) return s;
  if (p.title.size() > kMaxTitleBytes)
    return invalidArgument("title is " + std::to_string(p.title.size()) + " bytes, limit " +
                           std::to_string(kMaxTitleBytes));
  if (p.body.size() > kMaxBodyBytes)
    return invalidArgument("body is " + std::to_string(p.body.size()) + " bytes, limit " +
                           std::to_string(kMaxBodyBytes));
  if (p.tags.size() > kMaxTags)
    return invalidArgument("a post has at most " + std::to_string(kMaxTags) + " tags");
  for (const auto& t : p.tags) {
    if (t.empty() || t.size() > kMaxTagBytes)
      return invalidArgument("tag \"" + t.substr(0, 80) + "\" must be 1 to " +
                             std::to_string(kMaxTagBytes) + " bytes");
    for (unsigned char c : t)
      if (c < 0x20 || c == 0x7f || c == ',')
        return invalidArgument("tag \"" + t.substr(0, 80) +
                               "\" holds a control character or a comma");
  }
  if (p.language.size() > 35) return invalidArgument("language tag is too long");
  if (p.region.size() > 100) return invalidArgument("region is too long");
  return {};
}

Status validateProfile(const Profile& p) {
  if (p.name.empty()) return invalidArgument("an organization's profile needs a name");
  if (p.name.size() > kMaxTitleBytes)
    return invalidArgument("organization name is " + std::to_string(p.name.size()) + " bytes, limit " +
                           std::to_string(kMaxTitleBytes));
  for (auto [field, value] : {std::pair<const char*, const std::string*>{"organization name", &p.name},
                              {"region", &p.region},
                              {"country", &p.country},
                              {"contact", &p.contact}})
    if (Status s = checkText(field, *value); !s.ok()) return s;
  for (auto [field, value, limit] : {std::tuple<const char*, const std::string*, std::size_t>{"region", &p.region, 100},
                                     {"country", &p.country, 100},
                                     {"contact", &p.contact, kMaxTitleBytes}})
    if (value->size() > limit)
      return invalidArgument(std::string(field) + " is " + std::to_string(value->size()) + " bytes, limit " +
                             std::to_string(limit));
  for (auto [field, list] : {std::pair<const char*, const std::vector<std::string>*>{"focus area", &p.focusAreas},
                             {"label", &p.labels}}) {
    if (list->size() > kMaxTags)
      return invalidArgument(std::string("a profile has at most ") + std::to_string(kMaxTags) + " " + field + "s");
    for (const auto& t : *list) {
      if (Status s = checkText(field, t); !s.ok()) return s;
      if (t.empty() || t.size() > kMaxTagBytes)
        return invalidArgument(std::string(field) + " \"" + t.substr(0, 80) + "\" must be 1 to " +
                               std::to_string(kMaxTagBytes) + " bytes");
    }
  }
  return {};
}

Bytes encodePost(const Post& p) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Post>();
  b.setTitle(textOf(p.title));
  b.setBody(textOf(p.body));
  setTexts(b.initTags(p.tags.size()), p.tags);
  setTexts(b.initTopics(p.topics.size()), p.topics);
  b.setLanguage(textOf(p.language));
  b.setRegion(textOf(p.region));
  if (p.replyTo) setRef(b.initReplyTo(), *p.replyTo);
  if (p.revises) setRef(b.initRevises(), *p.revises);
  return canonicalBytes(mb, b.asReader());
}

Result<Post> decodePost(ByteView content) {
  auto post = decodeWith<wire::Post>(content, [](wire::Post::Reader r) {
    Post p;
    p.title = r.getTitle();
    p.body = r.getBody();
    p.tags = getTexts(r.getTags());
    p.topics = getTexts(r.getTopics());
    p.language = r.getLanguage();
    p.region = r.getRegion();
    if (r.hasReplyTo()) p.replyTo = getRef(r.getReplyTo());
    if (r.hasRevises()) p.revises = getRef(r.getRevises());
    return p;
  });
  // The body limit holds on every decode, not only when publishing here:
  // the content limit alone would let another node's 90 KiB body through.
  if (post.ok() && post->body.size() > kMaxBodyBytes)
    return corruption("post body is " + std::to_string(post->body.size()) + " bytes, limit " +
                      std::to_string(kMaxBodyBytes));
  return post;
}

Bytes encodeProfile(const Profile& p) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Profile>();
  b.setName(textOf(p.name));
  b.setRegion(textOf(p.region));
  b.setCountry(textOf(p.country));
  setTexts(b.initFocusAreas(p.focusAreas.size()), p.focusAreas);
  setTexts(b.initLabels(p.labels.size()), p.labels);
  b.setContact(textOf(p.contact));
  auto nodes = b.initNodes(p.nodes.size());
  for (unsigned i = 0; i < p.nodes.size(); ++i) {
    nodes[i].setNodeKey(dataOf(p.nodes[i].nodeKey.view()));
    setTexts(nodes[i].initAddresses(p.nodes[i].addresses.size()), p.nodes[i].addresses);
  }
  return canonicalBytes(mb, b.asReader());
}

Result<Profile> decodeProfile(ByteView content) {
  return decodeWith<wire::Profile>(content, [](wire::Profile::Reader r) {
    Profile p;
    p.name = r.getName();
    p.region = r.getRegion();
    p.country = r.getCountry();
    p.focusAreas = getTexts(r.getFocusAreas());
    p.labels = getTexts(r.getLabels());
    p.contact = r.getContact();
    for (auto n : r.getNodes()) {
      HostingNode h;
      auto k = n.getNodeKey();
      PublicKey::fromView(ByteView(k.begin(), k.size()), h.nodeKey);
      h.addresses = getTexts(n.getAddresses());
      p.nodes.push_back(std::move(h));
    }
    return p;
  });
}

}  // namespace civnet::record

// --- the stewards' attestations and retractions ---------------------------

namespace civnet::record {
namespace {

capnp::Data::Reader bytesOf(ByteView b) { return capnp::Data::Reader(b.data(), b.size()); }

template <typename T>
bool fixedFrom(capnp::Data::Reader d, T& out) {
  return T::fromView(ByteView(d.begin(), d.size()), out);
}

void putRef(wire::EntryRef::Builder b, const EntryRef& r) {
  b.setAuthor(bytesOf(r.author.view()));
  b.setSeq(r.seq);
  b.setId(bytesOf(r.id.view()));
}

Result<EntryRef> takeRef(wire::EntryRef::Reader r, const char* what) {
  EntryRef out;
  out.seq = r.getSeq();
  if (!fixedFrom(r.getAuthor(), out.author) || !fixedFrom(r.getId(), out.id))
    return corruption(std::string(what) + " is not a complete entry reference");
  return out;
}

template <typename Builder>
Bytes finish(Builder b) {
  auto words = capnp::canonicalize(b.asReader());
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// decodeWith for readers that can refuse: flattens Result<Result<X>>.
template <typename T, typename F>
auto decodeChecked(ByteView content, F&& read) -> decltype(read(std::declval<typename T::Reader>())) {
  auto r = decodeWith<T>(content, std::forward<F>(read));
  if (!r.ok()) return r.status();
  return std::move(r).value();
}

}  // namespace

Bytes encodeAdmission(const Admission& a) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Admission>();
  b.setFeed(bytesOf(a.feed.view()));
  b.setName(textOf(a.name));
  b.setRegion(textOf(a.region));
  b.setCountry(textOf(a.country));
  setTexts(b.initFocusAreas(a.focusAreas.size()), a.focusAreas);
  setTexts(b.initLabels(a.labels.size()), a.labels);
  b.setExpiresAt(a.expiresAt);
  return finish(b);
}

Result<Admission> decodeAdmission(ByteView content) {
  return decodeChecked<wire::Admission>(content, [](wire::Admission::Reader r) -> Result<Admission> {
    Admission a;
    if (!fixedFrom(r.getFeed(), a.feed)) return corruption("admission names no 32-byte feed key");
    a.name = r.getName();
    a.region = r.getRegion();
    a.country = r.getCountry();
    a.focusAreas = getTexts(r.getFocusAreas());
    a.labels = getTexts(r.getLabels());
    a.expiresAt = r.getExpiresAt();
    return a;
  });
}

Bytes encodeRevocation(const Revocation& v) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Revocation>();
  b.setFeed(bytesOf(v.feed.view()));
  b.setPinSeq(v.pinSeq);
  if (v.pinSeq > 0) b.setPinId(bytesOf(v.pinId.view()));
  b.setReason(textOf(v.reason));
  return finish(b);
}

Result<Revocation> decodeRevocation(ByteView content) {
  return decodeChecked<wire::Revocation>(content, [](wire::Revocation::Reader r) -> Result<Revocation> {
    Revocation v;
    if (!fixedFrom(r.getFeed(), v.feed)) return corruption("revocation names no 32-byte feed key");
    v.pinSeq = r.getPinSeq();
    if (v.pinSeq > 0 && !fixedFrom(r.getPinId(), v.pinId))
      return corruption("revocation pinned at a seq needs the 32-byte id of the entry there");
    v.reason = r.getReason();
    return v;
  });
}

Bytes encodeLift(const Lift& l) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Lift>();
  putRef(b.initRevocation(), l.revocation);
  return finish(b);
}

Result<Lift> decodeLift(ByteView content) {
  return decodeChecked<wire::Lift>(content, [](wire::Lift::Reader r) -> Result<Lift> {
    auto ref = takeRef(r.getRevocation(), "lift's revocation");
    if (!ref.ok()) return ref.status();
    return Lift{*ref};
  });
}

Bytes encodeTakedown(const Takedown& t) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Takedown>();
  putRef(b.initTarget(), t.target);
  b.setReason(textOf(t.reason));
  return finish(b);
}

Result<Takedown> decodeTakedown(ByteView content) {
  return decodeChecked<wire::Takedown>(content, [](wire::Takedown::Reader r) -> Result<Takedown> {
    auto ref = takeRef(r.getTarget(), "takedown's target");
    if (!ref.ok()) return ref.status();
    return Takedown{*ref, r.getReason()};
  });
}

Bytes encodeRetraction(const Retraction& t) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Retraction>();
  putRef(b.initTarget(), t.target);
  b.setReason(textOf(t.reason));
  return finish(b);
}

Result<Retraction> decodeRetraction(ByteView content) {
  return decodeChecked<wire::Retraction>(content, [](wire::Retraction::Reader r) -> Result<Retraction> {
    auto ref = takeRef(r.getTarget(), "retraction's target");
    if (!ref.ok()) return ref.status();
    return Retraction{*ref, r.getReason()};
  });
}

Bytes encodeStewardSet(const StewardSet& s) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::StewardSet>();
  b.setEpoch(s.epoch);
  b.setPrevious(bytesOf(s.previous.view()));
  auto list = b.initStewards(s.stewards.size());
  for (unsigned i = 0; i < s.stewards.size(); ++i) list.set(i, bytesOf(s.stewards[i].view()));
  b.setThreshold(s.threshold);
  auto pins = b.initPins(s.pins.size());
  for (unsigned i = 0; i < s.pins.size(); ++i) putRef(pins[i], s.pins[i]);
  return finish(b);
}

Result<StewardSet> decodeStewardSet(ByteView content) {
  return decodeChecked<wire::StewardSet>(content, [](wire::StewardSet::Reader r) -> Result<StewardSet> {
    StewardSet s;
    s.epoch = r.getEpoch();
    if (!fixedFrom(r.getPrevious(), s.previous)) return corruption("steward set names no previous set hash");
    for (auto k : r.getStewards()) {
      PublicKey pk;
      if (!PublicKey::fromView(ByteView(k.begin(), k.size()), pk))
        return corruption("steward set holds a steward key that is not 32 bytes");
      s.stewards.push_back(pk);
    }
    s.threshold = r.getThreshold();
    for (auto p : r.getPins()) {
      auto ref = takeRef(p, "steward set pin");
      if (!ref.ok()) return ref.status();
      s.pins.push_back(*ref);
    }
    return s;
  });
}

}  // namespace civnet::record

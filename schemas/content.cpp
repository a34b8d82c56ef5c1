// Canonical encoding and limited decoding of post and profile content.
#include "content.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

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

template <typename List>
void setTexts(List list, const std::vector<std::string>& v) {
  for (unsigned i = 0; i < v.size(); ++i) list.set(i, v[i]);
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
    return corruption(std::string("content does not decode: ") + e.getDescription().cStr());
  }
}

}  // namespace

Status validatePost(const Post& p) {
  if (p.title.empty()) return invalidArgument("a post needs a title");
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

Bytes encodePost(const Post& p) {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Post>();
  b.setTitle(p.title);
  b.setBody(p.body);
  setTexts(b.initTags(p.tags.size()), p.tags);
  setTexts(b.initTopics(p.topics.size()), p.topics);
  b.setLanguage(p.language);
  b.setRegion(p.region);
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
  b.setName(p.name);
  b.setRegion(p.region);
  b.setCountry(p.country);
  setTexts(b.initFocusAreas(p.focusAreas.size()), p.focusAreas);
  setTexts(b.initLabels(p.labels.size()), p.labels);
  b.setContact(p.contact);
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

// Content of the kinds the node itself writes and shows: posts and profiles.
//
// Plain C++ mirrors of the Cap'n Proto structs in entry.capnp, so the store,
// the daemon and the tools can build and read content without including
// generated headers. Encoding is canonical, so one post gives one hash.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto.hpp"
#include "record.hpp"

namespace civnet::record {

struct EntryRef {
  PublicKey author;
  std::uint64_t seq = 0;
  Digest id;
  auto operator<=>(const EntryRef&) const = default;
};

struct Post {
  std::string title;
  std::string body;  // Markdown
  std::vector<std::string> tags;
  std::vector<std::string> topics;
  std::string language;
  std::string region;
  std::optional<EntryRef> replyTo;
  std::optional<EntryRef> revises;
};

struct HostingNode {
  PublicKey nodeKey;
  std::vector<std::string> addresses;
  bool operator==(const HostingNode&) const = default;
};

struct Profile {
  std::string name;
  std::string region;
  std::string country;
  std::vector<std::string> focusAreas;
  std::vector<std::string> labels;
  std::string contact;
  std::vector<HostingNode> nodes;
  bool operator==(const Profile&) const = default;
};

// The stewards' attestations and an author's retraction (see entry.capnp).
struct Admission {
  PublicKey feed;
  std::string name;
  std::string region;
  std::string country;
  std::vector<std::string> focusAreas;
  std::vector<std::string> labels;
  std::int64_t expiresAt = 0;  // ms since the epoch; 0 = never
  bool operator==(const Admission&) const = default;
};

struct Revocation {
  PublicKey feed;
  std::uint64_t pinSeq = 0;  // entries after this seq are refused
  Digest pinId;              // id of the entry at pinSeq; zero when pinSeq = 0
  std::string reason;
};

struct Lift {
  EntryRef revocation;  // the steward's own revocation entry
};

struct Takedown {
  EntryRef target;
  std::string reason;
};

struct Retraction {
  EntryRef target;  // an entry of the retraction's own author
  std::string reason;
};

struct StewardSet {
  std::uint64_t epoch = 0;
  Digest previous;  // epoch 1: the network id; later: hash of the previous set's content
  std::vector<PublicKey> stewards;
  std::uint32_t threshold = 1;
  std::vector<EntryRef> pins;  // removed stewards' last counting entries
};

// A post that gives `root` a new text: it revises it and is not a comment.
// (Only the root's own feed revises it; the store indexes only those.)
inline bool isRevisionOf(const Post& p, const Digest& root) {
  return !p.replyTo && p.revises && p.revises->id == root;
}

// Limits on what a post may hold, checked by validatePost before publishing.
inline constexpr std::size_t kMaxTitleBytes = 300;
inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxTagBytes = 64;

// Refuses a post a member should not be able to publish: an empty title
// (a comment, with replyTo, needs a body instead), an oversized title or
// body, too many or malformed tags. The message names the
// field and the limit.
Status validatePost(const Post& p);

// Refuses a profile with an empty or oversized name, any text field that
// is not valid UTF-8 or holds a NUL byte, a region or country over 100
// bytes, a contact over 300, more than 32 focus areas or labels, or an
// empty one or one over 64 bytes.
Status validateProfile(const Profile& p);

// Why `value` is not acceptable text for `field` (invalid UTF-8, or a NUL
// byte, with its offset), or ok.
Status checkText(std::string_view field, std::string_view value);

Bytes encodePost(const Post& p);
Bytes encodeProfile(const Profile& p);

Bytes encodeAdmission(const Admission& a);
Bytes encodeRevocation(const Revocation& r);
Bytes encodeLift(const Lift& l);
Bytes encodeTakedown(const Takedown& t);
Bytes encodeRetraction(const Retraction& r);
Bytes encodeStewardSet(const StewardSet& s);

// Decoding applies the record limits; content is not trusted. Attestations
// whose keys or ids have the wrong size are refused.
Result<Admission> decodeAdmission(ByteView content);
Result<Revocation> decodeRevocation(ByteView content);
Result<Lift> decodeLift(ByteView content);
Result<Takedown> decodeTakedown(ByteView content);
Result<Retraction> decodeRetraction(ByteView content);
Result<StewardSet> decodeStewardSet(ByteView content);

Result<Post> decodePost(ByteView content);
Result<Profile> decodeProfile(ByteView content);

}  // namespace civnet::record

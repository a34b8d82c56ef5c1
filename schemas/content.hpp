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
};

struct Profile {
  std::string name;
  std::string region;
  std::string country;
  std::vector<std::string> focusAreas;
  std::vector<std::string> labels;
  std::string contact;
  std::vector<HostingNode> nodes;
};

// Limits on what a post may hold, checked by validatePost before publishing.
inline constexpr std::size_t kMaxTitleBytes = 300;
inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxTagBytes = 64;

// Refuses a post a member should not be able to publish: empty or oversized
// title, oversized body, too many or malformed tags. The message names the
// field and the limit.
Status validatePost(const Post& p);

// Refuses a profile with an empty or oversized name, or any text field that
// is not valid UTF-8 or holds a NUL byte.
Status validateProfile(const Profile& p);

// Why `value` is not acceptable text for `field` (invalid UTF-8, or a NUL
// byte, with its offset), or ok.
Status checkText(std::string_view field, std::string_view value);

Bytes encodePost(const Post& p);
Bytes encodeProfile(const Profile& p);

// Decoding applies the record limits; content is not trusted.
Result<Post> decodePost(ByteView content);
Result<Profile> decodeProfile(ByteView content);

}  // namespace civnet::record

// What the fuzz targets do with an entry's content: decode it as its kind
// says, and run the checks a post or profile gets before it is shown.
#pragma once

#include "schemas/content.hpp"
#include "schemas/record.hpp"

namespace civnet::fuzz {

inline void decodeContent(std::uint16_t kind, ByteView content) {
  using record::Kind;
  switch (static_cast<Kind>(kind)) {
    case Kind::post:
      if (auto p = record::decodePost(content); p.ok()) (void)record::validatePost(*p);
      break;
    case Kind::profile:
      if (auto p = record::decodeProfile(content); p.ok()) (void)record::validateProfile(*p);
      break;
    case Kind::admission: (void)record::decodeAdmission(content); break;
    case Kind::revocation: (void)record::decodeRevocation(content); break;
    case Kind::lift: (void)record::decodeLift(content); break;
    case Kind::takedown: (void)record::decodeTakedown(content); break;
    case Kind::retraction: (void)record::decodeRetraction(content); break;
    case Kind::stewardSet: (void)record::decodeStewardSet(content); break;
    default: break;
  }
}

// Everything a node does with a signed entry it was sent, short of storing
// it: parse, check the signature, decode the content (even when the
// signature fails, so that the decoders see every input).
inline void examineEntry(const record::SignedEntry& se) {
  record::Entry e;
  record::Check c = record::parseEntry(se, e);
  (void)c.describe();
  if (!c.ok()) return;
  (void)record::verifySignature(e);
  if (se.content) decodeContent(e.header.kind, *se.content);
}

}  // namespace civnet::fuzz

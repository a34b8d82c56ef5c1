// The network genesis: name, stewards' feed keys, threshold k, creation
// time, and the stewards' signatures. The network id is the SHA-256 of the
// canonical genesis body (signatures excluded, so the id is fixed by the
// draft). See schemas/genesis.capnp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto.hpp"

namespace civnet::record {

struct StewardSignature {
  PublicKey steward;
  Signature signature;
};

struct Genesis {
  std::string name;
  std::vector<PublicKey> stewards;
  std::uint32_t threshold = 1;
  std::int64_t createdAt = 0;  // ms since the Unix epoch
  std::vector<StewardSignature> signatures;

  // Canonical bytes of the body (what is signed and hashed).
  Bytes body() const;
  Digest networkId() const;
  // Adds (or replaces) `key`'s signature. REQUIRES: key is a steward.
  Status sign(const PrivateKey& key);
  // A well-formed draft: a name (UTF-8), at least one steward, no steward
  // twice, 1 <= k <= number of stewards. Signatures are not looked at.
  Status checkBody() const;
  // Whether `sig` is a valid signature of this genesis by `sig.steward`.
  bool verifySignature(const StewardSignature& sig) const;
  // A genesis a node accepts: checkBody(), and a valid signature from every
  // steward (and from no one else).
  Status checkComplete() const;
};

// The file form: a framed SignedGenesis message.
Bytes encodeGenesisFile(const Genesis& g);
Result<Genesis> decodeGenesisFile(ByteView bytes);
Result<Genesis> readGenesisFile(const std::filesystem::path& path);

}  // namespace civnet::record

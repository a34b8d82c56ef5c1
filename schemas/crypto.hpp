// The record crypto: SHA-256, Ed25519 keys and signatures, key files.
//
// This header and crypto.cpp are the only place (with the TLS context factory
// in federation/) where OpenSSL is used; everything else sees these small
// value types. Keys are shown as 64 lowercase hex characters, or a 12-char
// prefix for people. Private keys never leave this module as text, and are
// never logged.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "status.hpp"

namespace civnet {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView asBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string toHex(ByteView bytes);
// REQUIRES: out.size() * 2 == hex.size(). Returns false on a non-hex digit.
bool fromHex(std::string_view hex, std::span<std::uint8_t> out);

// A fixed-size byte string with hex conversion; the base of the key types.
template <std::size_t N, typename Tag>
struct FixedBytes {
  static constexpr std::size_t kSize = N;
  std::array<std::uint8_t, N> bytes{};

  ByteView view() const { return {bytes.data(), N}; }
  std::string hex() const { return toHex(view()); }
  std::string shortHex() const { return hex().substr(0, 12); }
  bool isZero() const {
    for (auto b : bytes) if (b) return false;
    return true;
  }
  // Returns false unless `in` has exactly N bytes.
  static bool fromView(ByteView in, FixedBytes& out) {
    if (in.size() != N) return false;
    std::copy(in.begin(), in.end(), out.bytes.begin());
    return true;
  }
  static Result<FixedBytes> parseHex(std::string_view hex, std::string_view what) {
    FixedBytes out;
    if (hex.size() != 2 * N || !fromHex(hex, out.bytes))
      return invalidArgument(std::string(what) + " must be " + std::to_string(2 * N) +
                             " hex characters, got \"" + std::string(hex.substr(0, 80)) + "\"");
    return out;
  }
  auto operator<=>(const FixedBytes&) const = default;
};

struct DigestTag {};
struct PublicKeyTag {};
struct SignatureTag {};
using Digest = FixedBytes<32, DigestTag>;        // SHA-256
using PublicKey = FixedBytes<32, PublicKeyTag>;  // Ed25519 public key
using Signature = FixedBytes<64, SignatureTag>;  // Ed25519 signature

Digest sha256(ByteView data);

// Incremental SHA-256 for digests over many pieces (frontier digests).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(ByteView data);
  Digest finish();

 private:
  void* ctx_;  // EVP_MD_CTX, opaque here to keep OpenSSL out of this header
};

class PrivateKey;
Result<std::string> makeSelfSignedCertPem(const PrivateKey& key, const std::string& commonName);

// An Ed25519 private key. Move-only; the key material is wiped on destruction.
class PrivateKey {
 public:
  static PrivateKey generate();
  // From a 32-byte RFC 8032 seed (used by the test vectors).
  static Result<PrivateKey> fromSeed(ByteView seed);

  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  const PublicKey& publicKey() const { return public_; }

  // Ed25519 over `message` (the caller adds any domain-separation tag).
  Signature sign(ByteView message) const;

  // PKCS#8 PEM, the form key files and TLS use.
  std::string toPem() const;
  static Result<PrivateKey> fromPem(std::string_view pem);

 private:
  friend Result<std::string> makeSelfSignedCertPem(const PrivateKey&, const std::string&);
  PrivateKey() = default;
  void* pkey_ = nullptr;  // EVP_PKEY
  PublicKey public_;
};

bool verifySignature(const PublicKey& key, ByteView message, const Signature& sig);

// Key files: PKCS#8 PEM, mode 0600, created with O_EXCL so an existing key
// is never overwritten. Loading refuses a file that group or others can read.
Status saveKeyFile(const std::filesystem::path& path, const PrivateKey& key);
Result<PrivateKey> loadKeyFile(const std::filesystem::path& path);

// A self-signed X.509 certificate carrying `key` (the node's TLS identity).
// The pin is the key; the dates are there only because X.509 wants them.
Result<std::string> makeSelfSignedCertPem(const PrivateKey& key, const std::string& commonName);

// A self-signed certificate browsers accept for HTTPS (ECDSA P-256,
// SHA-256, subjectAltName DNS `names` and IP `ips`, valid for `days` in
// all, from an hour ago), and
// its private key: {certificate PEM, PKCS#8 key PEM}. Ed25519 node
// certificates do not work in browsers, so the member interface has its own.
struct WebCert {
  std::string certPem;
  std::string keyPem;
};
Result<WebCert> makeSelfSignedWebCert(const std::string& commonName, const std::vector<std::string>& names,
                                      const std::vector<std::string>& ips, int days);

// Fills `out` with cryptographically secure random bytes.
void randomBytes(std::span<std::uint8_t> out);

// scrypt (RFC 7914) through OpenSSL's KDF interface: `outLen` bytes derived
// from `password` and `salt` with cost N (a power of 2), block size r and
// parallelism p. Uses about 128 * N * r bytes of memory.
Result<Bytes> scrypt(std::string_view password, ByteView salt, std::uint64_t n, std::uint32_t r, std::uint32_t p,
                     std::size_t outLen);

// Equal bytes, compared in time that does not depend on where they differ.
bool constantTimeEqual(ByteView a, ByteView b);

}  // namespace civnet

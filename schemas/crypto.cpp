// OpenSSL 3 EVP implementation of the record crypto (see crypto.hpp).
#include "crypto.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace civnet {
namespace {

std::string opensslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

[[noreturn]] void fatal(const char* what) {
  throw std::runtime_error(std::string("OpenSSL: ") + what + ": " + opensslError());
}

EVP_PKEY* asPkey(void* p) { return static_cast<EVP_PKEY*>(p); }

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };

PublicKey rawPublic(EVP_PKEY* pkey) {
  PublicKey pub;
  size_t len = pub.bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey, pub.bytes.data(), &len) != 1 || len != 32)
    fatal("EVP_PKEY_get_raw_public_key");
  return pub;
}

}  // namespace

std::string toHex(ByteView bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

bool fromHex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

namespace {
// SHA-256 fetched from the default provider once. EVP_sha256() makes every
// digest fetch it again, under the provider store's lock: at the 200,000
// hashes a second that ingest needs, that lookup cost as much as the hash.
const EVP_MD* sha256Md() {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!m) fatal("EVP_MD_fetch SHA256");
    return m;
  }();
  return md;
}
}  // namespace

Digest sha256(ByteView data) {
  Digest d;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.bytes.data(), &len, sha256Md(), nullptr) != 1)
    fatal("EVP_Digest");
  return d;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256Md(), nullptr) != 1)
    fatal("EVP_DigestInit_ex");
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::update(ByteView data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1)
    fatal("EVP_DigestUpdate");
}
Digest Sha256::finish() {
  Digest d;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), d.bytes.data(), &len) != 1)
    fatal("EVP_DigestFinal_ex");
  return d;
}

PrivateKey PrivateKey::generate() {
  std::array<std::uint8_t, 32> seed;
  randomBytes(seed);
  auto key = fromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!key.ok()) throw std::runtime_error(key.status().message());
  return std::move(key).value();
}

Result<PrivateKey> PrivateKey::fromSeed(ByteView seed) {
  if (seed.size() != 32) return invalidArgument("an Ed25519 seed has 32 bytes");
  EVP_PKEY* pkey =
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!pkey) return internalError("EVP_PKEY_new_raw_private_key: " + opensslError());
  PrivateKey k;
  k.pkey_ = pkey;
  k.public_ = rawPublic(pkey);
  return k;
}

PrivateKey::PrivateKey(PrivateKey&& o) noexcept : pkey_(o.pkey_), public_(o.public_) {
  o.pkey_ = nullptr;
}
PrivateKey& PrivateKey::operator=(PrivateKey&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(asPkey(pkey_));  // OpenSSL clears private key material on free
    pkey_ = o.pkey_;
    public_ = o.public_;
    o.pkey_ = nullptr;
  }
  return *this;
}
PrivateKey::~PrivateKey() { EVP_PKEY_free(asPkey(pkey_)); }

Signature PrivateKey::sign(ByteView message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  // Ed25519 takes no digest: pass null, and sign in one shot.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, asPkey(pkey_)) != 1)
    fatal("EVP_DigestSignInit");
  Signature sig;
  size_t len = sig.bytes.size();
  if (EVP_DigestSign(ctx.get(), sig.bytes.data(), &len, message.data(), message.size()) != 1 ||
      len != 64)
    fatal("EVP_DigestSign");
  return sig;
}

std::string PrivateKey::toPem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), asPkey(pkey_), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1)
    fatal("PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!pkey) {
    ERR_clear_error();
    return corruption("not a PEM private key");
  }
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return invalidArgument("not an Ed25519 key");
  }
  PrivateKey k;
  k.pkey_ = pkey;
  k.public_ = rawPublic(pkey);
  return k;
}

namespace {

// An Ed25519 point encoding: y in the low 255 bits, little-endian, and the
// sign of x in the top bit.
using PointBytes = std::span<const std::uint8_t, 32>;

// Whether y >= p = 2^255 - 19 (a second encoding of y - p).
bool nonCanonicalY(PointBytes enc) {
  if ((enc[31] & 0x7f) != 0x7f) return false;
  for (std::size_t i = 1; i < 31; ++i)
    if (enc[i] != 0xff) return false;
  return enc[0] >= 0xed;
}

// Whether the point is of small order (dividing 8): y is 0, 1, p - 1 or one
// of the two y of the points of order 8, whatever the sign bit.
bool smallOrder(PointBytes enc) {
  static constexpr std::uint8_t kSmallOrderY[][32] = {
      {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // order 4
      {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
       0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},  // identity
      {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  // order 2
      {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
       0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},  // order 8
      {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
       0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},  // order 8
  };
  for (const auto& y : kSmallOrderY)
    if (std::memcmp(y, enc.data(), 31) == 0 && y[31] == (enc[31] & 0x7f)) return true;
  return false;
}

// A point civnet takes as a public key or as a signature's R: canonical and
// not of small order (RFC 8032 allows both; libsodium refuses them, and so do we).
bool strictPoint(PointBytes enc) { return !nonCanonicalY(enc) && !smallOrder(enc); }

}  // namespace

bool verifySignature(const PublicKey& key, ByteView message, const Signature& sig) {
  // Refused before OpenSSL sees them: a key or R of small order, for which
  // signatures can be made without the private key, and non-canonical
  // encodings, which Ed25519 implementations judge differently. So every
  // node's verdict is the same whatever its OpenSSL (tests: the "Taming the
  // many EdDSAs" edge-case vectors in crypto_test.cpp).
  if (!strictPoint(PointBytes(key.bytes.data(), 32)) || !strictPoint(PointBytes(sig.bytes.data(), 32))) return false;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.bytes.data(),
                                               key.bytes.size());
  if (!pkey) {
    ERR_clear_error();
    return false;  // not a valid curve point
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), sig.bytes.data(), sig.bytes.size(), message.data(),
                             message.size()) == 1;
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  return ok;
}

Status saveKeyFile(const std::filesystem::path& path, const PrivateKey& key) {
  std::string pem = key.toPem();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    OPENSSL_cleanse(pem.data(), pem.size());
    if (err == EEXIST) return alreadyExists("key file " + path.string() + " already exists");
    return ioError("creating key file " + path.string() + ": " + std::strerror(err));
  }
  size_t off = 0;
  Status st;
  while (off < pem.size()) {
    ssize_t n = ::write(fd, pem.data() + off, pem.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      st = ioError("writing key file " + path.string() + ": " + std::strerror(errno));
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (st.ok() && ::fsync(fd) != 0)
    st = ioError("syncing key file " + path.string() + ": " + std::strerror(errno));
  ::close(fd);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

Result<PrivateKey> loadKeyFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return notFound("key file " + path.string() + " does not exist");
    return ioError("opening key file " + path.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ioError("reading key file " + path.string() + ": " + std::strerror(err));
  }
  if (st.st_mode & 077) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return permissionDenied("key file " + path.string() + " is readable by others (mode " +
                            mode + "); run: chmod 600 " + path.string());
  }
  if (st.st_size > 16 * 1024) {
    ::close(fd);
    return corruption("key file " + path.string() + " is too large to be a key");
  }
  std::string pem(static_cast<size_t>(st.st_size), '\0');
  size_t off = 0;
  while (off < pem.size()) {
    ssize_t n = ::read(fd, pem.data() + off, pem.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  pem.resize(off);
  auto key = PrivateKey::fromPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key.ok()) return key.status().withContext("key file " + path.string());
  return key;
}

namespace {

// A version 3 certificate for `key`, self-issued to `commonName`, with a
// random serial, valid from `fromSecs` to `untilSecs` from now; not signed.
Result<std::unique_ptr<X509, X509Free>> newCertificate(EVP_PKEY* key, const std::string& commonName, long fromSecs,
                                                       long untilSecs) {
  std::unique_ptr<X509, X509Free> x(X509_new());
  if (!x) return internalError("X509_new: " + opensslError());
  X509_set_version(x.get(), 2);
  std::array<std::uint8_t, 16> serial;
  randomBytes(serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial.data(), serial.size(), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), fromSecs);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), untilSecs);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(commonName.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);
  if (X509_set_pubkey(x.get(), key) != 1) return internalError("X509_set_pubkey: " + opensslError());
  return x;
}

// What `write` puts in a memory BIO, as text.
Result<std::string> pemText(const std::function<int(BIO*)>& write, const char* what) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return internalError(std::string(what) + ": " + opensslError());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

Result<std::string> makeSelfSignedCertPem(const PrivateKey& key, const std::string& commonName) {
  // Dates are ignored by civnet peers (the pin is the key); make them wide.
  auto x = newCertificate(static_cast<EVP_PKEY*>(key.pkey_), commonName, -24 * 3600, 100L * 365 * 24 * 3600);
  if (!x.ok()) return x.status();
  // Ed25519 takes no digest.
  if (X509_sign(x->get(), static_cast<EVP_PKEY*>(key.pkey_), nullptr) <= 0)
    return internalError("X509_sign: " + opensslError());
  return pemText([&](BIO* b) { return PEM_write_bio_X509(b, x->get()); }, "PEM_write_bio_X509");
}

void randomBytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) fatal("RAND_bytes");
}

Result<WebCert> makeSelfSignedWebCert(const std::string& commonName, const std::vector<std::string>& names,
                                      const std::vector<std::string>& ips, int days) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) return internalError("EVP_EC_gen: " + opensslError());
  // Valid from an hour ago (clocks differ), for `days` in all: browsers
  // refuse a TLS certificate valid for over 825 days, counted from
  // notBefore to notAfter.
  auto made = newCertificate(key.get(), commonName, -3600, static_cast<long>(days) * 24 * 3600 - 3600);
  if (!made.ok()) return made.status();
  std::unique_ptr<X509, X509Free> x = std::move(made).value();
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "" : ",") + std::string("DNS:") + n;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  auto addExt = [&](int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return false;
    const bool ok = X509_add_ext(x.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
  };
  if ((!san.empty() && !addExt(NID_subject_alt_name, san)) || !addExt(NID_basic_constraints, "critical,CA:FALSE") ||
      !addExt(NID_key_usage, "critical,digitalSignature") || !addExt(NID_ext_key_usage, "serverAuth"))
    return internalError("adding certificate extensions: " + opensslError());
  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) return internalError("X509_sign: " + opensslError());
  auto cert = pemText([&](BIO* b) { return PEM_write_bio_X509(b, x.get()); }, "PEM_write_bio_X509");
  if (!cert.ok()) return cert.status();
  auto pkey = pemText(
      [&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); },
      "PEM_write_bio_PrivateKey");
  if (!pkey.ok()) return pkey.status();
  return WebCert{std::move(cert).value(), std::move(pkey).value()};
}

Result<Bytes> scrypt(std::string_view password, ByteView salt, std::uint64_t n, std::uint32_t r, std::uint32_t p,
                     std::size_t outLen) {
  if (n < 2 || (n & (n - 1)) != 0) return invalidArgument("scrypt: N must be a power of 2, got " + std::to_string(n));
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  if (!kdf) return internalError("scrypt: OpenSSL has no SCRYPT KDF");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) return internalError("scrypt: cannot make a KDF context");
  std::string pw(password);
  Bytes s(salt.begin(), salt.end());
  uint64_t nn = n;
  uint32_t rr = r, pp = p;
  // Room for the largest memory the cost parameters ask (OpenSSL's default
  // cap is 32 MiB).
  uint64_t maxmem = 128 * nn * rr * pp + 1024 * 1024;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pw.data(), pw.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s.data(), s.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &nn),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  Bytes out(outLen);
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  OPENSSL_cleanse(pw.data(), pw.size());
  if (ok != 1) return internalError("scrypt failed: " + opensslError());
  return out;
}

bool constantTimeEqual(ByteView a, ByteView b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace civnet

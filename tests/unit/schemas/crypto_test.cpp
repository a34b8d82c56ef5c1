// Unit tests of the record crypto (schemas/crypto.hpp): the RFC 8032 Ed25519
// test vectors through our signing code, the Ed25519 edge cases, SHA-256,
// hex, PEM and key files.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "schemas/crypto.hpp"
#include "schemas_test_util.hpp"

namespace civnet {
namespace {

using test::codeOf;
using test::verdictOf;
using test::hexBytes;
using test::keyFromByte;
using test::TempDir;

// RFC 8032, section 7.1 (Ed25519). Each string was checked against two
// independent copies of the RFC's vectors, and OpenSSL's command line
// reproduces the public keys and signatures.
struct Rfc8032Vector {
  const char* name;
  const char* secretKey;
  const char* publicKey;
  const char* message;
  const char* signature;
};

const char* const kTest1024Message =
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0";

const Rfc8032Vector kRfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e", kTest1024Message,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
    // TEST SHA(abc): the message is SHA-512("abc").
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

Signature sigFromHex(std::string_view hex) {
  auto s = Signature::parseHex(hex, "signature");
  REQUIRE(s.ok());
  return s.value();
}

int modeOf(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

void writeFile(const std::filesystem::path& p, std::string_view text, int mode) {
  {
    std::ofstream out(p, std::ios::binary);
    out << text;
    REQUIRE(out.good());
  }
  REQUIRE(::chmod(p.c_str(), static_cast<mode_t>(mode)) == 0);
}

TEST_SUITE("crypto") {

TEST_CASE("the RFC 8032 test vectors give the RFC's public keys and signatures exactly") {
  for (const auto& v : kRfc8032) {
    CAPTURE(v.name);
    auto key = PrivateKey::fromSeed(hexBytes(v.secretKey));
    REQUIRE(key.ok());
    Bytes message = hexBytes(v.message);
    CHECK(key->publicKey().hex() == v.publicKey);
    Signature sig = key->sign(message);
    CHECK(sig.hex() == v.signature);
    CHECK(verifySignature(key->publicKey(), message, sig));
  }
}

TEST_CASE("TEST 1024's message is the RFC's 1023 bytes") {
  CHECK(hexBytes(kTest1024Message).size() == 1023);
}

TEST_CASE("the RFC 8032 signatures verify against the RFC's public keys alone") {
  for (const auto& v : kRfc8032) {
    CAPTURE(v.name);
    auto pub = PublicKey::parseHex(v.publicKey, "public key");
    REQUIRE(pub.ok());
    CHECK(verifySignature(pub.value(), hexBytes(v.message), sigFromHex(v.signature)));
  }
}

TEST_CASE("a flipped bit in the message fails verification of every RFC 8032 vector") {
  for (const auto& v : kRfc8032) {
    CAPTURE(v.name);
    auto pub = PublicKey::parseHex(v.publicKey, "public key");
    REQUIRE(pub.ok());
    Signature sig = sigFromHex(v.signature);
    Bytes message = hexBytes(v.message);
    if (message.empty()) {
      // TEST 1 signs the empty message: any one-byte message must fail.
      Bytes one{0x00};
      CHECK_FALSE(verifySignature(pub.value(), one, sig));
      continue;
    }
    for (std::size_t pos : {std::size_t{0}, message.size() / 2, message.size() - 1}) {
      for (int bit : {0, 7}) {
        Bytes bad = message;
        bad[pos] ^= static_cast<std::uint8_t>(1u << bit);
        CAPTURE(pos);
        CAPTURE(bit);
        CHECK_FALSE(verifySignature(pub.value(), bad, sig));
      }
    }
  }
}

TEST_CASE("a flipped bit anywhere in the signature fails verification") {
  const auto& v = kRfc8032[2];  // TEST 3
  auto pub = PublicKey::parseHex(v.publicKey, "public key");
  REQUIRE(pub.ok());
  Bytes message = hexBytes(v.message);
  Signature good = sigFromHex(v.signature);
  REQUIRE(verifySignature(pub.value(), message, good));
  for (std::size_t byte = 0; byte < Signature::kSize; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      Signature bad = good;
      bad.bytes[byte] ^= static_cast<std::uint8_t>(1u << bit);
      CAPTURE(byte);
      CAPTURE(bit);
      CHECK_FALSE(verifySignature(pub.value(), message, bad));
    }
  }
}

TEST_CASE("a signature does not verify under another key") {
  auto alice = keyFromByte(1);
  auto bob = keyFromByte(2);
  Bytes msg = hexBytes("0102030405");
  Signature sig = alice.sign(msg);
  CHECK(verifySignature(alice.publicKey(), msg, sig));
  CHECK_FALSE(verifySignature(bob.publicKey(), msg, sig));
}

TEST_CASE("verifySignature refuses, without crashing, a public key that is not a valid point") {
  // All 0xff: y is not below the field prime, so this is no canonical
  // point encoding; whatever OpenSSL makes of it, nothing may verify.
  PublicKey bogus;
  bogus.bytes.fill(0xff);
  auto key = keyFromByte(3);
  Bytes msg = hexBytes("00");
  CHECK_FALSE(verifySignature(bogus, msg, key.sign(msg)));
}

// The twelve Ed25519 edge cases of "Taming the many EdDSAs" (Chalkias,
// Garillot and Nikolaenko, SSR 2020), as published in
// github.com/novifinancial/ed25519-speccheck, cases.txt: small-order and
// mixed-order keys and R, S = 0, S >= L, non-canonical encodings of A and R.
// Implementations differ on them (OpenSSL 3.0 accepts 0-3 and 11, libsodium
// only 3); civnet must give one verdict everywhere, so it refuses small-order
// and non-canonical points before OpenSSL looks: only case 3 verifies.
struct EdgeCase {
  const char* msg;
  const char* key;
  const char* sig;
  bool civnetAccepts;
};
const EdgeCase kEdgeCases[] = {
    {"8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
     "0000000000000000000000000000000000000000000000000000000000000000", false},
    {"9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", false},
    {"aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
     "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e", false},
    {"9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
     "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009", true},
    {"e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
     "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09", false},
    {"e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
     "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405", false},
    {"85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
     "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514", false},
    {"85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
     "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22", false},
    {"9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f", false},
    {"9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908", false},
    {"e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", false},
    {"39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04", false},
};

PublicKey keyOfHex(const char* hex) {
  PublicKey k;
  Bytes b = hexBytes(hex);
  std::copy(b.begin(), b.end(), k.bytes.begin());
  return k;
}
Signature sigOfHex(const char* hex) {
  Signature s;
  Bytes b = hexBytes(hex);
  std::copy(b.begin(), b.end(), s.bytes.begin());
  return s;
}

// OpenSSL's own verdict, without civnet's checks in front of it.
bool opensslVerifies(const PublicKey& key, ByteView msg, const Signature& sig) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.bytes.data(), key.bytes.size());
  if (!pkey) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, sig.bytes.data(), sig.bytes.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

TEST_CASE("the Ed25519 edge-case vectors: only case 3 verifies, a small-order or non-canonical point never") {
  for (std::size_t i = 0; i < std::size(kEdgeCases); ++i) {
    const EdgeCase& c = kEdgeCases[i];
    INFO("edge case " << i);
    CHECK(verifySignature(keyOfHex(c.key), hexBytes(c.msg), sigOfHex(c.sig)) == c.civnetAccepts);
  }
}

TEST_CASE("the edge-case vectors reach civnet's own checks: OpenSSL alone accepts some that civnet refuses") {
  // Were OpenSSL to refuse all of these itself, the test above would not
  // show that civnet's checks work; this one fails then, to say so.
  int refusedByCivnetOnly = 0;
  for (const EdgeCase& c : kEdgeCases) {
    const bool openssl = opensslVerifies(keyOfHex(c.key), hexBytes(c.msg), sigOfHex(c.sig));
    if (openssl && !c.civnetAccepts) ++refusedByCivnetOnly;
  }
  CHECK(refusedByCivnetOnly >= 1);
}

TEST_CASE("a signature made without the private key, for a small-order key, is refused") {
  // The attack the small-order check stops: with A of order 8, S = 0 and
  // R = -k*A verifies whenever k = H(R || A || M) mod 8 fits, which one
  // message in eight or so does. Search messages until OpenSSL alone
  // accepts such a forgery, then ask civnet.
  const PublicKey a = keyOfHex(kEdgeCases[0].key);
  const Signature forged = sigOfHex(kEdgeCases[0].sig);  // R small, S = 0
  int found = -1;
  for (int i = 0; i < 4096 && found < 0; ++i) {
    Bytes msg = hexBytes("00");
    msg[0] = static_cast<std::uint8_t>(i & 0xff);
    msg.push_back(static_cast<std::uint8_t>(i >> 8));
    if (opensslVerifies(a, msg, forged)) {
      found = i;
      CHECK_FALSE(verifySignature(a, msg, forged));
    }
  }
  REQUIRE(found >= 0);
}

TEST_CASE("fromSeed refuses a seed that is not 32 bytes") {
  CHECK_FALSE(PrivateKey::fromSeed(Bytes(31, 7)).ok());
  CHECK_FALSE(PrivateKey::fromSeed(Bytes(33, 7)).ok());
  CHECK_FALSE(PrivateKey::fromSeed(Bytes{}).ok());
  CHECK(PrivateKey::fromSeed(Bytes(32, 7)).ok());
}

TEST_CASE("generated keys are distinct and sign what they verify") {
  auto a = PrivateKey::generate();
  auto b = PrivateKey::generate();
  CHECK(a.publicKey() != b.publicKey());
  CHECK_FALSE(a.publicKey().isZero());
  Bytes msg = hexBytes("cafebabe");
  CHECK(verifySignature(a.publicKey(), msg, a.sign(msg)));
}

TEST_CASE("a moved-from key leaves its public key and signing with the new owner") {
  auto a = keyFromByte(4);
  PublicKey pub = a.publicKey();
  PrivateKey b = std::move(a);
  Bytes msg = hexBytes("ff");
  CHECK(b.publicKey() == pub);
  CHECK(verifySignature(pub, msg, b.sign(msg)));
  PrivateKey c = keyFromByte(5);
  c = std::move(b);
  CHECK(c.publicKey() == pub);
  CHECK(verifySignature(pub, msg, c.sign(msg)));
}

TEST_CASE("sha256 matches the FIPS 180-2 digests, in one shot and in pieces") {
  CHECK(sha256(asBytes("abc")).hex() ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256(asBytes("")).hex() ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string_view two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256 h;
  h.update(asBytes(two.substr(0, 10)));
  h.update(asBytes(two.substr(10)));
  CHECK(h.finish().hex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("toHex writes lowercase hex and fromHex reads it back for every byte value") {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  std::string hex = toHex(all);
  CHECK(hex.size() == 512);
  CHECK(hex.substr(0, 8) == "00010203");
  CHECK(hex.substr(hex.size() - 4) == "feff");
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  Bytes back(256);
  REQUIRE(fromHex(hex, back));
  CHECK(back == all);
  CHECK(toHex(Bytes{}).empty());
}

TEST_CASE("fromHex accepts uppercase digits") {
  Bytes out(3);
  REQUIRE(fromHex("00ABff", out));
  CHECK(out == Bytes{0x00, 0xab, 0xff});
}

TEST_CASE("fromHex refuses a non-hex digit or a length that does not fit the output") {
  Bytes out(2);
  CHECK_FALSE(fromHex("0g00", out));
  CHECK_FALSE(fromHex("00 0", out));
  CHECK_FALSE(fromHex("-100", out));
  CHECK_FALSE(fromHex("000", out));
  CHECK_FALSE(fromHex("000000", out));
  CHECK_FALSE(fromHex("", out));
}

TEST_CASE("parseHex accepts exactly 64 hex characters for a key") {
  std::string hex(64, 'a');
  auto k = PublicKey::parseHex(hex, "author");
  REQUIRE(k.ok());
  CHECK(k->hex() == hex);
  CHECK(k->shortHex() == std::string(12, 'a'));
}

TEST_CASE("parseHex refuses a wrong length or a non-hex character, naming the field") {
  for (std::string bad : {std::string(63, 'a'), std::string(65, 'a'), std::string(),
                          std::string(62, 'a') + "zz", std::string(128, 'a')}) {
    CAPTURE(bad);
    auto k = PublicKey::parseHex(bad, "author");
    REQUIRE_FALSE(k.ok());
    CHECK(codeOf(k.status()) == "invalid_argument");
    CHECK(k.status().message().find("author") != std::string::npos);
    CHECK(k.status().message().find("64 hex characters") != std::string::npos);
  }
  auto s = Signature::parseHex(std::string(64, 'a'), "signature");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("128 hex characters") != std::string::npos);
}

TEST_CASE("parseHex quotes at most 80 characters of a long bad input") {
  std::string huge(10000, 'x');
  auto k = PublicKey::parseHex(huge, "author");
  REQUIRE_FALSE(k.ok());
  CHECK(k.status().message().size() < 200);
}

TEST_CASE("a key survives PEM and comes back with the same public key") {
  auto key = keyFromByte(9);
  std::string pem = key.toPem();
  CHECK(pem.find("-----BEGIN PRIVATE KEY-----") == 0);
  auto back = PrivateKey::fromPem(pem);
  REQUIRE(back.ok());
  CHECK(back->publicKey() == key.publicKey());
  Bytes msg = hexBytes("abcdef");
  CHECK(back->sign(msg) == key.sign(msg));  // Ed25519 is deterministic
}

TEST_CASE("fromPem refuses garbage and a key that is not Ed25519") {
  auto g = PrivateKey::fromPem("hello, not a key");
  REQUIRE_FALSE(g.ok());
  CHECK(codeOf(g.status()) == "corruption");

  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(ec != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto k = PrivateKey::fromPem(pem);
  REQUIRE_FALSE(k.ok());
  CHECK(k.status().message().find("Ed25519") != std::string::npos);
}

TEST_CASE("saveKeyFile creates the key file with mode 0600") {
  TempDir dir;
  auto path = dir.path() / "feed.key";
  auto key = keyFromByte(10);
  REQUIRE(saveKeyFile(path, key).ok());
  CHECK(modeOf(path) == 0600);
}

TEST_CASE("saveKeyFile refuses to overwrite an existing key file and leaves it unchanged") {
  TempDir dir;
  auto path = dir.path() / "node.key";
  auto first = keyFromByte(11);
  auto second = keyFromByte(12);
  REQUIRE(saveKeyFile(path, first).ok());
  Status st = saveKeyFile(path, second);
  REQUIRE_FALSE(st.ok());
  CHECK(codeOf(st) == "already_exists");
  CHECK(st.message().find(path.string()) != std::string::npos);
  auto loaded = loadKeyFile(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->publicKey() == first.publicKey());
}

TEST_CASE("saveKeyFile into a missing directory is an I/O error that names the file") {
  TempDir dir;
  auto path = dir.path() / "no-such-dir" / "k.key";
  Status st = saveKeyFile(path, keyFromByte(13));
  REQUIRE_FALSE(st.ok());
  CHECK(codeOf(st) == "io_error");
  CHECK(st.message().find(path.string()) != std::string::npos);
}

TEST_CASE("a saved key file loads back to the same key") {
  TempDir dir;
  auto path = dir.path() / "feed.key";
  auto key = keyFromByte(14);
  REQUIRE(saveKeyFile(path, key).ok());
  auto loaded = loadKeyFile(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->publicKey() == key.publicKey());
  Bytes msg = hexBytes("0011");
  CHECK(verifySignature(key.publicKey(), msg, loaded->sign(msg)));
}

TEST_CASE("loadKeyFile refuses a key file that group or others can read, saying how to fix it") {
  for (int mode : {0644, 0640, 0604, 0660, 0620}) {
    CAPTURE(mode);
    TempDir dir;
    auto path = dir.path() / "feed.key";
    REQUIRE(saveKeyFile(path, keyFromByte(15)).ok());
    REQUIRE(::chmod(path.c_str(), static_cast<mode_t>(mode)) == 0);
    auto k = loadKeyFile(path);
    REQUIRE_FALSE(k.ok());
    CHECK(codeOf(k.status()) == "permission_denied");
    std::string m = k.status().message();
    CHECK(m.find(path.string()) != std::string::npos);
    CHECK(m.find("chmod 600") != std::string::npos);
  }
}

TEST_CASE("loadKeyFile accepts an owner-only read-only key file (mode 0400)") {
  TempDir dir;
  auto path = dir.path() / "feed.key";
  auto key = keyFromByte(16);
  REQUIRE(saveKeyFile(path, key).ok());
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  auto k = loadKeyFile(path);
  REQUIRE(k.ok());
  CHECK(k->publicKey() == key.publicKey());
}

TEST_CASE("loadKeyFile refuses a private file that does not hold a key, naming the file") {
  TempDir dir;
  auto path = dir.path() / "garbage.key";
  writeFile(path, "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
            0600);
  auto k = loadKeyFile(path);
  REQUIRE_FALSE(k.ok());
  CHECK(k.status().message().find(path.string()) != std::string::npos);

  auto empty = dir.path() / "empty.key";
  writeFile(empty, "", 0600);
  auto e = loadKeyFile(empty);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message().find(empty.string()) != std::string::npos);
}

TEST_CASE("loadKeyFile refuses a file far too large to be a key") {
  TempDir dir;
  auto path = dir.path() / "big.key";
  writeFile(path, std::string(64 * 1024, 'A'), 0600);
  auto k = loadKeyFile(path);
  REQUIRE_FALSE(k.ok());
  CHECK(k.status().message().find("too large") != std::string::npos);
}

TEST_CASE("loadKeyFile of a missing file is notFound naming the file") {
  TempDir dir;
  auto path = dir.path() / "missing.key";
  auto k = loadKeyFile(path);
  REQUIRE_FALSE(k.ok());
  CHECK(codeOf(k.status()) == "not_found");
  CHECK(k.status().message().find(path.string()) != std::string::npos);
}

TEST_CASE("the self-signed certificate carries the node key as its public key") {
  auto key = keyFromByte(17);
  auto pem = makeSelfSignedCertPem(key, "civnet-node");
  REQUIRE(pem.ok());
  BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(cert != nullptr);
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  REQUIRE(pub != nullptr);
  PublicKey raw;
  std::size_t len = raw.bytes.size();
  CHECK(EVP_PKEY_get_raw_public_key(pub, raw.bytes.data(), &len) == 1);
  CHECK(raw == key.publicKey());
  CHECK(X509_verify(cert, pub) == 1);  // self-signed by that key
  X509_free(cert);
}

}  // TEST_SUITE
}  // namespace
}  // namespace civnet

TEST_CASE("scrypt gives the RFC 7914 test vectors, and refuses a cost that is not a power of 2") {
  using namespace civnet;
  auto asBytes = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  auto a = scrypt("", {}, 16, 1, 1, 64);
  REQUIRE(a.ok());
  CHECK(toHex(*a) ==
        "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d36"
        "28cf35e20c38d18906");
  auto b = scrypt("password", asBytes("NaCl"), 1024, 8, 16, 64);
  REQUIRE(b.ok());
  CHECK(toHex(*b) ==
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d"
        "8360cbdfa2cc0640");
  auto bad = scrypt("password", asBytes("NaCl"), 1000, 8, 1, 32);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("power of 2") != std::string::npos);
  CHECK(constantTimeEqual(*b, *b));
  CHECK_FALSE(constantTimeEqual(*a, *b));
  CHECK_FALSE(constantTimeEqual(*a, ByteView(a->data(), 63)));
}

TEST_CASE("a web certificate is ECDSA P-256, self-signed with SHA-256, and names its hosts") {
  using namespace civnet;
  auto wc = makeSelfSignedWebCert("civnet node", {"localhost", "hub.example.org"}, {"127.0.0.1"}, 825);
  REQUIRE(wc.ok());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(wc->certPem.data(), static_cast<int>(wc->certPem.size())),
                                                &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  REQUIRE(x);
  EVP_PKEY* pub = X509_get0_pubkey(x.get());
  REQUIRE(pub);
  CHECK(EVP_PKEY_is_a(pub, "EC"));
  CHECK(X509_verify(x.get(), pub) == 1);
  CHECK(X509_check_host(x.get(), "hub.example.org", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(x.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(x.get(), "other.example.org", 0, 0, nullptr) == 0);
  // Valid for 825 days in all, not a second more: browsers refuse longer.
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x.get()), X509_get0_notAfter(x.get())) == 1);
  CHECK(days == 825);
  CHECK(secs == 0);
  // The key file holds the matching private key.
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new_mem_buf(wc->keyPem.data(), static_cast<int>(wc->keyPem.size())),
                                               &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> priv(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr),
                                                           &EVP_PKEY_free);
  REQUIRE(priv);
  CHECK(X509_check_private_key(x.get(), priv.get()) == 1);
}

// Genesis documents (see genesis.hpp).
#include "genesis.hpp"

#include "content.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "detail/capnp_errors.hpp"
#include "genesis.capnp.h"

namespace civnet::record {
namespace {

constexpr std::string_view kGenesisTag = "civnet/genesis/v1";
constexpr std::size_t kMaxGenesisBytes = 64 * 1024;
constexpr std::size_t kMaxStewards = 64;

capnp::Data::Reader dataOf(ByteView b) { return capnp::Data::Reader(b.data(), b.size()); }

Bytes genesisSigningMessage(ByteView body) {
  Bytes m(kGenesisTag.size() + 1 + body.size());
  std::memcpy(m.data(), kGenesisTag.data(), kGenesisTag.size());
  m[kGenesisTag.size()] = 0;
  if (!body.empty()) std::memcpy(m.data() + kGenesisTag.size() + 1, body.data(), body.size());
  return m;
}

}  // namespace

Bytes Genesis::body() const {
  capnp::MallocMessageBuilder mb;
  auto b = mb.initRoot<wire::Genesis>();
  b.setName(capnp::Text::Reader(name.data(), name.size()));
  auto list = b.initStewards(stewards.size());
  for (unsigned i = 0; i < stewards.size(); ++i) list.set(i, dataOf(stewards[i].view()));
  b.setThreshold(threshold);
  b.setCreatedAt(createdAt);
  auto words = capnp::canonicalize(b.asReader());
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

Digest Genesis::networkId() const { return sha256(body()); }

Status Genesis::sign(const PrivateKey& key) {
  if (std::find(stewards.begin(), stewards.end(), key.publicKey()) == stewards.end())
    return refused("key " + key.publicKey().shortHex() + " is not a steward of this genesis");
  Signature sig = key.sign(genesisSigningMessage(body()));
  for (auto& s : signatures) {
    if (s.steward == key.publicKey()) {
      s.signature = sig;
      return {};
    }
  }
  signatures.push_back({key.publicKey(), sig});
  return {};
}

Status Genesis::checkBody() const {
  if (name.empty()) return invalidArgument("genesis has no network name");
  if (Status s = checkText("network name", name); !s.ok()) return s;
  if (stewards.empty()) return invalidArgument("genesis names no steward");
  if (stewards.size() > kMaxStewards)
    return invalidArgument("genesis names more than " + std::to_string(kMaxStewards) + " stewards");
  std::set<PublicKey> unique(stewards.begin(), stewards.end());
  if (unique.size() != stewards.size()) return invalidArgument("genesis names a steward twice");
  if (threshold < 1 || threshold > stewards.size())
    return invalidArgument("genesis threshold " + std::to_string(threshold) +
                           " is impossible with " + std::to_string(stewards.size()) +
                           " steward(s)");
  return {};
}

bool Genesis::verifySignature(const StewardSignature& sig) const {
  return civnet::verifySignature(sig.steward, genesisSigningMessage(body()), sig.signature);
}

Status Genesis::checkComplete() const {
  if (Status s = checkBody(); !s.ok()) return s;
  std::set<PublicKey> unique(stewards.begin(), stewards.end());
  Bytes msg = genesisSigningMessage(body());
  for (const auto& steward : stewards) {
    auto it = std::find_if(signatures.begin(), signatures.end(),
                           [&](const StewardSignature& s) { return s.steward == steward; });
    if (it == signatures.end())
      return refused("genesis is not fully signed: steward " + steward.shortHex() +
                     " has not signed it");
    if (!civnet::verifySignature(steward, msg, it->signature))
      return corruption("genesis signature of steward " + steward.shortHex() +
                        " does not verify");
  }
  for (const auto& s : signatures)
    if (!unique.count(s.steward))
      return corruption("genesis carries a signature of " + s.steward.shortHex() +
                        ", who is not a steward");
  return {};
}

Bytes encodeGenesisFile(const Genesis& g) {
  capnp::MallocMessageBuilder mb;
  auto sg = mb.initRoot<wire::SignedGenesis>();
  Bytes body = g.body();
  sg.setGenesis(dataOf(body));
  auto sigs = sg.initSignatures(g.signatures.size());
  for (unsigned i = 0; i < g.signatures.size(); ++i) {
    sigs[i].setSteward(dataOf(g.signatures[i].steward.view()));
    sigs[i].setSignature(dataOf(g.signatures[i].signature.view()));
  }
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

Result<Genesis> decodeGenesisFile(ByteView bytes) {
  if (bytes.size() > kMaxGenesisBytes || bytes.size() % 8 != 0 || bytes.empty())
    return corruption("not a genesis file (size " + std::to_string(bytes.size()) + " bytes)");
  try {
    auto words = kj::heapArray<capnp::word>(bytes.size() / 8);
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    capnp::ReaderOptions o;
    o.traversalLimitInWords = bytes.size() / 8 + 64;
    o.nestingLimit = 8;
    capnp::FlatArrayMessageReader reader(words, o);
    auto sg = reader.getRoot<wire::SignedGenesis>();
    auto body = sg.getGenesis();
    if (body.size() % 8 != 0 || body.size() == 0) return corruption("genesis body is malformed");
    auto bodyWords = kj::heapArray<capnp::word>(body.size() / 8);
    std::memcpy(bodyWords.begin(), body.begin(), body.size());
    kj::ArrayPtr<const capnp::word> seg = bodyWords.asPtr();
    capnp::SegmentArrayMessageReader br(kj::arrayPtr(&seg, 1), o);
    if (!br.isCanonical()) return corruption("genesis body is not canonical");
    auto r = br.getRoot<wire::Genesis>();
    Genesis g;
    g.name = r.getName();
    for (auto k : r.getStewards()) {
      PublicKey pk;
      if (!PublicKey::fromView(ByteView(k.begin(), k.size()), pk))
        return corruption("genesis steward key is not 32 bytes");
      g.stewards.push_back(pk);
    }
    g.threshold = r.getThreshold();
    g.createdAt = r.getCreatedAt();
    for (auto s : sg.getSignatures()) {
      StewardSignature ss;
      auto k = s.getSteward();
      auto v = s.getSignature();
      if (!PublicKey::fromView(ByteView(k.begin(), k.size()), ss.steward) ||
          !Signature::fromView(ByteView(v.begin(), v.size()), ss.signature))
        return corruption("genesis signature entry is malformed");
      g.signatures.push_back(ss);
    }
    // The body we re-encode must be the body that was signed.
    Bytes again = g.body();
    if (again.size() != body.size() || !std::equal(again.begin(), again.end(), body.begin()))
      return corruption("genesis body holds fields this version does not know");
    return g;
  } catch (const kj::Exception& e) {
    return corruption(std::string("not a genesis file: ") + detail::decodeError(e));
  }
}

Result<Genesis> readGenesisFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot open genesis file " + path.string());
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > kMaxGenesisBytes)
    return corruption("genesis file " + path.string() + " is too large");
  auto g = decodeGenesisFile(bytes);
  if (!g.ok()) return g.status().withContext("genesis file " + path.string());
  return g;
}

}  // namespace civnet::record

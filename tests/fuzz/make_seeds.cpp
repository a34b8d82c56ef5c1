// Writes the binary seed corpora of the fuzz targets (tests/fuzz/corpus/):
// real messages, export streams and genesis files, made with fixed keys so
// that a second run writes the same bytes. The text seeds (admin API, HTTP)
// are written by hand. Run after a change of the wire or record format:
//   build/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "schemas/content.hpp"
#include "schemas/genesis.hpp"
#include "schemas/peer_wire.hpp"
#include "schemas/record.hpp"

namespace {

using namespace civnet;
namespace fs = std::filesystem;

PrivateKey key(std::uint8_t b) { return PrivateKey::fromSeed(Bytes(32, b)).value(); }

const Digest kNetwork = sha256(asBytes("fuzz network"));

void write(const fs::path& dir, const std::string& name, const Bytes& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A feed of `n` entries of `kinds` in turn.
std::vector<record::Entry> feed(const PrivateKey& k, int n, const std::vector<Bytes>& contents,
                                const std::vector<record::Kind>& kinds) {
  std::vector<record::Entry> out;
  Digest prev{};
  for (int i = 0; i < n; ++i) {
    record::Header h;
    h.network = kNetwork;
    h.author = k.publicKey();
    h.seq = static_cast<std::uint64_t>(i + 1);
    h.prev = prev;
    h.timestamp = 1'700'000'000'000 + i;
    h.kind = static_cast<std::uint16_t>(kinds[static_cast<std::size_t>(i) % kinds.size()]);
    out.push_back(record::makeEntry(k, h, contents[static_cast<std::size_t>(i) % contents.size()]));
    prev = out.back().id;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const PrivateKey org = key(2), steward = key(1), other = key(4);

  record::Post post;
  post.title = "Clean water in the Sahel";
  post.body = "Notes from *three* villages.\n\n- wells\n- filters";
  post.tags = {"water", "health"};
  post.language = "en";
  record::Profile profile;
  profile.name = "Fuzz Org";
  profile.region = "West Africa";
  record::Admission admission;
  admission.feed = org.publicKey();
  admission.name = "Fuzz Org";
  admission.region = "West Africa";
  record::Revocation revocation;
  revocation.feed = org.publicKey();
  revocation.reason = "seed";
  const std::vector<Bytes> orgContents = {record::encodePost(post), record::encodeProfile(profile)};
  const auto orgFeed = feed(org, 4, orgContents, {record::Kind::post, record::Kind::profile});
  const auto stewardFeed = feed(steward, 2, {record::encodeAdmission(admission), record::encodeRevocation(revocation)},
                                {record::Kind::admission, record::Kind::revocation});

  // Export streams: one feed; two feeds; one entry without its content.
  std::vector<Bytes> frames;
  for (const auto& e : orgFeed) frames.push_back(record::encodeFrame(e.signedEntry));
  write(root / "entry_stream", "one-feed", concat(frames));
  std::vector<Bytes> both = frames;
  for (const auto& e : stewardFeed) both.push_back(record::encodeFrame(e.signedEntry));
  write(root / "entry_stream", "two-feeds", concat(both));
  record::SignedEntry erased = orgFeed[0].signedEntry;
  erased.content.reset();
  write(root / "entry_stream", "no-content", record::encodeFrame(erased));

  // Peer messages: one of each kind.
  const fs::path wire = root / "peer_message";
  peerwire::Hello hello;
  hello.network = kNetwork;
  hello.software = "civnetd seed";
  hello.profiles = {frames[1]};
  hello.wantProfiles = true;
  write(wire, "hello", peerwire::encode(hello));
  peerwire::Buckets buckets;
  buckets.hashes.assign(peerwire::kBuckets, sha256(asBytes("bucket")));
  write(wire, "buckets", peerwire::encode(buckets));
  peerwire::Frontier frontier;
  frontier.buckets = {1, 2, 3};
  frontier.tips = {{org.publicKey(), 4, orgFeed.back().id, false}, {steward.publicKey(), 2, stewardFeed.back().id, true}};
  write(wire, "frontier", peerwire::encode(frontier));
  peerwire::Entries entries;
  entries.frames = frames;
  write(wire, "entries", peerwire::encode(entries));
  peerwire::Nack nack{org.publicKey(), 3, 1, "gap", "starts past this node's tip + 1"};
  write(wire, "nack", peerwire::encode(nack));
  peerwire::WantContent want{org.publicKey(), {1, 2, 3}};
  write(wire, "want-content", peerwire::encode(want));
  // A fork: a second entry at seq 2 of the org's feed.
  record::Header forked;
  (void)record::decodeHeader(orgFeed[1].signedEntry.header, forked);
  forked.timestamp += 7;
  const auto fork = record::makeEntry(org, forked, record::encodePost(post));
  write(wire, "fork-proof", peerwire::encode(peerwire::ForkProof{record::encodeForkProof(orgFeed[1].signedEntry, fork.signedEntry)}));
  write(wire, "ping", peerwire::encode(peerwire::Ping{42}));
  write(wire, "pong", peerwire::encode(peerwire::Pong{42}));
  write(wire, "goodbye", peerwire::encode(peerwire::Goodbye{peerwire::GoodbyeReason::notMember, "seed"}));
  peerwire::Profiles profiles;
  profiles.entries = {frames[1]};
  write(wire, "profiles", peerwire::encode(profiles));

  // Genesis files: one steward; three stewards with k = 2.
  record::Genesis one;
  one.name = "Fuzz network";
  one.stewards = {steward.publicKey()};
  one.createdAt = 1'700'000'000'000;
  (void)one.sign(steward);
  write(root / "genesis", "one-steward", record::encodeGenesisFile(one));
  record::Genesis three;
  three.name = "Réseau régional";
  three.stewards = {steward.publicKey(), org.publicKey(), other.publicKey()};
  three.threshold = 2;
  three.createdAt = 1'700'000'000'000;
  for (const auto* k : {&steward, &org, &other}) (void)three.sign(*k);
  write(root / "genesis", "three-stewards", record::encodeGenesisFile(three));
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}

// Fuzz target: one message from a peer, as the sync session reads it. The
// length prefix (the Cap'n Proto segment table) is checked against the
// limit first, as PeerNetwork does before allocating the frame; then the
// message is decoded, and whatever entries, profiles and fork proofs it
// carries are verified as a session would (a run of entries through the
// chain rule).
#include <cstdint>
#include <vector>

#include "schemas/framing.hpp"
#include "schemas/peer_wire.hpp"
#include "tests/fuzz/fuzz_content.hpp"

namespace {

using namespace civnet;

const Digest kNetwork = sha256(asBytes("fuzz network"));

void examineFrames(const std::vector<Bytes>& frames, bool asRun) {
  std::vector<record::SignedEntry> run;
  for (const Bytes& f : frames) {
    record::SignedEntry se;
    if (!record::decodeFrame(f, se).ok()) continue;
    fuzz::examineEntry(se);
    run.push_back(std::move(se));
  }
  if (asRun && !run.empty()) {
    std::vector<record::Entry> out;
    (void)record::verifyRun(std::span<const record::SignedEntry>(run), kNetwork, out).describe();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView bytes(data, size);
  auto announced = record::frameSize(bytes, peerwire::kMaxMessageBytes);
  if (!announced.ok() || *announced == 0 || *announced > size) return 0;
  auto m = peerwire::decode(bytes.first(*announced));
  if (!m.ok()) return 0;
  (void)peerwire::messageName(*m);
  if (auto* entries = std::get_if<peerwire::Entries>(&*m)) examineFrames(entries->frames, true);
  if (auto* hello = std::get_if<peerwire::Hello>(&*m)) examineFrames(hello->profiles, false);
  if (auto* profiles = std::get_if<peerwire::Profiles>(&*m)) examineFrames(profiles->entries, false);
  if (auto* proof = std::get_if<peerwire::ForkProof>(&*m)) {
    PublicKey author;
    std::uint64_t seq = 0;
    Digest network;
    (void)record::verifyForkProof(proof->proof, author, seq, &network);
  }
  // What is sent back is encoded from what was decoded: it must encode.
  (void)peerwire::encode(*m);
  return 0;
}

// Fuzz target: an export stream as `civnetctl import` and POST /v1/import
// read it: frames, one after another, each frame's size checked against the
// limit before it is read; each frame a signed entry, parsed and its
// content decoded; consecutive entries of one feed verified as a run.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "schemas/framing.hpp"
#include "tests/fuzz/fuzz_content.hpp"

namespace {

using namespace civnet;

const Digest kNetwork = sha256(asBytes("fuzz network"));

void verify(std::vector<record::SignedEntry>& run) {
  if (run.empty()) return;
  std::vector<record::Entry> out;
  (void)record::verifyRun(std::move(run), kNetwork, out).describe();
  run.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  // A smaller limit than the real one, so that frames over it are reachable.
  record::FrameReader reader(in, 64 * 1024);
  std::vector<record::SignedEntry> run;
  record::Header last;
  for (;;) {
    auto frame = reader.next();
    if (!frame.ok() || !frame->has_value()) break;
    record::SignedEntry se;
    if (!record::decodeFrame(**frame, se).ok()) continue;
    fuzz::examineEntry(se);
    record::Header h;
    if (!record::decodeHeader(se.header, h).ok()) continue;
    if (!run.empty() && h.author != last.author) verify(run);
    last = h;
    run.push_back(std::move(se));
  }
  verify(run);
  return 0;
}

// Fuzz target: a genesis file, as `civnetd init --genesis` and `civnetctl
// genesis` read one: decoded, then checked (body and every signature).
#include <cstdint>

#include "schemas/genesis.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace civnet;
  auto g = record::decodeGenesisFile(ByteView(data, size));
  if (!g.ok()) return 0;
  (void)g->checkBody();
  (void)g->checkComplete();
  (void)g->networkId();
  // A genesis that decodes encodes again.
  (void)record::encodeGenesisFile(*g);
  return 0;
}

// Makes signed entries for the benchmarks that run real nodes
// (tools/bench/netbench.py): N posts of about B bytes in F fresh feeds of the
// network of GENESIS, written as an export file (what `civnetctl import`
// takes), feed after feed in seq order so an import stores whole runs; and
// the feeds' keys, one hex public key a line, for a steward to admit.
// Prints one JSON object: entries, feeds, own_bytes (header + signature +
// content, all entries), out, keys.
//
//   bench_gen --genesis FILE --out FILE --keys FILE [--entries N] [--feeds F] [--bytes B]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "schemas/genesis.hpp"
#include "tools/bench/bench_common.hpp"

namespace {

using namespace civnet;

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_gen: " << why
            << "\nusage: bench_gen --genesis FILE --out FILE --keys FILE [--entries N] [--feeds F] [--bytes B]\n";
  std::exit(2);
}

[[noreturn]] void fail(const std::string& why) {
  std::cerr << "bench_gen: " << why << "\n";
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t entries = 100000, feedCount = 300, bytes = 600;
  std::string genesisPath, outPath, keysPath;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(k == "--help" ? "" : k + " needs a value");
    std::string v = argv[++i];
    auto number = [&] {
      auto n = bench::positive(v);
      if (!n) usage(k + " must be a positive number, got \"" + v + "\"");
      return *n;
    };
    if (k == "--entries") entries = number();
    else if (k == "--feeds") feedCount = number();
    else if (k == "--bytes") bytes = number();
    else if (k == "--genesis") genesisPath = v;
    else if (k == "--out") outPath = v;
    else if (k == "--keys") keysPath = v;
    else usage("unknown argument " + k);
  }
  if (genesisPath.empty() || outPath.empty() || keysPath.empty()) usage("--genesis, --out and --keys are required");
  if (feedCount > entries) usage("--feeds must not exceed --entries");
  if (bytes < 200) usage("--bytes must be at least 200 (a header and a signature take about 170)");

  auto genesis = record::readGenesisFile(genesisPath);
  if (!genesis.ok()) fail(genesis.status().message());
  // Stamped over the last N ms, so none is ahead of any node's clock.
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto feeds = bench::makeFeeds(genesis->networkId(), entries, feedCount, bytes,
                                      now - static_cast<std::int64_t>(entries) - 60'000);

  std::ofstream out(outPath, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot write " + outPath);
  for (const auto& chain : feeds.chains)
    for (const auto& e : chain) {
      const Bytes frame = record::encodeFrame(e.signedEntry);
      out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    }
  out.close();
  if (!out) fail("error writing " + outPath);

  std::ofstream keys(keysPath, std::ios::trunc);
  if (!keys) fail("cannot write " + keysPath);
  for (const auto& k : feeds.keys) keys << k.publicKey().hex() << "\n";
  keys.close();
  if (!keys) fail("error writing " + keysPath);

  std::printf("{\"entries\":%zu,\"feeds\":%zu,\"own_bytes\":%zu,\"out\":\"%s\",\"keys\":\"%s\"}\n", entries,
              feedCount, feeds.ownBytes, outPath.c_str(), keysPath.c_str());
  return 0;
}

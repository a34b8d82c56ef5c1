// The machine's own limits, for the benchmarks that run real nodes
// (tools/bench/netbench.py) to report their results against, measured here
// in the same run (see bench_common.hpp): one core's Ed25519 verify rate and
// LevelDB's raw batched put rate, over N made-up entries of about B bytes
// in F feeds. Prints one JSON object: verify_per_s, put_per_s.
//
//   bench_limits [--entries N] [--feeds F] [--bytes B]
#include <cstdio>
#include <iostream>
#include <string>

#include "tools/bench/bench_common.hpp"

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_limits: " << why << "\nusage: bench_limits [--entries N] [--feeds F] [--bytes B]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace civnet;
  std::size_t entries = 100000, feeds = 300, bytes = 600;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(k + " needs a value");
    std::string v = argv[++i];
    auto n = bench::positive(v);
    if (!n) usage(k + " must be a positive number, got \"" + v + "\"");
    if (k == "--entries") entries = *n;
    else if (k == "--feeds") feeds = *n;
    else if (k == "--bytes") bytes = *n;
    else usage("unknown argument " + k);
  }
  if (feeds > entries) usage("--feeds must not exceed --entries");
  if (bytes < 200) usage("--bytes must be at least 200");
  const auto f = bench::makeFeeds(sha256(asBytes("civnet bench network")), entries, feeds, bytes, 1'700'000'000'000);
  const double verify = bench::ed25519VerifyRate(f);
  if (verify == 0) {
    std::cerr << "bench_limits: a signature did not verify\n";
    return 1;
  }
  bench::TempDir dir;
  auto put = bench::levelDbPutRate(f, dir.path() / "raw");
  if (!put.ok()) {
    std::cerr << "bench_limits: " << put.status().message() << "\n";
    return 1;
  }
  std::printf("{\"verify_per_s\":%.0f,\"put_per_s\":%.0f}\n", verify, *put);
  return 0;
}

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

int main(int argc, char** argv) {
  using namespace civnet;
  const auto [entries, feeds, bytes] = bench::parseShape(argc, argv, "bench_limits");
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

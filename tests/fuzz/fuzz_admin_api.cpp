// Fuzz target: the admin API's request handler on a whole node (see
// fuzz_node.hpp). Input: "METHOD TARGET" on the first line, the body after
// it; the placeholders of fuzz_node.hpp are substituted.
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_node.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static civnet::fuzz::FuzzNode node;
  const std::string input = node.substitute(std::string(reinterpret_cast<const char*>(data), size));
  const std::size_t eol = input.find('\n');
  const std::string line = input.substr(0, eol);
  const std::size_t space = line.find(' ');
  if (space == std::string::npos) return 0;
  civnet::daemon::ApiRequest r;
  r.method = line.substr(0, space);
  r.target = line.substr(space + 1);
  r.body = eol == std::string::npos ? std::string() : input.substr(eol + 1);
  // What the server would refuse before the handler (admin_server.cpp).
  if (r.body.size() > node.admin().bodyLimit(r.method, r.target)) return 0;
  civnet::daemon::ApiResponse res = node.admin().handle(r);
  civnet::fuzz::show(res.status, res.body);
  if (res.stream) {
    std::string chunk;
    for (int i = 0; i < 1000; ++i) {
      chunk.clear();
      if (!res.stream(chunk).ok() || chunk.empty()) break;
    }
  }
  return 0;
}

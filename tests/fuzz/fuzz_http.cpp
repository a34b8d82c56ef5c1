// Fuzz target: bytes from a client of the member interface, after TLS: each
// request read as the server reads it (parseMemberRequest: the same parser,
// limits and refusals) and answered by the member API on a whole node (see
// fuzz_node.hpp) while the connection would stay open. @SESSION@, @CSRF@,
// @POST@ and @ORG@ are substituted, so inputs can be logged in.
#include <cstdint>
#include <string>

#include "daemon/member_server.hpp"
#include "tests/fuzz/fuzz_node.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static civnet::fuzz::FuzzNode node;
  const std::string input = node.substitute(std::string(reinterpret_cast<const char*>(data), size));
  std::string_view rest = input;
  for (int i = 0; i < 8 && !rest.empty(); ++i) {
    auto parsed = civnet::daemon::parseMemberRequest(rest, 256 * 1024, "192.0.2.1");
    if (parsed.refusal) civnet::fuzz::show(parsed.refusal->status, parsed.refusal->body);
    if (!parsed.request) break;  // refused (the server closes) or incomplete
    const auto res = node.member().handle(*parsed.request);
    civnet::fuzz::show(res.status, res.body);
    node.keepSession();
    if (!parsed.keepAlive) break;
    rest.remove_prefix(parsed.consumed);
  }
  return 0;
}

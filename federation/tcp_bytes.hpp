// What a TCP connection carried, as the kernel counts it (TCP_INFO): every
// byte of payload, so TLS records, their overhead and the handshake are
// included, headers of TCP and IP are not. The peer network reports these
// beside its message counts, so the bytes a sync costs on the wire can be
// measured (tools/bench, docs/performance.md).
#pragma once

#include <cstdint>
#include <optional>

namespace civnet::federation {

struct WireBytes {
  std::uint64_t in = 0;   // payload received
  std::uint64_t out = 0;  // payload sent, retransmissions not counted
};

// The counts of the connected TCP socket `fd`; nullopt if the kernel does
// not keep them (older than Linux 5.5) or `fd` is not a TCP socket.
std::optional<WireBytes> tcpBytes(int fd);

}  // namespace civnet::federation

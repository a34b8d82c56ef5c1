#include "federation/tcp_bytes.hpp"

// <linux/tcp.h>, not glibc's <netinet/tcp.h>: only the kernel's header has
// the byte counters of struct tcp_info. The two cannot share a translation
// unit, so this one has no other include that brings in netinet/tcp.h.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace civnet::federation {

std::optional<WireBytes> tcpBytes(int fd) {
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  // The struct grows at its end from one kernel to the next: the counters
  // are there only if the kernel filled that far.
  if (len < offsetof(struct tcp_info, tcpi_bytes_retrans) + sizeof info.tcpi_bytes_retrans) return std::nullopt;
  WireBytes w;
  w.in = info.tcpi_bytes_received;
  w.out = info.tcpi_bytes_sent >= info.tcpi_bytes_retrans ? info.tcpi_bytes_sent - info.tcpi_bytes_retrans : 0;
  return w;
}

}  // namespace civnet::federation

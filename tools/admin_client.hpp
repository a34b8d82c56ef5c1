// A small blocking HTTP/1.1 client for civnetd's admin API on its Unix
// socket. One connection per request (the CLI makes few requests), or one
// kept open (AdminSession, for the benchmarks); every
// request has a deadline, and a reply body has a size cap.
//
// Beast and Asio stay inside admin_client.cpp.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "schemas/status.hpp"

namespace civnet::tools {

struct HttpReply {
  unsigned status = 0;
  std::string contentType;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool keepAlive = false;  // the server takes another request on this connection
};

class AdminClient {
 public:
  AdminClient(std::string socketPath, std::chrono::seconds timeout)
      : socketPath_(std::move(socketPath)), timeout_(timeout) {}

  // Sends one request and reads the reply. A daemon that is not there (no
  // socket, nobody listening) is StatusCode::unavailable; a deadline passed
  // or a broken reply is ioError. A daemon that answers and hangs up before
  // taking the whole body (413, body too large) gives its answer, not the
  // broken pipe.
  Result<HttpReply> request(const std::string& method, const std::string& target, const std::string& body = "",
                            const std::string& contentType = "application/json") const;

  // GETs `target` and hands a 200 reply's body to `sink` a piece at a time
  // as it arrives (each read has the deadline; the whole has none); any
  // other reply comes back whole, its body not given to `sink`. A body cut
  // off before its end (civnetd stopped) is ioError; an error from `sink`
  // ends the transfer and is returned.
  Result<HttpReply> stream(const std::string& target, const std::function<Status(std::string_view)>& sink) const;

  const std::string& socketPath() const { return socketPath_; }

 private:
  std::string socketPath_;
  std::chrono::seconds timeout_;
};

// One connection to civnetd's admin API kept open for many requests
// (HTTP/1.1 keep-alive), for programs that make many in a row: the
// benchmarks. Not thread-safe: one per thread. When civnetd closes the
// connection (after an error, or as it stops), the next request opens a new
// one; a request that fails is not repeated.
class AdminSession {
 public:
  AdminSession(std::string socketPath, std::chrono::seconds timeout);
  ~AdminSession();
  AdminSession(const AdminSession&) = delete;
  AdminSession& operator=(const AdminSession&) = delete;

  Result<HttpReply> request(const std::string& method, const std::string& target, const std::string& body = "",
                            const std::string& contentType = "application/json");

 private:
  struct Conn;
  std::string socketPath_;
  std::chrono::seconds timeout_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace civnet::tools

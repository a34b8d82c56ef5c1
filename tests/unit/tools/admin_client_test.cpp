// Tests of civnetctl's admin API client (tools/admin_client.hpp) against a
// tiny fake server on a Unix socket in a temp dir: what the client returns
// when the server answers and hangs up early, and how a session keeps and
// renews its connection.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tools/admin_client.hpp"

namespace fs = std::filesystem;
using civnet::tools::AdminClient;
using civnet::tools::AdminSession;

namespace {

// A server on a Unix socket in a temp dir: accepts `connections`
// connections one after another and hands each one's socket to `serve`,
// which closes it.
class FakeServer {
 public:
  FakeServer(int connections, std::function<void(int)> serve) {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("civnet-client-" + std::to_string(rd()));
    fs::create_directories(dir_);
    path_ = (dir_ / "admin.sock").string();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    thread_ = std::thread([this, connections, serve = std::move(serve)] {
      for (int i = 0; i < connections; ++i) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        serve(c);
      }
    });
  }
  ~FakeServer() {
    thread_.join();
    ::close(fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  fs::path dir_;
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
};

// Reads one request's header from `c` (the requests here have no body);
// false when the client closed the connection first.
bool readHeader(int c, std::string& header) {
  char ch;
  header.clear();
  while (header.size() < 4 || header.compare(header.size() - 4, 4, "\r\n\r\n") != 0) {
    if (::read(c, &ch, 1) != 1) return false;
    header.push_back(ch);
  }
  return true;
}

void writeAll(int c, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(c, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

TEST_SUITE("admin_client") {
  TEST_CASE("a server that answers before taking the whole body gives its answer, not a broken pipe") {
    const std::string json = R"({"error":{"code":"payload_too_large","message":"request body of 8388608 bytes is over the limit of 1048576 bytes"}})";
    const std::string answer = "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(json.size()) + "\r\nConnection: close\r\n\r\n" + json;
    // Reads the request's header, answers, and closes without reading the
    // body (what civnetd does with a body over its limit).
    FakeServer server(1, [&](int c) {
      std::string header;
      readHeader(c, header);
      writeAll(c, answer);
      ::close(c);  // the unread body makes the client's write fail (EPIPE)
    });
    AdminClient client(server.path(), std::chrono::seconds(30));
    // Far more than the socket buffers hold, so the write is still going
    // when the server hangs up.
    std::string body(8 * 1024 * 1024, 'x');
    auto reply = client.request("POST", "/v1/import", body, "application/octet-stream");
    INFO(reply.status().message());
    REQUIRE(reply.ok());
    CHECK(reply->status == 413);
    CHECK(reply->body == json);
    CHECK(reply->contentType == "application/json");
  }

  TEST_CASE("a session keeps one connection for many requests, and opens another when the server closes it") {
    // Each connection: two answers that keep it open, then one that says
    // "close" and closes it.
    std::vector<std::string> seen;  // each connection's request targets
    std::vector<std::string> bodies;
    {
      FakeServer server(2, [&](int c) {
        std::string targets, header;
        for (int n = 1; n <= 3 && readHeader(c, header); ++n) {
          targets += header.substr(4, header.find(' ', 4) - 4) + " ";
          const std::string body = "reply " + std::to_string(n);
          writeAll(c, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                          (n == 3 ? "\r\nConnection: close" : "") + "\r\n\r\n" + body);
        }
        seen.push_back(targets);
        ::close(c);
      });
      AdminSession session(server.path(), std::chrono::seconds(30));
      for (int i = 1; i <= 6; ++i) {
        auto reply = session.request("GET", "/v1/r" + std::to_string(i));
        INFO(reply.status().message());
        REQUIRE(reply.ok());
        CHECK(reply->status == 200);
        CHECK(reply->keepAlive == (i % 3 != 0));
        bodies.push_back(reply->body);
      }
    }  // the server has served both connections
    CHECK(bodies == std::vector<std::string>{"reply 1", "reply 2", "reply 3", "reply 1", "reply 2", "reply 3"});
    CHECK(seen == std::vector<std::string>{"/v1/r1 /v1/r2 /v1/r3 ", "/v1/r4 /v1/r5 /v1/r6 "});
  }
}

// Tests of civnetctl's admin API client (tools/admin_client.hpp) against a
// tiny fake server on a Unix socket in a temp dir: what the client returns
// when the server answers and hangs up early.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "tools/admin_client.hpp"

namespace fs = std::filesystem;
using civnet::tools::AdminClient;

namespace {

// A server for one connection: reads the request header, writes `reply`
// and closes the socket without reading the body (what civnetd does with a
// body over its limit).
class EarlyAnswerServer {
 public:
  explicit EarlyAnswerServer(std::string reply) : reply_(std::move(reply)) {
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
    thread_ = std::thread([this] { serveOne(); });
  }
  ~EarlyAnswerServer() {
    thread_.join();
    ::close(fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& path() const { return path_; }
  const std::string& header() const { return header_; }  // valid after the client returned

 private:
  void serveOne() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    char buf[4096];
    while (header_.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      header_.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t off = 0;
    while (off < reply_.size()) {
      ssize_t n = ::write(c, reply_.data() + off, reply_.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(c);  // the unread body makes the client's write fail (EPIPE)
  }

  std::string reply_;
  fs::path dir_;
  std::string path_;
  int fd_ = -1;
  std::string header_;
  std::thread thread_;
};

}  // namespace

TEST_SUITE("admin_client") {
  TEST_CASE("a server that answers before taking the whole body gives its answer, not a broken pipe") {
    const std::string json = R"({"error":{"code":"payload_too_large","message":"request body of 8388608 bytes is over the limit of 1048576 bytes"}})";
    EarlyAnswerServer server("HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(json.size()) + "\r\nConnection: close\r\n\r\n" + json);
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
}

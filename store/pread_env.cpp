#include "store/pread_env.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <leveldb/env.h>
#include <leveldb/status.h>

namespace civnet::store {
namespace {

leveldb::Status errnoStatus(const std::string& file, int err) {
  if (err == ENOENT) return leveldb::Status::NotFound(file, std::strerror(err));
  return leveldb::Status::IOError(file, std::strerror(err));
}

class PreadFile final : public leveldb::RandomAccessFile {
 public:
  PreadFile(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~PreadFile() override { ::close(fd_); }
  PreadFile(const PreadFile&) = delete;
  PreadFile& operator=(const PreadFile&) = delete;

  // Safe from many threads at once (pread keeps no file position).
  leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice* result, char* scratch) const override {
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, scratch + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        *result = leveldb::Slice(scratch, 0);
        return errnoStatus(name_, errno);
      }
      if (r == 0) break;  // end of file: LevelDB checks the length it got
      got += static_cast<size_t>(r);
    }
    *result = leveldb::Slice(scratch, got);
    return leveldb::Status::OK();
  }

 private:
  std::string name_;
  int fd_;
};

class PreadEnv final : public leveldb::EnvWrapper {
 public:
  PreadEnv() : EnvWrapper(leveldb::Env::Default()) {}

  // Table files (the only ones LevelDB reads at random). The table cache
  // keeps at most Options::max_open_files of them open.
  leveldb::Status NewRandomAccessFile(const std::string& name, leveldb::RandomAccessFile** result) override {
    *result = nullptr;
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errnoStatus(name, errno);
    try {
      *result = new PreadFile(name, fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    return leveldb::Status::OK();
  }
};

}  // namespace

leveldb::Env* preadEnv() {
  // Never destroyed (as LevelDB's own default): a database closed during
  // the process's exit still finds it.
  static PreadEnv* const env = new PreadEnv;
  return env;
}

}  // namespace civnet::store

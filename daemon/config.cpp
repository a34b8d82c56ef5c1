// Parsing and validating civnetd.toml (see config.hpp).
#include "config.hpp"

#include <array>
#include <fstream>
#include <limits>
#include <sstream>

#include <toml++/toml.h>

namespace civnet::daemon {
namespace {

constexpr std::array kLogLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};

std::string where(const std::string& file, const toml::source_region& src) {
  return file + ":" + std::to_string(src.begin.line);
}

// Reads one integer in [lo, hi]; leaves `out` alone when the key is absent.
Status readInt(const toml::table& t, std::string_view key, const std::string& file,
               std::string_view section, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  const toml::node* n = t.get(key);
  if (!n) return {};
  auto v = n->value_exact<std::int64_t>();
  if (!v)
    return invalidArgument(where(file, n->source()) + ": [" + std::string(section) + "] " +
                           std::string(key) + " must be an integer");
  if (*v < lo || *v > hi)
    return invalidArgument(where(file, n->source()) + ": [" + std::string(section) + "] " +
                           std::string(key) + " must be between " + std::to_string(lo) + " and " +
                           std::to_string(hi) + ", got " + std::to_string(*v));
  out = *v;
  return {};
}

// Refuses any key of `t` not in `known`.
Status onlyKnownKeys(const toml::table& t, std::initializer_list<std::string_view> known,
                     const std::string& file, const std::string& section) {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) {
      std::string what = section.empty() ? "key or section \"" + std::string(k.str()) + "\""
                                         : "key \"" + std::string(k.str()) + "\" in [" + section + "]";
      return invalidArgument(where(file, v.source()) + ": unknown " + what);
    }
  }
  return {};
}

Result<const toml::table*> section(const toml::table& root, std::string_view name,
                                   const std::string& file) {
  const toml::node* n = root.get(name);
  if (!n) return static_cast<const toml::table*>(nullptr);
  if (!n->is_table())
    return invalidArgument(where(file, n->source()) + ": " + std::string(name) + " must be a section ([" +
                           std::string(name) + "])");
  return n->as_table();
}

}  // namespace

bool isLogLevel(const std::string& level) {
  for (auto l : kLogLevels)
    if (level == l) return true;
  return false;
}

std::string defaultConfigText() {
  return R"(# civnetd configuration.
#
# Every setting below shows its default; a setting left out takes it.
# Unknown keys are refused, so a typo is reported instead of ignored.
# Command-line flags (e.g. `civnetd run --log-level debug`) override this file.

[log]
# One of: trace, debug, info, warn, error, critical, off.
level = "info"

[admin]
# The admin API listens on admin.sock in the data dir (mode 0600: file
# permissions are its authentication). civnetctl is its client.
#
# Seconds a client has to send one request, and to read its answer.
request_timeout_seconds = 30
# Largest request body accepted, in bytes: the size of one import batch
# (civnetctl import sends batches of at most 4 MiB, smaller when this is
# smaller; it reads this limit from GET /v1/status). Between 1048576 and
# 67108864.
max_request_bytes = 8388608
# Threads that run store calls (publish, import, reads) for the admin API,
# so a slow disk never stalls the server. Between 1 and 16.
worker_threads = 2

[store]
# LevelDB block cache, in MiB. Between 1 and 4096.
block_cache_mib = 32
)";
}

Result<Config> parseConfig(const std::string& text, const std::string& fileName) {
  toml::table root;
  try {
    root = toml::parse(text, fileName);
  } catch (const toml::parse_error& e) {
    return invalidArgument(fileName + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
  }
  if (auto s = onlyKnownKeys(root, {"log", "admin", "store"}, fileName, ""); !s.ok()) return s;

  Config c;
  auto log = section(root, "log", fileName);
  if (!log.ok()) return log.status();
  if (const toml::table* t = log.value()) {
    if (auto s = onlyKnownKeys(*t, {"level"}, fileName, "log"); !s.ok()) return s;
    if (const toml::node* n = t->get("level")) {
      auto v = n->value_exact<std::string>();
      if (!v || !isLogLevel(*v))
        return invalidArgument(where(fileName, n->source()) +
                               ": [log] level must be one of trace, debug, info, warn, error, "
                               "critical, off");
      c.logLevel = *v;
    }
  }

  auto admin = section(root, "admin", fileName);
  if (!admin.ok()) return admin.status();
  if (const toml::table* t = admin.value()) {
    if (auto s = onlyKnownKeys(*t, {"request_timeout_seconds", "max_request_bytes", "worker_threads"},
                               fileName, "admin");
        !s.ok())
      return s;
    std::int64_t timeout = c.requestTimeoutSeconds, maxBytes = static_cast<std::int64_t>(c.maxRequestBytes),
                 workers = c.workerThreads;
    if (auto s = readInt(*t, "request_timeout_seconds", fileName, "admin", 1, 3600, timeout); !s.ok()) return s;
    if (auto s = readInt(*t, "max_request_bytes", fileName, "admin", 1 << 20, 64 << 20, maxBytes); !s.ok())
      return s;
    if (auto s = readInt(*t, "worker_threads", fileName, "admin", 1, 16, workers); !s.ok()) return s;
    c.requestTimeoutSeconds = static_cast<int>(timeout);
    c.maxRequestBytes = static_cast<std::size_t>(maxBytes);
    c.workerThreads = static_cast<int>(workers);
  }

  auto store = section(root, "store", fileName);
  if (!store.ok()) return store.status();
  if (const toml::table* t = store.value()) {
    if (auto s = onlyKnownKeys(*t, {"block_cache_mib"}, fileName, "store"); !s.ok()) return s;
    std::int64_t cache = static_cast<std::int64_t>(c.blockCacheMib);
    if (auto s = readInt(*t, "block_cache_mib", fileName, "store", 1, 4096, cache); !s.ok()) return s;
    c.blockCacheMib = static_cast<std::size_t>(cache);
  }
  return c;
}

Result<Config> loadConfig(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return notFound("cannot read config file " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ioError("error reading config file " + file.string());
  return parseConfig(text.str(), file.string());
}

}  // namespace civnet::daemon

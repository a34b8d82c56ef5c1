// Parsing and validating civnetd.toml (see config.hpp).
#include "config.hpp"

#include <array>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

#include <toml++/toml.h>

#include "federation/peer_network.hpp"
#include "schemas/crypto.hpp"

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
// A HOST:PORT string ("" allowed: none).
Status readAddress(const toml::table& t, std::string_view key, const std::string& file, std::string& out,
                   std::string_view section = "net") {
  const toml::node* n = t.get(key);
  if (!n) return {};
  const std::string name = "[" + std::string(section) + "] " + std::string(key);
  auto v = n->value_exact<std::string>();
  if (!v) return invalidArgument(where(file, n->source()) + ": " + name + " must be a string, HOST:PORT");
  if (!v->empty())
    if (auto a = federation::parsePeerAddress(*v); !a.ok())
      return invalidArgument(where(file, n->source()) + ": " + name + ": " + a.status().message());
  out = *v;
  return {};
}

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

std::string defaultConfigText(const std::string& peerListen, const std::string& httpListen) {
  std::string text = R"(# civnetd configuration.
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
# so a slow disk never stalls the server. A publish holds its thread until
# the synced write that makes it durable, which concurrent publishes share:
# as many threads as clients publishing at once. Between 1 and 64.
worker_threads = 16

[store]
# LevelDB block cache, in MiB. Between 1 and 4096.
block_cache_mib = 32
# LevelDB table files kept open at once (each is a file descriptor).
# Between 64 and 65536.
max_open_files = 1000
# Room for the store. Past either limit the node stops taking the content
# of entries from peers (their headers still sync, so every chain stays
# whole), says so in `civnetctl health`, and fetches the content by itself
# once there is room again. Its own organizations' publishes go on.
# The store's size, in MiB; 0 sets no limit. Between 0 and 16777216.
max_size_mib = 0
# Free disk space where the data dir is, in MiB. Between 0 and 1048576.
min_free_disk_mib = 256

[net]
# Where other nodes connect (mutual TLS 1.3), as HOST:PORT; 7420 is civnet's
# port. "" listens nowhere (the node only dials). `civnetd run --peer-listen`
# overrides it.
listen = "@LISTEN@"
# Seconds between pings on a quiet link; a link silent for three times this
# long is dropped and redialed. Between 1 and 300.
ping_interval_seconds = 10
# Most links other nodes may open to this one. Between 1 and 1024.
max_inbound_peers = 64
# The address other nodes should dial to reach this one, HOST:PORT, put in
# the profiles of the organizations it hosts (published at start when it
# changes). "" advertises none.
advertise = ""
# Also dial member nodes at the addresses their profiles advertise, up to
# max_outbound_peers links dialed by this node (configured peers included;
# those are always dialed).
dial_members = true
# Between 1 and 256.
max_outbound_peers = 8

[http]
# The member web interface and its API (HTTPS), as HOST:PORT. "" serves
# none. `civnetd run --http-listen` overrides it.
listen = "@HTTP@"
# The TLS certificate chain and private key (PEM files) browsers are shown.
# "" uses a self-signed certificate civnetd makes at the first run
# (keys/web.crt and web.key), which browsers warn about: give a certificate
# for the name members type.
cert_file = ""
key_file = ""
# A member's session ends after this long without a request (5 to 1440
# minutes), and in any case this long after its login (1 to 720 hours).
session_idle_minutes = 120
session_max_hours = 12

[metrics]
# Also serve GET /metrics (Prometheus text format) over plain HTTP here, as
# HOST:PORT, for a scraper: e.g. "127.0.0.1:9420". "" serves it on the admin
# socket only (civnetctl metrics). The metrics name peers' node keys and
# counts: keep this on a private address.
listen = ""

# The peers this node dials, one [[peer]] each: its address and the node key
# it must present (`civnetctl status` on that node shows it). Peers added
# with `civnetctl peers add` are kept in the store, not here.
#
# [[peer]]
# address = "hub.example.org:7420"
# key = "3a06...d9aa"
)";
  text.replace(text.find("@LISTEN@"), 8, peerListen);
  text.replace(text.find("@HTTP@"), 6, httpListen);
  return text;
}

Result<Config> parseConfig(const std::string& text, const std::string& fileName) {
  toml::table root;
  try {
    root = toml::parse(text, fileName);
  } catch (const toml::parse_error& e) {
    return invalidArgument(fileName + ":" + std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
  }
  if (auto s = onlyKnownKeys(root, {"log", "admin", "store", "net", "http", "metrics", "peer"}, fileName, "");
      !s.ok())
    return s;

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
    if (auto s = readInt(*t, "worker_threads", fileName, "admin", 1, 64, workers); !s.ok()) return s;
    c.requestTimeoutSeconds = static_cast<int>(timeout);
    c.maxRequestBytes = static_cast<std::size_t>(maxBytes);
    c.workerThreads = static_cast<int>(workers);
  }

  auto store = section(root, "store", fileName);
  if (!store.ok()) return store.status();
  if (const toml::table* t = store.value()) {
    if (auto s = onlyKnownKeys(*t, {"block_cache_mib", "max_open_files", "max_size_mib", "min_free_disk_mib"},
                               fileName, "store");
        !s.ok())
      return s;
    std::int64_t cache = static_cast<std::int64_t>(c.blockCacheMib), files = c.maxOpenFiles,
                 maxSize = static_cast<std::int64_t>(c.maxSizeMib), minFree = static_cast<std::int64_t>(c.minFreeDiskMib);
    if (auto s = readInt(*t, "block_cache_mib", fileName, "store", 1, 4096, cache); !s.ok()) return s;
    if (auto s = readInt(*t, "max_open_files", fileName, "store", 64, 65536, files); !s.ok()) return s;
    if (auto s = readInt(*t, "max_size_mib", fileName, "store", 0, 16777216, maxSize); !s.ok()) return s;
    if (auto s = readInt(*t, "min_free_disk_mib", fileName, "store", 0, 1048576, minFree); !s.ok()) return s;
    c.blockCacheMib = static_cast<std::size_t>(cache);
    c.maxOpenFiles = static_cast<int>(files);
    c.maxSizeMib = static_cast<std::size_t>(maxSize);
    c.minFreeDiskMib = static_cast<std::size_t>(minFree);
  }

  auto net = section(root, "net", fileName);
  if (!net.ok()) return net.status();
  if (const toml::table* t = net.value()) {
    if (auto s = onlyKnownKeys(*t, {"listen", "ping_interval_seconds", "max_inbound_peers", "advertise", "dial_members",
                                     "max_outbound_peers"},
                               fileName, "net");
        !s.ok())
      return s;
    if (auto st = readAddress(*t, "advertise", fileName, c.advertise); !st.ok()) return st;
    if (const toml::node* n = t->get("dial_members")) {
      auto v = n->value_exact<bool>();
      if (!v) return invalidArgument(where(fileName, n->source()) + ": [net] dial_members must be true or false");
      c.dialMembers = *v;
    }
    std::int64_t outbound = c.maxOutboundPeers;
    if (auto s = readInt(*t, "max_outbound_peers", fileName, "net", 1, 256, outbound); !s.ok()) return s;
    c.maxOutboundPeers = static_cast<int>(outbound);
    if (auto st = readAddress(*t, "listen", fileName, c.peerListen); !st.ok()) return st;
    std::int64_t ping = c.pingIntervalSeconds, inbound = c.maxInboundPeers;
    if (auto s = readInt(*t, "ping_interval_seconds", fileName, "net", 1, 300, ping); !s.ok()) return s;
    if (auto s = readInt(*t, "max_inbound_peers", fileName, "net", 1, 1024, inbound); !s.ok()) return s;
    c.pingIntervalSeconds = static_cast<int>(ping);
    c.maxInboundPeers = static_cast<int>(inbound);
  }

  auto metricsSection = section(root, "metrics", fileName);
  if (!metricsSection.ok()) return metricsSection.status();
  if (const toml::table* t = metricsSection.value()) {
    if (auto s = onlyKnownKeys(*t, {"listen"}, fileName, "metrics"); !s.ok()) return s;
    if (auto st = readAddress(*t, "listen", fileName, c.metricsListen, "metrics"); !st.ok()) return st;
  }

  auto httpSection = section(root, "http", fileName);
  if (!httpSection.ok()) return httpSection.status();
  if (const toml::table* t = httpSection.value()) {
    if (auto s = onlyKnownKeys(*t, {"listen", "cert_file", "key_file", "session_idle_minutes", "session_max_hours"},
                               fileName, "http");
        !s.ok())
      return s;
    std::int64_t idle = c.sessionIdleMinutes, maxHours = c.sessionMaxHours;
    if (auto s = readInt(*t, "session_idle_minutes", fileName, "http", 5, 1440, idle); !s.ok()) return s;
    if (auto s = readInt(*t, "session_max_hours", fileName, "http", 1, 720, maxHours); !s.ok()) return s;
    c.sessionIdleMinutes = static_cast<int>(idle);
    c.sessionMaxHours = static_cast<int>(maxHours);
    if (auto st = readAddress(*t, "listen", fileName, c.httpListen, "http"); !st.ok()) return st;
    for (auto [key, out] : {std::pair<const char*, std::string*>{"cert_file", &c.httpCertFile}, {"key_file", &c.httpKeyFile}})
      if (const toml::node* n = t->get(key)) {
        auto v = n->value_exact<std::string>();
        if (!v) return invalidArgument(where(fileName, n->source()) + ": [http] " + key + " must be a file path (a string)");
        *out = *v;
      }
    if (c.httpCertFile.empty() != c.httpKeyFile.empty())
      return invalidArgument(fileName + ": [http] cert_file and key_file go together: give both, or neither");
  }

  if (const toml::node* p = root.get("peer")) {
    const toml::array* arr = p->as_array();
    if (!arr || !arr->is_array_of_tables())
      return invalidArgument(where(fileName, p->source()) +
                             ": peer must be written as [[peer]] tables with an address and a key");
    for (const toml::node& item : *arr) {
      const toml::table& t = *item.as_table();
      if (auto s = onlyKnownKeys(t, {"address", "key"}, fileName, "[peer]"); !s.ok()) return s;
      auto address = t["address"].value_exact<std::string>();
      auto key = t["key"].value_exact<std::string>();
      if (!address || !key)
        return invalidArgument(where(fileName, item.source()) + ": [[peer]] needs address = \"HOST:PORT\" and key = "
                                                               "\"the node key there\"");
      if (auto a = federation::parseDialAddress(*address); !a.ok())
        return invalidArgument(where(fileName, item.source()) + ": [[peer]] " + a.status().message());
      if (auto k = PublicKey::parseHex(*key, "[[peer]] key"); !k.ok())
        return invalidArgument(where(fileName, item.source()) + ": " + k.status().message());
      for (const auto& other : c.peers)
        if (other.key == *key)
          return invalidArgument(where(fileName, item.source()) + ": [[peer]] key " + key->substr(0, 12) +
                                 " is given twice");
      c.peers.push_back(Config::Peer{*address, *key});
    }
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

Result<Config> checkConfigFile(const std::filesystem::path& file) {
  auto c = loadConfig(file);
  if (!c.ok()) return c;
  for (auto [key, path, marker] : {std::tuple<const char*, const std::string*, const char*>{
                                       "cert_file", &c->httpCertFile, "-----BEGIN CERTIFICATE-----"},
                                   {"key_file", &c->httpKeyFile, "PRIVATE KEY-----"}}) {
    if (path->empty()) continue;
    std::ifstream in(*path, std::ios::binary);
    if (!in)
      return notFound(file.string() + ": [http] " + key + " " + *path + " cannot be read (civnetd run reads it as " +
                      "the user it runs as)");
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().find(marker) == std::string::npos)
      return invalidArgument(file.string() + ": [http] " + key + " " + *path + " holds no PEM " +
                             (std::string(key) == "cert_file" ? "certificate" : "private key"));
  }
  return c;
}

}  // namespace civnet::daemon

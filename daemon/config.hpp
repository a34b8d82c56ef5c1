// civnetd's configuration: one TOML file in the data dir (civnetd.toml) with
// sensible defaults, so a fresh `civnetd init` runs without editing it.
//
// Unknown keys and bad values are refused, naming the file, the line and the
// reason: a typo in a config file must not silently fall back to a default.
// Command-line flags (e.g. --log-level) override what the file says.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "schemas/status.hpp"

namespace civnet::daemon {

struct Config {
  // [log]
  std::string logLevel = "info";  // trace, debug, info, warn, error, critical, off
  // [admin]
  int requestTimeoutSeconds = 30;                 // to read a request and write its answer
  std::size_t maxRequestBytes = 8 * 1024 * 1024;  // largest request body (an import batch)
  int workerThreads = 16;                         // threads running store calls for the API
  // [store]
  std::size_t blockCacheMib = 32;
  int maxOpenFiles = 1000;       // LevelDB table files open at once
  std::size_t maxSizeMib = 0;    // the store's size past which replicated content waits; 0: no limit
  std::size_t minFreeDiskMib = 256;  // free disk under which replicated content waits
  // [net]
  std::string peerListen = "0.0.0.0:7420";  // HOST:PORT; "" listens nowhere
  int pingIntervalSeconds = 10;              // a link silent 3x this long is dead
  int maxInboundPeers = 64;
  std::string advertise;       // HOST:PORT other nodes should dial, put in this node's profiles; "" none
  bool dialMembers = true;     // dial member nodes at the addresses their profiles advertise
  int maxOutboundPeers = 8;    // links this node dials, configured peers included
  // [http]: the member web interface (HTTPS)
  std::string httpListen = "0.0.0.0:7443";  // HOST:PORT; "" serves no member interface
  std::string httpCertFile;  // PEM certificate chain; "" uses the node's own certificate (keys/node.crt)
  int sessionIdleMinutes = 120;  // a member session ends after this long unused
  int sessionMaxHours = 12;      // and this long after its login, in any case
  std::string httpKeyFile;   // its PEM private key; "" uses the node key
  // [metrics]
  std::string metricsListen;  // HOST:PORT to serve GET /metrics on over plain HTTP; "" none
  // [[peer]]: the peers this node dials (more are added with civnetctl
  // peers add, kept in the store)
  struct Peer {
    std::string address;  // HOST:PORT, checked
    std::string key;      // the node key there, 64 hex characters, checked
  };
  std::vector<Peer> peers;
};

// The commented file `civnetd init` writes; parses to Config{} but for
// the listen addresses given.
std::string defaultConfigText(const std::string& peerListen = Config{}.peerListen,
                              const std::string& httpListen = Config{}.httpListen);

// Parses TOML text; `fileName` is used in error messages only.
Result<Config> parseConfig(const std::string& text, const std::string& fileName);
Result<Config> loadConfig(const std::filesystem::path& file);
// What `run` checks of a config before it starts, without starting:
// loadConfig's rules, and that [http] cert_file and key_file (if given)
// are readable PEM files (a certificate, a private key).
Result<Config> checkConfigFile(const std::filesystem::path& file);

// True for the level names spdlog knows ("trace" ... "off").
bool isLogLevel(const std::string& level);

}  // namespace civnet::daemon

// The admin API's request handling, apart from any socket: a request (method,
// target, body) in, a response (status, content type, body, headers) out.
// docs/admin-api.md documents every endpoint; keep the two in step.
//
// admin_server.cpp owns the Unix socket and HTTP; it calls handle() on a
// small thread pool, because store calls block (publish waits for a synced
// write). Keeping the handlers here keeps Boost.JSON out of the Beast TU and
// lets tests drive the API without a socket.
//
// Membership (GET /v1/members, the steward actions admit, revoke, lift and
// takedown, and an organization's retract) needs two optional collaborators
// (MembershipServices): this node's steward key and the membership tracker.
//
// Thread safety: handle() may run on several threads at once. The store is
// thread-safe, and so is the tracker's view(); the job table has its own
// mutex. A verify job runs on one worker thread owned by this object; the
// destructor waits for it. Steward actions, and retractions, are each
// serialised by a mutex, so two concurrent lifts cannot both lift the same
// revocation, nor two retractions retract the same entry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schemas/crypto.hpp"
#include "schemas/status.hpp"

namespace spdlog { class logger; }
namespace civnet::store { class Store; }
namespace civnet::federation {
class MembershipTracker;
class PeerNetwork;
}

namespace civnet::daemon {

class Accounts;
class HostedOrgs;
class PeerBook;
class PublishGuard;
class Reloader;
class SpaceWatch;
struct SpaceUse;
class MemberApi;
class MemberServer;
class SearchIndex;

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/v1/entries?tag=x"
  std::string body;
};

struct ApiResponse {
  unsigned status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // A body too large to hold at once (a backup), sent chunked instead of
  // `body`: called again and again, off the io thread, each call filling
  // `chunk` with the next piece, until it leaves `chunk` empty. An error
  // ends the connection without the last chunk, so the client sees an
  // incomplete reply rather than a short one.
  std::function<Status(std::string& chunk)> stream;
};

// What the node is, for GET /v1/status. The organization init made is
// HostedOrgs::primary().
struct NodeInfo {
  PublicKey nodeKey;
  std::optional<PublicKey> stewardKey;  // the steward key this node holds, counting or not
  Digest network;
  std::string networkName;
  std::string version;
  std::string dataDir;  // for the disk check of health ("" skips it)
};

// Limits of the API (from the config file).
struct ApiLimits {
  std::size_t maxRequestBytes = 8 * 1024 * 1024;  // POST /v1/import bodies
  std::size_t maxJsonBytes = 1024 * 1024;          // every other body
};

// What the membership endpoints need; each may be absent.
struct MembershipServices {
  // The steward key this node holds (keys/steward.key), or nullptr. Steward
  // actions answer 403 not_a_steward without one, and while the steward set
  // in force does not name it (checked at each action, so a node a new set
  // names acts as a steward at once).
  const PrivateKey* stewardKey = nullptr;
  // The tracker installed as the store's policy, or nullptr: membership
  // endpoints then answer 503 "membership view not available".
  federation::MembershipTracker* membership = nullptr;
  // The peer network and the peers it dials, or nullptr: peer endpoints
  // then answer 503 "the peer network is not running".
  federation::PeerNetwork* network = nullptr;
  PeerBook* peers = nullptr;
  // Member accounts, or nullptr: account endpoints then answer 503.
  Accounts* accounts = nullptr;
  // The full-text search index, or nullptr: reindex then leaves it be, and
  // search answers 503.
  SearchIndex* search = nullptr;
  // The member API, for its counters in /metrics; or nullptr.
  const MemberApi* memberApi = nullptr;
  // Room for the store (health, metrics), or nullptr.
  const SpaceWatch* space = nullptr;
  // Reads civnetd.toml again (POST /v1/reload), or nullptr.
  Reloader* reloader = nullptr;
  // The pause on publishing after a restore, or nullptr.
  PublishGuard* publishGuard = nullptr;
  // The member interface's server, for its connection counts in /metrics;
  // or nullptr.
  const MemberServer* memberServer = nullptr;
  // The port the member interface listens on, if it does.
  std::optional<std::uint16_t> httpPort = std::nullopt;
};

class AdminApi {
 public:
  // REQUIRES: `store`, `orgs` and whatever `services` points to outlive
  // this object.
  AdminApi(store::Store& store, HostedOrgs& orgs, NodeInfo info, ApiLimits limits,
           std::shared_ptr<spdlog::logger> log, MembershipServices services = {});
  ~AdminApi();  // waits for a running job to finish
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  // Answers one request. May block on the store: call it off the io thread.
  ApiResponse handle(const ApiRequest& request);

  // The largest body this request may carry (known from its request line,
  // before the body is read).
  std::size_t bodyLimit(std::string_view method, std::string_view target) const;
  // [admin] max_request_bytes, after a reload.
  void setMaxRequestBytes(std::size_t n) { maxRequestBytes_.store(n); }

  // {"error": {"code": ..., "message": ...}} with `status`; used for errors
  // found before a request reaches handle() (too large, too slow, malformed).
  static ApiResponse errorResponse(unsigned status, std::string_view code, std::string_view message);

  class Jobs;

 private:
  ApiResponse status();
  ApiResponse feeds();
  ApiResponse publish(const ApiRequest& r);
  ApiResponse listEntries(std::string_view query);
  ApiResponse showEntry(std::string_view idHex);
  ApiResponse startVerify();
  ApiResponse reindex();
  ApiResponse startReindex();
  ApiResponse backup();
  ApiResponse resumePublishing();
  SpaceUse space() const;
  ApiResponse reload();
  ApiResponse search(std::string_view query);
  ApiResponse health();
  ApiResponse metrics();
  ApiResponse orgProfile(const ApiRequest& r);
  ApiResponse showJob(std::string_view id);
  ApiResponse exportPage(std::string_view query);
  ApiResponse import(const ApiRequest& r);
  ApiResponse listMembers(std::string_view query);
  ApiResponse showMember(std::string_view key);
  ApiResponse admit(const ApiRequest& r);
  ApiResponse listAccounts();
  ApiResponse addAccount(const ApiRequest& r);
  ApiResponse accountAction(std::string_view rest, const ApiRequest& r);
  ApiResponse stewardSet(const ApiRequest& r);
  ApiResponse revoke(const ApiRequest& r);
  ApiResponse lift(const ApiRequest& r);
  ApiResponse takedown(const ApiRequest& r);
  ApiResponse retract(const ApiRequest& r);
  ApiResponse listPeers();
  ApiResponse addPeer(const ApiRequest& r);
  ApiResponse removePeer(std::string_view key);
  ApiResponse syncNow();
  ApiResponse listOrgs();
  ApiResponse addOrg(const ApiRequest& r);
  // Why this node may not act as a steward now (no key, no view, or a key
  // the steward set in force does not name), or nullopt.
  std::optional<ApiResponse> refuseStewardAction() const;

  store::Store& store_;
  HostedOrgs& orgs_;
  NodeInfo info_;
  ApiLimits limits_;
  std::atomic<std::size_t> maxRequestBytes_;  // limits_.maxRequestBytes, changed by a reload
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<Jobs> jobs_;
  MembershipServices services_;
  std::mutex stewardMu_;  // one steward action at a time (check, then publish)
  std::mutex retractMu_;  // one retraction at a time (check, then publish)
};

// HTTP status for a Status code (invalid_argument 400, not_found 404, ...).
unsigned httpStatusFor(StatusCode code);

}  // namespace civnet::daemon

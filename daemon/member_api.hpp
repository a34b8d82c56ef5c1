// The member API: JSON under /api/ for the people of hosted organizations,
// and the web UI's files, served over HTTPS by member_server.
// docs/member-api.md lists it.
//
// Login, logout, me, changing one's password; entries (top-level posts,
// a page at a time, filtered or found by text search; one with its
// revisions and comments; publish, comment, revise, retract); a Markdown
// preview; the members directory; live updates (server-sent events); an
// organization's admins manage its accounts. A login sets the session
// cookie `__Host-civnet` (Secure, HttpOnly, SameSite=Strict, Path=/) and
// returns a CSRF token; every state-changing request after it (POST other
// than login) must send that token in the `X-CSRF-Token` header. Errors
// are {"error": {"code", "message"}} with a stable code.
//
// handle() may block (a password hash takes about half a second): call it
// off the network thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/sessions.hpp"
#include "schemas/record.hpp"

namespace spdlog { class logger; }

namespace civnet::daemon {

class Accounts;
class HostedOrgs;
class SearchIndex;
class Sessions;
struct Account;
}  // namespace civnet::daemon
namespace civnet::store { class Store; }
namespace civnet::federation { class MembershipTracker; }
namespace civnet::daemon {

struct MemberRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string cookie;  // the Cookie header
  std::string csrf;    // the X-CSRF-Token header
  std::string contentType;
  std::string clientAddress;  // for login throttling
  std::string lastEventId;    // the Last-Event-ID header (a reconnecting event stream)
};

struct MemberResponse {
  unsigned status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Retry-After
  // An event stream the server keeps open (GET /api/events): it sends
  // eventsAfter() from arrival-log position `streamFrom` on.
  bool stream = false;
  std::uint64_t streamFrom = 0;
};

// How far back (in arrival-log positions) a reconnecting event stream may
// resume; further back, it starts from now and the page reloads its list.
inline constexpr std::uint64_t kEventReplayLimit = 1000;

inline constexpr std::string_view kSessionCookie = "__Host-civnet";

class MemberApi {
 public:
  // REQUIRES: everything referred to outlives this object.
  // `search` may be nullptr: text searches then answer 503.
  MemberApi(Accounts& accounts, Sessions& sessions, HostedOrgs& orgs, store::Store& store,
            federation::MembershipTracker& membership, std::shared_ptr<spdlog::logger> log,
            SearchIndex* search = nullptr);
  MemberResponse handle(const MemberRequest& r);

  // Since civnetd started, for metrics.
  struct Counters {
    std::uint64_t loginsOk = 0;
    std::uint64_t loginsFailed = 0;  // wrong handle or password
    std::uint64_t loginsLocked = 0;  // refused while throttled
    // Answers by route ("/api/entries/{id}", "static") and HTTP status.
    std::map<std::pair<std::string, unsigned>, std::uint64_t> responses;
  };
  Counters counters() const;
  static MemberResponse error(unsigned status, std::string_view code, std::string_view message);

  // For an open event stream: the events (SSE text, "" when none) for what
  // the store took after arrival-log position `cursor`, which moves past
  // them; nullopt once the session behind `cookie` has ended. A bounded
  // batch: `more` says to ask again at once. A stream far behind gets
  // `event: resync` and moves to now. Does not count as the member's
  // activity.
  std::optional<std::string> eventsAfter(const std::string& cookie, std::uint64_t& cursor, bool& more);
  // Calls `news` (on the store's writer thread: it must not block) each
  // time the store has taken something; returns a handle for
  // unwatchArrivals, after which `news` is never called again.
  int watchArrivals(std::function<void()> news);
  void unwatchArrivals(int handle);

 private:
  MemberResponse route(const MemberRequest& r);
  MemberResponse login(const MemberRequest& r);
  MemberResponse logout(const MemberRequest& r);
  MemberResponse me(const MemberRequest& r);
  MemberResponse changePassword(const MemberRequest& r);
  enum class Access { ownPasswordChosen, evenBeforeOwnPassword };
  Result<Session> session(const MemberRequest& r, MemberResponse& refusal,
                          Access access = Access::ownPasswordChosen);
  MemberResponse listEntries(const MemberRequest& r, std::string_view query);
  MemberResponse showEntry(const MemberRequest& r, std::string_view id);
  MemberResponse publish(const MemberRequest& r);
  MemberResponse listMembers(const MemberRequest& r, std::string_view query);
  MemberResponse retract(const MemberRequest& r, std::string_view id);
  MemberResponse comment(const MemberRequest& r, std::string_view id);
  MemberResponse revise(const MemberRequest& r, std::string_view id);
  MemberResponse preview(const MemberRequest& r);
  MemberResponse openEvents(const MemberRequest& r);
  MemberResponse adminAccounts(const MemberRequest& r, std::string_view rest);
  MemberResponse adminProfile(const MemberRequest& r);
  MemberResponse staticFile(const MemberRequest& r, std::string_view path);
  static MemberResponse methodNotAllowed(const MemberRequest& r, std::string_view allowed);
  // A status as a JSON error; an unexpected one is logged and answered
  // without its detail.
  MemberResponse fromStatus(const Status& s) const;
  MemberResponse publishRefusal(const Status& s) const;
  Result<record::Entry> publishPost(const Session& s, const record::Post& p, MemberResponse& refusal);

  Accounts& accounts_;
  Sessions& sessions_;
  HostedOrgs& orgs_;
  store::Store& store_;
  federation::MembershipTracker& membership_;
  SearchIndex* search_;
  mutable std::mutex countersMu_;
  Counters counters_;  // guarded by countersMu_
  std::mutex retractMu_;  // one retraction of an entry, not two racing
  std::shared_ptr<spdlog::logger> log_;
};

// The value of cookie `name` in a Cookie header, or "".
std::string cookieValue(std::string_view header, std::string_view name);

}  // namespace civnet::daemon

// The member API: JSON under /api/ for the people of hosted organizations,
// served over HTTPS by member_server. docs/member-api.md lists it.
//
// Built so far: login, logout, me, changing one's password, entries (list
// newest first with filters, read one, publish a post), and the members
// directory. A login
// sets the session cookie `__Host-civnet` (Secure, HttpOnly,
// SameSite=Strict, Path=/) and returns a CSRF token; every state-changing
// request after it (POST other than login) must send that token in the
// `X-CSRF-Token` header. Errors are {"error": {"code", "message"}} with a
// stable code.
//
// handle() may block (a password hash takes about half a second): call it
// off the network thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/sessions.hpp"

namespace spdlog { class logger; }

namespace civnet::daemon {

class Accounts;
class HostedOrgs;
class Sessions;
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
};

struct MemberResponse {
  unsigned status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Set-Cookie, Retry-After
};

inline constexpr std::string_view kSessionCookie = "__Host-civnet";

class MemberApi {
 public:
  // REQUIRES: everything referred to outlives this object.
  MemberApi(Accounts& accounts, Sessions& sessions, HostedOrgs& orgs, store::Store& store,
            federation::MembershipTracker& membership, std::shared_ptr<spdlog::logger> log);
  MemberResponse handle(const MemberRequest& r);
  static MemberResponse error(unsigned status, std::string_view code, std::string_view message);

 private:
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

  Accounts& accounts_;
  Sessions& sessions_;
  HostedOrgs& orgs_;
  store::Store& store_;
  federation::MembershipTracker& membership_;
  std::mutex retractMu_;  // one retraction of an entry, not two racing
  std::shared_ptr<spdlog::logger> log_;
};

// The value of cookie `name` in a Cookie header, or "".
std::string cookieValue(std::string_view header, std::string_view name);

}  // namespace civnet::daemon

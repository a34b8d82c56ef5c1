// The member API (see member_api.hpp).
#include "member_api.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "daemon/accounts.hpp"
#include "daemon/hosted_orgs.hpp"
#include "daemon/sessions.hpp"

namespace civnet::daemon {
namespace json = boost::json;

namespace {

MemberResponse jsonReply(unsigned status, const json::value& v) {
  MemberResponse r;
  r.status = status;
  r.body = json::serialize(v) + "\n";
  return r;
}

std::string sessionCookie(const std::string& token, std::chrono::seconds maxAge) {
  return std::string(kSessionCookie) + "=" + token + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(maxAge.count());
}

std::string clearedCookie() {
  return std::string(kSessionCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";
}

// The body as an object with exactly string fields `fields` (others refused).
Result<std::vector<std::string>> stringFields(std::string_view body, std::initializer_list<std::string_view> fields) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return invalidArgument("the body must be a JSON object");
  const json::object& o = v.as_object();
  for (const auto& kv : o) {
    bool known = false;
    for (auto f : fields) known = known || kv.key() == f;
    if (!known) return invalidArgument("unknown field \"" + std::string(kv.key()) + "\"");
  }
  std::vector<std::string> out;
  for (auto f : fields) {
    auto it = o.find(f);
    if (it == o.end() || !it->value().is_string())
      return invalidArgument("\"" + std::string(f) + "\" is required, as a string");
    out.emplace_back(it->value().as_string());
  }
  return out;
}

MemberResponse fromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::invalidArgument: return MemberApi::error(400, "invalid_argument", s.message());
    case StatusCode::permissionDenied: return MemberApi::error(401, "unauthenticated", s.message());
    case StatusCode::notFound: return MemberApi::error(404, "not_found", s.message());
    default: return MemberApi::error(500, "internal", "the node could not do it: " + s.message());
  }
}

}  // namespace

std::string cookieValue(std::string_view header, std::string_view name) {
  for (std::size_t at = 0; at < header.size();) {
    auto semi = header.find(';', at);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view part = header.substr(at, semi - at);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    at = semi + 1;
  }
  return {};
}

MemberApi::MemberApi(Accounts& accounts, Sessions& sessions, HostedOrgs& orgs, std::shared_ptr<spdlog::logger> log)
    : accounts_(accounts), sessions_(sessions), orgs_(orgs), log_(std::move(log)) {}

MemberResponse MemberApi::error(unsigned status, std::string_view code, std::string_view message) {
  return jsonReply(status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

MemberResponse MemberApi::handle(const MemberRequest& r) {
  std::string_view path = r.target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  const bool post = r.method == "POST", get = r.method == "GET";
  auto only = [&](bool ok, std::string_view allowed, auto&& f) -> MemberResponse {
    if (!ok) {
      MemberResponse res = error(405, "method_not_allowed", std::string(r.method) + " is not allowed here");
      res.headers.emplace_back("Allow", std::string(allowed));
      return res;
    }
    return f();
  };
  if (path == "/api/login") return only(post, "POST", [&] { return login(r); });
  if (path == "/api/logout") return only(post, "POST", [&] { return logout(r); });
  if (path == "/api/me") return only(get, "GET", [&] { return me(r); });
  if (path == "/api/password") return only(post, "POST", [&] { return changePassword(r); });
  return error(404, "not_found", "no such page: " + std::string(path.substr(0, 200)));
}

namespace {
json::object accountView(const Session& s, const HostedOrgs& orgs) {
  auto org = orgs.find(s.account.org.hex());
  return json::object{{"handle", s.account.handle},
                      {"name", s.account.name},
                      {"org", s.account.org.hex()},
                      {"org_name", org.ok() ? json::value(org->name) : json::value(nullptr)},
                      {"admin", s.account.admin},
                      {"must_change_password", s.account.mustChangePassword},
                      {"csrf", s.csrf}};
}
}  // namespace

MemberResponse MemberApi::login(const MemberRequest& r) {
  auto f = stringFields(r.body, {"handle", "password"});
  if (!f.ok()) return fromStatus(f.status());
  LoginResult res = sessions_.login((*f)[0], (*f)[1], r.clientAddress);
  if (res.outcome == LoginResult::Outcome::locked) {
    MemberResponse e = error(429, "locked",
                             "too many failed logins: try again in " + std::to_string(res.retryAfter.count()) + " s");
    e.headers.emplace_back("Retry-After", std::to_string(res.retryAfter.count()));
    log_->info("login of \"{}\" from {}: refused, locked for {} s", (*f)[0].substr(0, 40), r.clientAddress,
               res.retryAfter.count());
    return e;
  }
  if (res.outcome != LoginResult::Outcome::ok) {
    log_->info("login of \"{}\" from {}: wrong handle or password", (*f)[0].substr(0, 40), r.clientAddress);
    return error(401, "unauthenticated", "wrong handle or password");
  }
  log_->info("login of {} from {}", res.session.account.handle, r.clientAddress);
  MemberResponse ok = jsonReply(200, accountView(res.session, orgs_));
  ok.headers.emplace_back("Set-Cookie", sessionCookie(res.token, std::chrono::hours(12)));
  return ok;
}

MemberResponse MemberApi::me(const MemberRequest& r) {
  auto s = sessions_.check(cookieValue(r.cookie, kSessionCookie));
  if (!s.ok()) return error(401, "session_expired", s.status().message());
  return jsonReply(200, accountView(*s, orgs_));
}

MemberResponse MemberApi::logout(const MemberRequest& r) {
  const std::string token = cookieValue(r.cookie, kSessionCookie);
  auto s = sessions_.check(token);
  if (!s.ok()) return error(401, "session_expired", s.status().message());
  if (!Sessions::csrfMatches(*s, r.csrf)) return error(403, "csrf", "the X-CSRF-Token header is missing or wrong");
  if (auto st = sessions_.logout(token); !st.ok()) return fromStatus(st);
  log_->info("logout of {}", s->account.handle);
  MemberResponse ok = jsonReply(200, json::object{{"logged_out", true}});
  ok.headers.emplace_back("Set-Cookie", clearedCookie());
  return ok;
}

// {"current": ..., "new": ...}: every session of the account ends; the
// answer carries a new one.
MemberResponse MemberApi::changePassword(const MemberRequest& r) {
  auto s = sessions_.check(cookieValue(r.cookie, kSessionCookie));
  if (!s.ok()) return error(401, "session_expired", s.status().message());
  if (!Sessions::csrfMatches(*s, r.csrf)) return error(403, "csrf", "the X-CSRF-Token header is missing or wrong");
  auto f = stringFields(r.body, {"current", "new"});
  if (!f.ok()) return fromStatus(f.status());
  if (auto st = accounts_.changePassword(s->account.handle, (*f)[0], (*f)[1]); !st.ok()) {
    if (st.code() == StatusCode::permissionDenied) return error(403, "wrong_password", "the current password is wrong");
    return fromStatus(st);
  }
  (void)sessions_.endAll(s->account.handle);
  log_->info("{} changed their password; their sessions ended", s->account.handle);
  LoginResult again = sessions_.login(s->account.handle, (*f)[1], r.clientAddress);
  if (again.outcome != LoginResult::Outcome::ok)
    return error(500, "internal", "the password was changed, but no new session could be made: log in again");
  MemberResponse ok = jsonReply(200, accountView(again.session, orgs_));
  ok.headers.emplace_back("Set-Cookie", sessionCookie(again.token, std::chrono::hours(12)));
  return ok;
}

}  // namespace civnet::daemon

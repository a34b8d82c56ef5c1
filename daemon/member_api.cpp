// The member API (see member_api.hpp).
#include "member_api.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "daemon/accounts.hpp"
#include "daemon/hosted_orgs.hpp"
#include "daemon/http_text.hpp"
#include "daemon/sessions.hpp"
#include "federation/membership_tracker.hpp"
#include "schemas/content.hpp"
#include "store/store.hpp"

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

// A handle as the log may show it: only a well-formed one (a password typed
// into the handle field, or a line break, must not reach the log).
std::string loggable(std::string_view handle) {
  return checkHandle(handle).ok() ? std::string(handle) : std::string("(a malformed handle)");
}

// 429 with Retry-After.
MemberResponse locked(std::chrono::seconds wait, const std::string& why) {
  MemberResponse e = MemberApi::error(429, "locked", why + ": try again in " + std::to_string(wait.count()) + " s");
  e.headers.emplace_back("Retry-After", std::to_string(wait.count()));
  return e;
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

MemberApi::MemberApi(Accounts& accounts, Sessions& sessions, HostedOrgs& orgs, store::Store& store,
                     federation::MembershipTracker& membership, std::shared_ptr<spdlog::logger> log)
    : accounts_(accounts), sessions_(sessions), orgs_(orgs), store_(store), membership_(membership),
      log_(std::move(log)) {}

MemberResponse MemberApi::error(unsigned status, std::string_view code, std::string_view message) {
  return jsonReply(status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

MemberResponse MemberApi::handle(const MemberRequest& r) {
  std::string_view path = r.target, query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  const bool post = r.method == "POST", get = r.method == "GET";
  auto only = [&](bool ok, std::string_view allowed, auto&& f) -> MemberResponse {
    if (!ok) {
      MemberResponse res = error(405, "method_not_allowed", std::string(r.method) + " is not allowed here");
      res.headers.emplace_back("Allow", std::string(allowed));
      return res;
    }
    return f();
  };
  // Every POST is JSON: a cross-site form cannot send that without a CORS
  // preflight, which this server never grants (so no login CSRF either).
  if (post) {
    std::string_view type = r.contentType;
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    if (type != "application/json")
      return error(415, "unsupported_media_type", "send the body as JSON (Content-Type: application/json)");
  }
  if (path == "/api/login") return only(post, "POST", [&] { return login(r); });
  if (path == "/api/logout") return only(post, "POST", [&] { return logout(r); });
  if (path == "/api/me") return only(get, "GET", [&] { return me(r); });
  if (path == "/api/password") return only(post, "POST", [&] { return changePassword(r); });
  if (path == "/api/entries") {
    if (get) return listEntries(r, query);
    return only(post, "GET, POST", [&] { return publish(r); });
  }
  if (path.starts_with("/api/entries/") && path.ends_with("/retract")) {
    const std::string_view id = path.substr(std::string_view("/api/entries/").size());
    return only(post, "POST", [&] { return retract(r, id.substr(0, id.size() - std::string_view("/retract").size())); });
  }
  if (path.starts_with("/api/entries/"))
    return only(get, "GET", [&] { return showEntry(r, path.substr(std::string_view("/api/entries/").size())); });
  if (path == "/api/members") return only(get, "GET", [&] { return listMembers(r, query); });
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
    log_->info("login of {} from {}: refused, locked for {} s", loggable((*f)[0]), r.clientAddress,
               res.retryAfter.count());
    return locked(res.retryAfter, "too many failed logins");
  }
  if (res.outcome != LoginResult::Outcome::ok) {
    log_->info("login of {} from {}: wrong handle or password", loggable((*f)[0]), r.clientAddress);
    return error(401, "unauthenticated", "wrong handle or password");
  }
  log_->info("login of {} from {}", res.session.account.handle, r.clientAddress);
  MemberResponse ok = jsonReply(200, accountView(res.session, orgs_));
  ok.headers.emplace_back("Set-Cookie", sessionCookie(res.token, std::chrono::hours(12)));
  return ok;
}

MemberResponse MemberApi::me(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal, Access::evenBeforeOwnPassword);
  if (!s.ok()) return refusal;
  return jsonReply(200, accountView(*s, orgs_));
}

// The session of a request: a live one, with the CSRF token for a POST,
// and (unless `access` allows it) an account whose password its member
// chose (a generated or reset one must be changed first).
Result<Session> MemberApi::session(const MemberRequest& r, MemberResponse& refusal, Access access) {
  auto s = sessions_.check(cookieValue(r.cookie, kSessionCookie));
  if (!s.ok()) {
    refusal = error(401, "session_expired", s.status().message());
    return s.status();
  }
  if (r.method == "POST" && !Sessions::csrfMatches(*s, r.csrf)) {
    refusal = error(403, "csrf", "the X-CSRF-Token header is missing or wrong");
    return permissionDenied("csrf");
  }
  if (s->account.mustChangePassword && access == Access::ownPasswordChosen) {
    refusal = error(403, "must_change_password", "choose your own password first (POST /api/password)");
    return permissionDenied("must change the password");
  }
  return s;
}

MemberResponse MemberApi::logout(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal, Access::evenBeforeOwnPassword);
  if (!s.ok()) return refusal;
  if (auto st = sessions_.logout(cookieValue(r.cookie, kSessionCookie)); !st.ok()) return fromStatus(st);
  log_->info("logout of {}", s->account.handle);
  MemberResponse ok = jsonReply(200, json::object{{"logged_out", true}});
  ok.headers.emplace_back("Set-Cookie", clearedCookie());
  return ok;
}

// {"current": ..., "new": ...}: every session of the account ends; the
// answer carries a new one.
MemberResponse MemberApi::changePassword(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal, Access::evenBeforeOwnPassword);
  if (!s.ok()) return refusal;
  auto f = stringFields(r.body, {"current", "new"});
  if (!f.ok()) return fromStatus(f.status());
  // Guessing the current password with a stolen session is throttled as
  // logins are.
  if (auto wait = sessions_.lockedFor(s->account.handle, r.clientAddress); wait.count() > 0)
    return locked(wait, "too many wrong passwords");
  if (auto st = accounts_.changePassword(s->account.handle, (*f)[0], (*f)[1]); !st.ok()) {
    if (st.code() == StatusCode::permissionDenied) {
      sessions_.noteFailure(s->account.handle, r.clientAddress);
      return error(403, "wrong_password", "the current password is wrong");
    }
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

namespace {

// The name an organization gives itself in its latest profile; else the
// one its admission gave; else "".
std::string orgName(const federation::MembershipView& v, const PublicKey& feed) {
  if (auto p = v.profiles.find(feed); p != v.profiles.end() && !p->second.profile.name.empty())
    return p->second.profile.name;
  if (auto m = v.feeds.find(feed); m != v.feeds.end() && m->second.details) return m->second.details->name;
  return {};
}

std::string excerpt(const std::string& body) {
  constexpr std::size_t kMax = 280;
  if (body.size() <= kMax) return body;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return body.substr(0, cut) + "…";
}

json::object postJson(const record::Entry& e, const record::Post& p, const federation::MembershipView& v, bool full) {
  json::array tags;
  for (const auto& t : p.tags) tags.emplace_back(t);
  json::object o{{"id", e.id.hex()},
                 {"org", e.header.author.hex()},
                 {"org_name", orgName(v, e.header.author)},
                 {"seq", e.header.seq},
                 {"time", e.header.timestamp},
                 {"title", p.title},
                 {"tags", std::move(tags)}};
  if (full) o["body"] = p.body;
  else o["excerpt"] = excerpt(p.body);
  return o;
}

}  // namespace

// GET /api/entries?tag=T&org=FEED&limit=N: posts, newest first.
MemberResponse MemberApi::listEntries(const MemberRequest& r, std::string_view query) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  store::Query sq;
  sq.kind = static_cast<std::uint16_t>(record::Kind::post);
  sq.limit = 50;
  for (const auto& [k, v] : *q) {
    if (k == "tag") {
      if (!v.empty()) sq.tag = v;
    } else if (k == "org") {
      auto key = PublicKey::parseHex(v, "org");
      if (!key.ok()) return error(400, "invalid_argument", "org must be an organization's feed key (64 hex characters)");
      sq.author = *key;
    } else if (k == "limit") {
      int n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 100)
        return error(400, "invalid_argument", "limit must be a number from 1 to 100");
      sq.limit = static_cast<std::size_t>(n);
    } else {
      return error(400, "invalid_argument", "unknown parameter \"" + k.substr(0, 40) + "\" (tag, org, limit)");
    }
  }
  auto view = membership_.view();
  json::array a;
  for (const record::Entry& e : store_.list(sq)) {
    if (!e.signedEntry.content) continue;
    auto p = record::decodePost(*e.signedEntry.content);
    if (p.ok()) a.push_back(postJson(e, *p, *view, false));
  }
  return jsonReply(200, json::object{{"entries", std::move(a)}});
}

// GET /api/entries/{id}: one post, with its body (Markdown source).
MemberResponse MemberApi::showEntry(const MemberRequest& r, std::string_view idHex) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto id = Digest::parseHex(idHex, "the entry id");
  if (!id.ok()) return error(404, "not_found", "no such entry");
  auto e = store_.entryById(*id);
  if (!e.ok() || e->header.kind != static_cast<std::uint16_t>(record::Kind::post) || !e->signedEntry.content ||
      store_.hiddenReason(e->header.author, e->header.seq))
    return error(404, "not_found", "no such entry");
  auto p = record::decodePost(*e->signedEntry.content);
  if (!p.ok()) return error(404, "not_found", "no such entry");
  return jsonReply(200, postJson(*e, *p, *membership_.view(), true));
}

// POST /api/entries {"title", "body", "tags"}: a post, signed with the
// member's organization's feed key.
MemberResponse MemberApi::publish(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return error(400, "invalid_argument", "the body must be a JSON object");
  const json::object& o = v.as_object();
  record::Post p;
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k == "title" || k == "body") {
      if (!kv.value().is_string()) return error(400, "invalid_argument", "\"" + std::string(k) + "\" must be a string");
      (k == "title" ? p.title : p.body) = std::string(kv.value().as_string());
    } else if (k == "tags") {
      if (!kv.value().is_array()) return error(400, "invalid_argument", "\"tags\" must be a list of strings");
      for (const auto& t : kv.value().as_array()) {
        if (!t.is_string()) return error(400, "invalid_argument", "\"tags\" must be a list of strings");
        p.tags.emplace_back(t.as_string());
      }
    } else {
      return error(400, "invalid_argument", "unknown field \"" + std::string(k.substr(0, 40)) + "\"");
    }
  }
  if (p.title.empty()) return error(400, "invalid_argument", "a post needs a title");
  if (auto st = record::validatePost(p); !st.ok()) return error(400, "invalid_argument", st.message());
  const PrivateKey* key = orgs_.key(s->account.org);
  if (!key) return error(403, "not_hosted", "your organization is no longer hosted on this node");
  auto e = store_.publish(*key, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
  if (!e.ok()) {
    if (e.status().code() == StatusCode::refused)
      return error(403, "refused", e.status().message());
    return fromStatus(e.status());
  }
  log_->info("{} published {} (\"{}\")", s->account.handle, e->id.shortHex(), p.title.substr(0, 80));
  return jsonReply(201, postJson(*e, p, *membership_.view(), true));
}

// GET /api/members?region=R&country=C&label=L&focus=F: the member
// organizations, with only what each says of itself in its own latest
// profile (never what the stewards' admissions hold). Filters match
// ignoring case; organizations whose profile has not arrived yet show
// their key alone.
MemberResponse MemberApi::listMembers(const MemberRequest& r, std::string_view query) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  if (auto st = onlyParams(*q, {"region", "country", "label", "focus"}); !st.ok()) return fromStatus(st);
  auto want = [&](const char* k) -> std::optional<std::string> {
    auto it = q->find(k);
    if (it == q->end() || it->second.empty()) return std::nullopt;
    return asciiLower(it->second);
  };
  const auto region = want("region"), country = want("country"), label = want("label"), focus = want("focus");
  auto has = [](const std::vector<std::string>& list, const std::string& x) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return asciiLower(e) == x; });
  };
  auto view = membership_.view();
  json::array a;
  for (const auto& [feed, m] : view->feeds) {
    if (m.state != federation::MemberState::member) continue;
    auto p = view->profiles.find(feed);
    const record::Profile* pr = p == view->profiles.end() ? nullptr : &p->second.profile;
    if ((region || country || label || focus) && !pr) continue;
    if (region && asciiLower(pr->region) != *region) continue;
    if (country && asciiLower(pr->country) != *country) continue;
    if (label && !has(pr->labels, *label)) continue;
    if (focus && !has(pr->focusAreas, *focus)) continue;
    json::object o{{"org", feed.hex()}};
    if (pr) {
      json::array labels, areas;
      for (const auto& l : pr->labels) labels.emplace_back(l);
      for (const auto& f : pr->focusAreas) areas.emplace_back(f);
      o["name"] = pr->name;
      o["region"] = pr->region;
      o["country"] = pr->country;
      o["focus_areas"] = std::move(areas);
      o["labels"] = std::move(labels);
      o["contact"] = pr->contact;
    } else {
      o["name"] = nullptr;
    }
    a.push_back(std::move(o));
  }
  return jsonReply(200, json::object{{"members", std::move(a)}});
}

// POST /api/entries/{id}/retract: erases one of the member's own
// organization's posts, network-wide (a retraction entry in its feed).
MemberResponse MemberApi::retract(const MemberRequest& r, std::string_view idHex) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  if (!r.body.empty() && r.body != "{}") return error(400, "invalid_argument", "a retraction takes no fields");
  auto id = Digest::parseHex(idHex, "the entry id");
  if (!id.ok()) return error(404, "not_found", "no such entry");
  auto e = store_.entryById(*id);
  if (!e.ok() || e->header.kind != static_cast<std::uint16_t>(record::Kind::post))
    return error(404, "not_found", "no such entry");
  if (e->header.author != s->account.org)
    return error(403, "not_yours", "only the organization that published a post can retract it");
  const PrivateKey* key = orgs_.key(s->account.org);
  if (!key) return error(403, "not_hosted", "your organization is no longer hosted on this node");
  std::lock_guard lk(retractMu_);
  if (store_.isErased(e->header.author, e->header.seq)) return error(409, "already_retracted", "it is retracted already");
  record::Retraction ret{record::EntryRef{e->header.author, e->header.seq, e->id}, {}};
  auto out = store_.publish(*key, static_cast<std::uint16_t>(record::Kind::retraction), record::encodeRetraction(ret));
  if (!out.ok()) return fromStatus(out.status());
  log_->info("{} retracted {}", s->account.handle, e->id.shortHex());
  return jsonReply(200, json::object{{"retracted", e->id.hex()}, {"by", out->id.hex()}});
}

}  // namespace civnet::daemon

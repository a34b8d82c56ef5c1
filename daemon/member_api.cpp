// The member API (see member_api.hpp).
#include "member_api.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <map>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "daemon/accounts.hpp"
#include "daemon/hosted_orgs.hpp"
#include "daemon/http_text.hpp"
#include "daemon/markdown.hpp"
#include "daemon/search.hpp"
#include "daemon/web_assets.hpp"
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

std::string sessionCookie(const std::string& token, std::chrono::seconds maxAge) {  // maxAge: the session's longest life
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
                     federation::MembershipTracker& membership, std::shared_ptr<spdlog::logger> log,
                     SearchIndex* search)
    : accounts_(accounts), sessions_(sessions), orgs_(orgs), store_(store), membership_(membership),
      search_(search), log_(std::move(log)) {}

MemberResponse MemberApi::fromStatus(const Status& s) const {
  switch (s.code()) {
    case StatusCode::invalidArgument: return error(400, "invalid_argument", s.message());
    case StatusCode::permissionDenied: return error(401, "unauthenticated", s.message());
    case StatusCode::notFound: return error(404, "not_found", s.message());
    case StatusCode::alreadyExists: return error(409, "already_exists", s.message());
    case StatusCode::unavailable: return error(503, "unavailable", s.message());
    default:
      // The detail (paths, library messages) is for the sysadmin's log.
      log_->error("member API: {}", s.message());
      return error(500, "internal", "the node could not do this just now; its sysadmin can see why in the log");
  }
}

// A publish the store refused (a frozen feed, a suspended organization) is
// 403; anything else as fromStatus says.
MemberResponse MemberApi::publishRefusal(const Status& s) const {
  if (s.code() == StatusCode::refused) return error(403, "refused", s.message());
  return fromStatus(s);
}

MemberResponse MemberApi::error(unsigned status, std::string_view code, std::string_view message) {
  return jsonReply(status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

namespace {
// A request's route, for metrics: the path with ids and handles replaced by
// a name, so the series stay few whatever clients ask.
std::string routeOf(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (!path.starts_with("/api/")) return "static";
  for (std::string_view fixed : {"/api/login", "/api/logout", "/api/me", "/api/password", "/api/entries",
                                 "/api/preview", "/api/members", "/api/events", "/api/admin/profile",
                                 "/api/admin/accounts"})
    if (path == fixed) return std::string(fixed);
  if (path.starts_with("/api/entries/")) {
    std::string_view rest = path.substr(std::string_view("/api/entries/").size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return "/api/entries/{id}";
    const std::string_view action = rest.substr(slash + 1);
    if (action == "retract" || action == "comments" || action == "revise")
      return "/api/entries/{id}/" + std::string(action);
  }
  if (path.starts_with("/api/admin/accounts/")) {
    std::string_view rest = path.substr(std::string_view("/api/admin/accounts/").size());
    const auto slash = rest.find('/');
    const std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (action == "disable" || action == "reset") return "/api/admin/accounts/{handle}/" + std::string(action);
  }
  return "other";
}
}  // namespace

MemberResponse MemberApi::handle(const MemberRequest& r) {
  MemberResponse res = route(r);
  std::lock_guard lk(countersMu_);
  ++counters_.responses[{routeOf(r.target), res.status}];
  return res;
}

MemberApi::Counters MemberApi::counters() const {
  std::lock_guard lk(countersMu_);
  return counters_;
}

MemberResponse MemberApi::route(const MemberRequest& r) {
  std::string_view path = r.target, query;
  if (auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  const bool post = r.method == "POST", get = r.method == "GET";
  auto only = [&](bool ok, std::string_view allowed, auto&& f) -> MemberResponse {
    if (!ok) return methodNotAllowed(r, allowed);
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
  if (path.starts_with("/api/entries/")) {
    std::string_view rest = path.substr(std::string_view("/api/entries/").size());
    const auto slash = rest.find('/');
    const std::string_view id = rest.substr(0, slash);
    const std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (action.empty()) return only(get, "GET", [&] { return showEntry(r, id); });
    if (action == "retract") return only(post, "POST", [&] { return retract(r, id); });
    if (action == "comments") return only(post, "POST", [&] { return comment(r, id); });
    if (action == "revise") return only(post, "POST", [&] { return revise(r, id); });
  }
  if (path == "/api/preview") return only(post, "POST", [&] { return preview(r); });
  if (path == "/api/members") return only(get, "GET", [&] { return listMembers(r, query); });
  if (path == "/api/events") return only(get, "GET", [&] { return openEvents(r); });
  if (path == "/api/admin/profile") return adminProfile(r);
  if (path == "/api/admin/accounts") return adminAccounts(r, {});
  if (path.starts_with("/api/admin/accounts/"))
    return adminAccounts(r, path.substr(std::string_view("/api/admin/accounts/").size()));
  if (!path.starts_with("/api/")) return staticFile(r, path);
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
  (*f)[0] = asciiLower((*f)[0]);  // handles are lower case: "Amina" is amina
  LoginResult res = sessions_.login((*f)[0], (*f)[1], r.clientAddress);
  {
    std::lock_guard lk(countersMu_);
    ++(res.outcome == LoginResult::Outcome::ok       ? counters_.loginsOk
       : res.outcome == LoginResult::Outcome::locked ? counters_.loginsLocked
                                                     : counters_.loginsFailed);
  }
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
  ok.headers.emplace_back("Set-Cookie", sessionCookie(res.token, sessions_.options().absolute));
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
  ok.headers.emplace_back("Set-Cookie", sessionCookie(again.token, sessions_.options().absolute));
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

// The first words of a body, as plain text (its Markdown's text).
std::string excerpt(const std::string& markdown) {
  constexpr std::size_t kMax = 280;
  const std::string body = markdownText(markdown);
  if (body.size() <= kMax) return body;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(body[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return body.substr(0, cut) + "…";
}

json::array stringArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& x : v) a.emplace_back(x);
  return a;
}

// True if `list` holds `lowered` (already ASCII lower case), ignoring ASCII
// case: how tags, labels and focus areas are matched by every filter.
bool hasIgnoringCase(const std::vector<std::string>& list, const std::string& lowered) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) { return asciiLower(e) == lowered; });
}

record::EntryRef refOf(const record::Entry& e) { return record::EntryRef{e.header.author, e.header.seq, e.id}; }

// A top-level post as members see it: the root entry, and the text of its
// newest revision (the root's own when it has none).
struct Thread {
  record::Entry root;
  record::Post post;                     // what is shown
  std::optional<record::Entry> newest;   // the newest revision, if any
};

// The post that entry `e` holds, if it is a visible post with content.
std::optional<record::Post> visiblePost(const store::Store& store, const record::Entry& e) {
  if (e.header.kind != static_cast<std::uint16_t>(record::Kind::post) || !e.signedEntry.content ||
      store.hiddenReason(e.header.author, e.header.seq))
    return std::nullopt;
  auto p = record::decodePost(*e.signedEntry.content);
  if (!p.ok()) return std::nullopt;
  return std::move(p).value();
}

// The revisions of `root` members may see, newest first (after `after`,
// if given), at most `max`: each is handed to `take`.
void forEachRevision(const store::Store& store, const record::Entry& root, std::optional<store::ListCursor> after,
                     std::size_t max, const std::function<void(const record::Entry&, record::Post&&)>& take) {
  store::Query q;
  q.revisionsOf = store::Position{root.header.author, root.header.seq};
  q.limit = max;
  q.after = after;
  q.waitIndexed = false;  // the caller's listing waited
  q.filter = [&](const record::Entry& r) {
    auto rp = visiblePost(store, r);
    if (!rp || !record::isRevisionOf(*rp, root.id)) return false;
    take(r, std::move(*rp));
    return true;
  };
  (void)store.list(q);
}

// The thread rooted at `root` (a top-level post), or nullopt when it is
// not one or members may not see it.
std::optional<Thread> threadOf(const store::Store& store, record::Entry root) {
  auto p = visiblePost(store, root);
  if (!p || p->replyTo || p->revises) return std::nullopt;
  Thread t{std::move(root), std::move(*p), std::nullopt};
  forEachRevision(store, t.root, std::nullopt, 1, [&](const record::Entry& r, record::Post&& rp) {
    t.newest = r;
    t.post = std::move(rp);
  });
  return t;
}

// The comments on a thread that members may see, oldest first.
std::vector<std::pair<record::Entry, record::Post>> commentsOf(const store::Store& store, const record::Entry& root,
                                                                std::size_t max) {
  std::vector<std::pair<record::Entry, record::Post>> out;
  store::Query q;
  q.repliesTo = store::Position{root.header.author, root.header.seq};
  q.limit = max;
  q.waitIndexed = false;
  q.filter = [&](const record::Entry& c) {
    auto p = visiblePost(store, c);
    if (!p || !p->replyTo || p->replyTo->id != root.id) return false;
    out.emplace_back(c, std::move(*p));
    return true;
  };
  (void)store.list(q);
  std::reverse(out.begin(), out.end());
  return out;
}

constexpr std::size_t kMaxComments = 1000;  // shown on one page

json::object threadSummary(const store::Store& store, const Thread& t, const federation::MembershipView& v,
                           const PublicKey& viewer) {
  const auto& h = t.root.header;
  return json::object{{"id", t.root.id.hex()},
                      {"org", h.author.hex()},
                      {"org_name", orgName(v, h.author)},
                      {"seq", h.seq},
                      {"time", h.timestamp},
                      {"title", t.post.title},
                      {"tags", stringArray(t.post.tags)},
                      {"language", t.post.language},
                      {"excerpt", excerpt(t.post.body)},
                      {"comments", store.countReplies({h.author, h.seq}, kMaxComments)},
                      {"edited", t.newest.has_value()},
                      {"mine", h.author == viewer}};
}

json::object commentJson(const record::Entry& e, const record::Post& p, const federation::MembershipView& v,
                         const PublicKey& viewer) {
  return json::object{{"id", e.id.hex()},
                      {"org", e.header.author.hex()},
                      {"org_name", orgName(v, e.header.author)},
                      {"time", e.header.timestamp},
                      {"body", p.body},
                      {"body_html", renderMarkdown(p.body)},
                      {"mine", e.header.author == viewer}};
}

json::object threadFull(const store::Store& store, const Thread& t, const federation::MembershipView& v,
                        const PublicKey& viewer) {
  json::object o = threadSummary(store, t, v, viewer);
  o.erase("excerpt");
  o["body"] = t.post.body;
  o["body_html"] = renderMarkdown(t.post.body);
  o["edited_time"] = t.newest ? json::value(t.newest->header.timestamp) : json::value(nullptr);
  // The earlier versions, newest first: the revisions before the one shown,
  // then the post's first text (the version shown is not among them).
  constexpr std::size_t kMaxEarlier = 20;
  json::array revisions;
  bool more = false;
  auto version = [](const record::Entry& e, const record::Post& p) {
    return json::object{{"id", e.id.hex()},
                        {"time", e.header.timestamp},
                        {"title", p.title},
                        {"body", p.body},
                        {"body_html", renderMarkdown(p.body)}};
  };
  if (t.newest) {
    forEachRevision(store, t.root,
                    store::ListCursor{t.newest->header.timestamp, t.newest->header.author, t.newest->header.seq},
                    kMaxEarlier, [&](const record::Entry& r, record::Post&& rp) { revisions.push_back(version(r, rp)); });
    more = revisions.size() == kMaxEarlier;  // the first text, at least, left out
    if (!more)
      if (auto first = visiblePost(store, t.root)) revisions.push_back(version(t.root, *first));
  }
  o["revisions_more"] = more;
  o["revisions"] = std::move(revisions);
  json::array comments;
  for (const auto& [e, p] : commentsOf(store, t.root, kMaxComments)) comments.push_back(commentJson(e, p, v, viewer));
  o["comments"] = std::move(comments);
  return o;
}

// The thread rooted at entry `idHex`, if members may see it.
std::optional<Thread> findThread(const store::Store& store, std::string_view idHex) {
  auto id = Digest::parseHex(idHex, "the entry id");
  if (!id.ok()) return std::nullopt;
  auto e = store.entryById(*id);
  if (!e.ok()) return std::nullopt;
  return threadOf(store, std::move(e).value());
}

// A page cursor: where the last page ended in the newest-first order
// ("TIME-AUTHOR-SEQ"), or how many search hits it showed ("sN").
std::string listCursor(const store::ListCursor& c) {
  return std::to_string(c.time) + "-" + c.author.hex() + "-" + std::to_string(c.seq);
}
std::string listCursor(const record::Entry& e) {
  return listCursor(store::ListCursor{e.header.timestamp, e.header.author, e.header.seq});
}

template <typename Int>
bool parseInt(std::string_view s, Int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::optional<store::ListCursor> parseListCursor(std::string_view s) {
  auto a = s.find('-', 1);  // a time may be negative
  if (a == std::string_view::npos) return std::nullopt;
  auto b = s.find('-', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  store::ListCursor c;
  auto key = PublicKey::parseHex(s.substr(a + 1, b - a - 1), "cursor");
  if (!parseInt(s.substr(0, a), c.time) || !key.ok() || !parseInt(s.substr(b + 1), c.seq)) return std::nullopt;
  c.author = *key;
  return c;
}

// The fields of a post in a JSON body: those in `allowed` of title, body,
// tags and language. Anything else is refused.
Result<record::Post> postFields(std::string_view body, std::initializer_list<std::string_view> allowed) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return invalidArgument("the body must be a JSON object");
  record::Post p;
  for (const auto& kv : v.as_object()) {
    const std::string_view k = kv.key();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      return invalidArgument("unknown field \"" + std::string(k.substr(0, 40)) + "\"");
    if (k == "tags") {
      if (!kv.value().is_array()) return invalidArgument("\"tags\" must be a list of strings");
      for (const auto& t : kv.value().as_array()) {
        if (!t.is_string()) return invalidArgument("\"tags\" must be a list of strings");
        p.tags.emplace_back(t.as_string());
      }
      continue;
    }
    if (!kv.value().is_string()) return invalidArgument("\"" + std::string(k) + "\" must be a string");
    std::string text(kv.value().as_string());
    if (k == "title") p.title = std::move(text);
    else if (k == "body") p.body = std::move(text);
    else if (k == "language") p.language = std::move(text);
  }
  return p;
}

}  // namespace

// GET /api/entries?q=&tag=&org=&region=&label=&limit=&cursor=: top-level
// posts, newest first (best match first with q), a page at a time.
MemberResponse MemberApi::listEntries(const MemberRequest& r, std::string_view query) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  if (auto st = onlyParams(*q, {"q", "tag", "org", "region", "label", "limit", "cursor"}); !st.ok())
    return fromStatus(st);
  auto param = [&](const char* k) -> std::optional<std::string> {
    auto it = q->find(k);
    if (it == q->end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  std::size_t limit = 20;
  if (auto l = param("limit")) {
    int n = 0;
    if (!parseInt(std::string_view(*l), n) || n < 1 || n > 100)
      return error(400, "invalid_argument", "limit must be a number from 1 to 100");
    limit = static_cast<std::size_t>(n);
  }
  auto view = membership_.view();
  // The organizations the filters allow (none given: any).
  std::optional<std::set<PublicKey>> orgs;
  if (auto o = param("org")) {
    auto key = PublicKey::parseHex(*o, "org");
    if (!key.ok()) return error(400, "invalid_argument", "org must be an organization's feed key (64 hex characters)");
    orgs = std::set<PublicKey>{*key};
  }
  const auto region = param("region"), label = param("label");
  if (region || label) {
    std::set<PublicKey> match;
    for (const auto& [feed, p] : view->profiles) {
      if (region && asciiLower(p.profile.region) != asciiLower(*region)) continue;
      if (label && !hasIgnoringCase(p.profile.labels, asciiLower(*label))) continue;
      if (!orgs || orgs->count(feed)) match.insert(feed);
    }
    orgs = std::move(match);
  }
  const auto tag = param("tag"), text = param("q"), cursor = param("cursor");
  json::array a;
  std::optional<std::string> next;

  if (text) {
    if (!search_) return error(503, "unavailable", "search is not available on this node");
    std::size_t offset = 0;
    if (cursor && (cursor->size() < 2 || (*cursor)[0] != 's' || !parseInt(std::string_view(*cursor).substr(1), offset)))
      return error(400, "invalid_argument", "cursor is not one this node gave");
    SearchFilter f{tag, orgs};
    auto hits = search_->search(*text, f, offset, limit);
    if (!hits.ok()) return fromStatus(hits.status());
    for (const Digest& id : hits->threads) {
      auto e = store_.entryById(id);
      if (!e.ok()) continue;
      if (auto t = threadOf(store_, std::move(e).value())) a.push_back(threadSummary(store_, *t, *view, s->account.org));
    }
    if (hits->more) next = "s" + std::to_string(offset + limit);
  } else {
    store::Query sq;
    sq.kind = static_cast<std::uint16_t>(record::Kind::post);
    sq.threadsOnly = true;
    sq.limit = limit + 1;
    // A page examines at most this many posts: a filter matching few of
    // them ends a page early, with a cursor to go on from.
    sq.maxScanned = 2000;
    if (orgs && orgs->size() == 1) sq.author = *orgs->begin();
    if (cursor) {
      sq.after = parseListCursor(*cursor);
      if (!sq.after) return error(400, "invalid_argument", "cursor is not one this node gave");
    }
    // A tag is matched against the tags the post shows now (its newest
    // revision's), ignoring ASCII case, as the search index does.
    const std::optional<std::string> wantTag = tag ? std::optional<std::string>(asciiLower(*tag)) : std::nullopt;
    std::vector<Thread> threads;
    sq.filter = [&](const record::Entry& e) {
      if (orgs && !orgs->count(e.header.author)) return false;
      auto t = threadOf(store_, e);
      if (!t) return false;
      if (wantTag && !hasIgnoringCase(t->post.tags, *wantTag)) return false;
      threads.push_back(std::move(*t));
      return true;
    };
    std::optional<store::ListCursor> stoppedAt;
    if (!orgs || !orgs->empty()) (void)store_.list(sq, &stoppedAt);
    if (threads.size() > limit) {
      threads.resize(limit);
      next = listCursor(threads.back().root);
    } else if (stoppedAt) {
      next = listCursor(*stoppedAt);
    }
    for (const Thread& t : threads) a.push_back(threadSummary(store_, t, *view, s->account.org));
  }
  return jsonReply(200, json::object{{"entries", std::move(a)},
                                     {"next_cursor", next ? json::value(*next) : json::value(nullptr)}});
}

// GET /api/entries/{id}: one top-level post, its newest text (Markdown
// source and safe HTML), its revisions and comments.
MemberResponse MemberApi::showEntry(const MemberRequest& r, std::string_view idHex) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto t = findThread(store_, idHex);
  if (!t) return error(404, "not_found", "no such entry");
  return jsonReply(200, threadFull(store_, *t, *membership_.view(), s->account.org));
}

// Publishes `p` in the member's organization's feed.
Result<record::Entry> MemberApi::publishPost(const Session& s, const record::Post& p, MemberResponse& refusal) {
  if (auto st = record::validatePost(p); !st.ok()) {
    refusal = error(400, "invalid_argument", st.message());
    return st;
  }
  const PrivateKey* key = orgs_.key(s.account.org);
  if (!key) {
    refusal = error(403, "not_hosted", "your organization is no longer hosted on this node");
    return permissionDenied("not hosted");
  }
  auto e = store_.publish(*key, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
  if (!e.ok()) refusal = publishRefusal(e.status());
  return e;
}

// POST /api/entries {"title", "body", "tags", "language"}: a post, signed
// with the member's organization's feed key.
MemberResponse MemberApi::publish(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto p = postFields(r.body, {"title", "body", "tags", "language"});
  if (!p.ok()) return fromStatus(p.status());
  if (p->title.empty()) return error(400, "invalid_argument", "a post needs a title");
  auto e = publishPost(*s, *p, refusal);
  if (!e.ok()) return refusal;
  log_->info("{} published {} (\"{}\")", s->account.handle, e->id.shortHex(), p->title.substr(0, 80));
  auto t = threadOf(store_, *e);
  if (!t) return error(500, "internal", "the post was published but cannot be shown");
  return jsonReply(201, threadFull(store_, *t, *membership_.view(), s->account.org));
}

// POST /api/entries/{id}/comments {"body"}: a comment on a top-level post.
MemberResponse MemberApi::comment(const MemberRequest& r, std::string_view idHex) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto p = postFields(r.body, {"body"});
  if (!p.ok()) return fromStatus(p.status());
  if (p->body.empty()) return error(400, "invalid_argument", "a comment needs a body");
  auto t = findThread(store_, idHex);
  if (!t) return error(404, "not_found", "no such entry");
  p->replyTo = refOf(t->root);
  p->language = t->post.language;
  auto e = publishPost(*s, *p, refusal);
  if (!e.ok()) return refusal;
  log_->info("{} commented {} on {}", s->account.handle, e->id.shortHex(), t->root.id.shortHex());
  return jsonReply(201, commentJson(*e, *p, *membership_.view(), s->account.org));
}

// POST /api/entries/{id}/revise {"title", "body", "tags"}: a new text for
// one of the member's own organization's posts (the old ones stay listed
// as revisions).
MemberResponse MemberApi::revise(const MemberRequest& r, std::string_view idHex) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto p = postFields(r.body, {"title", "body", "tags"});
  if (!p.ok()) return fromStatus(p.status());
  if (p->title.empty()) return error(400, "invalid_argument", "a post needs a title");
  auto t = findThread(store_, idHex);
  if (!t) return error(404, "not_found", "no such entry");
  if (t->root.header.author != s->account.org)
    return error(403, "not_yours", "only the organization that published a post can revise it");
  p->revises = refOf(t->root);
  p->language = t->post.language;
  auto e = publishPost(*s, *p, refusal);
  if (!e.ok()) return refusal;
  log_->info("{} revised {} ({})", s->account.handle, t->root.id.shortHex(), e->id.shortHex());
  (void)store_.indexedPosition();  // the revision is listed once indexed
  auto now = threadOf(store_, t->root);
  if (!now) return error(500, "internal", "the revision was published but cannot be shown");
  return jsonReply(200, threadFull(store_, *now, *membership_.view(), s->account.org));
}

// POST /api/preview {"body"}: the HTML a body would be shown as.
MemberResponse MemberApi::preview(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  auto f = stringFields(r.body, {"body"});
  if (!f.ok()) return fromStatus(f.status());
  if ((*f)[0].size() > record::kMaxBodyBytes)
    return error(400, "invalid_argument", "body is " + std::to_string((*f)[0].size()) + " bytes, limit " +
                                              std::to_string(record::kMaxBodyBytes));
  return jsonReply(200, json::object{{"html", renderMarkdown((*f)[0])}});
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
  auto view = membership_.view();
  json::array a;
  for (const auto& [feed, m] : view->feeds) {
    if (m.state != federation::MemberState::member) continue;
    auto p = view->profiles.find(feed);
    const record::Profile* pr = p == view->profiles.end() ? nullptr : &p->second.profile;
    if ((region || country || label || focus) && !pr) continue;
    if (region && asciiLower(pr->region) != *region) continue;
    if (country && asciiLower(pr->country) != *country) continue;
    if (label && !hasIgnoringCase(pr->labels, *label)) continue;
    if (focus && !hasIgnoringCase(pr->focusAreas, *focus)) continue;
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
  // By name, ignoring case (those without a profile yet last), then key.
  std::stable_sort(a.begin(), a.end(), [](const json::value& x, const json::value& y) {
    const auto& ox = x.as_object();
    const auto& oy = y.as_object();
    const bool nx = ox.at("name").is_null(), ny = oy.at("name").is_null();
    if (nx != ny) return ny;
    if (!nx) {
      auto lx = asciiLower(ox.at("name").as_string()), ly = asciiLower(oy.at("name").as_string());
      if (lx != ly) return lx < ly;
    }
    return ox.at("org").as_string() < oy.at("org").as_string();
  });
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
  auto retractOne = [&](const record::Entry& target) {
    record::Retraction ret{refOf(target), {}};
    return store_.publish(*key, static_cast<std::uint16_t>(record::Kind::retraction), record::encodeRetraction(ret));
  };
  // A post's revisions go with it (their text is the post's too), before
  // the post itself: if one fails, retracting again finishes the job.
  std::size_t revisions = 0;
  auto post = e->signedEntry.content ? record::decodePost(*e->signedEntry.content) : Result<record::Post>(notFound(""));
  if (post.ok() && !post->replyTo && !post->revises) {
    store::Query q;
    q.revisionsOf = store::Position{e->header.author, e->header.seq};
    q.includeHidden = true;
    q.limit = std::numeric_limits<std::size_t>::max();
    for (const record::Entry& rev : store_.list(q)) {
      if (store_.isErased(rev.header.author, rev.header.seq)) continue;
      auto out = retractOne(rev);
      if (!out.ok()) return publishRefusal(out.status());
      ++revisions;
    }
  }
  auto out = retractOne(*e);
  if (!out.ok()) return publishRefusal(out.status());
  log_->info("{} retracted {}{}", s->account.handle, e->id.shortHex(),
             revisions ? " and its " + std::to_string(revisions) + " revision(s)" : std::string());
  return jsonReply(200, json::object{{"retracted", e->id.hex()}, {"by", out->id.hex()}, {"revisions", revisions}});
}

namespace {
json::object memberAccountJson(const Account& a, const HostedOrgs& orgs) {
  auto org = orgs.find(a.org.hex());
  return json::object{{"handle", a.handle},
                      {"name", a.name},
                      {"org", a.org.hex()},
                      {"org_name", org.ok() ? json::value(org->name) : json::value(nullptr)},
                      {"admin", a.admin},
                      {"disabled", a.disabled},
                      {"must_change_password", a.mustChangePassword}};
}
}  // namespace

// /api/admin/accounts...: an organization's admins manage its accounts
// (theirs only; a sysadmin manages all with civnetctl accounts).
MemberResponse MemberApi::adminAccounts(const MemberRequest& r, std::string_view rest) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  if (!s->account.admin) return error(403, "not_admin", "only your organization's admins manage its accounts");
  const PublicKey org = s->account.org;
  if (rest.empty()) {
    if (r.method == "GET") {
      json::array a;
      for (const Account& acc : accounts_.list())
        if (acc.org == org) a.push_back(memberAccountJson(acc, orgs_));
      return jsonReply(200, json::object{{"accounts", std::move(a)}});
    }
    if (r.method != "POST") return methodNotAllowed(r, "GET, POST");
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object()) return error(400, "invalid_argument", "the body must be a JSON object");
    std::string handle, name;
    bool admin = false;
    for (const auto& kv : v.as_object()) {
      const std::string_view k = kv.key();
      if ((k == "handle" || k == "name") && kv.value().is_string()) {
        (k == "handle" ? handle : name) = std::string(kv.value().as_string());
      } else if (k == "admin" && kv.value().is_bool()) {
        admin = kv.value().as_bool();
      } else {
        return error(400, "invalid_argument",
                     "\"" + std::string(k.substr(0, 40)) + "\" is not a field here (handle and name as text, admin as true or false)");
      }
    }
    auto added = accounts_.add(handle, name, org, admin, std::nullopt);
    if (!added.ok()) return fromStatus(added.status());
    log_->info("{} added account {}{}", s->account.handle, handle, admin ? " (an admin)" : "");
    auto a = accounts_.get(handle);
    if (!a.ok()) return fromStatus(a.status());
    return jsonReply(201, json::object{{"account", memberAccountJson(*a, orgs_)}, {"password", added->value_or("")}});
  }
  const auto slash = rest.find('/');
  const std::string handle(rest.substr(0, slash));
  const std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (action != "disable" && action != "reset") return error(404, "not_found", "no such page");
  if (r.method != "POST") return methodNotAllowed(r, "POST");
  if (!r.body.empty() && r.body != "{}") return error(400, "invalid_argument", "this takes no fields");
  auto target = accounts_.get(handle);
  if (!target.ok() || target->org != org) return error(404, "not_found", "no such account in your organization");
  if (handle == s->account.handle)
    return error(409, "own_account", "you cannot " + std::string(action) + " your own account here");
  // An admin could otherwise take over another admin's account (a reset
  // hands them its new password): admins are the sysadmin's to manage.
  if (target->admin)
    return error(403, "admin_account", "another admin's account is managed by your node's sysadmin (civnetctl accounts)");
  if (action == "disable") {
    if (auto st = accounts_.disable(handle); !st.ok()) return fromStatus(st);
    (void)sessions_.endAll(handle);
    log_->info("{} disabled account {}", s->account.handle, handle);
    auto a = accounts_.get(handle);
    if (!a.ok()) return fromStatus(a.status());
    return jsonReply(200, json::object{{"account", memberAccountJson(*a, orgs_)}});
  }
  auto reset = accounts_.reset(handle, std::nullopt);
  if (!reset.ok()) return fromStatus(reset.status());
  (void)sessions_.endAll(handle);
  log_->info("{} reset the password of account {}", s->account.handle, handle);
  auto a = accounts_.get(handle);
  if (!a.ok()) return fromStatus(a.status());
  return jsonReply(200, json::object{{"account", memberAccountJson(*a, orgs_)}, {"password", reset->value_or("")}});
}

MemberResponse MemberApi::methodNotAllowed(const MemberRequest& r, std::string_view allowed) {
  MemberResponse res = error(405, "method_not_allowed", std::string(r.method) + " is not allowed here");
  res.headers.emplace_back("Allow", std::string(allowed));
  return res;
}

// GET /api/events: opens the live-update stream (the server keeps it).
MemberResponse MemberApi::openEvents(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  const std::uint64_t now = store_.committedPosition();
  std::uint64_t from = now;
  // A reconnecting browser resumes where it was, if that is not long ago.
  if (std::uint64_t last = 0; parseInt(std::string_view(r.lastEventId), last) && last <= now &&
                              now - last <= kEventReplayLimit)
    from = last;
  MemberResponse ok;
  ok.contentType = "text/event-stream";
  ok.stream = true;
  ok.streamFrom = from;
  return ok;
}

int MemberApi::watchArrivals(std::function<void()> news) {
  return store_.addIndexedListener([news = std::move(news)](std::uint64_t) { news(); });
}

void MemberApi::unwatchArrivals(int handle) { store_.removeIndexedListener(handle); }

std::optional<std::string> MemberApi::eventsAfter(const std::string& cookie, std::uint64_t& cursor, bool& more) {
  more = false;
  auto s = sessions_.check(cookieValue(cookie, kSessionCookie), /*activity=*/false);
  if (!s.ok()) return std::nullopt;
  // Far behind (a node catching up, an index rebuild): skip to now, and the
  // page reloads what it shows.
  if (const std::uint64_t head = store_.committedPosition(); head > cursor + kEventReplayLimit) {
    cursor = head;
    // With its id, so a browser that reconnects after it resumes from here.
    return "id: " + std::to_string(head) + "\nevent: resync\ndata: {}\n\n";
  }
  std::string out;
  auto view = membership_.view();
  // A bounded batch per call: the stream asks again at once when there is more.
  constexpr std::size_t kBatch = 256;
  auto batch = store_.arrivals(cursor, kBatch);
  more = batch.size() == kBatch;
  for (const auto& a : batch) {
    cursor = a.pos;
    if (!a.entry || !a.entry->signedEntry.content) continue;
    const record::Entry& e = *a.entry;
    json::object o{{"id", e.id.hex()}, {"org", e.header.author.hex()}, {"org_name", orgName(*view, e.header.author)}};
    if (e.header.kind == static_cast<std::uint16_t>(record::Kind::retraction)) {
      auto ret = record::decodeRetraction(*e.signedEntry.content);
      if (!ret.ok() || store_.hiddenReason(e.header.author, e.header.seq)) continue;
      o["type"] = "retraction";
      o["thread"] = ret->target.id.hex();
      o["title"] = "";
    } else if (auto p = visiblePost(store_, e)) {
      // A comment or revision only when members may see its thread.
      const std::optional<record::EntryRef>& root = p->replyTo ? p->replyTo : p->revises;
      if (root) {
        auto r = store_.entryById(root->id);
        if (!r.ok() || !threadOf(store_, std::move(r).value())) continue;
      }
      o["type"] = p->replyTo ? "comment" : p->revises ? "revision" : "post";
      o["thread"] = root ? root->id.hex() : e.id.hex();
      o["title"] = p->title;
    } else {
      continue;
    }
    out += "id: " + std::to_string(a.pos) + "\nevent: entry\ndata: " + json::serialize(o) + "\n\n";
  }
  return out;
}

namespace {
json::object profileJson(const PublicKey& org, const record::Profile& p) {
  return json::object{{"org", org.hex()},           {"name", p.name},
                      {"region", p.region},         {"country", p.country},
                      {"focus_areas", stringArray(p.focusAreas)}, {"labels", stringArray(p.labels)},
                      {"contact", p.contact}};
}
}  // namespace

// GET /api/admin/profile: what the admin's organization says of itself in
// the directory; POST it {"region", "country", "focus_areas", "labels",
// "contact"} (all of them) to publish a new profile, network-wide.
MemberResponse MemberApi::adminProfile(const MemberRequest& r) {
  MemberResponse refusal;
  auto s = session(r, refusal);
  if (!s.ok()) return refusal;
  if (!s->account.admin) return error(403, "not_admin", "only your organization's admins change its profile");
  const PublicKey org = s->account.org;
  if (r.method == "GET") {
    auto p = orgs_.profile(org);
    if (!p.ok()) return fromStatus(p.status());
    return jsonReply(200, profileJson(org, *p));
  }
  if (r.method != "POST") return methodNotAllowed(r, "GET, POST");
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return error(400, "invalid_argument", "the body must be a JSON object");
  ProfileFields f;
  const std::initializer_list<std::string_view> fields{"region", "country", "focus_areas", "labels", "contact"};
  for (const auto& kv : v.as_object())
    if (std::find(fields.begin(), fields.end(), kv.key()) == fields.end())
      return error(400, "invalid_argument", "unknown field \"" + std::string(kv.key().substr(0, 40)) + "\"");
  for (std::string_view k : fields) {
    const json::value* x = v.as_object().if_contains(k);
    if (!x) return error(400, "invalid_argument", "\"" + std::string(k) + "\" is required");
    if (k == "focus_areas" || k == "labels") {
      auto& out = k == "labels" ? f.labels : f.focusAreas;
      if (!x->is_array()) return error(400, "invalid_argument", "\"" + std::string(k) + "\" must be a list of strings");
      for (const auto& e : x->as_array()) {
        if (!e.is_string()) return error(400, "invalid_argument", "\"" + std::string(k) + "\" must be a list of strings");
        out.emplace_back(e.as_string());
      }
    } else {
      if (!x->is_string()) return error(400, "invalid_argument", "\"" + std::string(k) + "\" must be a string");
      (k == "region" ? f.region : k == "country" ? f.country : f.contact) = std::string(x->as_string());
    }
  }
  auto p = orgs_.updateProfile(org, f);
  if (!p.ok()) return p.status().code() == StatusCode::refused ? publishRefusal(p.status()) : fromStatus(p.status());
  log_->info("{} published a new profile of their organization", s->account.handle);
  return jsonReply(200, profileJson(org, *p));
}

// GET / and /assets/NAME: the web UI's files, compiled in (nothing else;
// no path reaches the file system). They need no session: the page asks
// for a login itself.
MemberResponse MemberApi::staticFile(const MemberRequest& r, std::string_view path) {
  const WebAsset* a = findWebAsset(path == "/index.html" ? std::string_view("/") : path);
  if (!a) {
    MemberResponse res;
    res.status = 404;
    res.contentType = "text/plain; charset=utf-8";
    res.body = "Not found. The civnet web interface is at /\n";
    return res;
  }
  if (r.method != "GET") return methodNotAllowed(r, "GET");
  MemberResponse res;
  res.contentType = std::string(a->contentType);
  res.body = std::string(a->body);
  return res;
}

}  // namespace civnet::daemon

// The admin API's handlers (see admin_api.hpp and docs/admin-api.md).
#include "admin_api.hpp"

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "schemas/content.hpp"
#include "schemas/framing.hpp"
#include "schemas/record.hpp"
#include "store/store.hpp"

namespace civnet::daemon {
namespace json = boost::json;
namespace {

constexpr std::size_t kDefaultListLimit = 50;
constexpr std::size_t kMaxListLimit = 1000;
constexpr std::size_t kDefaultExportBytes = 4 * 1024 * 1024;
constexpr std::size_t kMaxExportBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxExportEntries = 100000;
constexpr std::size_t kMaxRunEntries = 4096;  // entries per ingest call
constexpr std::size_t kJobsKept = 16;

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ApiResponse jsonResponse(unsigned status, const json::value& v) {
  ApiResponse r;
  r.status = status;
  r.body = json::serialize(v);
  r.body += '\n';
  return r;
}

ApiResponse fromStatus(const Status& s) {
  return AdminApi::errorResponse(httpStatusFor(s.code()), toString(s.code()), s.message());
}

ApiResponse badRequest(std::string_view message) {
  return AdminApi::errorResponse(400, "invalid_argument", message);
}

// "2024-05-01T12:00:00.123Z"
std::string isoTime(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::string percentDecode(std::string_view s, bool& ok) {
  std::string out;
  ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      unsigned v = 0;
      if (i + 2 >= s.size()) { ok = false; return {}; }
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec != std::errc() || r.ptr != s.data() + i + 3) { ok = false; return {}; }
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// The query string as name -> value (the last value of a repeated name wins).
Result<std::map<std::string, std::string>> parseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    bool ok1 = true, ok2 = true;
    std::string name = percentDecode(part.substr(0, eq), ok1);
    std::string value = eq == std::string_view::npos ? "" : percentDecode(part.substr(eq + 1), ok2);
    if (!ok1 || !ok2) return invalidArgument("malformed percent-encoding in the query string");
    out[name] = value;
  }
  return out;
}

Status onlyParams(const std::map<std::string, std::string>& q, std::initializer_list<std::string_view> known) {
  for (auto& [k, v] : q) {
    bool ok = false;
    for (auto n : known) ok = ok || k == n;
    if (!ok) return invalidArgument("unknown query parameter \"" + k + "\"");
  }
  return {};
}

Result<std::uint64_t> parseUint(std::string_view s, std::string_view what) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
    return invalidArgument(std::string(what) + " must be a non-negative integer, got \"" +
                           std::string(s.substr(0, 40)) + "\"");
  return v;
}

bool isHexText(std::string_view s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return !s.empty();
}

// The feed key `text` names: all 64 hex characters, or a prefix of 8 to 63
// that starts exactly one feed this node holds (people copy the 12 shown
// in tables). Either case is accepted.
Result<PublicKey> resolveFeed(const store::Store& store, std::string_view text) {
  if (text.size() < 8 || text.size() > 64 || !isHexText(text))
    return invalidArgument("author must be a feed key or its first 8 to 64 hex characters, got \"" +
                           std::string(text.substr(0, 80)) + "\"");
  if (text.size() == 64) return PublicKey::parseHex(text, "author");
  std::string prefix(text);
  for (auto& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::optional<PublicKey> found;
  for (const store::Tip& t : store.tips()) {
    if (!t.feed.hex().starts_with(prefix)) continue;
    if (found)
      return invalidArgument("author " + prefix + " is ambiguous: several feeds start with it; give more characters");
    found = t.feed;
  }
  if (!found) return notFound("no feed starts with " + prefix + " on this node");
  return *found;
}

json::array stringArray(const std::vector<std::string>& v) {
  json::array a;
  for (auto& s : v) a.emplace_back(s);
  return a;
}

json::value refJson(const std::optional<record::EntryRef>& r) {
  if (!r) return nullptr;
  return json::object{{"author", r->author.hex()}, {"seq", r->seq}, {"id", r->id.hex()}};
}

// The fields every listed entry has; with `full`, the content too.
json::object entryJson(const record::Entry& e, bool full) {
  const record::Header& h = e.header;
  json::object o;
  o["id"] = e.id.hex();
  o["author"] = h.author.hex();
  o["seq"] = h.seq;
  o["kind"] = record::kindName(h.kind);
  o["timestamp"] = h.timestamp;
  o["time"] = isoTime(h.timestamp);
  o["content_size"] = h.contentSize;
  o["content_present"] = e.signedEntry.content.has_value();
  o["title"] = "";
  o["tags"] = json::array{};
  if (full) {
    o["network"] = h.network.hex();
    o["prev"] = h.prev.hex();
    o["content_hash"] = h.contentHash.hex();
    o["signature"] = e.signedEntry.signature.hex();
  }
  if (!e.signedEntry.content) return o;
  const Bytes& content = *e.signedEntry.content;
  if (h.kind == static_cast<std::uint16_t>(record::Kind::post)) {
    auto p = record::decodePost(content);
    if (!p.ok()) {
      o["content_error"] = p.status().message();
      return o;
    }
    o["title"] = p->title;
    o["tags"] = stringArray(p->tags);
    if (full) {
      o["body"] = p->body;
      o["topics"] = stringArray(p->topics);
      o["language"] = p->language;
      o["region"] = p->region;
      o["reply_to"] = refJson(p->replyTo);
      o["revises"] = refJson(p->revises);
    }
  } else if (h.kind == static_cast<std::uint16_t>(record::Kind::profile)) {
    auto p = record::decodeProfile(content);
    if (!p.ok()) {
      o["content_error"] = p.status().message();
      return o;
    }
    o["name"] = p->name;
    if (full) {
      json::array nodes;
      for (auto& n : p->nodes)
        nodes.push_back(json::object{{"node_key", n.nodeKey.hex()}, {"addresses", stringArray(n.addresses)}});
      o["profile"] = json::object{{"name", p->name},         {"region", p->region},
                                  {"country", p->country},   {"focus_areas", stringArray(p->focusAreas)},
                                  {"labels", stringArray(p->labels)}, {"contact", p->contact},
                                  {"nodes", std::move(nodes)}};
    }
  }
  return o;
}

Result<std::optional<std::vector<std::string>>> optStringArray(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::vector<std::string>>{};
  if (!it->value().is_array()) return invalidArgument("\"" + std::string(key) + "\" must be an array of strings");
  std::vector<std::string> out;
  for (auto& v : it->value().as_array()) {
    if (!v.is_string()) return invalidArgument("\"" + std::string(key) + "\" must be an array of strings");
    out.emplace_back(v.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::string>> optString(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>{};
  if (!it->value().is_string()) return invalidArgument("\"" + std::string(key) + "\" must be a string");
  return std::optional<std::string>(std::string(it->value().as_string()));
}

}  // namespace

// ---------------------------------------------------------------------------
// Jobs: long store calls (verify) that run on a worker thread while clients
// poll their progress.

class AdminApi::Jobs {
 public:
  struct Job {
    std::uint64_t id = 0;
    std::string kind;
    std::atomic<std::uint64_t> done{0};
    std::atomic<std::uint64_t> total{0};
    std::int64_t startedMs = 0;
    // Guarded by Jobs::mu_.
    bool finished = false;
    std::int64_t finishedMs = 0;
    std::optional<store::VerifyReport> report;
    std::string failure;
  };

  explicit Jobs(store::Store& store, std::shared_ptr<spdlog::logger> log) : store_(store), log_(std::move(log)) {}
  ~Jobs() {
    std::thread t;
    bool running = false;
    {
      std::lock_guard lock(mu_);
      t = std::move(worker_);
      running = running_ != nullptr;
    }
    // Shutdown must not wait for a long verify: ask it to stop.
    stopping_ = true;
    if (running) log_->info("stopping the running job");
    if (t.joinable()) t.join();
  }

  // Starts a verify job, or returns the one already running.
  std::pair<std::shared_ptr<Job>, bool> startVerify() {
    std::thread old;
    std::shared_ptr<Job> job;
    {
      std::lock_guard lock(mu_);
      if (running_) return {running_, false};
      old = std::move(worker_);  // finished: its thread is only to be joined
      job = std::make_shared<Job>();
      job->id = ++lastId_;
      job->kind = "verify";
      job->startedMs = nowMs();
      jobs_[job->id] = job;
      while (jobs_.size() > kJobsKept) jobs_.erase(jobs_.begin());
      running_ = job;
      worker_ = std::thread([this, job] { runVerify(job); });
    }
    if (old.joinable()) old.join();
    return {job, true};
  }

  std::shared_ptr<Job> find(std::uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
  }

  json::object describe(const Job& job) {
    std::lock_guard lock(mu_);
    json::object o;
    o["job"] = std::to_string(job.id);
    o["kind"] = job.kind;
    o["state"] = !job.finished ? "running" : job.failure.empty() ? "done" : "failed";
    o["done"] = job.done.load();
    o["total"] = job.total.load();
    o["started"] = isoTime(job.startedMs);
    if (job.finished) o["finished"] = isoTime(job.finishedMs);
    if (job.report) {
      const store::VerifyReport& r = *job.report;
      o["result"] = json::object{{"ok", r.ok()},
                                 {"feeds", r.feeds},
                                 {"entries", r.entries},
                                 {"signatures_checked", r.signaturesChecked},
                                 {"content_checked", r.contentChecked},
                                 {"stopped", r.stopped},
                                 {"problems", stringArray(r.problems)}};
    } else {
      o["result"] = nullptr;
    }
    if (!job.failure.empty()) o["error"] = job.failure;
    return o;
  }

 private:
  void runVerify(std::shared_ptr<Job> job) {
    log_->info("job {}: verify started", job->id);
    std::optional<store::VerifyReport> report;
    std::string failure;
    try {
      report = store_.verify([this, &job](std::uint64_t done, std::uint64_t total) {
        job->total.store(total);
        job->done.store(done);
        return !stopping_.load();
      });
    } catch (const std::exception& e) {
      // A bug in the store must end this job, not the node.
      failure = std::string("verify failed: ") + e.what();
    }
    std::lock_guard lock(mu_);
    job->finished = true;
    job->finishedMs = nowMs();
    if (report) {
      job->done.store(report->entries);
      job->total.store(report->entries);
      if (report->stopped)
        log_->info("job {}: verify stopped after {} entries (the node is shutting down)", job->id,
                   report->entries);
      else if (report->ok())
        log_->info("job {}: verify passed: {} feeds, {} entries", job->id, report->feeds, report->entries);
      else
        log_->warn("job {}: verify found {} problems in {} feeds, {} entries; first: {}", job->id,
                   report->problems.size(), report->feeds, report->entries, report->problems.front());
    } else {
      log_->error("job {}: {}", job->id, failure);
    }
    job->report = std::move(report);
    job->failure = std::move(failure);
    running_.reset();
  }

  store::Store& store_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;
  std::uint64_t lastId_ = 0;
  std::map<std::uint64_t, std::shared_ptr<Job>> jobs_;
  std::shared_ptr<Job> running_;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

// ---------------------------------------------------------------------------

unsigned httpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return 200;
    case StatusCode::invalidArgument: return 400;
    case StatusCode::corruption: return 400;
    case StatusCode::permissionDenied: return 403;
    case StatusCode::notFound: return 404;
    case StatusCode::alreadyExists: return 409;
    case StatusCode::refused: return 409;
    case StatusCode::unsupported: return 501;
    case StatusCode::unavailable: return 503;
    case StatusCode::ioError: return 500;
    case StatusCode::internal: return 500;
  }
  return 500;
}

ApiResponse AdminApi::errorResponse(unsigned status, std::string_view code, std::string_view message) {
  return jsonResponse(status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

AdminApi::AdminApi(store::Store& store, const PrivateKey& orgKey, NodeInfo info, ApiLimits limits,
                   std::shared_ptr<spdlog::logger> log)
    : store_(store),
      orgKey_(orgKey),
      info_(std::move(info)),
      limits_(limits),
      log_(std::move(log)),
      jobs_(std::make_unique<Jobs>(store, log_)) {}

AdminApi::~AdminApi() = default;

std::size_t AdminApi::bodyLimit(std::string_view method, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  if (method == "POST" && path == "/v1/import") return limits_.maxRequestBytes;
  return limits_.maxJsonBytes;
}

ApiResponse AdminApi::handle(const ApiRequest& r) {
  std::string_view target = r.target;
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  const bool get = r.method == "GET", post = r.method == "POST";

  auto only = [&](bool ok, const char* allow, auto&& f) -> ApiResponse {
    if (!ok) {
      ApiResponse e = errorResponse(405, "method_not_allowed",
                                    r.method + " is not allowed on " + std::string(path) + " (use " + allow + ")");
      e.headers.emplace_back("Allow", allow);
      return e;
    }
    return f();
  };

  if (path == "/v1/status") return only(get, "GET", [&] { return status(); });
  if (path == "/v1/feeds") return only(get, "GET", [&] { return feeds(); });
  if (path == "/v1/publish") return only(post, "POST", [&] { return publish(r); });
  if (path == "/v1/entries") return only(get, "GET", [&] { return listEntries(query); });
  if (path.starts_with("/v1/entries/"))
    return only(get, "GET", [&] { return showEntry(path.substr(std::string_view("/v1/entries/").size())); });
  if (path == "/v1/jobs/verify") return only(post, "POST", [&] { return startVerify(); });
  if (path.starts_with("/v1/jobs/"))
    return only(get, "GET", [&] { return showJob(path.substr(std::string_view("/v1/jobs/").size())); });
  if (path == "/v1/export") return only(get, "GET", [&] { return exportPage(query); });
  if (path == "/v1/import") return only(post, "POST", [&] { return import(r); });
  return errorResponse(404, "not_found", "no such endpoint: " + std::string(path.substr(0, 200)));
}

ApiResponse AdminApi::status() {
  store::Counts counts = store_.counts();
  json::object o;
  o["node_key"] = info_.nodeKey.hex();
  o["feed_key"] = info_.feedKey.hex();
  auto net = store_.network();
  o["network_id"] = net ? json::value(net->hex()) : json::value(nullptr);
  o["feeds"] = counts.feeds;
  o["entries"] = counts.entries;
  o["frontier_digest"] = store_.frontierDigest().hex();
  o["organization"] = info_.orgName;
  o["network_name"] = info_.networkName;
  o["steward_key"] = info_.stewardKey ? json::value(info_.stewardKey->hex()) : json::value(nullptr);
  o["version"] = info_.version;
  // Clients size their import batches by it (civnetctl import).
  o["max_import_bytes"] = limits_.maxRequestBytes;
  return jsonResponse(200, o);
}

ApiResponse AdminApi::feeds() {
  json::array a;
  for (const store::Tip& t : store_.tips()) {
    json::object o{{"feed", t.feed.hex()},   {"seq", t.seq},         {"id", t.id.hex()},
                   {"timestamp", t.timestamp}, {"time", isoTime(t.timestamp)}, {"frozen", t.frozen}};
    if (t.feed == info_.feedKey) o["hosted"] = "organization";
    else if (info_.stewardKey && t.feed == *info_.stewardKey) o["hosted"] = "steward";
    a.push_back(std::move(o));
  }
  return jsonResponse(200, json::object{{"feeds", std::move(a)}});
}

ApiResponse AdminApi::publish(const ApiRequest& r) {
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) return badRequest("the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return badRequest("the body must be a JSON object");
  const json::object& o = v.as_object();
  for (auto& kv : o) {
    std::string_view k = kv.key();
    if (k != "title" && k != "body" && k != "tags" && k != "topics" && k != "language" && k != "region")
      return badRequest("unknown field \"" + std::string(k) + "\"");
  }
  record::Post p;
  auto title = optString(o, "title");
  if (!title.ok()) return fromStatus(title.status());
  if (!title.value()) return badRequest("\"title\" is required");
  p.title = **title;
  auto body = optString(o, "body");
  if (!body.ok()) return fromStatus(body.status());
  p.body = body->value_or("");
  auto tags = optStringArray(o, "tags");
  if (!tags.ok()) return fromStatus(tags.status());
  if (*tags) p.tags = std::move(**tags);
  auto topics = optStringArray(o, "topics");
  if (!topics.ok()) return fromStatus(topics.status());
  if (*topics) p.topics = std::move(**topics);
  auto language = optString(o, "language");
  if (!language.ok()) return fromStatus(language.status());
  p.language = language->value_or("");
  auto region = optString(o, "region");
  if (!region.ok()) return fromStatus(region.status());
  p.region = region->value_or("");
  if (auto s = record::validatePost(p); !s.ok()) return fromStatus(s);

  auto e = store_.publish(orgKey_, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
  if (!e.ok()) {
    log_->warn("publish refused: {}", e.status().message());
    return fromStatus(e.status());
  }
  log_->info("published {} seq {} by {}", e->id.shortHex(), e->header.seq, e->header.author.shortHex());
  return jsonResponse(201, json::object{{"id", e->id.hex()},
                                        {"author", e->header.author.hex()},
                                        {"seq", e->header.seq},
                                        {"kind", "post"},
                                        {"timestamp", e->header.timestamp}});
}

ApiResponse AdminApi::listEntries(std::string_view query) {
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  if (auto s = onlyParams(*q, {"author", "tag", "kind", "limit"}); !s.ok()) return fromStatus(s);
  store::Query sq;
  sq.limit = kDefaultListLimit;
  if (auto it = q->find("author"); it != q->end() && !it->second.empty()) {
    auto k = resolveFeed(store_, it->second);
    if (!k.ok()) return fromStatus(k.status());
    sq.author = *k;
  }
  if (auto it = q->find("tag"); it != q->end() && !it->second.empty()) sq.tag = it->second;
  if (auto it = q->find("kind"); it != q->end() && !it->second.empty()) {
    record::Kind k;
    if (!record::kindFromName(it->second, k)) return badRequest("unknown kind \"" + it->second + "\"");
    sq.kind = static_cast<std::uint16_t>(k);
  }
  if (auto it = q->find("limit"); it != q->end()) {
    auto n = parseUint(it->second, "limit");
    if (!n.ok()) return fromStatus(n.status());
    if (*n < 1 || *n > kMaxListLimit)
      return badRequest("limit must be between 1 and " + std::to_string(kMaxListLimit));
    sq.limit = static_cast<std::size_t>(*n);
  }
  json::array a;
  for (const record::Entry& e : store_.list(sq)) a.push_back(entryJson(e, false));
  return jsonResponse(200, json::object{{"entries", std::move(a)}});
}

ApiResponse AdminApi::showEntry(std::string_view idHex) {
  // The whole id or a prefix of at least 8 hex characters, in either case.
  auto id = store_.resolveId(idHex);
  if (!id.ok()) return fromStatus(id.status());
  auto e = store_.entryById(*id);
  if (!e.ok()) {
    if (e.status().code() == StatusCode::notFound)
      return errorResponse(404, "not_found", "no entry " + id->hex() + " on this node");
    return fromStatus(e.status());
  }
  return jsonResponse(200, entryJson(*e, true));
}

ApiResponse AdminApi::startVerify() {
  auto [job, started] = jobs_->startVerify();
  json::object o = jobs_->describe(*job);
  return jsonResponse(started ? 202 : 200, o);
}

ApiResponse AdminApi::showJob(std::string_view idText) {
  auto id = parseUint(idText, "a job id");
  if (!id.ok()) return fromStatus(id.status());
  auto job = jobs_->find(*id);
  if (!job) return errorResponse(404, "not_found", "no job " + std::string(idText) + " (jobs are kept until restart)");
  return jsonResponse(200, jobs_->describe(*job));
}

ApiResponse AdminApi::exportPage(std::string_view query) {
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  if (auto s = onlyParams(*q, {"after", "max_bytes"}); !s.ok()) return fromStatus(s);
  std::optional<store::Position> after;
  if (auto it = q->find("after"); it != q->end() && !it->second.empty()) {
    const std::string& c = it->second;
    auto colon = c.find(':');
    if (colon == std::string::npos) return badRequest("after must be FEEDHEX:SEQ");
    auto feed = PublicKey::parseHex(std::string_view(c).substr(0, colon), "the cursor's feed");
    if (!feed.ok()) return fromStatus(feed.status());
    auto seq = parseUint(std::string_view(c).substr(colon + 1), "the cursor's seq");
    if (!seq.ok()) return fromStatus(seq.status());
    after = store::Position{*feed, *seq};
  }
  std::size_t maxBytes = kDefaultExportBytes;
  if (auto it = q->find("max_bytes"); it != q->end()) {
    auto n = parseUint(it->second, "max_bytes");
    if (!n.ok()) return fromStatus(n.status());
    if (*n < 1 || *n > kMaxExportBytes)
      return badRequest("max_bytes must be between 1 and " + std::to_string(kMaxExportBytes));
    maxBytes = static_cast<std::size_t>(*n);
  }
  std::vector<record::Entry> page = store_.scan(after, kMaxExportEntries, maxBytes);
  ApiResponse r;
  r.contentType = "application/octet-stream";
  for (const record::Entry& e : page) {
    Bytes frame = record::encodeFrame(e.signedEntry);
    r.body.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  }
  r.headers.emplace_back("Civnet-Entries", std::to_string(page.size()));
  if (!page.empty()) {
    store::Position last{page.back().header.author, page.back().header.seq};
    // Name a next cursor only if something follows, so clients stop
    // without an extra round trip.
    if (!store_.scan(last, 1, 1).empty())
      r.headers.emplace_back("Civnet-Next-Cursor", last.feed.hex() + ":" + std::to_string(last.seq));
  }
  return r;
}

ApiResponse AdminApi::import(const ApiRequest& r) {
  // Decode every frame first: a malformed body stores nothing.
  ByteView body = asBytes(r.body);
  std::vector<record::SignedEntry> entries;
  std::size_t off = 0;
  while (off < body.size()) {
    std::string where = "frame " + std::to_string(entries.size() + 1) + " at byte " + std::to_string(off);
    auto size = record::frameSize(body.subspan(off));
    if (!size.ok()) return fromStatus(size.status().withContext(where));
    if (*size == 0 || *size > body.size() - off)
      return badRequest(where + " is truncated (a request carries whole frames only)");
    record::SignedEntry se;
    record::Check c = record::decodeFrame(body.subspan(off, *size), se);
    if (!c.ok()) return badRequest(where + ": " + std::string(record::toString(c.verdict)) + ": " + c.detail);
    entries.push_back(std::move(se));
    off += *size;
  }

  std::uint64_t stored = 0, duplicates = 0, filled = 0;
  json::array refusedList;
  std::uint64_t refusedEntries = 0;
  // `count`: how many entries of the run were not taken.
  auto refuse = [&](const std::string& feed, std::uint64_t seq, std::uint64_t count, std::string_view verdict,
                    const std::string& detail) {
    refusedEntries += count;
    refusedList.push_back(json::object{
        {"feed", feed}, {"seq", seq}, {"entries", count}, {"verdict", verdict}, {"detail", detail}});
  };

  // Group consecutive entries of one feed with consecutive seqs into runs.
  std::size_t i = 0;
  while (i < entries.size()) {
    record::Header first;
    record::Check hc = record::decodeHeader(entries[i].header, first);
    if (!hc.ok()) {
      refuse("", 0, 1, record::toString(hc.verdict), "entry " + std::to_string(i + 1) + ": " + hc.detail);
      ++i;
      continue;
    }
    std::vector<record::SignedEntry> run;
    run.push_back(std::move(entries[i]));
    std::uint64_t lastSeq = first.seq;
    std::size_t j = i + 1;
    while (j < entries.size() && run.size() < kMaxRunEntries) {
      record::Header h;
      if (!record::decodeHeader(entries[j].header, h).ok() || h.author != first.author || h.seq != lastSeq + 1) break;
      lastSeq = h.seq;
      run.push_back(std::move(entries[j]));
      ++j;
    }
    std::size_t runSize = run.size();
    store::IngestResult res = store_.ingest(std::move(run));
    stored += res.stored;
    duplicates += res.duplicates;
    filled += res.contentFilled;
    if (!record::isStoredOrHeld(res.verdict)) {
      std::uint64_t taken = res.stored + res.duplicates;
      std::uint64_t failedSeq = first.seq + taken;
      refuse(first.author.hex(), failedSeq, runSize > taken ? runSize - taken : 0, record::toString(res.verdict),
             res.detail);
      log_->warn("import: run of {} entries of feed {} from seq {}: {} after {} stored: {}", runSize,
                 first.author.shortHex(), first.seq, record::toString(res.verdict), res.stored, res.detail);
    }
    i = j;
  }
  log_->info("import: {} entries: {} stored, {} duplicates, {} refused ({} runs)", entries.size(), stored,
             duplicates, refusedEntries, refusedList.size());
  return jsonResponse(200, json::object{{"entries", entries.size()},
                                        {"stored", stored},
                                        {"duplicates", duplicates},
                                        {"content_filled", filled},
                                        {"refused", std::move(refusedList)}});
}

}  // namespace civnet::daemon

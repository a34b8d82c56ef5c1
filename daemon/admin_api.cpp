// The admin API's handlers (see admin_api.hpp and docs/admin-api.md).
#include "admin_api.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <tuple>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <sys/statvfs.h>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "daemon/accounts.hpp"
#include "daemon/backup.hpp"
#include "daemon/data_dir.hpp"
#include "daemon/publish_guard.hpp"
#include "daemon/reload.hpp"
#include "daemon/space_watch.hpp"
#include "daemon/member_api.hpp"
#include "daemon/member_server.hpp"
#include "daemon/search.hpp"
#include "daemon/hosted_orgs.hpp"
#include "daemon/http_text.hpp"
#include "daemon/peer_book.hpp"
#include "federation/peer_network.hpp"
#include "federation/membership.hpp"
#include "federation/membership_tracker.hpp"
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
// Limits on what a steward or an organization writes into an attestation or
// retraction (checked before signing, so a typo is not signed for good).
constexpr std::size_t kMaxReasonBytes = 1000;
constexpr std::size_t kMaxPlaceBytes = 300;  // region, country

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
    // What a post is to members: a comment (on reply_to), a revision, or
    // neither (null).
    o["reply_to"] = refJson(p->replyTo);
    o["revises"] = refJson(p->revises);
    if (full) {
      o["body"] = p->body;
      o["topics"] = stringArray(p->topics);
      o["language"] = p->language;
      o["region"] = p->region;
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


// The body as a JSON object whose fields are all in `known`.
Result<json::object> parseObject(std::string_view body, std::initializer_list<std::string_view> known) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return invalidArgument("the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return invalidArgument("the body must be a JSON object");
  for (auto& kv : v.as_object()) {
    bool ok = false;
    for (auto n : known) ok = ok || kv.key() == n;
    if (!ok) return invalidArgument("unknown field \"" + std::string(kv.key()) + "\"");
  }
  return std::move(v.as_object());
}

// A text field: valid UTF-8 without NUL, at most `maxBytes`; with
// `required`, present and not empty. Absent optional fields give "".
Result<std::string> textField(const json::object& o, std::string_view key, bool required, std::size_t maxBytes) {
  auto v = optString(o, key);
  if (!v.ok()) return v.status();
  const std::string name = "\"" + std::string(key) + "\"";
  if (!v.value() || v.value()->empty()) {
    if (required) return invalidArgument(name + " is required and must not be empty");
    return std::string();
  }
  std::string s = std::move(**v);
  if (s.size() > maxBytes)
    return invalidArgument(name + " is " + std::to_string(s.size()) + " bytes, limit " + std::to_string(maxBytes));
  if (Status st = record::checkText(name, s); !st.ok()) return st;
  return s;
}

// A list of short words (labels, focus areas), each checked like a tag.
Result<std::vector<std::string>> wordsField(const json::object& o, std::string_view key) {
  auto v = optStringArray(o, key);
  if (!v.ok()) return v.status();
  if (!v.value()) return std::vector<std::string>{};
  std::vector<std::string> out = std::move(**v);
  const std::string name = "\"" + std::string(key) + "\"";
  if (out.size() > record::kMaxTags)
    return invalidArgument(name + " has " + std::to_string(out.size()) + " items, limit " +
                           std::to_string(record::kMaxTags));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::string item = name + " item " + std::to_string(i + 1);
    if (out[i].empty() || out[i].size() > record::kMaxTagBytes)
      return invalidArgument(item + " must be 1 to " + std::to_string(record::kMaxTagBytes) + " bytes");
    if (Status st = record::checkText(item, out[i]); !st.ok()) return st;
  }
  return out;
}

// An optional non-negative integer field.
Result<std::optional<std::uint64_t>> uintField(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::uint64_t>{};
  const json::value& v = it->value();
  if (v.is_uint64()) return std::optional<std::uint64_t>(v.as_uint64());
  if (v.is_int64() && v.as_int64() >= 0) return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v.as_int64()));
  return invalidArgument("\"" + std::string(key) + "\" must be a non-negative integer");
}

// A required field holding a whole key or id (64 hex characters).
template <typename T>
Result<T> hexField(const json::object& o, std::string_view key) {
  auto v = optString(o, key);
  if (!v.ok()) return v.status();
  if (!v.value()) return invalidArgument("\"" + std::string(key) + "\" is required");
  return T::parseHex(**v, "\"" + std::string(key) + "\"");
}

// The key `text` names among `candidates`: all 64 hex characters, or a
// prefix of 8 to 63 that starts exactly one of them.
Result<PublicKey> resolveKeyAmong(std::string_view text, const std::set<PublicKey>& candidates,
                                  std::string_view what, std::string_view noun = "feed") {
  if (text.size() < 8 || text.size() > 64 || !isHexText(text))
    return invalidArgument(std::string(what) + " must be a " + std::string(noun) +
                           " key or its first 8 to 64 hex characters, got \"" + std::string(text.substr(0, 80)) + "\"");
  if (text.size() == 64) return PublicKey::parseHex(text, what);
  std::string prefix = asciiLower(text);
  std::optional<PublicKey> found;
  for (const PublicKey& k : candidates) {
    if (!k.hex().starts_with(prefix)) continue;
    if (found)
      return invalidArgument(std::string(what) + " " + prefix + " is ambiguous: several " + std::string(noun) +
                             " keys start with it; give more characters");
    found = k;
  }
  if (!found) return notFound("no " + std::string(noun) + " key known to this node starts with " + prefix);
  return *found;
}

// Feeds a person may name by prefix: those in the membership view (admitted
// or revoked, held or not), the stewards', and every feed held.
std::set<PublicKey> knownFeeds(const federation::MembershipView& v, const store::Store& store) {
  std::set<PublicKey> out(v.stewards.begin(), v.stewards.end());
  for (const auto& [k, m] : v.feeds) out.insert(k);
  for (const store::Tip& t : store.tips()) out.insert(t.feed);
  return out;
}

json::array keyArray(const std::set<PublicKey>& keys) {
  json::array a;
  for (const PublicKey& k : keys) a.emplace_back(k.hex());
  return a;
}

json::array keyArray(const std::vector<PublicKey>& keys) {
  return keyArray(std::set<PublicKey>(keys.begin(), keys.end()));
}

json::object memberJson(const PublicKey& feed, const federation::FeedMembership& m,
                        const federation::MembershipView& v) {
  json::object o;
  o["feed_key"] = feed.hex();
  const record::Admission none;
  const record::Admission& d = m.details ? *m.details : none;
  o["name"] = d.name;
  o["region"] = d.region;
  o["country"] = d.country;
  o["labels"] = stringArray(d.labels);
  o["focus_areas"] = stringArray(d.focusAreas);
  o["expires_at"] = d.expiresAt > 0 ? json::value(d.expiresAt) : json::value(nullptr);
  o["state"] = federation::toString(m.state);
  o["steward"] = v.isSteward(feed);
  o["admitted_by"] = keyArray(m.admittedBy);
  o["revoked_by"] = keyArray(m.revokedBy);
  o["suspended_after"] = m.suspendedAt ? json::value(m.suspendedAt->seq) : json::value(nullptr);
  o["revoked_after"] = m.revokedAt ? json::value(m.revokedAt->seq) : json::value(nullptr);
  const std::optional<federation::Pin>& pin = m.revokedAt ? m.revokedAt : m.suspendedAt;
  o["pin_state"] = pin ? json::value(federation::toString(pin->state)) : json::value(nullptr);
  return o;
}

bool knownMemberState(std::string_view s) {
  using federation::MemberState;
  for (MemberState st : {MemberState::none, MemberState::pending, MemberState::member, MemberState::expired,
                         MemberState::suspended, MemberState::revoked})
    if (s == federation::toString(st)) return true;
  return false;
}

// The answer to a steward action or a retraction: the entry it published.
ApiResponse publishedResponse(const record::Entry& e, json::object extra = {}) {
  json::object o{{"id", e.id.hex()},
                 {"author", e.header.author.hex()},
                 {"seq", e.header.seq},
                 {"kind", record::kindName(e.header.kind)},
                 {"timestamp", e.header.timestamp}};
  for (auto& kv : extra) o[kv.key()] = kv.value();
  return jsonResponse(201, o);
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
    std::optional<json::object> result;  // of a job other than verify
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

  // Starts a job of another kind than verify (one job runs at a time):
  // `work` reports progress in the job's done/total and returns its result.
  // Returns the job running already instead, if one is.
  std::pair<std::shared_ptr<Job>, bool> startTask(std::string kind,
                                                  std::function<Result<json::object>(Job&)> work) {
    std::thread old;
    std::shared_ptr<Job> job;
    {
      std::lock_guard lock(mu_);
      if (running_) return {running_, false};
      old = std::move(worker_);
      job = std::make_shared<Job>();
      job->id = ++lastId_;
      job->kind = std::move(kind);
      job->startedMs = nowMs();
      jobs_[job->id] = job;
      while (jobs_.size() > kJobsKept) jobs_.erase(jobs_.begin());
      running_ = job;
      worker_ = std::thread([this, job, work = std::move(work)] {
        log_->info("job {}: {} started", job->id, job->kind);
        Result<json::object> r = internalError("not run");
        try {
          r = work(*job);
        } catch (const std::exception& e) {
          r = internalError(std::string("bug: ") + e.what());
        }
        std::lock_guard lock(mu_);
        job->finished = true;
        job->finishedMs = nowMs();
        if (r.ok()) {
          job->result = std::move(r).value();
          log_->info("job {}: {} done", job->id, job->kind);
        } else {
          job->failure = r.status().message();
          log_->error("job {}: {} failed: {}", job->id, job->kind, job->failure);
        }
        running_.reset();
      });
    }
    if (old.joinable()) old.join();
    return {job, true};
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
    if (job.result) o["result"] = *job.result;
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

// Rebuilds the derived indexes, the membership view and the search index:
// a JSON summary (POST /v1/reindex, or a reindex job).
Result<json::object> reindexAll(store::Store& store_, const MembershipServices& services_, spdlog::logger* log_,
                                const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  log_->info("reindex: rebuilding the derived indexes");
  if (Status s = store_.reindex(progress); !s.ok()) return s.withContext("reindex");
  json::object o{{"entries", store_.counts().entries}};
  if (services_.membership) {
    if (Status s = services_.membership->load(); !s.ok()) return s.withContext("rebuilding the membership view");
    if (Status s = store_.applyModeration(services_.membership->moderation()); !s.ok())
      return s.withContext("applying the membership view");
    auto v = services_.membership->view();
    o["feeds_known"] = v->feeds.size();
    o["hidden"] = v->hidden.size();
    o["erased"] = v->erased.size();
  }
  if (services_.search) {
    log_->info("reindex: rebuilding the search index");
    if (Status s = services_.search->rebuild(); !s.ok()) return s.withContext("rebuilding the search index");
    o["search_documents"] = services_.search->documents();
  }
  log_->info("reindex: done ({} entries)", store_.counts().entries);
  return o;
}

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

namespace {
struct PeerCounts {
  std::size_t total = 0, connected = 0, inSync = 0;
};
PeerCounts countPeers(const std::vector<federation::PeerStatus>& peers) {
  PeerCounts n;
  for (const auto& p : peers) {
    ++n.total;
    n.connected += p.state == "connected";
    n.inSync += p.inSync;
  }
  return n;
}
}  // namespace

ApiResponse AdminApi::errorResponse(unsigned status, std::string_view code, std::string_view message) {
  return jsonResponse(status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

AdminApi::AdminApi(store::Store& store, HostedOrgs& orgs, NodeInfo info, ApiLimits limits,
                   std::shared_ptr<spdlog::logger> log, MembershipServices services)
    : store_(store),
      orgs_(orgs),
      info_(std::move(info)),
      limits_(limits),
      maxRequestBytes_(limits.maxRequestBytes),
      log_(std::move(log)),
      jobs_(std::make_unique<Jobs>(store, log_)),
      services_(services) {}

AdminApi::~AdminApi() = default;

std::size_t AdminApi::bodyLimit(std::string_view method, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  if (method == "POST" && path == "/v1/import") return maxRequestBytes_.load();
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
  if (path == "/v1/health") return only(get, "GET", [&] { return health(); });
  if (path == "/metrics") return only(get, "GET", [&] { return metrics(); });
  if (path == "/v1/feeds") return only(get, "GET", [&] { return feeds(); });
  if (path == "/v1/publish") return only(post, "POST", [&] { return publish(r); });
  if (path == "/v1/entries") return only(get, "GET", [&] { return listEntries(query); });
  if (path.starts_with("/v1/entries/"))
    return only(get, "GET", [&] { return showEntry(path.substr(std::string_view("/v1/entries/").size())); });
  if (path == "/v1/jobs/verify") return only(post, "POST", [&] { return startVerify(); });
  if (path == "/v1/jobs/reindex") return only(post, "POST", [&] { return startReindex(); });
  if (path == "/v1/reindex") return only(post, "POST", [&] { return reindex(); });
  if (path == "/v1/backup") return only(get, "GET", [&] { return backup(); });
  if (path == "/v1/publishing/resume") return only(post, "POST", [&] { return resumePublishing(); });
  if (path == "/v1/reload") return only(post, "POST", [&] { return reload(); });
  if (path == "/v1/search") return only(get, "GET", [&] { return search(query); });
  if (path.starts_with("/v1/jobs/"))
    return only(get, "GET", [&] { return showJob(path.substr(std::string_view("/v1/jobs/").size())); });
  if (path == "/v1/export") return only(get, "GET", [&] { return exportPage(query); });
  if (path == "/v1/import") return only(post, "POST", [&] { return import(r); });
  if (path == "/v1/members") return only(get, "GET", [&] { return listMembers(query); });
  if (path.starts_with("/v1/members/"))
    return only(get, "GET", [&] { return showMember(path.substr(std::string_view("/v1/members/").size())); });
  if (path == "/v1/admit") return only(post, "POST", [&] { return admit(r); });
  if (path == "/v1/steward-set") return only(post, "POST", [&] { return stewardSet(r); });
  if (path == "/v1/revoke") return only(post, "POST", [&] { return revoke(r); });
  if (path == "/v1/lift") return only(post, "POST", [&] { return lift(r); });
  if (path == "/v1/takedown") return only(post, "POST", [&] { return takedown(r); });
  if (path == "/v1/retract") return only(post, "POST", [&] { return retract(r); });
  if (path == "/v1/peers") {
    if (get) return listPeers();
    return only(post, "GET, POST", [&] { return addPeer(r); });
  }
  if (path.starts_with("/v1/peers/"))
    return only(r.method == "DELETE", "DELETE",
                [&] { return removePeer(path.substr(std::string_view("/v1/peers/").size())); });
  if (path == "/v1/sync") return only(post, "POST", [&] { return syncNow(); });
  if (path == "/v1/orgs") {
    if (get) return listOrgs();
    return only(post, "GET, POST", [&] { return addOrg(r); });
  }
  if (path == "/v1/orgs/profile") return only(post, "POST", [&] { return orgProfile(r); });
  if (path == "/v1/accounts") {
    if (get) return listAccounts();
    return only(post, "GET, POST", [&] { return addAccount(r); });
  }
  if (path.starts_with("/v1/accounts/"))
    return only(post, "POST", [&] { return accountAction(path.substr(std::string_view("/v1/accounts/").size()), r); });
  return errorResponse(404, "not_found", "no such endpoint: " + std::string(path.substr(0, 200)));
}

ApiResponse AdminApi::status() {
  store::Counts counts = store_.counts();
  json::object o;
  const HostedOrgs::Org primary = orgs_.primary();
  o["node_key"] = info_.nodeKey.hex();
  o["feed_key"] = primary.feed.hex();
  auto net = store_.network();
  o["network_id"] = net ? json::value(net->hex()) : json::value(nullptr);
  o["feeds"] = counts.feeds;
  o["entries"] = counts.entries;
  o["frontier_digest"] = store_.frontierDigest().hex();
  o["organization"] = primary.name;
  o["hosted_orgs"] = orgs_.list().size();
  if (services_.search) {
    // Arrivals the search index has yet to take in: it follows the store
    // in the background, at a lower priority than sync and serving.
    o["search"] = json::object{{"arrivals_behind", services_.search->arrivalsBehind()}};
  }
  if (services_.network) {
    const PeerCounts n = countPeers(services_.network->peers());
    auto port = services_.network->listenPort();
    o["http_port"] = services_.httpPort ? json::value(*services_.httpPort) : json::value(nullptr);
    o["peers"] = json::object{{"listen_port", port ? json::value(*port) : json::value(nullptr)},
                              {"configured", services_.peers ? services_.peers->all().size() : 0},
                              {"connected", n.connected},
                              {"in_sync", n.inSync}};
  }
  o["network_name"] = info_.networkName;
  o["steward_key"] = info_.stewardKey ? json::value(info_.stewardKey->hex()) : json::value(nullptr);
  o["version"] = info_.version;
  // Clients size their import batches by it (civnetctl import).
  o["max_import_bytes"] = maxRequestBytes_.load();
  if (services_.membership) {
    auto v = services_.membership->view();
    auto self = v->feeds.find(primary.feed);
    o["membership"] = json::object{
        {"epoch", v->epoch},
        {"threshold", v->threshold},
        {"stewards", keyArray(v->stewards)},
        {"this_org_state", federation::toString(self == v->feeds.end() ? federation::MemberState::none
                                                                        : self->second.state)},
        {"this_node_steward", services_.stewardKey && v->isSteward(services_.stewardKey->publicKey())},
        {"hidden_count", v->hidden.size()},
        {"erased_count", v->erased.size()},
        {"ignored_count", v->ignored.size()},
        {"member_nodes", v->memberNodes.size()},
        {"this_node_member", v->memberNodes.count(info_.nodeKey) > 0}};
  }
  if (services_.publishGuard) {
    auto why = services_.publishGuard->paused();
    o["publishing"] = json::object{{"paused", why.has_value()},
                                   {"reason", why ? json::value(*why) : json::value(nullptr)}};
  }
  return jsonResponse(200, o);
}

// The store's size and the disk's room: the space watch's last measure
// (every few seconds), or measured now when there is none.
SpaceUse AdminApi::space() const {
  if (services_.space) return services_.space->last();
  const std::filesystem::path root(info_.dataDir);
  return measureSpace(root / "store", root);
}

// GET /v1/backup: the backup file, streamed from one snapshot of the store.
ApiResponse AdminApi::backup() {
  auto b = startBackup(store_, DataDir{info_.dataDir}, info_.networkName, "civnetd " + info_.version);
  if (!b.ok()) return fromStatus(b.status());
  log_->info("backup started: {} entries in {} feeds, frontier digest {}", b->header.entries, b->header.feeds,
             b->header.frontier.shortHex());
  ApiResponse r;
  r.contentType = "application/octet-stream";
  // Said in the log once the end record is made (the client checks it).
  auto sent = std::make_shared<std::uint64_t>(0);
  r.stream = [next = std::move(b->next), sent, log = log_](std::string& chunk) -> Status {
    Status s = next(chunk);
    *sent += chunk.size();
    if (s.ok() && chunk.empty()) log->info("backup sent: {} bytes", *sent);
    return s;
  };
  return r;
}

// POST /v1/reload: civnetd.toml read again, as on SIGHUP.
ApiResponse AdminApi::reload() {
  if (!services_.reloader) return errorResponse(503, "unavailable", "this node cannot reload its configuration");
  auto changes = services_.reloader->reload();
  if (!changes.ok()) return fromStatus(changes.status());
  return jsonResponse(200, json::object{{"changes", stringArray(*changes)}});
}

// POST /v1/publishing/resume: the sysadmin lifts the pause after a restore.
ApiResponse AdminApi::resumePublishing() {
  if (!services_.publishGuard) return errorResponse(503, "unavailable", "the publishing guard is not running");
  auto why = services_.publishGuard->paused();
  if (!why) return jsonResponse(200, json::object{{"resumed", false}, {"message", "publishing was not paused"}});
  if (auto s = services_.publishGuard->resume("the sysadmin lifted the pause (civnetctl resume-publishing --force)"); !s.ok())
    return fromStatus(s);
  return jsonResponse(200, json::object{{"resumed", true}, {"was", *why}});
}

// GET /v1/health: "healthy", or "degraded" with one reason per problem a
// sysadmin should act on. (A node that does not answer is down: the
// client says so.)
ApiResponse AdminApi::health() {
  json::array reasons;
  json::object checks;
  auto problem = [&](std::string why) { reasons.emplace_back(std::move(why)); };
  const HostedOrgs::Org primary = orgs_.primary();
  std::shared_ptr<const federation::MembershipView> view;
  if (services_.membership) view = services_.membership->view();

  // Peers: a node that links to none neither receives nor sends entries,
  // unless it is the only node of its network so far.
  if (services_.network) {
    const auto peers = services_.network->peers();
    const PeerCounts n = countPeers(peers);
    const std::size_t configured = services_.peers ? services_.peers->all().size() : 0;
    const std::size_t otherNodes = view ? view->memberNodes.size() - view->memberNodes.count(info_.nodeKey) : 0;
    checks["peers_connected"] = n.connected;
    checks["peers_in_sync"] = n.inSync;
    if (n.connected == 0 && (configured > 0 || otherNodes > 0))
      problem("no peer is connected (" + std::to_string(configured) +
              " configured): this node neither receives nor sends entries; see civnetctl peers list");
    for (const auto& p : peers)
      if (p.state == "connected" && !p.inSync)
        problem("peer " + p.key.shortHex() + " (" + p.address + ") is not in sync yet");
  } else {
    problem("the peer network is not running");
  }
  // Membership: entries of a feed that is not a member go nowhere.
  if (view) {
    auto self = view->feeds.find(primary.feed);
    const auto state = self == view->feeds.end() ? federation::MemberState::none : self->second.state;
    checks["membership"] = federation::toString(state);
    if (state != federation::MemberState::member)
      problem("organization \"" + primary.name + "\" is " + federation::toString(state) +
              ", not a member: other nodes refuse its entries (its stewards admit it with civnetctl admit)");
  }
  // Publishing paused after a restore: nothing this node's organizations
  // write goes out until a peer confirms their feeds.
  if (services_.publishGuard)
    if (auto why = services_.publishGuard->paused()) {
      checks["publishing"] = "paused";
      problem("publishing is paused: this node was " + *why +
              "; it waits for a peer in sync to confirm its feeds (see civnetctl peers list), or for "
              "civnetctl resume-publishing --force");
    }
  // Store errors: a write failed lately (a full disk, an I/O error).
  {
    const store::Stats st = store_.stats();
    checks["store_write_errors"] = st.writeErrors;
    checks["store_writes_stopped"] = st.writesStopped;
    if (st.writesStopped)
      problem("the store stopped writing after a write error at " + isoTime(st.lastWriteErrorMs) + " (" +
              st.lastWriteError + "): publishes and sync wait until it starts again, by itself, at the next "
              "write once the disk has room (free space where the data dir is)");
    else if (st.writeErrors > 0 && nowMs() - st.lastWriteErrorMs < 10 * 60 * 1000)
      problem("the store failed " + std::to_string(st.writeErrors) + " writes since civnetd started; the last, at " +
              isoTime(st.lastWriteErrorMs) + ": " + st.lastWriteError +
              " (check the disk; what failed was not acknowledged)");
  }
  // Damage met while reading: what it held is refused, not served.
  {
    const store::Stats st = store_.stats();
    checks["store_read_corruptions"] = st.readCorruptions;
    if (st.readCorruptions > 0)
      problem("the store met damaged data " + std::to_string(st.readCorruptions) + " times while reading (the last: " +
              st.lastReadCorruption + "); what it held is not served. Run civnetctl verify, then see \"A damaged "
              "store\" in docs/operations.md");
  }
  // Room for the store: past a [store] limit, peers' content waits.
  if (services_.space)
    if (auto why = services_.space->paused()) {
      checks["content_paused"] = true;
      problem("no room for content: " + *why +
              "; entries from peers are taken without their content until there is room (headers still sync, and "
              "the content is fetched by itself then)");
    }
  // Disk: the store needs room to take entries and compact.
  if (!info_.dataDir.empty()) {
    if (const SpaceUse u = space(); u.diskKnown) {
      const std::uint64_t freeBytes = u.freeBytes;
      const double freeShare = static_cast<double>(u.freeBytes) / static_cast<double>(u.totalBytes);
      checks["disk_free_bytes"] = freeBytes;
      if (freeBytes < (std::uint64_t{1} << 30) || freeShare < 0.05)
        problem("disk nearly full: " + std::to_string(freeBytes >> 20) + " MiB free (" +
                std::to_string(static_cast<int>(freeShare * 100)) + "%) where " + info_.dataDir + " is");
    } else {
      problem("cannot tell how much disk is free where " + info_.dataDir + " is");
    }
  }
  const bool healthy = reasons.empty();
  return jsonResponse(200, json::object{{"status", healthy ? "healthy" : "degraded"},
                                        {"reasons", std::move(reasons)},
                                        {"checks", std::move(checks)}});
}

namespace {
// Prometheus text exposition (format 0.0.4): each metric once with its HELP
// and TYPE lines, then its samples.
class Exposition {
 public:
  void metric(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    text_ += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
  }
  void sample(std::string_view name, std::uint64_t value, std::string_view labels = {}) {
    text_ += std::string(name);
    if (!labels.empty()) text_ += "{" + std::string(labels) + "}";
    text_ += " " + std::to_string(value) + "\n";
  }
  void one(std::string_view name, std::string_view type, std::string_view help, std::uint64_t value) {
    metric(name, type, help);
    sample(name, value);
  }
  // A label value with \, " and line breaks escaped.
  static std::string label(std::string_view key, std::string_view value) {
    std::string out(key);
    out += "=\"";
    for (char c : value) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    return out + "\"";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};
}  // namespace

// GET /metrics: Prometheus text format, for scraping through the admin
// socket (or civnetctl metrics). Counters count since civnetd started.
ApiResponse AdminApi::metrics() {
  Exposition x;
  x.metric("civnet_build_info", "gauge", "The running civnetd's version.");
  x.sample("civnet_build_info", 1, Exposition::label("version", info_.version));
  const store::Counts counts = store_.counts();
  const store::Stats st = store_.stats();
  x.one("civnet_feeds", "gauge", "Feeds held.", counts.feeds);
  x.one("civnet_entries", "gauge", "Entries held.", counts.entries);
  x.one("civnet_entries_published_total", "counter", "Entries published by this node's organizations.", st.published);
  x.one("civnet_entries_ingested_total", "counter", "Entries stored from peers and imports.", st.ingested);
  x.one("civnet_store_synced_writes_total", "counter", "Synced store writes (groups of local publishes).",
        st.syncedWrites);
  x.one("civnet_store_queued", "gauge", "Requests waiting for the store's writer.", st.queued);
  x.one("civnet_store_write_errors_total", "counter", "Store writes that failed (a full disk, an I/O error).",
        st.writeErrors);
  x.one("civnet_store_writes_stopped", "gauge",
        "1 while the store writes nothing after a write error, until it reopens its database.",
        st.writesStopped ? 1 : 0);
  x.one("civnet_store_reopens_total", "counter", "Times the store reopened its database after a write error.",
        st.reopens);
  x.one("civnet_store_read_corruptions_total", "counter",
        "Reads that met a damaged block (checksum mismatch); what it held was not served.", st.readCorruptions);
  x.metric("civnet_entries_refused_total", "counter",
           "Entries from peers and imports not stored, by reason (futureTimestamp: deferred, not refused).");
  for (auto v = static_cast<unsigned>(record::Verdict::futureTimestamp);
       v <= static_cast<unsigned>(record::Verdict::badSignature); ++v) {
    const auto verdict = static_cast<record::Verdict>(v);
    auto n = st.refused.find(verdict);
    x.sample("civnet_entries_refused_total", n == st.refused.end() ? 0 : n->second,
             Exposition::label("reason", record::toString(verdict)));
  }
  {
    std::uint64_t frozen = 0;
    for (const auto& t : store_.tips()) frozen += t.frozen;
    x.one("civnet_feeds_frozen", "gauge", "Feeds frozen by a fork proof (forks seen).", frozen);
  }
  if (!info_.dataDir.empty()) {
    const SpaceUse u = space();
    x.one("civnet_store_bytes", "gauge", "Size of the store's files.", u.storeBytes);
    if (u.diskKnown)
      x.one("civnet_disk_free_bytes", "gauge", "Free space (for unprivileged users) where the data dir is.",
            u.freeBytes);
  }
  {
    // Entries held without their content, being asked of peers (counted up
    // to 100,000, so a scrape stays cheap).
    std::uint64_t missing = 0;
    std::optional<store::Position> after;
    while (missing < 100000) {
      auto page = store_.missingContent(after, 4096);
      missing += page.size();
      if (page.size() < 4096) break;
      after = page.back();
    }
    x.one("civnet_entries_content_missing", "gauge",
          "Entries held without their content, which peers are asked for (counted up to 100000).", missing);
  }
  if (services_.space)
    x.one("civnet_store_content_paused", "gauge",
          "1 while the store takes no content from peers for want of room ([store] max_size_mib, min_free_disk_mib).",
          services_.space->paused() ? 1 : 0);
  if (services_.membership) {
    auto v = services_.membership->view();
    std::map<std::string, std::uint64_t> states;
    for (const auto& [feed, m] : v->feeds) ++states[federation::toString(m.state)];
    x.metric("civnet_feeds_by_membership", "gauge", "Feeds known to the membership view, by state.");
    for (const auto& [state, n] : states) x.sample("civnet_feeds_by_membership", n, Exposition::label("state", state));
    x.one("civnet_entries_hidden", "gauge", "Entries hidden by the stewards' rules.", v->hidden.size());
    x.one("civnet_entries_erased", "gauge", "Entries whose content the rules erased.", v->erased.size());
  }
  if (services_.network) {
    const auto peers = services_.network->peers();
    std::map<std::string, std::uint64_t> states;
    for (const auto& p : peers) ++states[p.state];
    x.metric("civnet_peers", "gauge", "Peers, by link state.");
    for (const auto& [state, n] : states) x.sample("civnet_peers", n, Exposition::label("state", state));
    x.one("civnet_peers_in_sync", "gauge", "Connected peers with nothing left to exchange.", countPeers(peers).inSync);
    using Counter = std::uint64_t federation::SyncPeer::Counters::*;
    for (auto [name, field, help] :
         {std::tuple<const char*, Counter, const char*>{"civnet_peer_entries_sent_total",
                                                        &federation::SyncPeer::Counters::entriesSent,
                                                        "Entries sent to a peer on its latest link."},
          {"civnet_peer_entries_received_total", &federation::SyncPeer::Counters::entriesReceived,
           "Entries stored from a peer on its latest link."},
          {"civnet_peer_nacks_sent_total", &federation::SyncPeer::Counters::nacksSent,
           "Runs from a peer this node refused (not acceptable here)."},
          {"civnet_peer_nacks_received_total", &federation::SyncPeer::Counters::nacksReceived,
           "Runs a peer refused."},
          {"civnet_peer_forged_total", &federation::SyncPeer::Counters::forged,
           "Forged runs or messages from a peer."}}) {
      x.metric(name, "counter", help);
      for (const auto& p : peers) x.sample(name, p.counters.*field, Exposition::label("peer", p.key.hex()));
    }
    using Field = std::uint64_t federation::PeerStatus::*;
    for (auto [name, type, field, help] :
         {std::tuple<const char*, const char*, Field, const char*>{
              "civnet_peer_bytes_received_total", "counter", &federation::PeerStatus::bytesIn,
              "Message bytes received from a peer on its latest link."},
          {"civnet_peer_bytes_sent_total", "counter", &federation::PeerStatus::bytesOut,
           "Message bytes sent to a peer on its latest link."},
          {"civnet_peer_wire_bytes_received_total", "counter", &federation::PeerStatus::wireIn,
           "TCP payload received from a peer on its latest link (TLS and its handshake included)."},
          {"civnet_peer_wire_bytes_sent_total", "counter", &federation::PeerStatus::wireOut,
           "TCP payload sent to a peer on its latest link (TLS and its handshake included)."},
          {"civnet_peer_entries_behind", "gauge", &federation::PeerStatus::entriesBehind,
           "Entries a connected peer's frontier listed that this node does not hold yet."},
          {"civnet_peer_seconds_since_in_sync", "gauge", &federation::PeerStatus::secondsBehind,
           "Seconds since a connected peer's link was last in sync (0 while it is)."}}) {
      x.metric(name, type, help);
      for (const auto& p : peers) x.sample(name, p.*field, Exposition::label("peer", p.key.hex()));
    }
  }
  if (services_.accounts) x.one("civnet_accounts", "gauge", "Member accounts.", services_.accounts->list().size());
  if (services_.memberApi) {
    const MemberApi::Counters c = services_.memberApi->counters();
    x.metric("civnet_logins_total", "counter", "Member logins, by outcome.");
    x.sample("civnet_logins_total", c.loginsOk, Exposition::label("outcome", "ok"));
    x.sample("civnet_logins_total", c.loginsFailed, Exposition::label("outcome", "wrong_password"));
    x.sample("civnet_logins_total", c.loginsLocked, Exposition::label("outcome", "locked"));
    x.metric("civnet_http_responses_total", "counter", "Member interface answers, by route and HTTP status.");
    for (const auto& [key, n] : c.responses)
      x.sample("civnet_http_responses_total", n,
               Exposition::label("route", key.first) + "," + Exposition::label("status", std::to_string(key.second)));
  }
  if (services_.memberServer) {
    const MemberServerStats c = services_.memberServer->stats();
    x.one("civnet_http_connections", "gauge", "Member interface connections open.", c.open);
    x.one("civnet_http_connections_peak", "gauge", "The most member interface connections open at once since the start.",
          c.peak);
    x.one("civnet_http_connections_evicted_total", "counter",
          "Connections waiting for their client, closed at the connection limit to let a new one in.", c.evicted);
    x.one("civnet_http_connections_refused_total", "counter",
          "Connections refused because their address had 32 open already.", c.refusedPerAddress);
  }
  if (services_.search) {
    x.one("civnet_search_documents", "gauge", "Posts in the search index.", services_.search->documents());
    x.one("civnet_search_arrivals_behind", "gauge", "Arrivals the search index has yet to take in.",
          services_.search->arrivalsBehind());
  }
  ApiResponse r;
  r.contentType = "text/plain; version=0.0.4; charset=utf-8";
  r.body = x.take();
  return r;
}

ApiResponse AdminApi::feeds() {
  json::array a;
  for (const store::Tip& t : store_.tips()) {
    json::object o{{"feed", t.feed.hex()},   {"seq", t.seq},         {"id", t.id.hex()},
                   {"timestamp", t.timestamp}, {"time", isoTime(t.timestamp)}, {"frozen", t.frozen}};
    if (orgs_.key(t.feed)) o["hosted"] = "organization";
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
    if (k != "title" && k != "body" && k != "tags" && k != "topics" && k != "language" && k != "region" &&
        k != "org")
      return badRequest("unknown field \"" + std::string(k) + "\"");
  }
  // Whose feed: a hosted organization's name or feed key; the one init
  // made by default.
  auto orgName = optString(o, "org");
  if (!orgName.ok()) return fromStatus(orgName.status());
  auto org = *orgName ? orgs_.find(**orgName) : Result<HostedOrgs::Org>(orgs_.primary());
  if (!org.ok()) return fromStatus(org.status());
  const PrivateKey* signer = orgs_.key(org->feed);
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

  auto e = store_.publish(*signer, static_cast<std::uint16_t>(record::Kind::post), record::encodePost(p));
  if (!e.ok()) {
    log_->warn("publish refused: {}", e.status().message());
    return fromStatus(e.status());
  }
  log_->info("published {} seq {} by {} (\"{}\")", e->id.shortHex(), e->header.seq, e->header.author.shortHex(),
             org->name);
  return jsonResponse(201, json::object{{"id", e->id.hex()},
                                        {"author", e->header.author.hex()},
                                        {"org", org->name},
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
    if (!record::kindFromName(it->second, k))
      return badRequest("unknown kind \"" + it->second.substr(0, 40) +
                        "\" (post, retraction, profile, admission, revocation, lift, takedown, stewardSet; comments "
                        "and revisions are posts)");
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

// GET /v1/search?q=TEXT&tag=T&author=FEED&limit=N: top-level posts found
// by the full-text index, best match first (hidden ones left out).
ApiResponse AdminApi::search(std::string_view query) {
  if (!services_.search) return errorResponse(503, "unavailable", "search is not available on this node");
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  if (auto s = onlyParams(*q, {"q", "tag", "author", "limit"}); !s.ok()) return fromStatus(s);
  auto text = q->find("q");
  if (text == q->end() || text->second.empty()) return badRequest("q (the words to look for) is required");
  SearchFilter f;
  if (auto it = q->find("tag"); it != q->end() && !it->second.empty()) f.tag = it->second;
  if (auto it = q->find("author"); it != q->end() && !it->second.empty()) {
    auto k = resolveFeed(store_, it->second);
    if (!k.ok()) return fromStatus(k.status());
    f.orgs = std::set<PublicKey>{*k};
  }
  std::size_t limit = kDefaultListLimit;
  if (auto it = q->find("limit"); it != q->end()) {
    auto n = parseUint(it->second, "limit");
    if (!n.ok()) return fromStatus(n.status());
    if (*n < 1 || *n > kMaxListLimit) return badRequest("limit must be between 1 and " + std::to_string(kMaxListLimit));
    limit = static_cast<std::size_t>(*n);
  }
  auto hits = services_.search->search(text->second, f, 0, limit);
  if (!hits.ok()) return fromStatus(hits.status());
  json::array a;
  for (const Digest& id : hits->threads) {
    auto e = store_.entryById(id);
    if (!e.ok() || store_.hiddenReason(e->header.author, e->header.seq)) continue;
    a.push_back(entryJson(*e, false));
  }
  return jsonResponse(200, json::object{{"entries", std::move(a)}, {"more", hits->more}});
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
  json::object o = entryJson(*e, true);
  // What the stewards' rules did to it: hidden from listings, content erased.
  auto hidden = store_.hiddenReason(e->header.author, e->header.seq);
  o["hidden"] = hidden ? json::value(*hidden) : json::value(nullptr);
  o["erased"] = store_.isErased(e->header.author, e->header.seq);
  return jsonResponse(200, std::move(o));
}

ApiResponse AdminApi::startVerify() {
  auto [job, started] = jobs_->startVerify();
  json::object o = jobs_->describe(*job);
  if (!started && job->kind != "verify")
    return errorResponse(409, "busy", "job " + std::to_string(job->id) + " (" + job->kind + ") is running: try again once it is done");
  return jsonResponse(started ? 202 : 200, o);
}

// POST /v1/jobs/reindex: reindex as a job, its progress readable meanwhile.
ApiResponse AdminApi::startReindex() {
  auto [job, started] = jobs_->startTask("reindex", [this](Jobs::Job& j) -> Result<json::object> {
    return reindexAll(store_, services_, log_.get(), [&j](std::uint64_t done, std::uint64_t total) {
      j.total.store(total);
      j.done.store(done);
    });
  });
  if (!started && job->kind != "reindex")
    return errorResponse(409, "busy", "job " + std::to_string(job->id) + " (" + job->kind + ") is running: try again once it is done");
  return jsonResponse(started ? 202 : 200, jobs_->describe(*job));
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

// Rebuilds the derived indexes from the entries held, then the membership
// view from the records held, and brings the hidden and erased entries in
// line with it. Writes wait while the indexes are rebuilt.
ApiResponse AdminApi::reindex() {
  auto o = reindexAll(store_, services_, log_.get(), {});
  if (!o.ok()) return fromStatus(o.status());
  return jsonResponse(200, std::move(o).value());
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
  struct Run {
    record::Header first;
    std::vector<record::SignedEntry> entries;
  };
  std::vector<Run> runs;
  std::size_t i = 0;
  while (i < entries.size()) {
    record::Header first;
    record::Check hc = record::decodeHeader(entries[i].header, first);
    if (!hc.ok()) {
      refuse("", 0, 1, record::toString(hc.verdict), "entry " + std::to_string(i + 1) + ": " + hc.detail);
      ++i;
      continue;
    }
    Run run{first, {}};
    run.entries.push_back(std::move(entries[i]));
    std::uint64_t lastSeq = first.seq;
    std::size_t j = i + 1;
    while (j < entries.size() && run.entries.size() < kMaxRunEntries) {
      record::Header h;
      if (!record::decodeHeader(entries[j].header, h).ok() || h.author != first.author || h.seq != lastSeq + 1) break;
      lastSeq = h.seq;
      run.entries.push_back(std::move(entries[j]));
      ++j;
    }
    runs.push_back(std::move(run));
    i = j;
  }
  // Stewards' feeds first, as a peer sends them: their admissions decide
  // whether the other feeds are members. What is refused as not (yet) a
  // member gets one more try at the end, after every attestation is in.
  if (services_.membership) {
    auto view = services_.membership->view();
    std::stable_partition(runs.begin(), runs.end(),
                          [&](const Run& r) { return view->isSteward(r.first.author); });
  }
  // A run whose feed is not (yet) a member waits until every other run is
  // in: an admission later in the request may make it one.
  std::vector<Run> retry;
  auto notYetMember = [&](const Run& run) {
    return services_.membership &&
           services_.membership->view()->judge(run.first.author, run.first.seq, run.first.timestamp) ==
               record::Verdict::notMember;
  };
  auto ingestRun = [&](Run run, bool lastTry) {
    if (!lastTry && notYetMember(run)) {
      retry.push_back(std::move(run));
      return;
    }
    const std::size_t runSize = run.entries.size();
    store::IngestResult res = store_.ingest(std::move(run.entries));
    stored += res.stored;
    duplicates += res.duplicates;
    filled += res.contentFilled;
    if (record::isStoredOrHeld(res.verdict)) return;
    std::uint64_t taken = res.stored + res.duplicates;
    std::uint64_t failedSeq = run.first.seq + taken;
    refuse(run.first.author.hex(), failedSeq, runSize > taken ? runSize - taken : 0, record::toString(res.verdict),
           res.detail);
    log_->warn("import: run of {} entries of feed {} from seq {}: {} after {} stored: {}", runSize,
               run.first.author.shortHex(), run.first.seq, record::toString(res.verdict), res.stored, res.detail);
  };
  for (auto& run : runs) ingestRun(std::move(run), false);
  auto again = std::move(retry);
  for (auto& run : again) ingestRun(std::move(run), true);
  log_->info("import: {} entries: {} stored, {} duplicates, {} refused (runs refused: {})", entries.size(), stored,
             duplicates, refusedEntries, refusedList.size());
  return jsonResponse(200, json::object{{"entries", entries.size()},
                                        {"stored", stored},
                                        {"duplicates", duplicates},
                                        {"content_filled", filled},
                                        {"refused", std::move(refusedList)}});
}

// ---------------------------------------------------------------------------
// Membership: the view, the stewards' actions and an organization's
// retraction. Each action signs one entry (a lift may sign several) and
// answers with what it published; the tracker, as the store's policy, then
// brings the view and the store in line.

namespace {

ApiResponse noMembershipView() {
  return AdminApi::errorResponse(503, "unavailable", "membership view not available");
}

ApiResponse conflict(std::string_view message) { return AdminApi::errorResponse(409, "refused", message); }

}  // namespace

std::optional<ApiResponse> AdminApi::refuseStewardAction() const {
  if (!services_.stewardKey)
    return errorResponse(403, "not_a_steward", "this node holds no steward key of this network");
  if (!services_.membership) return noMembershipView();
  auto v = services_.membership->view();
  const PublicKey self = services_.stewardKey->publicKey();
  if (!v->isSteward(self))
    return errorResponse(403, "not_a_steward",
                         "this node's steward key " + self.shortHex() + " is not a steward of the set in force (epoch " +
                             std::to_string(v->epoch) + ")");
  return std::nullopt;
}

ApiResponse AdminApi::listMembers(std::string_view query) {
  if (!services_.membership) return noMembershipView();
  auto q = parseQuery(query);
  if (!q.ok()) return fromStatus(q.status());
  if (auto s = onlyParams(*q, {"region", "label", "state"}); !s.ok()) return fromStatus(s);
  auto param = [&](const char* name) -> std::string {
    auto it = q->find(name);
    return it == q->end() ? std::string() : it->second;
  };
  const std::string region = asciiLower(param("region")), label = asciiLower(param("label")), state = param("state");
  if (!state.empty() && !knownMemberState(state))
    return badRequest("state must be none, pending, member, expired, suspended or revoked, got \"" +
                      state.substr(0, 40) + "\"");

  auto v = services_.membership->view();
  std::vector<std::pair<std::string, json::object>> rows;  // sorted by name, then key
  for (const auto& [feed, m] : v->feeds) {
    if (!state.empty() && state != federation::toString(m.state)) continue;
    const std::optional<record::Admission>& d = m.details;
    if (!region.empty() && (!d || asciiLower(d->region) != region)) continue;
    if (!label.empty() &&
        (!d || std::none_of(d->labels.begin(), d->labels.end(), [&](const std::string& l) { return asciiLower(l) == label; })))
      continue;
    rows.emplace_back(asciiLower(d ? d->name : "") + "\n" + feed.hex(), memberJson(feed, m, *v));
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  json::array members;
  for (auto& [key, o] : rows) members.push_back(std::move(o));
  return jsonResponse(200, json::object{{"epoch", v->epoch},
                                        {"threshold", v->threshold},
                                        {"stewards", keyArray(v->stewards)},
                                        {"members", std::move(members)}});
}

ApiResponse AdminApi::showMember(std::string_view keyText) {
  if (!services_.membership) return noMembershipView();
  auto v = services_.membership->view();
  auto feed = resolveKeyAmong(keyText, knownFeeds(*v, store_), "the feed key");
  if (!feed.ok()) return fromStatus(feed.status());
  auto it = v->feeds.find(*feed);
  const federation::FeedMembership none;
  json::object o = memberJson(*feed, it == v->feeds.end() ? none : it->second, *v);
  auto tip = store_.tip(*feed);
  o["held_seq"] = tip ? tip->seq : 0;
  // What the organization says of itself, beside what the stewards admitted.
  if (auto p = v->profiles.find(*feed); p != v->profiles.end()) {
    const record::Profile& pr = p->second.profile;
    json::array nodes;
    for (const auto& n : pr.nodes) {
      json::array addresses;
      for (const auto& a : n.addresses) addresses.emplace_back(a);
      nodes.push_back(json::object{{"node_key", n.nodeKey.hex()}, {"addresses", std::move(addresses)}});
    }
    json::array labels, focus;
    for (const auto& l : pr.labels) labels.emplace_back(l);
    for (const auto& f : pr.focusAreas) focus.emplace_back(f);
    o["profile"] = json::object{{"entry", refJson(p->second.entry)}, {"name", pr.name},
                                {"region", pr.region},            {"country", pr.country},
                                {"labels", std::move(labels)},    {"focus_areas", std::move(focus)},
                                {"contact", pr.contact},          {"nodes", std::move(nodes)}};
  } else {
    o["profile"] = nullptr;
  }
  o["epoch"] = v->epoch;
  o["threshold"] = v->threshold;
  return jsonResponse(200, o);
}

// This steward's signature on the next steward set: epoch and previous set
// come from the set in force; it takes effect once k stewards of that set
// have published the same set. A removed steward's feed may be pinned at a
// seq this node holds: its attestations up to there keep counting.
ApiResponse AdminApi::stewardSet(const ApiRequest& r) {
  if (auto refusal = refuseStewardAction()) return *refusal;
  auto o = parseObject(r.body, {"stewards", "threshold", "pins"});
  if (!o.ok()) return fromStatus(o.status());
  record::StewardSet set;
  if (!o->contains("stewards") || !o->at("stewards").is_array() || o->at("stewards").as_array().empty())
    return badRequest("\"stewards\" must be a list of one or more steward feed keys");
  for (const auto& k : o->at("stewards").as_array()) {
    if (!k.is_string()) return badRequest("\"stewards\" must hold feed keys as hex strings");
    auto key = PublicKey::parseHex(std::string(k.as_string()), "a steward key");
    if (!key.ok()) return fromStatus(key.status());
    set.stewards.push_back(*key);
  }
  auto k = uintField(*o, "threshold");
  if (!k.ok()) return fromStatus(k.status());
  if (!*k) return badRequest("\"threshold\" is required: how many stewards of the new set make an action final");
  if (**k < 1 || **k > set.stewards.size())
    return badRequest("threshold " + std::to_string(**k) + " is impossible with " + std::to_string(set.stewards.size()) +
                      " steward(s)");
  set.threshold = static_cast<std::uint32_t>(**k);
  std::set<PublicKey> unique(set.stewards.begin(), set.stewards.end());
  if (unique.size() != set.stewards.size()) return badRequest("a steward is named twice");

  std::lock_guard lock(stewardMu_);
  auto v = services_.membership->view();
  if (o->contains("pins")) {
    if (!o->at("pins").is_array()) return badRequest("\"pins\" must be a list of {feed, seq}");
    for (const auto& p : o->at("pins").as_array()) {
      if (!p.is_object()) return badRequest("\"pins\" must be a list of {feed, seq}");
      auto feed = hexField<PublicKey>(p.as_object(), "feed");
      if (!feed.ok()) return fromStatus(feed.status());
      auto seq = uintField(p.as_object(), "seq");
      if (!seq.ok()) return fromStatus(seq.status());
      if (!*seq || **seq == 0) return badRequest("a pin needs the seq of the last entry whose attestations still count");
      if (!v->isSteward(*feed) || unique.count(*feed))
        return conflict("feed " + feed->shortHex() + " is not a steward removed by this set: only those are pinned");
      auto held = store_.entryAt(*feed, **seq);
      if (!held.ok())
        return conflict("this node does not hold seq " + std::to_string(**seq) + " of feed " + feed->shortHex() +
                        "; cannot pin there");
      set.pins.push_back(record::EntryRef{*feed, **seq, held->id});
    }
  }
  set.epoch = v->epoch + 1;
  set.previous = v->setHash;
  auto e = store_.publish(*services_.stewardKey, static_cast<std::uint16_t>(record::Kind::stewardSet),
                          record::encodeStewardSet(set));
  if (!e.ok()) return fromStatus(e.status());
  auto after = services_.membership->view();
  // How many stewards of the set that was in force have signed these same
  // bytes so far (this one included).
  std::set<PublicKey> signers;
  {
    store::Query q;
    q.kind = static_cast<std::uint16_t>(record::Kind::stewardSet);
    q.includeHidden = true;
    q.limit = std::numeric_limits<std::size_t>::max();
    for (const record::Entry& x : store_.list(q))
      if (x.signedEntry.content && *x.signedEntry.content == *e->signedEntry.content && v->isSteward(x.header.author))
        signers.insert(x.header.author);
  }
  log_->info("steward set: signed epoch {} ({} stewards, k = {}), {} of {} signatures; the set in force is epoch {}",
             set.epoch, set.stewards.size(), set.threshold, signers.size(), v->threshold, after->epoch);
  return publishedResponse(*e, json::object{{"epoch", set.epoch},
                                            {"in_force_epoch", after->epoch},
                                            {"signatures", signers.size()},
                                            {"signatures_needed", v->threshold}});
}

ApiResponse AdminApi::admit(const ApiRequest& r) {
  if (auto refusal = refuseStewardAction()) return *refusal;
  auto o = parseObject(r.body, {"feed_key", "name", "region", "country", "focus_areas", "labels", "expires_at"});
  if (!o.ok()) return fromStatus(o.status());
  record::Admission a;
  auto feed = hexField<PublicKey>(*o, "feed_key");
  if (!feed.ok()) return fromStatus(feed.status());
  a.feed = *feed;
  auto name = textField(*o, "name", true, record::kMaxTitleBytes);
  if (!name.ok()) return fromStatus(name.status());
  a.name = std::move(name).value();
  auto region = textField(*o, "region", true, kMaxPlaceBytes);
  if (!region.ok()) return fromStatus(region.status());
  a.region = std::move(region).value();
  auto country = textField(*o, "country", false, kMaxPlaceBytes);
  if (!country.ok()) return fromStatus(country.status());
  a.country = std::move(country).value();
  auto focus = wordsField(*o, "focus_areas");
  if (!focus.ok()) return fromStatus(focus.status());
  a.focusAreas = std::move(focus).value();
  auto labels = wordsField(*o, "labels");
  if (!labels.ok()) return fromStatus(labels.status());
  a.labels = std::move(labels).value();
  auto expires = uintField(*o, "expires_at");
  if (!expires.ok()) return fromStatus(expires.status());
  if (*expires) {
    if (**expires == 0 || **expires > static_cast<std::uint64_t>(INT64_MAX))
      return badRequest("\"expires_at\" must be a time in ms since the Unix epoch (omit it for no expiry)");
    a.expiresAt = static_cast<std::int64_t>(**expires);
  }

  // No stewardMu_ here: what is checked below only spares the steward a
  // useless record (a revocation that lands in between still wins, as the
  // membership rules say), and admissions made concurrently then share one
  // synced write and one update of the membership view.
  auto v = services_.membership->view();
  if (v->isSteward(a.feed))
    return conflict("feed " + a.feed.shortHex() + " is a steward's feed: stewards' feeds need no admission");
  if (auto it = v->feeds.find(a.feed); it != v->feeds.end() && it->second.state == federation::MemberState::revoked)
    return conflict("feed " + a.feed.shortHex() +
                    " is revoked; a revoked key is never re-admitted: the organization needs a new feed key");
  // A node key given for a feed key: a mistake the peers' refusals (which
  // name the node key) invite.
  const bool nodeKey = a.feed == info_.nodeKey || v->memberNodes.count(a.feed) ||
                       std::any_of(v->profiles.begin(), v->profiles.end(), [&](const auto& p) {
                         return std::any_of(p.second.profile.nodes.begin(), p.second.profile.nodes.end(),
                                            [&](const record::HostingNode& n) { return n.nodeKey == a.feed; });
                       });
  if (nodeKey && !store_.tip(a.feed))
    return badRequest(a.feed.hex() + " is a node key, not an organization's feed key: admit the feed key (the "
                      "\"feed key\" line of civnetctl status, or civnetctl orgs list, on that node)");
  auto e = store_.publish(*services_.stewardKey, static_cast<std::uint16_t>(record::Kind::admission),
                          record::encodeAdmission(a));
  if (!e.ok()) {
    log_->warn("admit of {} refused: {}", a.feed.shortHex(), e.status().message());
    return fromStatus(e.status());
  }
  auto after = services_.membership->view();
  auto m = after->feeds.find(a.feed);
  const char* state = federation::toString(m == after->feeds.end() ? federation::MemberState::none : m->second.state);
  log_->info("steward admission of {} (\"{}\", {}): entry {} seq {}; the feed is now {}", a.feed.shortHex(), a.name,
             a.region, e->id.shortHex(), e->header.seq, state);
  json::object extra{{"feed_key", a.feed.hex()}, {"state", state}};
  // Another feed admitted under the same name may be a typo'd key.
  for (const auto& [other, fm] : after->feeds)
    if (other != a.feed && fm.details && asciiEqualFolded(fm.details->name, a.name) &&
        fm.state != federation::MemberState::revoked) {
      extra["note"] = "feed " + other.shortHex() + " is admitted under the name \"" + fm.details->name +
                      "\" too: if this key was a mistake, revoke it (civnetctl revoke " + a.feed.shortHex() +
                      " --after-seq 0)";
      break;
    }
  return publishedResponse(*e, std::move(extra));
}

ApiResponse AdminApi::revoke(const ApiRequest& r) {
  if (auto refusal = refuseStewardAction()) return *refusal;
  auto o = parseObject(r.body, {"feed_key", "after_seq", "reason"});
  if (!o.ok()) return fromStatus(o.status());
  auto keyText = optString(*o, "feed_key");
  if (!keyText.ok()) return fromStatus(keyText.status());
  if (!keyText.value()) return badRequest("\"feed_key\" is required");
  auto after = uintField(*o, "after_seq");
  if (!after.ok()) return fromStatus(after.status());
  auto reason = textField(*o, "reason", true, kMaxReasonBytes);
  if (!reason.ok()) return fromStatus(reason.status());

  std::lock_guard lock(stewardMu_);
  auto v = services_.membership->view();
  auto feed = resolveKeyAmong(**keyText, knownFeeds(*v, store_), "\"feed_key\"");
  if (!feed.ok()) return fromStatus(feed.status());
  if (v->isSteward(*feed))
    return conflict("feed " + feed->shortHex() +
                    " is a steward's feed: replace a steward with a steward set, not a revocation");
  // The pin: the given seq, or the tip held. Checked against what this node
  // holds before signing, so the revocation names an entry that exists.
  auto tip = store_.tip(*feed);
  const std::uint64_t held = tip ? tip->seq : 0;
  // A key nobody here has seen is more likely a typo than a feed to revoke
  // before its first entry: that takes an explicit after_seq 0.
  if (!tip && !v->feeds.count(*feed) && !after->has_value())
    return conflict("this node knows nothing of feed " + feed->shortHex() +
                    " (no entry held, no steward acted on it): check the key; to revoke it before its first "
                    "entry anyway, give after_seq 0");
  const std::uint64_t pinSeq = after->value_or(held);
  if (pinSeq > held)
    return conflict("this node holds feed " + feed->shortHex() + " only up to seq " + std::to_string(held) +
                    "; cannot pin at " + std::to_string(pinSeq));
  record::Revocation rev;
  rev.feed = *feed;
  rev.pinSeq = pinSeq;
  rev.reason = std::move(reason).value();
  if (pinSeq > 0) {
    auto pinned = store_.entryAt(*feed, pinSeq);
    if (!pinned.ok())
      return conflict("this node does not hold entry " + std::to_string(pinSeq) + " of feed " + feed->shortHex() +
                      " (" + pinned.status().message() + "); cannot pin at it");
    rev.pinId = pinned->id;
  }
  auto e = store_.publish(*services_.stewardKey, static_cast<std::uint16_t>(record::Kind::revocation),
                          record::encodeRevocation(rev));
  if (!e.ok()) {
    log_->warn("revoke of {} refused: {}", feed->shortHex(), e.status().message());
    return fromStatus(e.status());
  }
  auto now = services_.membership->view();
  auto m = now->feeds.find(*feed);
  const char* state = federation::toString(m == now->feeds.end() ? federation::MemberState::none : m->second.state);
  log_->info("steward revocation of {} after seq {} ({}): entry {} seq {}; the feed is now {}", feed->shortHex(),
             pinSeq, rev.reason, e->id.shortHex(), e->header.seq, state);
  return publishedResponse(*e, json::object{{"feed_key", feed->hex()},
                                            {"pin_seq", pinSeq},
                                            {"pin_id", pinSeq > 0 ? json::value(rev.pinId.hex()) : json::value(nullptr)},
                                            {"state", state}});
}

ApiResponse AdminApi::lift(const ApiRequest& r) {
  if (auto refusal = refuseStewardAction()) return *refusal;
  auto o = parseObject(r.body, {"feed_key"});
  if (!o.ok()) return fromStatus(o.status());
  auto keyText = optString(*o, "feed_key");
  if (!keyText.ok()) return fromStatus(keyText.status());
  if (!keyText.value()) return badRequest("\"feed_key\" is required");

  std::lock_guard lock(stewardMu_);
  auto v = services_.membership->view();
  auto feed = resolveKeyAmong(**keyText, knownFeeds(*v, store_), "\"feed_key\"");
  if (!feed.ok()) return fromStatus(feed.status());
  const PublicKey self = services_.stewardKey->publicKey();
  // This steward's revocations of the feed, and what it has lifted, from
  // its own feed (hidden entries too: its feed is the record).
  auto ofKind = [&](record::Kind k) {
    store::Query q;
    q.author = self;
    q.kind = static_cast<std::uint16_t>(k);
    q.includeHidden = true;
    q.limit = std::numeric_limits<std::size_t>::max();
    return store_.list(q);
  };
  std::set<record::EntryRef> lifted;
  for (const record::Entry& e : ofKind(record::Kind::lift)) {
    if (!e.signedEntry.content) continue;
    if (auto l = record::decodeLift(*e.signedEntry.content); l.ok()) lifted.insert(l->revocation);
  }
  std::vector<record::EntryRef> active;
  for (const record::Entry& e : ofKind(record::Kind::revocation)) {
    if (!e.signedEntry.content) continue;
    auto rev = record::decodeRevocation(*e.signedEntry.content);
    if (!rev.ok() || rev->feed != *feed) continue;
    record::EntryRef ref{e.header.author, e.header.seq, e.id};
    if (!lifted.count(ref)) active.push_back(ref);
  }
  if (active.empty())
    return conflict("this steward has no active revocation of feed " + feed->shortHex() + " to lift");
  std::sort(active.begin(), active.end());
  json::array entries;
  std::optional<record::Entry> last;
  for (const record::EntryRef& ref : active) {
    auto e = store_.publish(*services_.stewardKey, static_cast<std::uint16_t>(record::Kind::lift),
                            record::encodeLift(record::Lift{ref}));
    if (!e.ok()) {
      log_->warn("lift of {}'s revocation at seq {} refused: {}", feed->shortHex(), ref.seq, e.status().message());
      return fromStatus(e.status());
    }
    entries.push_back(json::object{{"id", e->id.hex()}, {"seq", e->header.seq}, {"lifts_seq", ref.seq}});
    last = std::move(e).value();
  }
  auto now = services_.membership->view();
  auto m = now->feeds.find(*feed);
  const char* state = federation::toString(m == now->feeds.end() ? federation::MemberState::none : m->second.state);
  log_->info("steward lifted {} revocation(s) of {}; the feed is now {}", active.size(), feed->shortHex(), state);
  return publishedResponse(*last, json::object{{"feed_key", feed->hex()}, {"lifts", std::move(entries)}, {"state", state}});
}

ApiResponse AdminApi::takedown(const ApiRequest& r) {
  if (auto refusal = refuseStewardAction()) return *refusal;
  auto o = parseObject(r.body, {"entry_id", "author", "seq", "id", "reason"});
  if (!o.ok()) return fromStatus(o.status());
  auto reason = textField(*o, "reason", true, kMaxReasonBytes);
  if (!reason.ok()) return fromStatus(reason.status());
  auto entryId = optString(*o, "entry_id");
  if (!entryId.ok()) return fromStatus(entryId.status());
  const bool byRef = o->contains("author") || o->contains("seq") || o->contains("id");
  if (entryId.value() && byRef) return badRequest("give \"entry_id\", or \"author\", \"seq\" and \"id\", not both");
  if (!entryId.value() && !byRef) return badRequest("give \"entry_id\", or \"author\", \"seq\" and \"id\"");

  record::EntryRef target;
  std::optional<record::Entry> held;
  if (entryId.value()) {
    auto notHeld = [&] {
      return conflict("no entry " + std::string(entryId.value()->substr(0, 64)) +
                      " on this node: a takedown of an entry not held yet needs its author, seq and id");
    };
    auto id = store_.resolveId(**entryId);
    if (!id.ok()) return id.status().code() == StatusCode::notFound ? notHeld() : fromStatus(id.status());
    auto e = store_.entryById(*id);
    if (!e.ok()) return e.status().code() == StatusCode::notFound ? notHeld() : fromStatus(e.status());
    held = std::move(e).value();
    target = {held->header.author, held->header.seq, held->id};
  } else {
    auto author = hexField<PublicKey>(*o, "author");
    if (!author.ok()) return fromStatus(author.status());
    auto seq = uintField(*o, "seq");
    if (!seq.ok()) return fromStatus(seq.status());
    if (!seq.value() || **seq == 0) return badRequest("\"seq\" is required and must be at least 1");
    auto id = hexField<Digest>(*o, "id");
    if (!id.ok()) return fromStatus(id.status());
    target = {*author, **seq, *id};
    if (auto e = store_.entryAt(target.author, target.seq); e.ok()) {
      if (e->id != target.id)
        return conflict("this node holds another entry at seq " + std::to_string(target.seq) + " of feed " +
                        target.author.shortHex() + " (" + e->id.shortHex() + ", not " + target.id.shortHex() + ")");
      held = std::move(e).value();
    }
  }
  if (held && federation::isAttestationKind(held->header.kind))
    return conflict("entry " + target.id.shortHex() + " is of kind " + record::kindName(held->header.kind) +
                    ", an attestation: takedowns cannot target attestations");

  std::lock_guard lock(stewardMu_);
  record::Takedown t{target, std::move(reason).value()};
  auto e = store_.publish(*services_.stewardKey, static_cast<std::uint16_t>(record::Kind::takedown),
                          record::encodeTakedown(t));
  if (!e.ok()) {
    log_->warn("takedown of {} refused: {}", target.id.shortHex(), e.status().message());
    return fromStatus(e.status());
  }
  auto v = services_.membership->view();
  const char* effect = v->erased.count(target) ? "erased" : v->hidden.count(target) ? "hidden" : "pending";
  log_->info("steward takedown of {} (feed {} seq {}{}): entry {} seq {}; the target is {}", target.id.shortHex(),
             target.author.shortHex(), target.seq, held ? "" : ", not held yet", e->id.shortHex(), e->header.seq,
             effect);
  return publishedResponse(*e, json::object{{"target", refJson(target)}, {"held", held.has_value()}, {"effect", effect}});
}

ApiResponse AdminApi::retract(const ApiRequest& r) {
  auto o = parseObject(r.body, {"entry_id", "reason"});
  if (!o.ok()) return fromStatus(o.status());
  auto entryId = optString(*o, "entry_id");
  if (!entryId.ok()) return fromStatus(entryId.status());
  if (!entryId.value()) return badRequest("\"entry_id\" is required");
  auto reason = textField(*o, "reason", false, kMaxReasonBytes);
  if (!reason.ok()) return fromStatus(reason.status());
  auto notHeld = [&] {
    return errorResponse(404, "not_found", "no entry " + std::string(entryId.value()->substr(0, 64)) + " on this node");
  };
  auto id = store_.resolveId(**entryId);
  if (!id.ok()) return id.status().code() == StatusCode::notFound ? notHeld() : fromStatus(id.status());
  auto held = store_.entryById(*id);
  if (!held.ok()) return held.status().code() == StatusCode::notFound ? notHeld() : fromStatus(held.status());
  const record::Header& h = held->header;
  const PrivateKey* signer = orgs_.key(h.author);
  if (!signer)
    return errorResponse(403, "permission_denied",
                         "entry " + id->shortHex() +
                             " is not an entry of an organization this node hosts (its author is " +
                             h.author.shortHex() + ")");
  if (federation::isAttestationKind(h.kind) || h.kind == static_cast<std::uint16_t>(record::Kind::retraction))
    return conflict("entry " + id->shortHex() + " is of kind " + record::kindName(h.kind) +
                    ", which cannot be retracted");
  if (store_.isErased(h.author, h.seq)) return conflict("entry " + id->shortHex() + " is already erased");
  const record::EntryRef target{h.author, h.seq, *id};
  // Checked in the feed itself too, so a node whose view is not loaded
  // (no tracker: nothing is erased yet) does not retract twice.
  std::lock_guard lock(retractMu_);
  {
    store::Query q;
    q.author = h.author;
    q.kind = static_cast<std::uint16_t>(record::Kind::retraction);
    q.includeHidden = true;
    q.limit = std::numeric_limits<std::size_t>::max();
    for (const record::Entry& e : store_.list(q)) {
      if (!e.signedEntry.content) continue;
      if (auto prior = record::decodeRetraction(*e.signedEntry.content); prior.ok() && prior->target == target)
        return conflict("entry " + id->shortHex() + " is already retracted (by entry " + e.id.shortHex() + ")");
    }
  }

  record::Retraction ret{target, std::move(reason).value()};
  auto e = store_.publish(*signer, static_cast<std::uint16_t>(record::Kind::retraction), record::encodeRetraction(ret));
  if (!e.ok()) {
    log_->warn("retract of {} refused: {}", id->shortHex(), e.status().message());
    return fromStatus(e.status());
  }
  log_->info("retracted {} (seq {}): entry {} seq {}", id->shortHex(), h.seq, e->id.shortHex(), e->header.seq);
  return publishedResponse(*e, json::object{{"target", refJson(ret.target)}, {"erased", store_.isErased(h.author, h.seq)}});
}

// The organizations this node hosts, each with its membership state.
ApiResponse AdminApi::listOrgs() {
  std::shared_ptr<const federation::MembershipView> v;
  if (services_.membership) v = services_.membership->view();
  json::array a;
  for (const HostedOrgs::Org& org : orgs_.list()) {
    auto tip = store_.tip(org.feed);
    json::object o{{"name", org.name},
                   {"feed_key", org.feed.hex()},
                   {"primary", org.primary},
                   {"entries", tip ? tip->seq : 0}};
    if (v) {
      auto it = v->feeds.find(org.feed);
      const federation::FeedMembership none;
      const federation::FeedMembership& m = it == v->feeds.end() ? none : it->second;
      o["state"] = federation::toString(m.state);
      o["admitted_by"] = keyArray(m.admittedBy);
    } else {
      o["state"] = nullptr;
    }
    a.push_back(std::move(o));
  }
  return jsonResponse(200, json::object{{"orgs", std::move(a)}});
}

// A new organization hosted here: its feed key and first profile. It is
// `pending` until k stewards admit its feed key.
ApiResponse AdminApi::addOrg(const ApiRequest& r) {
  auto o = parseObject(r.body, {"name"});
  if (!o.ok()) return fromStatus(o.status());
  auto name = optString(*o, "name");
  if (!name.ok()) return fromStatus(name.status());
  if (!name.value()) return badRequest("\"name\" is required");
  auto added = orgs_.add(**name);
  if (!added.ok()) {
    log_->warn("orgs add refused: {}", added.status().message());
    return fromStatus(added.status());
  }
  log_->info("now hosting organization \"{}\": feed {}, profile {}", added->org.name, added->org.feed.hex(),
             added->profileId.shortHex());
  std::string state = "none";
  if (services_.membership) {
    auto v = services_.membership->view();
    auto it = v->feeds.find(added->org.feed);
    if (it != v->feeds.end()) state = federation::toString(it->second.state);
  }
  return jsonResponse(201, json::object{{"name", added->org.name},
                                        {"feed_key", added->org.feed.hex()},
                                        {"profile_id", added->profileId.hex()},
                                        {"state", state}});
}

// POST /v1/orgs/profile {"org"?, "region"?, "country"?, "focus_areas"?,
// "labels"?, "contact"?}: what a hosted organization says of itself in
// the directory. The fields given replace the current ones (a new profile
// entry, network-wide); with none, the current profile is shown.
ApiResponse AdminApi::orgProfile(const ApiRequest& r) {
  auto o = parseObject(r.body, {"org", "region", "country", "focus_areas", "labels", "contact"});
  if (!o.ok()) return fromStatus(o.status());
  auto orgName = optString(*o, "org");
  if (!orgName.ok()) return fromStatus(orgName.status());
  auto org = *orgName ? orgs_.find(**orgName) : Result<HostedOrgs::Org>(orgs_.primary());
  if (!org.ok()) return fromStatus(org.status());
  auto current = orgs_.profile(org->feed);
  if (!current.ok()) return fromStatus(current.status());
  ProfileFields f{current->region, current->country, current->focusAreas, current->labels, current->contact};
  bool changed = false;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"region", &f.region}, {"country", &f.country},
                          {"contact", &f.contact}}) {
    auto v = optString(*o, key);
    if (!v.ok()) return fromStatus(v.status());
    if (*v) {
      *out = **v;
      changed = true;
    }
  }
  for (auto [key, out] : {std::pair<const char*, std::vector<std::string>*>{"focus_areas", &f.focusAreas},
                          {"labels", &f.labels}}) {
    if (!o->contains(key)) continue;
    auto v = wordsField(*o, key);
    if (!v.ok()) return fromStatus(v.status());
    *out = std::move(*v);
    changed = true;
  }
  changed = changed && (f.region != current->region || f.country != current->country ||
                        f.focusAreas != current->focusAreas || f.labels != current->labels ||
                        f.contact != current->contact);
  record::Profile p = *current;
  if (changed) {
    auto updated = orgs_.updateProfile(org->feed, f);
    if (!updated.ok()) return fromStatus(updated.status());
    p = std::move(*updated);
    log_->info("organization \"{}\": published a new profile", org->name);
  }
  return jsonResponse(changed ? 201 : 200,
                      json::object{{"org", org->name},         {"feed_key", org->feed.hex()},
                                   {"name", p.name},           {"region", p.region},
                                   {"country", p.country},     {"focus_areas", stringArray(p.focusAreas)},
                                   {"labels", stringArray(p.labels)}, {"contact", p.contact},
                                   {"published", changed}});
}

namespace {
ApiResponse noNetwork() { return AdminApi::errorResponse(503, "unavailable", "the peer network is not running"); }
}  // namespace

// Every peer: configured (civnetd.toml or added) and linked.
ApiResponse AdminApi::listPeers() {
  if (!services_.network) return noNetwork();
  std::shared_ptr<const federation::MembershipView> v;
  if (services_.membership) v = services_.membership->view();
  // Which organizations a node hosts: those whose latest profile names it.
  auto hostedBy = [&](const PublicKey& node) {
    json::array names;
    if (!v) return names;
    for (const auto& [feed, own] : v->profiles)
      for (const auto& n : own.profile.nodes)
        if (n.nodeKey == node) {
          auto m = v->feeds.find(feed);
          names.emplace_back(m != v->feeds.end() && m->second.details ? m->second.details->name : own.profile.name);
          break;
        }
    return names;
  };
  json::array a;
  for (const auto& p : services_.network->peers()) {
    std::string source = "inbound";
    if (services_.peers && services_.peers->inConfig(p.key)) source = "config";
    else if (p.discovered) source = "member";
    else if (p.configured) source = "added";
    a.push_back(json::object{{"key", p.key.hex()},
                             {"address", p.address},
                             {"source", source},
                             {"state", p.state},
                             {"outbound", p.outbound},
                             {"in_sync", p.inSync},
                             {"entries_behind", p.entriesBehind},
                             {"seconds_since_in_sync", p.secondsBehind},
                             {"bytes_received", p.bytesIn},
                             {"bytes_sent", p.bytesOut},
                             {"wire_bytes_received", p.wireIn},
                             {"wire_bytes_sent", p.wireOut},
                             {"handshake_bytes_received", p.handshakeIn},
                             {"handshake_bytes_sent", p.handshakeOut},
                             {"member_node", v ? json::value(v->memberNodes.count(p.key) > 0) : json::value(nullptr)},
                             {"organizations", hostedBy(p.key)},
                             {"software", p.software},
                             {"entries_sent", p.counters.entriesSent},
                             {"entries_received", p.counters.entriesReceived},
                             {"nacks_sent", p.counters.nacksSent},
                             {"nacks_received", p.counters.nacksReceived},
                             {"refused_again", p.counters.refusedAgain},
                             {"content_sent", p.counters.contentSent},
                             {"content_received", p.counters.contentReceived},
                             {"forged", p.counters.forged},
                             {"last_error", p.lastError}});
  }
  auto port = services_.network->listenPort();
  return jsonResponse(200, json::object{{"listen_port", port ? json::value(*port) : json::value(nullptr)},
                                        {"peers", std::move(a)}});
}

namespace {
ApiResponse noAccounts() { return AdminApi::errorResponse(503, "unavailable", "accounts are not available"); }

json::object accountJson(const Account& a, const HostedOrgs& orgs) {
  auto org = orgs.find(a.org.hex());
  return json::object{{"handle", a.handle},
                      {"name", a.name},
                      {"org", a.org.hex()},
                      {"org_name", org.ok() ? json::value(org->name) : json::value(nullptr)},
                      {"admin", a.admin},
                      {"disabled", a.disabled},
                      {"must_change_password", a.mustChangePassword},
                      {"created_at", isoTime(a.createdAt)},
                      {"password_changed_at", isoTime(a.passwordChangedAt)}};
}

// An optional password from a request body (the generated one otherwise).
Result<std::optional<std::string>> passwordField(const json::object& o) {
  auto pw = optString(o, "password");
  if (!pw.ok()) return pw.status();
  return *pw;
}
}  // namespace

ApiResponse AdminApi::listAccounts() {
  if (!services_.accounts) return noAccounts();
  json::array a;
  for (const Account& acc : services_.accounts->list()) a.push_back(accountJson(acc, orgs_));
  return jsonResponse(200, json::object{{"accounts", std::move(a)}});
}

// A member account of a hosted organization; its first password is
// generated (and in this answer only) unless the request gives one.
ApiResponse AdminApi::addAccount(const ApiRequest& r) {
  if (!services_.accounts) return noAccounts();
  auto o = parseObject(r.body, {"handle", "name", "org", "admin", "password"});
  if (!o.ok()) return fromStatus(o.status());
  auto handle = optString(*o, "handle");
  if (!handle.ok()) return fromStatus(handle.status());
  if (!*handle) return badRequest("\"handle\" is required");
  auto name = textField(*o, "name", true, 200);
  if (!name.ok()) return fromStatus(name.status());
  auto orgName = optString(*o, "org");
  if (!orgName.ok()) return fromStatus(orgName.status());
  auto org = *orgName ? orgs_.find(**orgName) : Result<HostedOrgs::Org>(orgs_.primary());
  if (!org.ok()) return fromStatus(org.status());
  bool admin = false;
  if (auto it = o->find("admin"); it != o->end() && !it->value().is_null()) {
    if (!it->value().is_bool()) return badRequest("\"admin\" must be true or false");
    admin = it->value().as_bool();
  }
  auto password = passwordField(*o);
  if (!password.ok()) return fromStatus(password.status());
  auto added = services_.accounts->add(**handle, *name, org->feed, admin, std::move(*password));
  if (!added.ok()) return fromStatus(added.status());
  log_->info("account {} added ({} of \"{}\"{})", **handle, admin ? "an admin" : "a member", org->name,
             added->has_value() ? ", password generated" : "");
  auto a = services_.accounts->get(**handle);
  if (!a.ok()) return fromStatus(a.status());
  json::object out = accountJson(*a, orgs_);
  if (added->has_value()) out["password"] = **added;
  return jsonResponse(201, out);
}

// POST /v1/accounts/{handle}/disable, /v1/accounts/{handle}/reset
ApiResponse AdminApi::accountAction(std::string_view rest, const ApiRequest& r) {
  if (!services_.accounts) return noAccounts();
  const auto slash = rest.find('/');
  const std::string handle(rest.substr(0, slash));
  const std::string_view action = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (action == "disable") {
    if (auto s = services_.accounts->disable(handle); !s.ok()) return fromStatus(s);
    log_->info("account {} disabled", handle);
  } else if (action == "reset") {
    auto o = parseObject(r.body.empty() ? std::string_view("{}") : std::string_view(r.body), {"password"});
    if (!o.ok()) return fromStatus(o.status());
    auto password = passwordField(*o);
    if (!password.ok()) return fromStatus(password.status());
    auto reset = services_.accounts->reset(handle, std::move(*password));
    if (!reset.ok()) return fromStatus(reset.status());
    log_->info("account {}: password reset{}", handle, reset->has_value() ? " (generated)" : "");
    auto a = services_.accounts->get(handle);
    if (!a.ok()) return fromStatus(a.status());
    json::object out = accountJson(*a, orgs_);
    if (reset->has_value()) out["password"] = **reset;
    return jsonResponse(200, out);
  } else {
    return errorResponse(404, "not_found", "no such endpoint: POST /v1/accounts/" + std::string(rest.substr(0, 100)) +
                                               " (disable or reset)");
  }
  auto a = services_.accounts->get(handle);
  if (!a.ok()) return fromStatus(a.status());
  return jsonResponse(200, accountJson(*a, orgs_));
}

// A peer to dial from now on, kept across restarts.
ApiResponse AdminApi::addPeer(const ApiRequest& r) {
  if (!services_.network || !services_.peers) return noNetwork();
  auto o = parseObject(r.body, {"address", "key"});
  if (!o.ok()) return fromStatus(o.status());
  auto address = optString(*o, "address");
  if (!address.ok()) return fromStatus(address.status());
  if (!address.value()) return badRequest("\"address\" is required: HOST:PORT");
  if (auto k = optString(*o, "key"); k.ok() && *k && (**address).size() == 64 && isHexText(**address) &&
      (**k).find(':') != std::string::npos)
    return badRequest("the address comes first, then the node key: civnetctl peers add HOST:PORT KEY");
  auto parsed = federation::parseDialAddress(**address);
  if (!parsed.ok()) return fromStatus(parsed.status());
  auto key = hexField<PublicKey>(*o, "key");
  if (!key.ok()) return fromStatus(key.status());
  if (*key == info_.nodeKey) return badRequest("that is this node's own key");
  federation::PeerConfig peer{*parsed, *key};
  if (auto s = services_.peers->add(peer); !s.ok()) return fromStatus(s);
  if (auto s = services_.network->addPeer(peer); !s.ok()) {
    (void)services_.peers->remove(peer.key);
    return fromStatus(s);
  }
  log_->info("peer {} at {} added", key->hex(), parsed->text());
  return jsonResponse(201, json::object{{"key", key->hex()}, {"address", parsed->text()}});
}

ApiResponse AdminApi::removePeer(std::string_view keyText) {
  if (!services_.network || !services_.peers) return noNetwork();
  std::set<PublicKey> known;
  for (const auto& p : services_.peers->all()) known.insert(p.key);
  auto key = resolveKeyAmong(keyText, known, "the peer's node key", "configured peer's node");
  if (!key.ok()) return fromStatus(key.status());
  if (auto s = services_.peers->remove(*key); !s.ok()) return fromStatus(s);
  (void)services_.network->removePeer(*key);
  log_->info("peer {} removed", key->hex());
  return jsonResponse(200, json::object{{"key", key->hex()}, {"removed", true}});
}

// Starts a sync round now: every peer waiting to be redialed is dialed.
// Linked peers are in sync continuously; GET /v1/peers says when they are.
ApiResponse AdminApi::syncNow() {
  if (!services_.network) return noNetwork();
  services_.network->redialNow();
  const PeerCounts n = countPeers(services_.network->peers());
  return jsonResponse(200, json::object{{"peers", n.total}, {"connected", n.connected}, {"in_sync", n.inSync}});
}

}  // namespace civnet::daemon

// civnetctl's commands (see ctl_commands.hpp): the node's own (status,
// publish, entries, verify, export, import) and membership's (members,
// admit, revoke, lift, takedown, retract). Boost.JSON is used here only;
// the HTTP client is in admin_client.cpp.
#include "ctl_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "schemas/backup.hpp"
#include "schemas/framing.hpp"
#include "schemas/record.hpp"
#include "tools/admin_client.hpp"
#include "schemas/content.hpp"

namespace civnet::tools {
namespace json = boost::json;
namespace fs = std::filesystem;
namespace {

// Import batches are at most this, or the node's max_import_bytes (from
// GET /v1/status) when smaller. A node that does not say takes at least
// 1 MiB (the least [admin] max_request_bytes may be).
constexpr std::size_t kImportBatchBytes = 4 * 1024 * 1024;
constexpr std::size_t kLeastImportLimit = 1024 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(120);
constexpr auto kJobPollInterval = std::chrono::milliseconds(100);

// A failed command: the exit code and the one line to print.
struct Failure {
  int code;
  std::string message;
};

class Ctl {
 public:
  Ctl(const CtlCommand& cmd, std::ostream& out, std::ostream& err)
      : cmd_(cmd), out_(out), err_(err), client_(cmd.socketPath, kRequestTimeout) {}

  int run();

 private:
  int status();
  int feeds();
  int publish();
  int entriesList();
  int entriesShow();
  int verify();
  bool followJob(const std::string& target, const std::string& doing, const std::string& unit, json::object& job,
                 Failure& f);
  int reindex();
  int search();
  int health();
  int metrics();
  int orgsProfile();
  void printEntries(const json::array& entries);
  // Calls the API for a JSON object. With --json, prints it and returns the
  // exit code; otherwise returns nullopt and leaves it in `out` to render.
  std::optional<int> fetchOrPrint(const std::string& method, const std::string& target, const std::string& body,
                                  json::object& out);
  int exportFile();
  int backup();
  int resumePublishing();
  int reload();
  int importFile();
  int membersList();
  int membersShow();
  int admit();
  int revoke();
  int stewardSet();
  int lift();
  int takedown();
  int retract();
  int orgsList();
  int orgsAdd();
  int accountsList();
  int accountsChange(const std::string& method, const std::string& target, json::object body);
  int peersList();
  int peersAdd();
  int peersRemove();
  int sync();
  // POSTs `body` to `target` and prints the entry it published: the JSON
  // answer, or with `line(answer)` for people.
  int steward(const std::string& target, const json::object& body,
              const std::function<std::string(const json::object&)>& line);

  int fail(const Failure& f) {
    err_ << "civnetctl: " << f.message << "\n";
    return f.code;
  }
  int fail(int code, const std::string& message) { return fail(Failure{code, message}); }

  // Sends a request; a reply that is not 2xx becomes a Failure carrying the
  // API's error message.
  Result<HttpReply> call(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::string& contentType = "application/json", Failure* failure = nullptr);
  // As call(), and parses the reply as a JSON object.
  bool callJson(const std::string& method, const std::string& target, const std::string& body, json::object& out,
                Failure& failure);

  void printJson(const json::value& v) { out_ << json::serialize(v) << "\n"; }

  const CtlCommand& cmd_;
  std::ostream& out_;
  std::ostream& err_;
  AdminClient client_;
};

std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

std::int64_t num(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().as_uint64());
  return 0;
}

std::string shortHex(const std::string& hex) { return hex.substr(0, 12); }

bool flag(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_bool() && it->value().as_bool();
}

// A JSON array of strings as "a, b, c"; `shorten` cuts keys to 12.
std::string joinList(const json::object& o, std::string_view key, bool shorten = false) {
  std::string s;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return s;
  for (auto& t : it->value().as_array()) {
    if (!t.is_string()) continue;
    if (!s.empty()) s += ", ";
    std::string v(t.as_string());
    s += shorten ? shortHex(v) : v;
  }
  return s;
}

std::size_t listSize(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? it->value().as_array().size() : 0;
}

// "12" or "-" for a null.
std::string numOrDash(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return "-";
  if (it->value().is_uint64()) return std::to_string(it->value().as_uint64());
  if (it->value().is_int64()) return std::to_string(it->value().as_int64());
  return "-";
}

// At most `max` bytes, cut at a UTF-8 character boundary, "…" if cut.
std::string clip(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

std::string humanTime(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string joinTags(const json::object& o) {
  std::string s;
  auto it = o.find("tags");
  if (it == o.end() || !it->value().is_array()) return s;
  for (auto& t : it->value().as_array()) {
    if (!t.is_string()) continue;
    if (!s.empty()) s += ", ";
    s += std::string(t.as_string());
  }
  return s;
}

std::string percentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// An entry's title for tables: the post's title, or what a profile names.
std::string displayTitle(const json::object& e) {
  // The id of the entry a comment answers or a revision revises.
  auto target = [&](const char* key) {
    const auto it = e.find(key);
    if (it == e.end() || !it->value().is_object()) return std::string();
    return shortHex(str(it->value().as_object(), "id"));
  };
  if (auto on = target("reply_to"); !on.empty()) return "(comment on " + on + ")";
  std::string title = str(e, "title");
  if (auto of = target("revises"); !of.empty()) return "(revision of " + of + ") " + title;
  if (!title.empty()) return title;
  if (str(e, "kind") == "profile") return "(profile of " + str(e, "name") + ")";
  if (!e.contains("content_present") || !e.at("content_present").is_bool() || !e.at("content_present").as_bool())
    return "(content absent)";
  return "";
}

Result<std::string> readBodyFile(const std::string& path) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    // Reading a directory gives no bytes and no error: an empty post.
    std::error_code ec;
    if (fs::is_directory(path, ec)) return invalidArgument("the body file " + path + " is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) return notFound("cannot read the body file " + path + ": " + std::strerror(errno));
    buf << in.rdbuf();
    if (in.bad()) return ioError("error reading the body file " + path);
  }
  std::string s = buf.str();
  if (s.size() > record::kMaxBodyBytes)
    return invalidArgument("the body file " + path + " has " + std::to_string(s.size()) +
                           " bytes; a post's body may have at most " + std::to_string(record::kMaxBodyBytes));
  // Else civnetd's JSON parser refuses the request with "syntax error".
  if (Status st = record::checkText(path == "-" ? "the body read from stdin" : "the body file " + path, s); !st.ok())
    return st;
  return s;
}

// The message of an API error answer ({"error": {"message"}}), or its status.
std::string apiError(const HttpReply& reply) {
  json::error_code ec;
  json::value v = json::parse(reply.body, ec);
  if (!ec && v.is_object() && v.as_object().contains("error") && v.at("error").is_object())
    return str(v.at("error").as_object(), "message");
  return "civnetd answered " + std::to_string(reply.status);
}

// A file made whole or not at all: written under a temporary name next to
// `path`, fsynced, then linked into place, which never replaces a file
// (not even one that appeared meanwhile). Dropped unfinished, it is removed.
class NewFile {
 public:
  explicit NewFile(fs::path path) : path_(std::move(path)) {
    tmp_ = path_;
    tmp_ += ".tmp-" + std::to_string(::getpid());
  }
  ~NewFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;

  Status open(unsigned mode) {
    std::error_code ec;
    if (path_.empty()) return invalidArgument("the file name must not be empty");
    if (fs::is_directory(path_, ec)) return invalidArgument(path_.string() + " is a directory: give a file name");
    if (fs::exists(path_, ec)) return alreadyExists(path_.string() + " already exists; refusing to overwrite it");
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd_ < 0) return ioError("cannot create " + path_.string() + " (written first as " + tmp_.filename().string() +
                                "): " + std::strerror(errno));
    return {};
  }
  Status write(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ioError("writing " + tmp_.string() + ": " + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
  Status commit() {
    const int syncRc = ::fsync(fd_), closeRc = ::close(fd_);
    fd_ = -1;
    if (syncRc != 0 || closeRc != 0) return ioError("writing " + tmp_.string() + ": " + std::strerror(errno));
    int rc = ::link(tmp_.c_str(), path_.c_str());
    int err = errno;
    ::unlink(tmp_.c_str());
    tmp_.clear();
    if (rc != 0) {
      if (err == EEXIST) return alreadyExists(path_.string() + " already exists; refusing to overwrite it");
      return ioError("creating " + path_.string() + ": " + std::strerror(err));
    }
    return {};
  }

 private:
  fs::path path_;
  fs::path tmp_;
  int fd_ = -1;
};

}  // namespace

Result<HttpReply> Ctl::call(const std::string& method, const std::string& target, const std::string& body,
                            const std::string& contentType, Failure* failure) {
  auto reply = client_.request(method, target, body, contentType);
  auto setFailure = [&](int code, std::string message) {
    if (failure) *failure = Failure{code, std::move(message)};
  };
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::unavailable) {
      setFailure(kExitUnreachable, "cannot reach civnetd at " + cmd_.socketPath +
                                       " (is it running? start it with: civnetd run --data-dir " + cmd_.dataDir + ")");
    } else {
      setFailure(kExitFailed, reply.status().message());
    }
    return reply.status();
  }
  if (reply->status < 200 || reply->status >= 300) {
    const std::string message = apiError(*reply);
    setFailure(kExitFailed, message);
    return Status(StatusCode::refused, message);
  }
  return reply;
}

bool Ctl::callJson(const std::string& method, const std::string& target, const std::string& body,
                   json::object& out, Failure& failure) {
  auto reply = call(method, target, body, "application/json", &failure);
  if (!reply.ok()) return false;
  json::error_code ec;
  json::value v = json::parse(reply->body, ec);
  if (ec || !v.is_object()) {
    failure = Failure{kExitFailed, "civnetd's answer to " + method + " " + target + " is not a JSON object"};
    return false;
  }
  out = std::move(v.as_object());
  return true;
}

int Ctl::run() {
  switch (cmd_.verb) {
    case CtlVerb::status: return status();
    case CtlVerb::feeds: return feeds();
    case CtlVerb::publish: return publish();
    case CtlVerb::entriesList: return entriesList();
    case CtlVerb::entriesShow: return entriesShow();
    case CtlVerb::verify: return verify();
    case CtlVerb::reindex: return reindex();
    case CtlVerb::backup: return backup();
    case CtlVerb::resumePublishing: return resumePublishing();
    case CtlVerb::reload: return reload();
    case CtlVerb::search: return search();
    case CtlVerb::health: return health();
    case CtlVerb::metrics: return metrics();
    case CtlVerb::orgsProfile: return orgsProfile();
    case CtlVerb::exportFile: return exportFile();
    case CtlVerb::importFile: return importFile();
    case CtlVerb::membersList: return membersList();
    case CtlVerb::membersShow: return membersShow();
    case CtlVerb::admit: return admit();
    case CtlVerb::stewardSet: return stewardSet();
    case CtlVerb::revoke: return revoke();
    case CtlVerb::lift: return lift();
    case CtlVerb::takedown: return takedown();
    case CtlVerb::retract: return retract();
    case CtlVerb::orgsList: return orgsList();
    case CtlVerb::orgsAdd: return orgsAdd();
    case CtlVerb::accountsList: return accountsList();
    case CtlVerb::accountsAdd: {
      json::object body{{"handle", cmd_.handle}, {"name", cmd_.name}, {"admin", cmd_.admin}};
      if (cmd_.org) body["org"] = *cmd_.org;
      return accountsChange("POST", "/v1/accounts", std::move(body));
    }
    case CtlVerb::accountsDisable:
      return accountsChange("POST", "/v1/accounts/" + cmd_.handle + "/disable", {});
    case CtlVerb::accountsReset:
      return accountsChange("POST", "/v1/accounts/" + cmd_.handle + "/reset", {});
    case CtlVerb::peersList: return peersList();
    case CtlVerb::peersAdd: return peersAdd();
    case CtlVerb::peersRemove: return peersRemove();
    case CtlVerb::sync: return sync();
    case CtlVerb::help: break;
  }
  return fail(kExitUsage, "no command given (see civnetctl --help)");
}

int Ctl::status() {
  json::object o;
  if (auto done = fetchOrPrint("GET", "/v1/status", "", o)) return *done;
  out_ << fmt::format("{:<16} {}\n", "node key", str(o, "node_key"));
  out_ << fmt::format("{:<16} {}  (organization \"{}\")\n", "feed key", str(o, "feed_key"), str(o, "organization"));
  if (!str(o, "steward_key").empty()) {
    const bool counts = o.contains("membership") && o.at("membership").is_object() &&
                        flag(o.at("membership").as_object(), "this_node_steward");
    out_ << fmt::format("{:<16} {}{}\n", "steward key", str(o, "steward_key"),
                        counts ? "" : "  (not a steward of the set in force)");
  }
  if (num(o, "hosted_orgs") > 1)
    out_ << fmt::format("{:<16} {} (civnetctl orgs list)\n", "hosted orgs", num(o, "hosted_orgs"));
  out_ << fmt::format("{:<16} {}  (\"{}\")\n", "network", str(o, "network_id"), str(o, "network_name"));
  out_ << fmt::format("{:<16} {}\n", "feeds", num(o, "feeds"));
  out_ << fmt::format("{:<16} {}\n", "entries", num(o, "entries"));
  out_ << fmt::format("{:<16} {}\n", "frontier digest", str(o, "frontier_digest"));
  if (auto port = o.find("http_port"); port != o.end() && port->value().is_number())
    out_ << fmt::format("{:<16} https://localhost:{}/ (members' logins: civnetctl accounts add)\n", "web interface",
                        num(o, "http_port"));
  if (o.contains("membership") && o.at("membership").is_object()) {
    const json::object& m = o.at("membership").as_object();
    std::size_t stewards = m.contains("stewards") && m.at("stewards").is_array() ? m.at("stewards").as_array().size() : 0;
    out_ << fmt::format("{:<16} epoch {}: {} stewards, k = {}{}\n", "steward set", num(m, "epoch"), stewards,
                        num(m, "threshold"), flag(m, "this_node_steward") ? " (this node is one)" : "");
    out_ << fmt::format("{:<16} {}\n", "membership", str(m, "this_org_state"));
    out_ << fmt::format("{:<16} {} hidden, {} erased, {} attestations ignored\n", "moderation",
                        num(m, "hidden_count"), num(m, "erased_count"), num(m, "ignored_count"));
  }
  if (o.contains("peers") && o.at("peers").is_object()) {
    const json::object& p = o.at("peers").as_object();
    auto port = p.find("listen_port");
    out_ << fmt::format("{:<16} {} linked, {} in sync, {} configured; {}\n", "peers", num(p, "connected"),
                        num(p, "in_sync"), num(p, "configured"),
                        port != p.end() && !port->value().is_null() ? "listening on port " + std::to_string(num(p, "listen_port"))
                                                                     : std::string("not listening"));
  }
  if (auto p = o.find("publishing"); p != o.end() && p->value().is_object() && flag(p->value().as_object(), "paused"))
    out_ << fmt::format("{:<16} PAUSED: this node was {}; it resumes once a peer in sync confirms its feeds "
                        "(civnetctl resume-publishing --force lifts it)\n",
                        "publishing", str(p->value().as_object(), "reason"));
  return kExitOk;
}

int Ctl::feeds() {
  json::object o;
  if (auto done = fetchOrPrint("GET", "/v1/feeds", "", o)) return *done;
  out_ << fmt::format("{:<64}  {:>6}  {:<12}  {:<20}  {}\n", "FEED", "SEQ", "TIP", "LATEST", "NOTE");
  for (auto& v : o["feeds"].as_array()) {
    const json::object& t = v.as_object();
    std::string note = str(t, "hosted");
    if (t.contains("frozen") && t.at("frozen").is_bool() && t.at("frozen").as_bool())
      note += note.empty() ? "frozen" : ", frozen";
    out_ << fmt::format("{:<64}  {:>6}  {:<12}  {:<20}  {}\n", str(t, "feed"), num(t, "seq"), shortHex(str(t, "id")),
                        humanTime(num(t, "timestamp")), note);
  }
  return kExitOk;
}

int Ctl::publish() {
  std::string body;
  if (cmd_.body) {
    body = *cmd_.body;
  } else {
    auto b = readBodyFile(*cmd_.bodyFile);
    if (!b.ok()) return fail(kExitFailed, b.status().message());
    body = std::move(b).value();
  }
  json::array tags;
  for (auto& t : cmd_.tags) tags.emplace_back(t);
  json::object req{{"title", cmd_.title}, {"body", body}, {"tags", std::move(tags)}};
  if (cmd_.org) req["org"] = *cmd_.org;
  json::object o;
  Failure f;
  if (!callJson("POST", "/v1/publish", json::serialize(req), o, f)) return fail(f);
  if (cmd_.json) printJson(o);
  else out_ << str(o, "id") << "\n";
  return kExitOk;
}

int Ctl::entriesList() {
  std::string target = "/v1/entries?limit=" + std::to_string(cmd_.limit);
  if (cmd_.author) target += "&author=" + percentEncode(*cmd_.author);
  if (cmd_.tag) target += "&tag=" + percentEncode(*cmd_.tag);
  if (cmd_.kind) target += "&kind=" + percentEncode(*cmd_.kind);
  json::object o;
  if (auto done = fetchOrPrint("GET", target, "", o)) return *done;
  const json::array& entries = o["entries"].as_array();
  if (entries.empty()) {
    err_ << "no entries\n";
    return kExitOk;
  }
  printEntries(entries);
  return kExitOk;
}

void Ctl::printEntries(const json::array& entries) {
  out_ << fmt::format("{:<12}  {:<12}  {:>5}  {:<10}  {:<20}  {:<40}  {}\n", "ID", "AUTHOR", "SEQ", "KIND", "TIME",
                      "TITLE", "TAGS");
  for (auto& v : entries) {
    const json::object& e = v.as_object();
    out_ << fmt::format("{:<12}  {:<12}  {:>5}  {:<10}  {:<20}  {:<40}  {}\n", shortHex(str(e, "id")),
                        shortHex(str(e, "author")), num(e, "seq"), str(e, "kind"), humanTime(num(e, "timestamp")),
                        clip(displayTitle(e), 40), joinTags(e));
  }
}

int Ctl::search() {
  std::string target = "/v1/search?q=" + percentEncode(cmd_.query) + "&limit=" + std::to_string(cmd_.limit);
  if (cmd_.author) target += "&author=" + percentEncode(*cmd_.author);
  if (cmd_.tag) target += "&tag=" + percentEncode(*cmd_.tag);
  json::object o;
  if (auto done = fetchOrPrint("GET", target, "", o)) return *done;
  const json::array& entries = o["entries"].as_array();
  if (entries.empty()) {
    err_ << "no posts match\n";
    return kExitOk;
  }
  printEntries(entries);
  if (o["more"].is_bool() && o["more"].as_bool())
    err_ << fmt::format("(more posts match than these {}: raise --limit, up to 1000)\n", cmd_.limit);
  return kExitOk;
}

std::optional<int> Ctl::fetchOrPrint(const std::string& method, const std::string& target, const std::string& body,
                                     json::object& out) {
  Failure f;
  if (!callJson(method, target, body, out, f)) return fail(f);
  if (cmd_.json) {
    printJson(out);
    return kExitOk;
  }
  return std::nullopt;
}

int Ctl::reindex() {
  json::object job;
  Failure f;
  if (!followJob("/v1/jobs/reindex", "reindexing", "arrivals", job, f)) return fail(f);
  if (str(job, "state") != "done" || !job.contains("result") || !job.at("result").is_object())
    return fail(kExitFailed, "reindex failed: " + str(job, "error"));
  if (cmd_.json) {
    printJson(job.at("result"));
    return kExitOk;
  }
  const json::object& o = job.at("result").as_object();
  out_ << fmt::format("reindexed {} entries; membership view rebuilt: {} feeds known, {} hidden, {} erased\n",
                      num(o, "entries"), num(o, "feeds_known"), num(o, "hidden"), num(o, "erased"));
  if (o.contains("search_documents"))
    out_ << fmt::format("search index rebuilt: {} posts\n", num(o, "search_documents"));
  return kExitOk;
}

int Ctl::entriesShow() {
  json::object e;
  if (auto done = fetchOrPrint("GET", "/v1/entries/" + cmd_.id, "", e)) return *done;
  auto row = [&](const char* name, const std::string& value) { out_ << fmt::format("{:<10} {}\n", name, value); };
  row("id", str(e, "id"));
  row("author", str(e, "author"));
  row("seq", std::to_string(num(e, "seq")));
  row("kind", str(e, "kind"));
  row("time", humanTime(num(e, "timestamp")));
  bool present = e.contains("content_present") && e.at("content_present").is_bool() && e.at("content_present").as_bool();
  row("content", present ? std::to_string(num(e, "content_size")) + " bytes" : "absent");
  // Shown to people only with a warning: the node hides or erased it.
  if (flag(e, "erased")) row("erased", "yes: its content was erased (a tombstone is kept)");
  else if (!str(e, "hidden").empty()) row("hidden", str(e, "hidden") + " (not shown to members)");
  if (str(e, "kind") == "post") {
    row("title", str(e, "title"));
    row("tags", joinTags(e));
    if (present) out_ << "\n" << str(e, "body") << "\n";
  } else if (str(e, "kind") == "profile" && e.contains("profile") && e.at("profile").is_object()) {
    const json::object& p = e.at("profile").as_object();
    row("name", str(p, "name"));
    if (p.contains("nodes") && p.at("nodes").is_array())
      for (auto& n : p.at("nodes").as_array())
        if (n.is_object()) row("node", str(n.as_object(), "node_key"));
  }
  if (e.contains("content_error")) row("error", str(e, "content_error"));
  return kExitOk;
}

// Starts a job (POST `target`) and follows it to its end, with a progress
// bar on stderr when that is a terminal; `job` is then the finished job.
bool Ctl::followJob(const std::string& target, const std::string& doing, const std::string& unit, json::object& job,
                    Failure& f) {
  if (!callJson("POST", target, "", job, f)) return false;
  const std::string id = str(job, "job");
  const bool bar = !cmd_.json && ::isatty(STDERR_FILENO);
  while (str(job, "state") == "running") {
    if (bar) {
      std::int64_t done = num(job, "done"), total = num(job, "total");
      int width = 30;
      int filled = total > 0 ? static_cast<int>(width * std::min(done, total) / total) : 0;
      err_ << fmt::format("\r{} [{}{}] {}/{} {}", doing, std::string(static_cast<std::size_t>(filled), '#'),
                          std::string(static_cast<std::size_t>(width - filled), ' '), done, total, unit)
           << std::flush;
    }
    std::this_thread::sleep_for(kJobPollInterval);  // polling a job's progress, not waiting for a guess
    if (!callJson("GET", "/v1/jobs/" + id, "", job, f)) {
      if (bar) err_ << "\n";
      return false;
    }
  }
  if (bar) err_ << "\r\033[K";
  return true;
}

int Ctl::verify() {
  json::object job;
  Failure f;
  if (!followJob("/v1/jobs/verify", "verifying", "entries", job, f)) return fail(f);
  if (str(job, "state") != "done" || !job.contains("result") || !job.at("result").is_object())
    return fail(kExitFailed, "verify failed: " + str(job, "error"));
  const json::object& r = job.at("result").as_object();
  bool ok = r.contains("ok") && r.at("ok").is_bool() && r.at("ok").as_bool();
  if (cmd_.json) {
    printJson(job);
  } else {
    out_ << fmt::format("verified {} feeds, {} entries ({} signatures, {} contents checked): {}\n", num(r, "feeds"),
                        num(r, "entries"), num(r, "signatures_checked"), num(r, "content_checked"),
                        ok ? "ok" : "PROBLEMS FOUND");
    if (r.contains("problems") && r.at("problems").is_array())
      for (auto& p : r.at("problems").as_array())
        if (p.is_string()) out_ << "  " << std::string(p.as_string()) << "\n";
  }
  if (!ok) {
    err_ << "civnetctl: verify found problems in the store\n";
    return kExitFailed;
  }
  return kExitOk;
}

int Ctl::exportFile() {
  const fs::path out = cmd_.file;
  NewFile file(out);
  if (auto st = file.open(0644); !st.ok()) return fail(kExitFailed, st.message());
  std::uint64_t entries = 0, bytes = 0;
  std::string cursor;
  for (;;) {
    std::string target = "/v1/export";
    if (!cursor.empty()) target += "?after=" + cursor;
    Failure f;
    auto page = call("GET", target, "", "application/json", &f);
    if (!page.ok()) return fail(f);
    if (auto st = file.write(page->body); !st.ok()) return fail(kExitFailed, st.message());
    bytes += page->body.size();
    entries += std::strtoull(page->headers["civnet-entries"].c_str(), nullptr, 10);
    auto next = page->headers.find("civnet-next-cursor");
    if (next == page->headers.end() || next->second.empty()) break;
    if (next->second == cursor) return fail(kExitFailed, "civnetd's export did not advance");
    cursor = next->second;
  }
  if (auto st = file.commit(); !st.ok()) return fail(kExitFailed, st.message());
  if (cmd_.json)
    printJson(json::object{{"file", out.string()}, {"entries", entries}, {"bytes", bytes}});
  else
    out_ << fmt::format("exported {} entries ({} bytes) to {}\n", entries, bytes, out.string());
  return kExitOk;
}

// The backup streams from civnetd into the file (or stdout); the same
// reader civnetd restore uses checks it on the way, so a file that is
// kept is whole: its end record and digest were seen.
int Ctl::backup() {
  const bool toStdout = cmd_.file == "-";
  std::optional<NewFile> file;
  if (!toStdout) {
    file.emplace(cmd_.file);
    if (auto st = file->open(0600); !st.ok()) return fail(kExitFailed, st.message());
  }
  backup::BackupHeader header;
  backup::Reader check({[&](const backup::BackupHeader& h) {
                          header = h;
                          return Status{};
                        },
                        {},
                        {}});
  auto reply = client_.stream("/v1/backup", [&](std::string_view piece) -> Status {
    if (auto st = check.feed(piece); !st.ok()) return st.withContext("the backup civnetd sent is damaged");
    if (toStdout) {
      std::cout.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      if (!std::cout) return ioError("writing the backup to stdout failed");
      return {};
    }
    return file->write(piece);
  });
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::unavailable)
      return fail(kExitUnreachable, "cannot reach civnetd at " + cmd_.socketPath +
                                        " (is it running? start it with: civnetd run --data-dir " + cmd_.dataDir + ")");
    return fail(kExitFailed, "backup failed, nothing kept: " + reply.status().message());
  }
  if (reply->status != 200) return fail(kExitFailed, "backup failed: " + apiError(*reply));
  if (auto st = check.finish(); !st.ok()) return fail(kExitFailed, "backup failed, nothing kept: " + st.message());
  if (toStdout) {
    std::cout.flush();
    if (!std::cout) return fail(kExitFailed, "writing the backup to stdout failed");
  } else if (auto st = file->commit(); !st.ok()) {
    return fail(kExitFailed, st.message());
  }
  // With the backup on stdout, the summary goes to stderr.
  std::ostream& say = toStdout ? err_ : out_;
  if (cmd_.json)
    say << json::serialize(json::object{{"file", cmd_.file},
                                        {"bytes", check.bytes()},
                                        {"network_id", header.network.hex()},
                                        {"node_key", header.nodeKey.hex()},
                                        {"feeds", header.feeds},
                                        {"entries", header.entries},
                                        {"frontier_digest", header.frontier.hex()},
                                        {"files", check.files()},
                                        {"store_rows", check.rows()},
                                        {"created_ms", header.createdMs}})
        << "\n";
  else
    say << fmt::format("backed up {} entries in {} feeds ({} store rows, {} files, {} bytes) to {}\n"
                       "frontier digest {}\n"
                       "it holds the node's private keys: keep it as safe as them\n"
                       "restore it with: civnetd restore --data-dir NEW_EMPTY_DIR {}\n",
                       header.entries, header.feeds, check.rows(), check.files(), check.bytes(),
                       toStdout ? "stdout" : cmd_.file, header.frontier.hex(), toStdout ? "FILE" : cmd_.file);
  return kExitOk;
}

int Ctl::reload() {
  json::object r;
  Failure f;
  if (!callJson("POST", "/v1/reload", "{}", r, f)) {
    if (f.code == kExitFailed) f.message = "reload refused, the configuration in force is kept: " + f.message;
    return fail(f);
  }
  if (cmd_.json) {
    printJson(r);
    return kExitOk;
  }
  const auto it = r.find("changes");
  if (it == r.end() || !it->value().is_array() || it->value().as_array().empty()) {
    out_ << "civnetd.toml read again: nothing changed\n";
    return kExitOk;
  }
  for (const auto& line : it->value().as_array())
    if (line.is_string()) out_ << std::string(line.as_string()) << "\n";
  return kExitOk;
}

int Ctl::resumePublishing() {
  json::object st;
  Failure f;
  if (!cmd_.force) {
    if (!callJson("GET", "/v1/status", "", st, f)) return fail(f);
    auto p = st.find("publishing");
    const bool paused = p != st.end() && p->value().is_object() && flag(p->value().as_object(), "paused");
    if (cmd_.json) {
      printJson(p != st.end() ? p->value() : json::value(json::object{{"paused", false}}));
      return paused ? kExitFailed : kExitOk;
    }
    if (!paused) {
      out_ << "publishing is not paused: nothing to do\n";
      return kExitOk;
    }
    return fail(kExitFailed, "publishing is paused: this node was " + str(p->value().as_object(), "reason") +
                                ". It resumes by itself once a peer in sync confirms this node's feeds. Lift it now "
                                "only if nothing was published after the backup (else the feeds fork and freeze): "
                                "civnetctl resume-publishing --force");
  }
  json::object r;
  if (auto done = fetchOrPrint("POST", "/v1/publishing/resume", "{}", r)) return *done;
  if (flag(r, "resumed"))
    out_ << "publishing resumed (it was paused: this node was " << str(r, "was") << ")\n";
  else
    out_ << "publishing was not paused: nothing to do\n";
  return kExitOk;
}

int Ctl::importFile() {
  const std::string& path = cmd_.file;
  // First pass: the whole file must be sound before anything is sent, so a
  // truncated or corrupt file imports nothing.
  std::uint64_t frames = 0;
  {
    std::error_code ec;
    if (fs::is_directory(path, ec)) return fail(kExitFailed, path + " is a directory, not an export file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(kExitFailed, "cannot read " + path + ": " + std::strerror(errno));
    record::FrameReader reader(in);
    for (;;) {
      std::uint64_t at = reader.bytesRead();
      auto frame = reader.next();
      if (!frame.ok())
        return fail(kExitFailed, path + ": " + frame.status().message() + "; nothing was imported");
      if (!frame.value()) break;
      record::SignedEntry se;
      record::Check c = record::decodeFrame(**frame, se);
      record::Entry parsed;
      if (c.ok()) c = record::parseEntry(std::move(se), parsed);
      if (!c.ok())
        return fail(kExitFailed, fmt::format("{}: frame {} at byte {} is not a valid entry: {}: {}; nothing was imported",
                                             path, frames + 1, at, record::toString(c.verdict), c.detail));
      ++frames;
    }
    if (in.bad()) return fail(kExitFailed, "error reading " + path);
  }
  // Most likely the wrong file, or an export that failed: not a success.
  if (frames == 0) return fail(kExitFailed, path + " is empty: nothing to import");

  // The node's limit on an import body, so every batch fits; and its
  // stewards, whose feeds are sent first: their admissions decide whether
  // the other feeds are members, as when a peer sends them.
  std::size_t batchBytes = kImportBatchBytes;
  std::set<std::string> stewards;
  {
    json::object st;
    Failure f;
    if (!callJson("GET", "/v1/status", "", st, f)) return fail(f);
    std::int64_t limit = num(st, "max_import_bytes");
    batchBytes = std::min(batchBytes, limit > 0 ? static_cast<std::size_t>(limit) : kLeastImportLimit);
    if (st.contains("membership") && st.at("membership").is_object()) {
      const json::object& m = st.at("membership").as_object();
      if (m.contains("stewards") && m.at("stewards").is_array())
        for (const auto& k : m.at("stewards").as_array())
          if (k.is_string()) stewards.insert(std::string(k.as_string()));
    }
  }
  auto fromSteward = [&](const Bytes& frame) {
    record::SignedEntry se;
    record::Header h;
    return record::decodeFrame(frame, se).ok() && record::decodeHeader(se.header, h).ok() &&
           stewards.count(h.author.hex()) > 0;
  };

  // Then send batches of whole frames: stewards' feeds in a first round,
  // the others in a second.
  std::uint64_t stored = 0, duplicates = 0, filled = 0;
  json::array refused;
  std::string batch;
  auto send = [&]() -> bool {
    if (batch.empty()) return true;
    Failure f;
    auto reply = call("POST", "/v1/import", batch, "application/octet-stream", &f);
    batch.clear();
    if (!reply.ok()) {
      fail(f);
      return false;
    }
    json::error_code ec;
    json::value v = json::parse(reply->body, ec);
    if (ec || !v.is_object()) {
      fail(kExitFailed, "civnetd's answer to an import is not a JSON object");
      return false;
    }
    const json::object& o = v.as_object();
    stored += static_cast<std::uint64_t>(num(o, "stored"));
    duplicates += static_cast<std::uint64_t>(num(o, "duplicates"));
    filled += static_cast<std::uint64_t>(num(o, "content_filled"));
    if (o.contains("refused") && o.at("refused").is_array())
      for (auto& r : o.at("refused").as_array()) refused.push_back(r);
    return true;
  };
  for (bool stewardRound : {true, false}) {
    if (stewardRound && stewards.empty()) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(kExitFailed, "cannot read " + path + ": " + std::strerror(errno));
    record::FrameReader reader(in);
    for (;;) {
      auto frame = reader.next();
      if (!frame.ok()) return fail(kExitFailed, path + " changed while importing: " + frame.status().message());
      if (!frame.value()) break;
      const Bytes& b = **frame;
      if (!stewards.empty() && fromSteward(b) != stewardRound) continue;
      if (!batch.empty() && batch.size() + b.size() > batchBytes && !send()) return kExitFailed;
      batch.append(reinterpret_cast<const char*>(b.data()), b.size());
    }
    if (!send()) return kExitFailed;
  }

  // Each refused item is a run; "entries" says how many it held (a node
  // that does not say is counted one per run).
  auto runEntries = [](const json::value& r) -> std::uint64_t {
    if (!r.is_object() || !r.as_object().contains("entries")) return 1;
    return static_cast<std::uint64_t>(num(r.as_object(), "entries"));
  };
  std::uint64_t refusedEntries = 0;
  for (auto& r : refused) refusedEntries += runEntries(r);
  if (cmd_.json) {
    printJson(json::object{{"file", path},
                           {"entries", frames},
                           {"stored", stored},
                           {"duplicates", duplicates},
                           {"content_filled", filled},
                           {"refused_entries", refusedEntries},
                           {"refused", refused}});
  } else {
    std::string line = fmt::format("imported {}: {} entries, {} stored, {} duplicates, {} refused", path, frames,
                                   stored, duplicates, refusedEntries);
    if (refused.size() == 1 && refused.front().is_object())
      line += fmt::format(" (1 run): {}: {}", str(refused.front().as_object(), "verdict"),
                          str(refused.front().as_object(), "detail"));
    else if (refused.size() > 1)
      line += fmt::format(" ({} runs)", refused.size());
    out_ << line << "\n";
  }
  for (auto& r : refused) {
    if (!r.is_object()) continue;
    const json::object& o = r.as_object();
    std::uint64_t n = runEntries(r);
    err_ << fmt::format("civnetctl: refused {} {} of feed {} from seq {}: {}: {}\n", n, n == 1 ? "entry" : "entries",
                        shortHex(str(o, "feed")), num(o, "seq"), str(o, "verdict"), str(o, "detail"));
  }
  return refused.empty() ? kExitOk : kExitFailed;
}

int Ctl::membersList() {
  std::string target = "/v1/members";
  char sep = '?';
  auto add = [&](const char* name, const std::optional<std::string>& v) {
    if (!v) return;
    target += sep + std::string(name) + "=" + percentEncode(*v);
    sep = '&';
  };
  add("region", cmd_.region);
  add("label", cmd_.label);
  add("state", cmd_.state);
  json::object o;
  if (auto done = fetchOrPrint("GET", target, "", o)) return *done;
  const std::int64_t k = num(o, "threshold");
  err_ << fmt::format("steward set epoch {}: {} stewards, k = {}\n", num(o, "epoch"), listSize(o, "stewards"), k);
  if (!o.contains("members") || !o.at("members").is_array() || o.at("members").as_array().empty()) {
    err_ << "no members\n";
    return kExitOk;
  }
  out_ << fmt::format("{:<12}  {:<30}  {:<20}  {:<14}  {:<8}  {}\n", "FEED", "ORGANIZATION", "REGION", "STATE",
                      "ADMITTED", "LABELS");
  for (auto& v : o.at("members").as_array()) {
    if (!v.is_object()) continue;
    const json::object& m = v.as_object();
    std::string state = str(m, "state");
    if (state == "suspended" || state == "revoked")
      state += " @" + numOrDash(m, state == "revoked" ? "revoked_after" : "suspended_after");
    out_ << fmt::format("{:<12}  {:<30}  {:<20}  {:<14}  {:<8}  {}\n", shortHex(str(m, "feed_key")),
                        clip(str(m, "name"), 30), clip(str(m, "region"), 20), state,
                        fmt::format("{}/{}", listSize(m, "admitted_by"), k), joinList(m, "labels"));
  }
  return kExitOk;
}

int Ctl::membersShow() {
  json::object m;
  if (auto done = fetchOrPrint("GET", "/v1/members/" + cmd_.key, "", m)) return *done;
  auto row = [&](const char* name, const std::string& value) { out_ << fmt::format("{:<16} {}\n", name, value); };
  row("feed key", str(m, "feed_key"));
  row("organization", str(m, "name"));
  row("region", str(m, "region"));
  if (!str(m, "country").empty()) row("country", str(m, "country"));
  row("labels", joinList(m, "labels"));
  row("focus areas", joinList(m, "focus_areas"));
  row("state", flag(m, "steward") ? std::string("steward (a feed of the steward set in force)") : str(m, "state"));
  row("admitted by", fmt::format("{} of k = {}: {}", listSize(m, "admitted_by"), num(m, "threshold"),
                                 joinList(m, "admitted_by", true)));
  auto exp = m.find("expires_at");
  if (exp != m.end() && !exp->value().is_null()) row("expires", humanTime(num(m, "expires_at")));
  if (listSize(m, "revoked_by") > 0) row("revoked by", joinList(m, "revoked_by", true));
  if (numOrDash(m, "suspended_after") != "-") row("suspended after", "seq " + numOrDash(m, "suspended_after"));
  if (numOrDash(m, "revoked_after") != "-") row("revoked after", "seq " + numOrDash(m, "revoked_after"));
  if (!str(m, "pin_state").empty()) row("pin", str(m, "pin_state"));
  row("held", "up to seq " + numOrDash(m, "held_seq"));
  if (m.contains("profile") && m.at("profile").is_object()) {
    // What the organization says of itself (the lines above are the stewards').
    const json::object& p = m.at("profile").as_object();
    std::string hosts;
    if (p.contains("nodes") && p.at("nodes").is_array())
      for (const auto& n : p.at("nodes").as_array())
        if (n.is_object()) hosts += (hosts.empty() ? "" : ", ") + shortHex(str(n.as_object(), "node_key"));
    row("profile name", str(p, "name"));
    if (!str(p, "contact").empty()) row("contact", str(p, "contact"));
    row("hosted by", hosts.empty() ? "-" : hosts);
  }
  return kExitOk;
}

int Ctl::steward(const std::string& target, const json::object& body,
                 const std::function<std::string(const json::object&)>& line) {
  json::object o;
  Failure f;
  if (!callJson("POST", target, json::serialize(body), o, f)) return fail(f);
  if (cmd_.json) printJson(o);
  else out_ << line(o) << "\n";
  return kExitOk;
}

int Ctl::admit() {
  json::object body{{"feed_key", cmd_.key}, {"name", cmd_.name}, {"region", *cmd_.region}};
  if (cmd_.country) body["country"] = *cmd_.country;
  json::array labels, focus;
  for (auto& l : cmd_.labels) labels.emplace_back(l);
  for (auto& x : cmd_.focusAreas) focus.emplace_back(x);
  body["labels"] = std::move(labels);
  body["focus_areas"] = std::move(focus);
  if (cmd_.expiresAt) body["expires_at"] = *cmd_.expiresAt;
  return steward("/v1/admit", body, [&](const json::object& o) {
    std::string line = fmt::format("admitted {} (\"{}\"): entry {} seq {}; the feed is now {}", shortHex(cmd_.key),
                                   cmd_.name, shortHex(str(o, "id")), num(o, "seq"), str(o, "state"));
    if (!str(o, "note").empty()) line += "\nnote: " + str(o, "note");
    return line;
  });
}

int Ctl::stewardSet() {
  json::array stewards, pins;
  for (const auto& k : cmd_.stewards) stewards.emplace_back(k);
  for (const auto& p : cmd_.pins)
    pins.push_back(json::object{{"feed", p.substr(0, 64)}, {"seq", std::stoull(p.substr(65))}});
  json::object body{{"stewards", std::move(stewards)}, {"threshold", cmd_.threshold}, {"pins", std::move(pins)}};
  return steward("/v1/steward-set", body, [&](const json::object& o) {
    return fmt::format("signed steward set epoch {} (entry {} seq {}): {} of the {} signatures it needs from the "
                       "current set are here; the set in force is epoch {}",
                       num(o, "epoch"), shortHex(str(o, "id")), num(o, "seq"), num(o, "signatures"),
                       num(o, "signatures_needed"), num(o, "in_force_epoch"));
  });
}

int Ctl::revoke() {
  json::object body{{"feed_key", cmd_.key}, {"reason", *cmd_.reason}};
  if (cmd_.afterSeq) body["after_seq"] = *cmd_.afterSeq;
  return steward("/v1/revoke", body, [&](const json::object& o) {
    return fmt::format("revoked {} after seq {}: entry {} seq {}; the feed is now {}", shortHex(str(o, "feed_key")),
                       num(o, "pin_seq"), shortHex(str(o, "id")), num(o, "seq"), str(o, "state"));
  });
}

int Ctl::lift() {
  return steward("/v1/lift", json::object{{"feed_key", cmd_.key}}, [&](const json::object& o) {
    return fmt::format("lifted {} revocation(s) of {}: last entry {} seq {}; the feed is now {}", listSize(o, "lifts"),
                       shortHex(str(o, "feed_key")), shortHex(str(o, "id")), num(o, "seq"), str(o, "state"));
  });
}

int Ctl::takedown() {
  json::object body{{"reason", *cmd_.reason}};
  if (cmd_.author) {
    body["author"] = *cmd_.author;
    body["seq"] = *cmd_.seq;
    body["id"] = cmd_.id;
  } else {
    body["entry_id"] = cmd_.id;
  }
  return steward("/v1/takedown", body, [&](const json::object& o) {
    std::string target = shortHex(cmd_.id);
    if (o.contains("target") && o.at("target").is_object()) target = shortHex(str(o.at("target").as_object(), "id"));
    return fmt::format("took down {}: entry {} seq {}; the target is {}", target, shortHex(str(o, "id")),
                       num(o, "seq"), str(o, "effect"));
  });
}

int Ctl::retract() {
  json::object body{{"entry_id", cmd_.id}};
  if (cmd_.reason) body["reason"] = *cmd_.reason;
  return steward("/v1/retract", body, [&](const json::object& o) {
    std::string target = shortHex(cmd_.id);
    if (o.contains("target") && o.at("target").is_object()) target = shortHex(str(o.at("target").as_object(), "id"));
    return fmt::format("retracted {}: entry {} seq {}{}", target, shortHex(str(o, "id")), num(o, "seq"),
                       flag(o, "erased") ? "; its content is erased" : "");
  });
}

int Ctl::orgsList() {
  json::object o;
  if (auto done = fetchOrPrint("GET", "/v1/orgs", "", o)) return *done;
  out_ << fmt::format("{:<64}  {:<30}  {:<9}  {:>7}  {}\n", "FEED", "ORGANIZATION", "STATE", "ENTRIES", "NOTE");
  if (!o.contains("orgs") || !o.at("orgs").is_array()) return kExitOk;
  for (auto& v : o.at("orgs").as_array()) {
    if (!v.is_object()) continue;
    const json::object& org = v.as_object();
    std::string state = str(org, "state");
    out_ << fmt::format("{:<64}  {:<30}  {:<9}  {:>7}  {}\n", str(org, "feed_key"), clip(str(org, "name"), 30),
                        state.empty() ? "-" : state, num(org, "entries"),
                        flag(org, "primary") ? "made by civnetd init" : "");
  }
  return kExitOk;
}

int Ctl::accountsList() {
  json::object o;
  if (auto done = fetchOrPrint("GET", "/v1/accounts", "", o)) return *done;
  if (!o.contains("accounts") || !o.at("accounts").is_array() || o.at("accounts").as_array().empty()) {
    err_ << "no accounts (add one with: civnetctl accounts add HANDLE --name NAME)\n";
    return kExitOk;
  }
  out_ << fmt::format("{:<20}  {:<24}  {:<24}  {:<6}  {:<8}  {}\n", "HANDLE", "NAME", "ORGANIZATION", "ROLE", "STATE",
                      "NOTE");
  for (auto& v : o.at("accounts").as_array()) {
    if (!v.is_object()) continue;
    const json::object& a = v.as_object();
    const std::string org = str(a, "org_name").empty() ? shortHex(str(a, "org")) : str(a, "org_name");
    out_ << fmt::format("{:<20}  {:<24}  {:<24}  {:<6}  {:<8}  {}\n", str(a, "handle"), clip(str(a, "name"), 24),
                        clip(org, 24), flag(a, "admin") ? "admin" : "member",
                        flag(a, "disabled") ? "disabled" : "enabled",
                        flag(a, "must_change_password") ? "must change the password" : "");
  }
  return kExitOk;
}

// accounts add, disable, reset: with --password-stdin the password is the
// first line of standard input; a generated one is printed once.
int Ctl::accountsChange(const std::string& method, const std::string& target, json::object body) {
  if (cmd_.passwordStdin) {
    std::string pw;
    if (!std::getline(std::cin, pw) || pw.empty())
      return fail(kExitUsage, "--password-stdin: standard input holds no password (one line)");
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    body["password"] = pw;
  }
  json::object o;
  Failure f;
  if (!callJson(method, target, json::serialize(body), o, f)) return fail(f);
  if (cmd_.json) {
    printJson(o);
    return kExitOk;
  }
  const std::string who = fmt::format("{} ({})", str(o, "handle"), str(o, "name"));
  if (cmd_.verb == CtlVerb::accountsAdd)
    out_ << fmt::format("added account {} of {}{}\n", who,
                        str(o, "org_name").empty() ? shortHex(str(o, "org")) : str(o, "org_name"),
                        flag(o, "admin") ? ", an admin" : "");
  else if (cmd_.verb == CtlVerb::accountsDisable)
    out_ << fmt::format("disabled account {}: it cannot log in until a reset\n", who);
  else
    out_ << fmt::format("reset the password of {}{}\n", who, flag(o, "disabled") ? "" : "; the account is enabled");
  if (o.contains("password"))
    out_ << fmt::format("password: {}\n(shown once: give it to the member, who is asked to change it at first login)\n",
                        str(o, "password"));
  return kExitOk;
}

int Ctl::orgsAdd() {
  json::object o;
  Failure f;
  if (!callJson("POST", "/v1/orgs", json::serialize(json::object{{"name", cmd_.name}}), o, f)) return fail(f);
  if (cmd_.json) {
    printJson(o);
    return kExitOk;
  }
  out_ << fmt::format("now hosting \"{}\"\nfeed key {}\n", str(o, "name"), str(o, "feed_key"));
  err_ << fmt::format("its membership: {}; send the feed key to the network's stewards, who admit it with:\n"
                      "  civnetctl admit {} --name \"{}\" --region REGION\n",
                      str(o, "state"), str(o, "feed_key"), str(o, "name"));
  return kExitOk;
}

// Exit 0 healthy, 1 degraded, 2 down: what monitoring scripts expect.
int Ctl::health() {
  json::object o;
  Failure f;
  if (!callJson("GET", "/v1/health", "", o, f)) {
    if (f.code != kExitUnreachable) return fail(f);
    if (cmd_.json) printJson(json::object{{"status", "down"}, {"reasons", json::array{json::value(f.message)}}});
    else out_ << "down\n  " << f.message << "\n";
    return 2;
  }
  const bool healthy = str(o, "status") == "healthy";
  if (cmd_.json) {
    printJson(o);
  } else {
    out_ << str(o, "status") << "\n";
    for (const auto& r : o["reasons"].as_array()) out_ << "  " << std::string(r.as_string()) << "\n";
  }
  return healthy ? kExitOk : 1;
}

// The exposition as it is (--json does not apply: it is a text format).
int Ctl::metrics() {
  Failure f;
  auto reply = call("GET", "/metrics", "", "", &f);
  if (!reply.ok()) return fail(f);
  if (!cmd_.json) {
    out_ << reply->body;
    return kExitOk;
  }
  // --json: {"metrics": [{"name", "labels": {...}, "value"}]}, one per sample.
  json::array samples;
  std::istringstream in(reply->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    std::string head = line.substr(0, space);
    json::object labels;
    if (const auto brace = head.find('{'); brace != std::string::npos && head.back() == '}') {
      std::string_view rest = std::string_view(head).substr(brace + 1, head.size() - brace - 2);
      while (!rest.empty()) {
        const auto eq = rest.find("=\"");
        if (eq == std::string_view::npos) break;
        std::string key(rest.substr(0, eq)), value;
        std::size_t i = eq + 2;
        for (; i < rest.size() && rest[i] != '"'; ++i) {
          if (rest[i] == '\\' && i + 1 < rest.size()) {
            ++i;
            value += rest[i] == 'n' ? '\n' : rest[i];
          } else {
            value += rest[i];
          }
        }
        labels[key] = value;
        rest.remove_prefix(std::min(rest.size(), i + 1));
        if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
      }
      head.resize(brace);
    }
    samples.push_back(json::object{{"name", head},
                                   {"labels", std::move(labels)},
                                   {"value", std::strtoull(line.c_str() + space + 1, nullptr, 10)}});
  }
  printJson(json::object{{"metrics", std::move(samples)}});
  return kExitOk;
}

int Ctl::orgsProfile() {
  json::object req;
  if (cmd_.org) req["org"] = *cmd_.org;
  if (cmd_.region) req["region"] = *cmd_.region;
  if (cmd_.country) req["country"] = *cmd_.country;
  if (cmd_.contact) req["contact"] = *cmd_.contact;
  auto list = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& x : v) a.emplace_back(x);
    return a;
  };
  if (!cmd_.focusAreas.empty()) req["focus_areas"] = list(cmd_.focusAreas);
  if (!cmd_.labels.empty()) req["labels"] = list(cmd_.labels);
  json::object o;
  if (auto done = fetchOrPrint("POST", "/v1/orgs/profile", json::serialize(req), o)) return *done;
  auto joined = [&](const char* key) {
    std::string out;
    for (const auto& v : o[key].as_array()) out += (out.empty() ? "" : ", ") + std::string(v.as_string());
    return out.empty() ? std::string("-") : out;
  };
  auto text = [&](const char* key) {
    std::string v = str(o, key);
    return v.empty() ? std::string("-") : v;
  };
  out_ << fmt::format("{:<12} {}\n{:<12} {}\n{:<12} {}\n{:<12} {}\n{:<12} {}\n{:<12} {}\n{:<12} {}\n", "name",
                      text("name"), "feed key", str(o, "feed_key"), "region", text("region"), "country", text("country"),
                      "focus areas", joined("focus_areas"), "labels", joined("labels"), "contact", text("contact"));
  if (o["published"].is_bool() && o["published"].as_bool())
    err_ << "published: every member node shows this in its directory once it syncs\n";
  return kExitOk;
}

int Ctl::peersList() {
  json::object o;
  if (auto done = fetchOrPrint("GET", "/v1/peers", "", o)) return *done;
  auto port = o.find("listen_port");
  out_ << (port != o.end() && !port->value().is_null() ? fmt::format("listening for peers on port {}\n", num(o, "listen_port"))
                                                       : std::string("not listening for peers\n"));
  if (!o.contains("peers") || !o.at("peers").is_array() || o.at("peers").as_array().empty()) {
    err_ << "no peers (add one with: civnetctl peers add HOST:PORT KEY)\n";
    return kExitOk;
  }
  out_ << fmt::format("{:<12}  {:<24}  {:<21}  {:<7}  {:<10}  {:>8}  {:>8}  {}\n", "PEER", "ORGANIZATION", "ADDRESS",
                      "SOURCE", "STATE", "SENT", "RECEIVED", "NOTE");
  for (auto& v : o.at("peers").as_array()) {
    if (!v.is_object()) continue;
    const json::object& p = v.as_object();
    std::string state = str(p, "state");
    if (state == "connected" && flag(p, "in_sync")) state = "in sync";
    std::vector<std::string> notes;
    if (num(p, "forged") > 0) notes.push_back(fmt::format("{} forged", num(p, "forged")));
    if (num(p, "refused_again") > 0) notes.push_back(fmt::format("{} resent after a nack", num(p, "refused_again")));
    if ((state == "waiting" || state == "connecting") && !str(p, "last_error").empty())
      notes.push_back(str(p, "last_error"));
    const std::string note = fmt::format("{}", fmt::join(notes, "; "));
    std::string orgs = joinList(p, "organizations");
    out_ << fmt::format("{:<12}  {:<24}  {:<21}  {:<7}  {:<10}  {:>8}  {:>8}  {}\n", shortHex(str(p, "key")),
                        clip(orgs.empty() ? "-" : orgs, 24), clip(str(p, "address"), 21), str(p, "source"), state,
                        num(p, "entries_sent"), num(p, "entries_received"), note);
  }
  return kExitOk;
}

int Ctl::peersAdd() {
  json::object o;
  Failure f;
  if (!callJson("POST", "/v1/peers", json::serialize(json::object{{"address", cmd_.address}, {"key", cmd_.key}}), o, f))
    return fail(f);
  if (cmd_.json) printJson(o);
  else out_ << fmt::format("added peer {} at {}; civnetd dials it now and after every restart\n", shortHex(str(o, "key")),
                           str(o, "address"));
  return kExitOk;
}

int Ctl::peersRemove() {
  json::object o;
  Failure f;
  if (!callJson("DELETE", "/v1/peers/" + cmd_.key, "", o, f)) return fail(f);
  if (cmd_.json) printJson(o);
  else out_ << fmt::format("removed peer {}\n", shortHex(str(o, "key")));
  return kExitOk;
}

int Ctl::sync() {
  json::object o;
  Failure f;
  if (!callJson("POST", "/v1/sync", "", o, f)) return fail(f);
  if (!cmd_.wait) {
    if (cmd_.json) printJson(o);
    else out_ << fmt::format("dialing every peer now: {} of {} linked, {} in sync\n", num(o, "connected"), num(o, "peers"),
                             num(o, "in_sync"));
    return kExitOk;
  }
  const bool bar = !cmd_.json && ::isatty(STDERR_FILENO);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cmd_.timeoutSeconds);
  std::int64_t linked = 0, inSync = 0, total = 0;
  json::object peers;
  while (true) {
    if (!callJson("GET", "/v1/peers", "", peers, f)) return fail(f);
    linked = inSync = total = 0;
    if (peers.contains("peers") && peers.at("peers").is_array())
      for (auto& v : peers.at("peers").as_array()) {
        if (!v.is_object()) continue;
        ++total;
        linked += str(v.as_object(), "state") == "connected";
        inSync += str(v.as_object(), "state") == "connected" && flag(v.as_object(), "in_sync");
      }
    if (linked > 0 && inSync == linked) break;
    if (bar) err_ << fmt::format("\rsync: {} of {} peers linked, {} in sync", linked, total, inSync) << std::flush;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (bar) err_ << "\n";
      return fail(kExitFailed, linked == 0 ? fmt::format("no peer linked after {} s (civnetctl peers list says why)",
                                                         cmd_.timeoutSeconds)
                                           : fmt::format("not in sync after {} s: {} of {} linked peers in sync",
                                                         cmd_.timeoutSeconds, inSync, linked));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling the node's state
  }
  if (bar) err_ << "\r\033[K";
  if (cmd_.json) printJson(peers);
  else out_ << fmt::format("in sync with {} linked peer{} (of {})\n", linked, linked == 1 ? "" : "s", total);
  // Configured peers that are not linked: in sync with the others only.
  for (auto& v : peers.at("peers").as_array()) {
    if (!v.is_object()) continue;
    const json::object& p = v.as_object();
    const std::string source = str(p, "source");
    if (str(p, "state") == "connected" || (source != "config" && source != "added")) continue;
    err_ << fmt::format("note: peer {} at {} is not linked ({}){}\n", shortHex(str(p, "key")), str(p, "address"),
                        str(p, "state"), str(p, "last_error").empty() ? "" : ": " + str(p, "last_error"));
  }
  return kExitOk;
}

int runCtl(const CtlCommand& cmd, std::ostream& out, std::ostream& err) {
  return Ctl(cmd, out, err).run();
}

}  // namespace civnet::tools

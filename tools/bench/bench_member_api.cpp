// Benchmark 7 of docs/performance.md: the member API under load. One member,
// logged in over HTTPS as the web interface is, searches posts and reads
// list pages over C keep-alive connections at once (default 32, the most a
// node serves from one address) until N requests are answered:
//   - half are text searches, GET /api/entries?q=WORD&limit=20, the words
//     taken from the titles and excerpts of the node's 50 newest posts so
//     that they find something;
//   - half are list pages, GET /api/entries?limit=20: the first page, and
//     one time in four the page after it (through the previous page's
//     next_cursor).
// A request's latency runs from the start of its write to the end of its
// answer; the connections are open and the session made before the clock
// starts. Prints one line with the requests per second and each kind's p50
// and p99 in ms (with --json, one JSON object instead). Any answer but 200
// fails the run (exit 1), as does a failed login.
//
// The node must hold the posts already (benchmark 7's size is 100,000, all
// indexed) and an account with a password of its own, e.g.
//   civnetctl accounts add bench --name "Bench" --password-stdin
// The client runs on the node's machine and takes some of its cores.
//
//   bench_member_api --port PORT --ca DATA_DIR/keys/web.crt --handle H --password P
//                    [--host 127.0.0.1] [--connections 32] [--requests 20000] [--json]
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "schemas/status.hpp"

namespace {

using namespace civnet;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
using Stream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

constexpr auto kTimeout = std::chrono::seconds(30);        // a connect, handshake or request taking longer fails
constexpr std::uint64_t kMaxReplyBytes = 8 * 1024 * 1024;  // far above a page of 100 posts
constexpr std::size_t kNodeConnectionLimit = 32;           // per client address (docs/member-api.md)
constexpr std::size_t kMaxWords = 64;
constexpr std::size_t kFollowEvery = 4;  // one list page in so many is a following page
constexpr std::string_view kSessionCookie = "__Host-civnet";
constexpr const char* kSearchPage = "/api/entries?limit=20&q=";
constexpr const char* kListPage = "/api/entries?limit=20";

struct Args {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string ca;
  std::string handle;
  std::string password;
  std::size_t connections = 32;
  std::size_t requests = 20000;
  bool json = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_member_api: " << why
            << "\nusage: bench_member_api --port PORT --ca CERT_PEM --handle H --password P [--host 127.0.0.1]"
               " [--connections 32] [--requests 20000] [--json]\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    auto number = [&](std::size_t max) -> std::size_t {
      const std::string v = value();
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end != '\0' || n == 0 || n > max)
        usage(k + " must be a number from 1 to " + std::to_string(max) + ", got \"" + v + "\"");
      return static_cast<std::size_t>(n);
    };
    if (k == "--port") a.port = static_cast<std::uint16_t>(number(65535));
    else if (k == "--ca") a.ca = value();
    else if (k == "--handle") a.handle = value();
    else if (k == "--password") a.password = value();
    else if (k == "--host") a.host = value();
    else if (k == "--connections") a.connections = number(1024);
    else if (k == "--requests") a.requests = number(100'000'000);
    else if (k == "--json") a.json = true;
    else usage("unknown argument " + k);
  }
  if (a.port == 0) usage("--port is required (civnetctl status shows http_port)");
  if (a.ca.empty()) usage("--ca is required (the node's DATA_DIR/keys/web.crt)");
  if (a.handle.empty() || a.password.empty()) usage("--handle and --password are required");
  if (a.host.empty()) usage("--host must not be empty");
  return a;
}

// --- HTTP over TLS ---

struct Reply {
  unsigned status = 0;
  std::string body;
  std::string session;  // the session cookie's value, if the reply sets one
};

// "401 {"error": ...}", cut short: for messages.
std::string describe(const Reply& r) {
  constexpr std::size_t kMax = 300;
  return std::to_string(r.status) + " " + (r.body.size() > kMax ? r.body.substr(0, kMax) + "..." : r.body);
}

std::string sessionCookieOf(const http::response<http::string_body>& res) {
  const std::string prefix = std::string(kSessionCookie) + "=";
  const auto [from, to] = res.equal_range(http::field::set_cookie);
  for (auto f = from; f != to; ++f) {
    const std::string_view v = f->value();
    if (v.starts_with(prefix)) return std::string(v.substr(prefix.size(), v.find(';') - prefix.size()));
  }
  return {};
}

// Query-string encoding: every byte but the unreserved ones as %XX.
std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// One keep-alive HTTPS connection to the node, one request at a time, each
// step with a deadline. Its stream lives on a strand of its own, so the load
// phase may run the io_context on several threads; only one coroutine at a
// time uses a connection.
class Connection {
 public:
  Connection(asio::io_context& ioc, ssl::context& tls) : stream_(asio::make_strand(ioc), tls) {}

  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Connects to host:port and checks that the node's certificate (signed by
  // the --ca file) names `host`.
  awaitable<Status> open(std::string host, std::uint16_t port) {
    auto& lowest = beast::get_lowest_layer(stream_);
    tcp::resolver resolver(stream_.get_executor());
    auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), kAsTuple);
    if (rec) co_return unavailable("resolving " + host + ": " + rec.message());
    lowest.expires_after(kTimeout);
    auto [cec, ep] = co_await lowest.async_connect(endpoints, kAsTuple);
    if (cec) co_return unavailable("connecting to " + host + ":" + std::to_string(port) + ": " + cec.message());
    stream_.set_verify_callback(ssl::host_name_verification(host));
    auto [hec] = co_await stream_.async_handshake(ssl::stream_base::client, kAsTuple);
    lowest.expires_never();
    if (hec) co_return unavailable("TLS handshake with " + host + ":" + std::to_string(port) + ": " + hec.message());
    co_return Status();
  }

  // Sends `req` and reads its whole answer.
  awaitable<Result<Reply>> send(http::request<http::string_body> req) {
    auto& lowest = beast::get_lowest_layer(stream_);
    const std::string what = std::string(req.method_string()) + " " + std::string(req.target());
    lowest.expires_after(kTimeout);
    auto [wec, wn] = co_await http::async_write(stream_, req, kAsTuple);
    if (wec) co_return ioError(what + ": sending: " + wec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxReplyBytes);
    auto [rec, rn] = co_await http::async_read(stream_, buffer_, parser, kAsTuple);
    lowest.expires_never();
    if (rec) co_return ioError(what + ": reading the answer: " + rec.message());
    auto& res = parser.get();
    Reply r{res.result_int(), std::move(res.body()), sessionCookieOf(res)};
    if (!res.keep_alive()) closed_ = true;
    co_return r;
  }

  // True once the node said it closes the connection after its answer.
  bool closed() const { return closed_; }

 private:
  Stream stream_;
  beast::flat_buffer buffer_;
  bool closed_ = false;
};

// What every request carries: where it goes and the session.
struct Session {
  std::string authority;  // the Host header, HOST:PORT
  std::string cookie;     // the session cookie's value
};

http::request<http::string_body> getRequest(const Session& s, std::string target) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, s.authority);
  req.set(http::field::cookie, std::string(kSessionCookie) + "=" + s.cookie);
  return req;
}

// --- The member API's answers ---

// A page of GET /api/entries, as much of it as this program uses.
struct Page {
  std::vector<std::string> ids;
  std::vector<std::string> texts;  // each post's title and excerpt
  std::optional<std::string> next;
};

Result<Page> parsePage(std::string_view body) {
  const Status bad = invalidArgument("the answer is not {\"entries\": [...], \"next_cursor\": ...}");
  json::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return bad;
  const auto* entries = v.as_object().if_contains("entries");
  const auto* next = v.as_object().if_contains("next_cursor");
  if (!entries || !entries->is_array() || !next || !(next->is_string() || next->is_null())) return bad;
  Page p;
  for (const auto& e : entries->as_array()) {
    const auto* o = e.if_object();
    const auto* id = o ? o->if_contains("id") : nullptr;
    const auto* title = o ? o->if_contains("title") : nullptr;
    if (!id || !id->is_string() || !title || !title->is_string()) return bad;
    p.ids.emplace_back(id->as_string());
    std::string text(title->as_string());
    if (const auto* ex = o->if_contains("excerpt"); ex && ex->is_string()) text += " " + std::string(ex->as_string());
    p.texts.push_back(std::move(text));
  }
  if (next->is_string()) p.next = std::string(next->as_string());
  return p;
}

// Words to search for: runs of 4 to 20 ASCII letters, lower-cased, in the
// order met, each once; a run touching another byte (a digit, a letter
// beyond ASCII, the "…" that ends a cut excerpt) is left out.
std::vector<std::string> searchWords(const std::vector<std::string>& texts) {
  std::vector<std::string> words;
  std::set<std::string> seen;
  auto isLetter = [](unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto isGap = [](unsigned char c) { return c < 0x80 && !std::isalnum(c); };
  for (const std::string& t : texts) {
    for (std::size_t i = 0; i < t.size() && words.size() < kMaxWords;) {
      std::size_t j = i;
      while (j < t.size() && !isGap(static_cast<unsigned char>(t[j]))) ++j;
      const std::string_view run(t.data() + i, j - i);
      const bool letters =
          std::all_of(run.begin(), run.end(), [&](char c) { return isLetter(static_cast<unsigned char>(c)); });
      if (letters && run.size() >= 4 && run.size() <= 20) {
        std::string w(run);
        std::transform(w.begin(), w.end(), w.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (seen.insert(w).second) words.push_back(std::move(w));
      }
      i = j + 1;
    }
  }
  return words;
}

void warn(const std::string& what) { std::cerr << "bench_member_api: warning: " << what << "\n"; }

// POST /api/login: the session, or why there is none.
awaitable<Result<std::string>> logIn(Connection& c, std::string authority, std::string handle, std::string password) {
  http::request<http::string_body> req{http::verb::post, "/api/login", 11};
  req.set(http::field::host, authority);
  req.set(http::field::content_type, "application/json");
  req.body() = json::serialize(json::object{{"handle", handle}, {"password", password}});
  req.prepare_payload();
  auto reply = co_await c.send(std::move(req));
  if (!reply.ok()) co_return reply.status();
  if (reply->status != 200) co_return permissionDenied("logging in as " + handle + ": " + describe(*reply));
  json::error_code ec;
  const json::value v = json::parse(reply->body, ec);
  const auto* must = ec || !v.is_object() ? nullptr : v.as_object().if_contains("must_change_password");
  if (!must || !must->is_bool())
    co_return internalError("logging in as " + handle + ": unexpected answer " + describe(*reply));
  if (must->as_bool())
    co_return refused("the account " + handle +
                      " must choose its own password before it may read posts (must_change_password): give it one"
                      " with civnetctl accounts reset " + handle + " --password-stdin");
  if (reply->session.empty())
    co_return internalError("logging in as " + handle + ": the answer sets no session cookie");
  co_return std::move(reply->session);
}

// GET `target` as a page of posts.
awaitable<Result<Page>> getPage(Connection& c, Session s, std::string target) {
  auto reply = co_await c.send(getRequest(s, target));
  if (!reply.ok()) co_return reply.status();
  if (reply->status != 200) co_return unavailable("GET " + target + ": " + describe(*reply));
  auto page = parsePage(reply->body);
  if (!page.ok()) co_return page.status().withContext("GET " + target);
  co_return page;
}

// --- Before the clock: log in, look, connect ---

struct Plan {
  Session session;
  std::vector<std::string> words;  // to search for, in turn
};

// The node's newest posts: the words to search for, and a check that the
// page after them neither repeats them nor fails and that a search answers.
// With no post yet (a node still catching up), it searches for common
// words; a warning says so.
awaitable<Result<std::vector<std::string>>> findWords(Connection& c, Session s) {
  auto first = co_await getPage(c, s, "/api/entries?limit=50");
  if (!first.ok()) co_return first.status();
  std::vector<std::string> words = searchWords(first->texts);
  if (first->ids.empty()) warn("the node lists no posts: the searches look for common words and find nothing");
  if (words.empty()) words = {"water", "health", "training", "report"};
  if (first->next) {
    auto second = co_await getPage(c, s, std::string(kListPage) + "&cursor=" + percentEncode(*first->next));
    if (!second.ok()) co_return second.status().withContext("the page after the first");
    const std::set<std::string> shown(first->ids.begin(), first->ids.end());
    for (const auto& id : second->ids)
      if (shown.count(id)) co_return corruption("the page after the first repeats post " + id);
  }
  auto found = co_await getPage(c, s, kSearchPage + percentEncode(words.front()));
  if (!found.ok()) co_return found.status();
  if (found->ids.empty() && !first->ids.empty())
    warn("searching for \"" + words.front() + "\", a word of the newest posts, finds nothing: is the search index"
         " still being built?");
  co_return words;
}

// Opens every connection, logs in on the first and finds the words to
// search for. `conns` and `plan` outlive it (main waits for it).
awaitable<Status> prepare(Args args, std::vector<std::unique_ptr<Connection>>* conns, Plan* plan) {
  plan->session.authority =
      (args.host.find(':') != std::string::npos ? "[" + args.host + "]" : args.host) + ":" + std::to_string(args.port);
  for (std::size_t i = 0; i < conns->size(); ++i) {
    Status st = co_await (*conns)[i]->open(args.host, args.port);
    if (!st.ok())
      co_return st.withContext(
          "connection " + std::to_string(i + 1) +
          (i >= kNodeConnectionLimit ? " (a node serves at most 32 connections from one address)" : ""));
    if (i > 0) continue;
    auto cookie = co_await logIn(*(*conns)[0], plan->session.authority, args.handle, args.password);
    if (!cookie.ok()) co_return cookie.status();
    plan->session.cookie = std::move(cookie).value();
    auto words = co_await findWords(*(*conns)[0], plan->session);
    if (!words.ok()) co_return words.status();
    plan->words = std::move(words).value();
  }
  co_return Status();
}

// --- The timed part ---

enum class Kind { search, list };

// What the connections share while they run: the next request's number
// and the first failure. Safe from any thread.
class Run {
 public:
  explicit Run(std::size_t requests) : requests_(requests) {}

  // The next request to send, or nullopt once all are taken.
  std::optional<std::size_t> take() {
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    return i < requests_ ? std::optional<std::size_t>(i) : std::nullopt;
  }
  void fail(std::string what) {
    std::lock_guard lk(mu_);
    if (!firstFailure_) firstFailure_ = std::move(what);
  }
  std::optional<std::string> firstFailure() const {
    std::lock_guard lk(mu_);
    return firstFailure_;
  }

 private:
  const std::size_t requests_;
  std::atomic<std::size_t> next_{0};
  mutable std::mutex mu_;
  std::optional<std::string> firstFailure_;
};

// One connection's answered requests: their latencies in ms.
struct Samples {
  std::vector<double> searchMs, listMs;
  std::size_t answered() const { return searchMs.size() + listMs.size(); }
};

// The target of request `i`: even ones search (the words in turn), odd ones
// list, a following page every kFollowEvery-th time there is a cursor.
std::string targetOf(std::size_t i, const Plan& plan, std::size_t& lists, const std::optional<std::string>& cursor) {
  if (i % 2 == 0) return kSearchPage + percentEncode(plan.words[(i / 2) % plan.words.size()]);
  if (++lists % kFollowEvery == 0 && cursor) return std::string(kListPage) + "&cursor=" + percentEncode(*cursor);
  return kListPage;
}

// Sends requests taken from `run` over `c` until none is left or the
// connection fails; an answer but 200 is a failure, and so is a list page
// that is not one. `c`, `plan`, `run` and `out` outlive it (main waits for
// every connection's coroutine).
awaitable<void> drive(Connection& c, const Plan& plan, Run& run, Samples& out) {
  std::size_t lists = 0;
  std::optional<std::string> cursor;  // of this connection's last list page
  while (auto i = run.take()) {
    if (c.closed()) {
      run.fail("the node closed a connection after an answer");
      co_return;
    }
    const Kind kind = *i % 2 == 0 ? Kind::search : Kind::list;
    const std::string target = targetOf(*i, plan, lists, cursor);
    const auto start = Clock::now();
    auto reply = co_await c.send(getRequest(plan.session, target));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!reply.ok()) {
      run.fail(reply.status().message());
      co_return;  // the connection is broken; the others take the rest
    }
    if (reply->status != 200) {
      run.fail("GET " + target + ": " + describe(*reply));
      continue;
    }
    if (kind == Kind::list) {
      auto page = parsePage(reply->body);
      if (!page.ok()) {
        run.fail("GET " + target + ": " + page.status().message());
        continue;
      }
      cursor = page->next;
    }
    (kind == Kind::search ? out.searchMs : out.listMs).push_back(ms);
  }
}

// Runs every connection's coroutine to its end, on up to one thread per
// core; the wall-clock time it took.
Clock::duration runAll(asio::io_context& ioc, std::vector<std::unique_ptr<Connection>>& conns, const Plan& plan,
                       Run& run, std::vector<Samples>& samples) {
  ioc.restart();
  const auto start = Clock::now();
  for (std::size_t i = 0; i < conns.size(); ++i)
    asio::co_spawn(conns[i]->executor(), drive(*conns[i], plan, run, samples[i]), [&run](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        run.fail(std::string("bug: a connection's coroutine threw: ") + x.what());
      }
    });
  const std::size_t threads = std::min<std::size_t>(conns.size(), std::max(1u, std::thread::hardware_concurrency()));
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back([&ioc] { ioc.run(); });
  }
  return Clock::now() - start;
}

// --- Results ---

// The q-quantile by nearest rank; nullopt for no sample.
std::optional<double> percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

struct Summary {
  std::size_t requests = 0, connections = 0, errors = 0;
  double requestsPerS = 0;
  std::optional<double> searchP50, searchP99, listP50, listP99;
};

Summary summarize(const Args& args, const std::vector<Samples>& samples, Clock::duration took) {
  std::vector<double> search, list;
  for (const Samples& s : samples) {
    search.insert(search.end(), s.searchMs.begin(), s.searchMs.end());
    list.insert(list.end(), s.listMs.begin(), s.listMs.end());
  }
  Summary r;
  r.requests = args.requests;
  r.connections = args.connections;
  const std::size_t answered = search.size() + list.size();
  r.errors = args.requests - answered;
  r.requestsPerS = static_cast<double>(answered) / std::chrono::duration<double>(took).count();
  r.searchP50 = percentile(search, 0.50);
  r.searchP99 = percentile(search, 0.99);
  r.listP50 = percentile(list, 0.50);
  r.listP99 = percentile(list, 0.99);
  return r;
}

std::string ms(const std::optional<double>& v) {
  if (!v) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", *v);
  return buf;
}

json::value jsonMs(const std::optional<double>& v) {
  if (!v) return nullptr;
  return std::round(*v * 1000) / 1000;
}

void print(const Summary& s, bool asJson) {
  if (asJson) {
    std::cout << json::serialize(json::object{{"requests", s.requests},
                                              {"connections", s.connections},
                                              {"requests_per_s", std::llround(s.requestsPerS)},
                                              {"search_p50_ms", jsonMs(s.searchP50)},
                                              {"search_p99_ms", jsonMs(s.searchP99)},
                                              {"list_p50_ms", jsonMs(s.listP50)},
                                              {"list_p99_ms", jsonMs(s.listP99)},
                                              {"errors", s.errors}})
              << "\n";
    return;
  }
  std::printf("member-api: %zu requests over %zu connections: %.0f requests/s; search p50 %s ms p99 %s ms; "
              "list p50 %s ms p99 %s ms; errors %zu\n",
              s.requests, s.connections, s.requestsPerS, ms(s.searchP50).c_str(), ms(s.searchP99).c_str(),
              ms(s.listP50).c_str(), ms(s.listP99).c_str(), s.errors);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  ssl::context tls(ssl::context::tls_client);
  boost::system::error_code ec;
  tls.load_verify_file(args.ca, ec);
  if (ec) usage("--ca: cannot load a certificate from " + args.ca + ": " + ec.message());
  tls.set_verify_mode(ssl::verify_peer);

  asio::io_context ioc;
  std::vector<std::unique_ptr<Connection>> conns;
  for (std::size_t i = 0; i < args.connections; ++i) conns.push_back(std::make_unique<Connection>(ioc, tls));

  Plan plan;
  Status ready = internalError("bug: setting up did not finish");
  asio::co_spawn(ioc, prepare(args, &conns, &plan), [&ready](std::exception_ptr e, Status st) {
    ready = e ? internalError("bug: setting up threw") : std::move(st);
  });
  ioc.run();
  if (!ready.ok()) {
    std::cerr << "bench_member_api: " << ready.message() << "\n";
    return 1;
  }

  Run run(args.requests);
  std::vector<Samples> samples(conns.size());
  const Clock::duration took = runAll(ioc, conns, plan, run, samples);
  const Summary summary = summarize(args, samples, took);
  print(summary, args.json);
  if (summary.errors > 0) {
    std::cerr << "bench_member_api: " << summary.errors << " of " << summary.requests
              << " requests failed; the first: " << run.firstFailure().value_or("(none recorded)") << "\n";
    return 1;
  }
  return 0;
}

// The peer network: TLS links, sessions and the peer manager (see
// peer_network.hpp). Everything here runs on the one network thread, except
// the ingest of runs (a worker thread) and the public methods, which post to
// the network thread and wait for the answer.
#include "peer_network.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "federation/membership_tracker.hpp"
#include "federation/tcp_bytes.hpp"
#include "schemas/framing.hpp"

namespace civnet::federation {
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
namespace {

constexpr auto kAsTuple = asio::as_tuple(use_awaitable);
constexpr auto kShutdownGrace = std::chrono::seconds(2);
constexpr int kMaxPingsPerSecond = 10;  // more from one peer is a flood
constexpr std::ptrdiff_t kMaxHandshakesPerAddress = 8;  // TLS handshakes in progress from one IP
constexpr std::size_t kMaxQueuedBytes = 32 * 1024 * 1024;  // unread by a peer: it is dropped

std::string errorText(const boost::system::error_code& ec) {
  if (ec == asio::error::eof) return "the peer closed the connection";
  return ec.message();
}

// The Ed25519 key in the peer's certificate, if it presented one.
std::optional<PublicKey> peerKeyOf(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return std::nullopt;
  std::optional<PublicKey> out;
  EVP_PKEY* pk = X509_get0_pubkey(cert);
  if (pk && EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519) {
    PublicKey k;
    std::size_t len = k.bytes.size();
    if (EVP_PKEY_get_raw_public_key(pk, k.bytes.data(), &len) == 1 && len == k.bytes.size()) out = k;
  }
  X509_free(cert);
  return out;
}

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

}  // namespace

std::string PeerAddress::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<PeerAddress> parsePeerAddress(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return invalidArgument("address \"" + std::string(text.substr(0, 100)) + "\": " + why +
                           " (give HOST:PORT, e.g. 192.0.2.7:" + std::to_string(kDefaultPeerPort) + ")");
  };
  PeerAddress a;
  std::string_view port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("an IPv6 address needs the form [ADDRESS]:PORT");
    a.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return bad(!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos ? "no host"
                                                                                                   : "no port");
    a.host = std::string(text.substr(0, colon));
    if (a.host.find(':') != std::string::npos) return bad("an IPv6 address must be in brackets");
    port = text.substr(colon + 1);
  }
  if (a.host.empty()) return bad("no host");
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || p != port.data() + port.size() || port.empty() || value > 65535)
    return bad("the port must be a number from 0 to 65535");
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

Result<PeerAddress> parseDialAddress(std::string_view text) {
  auto a = parsePeerAddress(text);
  if (a.ok() && a->port == 0)
    return invalidArgument("peer address \"" + std::string(text.substr(0, 100)) +
                           "\": port 0 cannot be dialed; give the port the peer listens on");
  return a;
}

namespace {

struct Dialer;

// One TLS link and its sync session.
struct Conn {
  Conn(asio::io_context& ioc, ssl::context& ctx, tcp::socket s)
      : stream(std::move(s), ctx), wake(ioc), ping(ioc) {}
  ssl::stream<tcp::socket> stream;
  asio::steady_timer wake;  // the writer waits on it
  asio::steady_timer ping;
  bool outbound = false;
  std::optional<PublicKey> configured;
  std::string remote;  // address text
  std::string remoteIp;
  std::optional<PublicKey> peerKey;
  std::unique_ptr<SyncPeer> sync;
  std::deque<Bytes> queue;
  bool announced = false;  // established and logged
  bool closing = false;    // flush the queue, then close
  bool closed = false;
  Clock::time_point lastReceived = Clock::now();
  Clock::time_point pingWindow = Clock::now();  // when the current count of pings began
  int pingsInWindow = 0;
  std::size_t queuedBytes = 0;
  bool busy = false;  // a run or proof is being applied: the reader is waiting on the store
  std::optional<Clock::time_point> writing;  // since when the current write waits for the peer
  std::string error;  // why the link ended, once it did
  std::uint64_t bytesIn = 0, bytesOut = 0;   // message bytes
  WireBytes handshakeWire, wire;  // TCP payload at the handshake's end, and last sampled
  Clock::time_point madeAt = Clock::now();
  std::optional<Clock::time_point> lastInSync;  // last seen in sync (the writer looks when it goes idle)
};

struct Dialer {
  explicit Dialer(asio::io_context& ioc, PeerConfig c) : cfg(std::move(c)), timer(ioc) {}
  PeerConfig cfg;
  asio::steady_timer timer;
  bool removed = false;
  int failures = 0;
  std::string state = "connecting";
  std::string lastError;
  std::string software;
  SyncPeer::Counters last;
  std::uint64_t lastBytesIn = 0, lastBytesOut = 0;  // of the last link
  WireBytes lastHandshakeWire, lastWire;
  bool discovered = false;  // found in a member's profile, not configured
  std::weak_ptr<Conn> conn;  // the link it dialed, from the TLS handshake on
};

}  // namespace

class PeerNetwork::Impl {
 public:
  Impl(SyncNode n, const PrivateKey& key, std::string certPem, NetworkOptions o, std::shared_ptr<spdlog::logger> l)
      : node(std::move(n)), opt(std::move(o)), log(std::move(l)), self(key.publicKey()), forceClose(ioc) {
    boost::system::error_code ec;
    ctx.use_certificate_chain(asio::buffer(certPem), ec);
    if (!ec) {
      std::string pem = key.toPem();
      ctx.use_private_key(asio::buffer(pem), ssl::context::pem, ec);
      std::fill(pem.begin(), pem.end(), '\0');
    }
    if (ec) {
      setupError = "loading the node's TLS certificate and key: " + ec.message();
      return;
    }
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx.native_handle(), 0);  // no TLS 1.3 session tickets either
    SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_max_early_data(ctx.native_handle(), 0);
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Self-signed certificates: the key is checked after the handshake, so
    // every chain is fine here (and this runs twice for one certificate).
    ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  }

  SyncNode node;
  NetworkOptions opt;
  std::shared_ptr<spdlog::logger> log;
  PublicKey self;
  std::string setupError;

  asio::io_context ioc;
  ssl::context ctx{ssl::context::tlsv13};
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  asio::thread_pool ingestPool{1};
  std::thread thread;
  std::optional<tcp::acceptor> acceptor;
  std::optional<std::uint16_t> port;
  asio::steady_timer forceClose;
  asio::steady_timer discoverTimer{ioc};

  std::map<PublicKey, std::shared_ptr<Dialer>> dialers;
  std::set<std::shared_ptr<Conn>> conns;
  std::set<std::shared_ptr<Conn>> handshaking;  // not in conns yet
  struct Ban {
    int forged = 0;
    Clock::time_point until;
  };
  std::map<std::string, Ban> bans;
  std::mt19937_64 rng{std::random_device{}()};
  bool stopping = false;

  std::mutex lifeMu;
  bool running = false;
  bool stopped = false;

  // Runs `f` on the network thread and returns its result (directly when
  // the thread is not running).
  template <typename F>
  auto onNetworkThread(F f) -> decltype(f()) {
    {
      std::lock_guard lk(lifeMu);
      if (!running) return f();
    }
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(ioc, [&task] { task(); });
    return fut.get();
  }

  std::string who(const Conn& c) const {
    return c.peerKey ? "peer " + c.peerKey->shortHex() + " (" + c.remote + ")" : "peer at " + c.remote;
  }

  std::shared_ptr<Conn> liveWith(const PublicKey& key) const {
    for (const auto& c : conns)
      if (c->peerKey == key && !c->closed && c->announced) return c;
    return nullptr;
  }
  // Inbound links, those still in their TLS handshake included.
  std::size_t inbound() const {
    auto in = [](const auto& c) { return !c->outbound && !c->closed; };
    return static_cast<std::size_t>(std::count_if(conns.begin(), conns.end(), in) +
                                    std::count_if(handshaking.begin(), handshaking.end(), in));
  }

  void wakeDialer(const PublicKey& key) {
    if (auto it = dialers.find(key); it != dialers.end()) it->second->timer.cancel();
  }

  void closeNow(Conn& c) {
    if (c.closed) return;
    c.closed = c.closing = true;
    sampleWire(c);  // the link's last counts, while the socket can still say
    boost::system::error_code ec;
    c.stream.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
    c.stream.lowest_layer().close(ec);
    c.wake.cancel();
    c.ping.cancel();
  }
  void beginClose(Conn& c) {
    c.closing = true;
    c.wake.cancel();
  }

  void send(Conn& c, const peerwire::Message& m) {
    if (c.closed) return;
    if (c.queue.size() >= opt.maxQueuedMessages || c.queuedBytes > kMaxQueuedBytes) {
      c.error = "the peer does not read: " + std::to_string(c.queue.size()) + " messages (" +
                std::to_string(c.queuedBytes) + " bytes) are waiting for it";
      log->warn("{}: dropped: {}", who(c), c.error);
      closeNow(c);
      return;
    }
    c.queue.push_back(peerwire::encode(m));
    c.queuedBytes += c.queue.back().size();
    c.wake.cancel();
  }

  void countForged(Conn& c) {
    if (c.outbound || c.remoteIp.empty()) return;
    Ban& b = bans[c.remoteIp];
    if (++b.forged >= opt.banAfterForged) {
      b.until = Clock::now() + opt.banFor;
      b.forged = 0;
      log->warn("{}: sent forged input {} times: its address is refused for {} s", who(c), opt.banAfterForged,
                opt.banFor.count());
    }
  }
  bool banned(const std::string& ip) {
    auto it = bans.find(ip);
    return it != bans.end() && Clock::now() < it->second.until;
  }

  void onEstablished(const std::shared_ptr<Conn>& c) {
    c->announced = true;
    // At most one link per peer: the one the lower node key dialed stays.
    for (const auto& other : conns) {
      if (other == c || other->closing || !other->announced || other->peerKey != c->peerKey) continue;
      auto dialedBy = [&](const Conn& x) { return x.outbound ? self : *x.peerKey; };
      Conn& loser = dialedBy(*other) < dialedBy(*c) ? *c : *other;
      loser.error = "a second link with the same peer; the one the lower node key dialed stays";
      log->debug("{}: closing a duplicate link", who(loser));
      send(loser, peerwire::Goodbye{peerwire::GoodbyeReason::normal, "duplicate link"});
      beginClose(loser);
    }
    if (c->closing) return;
    log->info("{} connected ({}, {})", who(*c), c->outbound ? "dialed by this node" : "dialed by the peer",
              c->sync->peerSoftware());
  }

  // Runs a store write (an ingest, a fork proof) on the worker thread and
  // comes back to the network thread with its result.
  awaitable<store::IngestResult> onWorker(std::function<store::IngestResult()> work) {
    auto home = co_await asio::this_coro::executor;
    co_await asio::post(asio::bind_executor(ingestPool, use_awaitable));
    store::IngestResult r = work();
    co_await asio::post(asio::bind_executor(home, use_awaitable));
    co_return r;
  }

  // Carries out what a session step asks for: messages to send, a run to
  // ingest or a proof to apply (off this thread; their outcome is the next
  // step), the end of the link.
  awaitable<void> handle(std::shared_ptr<Conn> c, SyncPeer::Step step) {
    for (;;) {
      if (!c->announced && c->sync->established()) onEstablished(c);
      c->wake.cancel();  // a message may have given the writer something to push
      for (const auto& m : step.send) send(*c, m);
      if (step.notice) log->warn("{}: {}", who(*c), *step.notice);
      std::optional<SyncPeer::Step> next;
      if (!step.ingest.empty() && !c->closing) {
        c->busy = true;
        store::IngestResult r = co_await onWorker([&] { return node.store->ingest(step.ingest); });
        c->busy = false;
        c->lastReceived = Clock::now();  // the link was alive while the store worked
        if (stopping || c->closed) co_return;
        next = c->sync->afterIngest(r, step.ingest);
      } else if (step.forkProof && !c->closing) {
        c->busy = true;
        store::IngestResult r = co_await onWorker([&] { return node.store->applyForkProof(*step.forkProof); });
        c->busy = false;
        c->lastReceived = Clock::now();
        if (stopping || c->closed) co_return;
        if (r.verdict == record::Verdict::accepted) log->warn("{}: {}", who(*c), r.detail);
        next = c->sync->afterForkProof(r);
      }
      if (step.close) {
        c->error = std::string("this node ended it: ") + peerwire::toString(step.close->reason) + ": " +
                   step.close->detail;
        if (step.close->reason == peerwire::GoodbyeReason::forged) countForged(*c);
        log->warn("{}: refused: {}: {}", who(*c), peerwire::toString(step.close->reason), step.close->detail);
        send(*c, *step.close);
        beginClose(*c);
      }
      if (step.peerEnded) {
        c->error = std::string("the peer ended it: ") + peerwire::toString(step.peerEnded->reason) + ": " +
                   step.peerEnded->detail;
        auto level =
            step.peerEnded->reason == peerwire::GoodbyeReason::normal ? spdlog::level::info : spdlog::level::warn;
        log->log(level, "{}: said goodbye: {}: {}", who(*c), peerwire::toString(step.peerEnded->reason),
                 step.peerEnded->detail);
        closeNow(*c);
      }
      if (!next) co_return;
      step = std::move(*next);
    }
  }

  void forged(Conn& c, const std::string& why) {
    c.error = "this node ended it: forged: " + why;
    log->warn("{}: refused: forged: {}", who(c), why);
    countForged(c);
    send(c, peerwire::Goodbye{peerwire::GoodbyeReason::forged, why});
    beginClose(c);
  }

  awaitable<void> reader(std::shared_ptr<Conn> c) {
    while (!c->closing) {
      Bytes frame(8);
      auto [e1, n1] = co_await asio::async_read(c->stream, asio::buffer(frame), kAsTuple);
      if (e1) {
        if (c->error.empty()) c->error = "connection lost: " + errorText(e1);
        co_return;
      }
      auto size = record::frameSize(frame, peerwire::kMaxMessageBytes);
      if (size.ok() && *size == 0) {
        // The segment table goes on past the first word.
        const std::size_t segments = std::size_t(le32(frame.data())) + 1;
        const std::size_t tableBytes = (4 * (segments + 1) + 7) / 8 * 8;
        frame.resize(tableBytes);
        auto [e2, n2] = co_await asio::async_read(c->stream, asio::buffer(frame.data() + 8, tableBytes - 8), kAsTuple);
        if (e2) {
          if (c->error.empty()) c->error = "connection lost: " + errorText(e2);
          co_return;
        }
        size = record::frameSize(frame, peerwire::kMaxMessageBytes);
      }
      if (!size.ok() || *size < frame.size()) {
        forged(*c, size.ok() ? "an impossible frame" : size.status().message());
        co_return;
      }
      const std::size_t have = frame.size();
      frame.resize(*size);
      if (*size > have) {
        auto [e3, n3] = co_await asio::async_read(c->stream, asio::buffer(frame.data() + have, *size - have), kAsTuple);
        if (e3) {
          if (c->error.empty()) c->error = "connection lost: " + errorText(e3);
          co_return;
        }
      }
      c->lastReceived = Clock::now();
      c->bytesIn += frame.size();
      auto msg = peerwire::decode(frame);
      if (!msg.ok() && msg.status().code() == StatusCode::unsupported) {
        // A newer peer's message: not forged, but this node cannot go on.
        c->error = "this node ended it: unknownMessage: " + msg.status().message();
        log->warn("{}: {}", who(*c), c->error);
        send(*c, peerwire::Goodbye{peerwire::GoodbyeReason::unknownMessage, msg.status().message()});
        beginClose(*c);
        co_return;
      }
      if (!msg.ok()) {
        forged(*c, msg.status().message());
        co_return;
      }
      if (std::holds_alternative<peerwire::Ping>(*msg)) {
        // An honest peer pings once per interval (at least a second); a
        // flood costs a Pong each.
        if (c->lastReceived - c->pingWindow > std::chrono::seconds(1)) {
          c->pingWindow = c->lastReceived;
          c->pingsInWindow = 0;
        }
        if (++c->pingsInWindow > kMaxPingsPerSecond) {
          c->error = "this node ended it: overloaded: a flood of pings";
          log->warn("{}: refused: a flood of pings ({} in a second)", who(*c), c->pingsInWindow);
          send(*c, peerwire::Goodbye{peerwire::GoodbyeReason::overloaded, "too many pings"});
          beginClose(*c);
          co_return;
        }
      }
      co_await handle(c, c->sync->onMessage(*msg));
    }
  }

  awaitable<void> writer(std::shared_ptr<Conn> c) {
    while (!c->closed) {
      Bytes out;
      if (!c->queue.empty()) {
        out = std::move(c->queue.front());
        c->queue.pop_front();
        c->queuedBytes -= out.size();
      } else if (c->closing) {
        break;
      } else if (c->sync->established() && !stopping) {
        if (auto e = c->sync->nextPush(opt.maxRunBytes)) out = peerwire::encode(*e);
      }
      if (out.empty()) {
        // Idle: nothing left to push. In sync too? (For the lag metric;
        // looked at most once a second.)
        const auto now = Clock::now();
        if (c->sync->established() && (!c->lastInSync || now - *c->lastInSync > std::chrono::seconds(1)) &&
            c->sync->inSync())
          c->lastInSync = now;
        c->wake.expires_at(Clock::time_point::max());
        co_await c->wake.async_wait(kAsTuple);
        continue;
      }
      c->writing = Clock::now();
      auto [ec, n] = co_await asio::async_write(c->stream, asio::buffer(out), kAsTuple);
      c->writing.reset();
      c->bytesOut += out.size();
      if (ec) {
        if (c->error.empty()) c->error = "connection lost: " + errorText(ec);
        break;
      }
    }
    closeNow(*c);
  }

  awaitable<void> pinger(std::shared_ptr<Conn> c) {
    std::uint64_t nonce = 0;
    while (!c->closing) {
      c->ping.expires_after(opt.pingInterval);
      co_await c->ping.async_wait(kAsTuple);
      if (c->closing) break;
      if (c->writing && Clock::now() - *c->writing > opt.deadAfter) {
        c->error = "the peer does not read: one message has waited " +
                   std::to_string(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - *c->writing).count()) +
                   " s to be taken";
        log->warn("{}: dropped: {}", who(*c), c->error);
        closeNow(*c);
        break;
      }
      if (!c->busy && Clock::now() - c->lastReceived > opt.deadAfter) {
        c->error = "no message for " +
                   std::to_string(std::chrono::duration_cast<std::chrono::seconds>(opt.deadAfter).count()) +
                   " s: the link is dead";
        log->info("{}: {}", who(*c), c->error);
        closeNow(*c);
        break;
      }
      send(*c, peerwire::Ping{++nonce});
      if (c->sync->established()) c->sync->retryDeferred();  // the writer is woken by the ping
    }
  }

  awaitable<void> runConn(std::shared_ptr<Conn> c) {
    asio::steady_timer t(ioc);
    t.expires_after(opt.handshakeTimeout);
    t.async_wait([c](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        c->stream.lowest_layer().close(ignored);
      }
    });
    handshaking.insert(c);
    auto [hec] = co_await c->stream.async_handshake(c->outbound ? ssl::stream_base::client : ssl::stream_base::server,
                                                     kAsTuple);
    handshaking.erase(c);
    t.cancel();
    if (stopping) {
      closeNow(*c);
      co_return;
    }
    if (hec) {
      if (!c->closed) c->error = "TLS handshake failed: " + errorText(hec);  // else: closed here, saying why
      log->info("{}: {}", who(*c), c->error);
      closeNow(*c);
      co_return;
    }
    c->handshakeWire = sampleWire(*c);
    c->peerKey = peerKeyOf(c->stream.native_handle());
    if (!c->peerKey) {
      c->error = "it presented no Ed25519 certificate";
      log->warn("{}: refused: {}", who(*c), c->error);
      closeNow(*c);
      co_return;
    }
    if (c->outbound && c->configured && *c->configured != *c->peerKey) {
      c->error = "it presented node key " + c->peerKey->hex() + ", not the configured " + c->configured->hex();
      log->warn("peer at {}: refused: {}", c->remote, c->error);
      send(*c, peerwire::Goodbye{peerwire::GoodbyeReason::notMember, "not the node key configured for this address"});
      beginClose(*c);
    }
    c->sync = std::make_unique<SyncPeer>(node, *c->peerKey, c->configured);
    conns.insert(c);
    // A peer has as long to send an acceptable Hello (and its profiles, if
    // asked) as to finish TLS.
    t.expires_after(opt.handshakeTimeout);
    t.async_wait([this, c](boost::system::error_code ec) {
      if (ec || c->announced || c->closed) return;
      c->error = "no acceptable hello (and profiles, if asked) within " +
                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(opt.handshakeTimeout).count()) + " s";
      log->info("{}: {}", who(*c), c->error);
      closeNow(*c);
    });
    if (!c->closing) send(*c, c->sync->hello());
    asio::co_spawn(ioc, writer(c), asio::detached);
    if (!c->closing) {
      asio::co_spawn(ioc, pinger(c), asio::detached);
      co_await reader(c);
    }
    beginClose(*c);  // the writer flushes a goodbye, then closes
    // Wait for the writer to finish, at most the grace period.
    asio::steady_timer grace(ioc);
    for (int i = 0; i < 20 && !c->closed; ++i) {
      grace.expires_after(kShutdownGrace / 20);
      co_await grace.async_wait(kAsTuple);
    }
    t.cancel();
    closeNow(*c);
    conns.erase(c);
    if (c->announced) log->info("{}: link ended: {}", who(*c), c->error);
    if (auto it = dialers.find(*c->peerKey); it != dialers.end()) {
      it->second->last = c->sync->counters();
      it->second->lastBytesIn = c->bytesIn;
      it->second->lastBytesOut = c->bytesOut;
      it->second->lastHandshakeWire = c->handshakeWire;
      it->second->lastWire = c->wire;
      it->second->software = c->sync->peerSoftware();
      if (c->outbound || c->announced) it->second->lastError = c->error;
      it->second->timer.cancel();  // a dialer waiting for this link to end
    }
    if (stopping && conns.empty()) forceClose.cancel();
  }

  awaitable<void> acceptLoop() {
    while (!stopping) {
      auto [ec, sock] = co_await acceptor->async_accept(kAsTuple);
      if (stopping) break;
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        log->warn("accepting a peer connection failed: {}", ec.message());
        asio::steady_timer pause(ioc);
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      boost::system::error_code rec;
      auto ep = sock.remote_endpoint(rec);
      std::string ip = rec ? std::string("?") : ep.address().to_string();
      if (banned(ip)) {
        log->debug("refused a connection from {}: banned for forged input", ip);
        continue;  // the socket closes as it goes out of scope
      }
      const auto fromHere = std::count_if(handshaking.begin(), handshaking.end(),
                                          [&](const auto& h) { return h->remoteIp == ip; });
      if (fromHere >= kMaxHandshakesPerAddress) {
        log->warn("refused a connection from {}: {} TLS handshakes from it are in progress", ip, fromHere);
        continue;
      }
      if (inbound() >= opt.maxInbound) {
        log->warn("refused a connection from {}: already {} inbound links", ip, opt.maxInbound);
        continue;
      }
      auto c = std::make_shared<Conn>(ioc, ctx, std::move(sock));
      c->remoteIp = ip;
      c->remote = rec ? ip : PeerAddress{ip, ep.port()}.text();
      asio::co_spawn(ioc, runConn(c), asio::detached);
    }
  }

  std::chrono::milliseconds backoff(int failures) {
    const double base = static_cast<double>(opt.backoffMin.count()) * std::pow(2.0, std::min(failures - 1, 20));
    const double capped = std::min(base, static_cast<double>(opt.backoffMax.count()));
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    return std::chrono::milliseconds(static_cast<std::int64_t>(capped * jitter(rng)));
  }

  awaitable<void> dialLoop(std::shared_ptr<Dialer> d) {
    while (!stopping && !d->removed) {
      if (liveWith(d->cfg.key)) {  // linked (either way): wait until it ends
        d->state = "connected";
        d->timer.expires_at(Clock::time_point::max());
        co_await d->timer.async_wait(kAsTuple);
        continue;
      }
      d->state = "connecting";
      bool established = false;
      Clock::time_point began;
      tcp::resolver resolver(ioc);
      auto [rec, endpoints] =
          co_await resolver.async_resolve(d->cfg.address.host, std::to_string(d->cfg.address.port), kAsTuple);
      if (rec) {
        d->lastError = "cannot resolve " + d->cfg.address.host + ": " + rec.message();
      } else {
        auto sock = std::make_shared<tcp::socket>(ioc);
        asio::steady_timer t(ioc);
        t.expires_after(opt.handshakeTimeout);
        t.async_wait([sock](boost::system::error_code ec) {
          if (!ec) {
            boost::system::error_code ignored;
            sock->close(ignored);
          }
        });
        auto [cec, ep] = co_await asio::async_connect(*sock, endpoints, kAsTuple);
        t.cancel();
        if (cec) {
          d->lastError = "cannot connect to " + d->cfg.address.text() + ": " + errorText(cec);
        } else if (!stopping && !d->removed) {
          began = Clock::now();
          auto c = std::make_shared<Conn>(ioc, ctx, std::move(*sock));
          c->outbound = true;
          c->configured = d->cfg.key;
          c->remote = d->cfg.address.text();
          d->conn = c;
          co_await runConn(c);
          established = c->announced;
          d->lastError = c->error;
          d->lastBytesIn = c->bytesIn;
          d->lastBytesOut = c->bytesOut;
          d->lastHandshakeWire = c->handshakeWire;
          d->lastWire = c->wire;
          if (c->sync) {
            d->last = c->sync->counters();
            if (!c->sync->peerSoftware().empty()) d->software = c->sync->peerSoftware();
          }
        }
      }
      if (stopping || d->removed) break;
      // A link that lived a while was a success; one the peer ended at once
      // (it does not take this node as a member yet) counts as a failure,
      // so the redials back off.
      if (established && Clock::now() - began >= opt.pingInterval) d->failures = 0;
      if (liveWith(d->cfg.key)) continue;
      ++d->failures;
      auto wait = backoff(d->failures);
      log->log(d->failures == 1 ? spdlog::level::info : spdlog::level::debug, "peer {} at {}: {}; redialing in {} ms",
               d->cfg.key.shortHex(), d->cfg.address.text(), d->lastError, wait.count());
      d->state = "waiting";
      d->timer.expires_after(wait);
      co_await d->timer.async_wait(kAsTuple);
    }
  }

  // Stops dialing a peer and ends its link: one being set up (TLS, hello)
  // at once, an established one with a goodbye.
  std::map<PublicKey, std::shared_ptr<Dialer>>::iterator dropDialer(
      std::map<PublicKey, std::shared_ptr<Dialer>>::iterator it, const std::string& why, const std::string& goodbye) {
    Dialer& d = *it->second;
    d.removed = true;
    d.timer.cancel();
    if (auto c = d.conn.lock(); c && !c->announced) {
      c->error = why;
      closeNow(*c);
    }
    for (const auto& c : conns)  // a duplicate link may be closing already
      if (c->peerKey == it->first && c->announced && !c->closing) {
        c->error = why;
        send(*c, peerwire::Goodbye{peerwire::GoodbyeReason::normal, goodbye});
        beginClose(*c);
      }
    return dialers.erase(it);
  }

  void startDialer(const PeerConfig& p, bool discovered = false) {
    auto d = std::make_shared<Dialer>(ioc, p);
    d->discovered = discovered;
    dialers[p.key] = d;
    asio::co_spawn(ioc, dialLoop(d), asio::detached);
  }

  // Dials member nodes at the addresses their profiles advertise, while
  // fewer than maxOutbound dialers run; forgets discovered ones that are no
  // longer member nodes.
  void discover() {
    auto view = node.membership->view();
    for (auto it = dialers.begin(); it != dialers.end();) {
      if (it->second->discovered && !view->memberNodes.count(it->first)) {
        it = dropDialer(it, "no longer a member node", "the peer is no longer a member node here");
      } else {
        ++it;
      }
    }
    for (const auto& [feed, own] : view->profiles) {
      auto m = view->feeds.find(feed);
      const bool member = view->isSteward(feed) || (m != view->feeds.end() && m->second.state == MemberState::member);
      if (!member) continue;
      for (const auto& n : own.profile.nodes) {
        if (dialers.size() >= opt.maxOutbound) return;
        if (n.nodeKey == self || n.addresses.empty() || dialers.count(n.nodeKey) || liveWith(n.nodeKey)) continue;
        auto address = parsePeerAddress(n.addresses.front());
        if (!address.ok()) continue;
        log->info("dialing member node {} at {}, which its profile advertises", n.nodeKey.shortHex(), address->text());
        startDialer(PeerConfig{*address, n.nodeKey}, true);
      }
    }
  }

  awaitable<void> discoverLoop() {
    while (!stopping) {
      discover();
      discoverTimer.expires_after(opt.discoverInterval);
      co_await discoverTimer.async_wait(kAsTuple);
    }
  }

  // What a live link says of itself: sync state, counters, bytes, lag.
  // The link's TCP counts now, kept in `c.wire` (the last sample stays
  // once the socket is closed).
  static WireBytes sampleWire(Conn& c) {
    auto& sock = c.stream.lowest_layer();
    if (sock.is_open())
      if (auto w = tcpBytes(sock.native_handle())) c.wire = *w;
    return c.wire;
  }

  static void putWire(PeerStatus& s, const WireBytes& handshake, const WireBytes& total) {
    s.handshakeIn = handshake.in;
    s.handshakeOut = handshake.out;
    s.wireIn = total.in;
    s.wireOut = total.out;
  }

  static void live(Conn& c, PeerStatus& s) {
    const auto now = Clock::now();
    putWire(s, c.handshakeWire, sampleWire(c));
    s.inSync = c.sync->inSync();
    if (s.inSync) c.lastInSync = now;
    s.counters = c.sync->counters();
    s.bytesIn = c.bytesIn;
    s.bytesOut = c.bytesOut;
    s.entriesBehind = c.sync->entriesBehind();
    s.secondsBehind = s.inSync ? 0
                               : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                                now - c.lastInSync.value_or(c.madeAt))
                                                                .count());
  }

  std::vector<PeerStatus> collect() const {
    std::vector<PeerStatus> out;
    std::set<PublicKey> seen;
    for (const auto& [key, d] : dialers) {
      PeerStatus s;
      s.key = key;
      s.address = d->cfg.address.text();
      s.configured = !d->discovered;
      s.discovered = d->discovered;
      s.state = d->state;
      s.software = d->software;
      s.counters = d->last;
      s.bytesIn = d->lastBytesIn;
      s.bytesOut = d->lastBytesOut;
      putWire(s, d->lastHandshakeWire, d->lastWire);
      s.lastError = d->lastError;
      if (auto c = liveWith(key)) {
        s.state = "connected";
        s.outbound = c->outbound;
        s.software = c->sync->peerSoftware();
        live(*c, s);
      }
      seen.insert(key);
      out.push_back(std::move(s));
    }
    for (const auto& c : conns) {
      if (!c->announced || c->closed || seen.count(*c->peerKey)) continue;
      seen.insert(*c->peerKey);
      PeerStatus s;
      s.key = *c->peerKey;
      s.address = c->remote;
      s.state = "connected";
      s.outbound = c->outbound;
      s.software = c->sync->peerSoftware();
      live(*c, s);
      out.push_back(std::move(s));
    }
    return out;
  }

  void onNews(const std::vector<store::Tip>& tips) {
    // A steward's news may change the view: every session re-reads what
    // this node offers, computed once here for all of them.
    auto view = node.membership->view();
    std::optional<Frontier> offered;
    if (std::any_of(tips.begin(), tips.end(), [&](const store::Tip& t) { return view->isSteward(t.feed); }))
      offered = offeredFrontier(*node.store, *view);
    for (const auto& c : conns) {
      if (c->closing || !c->sync->established()) continue;
      c->sync->onNews(tips, offered ? &*offered : nullptr);
      c->wake.cancel();
    }
  }
};

PeerNetwork::PeerNetwork(SyncNode node, const PrivateKey& nodeKey, std::string certPem, NetworkOptions options,
                         std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(std::move(node), nodeKey, std::move(certPem), std::move(options), std::move(log))) {}

PeerNetwork::~PeerNetwork() { stop(); }

Status PeerNetwork::start() {
  Impl& m = *impl_;
  if (!m.setupError.empty()) return invalidArgument(m.setupError);
  {
    std::lock_guard lk(m.lifeMu);
    if (m.running || m.stopped) return internalError("the peer network was started twice");
  }
  if (m.opt.listen) {
    const std::string where = m.opt.listen->text();
    boost::system::error_code ec;
    tcp::resolver resolver(m.ioc);
    auto endpoints = resolver.resolve(m.opt.listen->host, std::to_string(m.opt.listen->port),
                                      tcp::resolver::passive, ec);
    if (ec || endpoints.empty())
      return invalidArgument("cannot listen for peers on " + where + ": " + (ec ? ec.message() : "no such address"));
    tcp::endpoint ep = *endpoints.begin();
    m.acceptor.emplace(m.ioc);
    m.acceptor->open(ep.protocol(), ec);
    if (!ec) m.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) m.acceptor->bind(ep, ec);
    if (!ec) m.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      m.acceptor.reset();
      return ioError("cannot listen for peers on " + where + ": " + ec.message());
    }
    m.port = m.acceptor->local_endpoint().port();
    m.log->info("listening for peers on {}", PeerAddress{m.opt.listen->host, *m.port}.text());
    asio::co_spawn(m.ioc, m.acceptLoop(), asio::detached);
  }
  for (const auto& p : m.opt.peers) m.startDialer(p);
  if (m.opt.dialMembers) asio::co_spawn(m.ioc, m.discoverLoop(), asio::detached);
  m.node.store->setTipListener([&m](const std::vector<store::Tip>& tips) {
    asio::post(m.ioc, [&m, tips] { m.onNews(tips); });
  });
  {
    std::lock_guard lk(m.lifeMu);
    m.running = true;
  }
  m.thread = std::thread([&m] { m.ioc.run(); });
  return {};
}

void PeerNetwork::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lk(m.lifeMu);
    if (m.stopped) return;
    m.stopped = true;
    if (!m.running) return;
  }
  m.node.store->setTipListener({});
  asio::post(m.ioc, [&m] {
    m.stopping = true;
    m.discoverTimer.cancel();
    if (m.acceptor) {
      boost::system::error_code ec;
      m.acceptor->close(ec);
    }
    for (auto& [key, d] : m.dialers) {
      d->removed = true;
      d->timer.cancel();
    }
    for (const auto& c : std::vector<std::shared_ptr<Conn>>(m.handshaking.begin(), m.handshaking.end()))
      m.closeNow(*c);
    for (const auto& c : std::vector<std::shared_ptr<Conn>>(m.conns.begin(), m.conns.end())) {
      if (c->announced) m.send(*c, peerwire::Goodbye{peerwire::GoodbyeReason::normal, "the node is shutting down"});
      if (c->error.empty()) c->error = "this node shut down";
      m.beginClose(*c);
      c->ping.cancel();
      boost::system::error_code ec;
      c->stream.lowest_layer().shutdown(tcp::socket::shutdown_receive, ec);
    }
    // A peer that does not read cannot hold the shutdown up.
    m.forceClose.expires_after(kShutdownGrace);
    m.forceClose.async_wait([&m](boost::system::error_code ec) {
      if (ec) return;
      for (const auto& c : m.conns) m.closeNow(*c);
    });
    if (m.conns.empty()) m.forceClose.cancel();
  });
  m.guard.reset();
  m.thread.join();
  m.ingestPool.join();
  {
    std::lock_guard lk(m.lifeMu);
    m.running = false;
  }
}

std::optional<std::uint16_t> PeerNetwork::listenPort() const { return impl_->port; }

std::vector<PeerStatus> PeerNetwork::peers() const {
  return impl_->onNetworkThread([this] { return impl_->collect(); });
}

Status PeerNetwork::addPeer(const PeerConfig& peer) {
  return impl_->onNetworkThread([this, peer]() -> Status {
    Impl& m = *impl_;
    if (m.dialers.count(peer.key))
      return alreadyExists("peer " + peer.key.hex() + " is already configured (at " +
                           m.dialers.at(peer.key)->cfg.address.text() + ")");
    if (peer.key == m.self) return invalidArgument("that is this node's own key");
    m.startDialer(peer);
    return {};
  });
}

Status PeerNetwork::removePeer(const PublicKey& key) {
  return impl_->onNetworkThread([this, key]() -> Status {
    Impl& m = *impl_;
    auto it = m.dialers.find(key);
    if (it == m.dialers.end()) return notFound("no configured peer has node key " + key.hex());
    m.dropDialer(it, "removed by the sysadmin", "the peer was removed");
    return {};
  });
}

void PeerNetwork::redialNow() {
  impl_->onNetworkThread([this] {
    for (auto& [key, d] : impl_->dialers) d->timer.cancel();
    return 0;
  });
}

}  // namespace civnet::federation

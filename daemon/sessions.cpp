// Member sessions and login throttling (see sessions.hpp).
#include "sessions.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <boost/asio/ip/address_v6.hpp>

namespace civnet::daemon {
namespace {

constexpr std::string_view kRowVersion = "session 2";
constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenChars = 43;  // base64url of 32 bytes, unpadded
constexpr std::int64_t kTouchEveryMs = 60'000;  // last-seen is written at most once a minute
constexpr std::size_t kMaxTracked = 10'000;     // throttling entries kept per kind

std::string base64url(ByteView b) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t byte : b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::string randomToken() {
  std::array<std::uint8_t, kTokenBytes> b{};
  randomBytes(b);
  return base64url(b);
}

bool wellFormed(std::string_view token) {
  return token.size() == kTokenChars && std::all_of(token.begin(), token.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
         });
}

// The store key of a session: the SHA-256 of its token, never the token.
std::string rowKey(std::string_view token) {
  return sha256(ByteView(reinterpret_cast<const std::uint8_t*>(token.data()), token.size())).hex();
}

std::vector<std::string_view> lines(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0; at < s.size();) {
    auto nl = s.find('\n', at);
    if (nl == std::string_view::npos) nl = s.size();
    out.push_back(s.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

bool parseMs(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

std::string encodeSessionRow(std::string_view handle, const Session& s) {
  return std::string(kRowVersion) + "\n" + std::string(handle) + "\n" + s.csrf + "\n" + std::to_string(s.createdAt) +
         "\n" + std::to_string(s.lastSeenAt) + "\n" + std::to_string(s.passwordAt) + "\n";
}

Sessions::Sessions(store::Store& store, Accounts& accounts, SessionOptions options, Clock clock)
    : store_(store), accounts_(accounts), options_(options), clock_(std::move(clock)) {}

std::int64_t Sessions::now() const {
  if (clock_) return clock_();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::seconds Sessions::delayFor(int failures, int threshold) const {
  if (failures < threshold) return std::chrono::seconds(0);
  const int doublings = std::min(failures - threshold, 20);
  const auto d = options_.firstDelay * (std::int64_t{1} << doublings);
  return std::min<std::chrono::seconds>(d, options_.maxDelay);
}

namespace {
// Where failures are counted: an IPv6 address by its /64 (one host holds
// a whole /64), any other as it is.
std::string addressKey(std::string_view address) {
  if (address.find(':') == std::string_view::npos) return std::string(address);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address_v6(std::string(address), ec);
  if (ec) return std::string(address);
  auto bytes = a.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}
}  // namespace

std::int64_t Sessions::waitUntilLocked(const std::string& handle, const std::string& address) const {
  std::int64_t until = 0;
  const std::string from = handle + "\n" + address;
  for (const auto& [m, k] : {std::pair<const FailureMap*, const std::string*>{&byHandleFrom_, &from},
                             {&byHandle_, &handle},
                             {&byAddress_, &address}})
    if (auto it = m->find(*k); it != m->end()) until = std::max(until, it->second.waitUntil);
  return until;
}

void Sessions::note(FailureMap& m, const std::string& key, int threshold, std::int64_t t) {
  if (m.size() >= kMaxTracked && !m.count(key)) {
    std::erase_if(m, [&](const auto& kv) { return kv.second.waitUntil <= t && kv.second.count < threshold; });
    // Still full: make room by forgetting the entry with the fewest failures
    // (never refuse to count: that would let guessing go on unchecked).
    if (m.size() >= kMaxTracked)
      m.erase(std::min_element(m.begin(), m.end(),
                               [](const auto& a, const auto& b) { return a.second.count < b.second.count; }));
  }
  Failures& f = m[key];
  ++f.count;
  f.waitUntil = t + std::chrono::duration_cast<std::chrono::milliseconds>(delayFor(f.count, threshold)).count();
}

void Sessions::noteFailureLocked(const std::string& handle, const std::string& address, std::int64_t t) {
  note(byHandleFrom_, handle + "\n" + address, options_.failuresBeforeDelayPerHandle, t);
  note(byHandle_, handle, options_.failuresBeforeDelayPerHandleAnywhere, t);
  note(byAddress_, address, options_.failuresBeforeDelayPerAddress, t);
}

std::chrono::seconds Sessions::lockedFor(std::string_view handle, std::string_view clientAddress) {
  std::lock_guard lk(mu_);
  const std::int64_t until = waitUntilLocked(std::string(handle), addressKey(clientAddress)), t = now();
  return std::chrono::seconds(until > t ? (until - t + 999) / 1000 : 0);
}

void Sessions::noteFailure(std::string_view handle, std::string_view clientAddress) {
  std::lock_guard lk(mu_);
  noteFailureLocked(std::string(handle), addressKey(clientAddress), now());
}

LoginResult Sessions::login(std::string_view handle, std::string_view password, std::string_view clientAddress) {
  LoginResult res;
  const std::string h(handle), addr = addressKey(clientAddress);
  if (!checkHandle(handle).ok()) {
    (void)accounts_.verify("-", password);  // as costly as any other refusal; not counted
    return res;
  }
  if (auto wait = lockedFor(handle, clientAddress); wait.count() > 0) {
    res.outcome = LoginResult::Outcome::locked;
    res.retryAfter = wait;
    return res;
  }
  auto account = accounts_.verify(handle, password);
  std::lock_guard lk(mu_);
  const std::int64_t t = now();
  if (!account.ok()) {
    noteFailureLocked(h, addr, t);
    return res;
  }
  byHandleFrom_.erase(h + "\n" + addr);
  byHandle_.erase(h);
  if (t - lastSweep_ >= 3'600'000) {
    lastSweep_ = t;
    (void)sweep();
  }
  Session s;
  s.account = *account;
  s.csrf = randomToken();
  s.createdAt = s.lastSeenAt = t;
  s.passwordAt = account->passwordChangedAt;  // as checked: a reset since then ends the session
  const std::string token = randomToken();
  if (auto st = store_.writeLocal({{store::LocalTable::session, rowKey(token), encodeSessionRow(handle, s)}});
      !st.ok())
    return res;
  res.outcome = LoginResult::Outcome::ok;
  res.token = token;
  res.session = std::move(s);
  return res;
}

Result<Session> Sessions::check(std::string_view token, bool activity) {
  const Status ended = notFound("your session has ended: log in again");
  if (!wellFormed(token)) return ended;
  const std::string key = rowKey(token);
  // Under mu_: a logout between the read and the refresh must not be undone.
  std::lock_guard lk(mu_);
  auto row = store_.getLocal(store::LocalTable::session, key);
  if (!row) return ended;
  Session s;
  std::string handle;
  const std::int64_t t = now();
  auto account = decodeRow(*row, handle, s) ? accounts_.get(handle) : Result<Account>(ended);
  const bool live = account.ok() && !account->disabled && account->passwordChangedAt == s.passwordAt &&
                    !expired(s, t);
  if (!live) {
    (void)store_.writeLocal({{store::LocalTable::session, key, std::nullopt}});
    return ended;
  }
  s.account = std::move(account).value();
  if (activity && t - s.lastSeenAt >= kTouchEveryMs) {
    s.lastSeenAt = t;
    (void)store_.writeLocal({{store::LocalTable::session, key, encodeSessionRow(s.account.handle, s)}});
  }
  return s;
}

bool Sessions::decodeRow(std::string_view row, std::string& handle, Session& s) {
  auto f = lines(row);
  if (f.size() != 6 || f[0] != kRowVersion || !parseMs(f[3], s.createdAt) || !parseMs(f[4], s.lastSeenAt) ||
      !parseMs(f[5], s.passwordAt))
    return false;
  handle = f[1];
  s.csrf = f[2];
  return true;
}

bool Sessions::expired(const Session& s, std::int64_t t) const {
  const auto ms = [](std::chrono::seconds d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  return t - s.lastSeenAt > ms(options_.idle) || t - s.createdAt > ms(options_.absolute);
}

std::size_t Sessions::sweep() {
  const std::int64_t t = now();
  std::vector<store::LocalWrite> drops;
  for (const auto& [key, row] : store_.listLocal(store::LocalTable::session)) {
    Session s;
    std::string handle;
    if (!decodeRow(row, handle, s) || expired(s, t)) drops.push_back({store::LocalTable::session, key, std::nullopt});
  }
  const std::size_t n = drops.size();
  if (n > 0 && !store_.writeLocal(std::move(drops)).ok()) return 0;
  return n;
}

Status Sessions::logout(std::string_view token) {
  if (!wellFormed(token)) return {};
  std::lock_guard lk(mu_);
  return store_.writeLocal({{store::LocalTable::session, rowKey(token), std::nullopt}});
}

Status Sessions::endAll(std::string_view handle) {
  std::lock_guard lk(mu_);
  std::vector<store::LocalWrite> drops;
  for (const auto& [key, row] : store_.listLocal(store::LocalTable::session)) {
    Session s;
    std::string h;
    if (decodeRow(row, h, s) && h == handle) drops.push_back({store::LocalTable::session, key, std::nullopt});
  }
  if (drops.empty()) return {};
  return store_.writeLocal(std::move(drops));
}

bool Sessions::csrfMatches(const Session& session, std::string_view header) {
  return !session.csrf.empty() &&
         constantTimeEqual(ByteView(reinterpret_cast<const std::uint8_t*>(session.csrf.data()), session.csrf.size()),
                           ByteView(reinterpret_cast<const std::uint8_t*>(header.data()), header.size()));
}

}  // namespace civnet::daemon

// Member accounts (see accounts.hpp).
#include "accounts.hpp"

#include "daemon/http_text.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <charconv>
#include <functional>
#include <sstream>

namespace civnet::daemon {

extern const std::string_view kCommonPasswords[];
extern const std::size_t kCommonPasswords_count;

namespace {

constexpr std::size_t kMinPasswordChars = 12;
constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
// Generated passwords: no 0/O, 1/l/I look-alikes.
constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
constexpr std::size_t kGeneratedChars = 20;
constexpr std::string_view kRowVersion = "account 1";

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Code points in valid UTF-8 (continuation bytes are not counted).
std::size_t codePoints(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool isCommon(std::string_view password) {
  const std::string l = asciiLower(password);
  return std::any_of(kCommonPasswords, kCommonPasswords + kCommonPasswords_count,
                     [&](std::string_view w) { return w == l; });
}

// A name: 1 to 200 bytes of text without control characters.
Status checkName(std::string_view name) {
  if (name.empty()) return invalidArgument("the name is empty");
  if (name.size() > kMaxNameBytes)
    return invalidArgument("the name is longer than " + std::to_string(kMaxNameBytes) + " bytes");
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return invalidArgument("the name holds a control character");
  return {};
}

std::string generatePassword() {
  std::string out;
  while (out.size() < kGeneratedChars) {
    std::array<std::uint8_t, 32> buf{};
    randomBytes(buf);
    for (std::uint8_t b : buf) {
      // Rejection sampling: no bias toward the alphabet's first letters.
      const std::size_t limit = 256 - 256 % kAlphabet.size();
      if (b < limit && out.size() < kGeneratedChars) out.push_back(kAlphabet[b % kAlphabet.size()]);
    }
  }
  return out;
}

Bytes fromHex(std::string_view hex, bool& ok) {
  Bytes out;
  ok = hex.size() % 2 == 0;
  for (std::size_t i = 0; ok && i < hex.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    ok = ec == std::errc() && p == hex.data() + i + 2;
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

template <typename T>
bool parseInt(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t at = 0;;) {
    auto next = s.find(sep, at);
    out.push_back(s.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) return out;
    at = next + 1;
  }
}

}  // namespace

Status checkHandle(std::string_view handle) {
  if (handle.size() < 2 || handle.size() > 32)
    return invalidArgument("a handle is 2 to 32 characters, got " + std::to_string(handle.size()));
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'; };
  if (!std::all_of(handle.begin(), handle.end(), ok))
    return invalidArgument("a handle holds only a-z, 0-9, '.', '_' and '-' (lower case), got \"" +
                           std::string(handle) + "\"");
  if (!std::isalnum(static_cast<unsigned char>(handle[0])))
    return invalidArgument("a handle starts with a letter or a digit, got \"" + std::string(handle) + "\"");
  return {};
}

Status checkNewPassword(std::string_view password, std::string_view handle, std::string_view name) {
  if (password.size() > kMaxPasswordBytes)
    return invalidArgument("the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  if (codePoints(password) < kMinPasswordChars)
    return invalidArgument("the password is shorter than " + std::to_string(kMinPasswordChars) +
                           " characters (a few words make a good one)");
  if (isCommon(password)) return invalidArgument("the password is one of the most common passwords; choose another");
  const std::string l = asciiLower(password);
  if (l == asciiLower(handle) || l == asciiLower(name))
    return invalidArgument("the password is the account's handle or name; choose another");
  return {};
}

std::string encodeAccount(const Account& a) {
  std::ostringstream o;
  o << kRowVersion << "\n"
    << a.handle << "\n"
    << a.name << "\n"
    << a.org.hex() << "\n"
    << (a.admin ? "admin" : "member") << "\n"
    << (a.disabled ? "disabled" : "enabled") << "\n"
    << (a.mustChangePassword ? "change-password" : "password-chosen") << "\n"
    << a.passwordHash << "\n"
    << a.createdAt << "\n"
    << a.passwordChangedAt << "\n";
  return o.str();
}

Result<Account> decodeAccount(std::string_view row) {
  auto lines = split(row, '\n');
  auto bad = [&](const std::string& why) { return corruption("a stored account is unreadable: " + why); };
  if (lines.empty() || lines[0] != kRowVersion) return bad("it does not start with \"" + std::string(kRowVersion) + "\"");
  if (lines.size() != 11 || !lines[10].empty()) return bad("it has " + std::to_string(lines.size()) + " lines, not 11");
  Account a;
  a.handle = lines[1];
  a.name = lines[2];
  auto org = PublicKey::parseHex(lines[3], "its organization");
  if (!org.ok()) return bad(org.status().message());
  a.org = *org;
  if (lines[4] != "admin" && lines[4] != "member") return bad("role \"" + std::string(lines[4]) + "\"");
  a.admin = lines[4] == "admin";
  if (lines[5] != "disabled" && lines[5] != "enabled") return bad("state \"" + std::string(lines[5]) + "\"");
  a.disabled = lines[5] == "disabled";
  a.mustChangePassword = lines[6] == "change-password";
  a.passwordHash = lines[7];
  if (!parseInt(lines[8], a.createdAt) || !parseInt(lines[9], a.passwordChangedAt)) return bad("its times");
  if (auto s = checkHandle(a.handle); !s.ok()) return bad(s.message());
  return a;
}

Accounts::Accounts(store::Store& store, ScryptCost cost, std::size_t maxConcurrentHashes, Clock clock)
    : store_(store), cost_(cost), maxHashes_(std::max<std::size_t>(maxConcurrentHashes, 1)), clock_(std::move(clock)) {}

std::int64_t Accounts::now() const { return clock_ ? clock_() : nowMs(); }

Result<Bytes> Accounts::limited(const std::function<Result<Bytes>()>& hash) {
  {
    std::unique_lock lk(hashMu_);
    hashCv_.wait(lk, [&] { return hashing_ < maxHashes_; });
    peak_ = std::max(peak_, ++hashing_);
  }
  auto h = hash();
  {
    std::lock_guard lk(hashMu_);
    --hashing_;
  }
  hashCv_.notify_one();
  return h;
}

std::size_t Accounts::peakConcurrentHashes() const {
  std::lock_guard lk(hashMu_);
  return peak_;
}

Result<std::string> Accounts::hashPassword(std::string_view password) {
  std::array<std::uint8_t, kSaltBytes> salt{};
  randomBytes(salt);
  auto h = limited([&] { return scrypt(password, salt, std::uint64_t{1} << cost_.logN, cost_.r, cost_.p, kHashBytes); });
  if (!h.ok()) return h.status();
  return costPrefix() + toHex(salt) + "$" + toHex(*h);
}

std::string Accounts::costPrefix() const {
  return "scrypt$" + std::to_string(cost_.logN) + "$" + std::to_string(cost_.r) + "$" + std::to_string(cost_.p) + "$";
}

bool Accounts::matches(std::string_view password, std::string_view stored) {
  auto parts = split(stored, '$');
  std::uint32_t logN = 0, r = 0, p = 0;
  bool saltOk = false, hashOk = false;
  if (parts.size() != 6 || parts[0] != "scrypt" || !parseInt(parts[1], logN) || !parseInt(parts[2], r) ||
      !parseInt(parts[3], p) || logN < 1 || logN > 24 || r == 0 || r > 64 || p == 0 || p > 16)
    return false;
  Bytes salt = fromHex(parts[4], saltOk), want = fromHex(parts[5], hashOk);
  if (!saltOk || !hashOk || want.empty()) return false;
  auto h = limited([&] { return scrypt(password, salt, std::uint64_t{1} << logN, r, p, want.size()); });
  return h.ok() && constantTimeEqual(*h, want);
}

Status Accounts::save(const Account& a) {
  return store_.writeLocal({{store::LocalTable::account, a.handle, encodeAccount(a)}});
}

Result<std::optional<std::string>> Accounts::add(std::string_view handle, std::string_view name, const PublicKey& org,
                                                  bool admin, std::optional<std::string> password) {
  if (auto s = checkHandle(handle); !s.ok()) return s;
  if (auto s = checkName(name); !s.ok()) return s;
  if (store_.getLocal(store::LocalTable::account, handle))  // before the costly hash; checked again below
    return alreadyExists("an account with handle \"" + std::string(handle) + "\" exists already");
  const bool generated = !password;
  if (generated) password = generatePassword();
  else if (auto s = checkNewPassword(*password, handle, name); !s.ok()) return s;
  auto hash = hashPassword(*password);
  if (!hash.ok()) return hash.status();
  std::lock_guard lk(writeMu_);
  if (store_.getLocal(store::LocalTable::account, handle))
    return alreadyExists("an account with handle \"" + std::string(handle) + "\" exists already");
  Account a;
  a.handle = handle;
  a.name = name;
  a.org = org;
  a.admin = admin;
  a.passwordHash = *hash;
  a.createdAt = a.passwordChangedAt = now();
  a.mustChangePassword = generated;
  if (auto s = save(a); !s.ok()) return s;
  if (generated) return std::optional<std::string>(*password);
  return std::optional<std::string>();
}

std::vector<Account> Accounts::list() const {
  std::vector<Account> out;
  for (const auto& [handle, row] : store_.listLocal(store::LocalTable::account))
    if (auto a = decodeAccount(row); a.ok()) out.push_back(std::move(a).value());
  return out;
}

Result<Account> Accounts::get(std::string_view handle) const {
  auto row = store_.getLocal(store::LocalTable::account, handle);
  if (!row) return notFound("no account has handle \"" + std::string(handle.substr(0, 64)) + "\"");
  return decodeAccount(*row);
}

Status Accounts::disable(std::string_view handle) {
  std::lock_guard lk(writeMu_);
  auto a = get(handle);
  if (!a.ok()) return a.status();
  if (a->disabled) return {};
  a->disabled = true;
  return save(*a);
}

Result<std::optional<std::string>> Accounts::reset(std::string_view handle, std::optional<std::string> password) {
  auto before = get(handle);
  if (!before.ok()) return before.status();
  const bool generated = !password;
  if (generated) password = generatePassword();
  else if (auto s = checkNewPassword(*password, handle, before->name); !s.ok()) return s;
  auto hash = hashPassword(*password);
  if (!hash.ok()) return hash.status();
  std::lock_guard lk(writeMu_);
  auto a = get(handle);
  if (!a.ok()) return a.status();
  a->passwordHash = *hash;
  a->passwordChangedAt = now();
  a->mustChangePassword = generated;
  a->disabled = false;
  if (auto s = save(*a); !s.ok()) return s;
  if (generated) return std::optional<std::string>(*password);
  return std::optional<std::string>();
}

Result<Account> Accounts::verify(std::string_view handle, std::string_view password) {
  auto a = get(handle);
  // An unknown handle costs a hash too, so timing does not tell it apart.
  const std::string prefix = costPrefix();
  const std::string dummy = prefix + std::string(2 * kSaltBytes, '0') + "$" + std::string(2 * kHashBytes, '0');
  const bool ok = matches(password, a.ok() ? std::string_view(a->passwordHash) : std::string_view(dummy));
  if (!a.ok() || !ok || a->disabled) return permissionDenied("wrong handle or password");
  // A hash made at another cost (scrypt$17$8$1$ before the cost changed)
  // is made again at this one, once, while the password is at hand: the
  // unknown-handle path hashes at this cost, so an old one would take a
  // different time and tell that the handle exists. A failure leaves the
  // old hash, which still works; the next login tries again.
  if (!a->passwordHash.starts_with(prefix)) {
    if (auto fresh = hashPassword(password); fresh.ok()) {
      std::lock_guard lk(writeMu_);
      auto now = get(handle);
      if (now.ok() && now->passwordHash == a->passwordHash) {
        now->passwordHash = *fresh;
        if (save(*now).ok()) a->passwordHash = *fresh;
      }
    }
  }
  return a;
}

Status Accounts::changePassword(std::string_view handle, std::string_view current, std::string_view next) {
  auto a = verify(handle, current);
  if (!a.ok()) return a.status();
  if (auto s = checkNewPassword(next, handle, a->name); !s.ok()) return s;
  if (constantTimeEqual(ByteView(reinterpret_cast<const std::uint8_t*>(current.data()), current.size()),
                        ByteView(reinterpret_cast<const std::uint8_t*>(next.data()), next.size())))
    return invalidArgument("the new password is the current one");
  auto hash = hashPassword(next);
  if (!hash.ok()) return hash.status();
  std::lock_guard lk(writeMu_);
  auto fresh = get(handle);
  if (!fresh.ok()) return fresh.status();
  // A reset (or another change) since the current password was checked wins.
  if (fresh->passwordHash != a->passwordHash || fresh->disabled)
    return permissionDenied("wrong handle or password");
  fresh->passwordHash = *hash;
  fresh->passwordChangedAt = now();
  fresh->mustChangePassword = false;
  return save(*fresh);
}

}  // namespace civnet::daemon

// Member accounts: the people of the organizations a node hosts, who log in
// to the member web interface. Each belongs to one hosted organization;
// what it publishes is signed with that organization's feed key.
//
// Passwords are hashed with scrypt (OpenSSL's KDF) at one of the costs
// OWASP's password storage guidance gives as equally strong: N = 2^15,
// r = 8, p = 3 (32 MiB, about a third of a second here). Its first choice,
// N = 2^17 with p = 1, takes 128 MiB per hash: two logins at once would
// more than double a hub's memory (docs/performance.md, benchmark 8). The
// parameters are stored with each hash, so hashes made at another cost
// (scrypt$17$8$1$... before this) still verify; verify() makes such a hash
// again at this cost once the password is checked. At most `maxConcurrentHashes` hashes run at once, so a
// storm of logins cannot exhaust memory: the others wait their turn.
//
// Accounts live in the store's node-local `a` rows (never replicated), one
// row per handle, in a small versioned text format (docs/accounts.md).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/crypto.hpp"
#include "schemas/status.hpp"
#include "store/store.hpp"

namespace civnet::daemon {

struct ScryptCost {
  std::uint32_t logN = 15;  // N = 2^logN
  std::uint32_t r = 8;
  std::uint32_t p = 3;
};

struct Account {
  std::string handle;  // 2 to 32 of a-z 0-9 . _ -, starting with a letter or digit
  std::string name;    // shown to other members
  PublicKey org;       // the hosted organization it publishes as
  bool admin = false;  // manages the organization's accounts in the web UI
  bool disabled = false;
  std::string passwordHash;  // "scrypt$<logN>$<r>$<p>$<salt hex>$<hash hex>"
  std::int64_t createdAt = 0;          // ms since the epoch
  std::int64_t passwordChangedAt = 0;  // ms since the epoch
  // Set by a generated or reset password: the member should choose one.
  bool mustChangePassword = false;
};

// The rules a new password must meet: at least 12 characters (UTF-8 code
// points), at most 1024 bytes, not one of the most common passwords (a
// list shipped with civnetd), and not the handle or the name. Returns why
// not, naming the rule.
Status checkNewPassword(std::string_view password, std::string_view handle, std::string_view name);
// A handle: 2 to 32 of a-z 0-9 . _ -, starting with a letter or a digit.
Status checkHandle(std::string_view handle);

class Accounts {
 public:
  using Clock = std::function<std::int64_t()>;  // ms since the epoch; the system clock by default
  // REQUIRES: `store` outlives this object.
  explicit Accounts(store::Store& store, ScryptCost cost = {}, std::size_t maxConcurrentHashes = 2, Clock clock = {});

  // A new account. With no password given, one is generated (20 characters
  // from an alphabet without look-alikes, about 110 bits) and returned, and
  // the member is asked to change it. Refused: a malformed or taken handle,
  // an empty or overlong name, a password the rules refuse.
  Result<std::optional<std::string>> add(std::string_view handle, std::string_view name, const PublicKey& org,
                                         bool admin, std::optional<std::string> password);
  std::vector<Account> list() const;
  Result<Account> get(std::string_view handle) const;
  // Disabled accounts cannot log in (their sessions end: issue 5's sessions).
  Status disable(std::string_view handle);
  // A new password (generated when none is given, and returned); also
  // enables a disabled account.
  Result<std::optional<std::string>> reset(std::string_view handle, std::optional<std::string> password);
  // The account if `password` is its password and it is enabled. Every
  // failure is the same unauthenticated status, whether or not the handle
  // exists (a hash is computed either way, so timing does not tell).
  Result<Account> verify(std::string_view handle, std::string_view password);
  Status changePassword(std::string_view handle, std::string_view current, std::string_view next);

  // The most hashes that ran at the same time so far.
  std::size_t peakConcurrentHashes() const;

 private:
  // Runs `hash` once fewer than maxConcurrentHashes run.
  Result<Bytes> limited(const std::function<Result<Bytes>()>& hash);
  Result<std::string> hashPassword(std::string_view password);
  // "scrypt$LOGN$R$P$": how every hash made at this cost begins.
  std::string costPrefix() const;
  bool matches(std::string_view password, std::string_view stored);
  Status save(const Account& a);

  store::Store& store_;
  const ScryptCost cost_;
  const std::size_t maxHashes_;
  const Clock clock_;
  std::int64_t now() const;
  mutable std::mutex hashMu_;
  std::condition_variable hashCv_;
  std::size_t hashing_ = 0, peak_ = 0;
  std::mutex writeMu_;  // read-modify-write of one account at a time
};

// The row format (exposed for tests).
std::string encodeAccount(const Account& a);
Result<Account> decodeAccount(std::string_view row);

}  // namespace civnet::daemon

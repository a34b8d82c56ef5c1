// Member sessions: what a login gives a browser, and the throttling that
// keeps password guessing slow. docs/accounts.md describes the rules.
//
// - A login that succeeds makes a new session: a random 256-bit token (the
//   cookie's value) and a random CSRF token the client sends back in a
//   header with every state-changing request. The store keeps only the
//   token's SHA-256 (`s` rows), so a copy of the data directory opens no
//   session.
// - A session ends after `idle` without use, `absolute` after the login, at
//   logout, when its account is disabled, and when the account's password
//   changes (sessions made before the change stop counting).
// - Failed logins (and wrong current passwords given to a password change)
//   are counted per handle from one client address (IPv6 by /64), per
//   handle from anywhere, and per address, known handle or not. From the
//   5th failure in a row for a handle from one address (the 50th for a
//   handle from anywhere, the 20th for an address) each further attempt
//   waits: 1 s, doubling up to 15 min. So a stranger elsewhere does not
//   lock a member out with a few guesses. A waiting attempt is refused as
//   locked with the seconds to wait, its password unchecked. A success
//   clears the handle's counts, not the address's. A malformed handle is
//   refused like a wrong password and not counted. These counts live in
//   memory: a restart forgets them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/accounts.hpp"
#include "schemas/status.hpp"
#include "store/store.hpp"

namespace civnet::daemon {

struct SessionOptions {
  std::chrono::seconds idle{std::chrono::hours(2)};
  std::chrono::seconds absolute{std::chrono::hours(12)};
  int failuresBeforeDelayPerHandle = 5;        // per handle, from one address (or IPv6 /64)
  int failuresBeforeDelayPerHandleAnywhere = 50;
  int failuresBeforeDelayPerAddress = 20;
  std::chrono::seconds firstDelay{1};
  std::chrono::seconds maxDelay{std::chrono::minutes(15)};
};

struct Session {
  Account account;
  std::string csrf;  // the value the client must send in the CSRF header
  std::int64_t createdAt = 0;   // ms since the epoch
  std::int64_t lastSeenAt = 0;  // ms since the epoch
  // The account's passwordChangedAt when the password was checked: the
  // session counts only while it is still the same.
  std::int64_t passwordAt = 0;
};

struct LoginResult {
  enum class Outcome { ok, wrong, locked };
  Outcome outcome = Outcome::wrong;
  std::string token;  // ok: the session token (43 characters, base64url)
  Session session;    // ok
  std::chrono::seconds retryAfter{0};  // locked: how long to wait
};

class Sessions {
 public:
  using Clock = std::function<std::int64_t()>;  // ms since the epoch
  // REQUIRES: `store` and `accounts` outlive this object.
  Sessions(store::Store& store, Accounts& accounts, SessionOptions options = {}, Clock clock = {});

  LoginResult login(std::string_view handle, std::string_view password, std::string_view clientAddress);
  const SessionOptions& options() const { return options_; }
  // The live session `token` opens, or notFound ("your session has ended:
  // log in again") when there is none any more. A check counts as the
  // member's activity (it keeps the session from idling out) unless
  // `activity` is false, as for a live-update stream that stays open.
  Result<Session> check(std::string_view token, bool activity = true);
  // Ends the session (nothing happens for an unknown token).
  Status logout(std::string_view token);
  // Ends every session of `handle` (a sysadmin's disable or reset).
  Status endAll(std::string_view handle);
  // Deletes the rows of sessions that have expired (a login does it at
  // most once an hour). Returns how many went.
  std::size_t sweep();
  // Throttling for other checks of a password (a password change): how
  // long `handle` from `clientAddress` must wait (0: not), and a failure.
  std::chrono::seconds lockedFor(std::string_view handle, std::string_view clientAddress);
  void noteFailure(std::string_view handle, std::string_view clientAddress);
  // True if `header` is the CSRF token of `session` (constant time).
  static bool csrfMatches(const Session& session, std::string_view header);

 private:
  std::chrono::seconds delayFor(int failures, int threshold) const;
  // A stored session row: false when it is not one this version reads.
  static bool decodeRow(std::string_view row, std::string& handle, Session& s);
  bool expired(const Session& s, std::int64_t t) const;
  std::int64_t now() const;

  struct Failures {
    int count = 0;
    std::int64_t waitUntil = 0;  // ms
  };
  using FailureMap = std::map<std::string, Failures>;
  // REQUIRES: mu_ held.
  std::int64_t waitUntilLocked(const std::string& handle, const std::string& address) const;
  void noteFailureLocked(const std::string& handle, const std::string& address, std::int64_t t);
  void note(FailureMap& m, const std::string& key, int threshold, std::int64_t t);

  store::Store& store_;
  Accounts& accounts_;
  const SessionOptions options_;
  Clock clock_;
  std::mutex mu_;  // the maps; and session rows' read-modify-write (refresh vs logout)
  FailureMap byHandleFrom_, byHandle_, byAddress_;
  std::int64_t lastSweep_ = 0;
};

// The row format (exposed for tests): "session 2", handle, csrf, created,
// last seen, the password time it was made with.
std::string encodeSessionRow(std::string_view handle, const Session& s);

}  // namespace civnet::daemon

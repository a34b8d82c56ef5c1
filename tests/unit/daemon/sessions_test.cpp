// Member sessions and login throttling (daemon/sessions.hpp) on a real
// store, with a clock the test moves: expiry, logout, invalidation by a
// password change or a disable, CSRF tokens, and the delays after failures.
#include <algorithm>
#include <vector>

#include "tests/support/doctest.hpp"
#include "tests/support/temp_dir.hpp"

#include "daemon/accounts.hpp"
#include "daemon/sessions.hpp"
#include "store/store.hpp"

using namespace civnet;
using civnet::daemon::LoginResult;
using civnet::daemon::Sessions;
using Outcome = civnet::daemon::LoginResult::Outcome;

namespace {

struct Fixture {
  civnet::test::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<daemon::Accounts> accounts;
  std::int64_t clock = 1'800'000'000'000;
  std::unique_ptr<Sessions> sessions;
  explicit Fixture(daemon::SessionOptions o = {}) {
    store::Options so;
    so.createIfMissing = true;
    auto s = store::Store::open(dir.path() / "store", so);
    REQUIRE(s.ok());
    store = std::move(s).value();
    accounts = std::make_unique<daemon::Accounts>(*store, daemon::ScryptCost{10, 8, 1}, 2, [this] { return clock; });
    REQUIRE(accounts->add("amina", "Amina", PrivateKey::generate().publicKey(), false, std::string("river wells in march")).ok());
    sessions = std::make_unique<Sessions>(*store, *accounts, o, [this] { return clock; });
  }
  void advance(std::chrono::seconds d) { clock += std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }
};

}  // namespace

TEST_SUITE("sessions") {
  TEST_CASE("a login gives a new random token and CSRF token; the store keeps only the token's hash") {
    Fixture f;
    LoginResult a = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    LoginResult b = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    REQUIRE(a.outcome == Outcome::ok);
    REQUIRE(b.outcome == Outcome::ok);
    CHECK(a.token.size() == 43);
    CHECK(a.token != b.token);  // rotated at each login
    CHECK(a.session.csrf != b.session.csrf);
    CHECK(a.session.account.handle == "amina");
    auto rows = f.store->listLocal(store::LocalTable::session);
    REQUIRE(rows.size() == 2);
    for (const auto& [key, row] : rows) {
      CHECK(key.size() == 64);
      CHECK(key.find(a.token) == std::string::npos);
      CHECK(row.find(a.token) == std::string::npos);
      CHECK(row.find(b.token) == std::string::npos);
    }
    auto s = f.sessions->check(a.token);
    REQUIRE(s.ok());
    CHECK(Sessions::csrfMatches(*s, a.session.csrf));
    CHECK_FALSE(Sessions::csrfMatches(*s, b.session.csrf));
    CHECK_FALSE(Sessions::csrfMatches(*s, ""));
  }

  TEST_CASE("a session ends when idle too long, after its absolute limit, and at logout") {
    daemon::SessionOptions o;
    o.idle = std::chrono::minutes(30);
    o.absolute = std::chrono::hours(2);
    Fixture f(o);
    LoginResult a = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    REQUIRE(a.outcome == Outcome::ok);
    // Used every 20 minutes it lives, until 2 hours after the login.
    for (int i = 0; i < 5; ++i) {
      f.advance(std::chrono::minutes(20));
      REQUIRE(f.sessions->check(a.token).ok());
    }
    f.advance(std::chrono::minutes(21));  // 2 h 1 min after the login
    auto ended = f.sessions->check(a.token);
    REQUIRE_FALSE(ended.ok());
    CHECK(ended.status().message() == "your session has ended: log in again");
    CHECK(f.store->listLocal(store::LocalTable::session).empty());  // and it is gone

    LoginResult b = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    f.advance(std::chrono::minutes(31));
    CHECK_FALSE(f.sessions->check(b.token).ok());  // idle

    LoginResult c = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    REQUIRE(f.sessions->check(c.token).ok());
    REQUIRE(f.sessions->logout(c.token).ok());
    CHECK_FALSE(f.sessions->check(c.token).ok());
    CHECK_FALSE(f.sessions->check("not a token").ok());
  }

  TEST_CASE("a password change or a disable ends the account's sessions") {
    Fixture f;
    LoginResult a = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    REQUIRE(a.outcome == Outcome::ok);
    f.advance(std::chrono::seconds(5));
    REQUIRE(f.accounts->changePassword("amina", "river wells in march", "a new long passphrase").ok());
    CHECK_FALSE(f.sessions->check(a.token).ok());
    LoginResult b = f.sessions->login("amina", "a new long passphrase", "192.0.2.1");
    REQUIRE(b.outcome == Outcome::ok);
    REQUIRE(f.sessions->check(b.token).ok());
    REQUIRE(f.accounts->disable("amina").ok());
    CHECK_FALSE(f.sessions->check(b.token).ok());
    CHECK(f.sessions->login("amina", "a new long passphrase", "192.0.2.1").outcome == Outcome::wrong);
  }

  TEST_CASE("failed logins wait longer and longer per handle and address, per handle, and per address") {
    Fixture f;
    // Four failures from one address: no wait yet. The fifth sets a 1 s
    // wait there, then 2 s, 4 s...
    for (int i = 0; i < 4; ++i) CHECK(f.sessions->login("amina", "wrong guess", "192.0.2.1").outcome == Outcome::wrong);
    CHECK(f.sessions->login("amina", "wrong guess", "192.0.2.1").outcome == Outcome::wrong);
    LoginResult locked = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    CHECK(locked.outcome == Outcome::locked);  // even with the right password
    CHECK(locked.retryAfter == std::chrono::seconds(1));
    // A stranger's guesses elsewhere do not lock the member out.
    CHECK(f.sessions->login("amina", "river wells in march", "192.0.2.9").outcome == Outcome::ok);
    f.advance(std::chrono::seconds(1));
    CHECK(f.sessions->login("amina", "wrong guess", "192.0.2.1").outcome == Outcome::wrong);
    CHECK(f.sessions->login("amina", "wrong guess", "192.0.2.1").retryAfter == std::chrono::seconds(2));
    f.advance(std::chrono::seconds(2));
    // The right password after the wait: in, and the handle's count is cleared.
    CHECK(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);
    CHECK(f.sessions->login("amina", "wrong guess", "192.0.2.1").outcome == Outcome::wrong);
    CHECK(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);

    // Unknown handles are counted alike (nothing tells them apart).
    for (int i = 0; i < 5; ++i) CHECK(f.sessions->login("nobody", "guess", "198.51.100.7").outcome == Outcome::wrong);
    CHECK(f.sessions->login("nobody", "guess", "198.51.100.7").outcome == Outcome::locked);
    // One address guessing many handles waits after 20 failures, and its
    // own member's success does not clear that.
    for (int i = 0; i < 19; ++i) f.sessions->login("user" + std::to_string(i), "guess", "203.0.113.5");
    CHECK(f.sessions->login("amina", "river wells in march", "203.0.113.5").outcome == Outcome::ok);
    f.sessions->login("user19", "guess", "203.0.113.5");
    CHECK(f.sessions->login("amina", "river wells in march", "203.0.113.5").outcome == Outcome::locked);
    CHECK(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);  // elsewhere: fine
    // One handle guessed from everywhere waits after 50 failures.
    for (int i = 0; i < 50; ++i) f.sessions->login("bo", "guess", "10.0." + std::to_string(i) + ".1");
    CHECK(f.sessions->login("bo", "guess", "10.9.9.9").outcome == Outcome::locked);
    // An IPv6 host is one /64: changing the low bits does not escape.
    for (int i = 0; i < 5; ++i) f.sessions->login("cy", "guess", "2001:db8:1:2::" + std::to_string(i + 1));
    CHECK(f.sessions->login("cy", "guess", "2001:db8:1:2::ffff").outcome == Outcome::locked);
    CHECK(f.sessions->login("cy", "guess", "2001:db8:1:3::1").outcome == Outcome::wrong);  // another /64
    // A malformed handle is refused like a wrong password, and not counted.
    for (int i = 0; i < 30; ++i)
      CHECK(f.sessions->login(std::string(300, 'X') + std::to_string(i), "guess", "192.0.2.77").outcome == Outcome::wrong);
    CHECK(f.sessions->login("amina", "river wells in march", "192.0.2.77").outcome == Outcome::ok);
  }

  TEST_CASE("the wait after failures stops growing at its maximum") {
    daemon::SessionOptions o;
    o.maxDelay = std::chrono::seconds(60);
    Fixture f(o);
    std::chrono::seconds last{0};
    for (int i = 0; i < 30; ++i) {
      LoginResult r = f.sessions->login("amina", "wrong guess", "192.0.2.1");
      if (r.outcome == Outcome::locked) {
        last = r.retryAfter;
        f.advance(r.retryAfter);
      }
    }
    CHECK(last == std::chrono::seconds(60));
  }

  TEST_CASE("1,000 guesses at one password are checked at most 100 times an hour, and the member gets in after") {
    Fixture f;  // the default delays: what a node runs with
    // The fastest attacker the throttle allows: a new address for every
    // guess (so only the per-handle count holds it back), waiting exactly
    // as long as each refusal says. Only a "wrong" answer checked a guess.
    std::vector<std::int64_t> checked;
    int attempts = 0;
    while (attempts < 1000) {
      LoginResult r = f.sessions->login("amina", "guess " + std::to_string(attempts),
                                        "10." + std::to_string(attempts / 250) + "." + std::to_string(attempts % 250) + ".1");
      ++attempts;
      if (r.outcome == Outcome::wrong) checked.push_back(f.clock);
      else if (r.outcome == Outcome::locked) f.advance(r.retryAfter);
      else FAIL("a guess logged in");
    }
    std::size_t worstHour = 0;
    for (std::size_t i = 0, j = 0; j < checked.size(); ++j) {
      while (checked[j] - checked[i] >= 3'600'000) ++i;
      worstHour = std::max(worstHour, j - i + 1);
    }
    MESSAGE(attempts << " attempts over " << (f.clock - 1'800'000'000'000) / 3'600'000 << " h; " << checked.size()
                     << " checked; at most " << worstHour << " in any hour");
    CHECK(worstHour <= 100);  // OWASP's ceiling for one account
    CHECK(checked.size() < 1000);
    // The attack over, the member waits out the last refusal and is in.
    LoginResult first = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    if (first.outcome == Outcome::locked) {
      CHECK(first.retryAfter <= std::chrono::minutes(15));
      f.advance(first.retryAfter);
    }
    CHECK(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);
  }

  TEST_CASE("expired sessions' rows are swept away by a later login") {
    daemon::SessionOptions o;
    o.idle = std::chrono::minutes(30);
    Fixture f(o);
    REQUIRE(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);
    REQUIRE(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);
    CHECK(f.store->listLocal(store::LocalTable::session).size() == 2);
    f.advance(std::chrono::hours(2));
    REQUIRE(f.sessions->login("amina", "river wells in march", "192.0.2.1").outcome == Outcome::ok);
    CHECK(f.store->listLocal(store::LocalTable::session).size() == 1);  // only the new one
  }

  TEST_CASE("a sysadmin's reset can end every session of an account") {
    Fixture f;
    LoginResult a = f.sessions->login("amina", "river wells in march", "192.0.2.1");
    LoginResult b = f.sessions->login("amina", "river wells in march", "192.0.2.2");
    REQUIRE(f.sessions->endAll("amina").ok());
    CHECK_FALSE(f.sessions->check(a.token).ok());
    CHECK_FALSE(f.sessions->check(b.token).ok());
  }
}

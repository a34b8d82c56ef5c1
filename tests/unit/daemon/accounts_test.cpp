// Member accounts (daemon/accounts.hpp) on a real store: the password rules,
// hashing and checking with scrypt, disable and reset, and the row format.
// A low scrypt cost keeps the tests quick; the daemon uses OWASP's.
#include "tests/support/doctest.hpp"
#include "tests/support/temp_dir.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include "daemon/accounts.hpp"
#include "store/store.hpp"

using namespace civnet;
using civnet::daemon::Account;
using civnet::daemon::Accounts;
using civnet::daemon::ScryptCost;

namespace {

struct Fixture {
  civnet::test::TempDir dir;
  std::unique_ptr<store::Store> store;
  PublicKey org = PrivateKey::generate().publicKey();
  Fixture() {
    store::Options o;
    o.createIfMissing = true;
    auto s = store::Store::open(dir.path() / "store", o);
    REQUIRE(s.ok());
    store = std::move(s).value();
  }
};

constexpr ScryptCost kQuick{10, 8, 1};  // N = 1024: milliseconds

bool mentions(const Status& s, std::string_view what) { return s.message().find(what) != std::string::npos; }

}  // namespace

TEST_SUITE("accounts") {
  TEST_CASE("a new password must be long enough, not a common one, and not the handle or the name") {
    using daemon::checkNewPassword;
    CHECK(mentions(checkNewPassword("short", "amina", "Amina"), "shorter than 12 characters"));
    // Twelve characters counted as characters, not bytes.
    CHECK(checkNewPassword("ñandú ñandú ñ", "amina", "Amina").ok());
    CHECK(mentions(checkNewPassword("ñandú ñandú", "amina", "Amina"), "shorter than 12"));
    CHECK(mentions(checkNewPassword("Password1234", "amina", "Amina"), "most common passwords"));
    CHECK(mentions(checkNewPassword("QWERTYUIOP123", "amina", "Amina"), "most common passwords"));
    CHECK(mentions(checkNewPassword("amina.okafor1", "amina.okafor1", "Amina"), "handle or name"));
    CHECK(mentions(checkNewPassword(std::string(1025, 'x'), "amina", "Amina"), "longer than 1024 bytes"));
    CHECK(checkNewPassword("river wells in march", "amina", "Amina").ok());
  }

  TEST_CASE("a handle is 2 to 32 lower-case letters, digits, dots, dashes and underscores") {
    using daemon::checkHandle;
    CHECK(checkHandle("amina.okafor").ok());
    CHECK(checkHandle("j2").ok());
    CHECK(mentions(checkHandle("a"), "2 to 32"));
    CHECK(mentions(checkHandle("Amina"), "lower case"));
    CHECK(mentions(checkHandle("ami na"), "lower case"));
    CHECK(mentions(checkHandle("-amina"), "starts with a letter or a digit"));
    CHECK(mentions(checkHandle(std::string(33, 'a')), "2 to 32"));
  }

  TEST_CASE("an account logs in with its password only, and every failure reads the same") {
    Fixture f;
    Accounts accounts(*f.store, kQuick);
    auto added = accounts.add("amina", "Amina Okafor", f.org, false, std::string("river wells in march"));
    REQUIRE(added.ok());
    CHECK_FALSE(added->has_value());  // chosen, not generated: nothing to print
    auto ok = accounts.verify("amina", "river wells in march");
    REQUIRE(ok.ok());
    CHECK(ok->name == "Amina Okafor");
    CHECK(ok->org == f.org);
    CHECK_FALSE(ok->mustChangePassword);
    auto wrong = accounts.verify("amina", "river wells in april");
    auto unknown = accounts.verify("nobody", "river wells in march");
    REQUIRE_FALSE(wrong.ok());
    REQUIRE_FALSE(unknown.ok());
    CHECK(wrong.status().code() == StatusCode::permissionDenied);
    CHECK(wrong.status().message() == unknown.status().message());
    CHECK(wrong.status().code() == unknown.status().code());
    // The stored row holds the hash and its parameters, never the password.
    auto row = f.store->getLocal(store::LocalTable::account, "amina");
    REQUIRE(row);
    CHECK(row->find("river wells") == std::string::npos);
    CHECK(row->find("scrypt$10$8$1$") != std::string::npos);
  }

  TEST_CASE("a hash made at another cost is made again at this one at the next login") {
    Fixture f;
    {
      Accounts before(*f.store, kQuick);
      REQUIRE(before.add("amina", "Amina Okafor", f.org, false, std::string("river wells in march")).ok());
    }
    Accounts after(*f.store, ScryptCost{11, 8, 2});
    CHECK_FALSE(after.verify("amina", "river wells in april").ok());  // a wrong password changes nothing
    CHECK(f.store->getLocal(store::LocalTable::account, "amina")->find("scrypt$10$8$1$") != std::string::npos);
    REQUIRE(after.verify("amina", "river wells in march").ok());
    auto row = f.store->getLocal(store::LocalTable::account, "amina");
    REQUIRE(row);
    CHECK(row->find("scrypt$11$8$2$") != std::string::npos);
    CHECK(after.verify("amina", "river wells in march").ok());
    CHECK_FALSE(after.verify("amina", "river wells in april").ok());
  }

  TEST_CASE("a generated password is returned once, works, and asks for a change") {
    Fixture f;
    Accounts accounts(*f.store, kQuick);
    auto added = accounts.add("bo", "Bo", f.org, true, std::nullopt);
    REQUIRE(added.ok());
    REQUIRE(added->has_value());
    const std::string pw = **added;
    CHECK(pw.size() == 20);
    CHECK(pw.find_first_of("0O1lI") == std::string::npos);
    auto a = accounts.verify("bo", pw);
    REQUIRE(a.ok());
    CHECK(a->admin);
    CHECK(a->mustChangePassword);
    // Another generated password differs.
    auto other = accounts.add("cy", "Cy", f.org, false, std::nullopt);
    REQUIRE(other.ok());
    CHECK(**other != pw);
    // Changing it: the rules apply, the old one stops working.
    CHECK(mentions(accounts.changePassword("bo", pw, "short"), "shorter than"));
    CHECK(accounts.changePassword("bo", "not the password", "a brand new phrase").code() == StatusCode::permissionDenied);
    REQUIRE(accounts.changePassword("bo", pw, "a brand new phrase").ok());
    CHECK_FALSE(accounts.verify("bo", pw).ok());
    auto after = accounts.verify("bo", "a brand new phrase");
    REQUIRE(after.ok());
    CHECK_FALSE(after->mustChangePassword);
  }

  TEST_CASE("a taken handle, a bad name or a weak password adds nothing") {
    Fixture f;
    Accounts accounts(*f.store, kQuick);
    REQUIRE(accounts.add("amina", "Amina", f.org, false, std::string("river wells in march")).ok());
    auto again = accounts.add("amina", "Someone Else", f.org, false, std::string("another long phrase"));
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == StatusCode::alreadyExists);
    CHECK(mentions(accounts.add("bo", "", f.org, false, std::nullopt).status(), "name is empty"));
    CHECK(mentions(accounts.add("bo", "Bo\nAdmin", f.org, false, std::nullopt).status(), "control character"));
    CHECK(mentions(accounts.add("bo", "Bo", f.org, false, std::string("password1234")).status(), "common"));
    CHECK(mentions(accounts.add("B O", "Bo", f.org, false, std::nullopt).status(), "handle"));
    auto all = accounts.list();
    REQUIRE(all.size() == 1);
    CHECK(all[0].name == "Amina");
  }

  TEST_CASE("a disabled account cannot log in until a reset; a reset replaces the password") {
    Fixture f;
    Accounts accounts(*f.store, kQuick);
    REQUIRE(accounts.add("amina", "Amina", f.org, false, std::string("river wells in march")).ok());
    REQUIRE(accounts.disable("amina").ok());
    CHECK(accounts.get("amina")->disabled);
    auto refused = accounts.verify("amina", "river wells in march");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() == "wrong handle or password");
    CHECK(accounts.disable("nobody").code() == StatusCode::notFound);
    auto reset = accounts.reset("amina", std::nullopt);
    REQUIRE(reset.ok());
    REQUIRE(reset->has_value());
    CHECK_FALSE(accounts.verify("amina", "river wells in march").ok());
    auto back = accounts.verify("amina", **reset);
    REQUIRE(back.ok());
    CHECK(back->mustChangePassword);
    CHECK_FALSE(back->disabled);
    CHECK(mentions(accounts.reset("amina", std::string("qwertyuiop123")).status(), "common"));
  }

  TEST_CASE("no more than the allowed number of hashes run at once") {
    Fixture f;
    Accounts accounts(*f.store, ScryptCost{14, 8, 1}, 2);  // 16 MiB each: long enough to overlap
    REQUIRE(accounts.add("amina", "Amina", f.org, false, std::string("river wells in march")).ok());
    std::atomic<int> passed{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 6; ++i)
      ts.emplace_back([&] { passed += accounts.verify("amina", "river wells in march").ok(); });
    for (auto& t : ts) t.join();
    CHECK(passed == 6);  // all answered, none refused for waiting
    CHECK(accounts.peakConcurrentHashes() <= 2);
    CHECK(accounts.peakConcurrentHashes() >= 1);
  }

  TEST_CASE("the row format reads back what it wrote, and refuses a damaged row") {
    Account a;
    a.handle = "amina";
    a.name = "Amina Okafor";
    a.org = PrivateKey::generate().publicKey();
    a.admin = true;
    a.passwordHash = "scrypt$17$8$1$00$11";
    a.createdAt = 1'700'000'000'000;
    a.passwordChangedAt = 1'700'000'000'001;
    a.mustChangePassword = true;
    auto back = daemon::decodeAccount(daemon::encodeAccount(a));
    REQUIRE(back.ok());
    CHECK(back->handle == a.handle);
    CHECK(back->name == a.name);
    CHECK(back->org == a.org);
    CHECK(back->admin);
    CHECK_FALSE(back->disabled);
    CHECK(back->mustChangePassword);
    CHECK(back->passwordHash == a.passwordHash);
    CHECK(back->createdAt == a.createdAt);
    CHECK(back->passwordChangedAt == a.passwordChangedAt);
    CHECK(mentions(daemon::decodeAccount("account 9\n").status(), "does not start with"));
    CHECK(mentions(daemon::decodeAccount("account 1\namina\n").status(), "lines"));
  }
}

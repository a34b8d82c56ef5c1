// A whole node's request handlers, without sockets, for the admin API and
// HTTP fuzz targets: a real store in a temporary directory, a one-steward
// network whose steward key this node holds, its organization admitted, a
// member account logged in, one post, the search index. Built once per
// fuzzing process; every input then runs against the same (growing) node.
//
// Inputs may name what they cannot know, and the target substitutes it:
// @ORG@ the organization's feed key, @STEWARD@ the steward's, @POST@ the
// post's id, @SESSION@ the member's session token, @CSRF@ its CSRF token.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/accounts.hpp"
#include "daemon/admin_api.hpp"
#include "daemon/data_dir.hpp"
#include "daemon/hosted_orgs.hpp"
#include "daemon/member_api.hpp"
#include "daemon/search.hpp"
#include "daemon/sessions.hpp"
#include "federation/membership_tracker.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace civnet::fuzz {

// With CIVNET_FUZZ_SHOW set, each answer's status and the start of its
// body go to stderr: to see what a corpus file reaches.
inline void show(unsigned status, std::string_view body) {
  static const bool on = std::getenv("CIVNET_FUZZ_SHOW") != nullptr;
  if (on) std::fprintf(stderr, "  -> %u %.*s\n", status, static_cast<int>(std::min<std::size_t>(body.size(), 160)), body.data());
}

inline void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("fuzz fixture: " + what);
}

inline PrivateKey keyFromByte(std::uint8_t b) {
  Bytes seed(32, b);
  auto k = PrivateKey::fromSeed(seed);
  require(k.ok(), "key from seed");
  return std::move(k).value();
}

class FuzzNode {
 public:
  FuzzNode() {
    genesis_.name = "Fuzz network";
    genesis_.stewards.push_back(steward_.publicKey());
    genesis_.threshold = 1;
    genesis_.createdAt = 1'700'000'000'000;
    require(genesis_.sign(steward_).ok(), "genesis");
    store::Options o;
    o.createIfMissing = true;
    auto s = store::Store::open(dir_.path() / "store", o);
    require(s.ok(), "store: " + (s.ok() ? std::string() : s.status().message()));
    store_ = std::move(s).value();
    require(store_->setNetwork(genesis_.networkId()).ok(), "setNetwork");
    tracker_ = std::make_unique<federation::MembershipTracker>(genesis_, *store_);
    require(tracker_->load().ok(), "tracker");
    store_->setPolicy(tracker_.get());
    std::filesystem::create_directories(dir_.path() / "keys");
    orgs_ = std::make_unique<daemon::HostedOrgs>(daemon::DataDir{dir_.path()}, *store_, keyFromByte(2), "Fuzz Org",
                                                 keyFromByte(3).publicKey());
    accounts_ = std::make_unique<daemon::Accounts>(*store_, daemon::ScryptCost{10, 8, 1});
    sessions_ = std::make_unique<daemon::Sessions>(*store_, *accounts_);
    auto search = daemon::SearchIndex::open(dir_.path() / "search", *store_, log_);
    require(search.ok(), "search index");
    search_ = std::move(search).value();

    daemon::NodeInfo info;
    info.nodeKey = keyFromByte(3).publicKey();
    info.stewardKey = steward_.publicKey();
    info.network = genesis_.networkId();
    info.networkName = genesis_.name;
    info.version = "fuzz";
    daemon::MembershipServices services;
    services.stewardKey = &steward_;
    services.membership = tracker_.get();
    services.accounts = accounts_.get();
    services.search = search_.get();
    admin_ = std::make_unique<daemon::AdminApi>(*store_, *orgs_, info, daemon::ApiLimits{}, log_, services);
    member_ = std::make_unique<daemon::MemberApi>(*accounts_, *sessions_, *orgs_, *store_, *tracker_, log_,
                                                  search_.get());

    org_ = keyFromByte(2).publicKey().hex();
    auto admitted = admin_->handle({"POST", "/v1/admit",
                                    R"({"feed_key": ")" + org_ + R"(", "name": "Fuzz Org", "region": "Fuzz"})"});
    require(admitted.status == 201, "admit: " + admitted.body);
    auto posted =
        admin_->handle({"POST", "/v1/publish", R"({"title": "A first post", "body": "Some *Markdown*", "tags": ["x"]})"});
    require(posted.status == 201, "publish: " + posted.body);
    const auto at = posted.body.find(R"("id":")");
    require(at != std::string::npos, "publish answer without an id");
    post_ = posted.body.substr(at + 6, 64);
    require(accounts_->add("fuzz", "Fuzz Member", keyFromByte(2).publicKey(), true, std::string(kPassword)).ok(),
            "account");
    login();
  }
  ~FuzzNode() {
    member_.reset();
    admin_.reset();
    search_.reset();
    store_->setPolicy(nullptr);
  }

  daemon::AdminApi& admin() { return *admin_; }
  daemon::MemberApi& member() { return *member_; }

  // `in` with the placeholders replaced.
  std::string substitute(std::string in) const {
    replaceAll(in, "@ORG@", org_);
    replaceAll(in, "@STEWARD@", steward_.publicKey().hex());
    replaceAll(in, "@POST@", post_);
    replaceAll(in, "@SESSION@", token_);
    replaceAll(in, "@CSRF@", csrf_);
    return in;
  }

  // After an input that may have ended the session (logout, a password
  // change, a disabled account): a live one again.
  void keepSession() {
    if (sessions_->check(token_, false).ok()) return;
    (void)accounts_->reset("fuzz", std::string(kPassword));
    login();
  }

 private:
  static constexpr std::string_view kPassword = "fuzzing-password-0123";

  static void replaceAll(std::string& s, std::string_view from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  }

  void login() {
    auto r = sessions_->login("fuzz", kPassword, "fixture");
    if (r.outcome != daemon::LoginResult::Outcome::ok) return;  // throttled by the inputs: go on without
    token_ = r.token;
    csrf_ = r.session.csrf;
  }

  test::TempDir dir_{"civnet-fuzz"};
  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  PrivateKey steward_ = keyFromByte(1);
  record::Genesis genesis_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<federation::MembershipTracker> tracker_;
  std::unique_ptr<daemon::HostedOrgs> orgs_;
  std::unique_ptr<daemon::Accounts> accounts_;
  std::unique_ptr<daemon::Sessions> sessions_;
  std::unique_ptr<daemon::SearchIndex> search_;
  std::unique_ptr<daemon::AdminApi> admin_;
  std::unique_ptr<daemon::MemberApi> member_;
  std::string org_, post_, token_, csrf_;
};

}  // namespace civnet::fuzz

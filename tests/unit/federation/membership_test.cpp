// Unit tests of the membership view (federation/membership.hpp): each rule
// of docs/membership.md, and the property that the view is a function of
// the records held, whatever order they arrived in.
#include "tests/support/doctest.hpp"

#include <algorithm>
#include <map>
#include <random>

#include "federation/membership.hpp"
#include "schemas/content.hpp"
#include "schemas/genesis.hpp"

using namespace civnet;
using federation::AttestationEntry;
using federation::HeldEntry;
using federation::MemberState;
using federation::MembershipView;
using record::Kind;
using record::Verdict;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

std::string stateOf(const MembershipView& v, const PublicKey& feed) {
  auto it = v.feeds.find(feed);
  return it == v.feeds.end() ? "absent" : federation::toString(it->second.state);
}

// A small world: stewards' and organizations' feeds, written entry by
// entry, from which the view's input is built.
struct World {
  std::vector<PrivateKey> stewards;
  record::Genesis genesis;
  std::map<PublicKey, std::vector<AttestationEntry>> feeds;  // every entry, by author
  std::map<PublicKey, std::vector<HeldEntry>> heldKinds;       // kind and id per seq
  std::int64_t clock = kT0;

  World(int n, std::uint32_t k) {
    for (int i = 0; i < n; ++i) stewards.push_back(PrivateKey::generate());
    genesis.name = "Test";
    for (auto& s : stewards) genesis.stewards.push_back(s.publicKey());
    genesis.threshold = k;
    genesis.createdAt = kT0;
  }
  const PublicKey& steward(int i) const { return stewards[i].publicKey(); }

  // Appends an entry to `author`'s feed; the id is derived from its place
  // and bytes (the view never checks signatures: the store did).
  record::EntryRef append(const PublicKey& author, Kind kind, Bytes content, std::int64_t at = 0) {
    auto& f = feeds[author];
    AttestationEntry e;
    e.author = author;
    e.seq = f.size() + 1;
    e.timestamp = at ? at : (clock += 1000);
    e.kind = static_cast<std::uint16_t>(kind);
    Bytes seed = content;
    seed.insert(seed.end(), author.bytes.begin(), author.bytes.end());
    seed.push_back(static_cast<std::uint8_t>(e.seq));
    e.id = sha256(seed);
    e.content = std::move(content);
    f.push_back(e);
    heldKinds[author].push_back(HeldEntry{e.id, e.kind});
    return {author, e.seq, e.id};
  }
  record::EntryRef post(const PublicKey& author, std::int64_t at = 0) {
    record::Post p;
    p.title = "post";
    return append(author, Kind::post, record::encodePost(p), at);
  }
  record::EntryRef profile(const PublicKey& author, const PublicKey& node) {
    record::Profile p;
    p.name = "Org";
    p.nodes.push_back(record::HostingNode{node, {}});
    return append(author, Kind::profile, record::encodeProfile(p));
  }
  record::EntryRef admit(int s, const PublicKey& feed, std::int64_t expiresAt = 0) {
    return admitBy(steward(s), feed, expiresAt);
  }
  record::EntryRef admitBy(const PublicKey& by, const PublicKey& feed, std::int64_t expiresAt = 0) {
    record::Admission a;
    a.feed = feed;
    a.name = "Org " + feed.shortHex();
    a.region = "Sahel";
    a.labels = {"women-led"};
    a.expiresAt = expiresAt;
    return append(by, Kind::admission, record::encodeAdmission(a));
  }
  record::EntryRef revoke(int s, const PublicKey& feed, std::uint64_t pinSeq) {
    record::Revocation r;
    r.feed = feed;
    r.pinSeq = pinSeq;
    if (pinSeq) r.pinId = feeds[feed][pinSeq - 1].id;
    r.reason = "test";
    return append(steward(s), Kind::revocation, record::encodeRevocation(r));
  }
  record::EntryRef lift(int s, const record::EntryRef& revocation) {
    return append(steward(s), Kind::lift, record::encodeLift({revocation}));
  }
  record::EntryRef takedown(int s, const record::EntryRef& target) {
    return append(steward(s), Kind::takedown, record::encodeTakedown({target, "abuse"}));
  }
  record::EntryRef retract(const PublicKey& author, const record::EntryRef& target) {
    return append(author, Kind::retraction, record::encodeRetraction({target, "mistake"}));
  }
  record::EntryRef stewardSet(int s, const record::StewardSet& set) {
    return append(steward(s), Kind::stewardSet, record::encodeStewardSet(set));
  }

  std::vector<AttestationEntry> attestations() const {
    std::vector<AttestationEntry> out;
    for (const auto& [author, entries] : feeds)
      for (const auto& e : entries)
        if (federation::isAttestationKind(e.kind) || e.kind == static_cast<std::uint16_t>(Kind::retraction) ||
            e.kind == static_cast<std::uint16_t>(Kind::profile))
          out.push_back(e);
    return out;
  }

  MembershipView view(std::vector<AttestationEntry> entries, std::int64_t asOf = 0) const {
    federation::MembershipInput in;
    in.genesis = &genesis;
    in.entries = entries;
    in.asOf = asOf ? asOf : clock;
    in.held = [this](const PublicKey& f, std::uint64_t seq) -> std::optional<HeldEntry> {
      auto it = heldKinds.find(f);
      if (it == heldKinds.end() || seq == 0 || seq > it->second.size()) return std::nullopt;
      return it->second[seq - 1];
    };
    return federation::computeMembership(in);
  }
  MembershipView view() const { return view(attestations()); }
};

}  // namespace

TEST_SUITE("membership") {
  TEST_CASE("an organization admitted by one of three stewards (k = 2) is pending, by two a member") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    CHECK(stateOf(w.view(), org) == "pending");
    CHECK(w.view().judge(org, 1, w.clock) == Verdict::notMember);
    w.admit(1, org);
    auto v = w.view();
    CHECK(stateOf(v, org) == "member");
    CHECK(v.feeds.at(org).admittedBy.size() == 2);
    CHECK(v.feeds.at(org).details->region == "Sahel");
    CHECK(v.judge(org, 1, w.clock) == Verdict::accepted);
  }

  TEST_CASE("the same steward admitting twice still counts once") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(0, org);
    CHECK(stateOf(w.view(), org) == "pending");
  }

  TEST_CASE("an admission by a non-steward grants nothing and is reported") {
    World w(3, 1);
    auto org = PrivateKey::generate().publicKey();
    auto stranger = PrivateKey::generate().publicKey();
    w.admitBy(stranger, org);
    auto v = w.view();
    CHECK(stateOf(v, org) == "absent");
    CHECK(v.judge(org, 1, w.clock) == Verdict::notMember);
    REQUIRE(v.ignored.size() == 1);
    CHECK(v.ignored[0].find("not by a steward") != std::string::npos);
  }

  TEST_CASE("expiry is judged by the entry's own timestamp, not by the clock") {
    World w(1, 1);
    auto org = PrivateKey::generate().publicKey();
    const std::int64_t expires = kT0 + 1'000'000;
    w.admit(0, org, expires);
    auto v = w.view(w.attestations(), kT0 + 10);
    CHECK(stateOf(v, org) == "member");
    CHECK(v.judge(org, 5, expires - 1) == Verdict::accepted);
    CHECK(v.judge(org, 6, expires) == Verdict::notMember);
    CHECK(stateOf(w.view(w.attestations(), expires + 1), org) == "expired");
  }

  TEST_CASE("one steward's revocation suspends past its pin, and lifting it restores the member") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(1, org);
    for (int i = 0; i < 4; ++i) w.post(org);
    auto rev = w.revoke(0, org, 2);
    auto v = w.view();
    CHECK(stateOf(v, org) == "suspended");
    REQUIRE(v.feeds.at(org).suspendedAt);
    CHECK(v.feeds.at(org).suspendedAt->seq == 2);
    CHECK(v.feeds.at(org).suspendedAt->state == federation::PinState::held);
    CHECK(v.judge(org, 2, w.clock) == Verdict::accepted);
    CHECK(v.judge(org, 3, w.clock) == Verdict::suspended);
    w.lift(0, rev);
    v = w.view();
    CHECK(stateOf(v, org) == "member");
    CHECK(v.judge(org, 3, w.clock) == Verdict::accepted);
  }

  TEST_CASE("a steward cannot lift another steward's suspension") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(1, org);
    w.post(org);
    auto rev = w.revoke(0, org, 1);
    w.lift(1, rev);
    auto v = w.view();
    CHECK(stateOf(v, org) == "suspended");
    CHECK(std::any_of(v.ignored.begin(), v.ignored.end(),
                      [](const std::string& s) { return s.find("another steward's revocation") != std::string::npos; }));
  }

  TEST_CASE("k matching revocations revoke for good, even if one is lifted afterwards") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(1, org);
    for (int i = 0; i < 4; ++i) w.post(org);
    auto r0 = w.revoke(0, org, 2);
    w.revoke(2, org, 2);
    auto v = w.view();
    CHECK(stateOf(v, org) == "revoked");
    REQUIRE(v.feeds.at(org).revokedAt);
    CHECK(v.feeds.at(org).revokedAt->seq == 2);
    CHECK(v.judge(org, 2, w.clock) == Verdict::accepted);
    CHECK(v.judge(org, 3, w.clock) == Verdict::revoked);
    w.lift(0, r0);
    CHECK(stateOf(w.view(), org) == "revoked");
  }

  TEST_CASE("revocations at different pins do not match") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(1, org);
    for (int i = 0; i < 4; ++i) w.post(org);
    w.revoke(0, org, 2);
    w.revoke(1, org, 3);
    auto v = w.view();
    CHECK(stateOf(v, org) == "suspended");
    CHECK(v.feeds.at(org).suspendedAt->seq == 2);  // the lowest active pin
  }

  TEST_CASE("a revocation whose pin this node does not hold yet is pending, not refused") {
    World w(2, 1);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    for (int i = 0; i < 5; ++i) w.post(org);
    w.revoke(0, org, 5);
    w.heldKinds[org].resize(3);  // this node holds seqs 1..3 only
    auto v = w.view();
    REQUIRE(v.feeds.at(org).revokedAt);
    CHECK(v.feeds.at(org).revokedAt->state == federation::PinState::notYet);
    CHECK(v.judge(org, 5, w.clock) == Verdict::accepted);
    CHECK(v.judge(org, 6, w.clock) == Verdict::revoked);
  }

  TEST_CASE("with k = 1 every action is final at once") {
    World w(2, 1);
    auto org = PrivateKey::generate().publicKey();
    w.admit(1, org);
    CHECK(stateOf(w.view(), org) == "member");
    w.post(org);
    auto p = w.post(org);
    w.takedown(0, p);
    auto v = w.view();
    CHECK(v.erased.count(p) == 1);
    w.revoke(0, org, 1);
    CHECK(stateOf(w.view(), org) == "revoked");
  }

  TEST_CASE("one takedown hides an entry, k matching ones erase it") {
    World w(3, 2);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(1, org);
    auto p = w.post(org);
    w.takedown(0, p);
    auto v = w.view();
    CHECK(v.hidden.count(p) == 1);
    CHECK(v.erased.count(p) == 0);
    w.takedown(2, p);
    v = w.view();
    CHECK(v.erased.count(p) == 1);
  }

  TEST_CASE("a takedown of an entry not yet held is kept, to apply when it arrives") {
    World w(1, 1);
    auto org = PrivateKey::generate().publicKey();
    record::EntryRef future{org, 7, sha256(asBytes("not here yet"))};
    w.takedown(0, future);
    CHECK(w.view().erased.count(future) == 1);
  }

  TEST_CASE("takedowns and retractions cannot target attestations") {
    World w(2, 1);
    auto org = PrivateKey::generate().publicKey();
    auto admission = w.admit(0, org);
    w.takedown(1, admission);
    w.retract(w.steward(0), admission);
    auto v = w.view();
    CHECK(v.hidden.empty());
    CHECK(v.erased.empty());
    CHECK(stateOf(v, org) == "member");
    CHECK(v.ignored.size() == 2);
  }

  TEST_CASE("an organization retracts its own entries only") {
    World w(1, 1);
    auto a = PrivateKey::generate().publicKey();
    auto b = PrivateKey::generate().publicKey();
    w.admit(0, a);
    w.admit(0, b);
    auto pa = w.post(a);
    auto pb = w.post(b);
    w.retract(a, pa);
    w.retract(a, pb);
    auto v = w.view();
    CHECK(v.erased.count(pa) == 1);
    CHECK(v.erased.count(pb) == 0);
  }

  TEST_CASE("a steward set signed by k of the previous epoch replaces a lost steward key") {
    World w(3, 2);
    auto replacement = PrivateKey::generate();
    w.post(w.steward(2));  // the lost steward's feed has one entry
    record::StewardSet set;
    set.epoch = 1;
    set.previous = w.genesis.networkId();
    set.stewards = {w.steward(0), w.steward(1), replacement.publicKey()};
    set.threshold = 2;
    set.pins = {{w.steward(2), 1, w.feeds[w.steward(2)][0].id}};
    w.stewardSet(0, set);
    CHECK(w.view().epoch == 0);  // one signature of two
    w.stewardSet(1, set);
    auto v = w.view();
    CHECK(v.epoch == 1);
    CHECK(v.isSteward(replacement.publicKey()));
    CHECK_FALSE(v.isSteward(w.steward(2)));
    // The removed steward's attestations after its pin count no more.
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    w.admit(2, org);  // seq 2 of the removed steward's feed: past its pin
    v = w.view();
    CHECK(stateOf(v, org) == "pending");
    w.admitBy(replacement.publicKey(), org);
    CHECK(stateOf(w.view(), org) == "member");
  }

  TEST_CASE("a steward set signed by fewer than k, by non-stewards, or of an impossible shape changes nothing") {
    World w(3, 2);
    auto stranger = PrivateKey::generate();
    record::StewardSet set;
    set.epoch = 1;
    set.previous = w.genesis.networkId();
    set.stewards = {stranger.publicKey()};
    set.threshold = 1;
    w.stewardSet(0, set);
    w.append(stranger.publicKey(), Kind::stewardSet, record::encodeStewardSet(set));
    CHECK(w.view().epoch == 0);
    record::StewardSet impossible = set;
    impossible.threshold = 5;
    w.stewardSet(0, impossible);
    w.stewardSet(1, impossible);
    auto v = w.view();
    CHECK(v.epoch == 0);
    CHECK(std::any_of(v.ignored.begin(), v.ignored.end(),
                      [](const std::string& s) { return s.find("impossible") != std::string::npos; }));
  }

  TEST_CASE("member nodes are those named by the latest profile of a member or steward feed") {
    World w(3, 2);
    auto member = PrivateKey::generate().publicKey();
    auto pending = PrivateKey::generate().publicKey();
    auto oldNode = PrivateKey::generate().publicKey();
    auto newNode = PrivateKey::generate().publicKey();
    auto pendingNode = PrivateKey::generate().publicKey();
    auto stewardNode = PrivateKey::generate().publicKey();
    w.profile(member, oldNode);
    w.profile(member, newNode);  // moved to another node
    w.profile(pending, pendingNode);
    w.profile(w.steward(0), stewardNode);
    w.admit(0, member);
    w.admit(1, member);
    w.admit(0, pending);
    auto v = w.view();
    CHECK(v.memberNodes == std::set<PublicKey>{newNode, stewardNode});
    // Every feed's latest profile is kept, member or not, for the directory.
    REQUIRE(v.profiles.count(member) == 1);
    REQUIRE(v.profiles.at(member).profile.nodes.size() == 1);
    CHECK(v.profiles.at(member).profile.nodes[0].nodeKey == newNode);
    CHECK(v.profiles.at(member).entry.seq == 2);
    CHECK(v.profiles.at(pending).profile.nodes[0].nodeKey == pendingNode);
  }

  TEST_CASE("the view is the same for every arrival order of the same records") {
    std::mt19937_64 rng(20261129);
    for (std::uint32_t k : {1u, 2u}) {
      World w(4, k);
      std::vector<PublicKey> orgs;
      for (int i = 0; i < 8; ++i) orgs.push_back(PrivateKey::generate().publicKey());
      for (const auto& o : orgs) {
        for (int i = 0; i < 5; ++i) w.post(o);
        w.profile(o, PrivateKey::generate().publicKey());
        w.profile(o, PrivateKey::generate().publicKey());
      }
      std::vector<record::EntryRef> revs;
      auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
      for (int step = 0; step < 120; ++step) {
        const PublicKey& org = orgs[pick(orgs.size())];
        int s = static_cast<int>(pick(4));
        switch (pick(7)) {
          case 0:
          case 1: w.admit(s, org, pick(3) == 0 ? w.clock + 50'000 : 0); break;
          case 2: revs.push_back(w.revoke(s, org, 1 + pick(5))); break;
          case 3:
            if (!revs.empty()) {
              auto r = revs[pick(revs.size())];
              for (int i = 0; i < 4; ++i)
                if (w.steward(i) == r.author) w.lift(i, r);
            }
            break;
          case 4: w.takedown(s, {org, 1 + pick(5), w.feeds[org][pick(5)].id}); break;
          case 5: w.retract(org, {org, 1 + pick(5), w.feeds[org][pick(5)].id}); break;
          case 6: w.admitBy(PrivateKey::generate().publicKey(), org); break;
        }
      }
      // A steward-set change in the middle of it all.
      record::StewardSet set;
      set.epoch = 1;
      set.previous = w.genesis.networkId();
      set.stewards = {w.steward(0), w.steward(1), w.steward(2)};
      set.threshold = k;
      set.pins = {{w.steward(3), 3, Digest{}}};
      for (int i = 0; i < static_cast<int>(k); ++i) w.stewardSet(i, set);

      auto entries = w.attestations();
      const MembershipView reference = w.view(entries);
      CHECK(reference.epoch == 1);
      std::size_t members = 0;
      for (const auto& [f, m] : reference.feeds) members += m.state == MemberState::member ? 1 : 0;
      CAPTURE(k);
      CAPTURE(members);
      for (int order = 0; order < 300; ++order) {
        std::shuffle(entries.begin(), entries.end(), rng);
        REQUIRE(w.view(entries) == reference);
      }
    }
  }

  TEST_CASE("admissions applied in place give the view computed afresh, and anything else is refused") {
    std::mt19937_64 rng(20261130);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const std::int64_t asOf = kT0 + 300'000;
    std::size_t applied = 0;
    for (std::uint32_t k : {1u, 2u}) {
      World w(4, k);
      std::vector<PublicKey> orgs;
      for (int i = 0; i < 10; ++i) {
        orgs.push_back(PrivateKey::generate().publicKey());
        for (int j = 0; j < 3; ++j) w.post(orgs.back());
        if (i % 2 == 0) w.profile(orgs.back(), PrivateKey::generate().publicKey());
      }
      for (int round = 0; round < 150; ++round) {
        // Something else first: the view the admissions are applied to has
        // revocations, lifts, takedowns and a steward set in it.
        const PublicKey& org = orgs[pick(orgs.size())];
        switch (pick(5)) {
          case 0: w.revoke(static_cast<int>(pick(3)), org, 1 + pick(3)); break;
          case 1: w.takedown(static_cast<int>(pick(3)), {org, 1 + pick(3), w.feeds[org][0].id}); break;
          case 2: w.profile(org, PrivateKey::generate().publicKey()); break;
          default: break;
        }
        if (round == 75) {  // steward 3 leaves; its later admissions count no more
          record::StewardSet set;
          set.epoch = 1;
          set.previous = w.genesis.networkId();
          set.stewards = {w.steward(0), w.steward(1), w.steward(2)};
          set.threshold = k;
          for (int i = 0; i < static_cast<int>(k); ++i) w.stewardSet(i, set);
        }
        const auto before = w.attestations();
        MembershipView view = w.view(before, asOf);
        bool stewardsOnly = true;
        for (std::size_t n = 1 + pick(3); n > 0; --n) {
          const PublicKey feed = pick(4) == 0 ? PrivateKey::generate().publicKey() : orgs[pick(orgs.size())];
          const std::int64_t expiry = pick(3) == 0 ? asOf - 50'000 + static_cast<std::int64_t>(pick(100'000)) : 0;
          const std::size_t by = pick(10);
          if (by == 9) {
            w.admitBy(PrivateKey::generate().publicKey(), feed, expiry);
            stewardsOnly = false;
          } else {
            const int s = static_cast<int>(by % 4);
            w.admit(s, feed, expiry);
            if (s == 3 && round >= 75) stewardsOnly = false;
          }
        }
        const auto after = w.attestations();
        std::vector<AttestationEntry> added;
        for (const auto& e : after)
          if (std::none_of(before.begin(), before.end(), [&](const AttestationEntry& b) { return b.id == e.id; }))
            added.push_back(e);
        CAPTURE(k);
        CAPTURE(round);
        const MembershipView unchanged = view;
        auto admitted = federation::applyAdmissions(view, added, asOf);
        REQUIRE(admitted.has_value() == stewardsOnly);
        if (admitted) {
          ++applied;
          CHECK(view == w.view(after, asOf));
        } else {
          CHECK(view == unchanged);
        }
      }
    }
    CHECK(applied > 100);  // the in-place path was the one tested
  }

  TEST_CASE("an admission a takedown or retraction already names is not applied in place") {
    World w(2, 1);
    auto org = PrivateKey::generate().publicKey();
    w.admit(0, org);
    auto entries = w.attestations();
    MembershipView view = w.view({});
    view.hidden.insert(record::EntryRef{entries[0].author, entries[0].seq, entries[0].id});
    CHECK_FALSE(federation::applyAdmissions(view, entries, w.clock).has_value());
    CHECK(view.feeds.empty());
  }
}

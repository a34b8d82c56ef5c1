// The organizations a node hosts, and their feed keys.
//
// A small organization's node hosts its own feed (the one `civnetd init`
// made, keys/org.key); a regional hub also hosts the feeds of organizations
// that have no server of their own, each added with `civnetctl orgs add NAME`
// (keys/orgs/<feed key>.key), so each stays separately admitted, revocable
// and movable. Every organization's entries are signed by its own feed key.
//
// Adding one writes, in this order: the key file (fsynced, and its directory
// entry), the organization's name in the store's meta table (synced), then
// its first profile entry (naming this node's key). A crash in between
// leaves nothing that counts: a key file whose name was never recorded is
// skipped (and reported) at the next start; a recorded organization whose
// feed is still empty gets its profile published at the next start.
//
// Thread safety: every method may be called from several threads; add() is
// serialised. Keys are never removed, so a pointer key() returns stays
// valid for the object's lifetime.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "daemon/data_dir.hpp"
#include "schemas/content.hpp"
#include "schemas/crypto.hpp"
#include "schemas/status.hpp"

namespace civnet::store { class Store; }

namespace civnet::daemon {

class DirSync;

// A feed's latest profile entry this node holds, decoded.
std::optional<std::pair<record::Entry, record::Profile>> latestProfile(const store::Store& st, const PublicKey& feed);

// What an organization may change in its own profile (the name it was
// added with, and the nodes that host it, stay).
struct ProfileFields {
  std::string region;
  std::string country;
  std::vector<std::string> focusAreas;
  std::vector<std::string> labels;
  std::string contact;
};

class HostedOrgs {
 public:
  struct Org {
    std::string name;
    PublicKey feed;
    bool primary = false;  // the organization init made
  };
  struct Added {
    Org org;
    Digest profileId;  // its first profile entry
  };

  // Only the organization init made, until load(). REQUIRES: `store` and
  // `sync` (nullptr: systemDirSync()) outlive this object.
  HostedOrgs(DataDir dir, store::Store& store, PrivateKey primary, std::string primaryName, PublicKey nodeKey,
             const DirSync* sync = nullptr);
  ~HostedOrgs();
  HostedOrgs(const HostedOrgs&) = delete;
  HostedOrgs& operator=(const HostedOrgs&) = delete;

  // Loads the organizations added with add(). Refuses a key file readable by
  // others and one whose key is not the one its name says. Appends a line to
  // `notes` for each thing it skipped or finished (see above).
  Status load(std::vector<std::string>& notes);

  // The primary organization first, then the others by name.
  std::vector<Org> list() const;
  Org primary() const;
  // The key of a feed this node hosts, or nullptr.
  const PrivateKey* key(const PublicKey& feed) const;
  // A hosted organization by its name (ignoring ASCII case) or its feed key
  // (64 hex characters, or a prefix of at least 8). notFound names what was
  // looked for; invalidArgument when a prefix matches several.
  Result<Org> find(std::string_view nameOrKey) const;

  // `civnetctl orgs add NAME`: a new feed key for an organization this node
  // will host, and its first profile. Refuses a name that is not acceptable
  // (validateName) or that a hosted organization already has.
  Result<Added> add(const std::string& name);
  // What a hosted organization says of itself now: its latest profile
  // (one with only its name before any). notFound if not hosted here.
  Result<record::Profile> profile(const PublicKey& feed) const;
  // Publishes a new profile of a hosted organization with `f`, keeping its
  // name and hosting nodes (nothing when nothing changes). Refused: not
  // hosted here, a field the profile rules refuse. One at a time (each
  // starts from the latest).
  Result<record::Profile> updateProfile(const PublicKey& feed, const ProfileFields& f);

 private:
  struct Held {
    Org org;
    std::unique_ptr<PrivateKey> key;
  };
  const Held* findLocked(std::string_view nameOrKey, Status& why) const;

  const DataDir dir_;
  store::Store& store_;
  const PublicKey nodeKey_;
  const DirSync& sync_;
  mutable std::mutex mu_;
  std::vector<Held> orgs_;  // guarded by mu_; [0] is the primary
  std::mutex addMu_;        // one add() at a time
  std::mutex profileMu_;    // one updateProfile() at a time
};

// The store meta row naming a hosted organization ("node.hosted_org.<hex>").
std::string hostedOrgMetaName(const PublicKey& feed);

}  // namespace civnet::daemon

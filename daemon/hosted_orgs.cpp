// The organizations a node hosts (see hosted_orgs.hpp).
#include "hosted_orgs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "daemon/node_setup.hpp"
#include "store/store.hpp"

namespace civnet::daemon {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMinKeyPrefix = 8;

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lowerAscii(x) == lowerAscii(y); });
}

bool isLowerHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

fs::path orgKeyPath(const DataDir& d, const PublicKey& feed) { return d.hostedOrgsDir() / (feed.hex() + ".key"); }

}  // namespace

std::string hostedOrgMetaName(const PublicKey& feed) { return "node.hosted_org." + feed.hex(); }

HostedOrgs::HostedOrgs(DataDir dir, store::Store& store, PrivateKey primary, std::string primaryName,
                       PublicKey nodeKey, const DirSync* sync)
    : dir_(std::move(dir)), store_(store), nodeKey_(nodeKey), sync_(sync ? *sync : systemDirSync()) {
  Held h;
  h.org = Org{std::move(primaryName), primary.publicKey(), true};
  h.key = std::make_unique<PrivateKey>(std::move(primary));
  orgs_.push_back(std::move(h));
}

HostedOrgs::~HostedOrgs() = default;

Status HostedOrgs::load(std::vector<std::string>& notes) {
  const fs::path d = dir_.hostedOrgsDir();
  std::error_code ec;
  if (!fs::exists(d, ec)) return {};
  std::vector<fs::path> files;
  for (const auto& de : fs::directory_iterator(d, ec)) {
    const fs::path& p = de.path();
    if (p.extension() != ".key") continue;  // e.g. a temp file of a crashed write
    files.push_back(p);
  }
  if (ec) return ioError("listing " + d.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());

  std::vector<Held> loaded;
  for (const fs::path& p : files) {
    const std::string stem = p.stem().string();
    auto key = loadKeyFile(p);
    if (!key.ok()) return key.status();
    if (stem != key->publicKey().hex())
      return corruption(p.string() + " holds feed key " + key->publicKey().hex() +
                        ", not the key its name says; a hosted organization's key file is named by its feed key");
    auto name = store_.getMeta(hostedOrgMetaName(key->publicKey()));
    if (!name) {
      notes.push_back(p.string() + " is not a hosted organization (an `orgs add` was cut short before it was "
                                   "recorded): skipped; nothing was published with it, it can be deleted");
      continue;
    }
    if (!store_.tip(key->publicKey())) {
      auto profile = publishProfile(store_, *key, *name, nodeKey_);
      if (!profile.ok()) return profile.status().withContext("hosted organization \"" + *name + "\"");
      notes.push_back("hosted organization \"" + *name + "\" (feed " + key->publicKey().hex() +
                      "): published its first profile, which an interrupted `orgs add` had not");
    }
    Held h;
    h.org = Org{*name, key->publicKey(), false};
    h.key = std::make_unique<PrivateKey>(std::move(key).value());
    loaded.push_back(std::move(h));
  }
  std::lock_guard lk(mu_);
  for (Held& h : loaded) orgs_.push_back(std::move(h));
  return {};
}

std::vector<HostedOrgs::Org> HostedOrgs::list() const {
  std::vector<Org> out;
  {
    std::lock_guard lk(mu_);
    for (const Held& h : orgs_) out.push_back(h.org);
  }
  std::sort(out.begin() + 1, out.end(), [](const Org& a, const Org& b) {
    std::string la = lowered(a.name), lb = lowered(b.name);
    return la != lb ? la < lb : a.feed < b.feed;
  });
  return out;
}

HostedOrgs::Org HostedOrgs::primary() const {
  std::lock_guard lk(mu_);
  return orgs_.front().org;
}

const PrivateKey* HostedOrgs::key(const PublicKey& feed) const {
  std::lock_guard lk(mu_);
  for (const Held& h : orgs_)
    if (h.org.feed == feed) return h.key.get();
  return nullptr;
}

const HostedOrgs::Held* HostedOrgs::findLocked(std::string_view nameOrKey, Status& why) const {
  for (const Held& h : orgs_)
    if (sameName(h.org.name, nameOrKey)) return &h;
  const std::string prefix = lowered(nameOrKey);
  if (prefix.size() >= kMinKeyPrefix && prefix.size() <= 64 && isLowerHex(prefix)) {
    const Held* found = nullptr;
    for (const Held& h : orgs_) {
      if (!h.org.feed.hex().starts_with(prefix)) continue;
      if (found) {
        why = invalidArgument("\"" + std::string(nameOrKey) +
                              "\" is the start of the feed keys of several hosted organizations; give more of it");
        return nullptr;
      }
      found = &h;
    }
    if (found) return found;
  }
  why = notFound("this node hosts no organization named \"" + std::string(nameOrKey.substr(0, 200)) +
                 "\" or with that feed key (civnetctl orgs list shows them)");
  return nullptr;
}

Result<HostedOrgs::Org> HostedOrgs::find(std::string_view nameOrKey) const {
  std::lock_guard lk(mu_);
  Status why;
  const Held* h = findLocked(nameOrKey, why);
  if (!h) return why;
  return h->org;
}

std::optional<std::pair<record::Entry, record::Profile>> latestProfile(const store::Store& st, const PublicKey& feed) {
  store::Query q;
  q.author = feed;
  q.kind = static_cast<std::uint16_t>(record::Kind::profile);
  q.limit = 1;
  for (record::Entry& e : st.list(q))
    if (e.signedEntry.content)
      if (auto p = record::decodeProfile(*e.signedEntry.content); p.ok())
        return std::make_pair(std::move(e), std::move(p).value());
  return std::nullopt;
}

Result<record::Profile> HostedOrgs::profile(const PublicKey& feed) const {
  auto org = find(feed.hex());
  if (!org.ok()) return org.status();
  if (auto latest = latestProfile(store_, feed)) return latest->second;
  record::Profile p;
  p.name = org->name;
  return p;
}

Result<record::Profile> HostedOrgs::updateProfile(const PublicKey& feed, const ProfileFields& f) {
  const PrivateKey* k = key(feed);
  if (!k) return notFound("organization " + feed.shortHex() + " is not hosted on this node");
  std::lock_guard lk(profileMu_);
  auto p = profile(feed);
  if (!p.ok()) return p.status();
  // The same again publishes nothing (every profile entry goes to every node).
  if (p->region == f.region && p->country == f.country && p->focusAreas == f.focusAreas && p->labels == f.labels &&
      p->contact == f.contact && latestProfile(store_, feed))
    return p;
  p->region = f.region;
  p->country = f.country;
  p->focusAreas = f.focusAreas;
  p->labels = f.labels;
  p->contact = f.contact;
  if (auto s = record::validateProfile(*p); !s.ok()) return s;
  auto e = store_.publish(*k, static_cast<std::uint16_t>(record::Kind::profile), record::encodeProfile(*p));
  if (!e.ok()) return e.status();
  return p;
}

Result<HostedOrgs::Added> HostedOrgs::add(const std::string& name) {
  if (auto s = validateName(name, "the organization name"); !s.ok()) return s;
  std::lock_guard addLock(addMu_);
  {
    std::lock_guard lk(mu_);
    for (const Held& h : orgs_)
      if (sameName(h.org.name, name))
        return alreadyExists("this node already hosts an organization named \"" + h.org.name + "\" (feed " +
                             h.org.feed.hex() + ")");
  }

  const fs::path d = dir_.hostedOrgsDir();
  std::error_code ec;
  if (!fs::exists(d, ec)) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
      return ioError("creating " + d.string() + ": " + std::strerror(errno));
    if (auto s = sync_.syncDir(dir_.keysDir()); !s.ok()) return s;
  }
  PrivateKey key = PrivateKey::generate();
  const PublicKey feed = key.publicKey();
  const fs::path path = orgKeyPath(dir_, feed);
  if (auto s = saveKeyFile(path, key); !s.ok()) return s;
  auto undo = [&] { ::unlink(path.c_str()); };
  if (auto s = sync_.syncDir(d); !s.ok()) {
    undo();
    return s;
  }
  if (auto s = store_.putMeta(hostedOrgMetaName(feed), name); !s.ok()) {
    undo();
    return s.withContext("recording hosted organization \"" + name + "\"");
  }
  // Recorded: from here on this node hosts it, whatever happens next.
  Org org{name, feed, false};
  const PrivateKey* signer = nullptr;
  {
    Held h;
    h.org = org;
    h.key = std::make_unique<PrivateKey>(std::move(key));
    signer = h.key.get();
    std::lock_guard lk(mu_);
    orgs_.push_back(std::move(h));
  }
  auto profile = publishProfile(store_, *signer, name, nodeKey_);
  if (!profile.ok())
    return Status(profile.status().code(),
                  "hosted organization \"" + name + "\" (feed " + feed.hex() +
                      ") is recorded, but its first profile was not published (" + profile.status().message() +
                      "); the next start of civnetd publishes it");
  Added added{org, profile->id};
  return added;
}

}  // namespace civnet::daemon

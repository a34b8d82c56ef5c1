// Wiring a running node by hand (see node.hpp): config -> logs -> keys ->
// socket check -> store -> network check -> admin API server.
#include "node.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "daemon/accounts.hpp"
#include "daemon/admin_api.hpp"
#include "daemon/admin_server.hpp"
#include "daemon/backup.hpp"
#include "daemon/member_api.hpp"
#include "daemon/member_server.hpp"
#include "daemon/search.hpp"
#include "daemon/sessions.hpp"
#include "daemon/config.hpp"
#include "daemon/data_dir.hpp"
#include "daemon/hosted_orgs.hpp"
#include "daemon/logging.hpp"
#include "daemon/node_setup.hpp"
#include "daemon/peer_book.hpp"
#include "daemon/publish_guard.hpp"
#include "daemon/reload.hpp"
#include "daemon/space_watch.hpp"
#include "federation/membership_tracker.hpp"
#include "federation/peer_network.hpp"
#include "schemas/content.hpp"
#include "schemas/genesis.hpp"
#include "store/store.hpp"

#ifndef CIVNET_VERSION
#define CIVNET_VERSION "unknown"
#endif

namespace civnet::daemon {

Status runNode(const RunOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path root = fs::absolute(options.dataDir, ec);
  if (ec) root = options.dataDir;
  DataDir dir{root.lexically_normal()};
  if (dir.root.filename().empty()) dir.root = dir.root.parent_path();
  if (auto s = checkIsNode(dir); !s.ok()) return s;

  auto config = loadConfig(dir.config());
  if (!config.ok()) return config.status();
  const Config fromFile = *config;  // what a reload compares the file with
  if (options.logLevel) {
    if (!isLogLevel(*options.logLevel))
      return invalidArgument("--log-level must be one of trace, debug, info, warn, error, critical, off");
    config->logLevel = *options.logLevel;
  }
  if (options.peerListen) {
    if (!options.peerListen->empty())
      if (auto a = federation::parsePeerAddress(*options.peerListen); !a.ok())
        return Status(a.status().code(), "--peer-listen: " + a.status().message());
    config->peerListen = *options.peerListen;
  }
  if (options.httpListen) {
    if (!options.httpListen->empty())
      if (auto a = federation::parsePeerAddress(*options.httpListen); !a.ok())
        return Status(a.status().code(), "--http-listen: " + a.status().message());
    config->httpListen = *options.httpListen;
  }
  Logs logs = makeLogs(config->logLevel);

  auto keys = loadNodeKeys(dir);
  if (!keys.ok()) return keys.status();

  // Before opening the store: a live civnetd holds the store's lock, and
  // "another civnetd is running" says more than LevelDB's lock error.
  if (auto s = claimSocketPath(dir.adminSocket()); !s.ok()) return s;

  store::Options so;
  so.blockCacheBytes = config->blockCacheMib * 1024 * 1024;
  so.maxOpenFiles = config->maxOpenFiles;
  // A store of an older schema is upgraded in place by open(), after a copy
  // of it as it was is kept next to it: going back stays possible.
  so.beforeUpgrade = [&dir, &logs](std::uint32_t from) -> Status {
    auto kept = keepStoreBeforeUpgrade(dir, from);
    if (!kept.ok())
      return kept.status().withContext("the store has schema version " + std::to_string(from) + " and civnetd " +
                                       CIVNET_VERSION + " upgrades it to " + std::to_string(store::kSchemaVersion) +
                                       " after keeping a copy of it, which failed (nothing was changed; free space "
                                       "where " + dir.root.string() + " is and start civnetd again)");
    logs.store->warn("upgrading the store from schema version {} to {}; the store as it was is kept in {} (to go "
                     "back: stop civnetd, move that directory to {} and run the older civnetd; delete it once this "
                     "version runs well)",
                     from, store::kSchemaVersion, kept->string(), dir.store().string());
    return {};
  };
  if (repairStopped(dir))
    return refused("a repair of " + dir.root.string() + " was stopped before it put the new store in place: "
                   "finish it with civnetd repair --data-dir " + dir.root.string());
  auto opened = store::Store::open(dir.store(), so);
  if (!opened.ok() && opened.status().code() == StatusCode::corruption)
    return Status(StatusCode::corruption,
                  opened.status().message() + " (restore a backup with civnetd restore; with none, civnetd repair --data-dir " +
                      dir.root.string() + " keeps what can be read and peers send the rest: docs/operations.md, "
                      "\"A damaged store\")");
  if (!opened.ok()) return opened.status();
  std::unique_ptr<store::Store> st = std::move(opened).value();
  if (auto from = st->upgradedFrom())
    logs.store->warn("store upgraded from schema version {} to {}", *from, store::kSchemaVersion);
  // Room for the store: past [store] max_size_mib or under min_free_disk_mib
  // free, content from peers waits (see space_watch.hpp).
  auto spaceLimits = [](std::size_t maxSizeMib, std::size_t minFreeMib) {
    return SpaceWatch::Limits{std::uint64_t{maxSizeMib} << 20, std::uint64_t{minFreeMib} << 20};
  };
  SpaceWatch space(*st, dir.store(), dir.root, spaceLimits(config->maxSizeMib, config->minFreeDiskMib), logs.store);
  space.start();

  auto network = st->network();
  if (!network)
    return refused("the node in " + dir.root.string() +
                   " belongs to no network yet; create one with: civnetd genesis --data-dir " + dir.root.string() +
                   " --name NAME --out FILE (or join an existing one with: civnetd join --data-dir " + dir.root.string() +
                   " --network FILE)");
  auto genesis = record::readGenesisFile(dir.genesis());
  if (!genesis.ok()) return genesis.status().withContext("the node's genesis " + dir.genesis().string());
  if (genesis->networkId() != *network)
    return corruption(dir.genesis().string() + " is the genesis of network " + genesis->networkId().hex() +
                      " but the store belongs to network " + network->hex());

  // The membership rules, enforced on the store from here on: entries of
  // feeds that are not members (or past a suspension or revocation pin) are
  // refused, and what stewards took down is hidden or erased. The tracker
  // outlives every use of the store below (the store is closed first).
  federation::MembershipTracker tracker(*genesis, *st);
  if (auto s = tracker.load(); !s.ok()) return s.withContext("computing the membership view");
  tracker.setChangeLog([log = logs.membership](const std::string& line) { log->info("{}", line); });
  // After a restore, publishing waits for a peer to confirm this node's
  // feeds (see publish_guard.hpp); otherwise the guard is the tracker.
  PublishGuard publishGuard(tracker, *st, logs.node);
  st->setPolicy(&publishGuard);
  if (auto s = st->applyModeration(tracker.moderation()); !s.ok())
    return s.withContext("applying the membership rules to the store");
  auto view = tracker.view();

  NodeInfo info;
  info.nodeKey = keys->node.publicKey();
  // The steward key counts only while the steward set in force names it; the
  // API checks that at each steward action, so a node that a new set names
  // acts as a steward at once, and one a set removes stops.
  const bool steward = keys->steward && view->isSteward(keys->steward->publicKey());
  if (keys->steward) info.stewardKey = keys->steward->publicKey();
  info.network = *network;
  info.networkName = genesis->name;
  info.version = CIVNET_VERSION;
  info.dataDir = dir.root.string();

  logs.node->info("civnetd {} starting: data dir {}", info.version, dir.root.string());
  HostedOrgs orgs(dir, *st, std::move(keys->org), st->getMeta(kMetaOrgName).value_or(""), info.nodeKey);
  {
    std::vector<std::string> notes;
    if (auto s = orgs.load(notes); !s.ok()) return s.withContext("loading the hosted organizations");
    for (const auto& n : notes) logs.node->warn("{}", n);
  }
  // The address other nodes should dial goes into the profiles of the
  // organizations hosted here, and of the steward's feed when this node is
  // a steward's (so other nodes take it as a member node even before its
  // organization is admitted): a new profile when it is not named there, or
  // its address changed.
  const HostedOrgs::Org primary = orgs.primary();
  auto advertise = [&](const PublicKey& feed, const PrivateKey& key, const std::string& name, const std::string& what) {
    record::Profile p;
    p.name = name;
    if (auto latest = latestProfile(*st, feed)) p = latest->second;
    const std::vector<std::string> want =
        config->advertise.empty() ? std::vector<std::string>{} : std::vector<std::string>{config->advertise};
    auto self = std::find_if(p.nodes.begin(), p.nodes.end(),
                             [&](const record::HostingNode& n) { return n.nodeKey == info.nodeKey; });
    if (self != p.nodes.end() && self->addresses == want) return;
    if (self == p.nodes.end()) self = p.nodes.insert(p.nodes.end(), record::HostingNode{info.nodeKey, {}});
    self->addresses = want;
    auto e = st->publish(key, static_cast<std::uint16_t>(record::Kind::profile), record::encodeProfile(p));
    if (e.ok())
      logs.node->info("{}: published a profile advertising {}", what,
                      want.empty() ? std::string("no address") : want.front());
    else
      logs.node->warn("{}: could not publish its profile: {}", what, e.status().message());
  };
  for (const auto& org : orgs.list())
    advertise(org.feed, *orgs.key(org.feed), org.name, "organization \"" + org.name + "\"");
  if (steward) {
    // Needed only while no admitted organization's profile names this node
    // (stewards of a new network, before they admit each other's
    // organizations); kept up to date once published.
    auto latest = latestProfile(*st, *info.stewardKey);
    const bool named = latest && std::any_of(latest->second.nodes.begin(), latest->second.nodes.end(),
                                             [&](const record::HostingNode& n) { return n.nodeKey == info.nodeKey; });
    if (named || !tracker.view()->memberNodes.count(info.nodeKey))
      advertise(*info.stewardKey, *keys->steward, primary.name + " (steward)", "steward feed");
  }
  logs.node->info("node key {}, organization \"{}\" feed {}", info.nodeKey.hex(), primary.name,
                  primary.feed.hex());
  for (const auto& org : orgs.list())
    if (!org.primary) logs.node->info("also hosting organization \"{}\" feed {}", org.name, org.feed.hex());
  if (steward)
    logs.node->info("steward of this network: steward feed {}", info.stewardKey->hex());
  else if (keys->steward)
    logs.node->info("{} holds key {}, which is not a steward of this network", dir.stewardKey().string(),
                    keys->steward->publicKey().hex());
  store::Counts counts = st->counts();
  logs.store->info("store open: network {} (\"{}\"), {} feeds, {} entries", network->hex(), info.networkName,
                   counts.feeds, counts.entries);
  {
    auto org = view->feeds.find(primary.feed);
    logs.membership->info("membership: steward set epoch {}, {} of {} stewards make an action final; {} feeds "
                          "known; this organization: {}; {} records grant nothing",
                          view->epoch, view->threshold, view->stewards.size(), view->feeds.size(),
                          org == view->feeds.end() ? "not admitted yet" : federation::toString(org->second.state),
                          view->ignored.size());
  }

  // Peers: those civnetd.toml names and those added at run time.
  std::vector<federation::PeerConfig> configured;
  for (const auto& p : config->peers)
    configured.push_back(federation::PeerConfig{*federation::parsePeerAddress(p.address),
                                                *PublicKey::parseHex(p.key, "a peer key")});
  PeerBook book(*st, std::move(configured));
  if (auto s = book.load(); !s.ok()) return s;
  std::string certPem;
  {
    std::ifstream in(dir.nodeCert(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return ioError("cannot read the node's TLS certificate " + dir.nodeCert().string());
    certPem = text.str();
  }
  federation::SyncNode syncNode;
  syncNode.store = st.get();
  syncNode.membership = &tracker;
  syncNode.network = *network;
  syncNode.nodeKey = info.nodeKey;
  syncNode.software = "civnetd " + info.version;
  // Hello carries, for each feed hosted here, its latest profile naming this
  // node, so a peer sees at once that this is a member node.
  syncNode.hostedProfiles = [&orgs, &st, &keys, nodeKey = info.nodeKey] {
    std::vector<Bytes> out;
    std::vector<PublicKey> feeds;
    for (const auto& o : orgs.list()) feeds.push_back(o.feed);
    if (keys->steward) feeds.push_back(keys->steward->publicKey());
    for (const PublicKey& f : feeds)
      if (auto latest = latestProfile(*st, f))
        for (const auto& n : latest->second.nodes)
          if (n.nodeKey == nodeKey) {
            out.push_back(record::encodeFrame(latest->first.signedEntry));
            break;
          }
    return out;
  };
  federation::NetworkOptions netOptions;
  if (!config->peerListen.empty()) netOptions.listen = *federation::parsePeerAddress(config->peerListen);
  netOptions.peers = book.all();
  netOptions.pingInterval = std::chrono::seconds(config->pingIntervalSeconds);
  netOptions.deadAfter = 3 * netOptions.pingInterval;
  netOptions.maxInbound = static_cast<std::size_t>(config->maxInboundPeers);
  netOptions.dialMembers = config->dialMembers;
  netOptions.maxOutbound = static_cast<std::size_t>(config->maxOutboundPeers);
  federation::PeerNetwork peerNet(syncNode, keys->node, certPem, netOptions, logs.net);
  if (auto s = peerNet.start(); !s.ok()) return s;
  logs.net->info("{} peers to dial ({} from civnetd.toml)", netOptions.peers.size(), config->peers.size());
  publishGuard.watch([&peerNet]() -> std::optional<std::string> {
    for (const auto& p : peerNet.peers())
      if (p.inSync) return p.key.shortHex();
    return std::nullopt;
  });

  Status served;
  {
    ApiLimits limits;
    limits.maxRequestBytes = config->maxRequestBytes;
    MembershipServices services;
    services.stewardKey = keys->steward ? &*keys->steward : nullptr;
    services.membership = &tracker;
    services.network = &peerNet;
    services.peers = &book;
    services.publishGuard = &publishGuard;
    services.space = &space;
    Accounts accounts(*st);
    services.accounts = &accounts;
    logs.node->info("{} member accounts", accounts.list().size());
    // The member interface (HTTPS), unless [http] listen is "".
    SessionOptions sessionOptions;
    sessionOptions.idle = std::chrono::minutes(config->sessionIdleMinutes);
    sessionOptions.absolute = std::chrono::hours(config->sessionMaxHours);
    Sessions sessions(*st, accounts, sessionOptions);
    auto search = SearchIndex::open(dir.search(), *st, logs.store);
    if (!search.ok()) return search.status();
    services.search = search->get();
    MemberApi memberApi(accounts, sessions, orgs, *st, tracker, logs.http, search->get());
    services.memberApi = &memberApi;
    std::optional<MemberServer> memberServer;
    if (!config->httpListen.empty()) {
      bool made = false;
      auto web = loadOrMakeWebCert(dir, config->httpCertFile, config->httpKeyFile, made);
      if (!web.ok()) return web.status().withContext("the member interface's certificate");
      if (made) logs.http->info("made a self-signed certificate for the member interface: {}", dir.webCert().string());
      MemberServerOptions mo;
      mo.listen = config->httpListen;
      mo.certPem = web->certPem;
      mo.keyPem = web->keyPem;
      memberServer.emplace(memberApi, mo, logs.http);
      if (auto s = memberServer->start(); !s.ok()) return s;
      logs.http->info("member interface on https://{}", federation::PeerAddress{
                                                             federation::parsePeerAddress(config->httpListen)->host,
                                                             *memberServer->port()}
                                                             .text());
      services.httpPort = memberServer->port();
      services.memberServer = &*memberServer;
    }
    // SIGHUP and civnetctl reload read civnetd.toml again.
    AdminApi* apiForReload = nullptr;
    ReloadTargets targets;
    targets.logs = logs;
    targets.logLevelFlag = options.logLevel;
    targets.peers = &book;
    targets.network = &peerNet;
    targets.setMaxRequestBytes = [&apiForReload](std::size_t n) {
      if (apiForReload) apiForReload->setMaxRequestBytes(n);
    };
    targets.setStoreLimits = [&space, &spaceLimits](std::size_t maxSizeMib, std::size_t minFreeMib) {
      space.setLimits(spaceLimits(maxSizeMib, minFreeMib));
    };
    Reloader reloader(dir.config(), fromFile, std::move(targets));
    services.reloader = &reloader;
    AdminApi api(*st, orgs, info, limits, logs.admin, services);
    apiForReload = &api;
    ServerOptions so2;
    so2.socketPath = dir.adminSocket();
    so2.requestTimeout = std::chrono::seconds(config->requestTimeoutSeconds);
    so2.workerThreads = config->workerThreads;
    so2.onHangup = [&reloader] { (void)reloader.reload(); };  // it logs what changed, or why nothing did
    if (!config->metricsListen.empty()) {
      auto a = federation::parsePeerAddress(config->metricsListen);  // checked by the config parser
      so2.metricsHost = a->host;
      so2.metricsPort = a->port;
    }
    served = serveAdmin(so2, api, logs.admin);
  }  // the API (and its job thread) ends before the store closes
  publishGuard.stop();
  peerNet.stop();  // says goodbye to the peers; no more ingests after this
  space.stop();
  st->setPolicy(nullptr);
  st.reset();  // drains the writer while the tracker is still alive
  if (!served.ok()) return served;
  logs.node->info("stopped cleanly");
  return {};
}

}  // namespace civnet::daemon

// civnetd's entry point: parses the command line and runs init, genesis
// (and genesis draft, sign, check), join, check-config, restore, repair or run. Every failure is one line on
// stderr ("civnetd: ...") and a non-zero exit: 1 when the command failed (and
// for `genesis check`, when the genesis is not complete), 2 for a usage error.
#include <signal.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <iostream>
#include <string>

#include "daemon/backup.hpp"
#include "daemon/config.hpp"
#include "daemon/daemon_cli.hpp"
#include "daemon/node.hpp"
#include "daemon/node_setup.hpp"

namespace {

int fail(const civnet::Status& s) {
  std::cerr << "civnetd: " << s.message() << "\n";
  return 1;
}

std::string utcTime(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return std::to_string(ms) + " ms since 1970";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// What genesis draft, sign and check show of a genesis: its body and, when
// `check` is given, each steward's signature.
void printGenesis(const civnet::record::Genesis& g, const civnet::daemon::GenesisCheck* check) {
  std::cout << "network       " << g.name << "\n"
            << "network id    " << g.networkId().hex() << "\n"
            << "created       " << utcTime(g.createdAt) << "\n"
            << "threshold     " << g.threshold << " of " << g.stewards.size() << " stewards\n";
  for (std::size_t i = 0; i < g.stewards.size(); ++i) {
    std::cout << "steward       " << g.stewards[i].hex();
    if (check) std::cout << "  " << civnet::daemon::toString(check->stewards[i].state);
    std::cout << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace civnet::daemon;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> env;
  if (const char* e = std::getenv("CIVNET_DATA_DIR")) env = e;
  auto cmd = parseDaemonArgs(args, env);
  if (!cmd.ok()) {
    std::cerr << "civnetd: " << cmd.status().message() << "\n";
    return 2;
  }
  // A client that hangs up must not kill the node.
  std::signal(SIGPIPE, SIG_IGN);

  try {
    switch (cmd->verb) {
      case DaemonVerb::help:
      case DaemonVerb::version:
        std::cout << cmd->helpText;
        return 0;
      case DaemonVerb::init: {
        InitOptions o{cmd->dataDir, cmd->org, std::nullopt};
        if (cmd->network) o.network = *cmd->network;
        o.peerListen = cmd->peerListen;
        o.httpListen = cmd->httpListen;
        o.steward = cmd->steward;
        auto r = initNode(o);
        if (!r.ok()) return fail(r.status());
        const std::string dir = r->dataDir.string();
        std::cout << "created a node in " << dir << "\n"
                  << "organization  " << r->org << "\n"
                  << "node key      " << r->nodeKey.hex() << "\n"
                  << "feed key      " << r->feedKey.hex() << "\n";
        if (r->stewardKey)
          std::cout << "steward key   " << r->stewardKey->hex()
                    << (r->stewardOfNetwork ? " (a steward of this network)" : "") << "\n";
        if (r->network)
          std::cout << "network       " << r->network->hex() << " (" << r->networkName << ")\n"
                    << "start it with: civnetd run --data-dir " << dir << "\n";
        else if (r->stewardKey)
          std::cout << "it belongs to no network yet. Give the steward key to the network's founders;\n"
                    << "sign their draft with: civnetd genesis sign --data-dir " << dir << " FILE\n"
                    << "and once every steward has signed: civnetd join --data-dir " << dir << " --network FILE\n";
        else
          std::cout << "it belongs to no network yet: create one with\n  civnetd genesis --data-dir "
                    << dir << " --name NAME --out FILE\n"
                    << "or join an existing one with: civnetd join --data-dir " << dir << " --network FILE\n";
        return 0;
      }
      case DaemonVerb::genesis: {
        auto r = makeGenesis(GenesisOptions{cmd->dataDir, cmd->name, cmd->out});
        if (!r.ok()) return fail(r.status());
        std::cout << "created network \"" << r->name << "\"\n"
                  << "network id    " << r->network.hex() << "\n"
                  << "steward key   " << r->steward.hex() << "\n"
                  << "genesis file  " << r->out.string() << "\n"
                  << "other nodes join with: civnetd init --data-dir DIR --network " << r->out.string() << "\n";
        return 0;
      }
      case DaemonVerb::genesisDraft: {
        auto g = draftGenesis(DraftOptions{cmd->name, cmd->stewards, cmd->threshold, cmd->out});
        if (!g.ok()) return fail(g.status());
        std::cout << "drafted an unsigned genesis in " << cmd->out << "\n";
        printGenesis(g.value(), nullptr);
        std::cout << "every steward signs it in turn (the network id stays the same):\n"
                  << "  civnetd genesis sign --data-dir DIR " << cmd->out << "\n"
                  << "and checks it with: civnetd genesis check " << cmd->out << "\n";
        return 0;
      }
      case DaemonVerb::genesisSign: {
        auto r = signGenesisFile(SignOptions{cmd->dataDir, cmd->file});
        if (!r.ok()) return fail(r.status());
        if (r->alreadySigned)
          std::cout << cmd->file << " already holds the signature of steward key " << r->steward.hex()
                    << "; left as it was\n";
        else
          std::cout << "signed " << cmd->file << " with steward key " << r->steward.hex() << "\n";
        printGenesis(r->after.genesis, &r->after);
        if (r->after.complete.ok())
          std::cout << "complete: every steward has signed. Nodes join with:\n"
                    << "  civnetd join --data-dir DIR --network " << cmd->file << "\n";
        else
          std::cout << r->after.complete.message() << "\n"
                    << "pass the file on to the next steward\n";
        return 0;
      }
      case DaemonVerb::genesisCheck: {
        auto r = checkGenesisFile(cmd->file);
        if (!r.ok()) return fail(r.status());
        printGenesis(r->genesis, &r.value());
        if (!r->complete.ok()) return fail(r->complete.withContext(cmd->file));
        std::cout << "complete: every steward has signed; nodes may join this network\n";
        return 0;
      }
      case DaemonVerb::join: {
        auto r = joinNetwork(JoinOptions{cmd->dataDir, *cmd->network});
        if (!r.ok()) return fail(r.status());
        std::cout << "the node in " << cmd->dataDir << " joined network " << r->network.hex() << " ("
                  << r->networkName << ")\n";
        if (r->steward) std::cout << "steward key   " << r->steward->hex() << " (a steward of this network)\n";
        std::cout << "start it with: civnetd run --data-dir " << cmd->dataDir << "\n";
        return 0;
      }
      case DaemonVerb::checkConfig: {
        const std::string file = cmd->config ? *cmd->config : (std::filesystem::path(cmd->dataDir) / "civnetd.toml").string();
        auto c = checkConfigFile(file);
        if (!c.ok()) return fail(c.status());
        std::cout << file << ": ok\n"
                  << "log level     " << c->logLevel << "\n"
                  << "peers listen  " << (c->peerListen.empty() ? "(none)" : c->peerListen) << "\n"
                  << "http listen   " << (c->httpListen.empty() ? "(none)" : c->httpListen) << "\n"
                  << "metrics       " << (c->metricsListen.empty() ? "(admin socket only)" : c->metricsListen) << "\n"
                  << "peers         " << c->peers.size() << " configured\n";
        return 0;
      }
      case DaemonVerb::restore: {
        // Ctrl-C or SIGTERM stops it cleanly: what it wrote is undone.
        static std::atomic<bool> interrupted{false};
        struct sigaction sa {};
        sa.sa_handler = [](int) { interrupted.store(true); };
        ::sigemptyset(&sa.sa_mask);
        ::sigaction(SIGINT, &sa, nullptr);
        ::sigaction(SIGTERM, &sa, nullptr);
        RestoreOptions o;
        o.interrupted = &interrupted;
        o.dataDir = cmd->dataDir;
        o.file = cmd->file;
        o.progress = [](const std::string& line) { std::cerr << "civnetd: " << line << "\n"; };
        auto r = restoreNode(o);
        if (!r.ok()) return fail(r.status().withContext("restore"));
        std::cout << "restored the node in " << cmd->dataDir << " from " << cmd->file << "\n"
                  << "network       " << r->header.network.hex() << " (" << r->header.networkName << ")\n"
                  << "node key      " << r->header.nodeKey.hex() << "\n"
                  << "taken         " << utcTime(r->header.createdMs) << " by " << r->header.software << "\n"
                  << "entries       " << r->header.entries << " in " << r->header.feeds << " feeds, "
                  << r->signaturesChecked << " signatures checked\n"
                  << "frontier      " << r->header.frontier.hex() << " (as in the backup)\n"
                  << "publishing is paused until a peer in sync confirms this node's feeds, so that it\n"
                  << "cannot fork them (if nothing was published after the backup: civnetctl resume-publishing --force)\n"
                  << "start it with: civnetd run --data-dir " << cmd->dataDir << "\n";
        return 0;
      }
      case DaemonVerb::repair: {
        RepairOptions o;
        o.dataDir = cmd->dataDir;
        o.progress = [](const std::string& line) { std::cerr << "civnetd: " << line << "\n"; };
        auto r = repairNode(o);
        if (!r.ok()) return fail(r.status().withContext("repair"));
        if (r->finishedStopped) {
          std::cout << "finished the repair of the node in " << cmd->dataDir
                    << ", which had stopped before it put the new store in place\n";
          if (!r->damagedKeptAt.empty())
            std::cout << "damaged store kept in " << r->damagedKeptAt.string() << " (remove it once the node is well)\n";
          std::cout << "start it with: civnetd run --data-dir " << cmd->dataDir << "\n";
          return 0;
        }
        const civnet::store::SalvageReport& s = r->salvage;
        std::cout << "repaired the store of the node in " << cmd->dataDir << "\n"
                  << "entries       " << s.entriesKept << " kept in " << s.feeds << " feeds (" << s.contentMissing
                  << " without their content, " << s.contentDamaged << " of them damaged), " << s.entriesDropped
                  << " dropped, of " << s.entriesFound << " found\n";
        for (const auto& note : s.notes) std::cout << "  " << note << "\n";
        if (s.repairedByLevelDb)
          std::cout << "read through LevelDB's repair, which cannot tell damaged bytes in the log from data:\n"
                    << "entries were checked again, accounts and settings could not be (see civnetctl accounts list)\n";
        std::cout << "fork proofs   " << s.forkProofs << "\n"
                  << "accounts      " << s.accounts << " kept; " << s.sessionsDropped
                  << " sessions ended (members log in again)\n"
                  << "damaged store kept in " << r->damagedKeptAt.string() << " (remove it once the node is well)\n"
                  << "what was dropped or lost comes back from peers; publishing is paused until a peer in sync\n"
                  << "confirms this node's feeds, so that it cannot fork them\n"
                  << "start it with: civnetd run --data-dir " << cmd->dataDir << "\n";
        return 0;
      }
      case DaemonVerb::run: {
        auto s = runNode(RunOptions{cmd->dataDir, cmd->logLevel, cmd->peerListen, cmd->httpListen});
        if (!s.ok()) return fail(s);
        return 0;
      }
    }
  } catch (const std::exception& e) {
    // Exceptions are bugs or fatal misconfiguration: still one line.
    std::cerr << "civnetd: fatal: " << e.what() << "\n";
    return 1;
  }
  return 1;
}

// civnetctl's argument parsing with CLI11 (see ctl_cli.hpp).
#include "ctl_cli.hpp"

#include <array>
#include <charconv>
#include <ctime>
#include <map>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "schemas/content.hpp"

namespace civnet::tools {
namespace {

// True for `min` to `max` hex digits, in either case.
bool isHex(const std::string& s, std::size_t min, std::size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

// Each item of `items` as the text of `flag` (valid UTF-8, no NUL, not empty).
Status checkItems(const std::string& flag, const std::vector<std::string>& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty()) return invalidArgument(flag + " must not be empty");
    if (Status st = record::checkText(flag + " number " + std::to_string(i + 1), items[i]); !st.ok()) return st;
  }
  return {};
}

}  // namespace

Result<std::int64_t> parseTimeMs(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return invalidArgument(std::string(what) + " must be a date (2026-12-31), a UTC time (2026-12-31T18:00:00Z) "
                           "or ms since the Unix epoch, got \"" + std::string(text.substr(0, 40)) + "\"");
  };
  auto number = [](std::string_view s, int& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (r.ec != std::errc() || ms <= 0) return bad();
    return ms;
  }
  // YYYY-MM-DD, then optionally THH:MM[:SS]Z.
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return bad();
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(text.substr(0, 4), year) || !number(text.substr(5, 2), month) || !number(text.substr(8, 2), day))
    return bad();
  std::string_view rest = text.substr(10);
  if (!rest.empty()) {
    if (rest.front() != 'T' && rest.front() != 't') return bad();
    rest.remove_prefix(1);
    if (rest.empty() || (rest.back() != 'Z' && rest.back() != 'z')) return bad();
    rest.remove_suffix(1);
    if (rest.size() != 5 && rest.size() != 8) return bad();
    if (rest[2] != ':' || !number(rest.substr(0, 2), hour) || !number(rest.substr(3, 2), minute)) return bad();
    if (rest.size() == 8 && (rest[5] != ':' || !number(rest.substr(6, 2), second))) return bad();
  }
  static constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > kDays[static_cast<std::size_t>(month - 1)] ||
      hour > 23 || minute > 59 || second > 59)
    return bad();
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = ::timegm(&tm);
  if (tm.tm_mday != day) return bad();  // 29 February of a common year
  return static_cast<std::int64_t>(t) * 1000;
}

Result<CtlCommand> parseCtlArgs(const std::vector<std::string>& args, const std::optional<std::string>& envDataDir) {
  CtlCommand cmd;
  CLI::App app{"civnetctl: control a running civnetd through its admin API.", "civnetctl"};
  // Global options may come before or after the command: subcommands made
  // below inherit fallthrough, so `civnetctl status --json` works too.
  app.fallthrough();
  app.require_subcommand(0, 1);
  std::string dataDir, socket;
  app.add_option("--data-dir", dataDir, "The node's data directory (default: $CIVNET_DATA_DIR)");
  app.add_option("--socket", socket, "The admin socket (default: DIR/admin.sock)");
  app.add_flag("--json", cmd.json, "Print JSON objects instead of tables");

  auto* status = app.add_subcommand("status", "Show the node: keys, network, feeds, entries, frontier digest");
  auto* feeds = app.add_subcommand("feeds", "List the feeds this node holds and their tips");

  auto* publish = app.add_subcommand("publish", "Publish a post in the feed of an organization this node hosts");
  publish->add_option("--title", cmd.title, "The post's title")->required();
  publish->add_option("--body", cmd.body, "The post's Markdown body");
  publish->add_option("--body-file", cmd.bodyFile, "Read the body from this file (- for stdin)");
  publish->add_option("--tag", cmd.tags, "A tag (repeat for several)");
  publish->add_option("--org", cmd.org,
                      "The hosted organization (its name or feed key; default: the one civnetd init made)");

  auto* entries = app.add_subcommand("entries", "List or show entries");
  // Not require_subcommand(1): CLI11 would then say "A subcommand is
  // required" for `entries frob` instead of naming "frob".
  entries->require_subcommand(0, 1);
  auto* list = entries->add_subcommand("list", "List entries, newest first");
  list->add_option("--author", cmd.author, "Only this feed (its key, or its first 8 or more hex characters)");
  list->add_option("--tag", cmd.tag, "Only entries with this tag");
  list->add_option("--kind", cmd.kind, "Only entries of this kind (post, profile, ...)");
  list->add_option("--limit", cmd.limit, "At most this many (1 to 1000, default 50)");
  auto* show = entries->add_subcommand("show", "Show one entry with its content");
  show->add_option("id", cmd.id, "The entry id, or its first 8 or more hex characters")->required();

  auto* health = app.add_subcommand(
      "health", "Is this node well? Exit 0 healthy, 1 degraded (with the reasons), 2 down (not answering)");

  auto* metrics = app.add_subcommand("metrics", "Print the node's metrics in Prometheus text format");

  auto* search = app.add_subcommand("search", "Find posts by their words (the full-text index), best match first");
  search->add_option("query", cmd.query, "Words to look for; \"a phrase\", AND, OR, NOT, -word")->required();
  search->add_option("--author", cmd.author, "Only this organization's feed (its key, or its first 8+ hex characters)");
  search->add_option("--tag", cmd.tag, "Only posts with this tag");
  search->add_option("--limit", cmd.limit, "At most this many (1 to 1000, default 50)");

  auto* verify = app.add_subcommand("verify", "Re-prove the whole store: every chain, signature and content hash");
  auto* reindex = app.add_subcommand(
      "reindex", "Rebuild every derived index, the search index and the membership view from the entries held");
  auto* backup = app.add_subcommand(
      "backup", "Write a backup of the running node (its store, config and keys) from one consistent snapshot");
  backup->add_option("--out", cmd.file, "The file to write, mode 0600 (never overwritten; - for stdout)")->required();
  auto* reload = app.add_subcommand(
      "reload", "Read civnetd.toml again (as SIGHUP does): peers, log level and limits change at once;\n"
                "prints what changed, and what waits for a restart");
  auto* resumePublishing = app.add_subcommand(
      "resume-publishing",
      "Lift the pause on publishing that follows a restore, without waiting for a peer to confirm this\n"
      "node's feeds. Only if nothing was published after the backup: otherwise the feeds fork and freeze");
  resumePublishing->add_flag("--force", cmd.force, "Yes: lift it now");
  auto* exportCmd = app.add_subcommand("export", "Export every entry as framed SignedEntry messages");
  exportCmd->add_option("--out", cmd.file, "The file to write (never overwritten)")->required();
  auto* importCmd = app.add_subcommand("import", "Import entries from an export file");
  importCmd->add_option("file", cmd.file, "The export file")->required();

  auto* members = app.add_subcommand("members", "List or show the network's organizations and their membership");
  members->require_subcommand(0, 1);
  auto* membersList = members->add_subcommand("list", "List the feeds stewards have admitted or revoked");
  membersList->add_option("--region", cmd.region, "Only organizations of this region (any case)");
  membersList->add_option("--label", cmd.label, "Only organizations with this label (any case)");
  membersList->add_option("--state", cmd.state, "Only this state: none, pending, member, expired, suspended, revoked");
  auto* membersShow = members->add_subcommand("show", "Show one feed's membership");
  membersShow->add_option("key", cmd.key, "The feed key, or its first 8 or more hex characters")->required();

  // Steward commands: each signs one entry in this node's steward feed.
  auto* admit = app.add_subcommand("admit", "Steward: admit an organization's feed key into the network");
  admit->add_option("key", cmd.key, "The organization's feed key (all 64 hex characters)")->required();
  admit->add_option("--name", cmd.name, "The organization's name")->required();
  admit->add_option("--region", cmd.region, "Its region")->required();
  admit->add_option("--country", cmd.country, "Its country");
  admit->add_option("--label", cmd.labels, "A label, e.g. women-led (repeat for several)");
  admit->add_option("--focus", cmd.focusAreas, "A focus area (repeat for several)");
  std::string expires;
  admit->add_option("--expires", expires, "When the admission expires: 2026-12-31, 2026-12-31T18:00:00Z or ms");
  auto* stewardSet = app.add_subcommand(
      "steward-set", "Steward: sign the next steward set (in force once k stewards of the current set signed it)");
  stewardSet->add_option("--steward", cmd.stewards, "A steward feed key of the new set (repeat for each)")->required();
  stewardSet->add_option("--threshold", cmd.threshold, "k: how many stewards of the new set make an action final")
      ->required();
  stewardSet->add_option("--pin", cmd.pins,
                         "KEY:SEQ: a removed steward's feed and the last seq whose attestations still count");
  auto* revoke = app.add_subcommand("revoke", "Steward: revoke a feed key, pinned at an entry this node holds");
  revoke->add_option("key", cmd.key, "The feed key, or its first 8 or more hex characters")->required();
  revoke->add_option("--after-seq", cmd.afterSeq,
                     "Refuse the feed's entries after this seq (default: the latest entry this node holds)");
  revoke->add_option("--reason", cmd.reason, "Why, for the record")->required();
  auto* lift = app.add_subcommand("lift", "Steward: lift this steward's own revocation(s) of a feed");
  lift->add_option("key", cmd.key, "The feed key, or its first 8 or more hex characters")->required();
  auto* takedown = app.add_subcommand("takedown", "Steward: take down an entry (hidden by one steward, erased by k)");
  takedown->add_option("id", cmd.id, "The entry id, or its first 8 or more hex characters")->required();
  takedown->add_option("--reason", cmd.reason, "Why, for the record")->required();
  takedown->add_option("--author", cmd.author, "For an entry not held yet: its author's feed key (with --seq)");
  takedown->add_option("--seq", cmd.seq, "For an entry not held yet: its seq (with --author and the whole id)");
  auto* retract = app.add_subcommand("retract", "Erase one of the entries of an organization this node hosts");
  retract->add_option("id", cmd.id, "The entry id, or its first 8 or more hex characters")->required();
  retract->add_option("--reason", cmd.reason, "Why (optional)");

  auto* peers = app.add_subcommand("peers", "The nodes this node syncs with");
  peers->require_subcommand(0, 1);
  auto* peersList = peers->add_subcommand("list", "List the peers: key, address, state, entries sent and received");
  auto* peersAdd = peers->add_subcommand("add", "Dial a peer from now on (kept across restarts)");
  peersAdd->add_option("address", cmd.address, "HOST:PORT where it listens")->required();
  peersAdd->add_option("key", cmd.key, "Its node key (64 hex characters; civnetctl status there shows it)")->required();
  auto* peersRemove = peers->add_subcommand("remove", "Stop dialing a peer added with peers add");
  peersRemove->add_option("key", cmd.key, "Its node key, or its first 8 or more hex characters")->required();
  auto* sync = app.add_subcommand("sync", "Dial every peer now; with --wait, wait until all linked peers are in sync");
  sync->add_flag("--wait", cmd.wait, "Show progress and exit 0 once every linked peer is in sync");
  sync->add_option("--timeout", cmd.timeoutSeconds, "With --wait: give up (exit 1) after this many seconds (default 300)")
      ->check(CLI::Range(1, 86400));

  auto* orgs = app.add_subcommand("orgs", "The organizations this node hosts");
  orgs->require_subcommand(0, 1);
  auto* orgsList = orgs->add_subcommand("list", "List the hosted organizations and their membership state");
  auto* orgsAdd = orgs->add_subcommand("add", "Host a new organization: make its feed key and first profile");
  orgsAdd->add_option("name", cmd.name, "The organization's name")->required();
  auto* orgsProfile = orgs->add_subcommand(
      "profile", "Show, or with options publish, what a hosted organization says of itself in the directory");
  orgsProfile->add_option("--org", cmd.org, "The hosted organization (its name or feed key; default: the node's own)");
  orgsProfile->add_option("--region", cmd.region, "Its region");
  orgsProfile->add_option("--country", cmd.country, "Its country");
  orgsProfile->add_option("--focus", cmd.focusAreas, "A focus area (repeat for several; replaces the list)");
  orgsProfile->add_option("--label", cmd.labels, "A label, e.g. women-led (repeat for several; replaces the list)");
  orgsProfile->add_option("--contact", cmd.contact, "A public contact (\"\" for none)");

  auto* accounts = app.add_subcommand("accounts", "The member accounts of the organizations this node hosts");
  accounts->require_subcommand(0, 1);
  auto* accountsList = accounts->add_subcommand("list", "List the accounts: handle, name, organization, role, state");
  auto* accountsAdd = accounts->add_subcommand(
      "add", "Make an account; prints its generated first password once (or reads one with --password-stdin)");
  accountsAdd->add_option("handle", cmd.handle, "The login: 2 to 32 of a-z 0-9 . _ -")->required();
  accountsAdd->add_option("--name", cmd.name, "The person's name, shown to other members")->required();
  accountsAdd->add_option("--org", cmd.org, "A hosted organization's name or feed key (default: the node's own)");
  accountsAdd->add_flag("--admin", cmd.admin, "May manage the organization's accounts in the web interface");
  accountsAdd->add_flag("--password-stdin", cmd.passwordStdin, "Read the password from standard input (one line)");
  auto* accountsDisable = accounts->add_subcommand("disable", "Stop an account from logging in");
  accountsDisable->add_option("handle", cmd.handle, "The account's handle")->required();
  auto* accountsReset = accounts->add_subcommand(
      "reset", "Give an account a new password (generated and printed once, or read with --password-stdin); enables it");
  accountsReset->add_option("handle", cmd.handle, "The account's handle")->required();
  accountsReset->add_flag("--password-stdin", cmd.passwordStdin, "Read the password from standard input (one line)");

  // A subcommand's --help does not show the parent's options: say them.
  const std::string globals =
      "Global options (before or after the command):\n"
      "  --data-dir DIR    the node's data directory (default: $CIVNET_DATA_DIR)\n"
      "  --socket PATH     the admin socket (default: DIR/admin.sock)\n"
      "  --json            print JSON objects instead of tables\n"
      "Exit codes: 0 done; 1 failed or refused by civnetd (the message says why);\n"
      "  2 bad command line; 3 civnetd not reachable.\n";
  // An example for each command's --help (keyed "command" or "command sub").
  static const std::map<std::string, std::string> examples{
      {"status", "civnetctl --data-dir /var/lib/civnet status"},
      {"feeds", "civnetctl feeds --json"},
      {"publish", "civnetctl publish --title \"Water point checklist\" --body-file checklist.md --tag water"},
      {"entries list", "civnetctl entries list --tag water --limit 20"},
      {"entries show", "civnetctl entries show 16b857556a22"},
      {"health", "civnetctl --data-dir /var/lib/civnet health || alert\n"
                 "health's own exit codes: 0 healthy, 1 degraded, 2 down (not reachable)"},
      {"metrics", "civnetctl metrics > /var/lib/node_exporter/civnet.prom"},
      {"search", "civnetctl search \"clean water\" --tag wash --limit 10"},
      {"verify", "civnetctl verify && echo store intact"},
      {"reindex", "civnetctl reindex"},
      {"backup", "civnetctl --data-dir /var/lib/civnet backup --out /srv/backup/civnet-$(date +%F).backup\n"
                 "restore it into an empty directory with: civnetd restore --data-dir DIR FILE"},
      {"resume-publishing", "civnetctl resume-publishing --force"},
      {"reload", "civnetctl reload   (or: systemctl reload civnetd)"},
      {"export", "civnetctl export --out /backup/civnet-$(date +%F).civnet"},
      {"import", "civnetctl import /backup/civnet-2026-11-30.civnet"},
      {"members list", "civnetctl members list --state member --label women-led"},
      {"members show", "civnetctl members show 53b91f9b8c27"},
      {"admit", "civnetctl admit FEED_KEY --name \"River Women\" --region Sahel --label women-led"},
      {"steward-set", "civnetctl steward-set --steward KEY1 --steward KEY2 --steward KEY3 --threshold 2"},
      {"revoke", "civnetctl revoke 53b91f9b8c27 --reason \"left the network\""},
      {"lift", "civnetctl lift 53b91f9b8c27"},
      {"takedown", "civnetctl takedown 16b857556a22 --reason \"personal data of a survivor\""},
      {"retract", "civnetctl retract 16b857556a22"},
      {"peers list", "civnetctl peers list"},
      {"peers add", "civnetctl peers add hub.example.org:7420 NODE_KEY"},
      {"peers remove", "civnetctl peers remove 4f0e11aa2b3c"},
      {"sync", "civnetctl sync --wait --timeout 120"},
      {"orgs list", "civnetctl orgs list"},
      {"orgs add", "civnetctl orgs add \"Youth Voices\""},
      {"orgs profile", "civnetctl orgs profile --region Sahel --country Niger --label women-led --focus water"},
      {"accounts list", "civnetctl accounts list"},
      {"accounts add", "civnetctl accounts add amina --name \"Amina Okafor\" --admin"},
      {"accounts disable", "civnetctl accounts disable amina"},
      {"accounts reset", "civnetctl accounts reset amina"},
  };
  auto footerFor = [&](const std::string& key) {
    auto e = examples.find(key);
    return (e == examples.end() ? std::string() : "Example: " + e->second + "\n\n") + globals;
  };
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->footer(footerFor(sub->get_name()));
    for (CLI::App* nested : sub->get_subcommands({}))
      nested->footer(footerFor(sub->get_name() + " " + nested->get_name()));
  }

  // The deepest command given, for "see civnetctl COMMAND --help".
  auto seeHelp = [&] {
    std::string where = "civnetctl";
    for (CLI::App* a = &app;;) {
      auto subs = a->get_subcommands();
      if (subs.empty()) break;
      a = subs.front();
      where += " " + a->get_name();
    }
    return " (see " + where + " --help)";
  };

  std::vector<const char*> argv{"civnetctl"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    cmd.verb = CtlVerb::help;
    cmd.helpText = app.help();
    return cmd;
  } catch (const CLI::CallForAllHelp&) {
    cmd.verb = CtlVerb::help;
    cmd.helpText = app.help("", CLI::AppFormatMode::All);
    return cmd;
  } catch (const CLI::ParseError& e) {
    return invalidArgument(std::string(e.what()) + seeHelp());
  }

  if (status->parsed()) cmd.verb = CtlVerb::status;
  else if (feeds->parsed()) cmd.verb = CtlVerb::feeds;
  else if (publish->parsed()) cmd.verb = CtlVerb::publish;
  else if (list->parsed()) cmd.verb = CtlVerb::entriesList;
  else if (show->parsed()) cmd.verb = CtlVerb::entriesShow;
  else if (verify->parsed()) cmd.verb = CtlVerb::verify;
  else if (reindex->parsed()) cmd.verb = CtlVerb::reindex;
  else if (search->parsed()) cmd.verb = CtlVerb::search;
  else if (health->parsed()) cmd.verb = CtlVerb::health;
  else if (metrics->parsed()) cmd.verb = CtlVerb::metrics;
  else if (backup->parsed()) cmd.verb = CtlVerb::backup;
  else if (resumePublishing->parsed()) cmd.verb = CtlVerb::resumePublishing;
  else if (reload->parsed()) cmd.verb = CtlVerb::reload;
  else if (exportCmd->parsed()) cmd.verb = CtlVerb::exportFile;
  else if (importCmd->parsed()) cmd.verb = CtlVerb::importFile;
  else if (membersList->parsed()) cmd.verb = CtlVerb::membersList;
  else if (membersShow->parsed()) cmd.verb = CtlVerb::membersShow;
  else if (admit->parsed()) cmd.verb = CtlVerb::admit;
  else if (revoke->parsed()) cmd.verb = CtlVerb::revoke;
  else if (lift->parsed()) cmd.verb = CtlVerb::lift;
  else if (takedown->parsed()) cmd.verb = CtlVerb::takedown;
  else if (retract->parsed()) cmd.verb = CtlVerb::retract;
  else if (stewardSet->parsed()) cmd.verb = CtlVerb::stewardSet;
  else if (orgsList->parsed()) cmd.verb = CtlVerb::orgsList;
  else if (peersList->parsed()) cmd.verb = CtlVerb::peersList;
  else if (peersAdd->parsed()) cmd.verb = CtlVerb::peersAdd;
  else if (peersRemove->parsed()) cmd.verb = CtlVerb::peersRemove;
  else if (sync->parsed()) cmd.verb = CtlVerb::sync;
  else if (orgsAdd->parsed()) cmd.verb = CtlVerb::orgsAdd;
  else if (orgsProfile->parsed()) cmd.verb = CtlVerb::orgsProfile;
  else if (accountsList->parsed()) cmd.verb = CtlVerb::accountsList;
  else if (accountsAdd->parsed()) cmd.verb = CtlVerb::accountsAdd;
  else if (accountsDisable->parsed()) cmd.verb = CtlVerb::accountsDisable;
  else if (accountsReset->parsed()) cmd.verb = CtlVerb::accountsReset;
  else if (entries->parsed())
    return invalidArgument("entries: give a command: entries list or entries show (see civnetctl entries --help)");
  else if (members->parsed())
    return invalidArgument("members: give a command: members list or members show (see civnetctl members --help)");
  else if (peers->parsed())
    return invalidArgument("peers: give a command: peers list, peers add HOST:PORT KEY or peers remove KEY "
                           "(see civnetctl peers --help)");
  else if (orgs->parsed())
    return invalidArgument("orgs: give a command: orgs list, orgs add NAME or orgs profile (see civnetctl orgs --help)");
  else if (accounts->parsed())
    return invalidArgument("accounts: give a command: accounts list, add HANDLE --name NAME, disable HANDLE or "
                           "reset HANDLE (see civnetctl accounts --help)");
  else {
    cmd.verb = CtlVerb::help;
    cmd.helpText = app.help();
    return cmd;
  }

  switch (cmd.verb) {
    case CtlVerb::publish:
      if (cmd.title.empty()) return invalidArgument("publish: --title must not be empty");
      if (cmd.body && cmd.bodyFile) return invalidArgument("publish: give --body or --body-file, not both");
      if (!cmd.body && !cmd.bodyFile) return invalidArgument("publish: give the body with --body or --body-file");
      for (const auto& t : cmd.tags)
        if (t.empty()) return invalidArgument("publish: --tag must not be empty");
      // Checked here so the message names the flag and the byte.
      if (Status st = record::checkText("publish: --title", cmd.title); !st.ok()) return st;
      if (cmd.body)
        if (Status st = record::checkText("publish: --body", *cmd.body); !st.ok()) return st;
      for (std::size_t i = 0; i < cmd.tags.size(); ++i)
        if (Status st = record::checkText("publish: --tag number " + std::to_string(i + 1), cmd.tags[i]); !st.ok())
          return st;
      if (cmd.org && cmd.org->empty()) return invalidArgument("publish: --org must not be empty");
      break;
    case CtlVerb::entriesList:
      if (cmd.author && !isHex(*cmd.author, 8, 64))
        return invalidArgument("entries list: --author must be a feed key or its first 8 to 64 hex characters");
      if (cmd.limit < 1 || cmd.limit > kMaxListLimit)
        return invalidArgument("entries list: --limit must be between 1 and " + std::to_string(kMaxListLimit));
      break;
    case CtlVerb::entriesShow:
      if (!isHex(cmd.id, 8, 64))
        return invalidArgument("entries show: the id must be an entry id or its first 8 to 64 hex characters");
      break;
    case CtlVerb::exportFile:
    case CtlVerb::importFile:
    case CtlVerb::backup:
      if (cmd.file.empty()) return invalidArgument("the file name must not be empty");
      break;
    case CtlVerb::membersList:
      if (cmd.state && *cmd.state != "none" && *cmd.state != "pending" && *cmd.state != "member" &&
          *cmd.state != "expired" && *cmd.state != "suspended" && *cmd.state != "revoked")
        return invalidArgument("members list: --state must be none, pending, member, expired, suspended or revoked");
      if (cmd.region)
        if (Status st = record::checkText("members list: --region", *cmd.region); !st.ok()) return st;
      if (cmd.label)
        if (Status st = record::checkText("members list: --label", *cmd.label); !st.ok()) return st;
      break;
    case CtlVerb::membersShow:
    case CtlVerb::revoke:
    case CtlVerb::lift: {
      const std::string what = cmd.verb == CtlVerb::membersShow ? "members show" : cmd.verb == CtlVerb::revoke ? "revoke" : "lift";
      if (!isHex(cmd.key, 8, 64))
        return invalidArgument(what + ": the key must be a feed key or its first 8 to 64 hex characters");
      if (cmd.verb == CtlVerb::revoke) {
        if (cmd.reason->empty()) return invalidArgument("revoke: --reason must not be empty");
        if (Status st = record::checkText("revoke: --reason", *cmd.reason); !st.ok()) return st;
      }
      break;
    }
    case CtlVerb::stewardSet:
      for (const auto& k : cmd.stewards)
        if (!isHex(k, 64, 64)) return invalidArgument("steward-set: --steward must be a whole feed key (64 hex characters)");
      if (cmd.threshold < 1 || cmd.threshold > cmd.stewards.size())
        return invalidArgument("steward-set: --threshold " + std::to_string(cmd.threshold) + " is impossible with " +
                               std::to_string(cmd.stewards.size()) + " steward(s)");
      for (const auto& p : cmd.pins) {
        auto colon = p.find(':');
        if (colon != 64 || !isHex(p.substr(0, 64), 64, 64) || p.size() == 65 || p.size() > 65 + 19 ||
            p.find_first_not_of("0123456789", 65) != std::string::npos)
          return invalidArgument("steward-set: --pin must be KEY:SEQ (a whole feed key, a colon, a seq), got \"" +
                                 p.substr(0, 80) + "\"");
      }
      break;
    case CtlVerb::search:
      if (cmd.query.find_first_not_of(" \t") == std::string::npos)
        return invalidArgument("search: give the words to look for, e.g. civnetctl search \"clean water\"");
      if (Status st = record::checkText("search: the query", cmd.query); !st.ok()) return st;
      break;
    case CtlVerb::orgsProfile:
      for (auto [flag, v] : {std::pair<const char*, const std::optional<std::string>*>{"--region", &cmd.region},
                             {"--country", &cmd.country}, {"--contact", &cmd.contact}})
        if (*v)
          if (Status st = record::checkText(std::string("orgs profile: ") + flag, **v); !st.ok()) return st;
      if (Status st = checkItems("orgs profile: --label", cmd.labels); !st.ok()) return st;
      if (Status st = checkItems("orgs profile: --focus", cmd.focusAreas); !st.ok()) return st;
      break;
    case CtlVerb::admit:
      if (!isHex(cmd.key, 64, 64))
        return invalidArgument("admit: the key must be the organization's whole feed key (64 hex characters)");
      if (cmd.name.empty()) return invalidArgument("admit: --name must not be empty");
      if (Status st = record::checkText("admit: --name", cmd.name); !st.ok()) return st;
      if (cmd.region->empty()) return invalidArgument("admit: --region must not be empty");
      if (Status st = record::checkText("admit: --region", *cmd.region); !st.ok()) return st;
      if (cmd.country)
        if (Status st = record::checkText("admit: --country", *cmd.country); !st.ok()) return st;
      if (Status st = checkItems("admit: --label", cmd.labels); !st.ok()) return st;
      if (Status st = checkItems("admit: --focus", cmd.focusAreas); !st.ok()) return st;
      if (!expires.empty()) {
        auto ms = parseTimeMs(expires, "admit: --expires");
        if (!ms.ok()) return ms.status();
        cmd.expiresAt = *ms;
      }
      break;
    case CtlVerb::takedown:
      if (cmd.reason->empty()) return invalidArgument("takedown: --reason must not be empty");
      if (Status st = record::checkText("takedown: --reason", *cmd.reason); !st.ok()) return st;
      if (cmd.author || cmd.seq) {
        if (!cmd.author || !cmd.seq)
          return invalidArgument("takedown: an entry not held yet needs both --author and --seq (and its whole id)");
        if (!isHex(*cmd.author, 64, 64))
          return invalidArgument("takedown: --author must be the whole feed key (64 hex characters)");
        if (*cmd.seq == 0) return invalidArgument("takedown: --seq must be at least 1");
        if (!isHex(cmd.id, 64, 64))
          return invalidArgument("takedown: with --author and --seq, the id must be the whole id (64 hex characters)");
      } else if (!isHex(cmd.id, 8, 64)) {
        return invalidArgument("takedown: the id must be an entry id or its first 8 to 64 hex characters");
      }
      break;
    case CtlVerb::peersAdd:
      if (isHex(cmd.address, 64, 64) && cmd.key.find(':') != std::string::npos)
        return invalidArgument("peers add: the address comes first, then the node key: civnetctl peers add HOST:PORT KEY");
      if (!isHex(cmd.key, 64, 64)) return invalidArgument("peers add: the key must be the whole node key (64 hex characters)");
      if (cmd.address.find(':') == std::string::npos)
        return invalidArgument("peers add: the address must be HOST:PORT, got \"" + cmd.address.substr(0, 80) + "\"");
      break;
    case CtlVerb::peersRemove:
      if (!isHex(cmd.key, 8, 64))
        return invalidArgument("peers remove: the key must be a node key or its first 8 to 64 hex characters");
      break;
    case CtlVerb::accountsAdd:
    case CtlVerb::accountsDisable:
    case CtlVerb::accountsReset:
      if (cmd.handle.size() < 2 || cmd.handle.size() > 32 ||
          cmd.handle.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
        return invalidArgument("accounts: a handle is 2 to 32 of a-z, 0-9, '.', '_' and '-' (lower case), got \"" +
                               cmd.handle.substr(0, 40) + "\"");
      break;
    case CtlVerb::orgsAdd:
      if (cmd.name.empty()) return invalidArgument("orgs add: the name must not be empty");
      if (Status st = record::checkText("orgs add: the name", cmd.name); !st.ok()) return st;
      break;
    case CtlVerb::retract:
      if (!isHex(cmd.id, 8, 64))
        return invalidArgument("retract: the id must be an entry id or its first 8 to 64 hex characters");
      if (cmd.reason)
        if (Status st = record::checkText("retract: --reason", *cmd.reason); !st.ok()) return st;
      break;
    default:
      break;
  }

  if (!socket.empty() && !dataDir.empty()) return invalidArgument("give --data-dir or --socket, not both");
  if (!socket.empty()) {
    cmd.socketPath = socket;
    auto parent = std::filesystem::path(socket).parent_path();
    cmd.dataDir = parent.empty() ? "." : parent.string();
  } else {
    if (dataDir.empty() && envDataDir && !envDataDir->empty()) dataDir = *envDataDir;
    if (dataDir.empty())
      return invalidArgument("which node? give --data-dir DIR or --socket PATH, or set CIVNET_DATA_DIR");
    cmd.dataDir = dataDir;
    // The same name as daemon/data_dir.hpp's adminSocket().
    cmd.socketPath = (std::filesystem::path(dataDir) / "admin.sock").string();
  }
  return cmd;
}

}  // namespace civnet::tools

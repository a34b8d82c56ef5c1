// civnetctl's command line: argv in, a CtlCommand (or a usage error) out.
// Kept apart from running the commands so tests can check the parsing
// without a daemon, and so CLI11's heavy header is compiled in one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include "schemas/status.hpp"

namespace civnet::tools {

enum class CtlVerb {
  help, status, feeds, publish, entriesList, entriesShow, verify, reindex, exportFile, importFile,
  membersList, membersShow, admit, revoke, lift, takedown, retract, stewardSet, orgsList, orgsAdd,
  peersList, peersAdd, peersRemove, sync, accountsList, accountsAdd, accountsDisable, accountsReset, search, orgsProfile, health, metrics,
  backup, resumePublishing, reload,
};

struct CtlCommand {
  CtlVerb verb = CtlVerb::help;
  bool json = false;
  std::string socketPath;  // the admin socket to talk to
  std::string dataDir;     // for hints ("start it with: civnetd run --data-dir DIR")

  // publish
  std::string title;
  std::optional<std::string> body;
  std::optional<std::string> bodyFile;  // "-" reads stdin
  std::vector<std::string> tags;
  std::optional<std::string> org;  // a hosted organization's name or feed key; default: the node's own

  // entries list
  std::optional<std::string> author;  // a feed key or its first 8+ hex characters
  std::optional<std::string> tag;
  std::optional<std::string> kind;
  std::size_t limit = 50;
  std::string query;  // search: the words to look for

  std::string id;    // entries show, takedown, retract: an entry id or its first 8+ hex characters
  std::string file;  // export --out, import FILE, backup --out ("-": stdout)
  bool force = false;  // resume-publishing

  // members list filters (region also for admit)
  std::optional<std::string> region;
  std::optional<std::string> label;
  std::optional<std::string> state;  // none, pending, member, expired, suspended, revoked

  // members show, admit, revoke, lift: a feed key (admit: all 64 hex
  // characters; the others also take its first 8+)
  std::string key;
  // admit, orgs add
  std::string name;
  std::optional<std::string> country;
  std::optional<std::string> contact;  // orgs profile
  std::vector<std::string> labels;
  std::vector<std::string> focusAreas;
  std::optional<std::int64_t> expiresAt;  // ms since the Unix epoch, from --expires
  // revoke
  std::optional<std::uint64_t> afterSeq;
  // steward-set: the next set's stewards and k, and pins "KEY:SEQ" of removed stewards' feeds
  std::vector<std::string> stewards;
  std::uint32_t threshold = 0;
  std::vector<std::string> pins;
  // peers add: HOST:PORT (key in `key`); sync --wait
  std::string address;
  bool wait = false;
  int timeoutSeconds = 300;  // sync --wait gives up after this
  // revoke, takedown (required), retract (optional)
  std::optional<std::string> reason;
  // takedown of an entry not held yet: --author KEY --seq N with the whole id
  std::optional<std::uint64_t> seq;

  // accounts add, disable, reset (name and org as above)
  std::string handle;
  bool admin = false;
  bool passwordStdin = false;  // read the password from stdin instead of generating one

  std::string helpText;  // help: what to print
};

inline constexpr std::size_t kMaxListLimit = 1000;

// `text` as ms since the Unix epoch: all digits (ms), a date "2026-12-31"
// (its midnight UTC) or a UTC time "2026-12-31T18:00:00Z" (seconds
// optional). invalidArgument naming `what` otherwise.
Result<std::int64_t> parseTimeMs(std::string_view text, std::string_view what);

// `args` are the arguments after the program name. `envDataDir` is the value
// of CIVNET_DATA_DIR. The socket is --socket PATH, else DIR/admin.sock for
// --data-dir DIR, else for $CIVNET_DATA_DIR. An error's message is one line
// naming what is wrong.
Result<CtlCommand> parseCtlArgs(const std::vector<std::string>& args, const std::optional<std::string>& envDataDir);

}  // namespace civnet::tools

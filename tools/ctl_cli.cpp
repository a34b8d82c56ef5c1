// civnetctl's argument parsing with CLI11 (see ctl_cli.hpp).
#include "ctl_cli.hpp"

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

}  // namespace

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

  auto* publish = app.add_subcommand("publish", "Publish a post in this node's organization feed");
  publish->add_option("--title", cmd.title, "The post's title")->required();
  publish->add_option("--body", cmd.body, "The post's Markdown body");
  publish->add_option("--body-file", cmd.bodyFile, "Read the body from this file (- for stdin)");
  publish->add_option("--tag", cmd.tags, "A tag (repeat for several)");

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

  auto* verify = app.add_subcommand("verify", "Re-prove the whole store: every chain, signature and content hash");
  auto* exportCmd = app.add_subcommand("export", "Export every entry as framed SignedEntry messages");
  exportCmd->add_option("--out", cmd.file, "The file to write (never overwritten)")->required();
  auto* importCmd = app.add_subcommand("import", "Import entries from an export file");
  importCmd->add_option("file", cmd.file, "The export file")->required();

  // A subcommand's --help does not show the parent's options: say them.
  const std::string globals =
      "Global options (before or after the command):\n"
      "  --data-dir DIR    the node's data directory (default: $CIVNET_DATA_DIR)\n"
      "  --socket PATH     the admin socket (default: DIR/admin.sock)\n"
      "  --json            print JSON objects instead of tables\n";
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->footer(globals);
    for (CLI::App* nested : sub->get_subcommands({})) nested->footer(globals);
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
  else if (exportCmd->parsed()) cmd.verb = CtlVerb::exportFile;
  else if (importCmd->parsed()) cmd.verb = CtlVerb::importFile;
  else if (entries->parsed())
    return invalidArgument("entries: give a command: entries list or entries show (see civnetctl entries --help)");
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
      if (cmd.file.empty()) return invalidArgument("the file name must not be empty");
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

// civnetctl's command line: argv in, a CtlCommand (or a usage error) out.
// Kept apart from running the commands so tests can check the parsing
// without a daemon, and so CLI11's heavy header is compiled in one file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "schemas/status.hpp"

namespace civnet::tools {

enum class CtlVerb { help, status, feeds, publish, entriesList, entriesShow, verify, exportFile, importFile };

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

  // entries list
  std::optional<std::string> author;  // a feed key or its first 8+ hex characters
  std::optional<std::string> tag;
  std::optional<std::string> kind;
  std::size_t limit = 50;

  std::string id;    // entries show: an entry id or its first 8+ hex characters
  std::string file;  // export --out, import FILE

  std::string helpText;  // help: what to print
};

inline constexpr std::size_t kMaxListLimit = 1000;

// `args` are the arguments after the program name. `envDataDir` is the value
// of CIVNET_DATA_DIR. The socket is --socket PATH, else DIR/admin.sock for
// --data-dir DIR, else for $CIVNET_DATA_DIR. An error's message is one line
// naming what is wrong.
Result<CtlCommand> parseCtlArgs(const std::vector<std::string>& args, const std::optional<std::string>& envDataDir);

}  // namespace civnet::tools

// civnetctl's entry point: parse the command line, run the command against
// the node's admin API, exit 0 only on success (see ctl_commands.hpp for the
// other exit codes).
#include <cstdlib>
#include <iostream>

#include "tools/ctl_cli.hpp"
#include "tools/ctl_commands.hpp"

int main(int argc, char** argv) {
  using namespace civnet::tools;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> env;
  if (const char* e = std::getenv("CIVNET_DATA_DIR")) env = e;
  auto cmd = parseCtlArgs(args, env);
  if (!cmd.ok()) {
    std::cerr << "civnetctl: " << cmd.status().message() << "\n";
    return kExitUsage;
  }
  if (cmd->verb == CtlVerb::help) {
    std::cout << cmd->helpText;
    return kExitOk;
  }
  try {
    return runCtl(*cmd, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "civnetctl: bug: " << e.what() << "\n";
    return kExitFailed;
  }
}

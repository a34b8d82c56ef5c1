// Running civnetctl's commands against the admin API: each command is a
// few requests, then a table (or with --json, the API's JSON) on stdout.
// Errors are one line on stderr.
#pragma once

#include <iosfwd>

#include "tools/ctl_cli.hpp"

namespace civnet::tools {

// Exit codes scripts can rely on.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the command failed (or found problems)
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitUnreachable = 3;  // civnetd is not running (or not reachable)

// REQUIRES: cmd.verb != CtlVerb::help.
int runCtl(const CtlCommand& cmd, std::ostream& out, std::ostream& err);

}  // namespace civnet::tools

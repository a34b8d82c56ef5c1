// systemd notification through libsystemd (see notify.hpp).
#include "notify.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include <systemd/sd-daemon.h>

namespace civnet::daemon {
namespace {

// A status line is one line: a newline would start another assignment.
std::string statusLine(std::string_view status) {
  std::string line(status);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

// sd_notify is a no-op (returns 0) without NOTIFY_SOCKET; an error sending
// is no reason to stop the node, and systemd notices a missing READY=1 or
// WATCHDOG=1 by itself, so the result is deliberately ignored.
void send(const std::string& message) { (void)sd_notify(0, message.c_str()); }

}  // namespace

void notifyReady(std::string_view status) { send("READY=1\nSTATUS=" + statusLine(status)); }

void notifyStopping(std::string_view status) { send("STOPPING=1\nSTATUS=" + statusLine(status)); }

void notifyReloading(std::string_view status) { send("RELOADING=1\nSTATUS=" + statusLine(status)); }

void notifyWatchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdogInterval() {
  std::uint64_t usec = 0;
  // > 0: enabled for this process (WATCHDOG_USEC set, WATCHDOG_PID unset or ours).
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  // At least 1 ms, so an absurdly short WatchdogSec= cannot make a busy loop.
  return std::chrono::microseconds(static_cast<std::int64_t>(std::max<std::uint64_t>(usec / 2, 1000)));
}

}  // namespace civnet::daemon

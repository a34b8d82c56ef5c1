// Telling the service manager (systemd) how civnetd is doing: ready, stopping,
// and alive (the watchdog). A thin wrapper over libsystemd's sd_notify, whose
// header stays in notify.cpp.
//
// When civnetd is not started by systemd with Type=notify (NOTIFY_SOCKET is
// unset), every function here does nothing, and watchdogInterval() says there
// is no watchdog. Thread safety: the functions may be called from any thread;
// each sends one datagram and keeps no state.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace civnet::daemon {

// Sends READY=1 and STATUS=<status>: the node serves its admin API (systemd
// then considers the unit started, and `systemctl start` returns).
void notifyReady(std::string_view status);

// Sends STOPPING=1 and STATUS=<status>: shutdown has begun.
void notifyStopping(std::string_view status);

// Sends RELOADING=1 and STATUS=<status>: reading the configuration again
// (notifyReady follows when done).
void notifyReloading(std::string_view status);

// Sends WATCHDOG=1: the event loop is alive.
void notifyWatchdog();

// How often to call notifyWatchdog(): half the watchdog interval systemd set
// (WatchdogSec=, passed as WATCHDOG_USEC, for this process per WATCHDOG_PID),
// or nullopt when no watchdog is asked for.
std::optional<std::chrono::microseconds> watchdogInterval();

}  // namespace civnet::daemon

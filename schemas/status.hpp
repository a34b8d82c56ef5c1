// Status and Result<T>: expected failures as values.
//
// I/O errors, parse errors, refused input and "not found" are returned, not
// thrown. Exceptions are kept for bugs and fatal start-up misconfiguration.
// A Status carries a code (what kind of failure, for programs) and a message
// (one line naming what was wrong, for people).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace civnet {

enum class StatusCode {
  ok,
  invalidArgument,   // the caller's input is wrong (bad flag, bad value)
  notFound,          // the thing asked for does not exist
  alreadyExists,     // refusing to overwrite something
  permissionDenied,  // e.g. a key file readable by others
  corruption,        // stored or received bytes are damaged or forged
  refused,           // well-formed input this node will not accept
  ioError,           // the operating system said no
  unsupported,       // e.g. a store written by a newer version
  unavailable,       // the daemon is not running, a peer is gone
  internal,          // a bug; the message says where
};

const char* toString(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status okStatus() { return {}; }

  bool ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context: "reading node.key: permission denied".
  Status withContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

inline Status invalidArgument(std::string m) { return {StatusCode::invalidArgument, std::move(m)}; }
inline Status notFound(std::string m) { return {StatusCode::notFound, std::move(m)}; }
inline Status alreadyExists(std::string m) { return {StatusCode::alreadyExists, std::move(m)}; }
inline Status permissionDenied(std::string m) { return {StatusCode::permissionDenied, std::move(m)}; }
inline Status corruption(std::string m) { return {StatusCode::corruption, std::move(m)}; }
inline Status refused(std::string m) { return {StatusCode::refused, std::move(m)}; }
inline Status ioError(std::string m) { return {StatusCode::ioError, std::move(m)}; }
inline Status unsupported(std::string m) { return {StatusCode::unsupported, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::unavailable, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::internal, std::move(m)}; }

// A value or the Status explaining why there is none.
// REQUIRES: value() only when ok(); status() is okStatus() when ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace civnet

// Names of status codes, shared by logs, the admin API and the CLI.
#include "status.hpp"

namespace civnet {

const char* toString(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalidArgument: return "invalid_argument";
    case StatusCode::notFound: return "not_found";
    case StatusCode::alreadyExists: return "already_exists";
    case StatusCode::permissionDenied: return "permission_denied";
    case StatusCode::corruption: return "corruption";
    case StatusCode::refused: return "refused";
    case StatusCode::ioError: return "io_error";
    case StatusCode::unsupported: return "unsupported";
    case StatusCode::unavailable: return "unavailable";
    case StatusCode::internal: return "internal";
  }
  return "unknown";
}

}  // namespace civnet

// The web UI's files (daemon/web/), compiled into civnetd by
// data/embed_files.py.
#pragma once

#include <string_view>

namespace civnet::daemon {

struct WebAsset {
  std::string_view path;         // "/" (index.html) or "/assets/NAME"
  std::string_view contentType;
  std::string_view body;
};

// The file served at exactly `path`, or nullptr.
const WebAsset* findWebAsset(std::string_view path);

}  // namespace civnet::daemon

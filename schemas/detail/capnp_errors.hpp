// Turning a Cap'n Proto decode exception into one line a person can read.
// Internal to schemas/: the exception text is written for capnp developers
// ("expected array.size() >= offset [125 >= 523951378]") and may quote raw
// bytes of the input, so it is cleaned and cut before it reaches a message.
#pragma once

#include <string>

#include <kj/exception.h>

namespace civnet::record::detail {

inline std::string decodeError(const kj::Exception& e) {
  std::string out;
  for (char c : std::string(e.getDescription().cStr())) {
    if (out.size() >= 120) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return "not a valid Cap'n Proto message (" + out + ")";
}

}  // namespace civnet::record::detail

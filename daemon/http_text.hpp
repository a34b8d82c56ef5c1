// Small text helpers both HTTP APIs (admin and member) share: query strings
// and ASCII case folding.
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "schemas/status.hpp"

namespace civnet::daemon {

// The query string ("a=1&b=two%20x") as name -> value, percent-decoded ('+'
// is a space); the last value of a repeated name wins. invalidArgument for
// malformed percent-encoding.
Result<std::map<std::string, std::string>> parseQuery(std::string_view q);
// invalidArgument naming the first parameter not in `known`.
Status onlyParams(const std::map<std::string, std::string>& q, std::initializer_list<std::string_view> known);
// `s` with A-Z folded to a-z (other bytes as they are).
std::string asciiLower(std::string_view s);
// `a` and `b` are equal with A-Z folded to a-z (and nothing allocated).
bool asciiEqualFolded(std::string_view a, std::string_view b);

}  // namespace civnet::daemon

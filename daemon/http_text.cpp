// Query strings and case folding for the HTTP APIs (see http_text.hpp).
#include "http_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace civnet::daemon {
namespace {

std::string percentDecode(std::string_view s, bool& ok) {
  std::string out;
  ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      unsigned v = 0;
      if (i + 2 >= s.size()) { ok = false; return {}; }
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec != std::errc() || r.ptr != s.data() + i + 3) { ok = false; return {}; }
      out += static_cast<char>(v);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> parseQuery(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    bool ok1 = true, ok2 = true;
    std::string name = percentDecode(part.substr(0, eq), ok1);
    std::string value = eq == std::string_view::npos ? "" : percentDecode(part.substr(eq + 1), ok2);
    if (!ok1 || !ok2) return invalidArgument("malformed percent-encoding in the query string");
    out[name] = value;
  }
  return out;
}

Status onlyParams(const std::map<std::string, std::string>& q, std::initializer_list<std::string_view> known) {
  for (auto& [k, v] : q) {
    bool ok = false;
    for (auto n : known) ok = ok || k == n;
    if (!ok) return invalidArgument("unknown query parameter \"" + k + "\"");
  }
  return {};
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool asciiEqualFolded(std::string_view a, std::string_view b) {
  auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) {
           return fold(x) == fold(y);
         });
}

}  // namespace civnet::daemon

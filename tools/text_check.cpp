// UTF-8 and NUL checks for civnetctl (see text_check.hpp).
#include "text_check.hpp"

namespace civnet::tools {

std::optional<TextProblem> findTextProblem(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](std::size_t k) { return k < n && (byte(k) & 0xC0) == 0x80; };
  while (i < n) {
    unsigned char c = byte(i);
    if (c == 0) return TextProblem{i, true};
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;             // no overlong forms
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;             // no surrogates
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;             // no overlong forms
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;             // nothing over U+10FFFF
    else return TextProblem{i, false};                  // 0x80-0xC1, 0xF5-0xFF
    if (i + 1 >= n || byte(i + 1) < lo || byte(i + 1) > hi) return TextProblem{i, false};
    for (std::size_t k = 2; k < len; ++k)
      if (!cont(i + k)) return TextProblem{i, false};
    i += len;
  }
  return std::nullopt;
}

std::string describeTextProblem(std::string_view what, std::string_view s) {
  auto p = findTextProblem(s);
  if (!p) return {};
  return std::string(what) + (p->nul ? " contains a NUL byte" : " is not valid UTF-8 text") + " (byte offset " +
         std::to_string(p->offset) + ")";
}

}  // namespace civnet::tools

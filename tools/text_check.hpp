// Checks civnetctl makes on text before sending it: a post's title, body and
// tags must be valid UTF-8 without NUL bytes (record::validatePost refuses
// them on the node too, but a JSON parser's "syntax error" does not say
// which byte of which file is wrong).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace civnet::tools {

struct TextProblem {
  std::size_t offset = 0;  // of the first byte of the bad sequence, or of the NUL
  bool nul = false;        // a NUL byte (else invalid UTF-8)
};

// The first thing in `s` that is not acceptable text: a byte sequence that
// is not UTF-8 (overlong forms, surrogates and code points over U+10FFFF
// included) or a NUL byte. nullopt when `s` is fine.
std::optional<TextProblem> findTextProblem(std::string_view s);

// "WHAT is not valid UTF-8 text (byte offset N)" or "WHAT contains a NUL
// byte (byte offset N)"; empty when `s` is fine.
std::string describeTextProblem(std::string_view what, std::string_view s);

}  // namespace civnet::tools

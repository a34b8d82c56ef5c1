// Include this instead of <doctest/doctest.h> in civnet's tests.
//
// civnet names its enum printers `toString` (Verdict, StatusCode), which
// argument-dependent lookup would pick inside doctest's expression printer
// and break it (const char* + const char*). Qualifying the call sends every
// value through doctest's StringMaker instead, specialised below.
#pragma once

#define DOCTEST_STRINGIFY(...) ::doctest::toString(__VA_ARGS__)
#include <doctest/doctest.h>

#include "schemas/crypto.hpp"
#include "schemas/record.hpp"
#include "schemas/status.hpp"

namespace doctest {
template <>
struct StringMaker<civnet::record::Verdict> {
  static String convert(civnet::record::Verdict v) { return civnet::record::toString(v); }
};
template <>
struct StringMaker<civnet::StatusCode> {
  static String convert(civnet::StatusCode c) { return civnet::toString(c); }
};
template <std::size_t N, typename Tag>
struct StringMaker<civnet::FixedBytes<N, Tag>> {
  static String convert(const civnet::FixedBytes<N, Tag>& b) { return b.hex().c_str(); }
};
}  // namespace doctest

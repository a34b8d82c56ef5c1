// Tests of civnetctl's text checks (tools/text_check.hpp): which byte of a
// title, body or tag is not UTF-8, or is a NUL.
#include <doctest/doctest.h>

#include "tools/text_check.hpp"

using civnet::tools::describeTextProblem;
using civnet::tools::findTextProblem;

namespace {

// The offset of the first problem, or -1 for none.
long at(std::string_view s) {
  auto p = findTextProblem(s);
  return p ? static_cast<long>(p->offset) : -1;
}

}  // namespace

TEST_SUITE("text_check") {
  TEST_CASE("ASCII and well-formed UTF-8 of every length pass") {
    CHECK(at("") == -1);
    CHECK(at("Clean water") == -1);
    CHECK(at("caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x92\xA7, \xED\x9F\xBF, \xF4\x8F\xBF\xBF") == -1);
  }

  TEST_CASE("a byte that cannot start a character is named by its offset") {
    CHECK(at("ab\xFF") == 2);
    CHECK(at("\x80") == 0);
    CHECK(at("ok \xC3\xA9 \xC3") == 6);  // cut short at the end
    CHECK(at("\xC3(") == 0);               // no continuation byte
  }

  TEST_CASE("overlong forms, surrogates and code points over U+10FFFF are refused") {
    CHECK(at("\xC0\xAF") == 0);
    CHECK(at("\xE0\x80\xAF") == 0);
    CHECK(at("\xF0\x80\x80\xAF") == 0);
    CHECK(at("x\xED\xA0\x80") == 1);  // U+D800
    CHECK(at("\xF4\x90\x80\x80") == 0);
    CHECK(at("\xF5\x80\x80\x80") == 0);
  }

  TEST_CASE("a NUL byte is refused as such") {
    std::string s("title\0more", 10);
    auto p = findTextProblem(s);
    REQUIRE(p);
    CHECK(p->nul);
    CHECK(p->offset == 5);
  }

  TEST_CASE("the description names what and where") {
    CHECK(describeTextProblem("the body file x.md", "ab\xFF") ==
          "the body file x.md is not valid UTF-8 text (byte offset 2)");
    CHECK(describeTextProblem("--title", std::string("a\0", 2)) == "--title contains a NUL byte (byte offset 1)");
    CHECK(describeTextProblem("--title", "fine").empty());
  }
}

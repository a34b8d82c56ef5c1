// doctest's main for every unit test program (Debian's doctest ships no
// doctest_with_main library).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "tests/support/doctest.hpp"

// SPDX-License-Identifier: MIT
// The single doctest main shared by every test program.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

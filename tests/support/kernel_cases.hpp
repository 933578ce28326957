// SPDX-License-Identifier: MIT
// How many random cases a kernel test runs per arch path: OHQ_KERNEL_TEST_CASES when set (the
// qemu ctests lower it to stay under their timeout), else 3000 (300 under sanitizers).
#pragma once

#include <cstddef>
#include <cstdlib>

namespace ohq::test {

inline std::size_t kernel_case_count() {
  if (const char* s = std::getenv("OHQ_KERNEL_TEST_CASES")) return std::strtoul(s, nullptr, 10);
#if defined(OHQ_SANITIZED)
  return 300;
#else
  return 3000;
#endif
}

}  // namespace ohq::test

// SPDX-License-Identifier: MIT
// What the kernels' random-case tests share: how many cases to run per arch path, and how sizes
// are drawn.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <random>
#include <vector>

namespace ohq::test {

/// OHQ_KERNEL_TEST_CASES when set (the qemu ctests lower it to stay under their timeout), else 3000
/// (300 under sanitizers).
inline std::size_t kernel_case_count() {
  if (const char* s = std::getenv("OHQ_KERNEL_TEST_CASES")) return std::strtoul(s, nullptr, 10);
#if defined(OHQ_SANITIZED)
  return 300;
#else
  return 3000;
#endif
}

/// Half the time one of `edges` (1, primes, tile edges and their neighbours), else 1..max_random.
inline std::size_t pick_size(std::mt19937_64& gen, const std::vector<std::size_t>& edges, std::size_t max_random) {
  if (gen() % 2) return edges[gen() % edges.size()];
  return 1 + gen() % max_random;
}

}  // namespace ohq::test

// SPDX-License-Identifier: MIT
// What the kernels' random-case tests share: how many cases to run per arch path, and how sizes
// are drawn.
#pragma once

#include <ohq/kernels/w8a8_types.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

/// The n columns of K bytes at x (column i at x + i * ldx) scattered as the runs of a random
/// implicit im2col geometry (kernels::gemm_windows), each run a multiple of `granularity` bytes:
/// a GEMM reading `bytes` through `windows` (column stride `ldx`) sees the same matrix.
struct scattered_windows {
  std::vector<std::uint8_t> bytes;
  kernels::gemm_windows windows;
  std::size_t ldx = 0;
};
inline scattered_windows scatter_windows(std::mt19937_64& gen, const std::uint8_t* x, std::size_t n, std::size_t ldx,
                                         std::size_t k, std::size_t granularity) {
  std::vector<std::size_t> run_counts;
  for (std::size_t r = 1; r * granularity <= k; ++r)
    if (k % (r * granularity) == 0) run_counts.push_back(r);
  scattered_windows s;
  const std::size_t runs = run_counts[gen() % run_counts.size()], run = k / runs;
  const std::size_t width = 1 + gen() % n;
  s.ldx = run + gen() % 9;
  const std::size_t run_stride = width * s.ldx + gen() % 9, row_stride = runs * run_stride + gen() % 9;
  s.windows = {runs, width, row_stride, run_stride};
  s.bytes.assign((n + width - 1) / width * row_stride + 64, 0x77);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < runs; ++r)
      std::memcpy(s.bytes.data() + i / width * row_stride + i % width * s.ldx + r * run_stride, x + i * ldx + r * run,
                  run);
  return s;
}

}  // namespace ohq::test

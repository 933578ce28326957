// SPDX-License-Identifier: MIT
/// @file Test helpers for quant/: a portable seeded random source (splitmix64, Box-Muller).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace ohq_test {

/// splitmix64: the same sequence on every compiler and standard library (unlike std::*_distribution).
class rng {
 public:
  explicit rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double uniform() { return double(next() >> 11) * 0x1p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi].
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    return lo + std::int64_t(next() % std::uint64_t(hi - lo + 1));
  }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  std::vector<float> normals(std::size_t n, double sigma = 1.0) {
    std::vector<float> v(n);
    for (auto& x : v) x = static_cast<float>(sigma * normal());
    return v;
  }

 private:
  std::uint64_t state_;
};

}  // namespace ohq_test

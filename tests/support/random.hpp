// SPDX-License-Identifier: MIT
// Deterministic random data for tests.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace ohq::test {

/// A seeded generator so every failure reproduces.
inline std::mt19937& rng() {
  static std::mt19937 gen(20261130u);
  return gen;
}

inline void fill_uniform(std::span<float> values, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : values) v = dist(rng());
}

inline std::vector<float> random_vector(std::size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  fill_uniform(v, lo, hi);
  return v;
}

/// Random weights in every parameter of every layer; batch-norm variances kept positive.
template <class Net>
void randomize(Net& net) {
  net.for_each_layer([](auto& layer) {
    layer.for_each_parameter([](std::string_view name, std::span<float> values) {
      if (name == "running_var")
        fill_uniform(values, 0.5f, 2.0f);
      else
        fill_uniform(values, -0.5f, 0.5f);
    });
  });
}

}  // namespace ohq::test

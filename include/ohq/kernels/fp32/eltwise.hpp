// SPDX-License-Identifier: MIT
/// @file Defines the fp32 element-wise kernels: activations (as PyTorch defines them) and softmax.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace ohq::kernels::fp32 {

inline float relu(float x) { return x > 0.0f ? x : 0.0f; }
inline float relu6(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
/// PyTorch: relu6(x + 3) / 6 (ONNX HardSigmoid with alpha = 1/6, beta = 0.5).
inline float hardsigmoid(float x) { return relu6(x + 3.0f) / 6.0f; }
/// PyTorch: x * relu6(x + 3) / 6.
inline float hardswish(float x) { return x * relu6(x + 3.0f) / 6.0f; }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

/// Applies f element-wise: out[i] = f(in[i]).
template <class F>
inline void map(const float* in, float* out, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

/// out = a + b element-wise (the residual join).
inline void add(const float* a, const float* b, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

/// Softmax of each of `rows` rows of length n, numerically stable (max subtracted first).
inline void softmax(const float* in, float* out, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = in + r * n;
    float* y = out + r * n;
    const float top = *std::max_element(x, x + n);
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) sum += (y[i] = std::exp(x[i] - top));
    for (std::size_t i = 0; i < n; ++i) y[i] /= sum;
  }
}

}  // namespace ohq::kernels::fp32

// SPDX-License-Identifier: MIT
/// @file Defines the fp32 pooling kernels (max, average, global average), NCHW, one sample.
#pragma once

#include <ohq/kernels/fp32/conv2d.hpp>

#include <cstddef>
#include <limits>

namespace ohq::kernels::fp32 {

/// Geometry of a pooling window: channels are pooled independently.
struct pool_geometry {
  std::size_t channels, in_height, in_width, out_height, out_width;
  std::size_t kernel, stride, padding;
};

/// Max over each window; padded positions never win (they count as -inf, as in PyTorch/ONNX).
inline void max_pool(const pool_geometry& g, const float* in, float* out) {
  const std::size_t h = g.in_height, w = g.in_width;
  for (std::size_t c = 0; c < g.channels; ++c) {
    const float* plane = in + c * h * w;
    for (std::size_t oy = 0; oy < g.out_height; ++oy) {
      for (std::size_t ox = 0; ox < g.out_width; ++ox) {
        float best = -std::numeric_limits<float>::infinity();
        for (std::size_t ky = 0; ky < g.kernel; ++ky) {
          const std::size_t iy = oy * g.stride + ky;
          if (iy < g.padding || iy - g.padding >= h) continue;
          for (std::size_t kx = 0; kx < g.kernel; ++kx) {
            const std::size_t ix = ox * g.stride + kx;
            if (ix < g.padding || ix - g.padding >= w) continue;
            const float v = plane[(iy - g.padding) * w + ix - g.padding];
            best = v > best ? v : best;
          }
        }
        out[(c * g.out_height + oy) * g.out_width + ox] = best;
      }
    }
  }
}

/// Mean over each window; divides by K*K when padding counts, else by the in-image positions.
inline void avg_pool(const pool_geometry& g, bool count_include_pad, const float* in, float* out) {
  const std::size_t h = g.in_height, w = g.in_width;
  for (std::size_t c = 0; c < g.channels; ++c) {
    const float* plane = in + c * h * w;
    for (std::size_t oy = 0; oy < g.out_height; ++oy) {
      for (std::size_t ox = 0; ox < g.out_width; ++ox) {
        float sum = 0.0f;
        std::size_t count = 0;
        for (std::size_t ky = 0; ky < g.kernel; ++ky) {
          const std::size_t iy = oy * g.stride + ky;
          if (iy < g.padding || iy - g.padding >= h) continue;
          for (std::size_t kx = 0; kx < g.kernel; ++kx) {
            const std::size_t ix = ox * g.stride + kx;
            if (ix < g.padding || ix - g.padding >= w) continue;
            sum += plane[(iy - g.padding) * w + ix - g.padding];
            ++count;
          }
        }
        const std::size_t divisor = count_include_pad ? g.kernel * g.kernel : count;
        out[(c * g.out_height + oy) * g.out_width + ox] = sum / static_cast<float>(divisor);
      }
    }
  }
}

/// out[c] = mean over the plane of channel c.
inline void global_avg_pool(std::size_t channels, std::size_t pixels, const float* in, float* out) {
  for (std::size_t c = 0; c < channels; ++c) {
    float sum = 0.0f;
    const float* plane = in + c * pixels;
    for (std::size_t i = 0; i < pixels; ++i) sum += plane[i];
    out[c] = sum / static_cast<float>(pixels);
  }
}

}  // namespace ohq::kernels::fp32

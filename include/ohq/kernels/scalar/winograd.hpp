// SPDX-License-Identifier: MIT
/// @file Defines the scalar Winograd F(2x2, 3x3) convolution kernel (kernels/winograd_types.hpp):
/// the portable path of the dispatch table, plain loops in wrapping uint32 arithmetic over the
/// packed weights the SIMD kernels read.
#pragma once

#include <ohq/kernels/winograd_types.hpp>
#include <ohq/quant/requantize.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ohq::kernels::scalar {

/// V = B^T d B for one 4x4 patch d (row-major), B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
inline void winograd_input_transform(const std::int32_t (&d)[16], std::int32_t (&v)[16]) noexcept {
  std::int32_t t[16];  // B^T d
  for (std::size_t j = 0; j < 4; ++j) {
    t[0 + j] = d[0 + j] - d[8 + j];
    t[4 + j] = d[4 + j] + d[8 + j];
    t[8 + j] = d[8 + j] - d[4 + j];
    t[12 + j] = d[4 + j] - d[12 + j];
  }
  for (std::size_t i = 0; i < 4; ++i) {  // (B^T d) B
    v[4 * i + 0] = t[4 * i + 0] - t[4 * i + 2];
    v[4 * i + 1] = t[4 * i + 1] + t[4 * i + 2];
    v[4 * i + 2] = t[4 * i + 2] - t[4 * i + 1];
    v[4 * i + 3] = t[4 * i + 1] - t[4 * i + 3];
  }
}

/// A^T m A for one 4x4 block m (wrapping), A^T = [1 1 1 0; 0 1 -1 -1]: 4x the 2x2 outputs.
inline void winograd_output_transform(const std::uint32_t (&m)[16], std::uint32_t (&y)[4]) noexcept {
  std::uint32_t t[8];  // A^T m
  for (std::size_t j = 0; j < 4; ++j) {
    t[j] = m[j] + m[4 + j] + m[8 + j];
    t[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
  }
  for (std::size_t i = 0; i < 2; ++i) {
    y[2 * i + 0] = t[4 * i + 0] + t[4 * i + 1] + t[4 * i + 2];
    y[2 * i + 1] = t[4 * i + 1] - t[4 * i + 2] - t[4 * i + 3];
  }
}

inline void run_winograd(const winograd_args& a) noexcept {
  const std::size_t tiles_w = (a.out_width + 1) / 2, c_count = a.channels, kp = a.channel_pairs;
  thread_local std::vector<std::int32_t> v;  // [16][2 * kp] of one tile
  v.assign(16 * 2 * kp, 0);
  for (std::size_t t = a.tile_begin; t < a.tile_end; ++t) {
    const std::size_t ty = t / tiles_w, tx = t % tiles_w;
    const std::ptrdiff_t iy0 = std::ptrdiff_t(2 * ty) - std::ptrdiff_t(a.padding);
    const std::ptrdiff_t ix0 = std::ptrdiff_t(2 * tx) - std::ptrdiff_t(a.padding);
    for (std::size_t c = 0; c < c_count; ++c) {
      std::int32_t d[16], vt[16];
      for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
          const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(i), ix = ix0 + std::ptrdiff_t(j);
          const bool inside = iy >= 0 && iy < std::ptrdiff_t(a.height) && ix >= 0 && ix < std::ptrdiff_t(a.width);
          d[4 * i + j] =
              inside ? std::int32_t(a.x[(std::size_t(iy) * a.width + std::size_t(ix)) * c_count + c]) - a.x_zero_point
                     : 0;
        }
      winograd_input_transform(d, vt);
      for (std::size_t xi = 0; xi < 16; ++xi) v[xi * 2 * kp + c] = vt[xi];
    }
    for (std::size_t o = 0; o < a.out_channels; ++o) {
      const std::size_t ob = o / winograd_out_block, col = o % winograd_out_block;
      std::uint32_t m[16];
      for (std::size_t xi = 0; xi < 16; ++xi) {
        const std::int16_t* u = a.weights + ((xi * a.out_blocks + ob) * kp) * 2 * winograd_out_block + 2 * col;
        const std::int32_t* vx = v.data() + xi * 2 * kp;
        std::uint32_t sum = 0;
        for (std::size_t p = 0; p < kp; ++p, u += 2 * winograd_out_block)
          sum += std::uint32_t(vx[2 * p] * u[0]) + std::uint32_t(vx[2 * p + 1] * u[1]);
        m[xi] = sum;
      }
      std::uint32_t y4[4];
      winograd_output_transform(m, y4);
      const quant::fixed_multiplier f{a.multiplier[o], a.shift[o]};
      for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j) {
          const std::size_t oy = 2 * ty + i, ox = 2 * tx + j;
          if (oy >= a.out_height || ox >= a.out_width) continue;
          // 4 * acc exactly (check_winograd): an arithmetic shift recovers acc
          const std::int32_t acc = static_cast<std::int32_t>(y4[2 * i + j]) >> 2;
          const std::uint32_t with_bias = std::uint32_t(acc) + std::uint32_t(a.bias ? a.bias[o] : 0);
          a.y[(oy * a.out_width + ox) * a.y_pixel_stride + o] = static_cast<std::uint8_t>(
              quant::requantize(static_cast<std::int32_t>(with_bias), f, a.zero_point, a.lo, a.hi));
        }
    }
  }
}

inline const winograd_kernel_entry* winograd_entry() noexcept {
  static constexpr winograd_kernel_entry entry{"scalar winograd F(2x2,3x3)", &run_winograd};
  return &entry;
}

}  // namespace ohq::kernels::scalar

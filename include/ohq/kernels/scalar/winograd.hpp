// SPDX-License-Identifier: MIT
/// @file Defines the scalar Winograd convolution kernels of every winograd_tile
/// (kernels/winograd_types.hpp): the portable path of the dispatch table, plain loops over the
/// transform matrices in wrapping uint32 arithmetic, reading the packed weights the SIMD kernels read.
#pragma once

#include <ohq/kernels/winograd_types.hpp>
#include <ohq/quant/requantize.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ohq::kernels::scalar {

/// V = B^T d B for one alpha x alpha patch d (row-major) of tile T.
template <winograd_tile T>
void winograd_input_transform(const std::int32_t* d, std::int32_t* v) noexcept {
  using tr = winograd_transform<T>;
  constexpr std::size_t n = tr::alpha;
  std::int32_t t[n * n];  // B^T d
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::int32_t s = 0;
      for (std::size_t k = 0; k < n; ++k) s += tr::bt[i][k] * d[k * n + j];
      t[i * n + j] = s;
    }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::int32_t s = 0;
      for (std::size_t k = 0; k < n; ++k) s += t[i * n + k] * tr::bt[j][k];
      v[i * n + j] = s;
    }
}

/// A^T m A for one alpha x alpha block m (wrapping): scale * the M x M outputs of tile T.
template <winograd_tile T>
void winograd_output_transform(const std::uint32_t* m, std::uint32_t* y) noexcept {
  using tr = winograd_transform<T>;
  constexpr std::size_t n = tr::alpha, M = tr::m;
  std::uint32_t t[M * n];  // A^T m
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::uint32_t s = 0;
      for (std::size_t k = 0; k < n; ++k) s += std::uint32_t(tr::at[i][k]) * m[k * n + j];
      t[i * n + j] = s;
    }
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < M; ++j) {
      std::uint32_t s = 0;
      for (std::size_t k = 0; k < n; ++k) s += t[i * n + k] * std::uint32_t(tr::at[j][k]);
      y[i * M + j] = s;
    }
}

/// acc from scale * acc (exact in int32, check_winograd): the shift, then the odd part's inverse.
template <winograd_tile T>
constexpr std::int32_t winograd_unscale(std::uint32_t scaled) noexcept {
  using tr = winograd_transform<T>;
  const std::uint32_t shifted = static_cast<std::uint32_t>(static_cast<std::int32_t>(scaled) >> tr::scale_shift);
  return static_cast<std::int32_t>(shifted * tr::odd_inverse);
}

template <winograd_tile T>
void run_winograd_tiles(const winograd_args& a) noexcept {
  using tr = winograd_transform<T>;
  constexpr std::size_t n = tr::alpha, positions = tr::positions, M = tr::m, step = M * tr::stride;
  const std::size_t tiles_w = (a.out_width + M - 1) / M, c_count = a.channels, kp = a.channel_pairs;
  thread_local std::vector<std::int32_t> v;  // [positions][2 * kp] of one tile
  v.assign(positions * 2 * kp, 0);
  for (std::size_t t = a.tile_begin; t < a.tile_end; ++t) {
    const std::size_t ty = t / tiles_w, tx = t % tiles_w;
    const std::ptrdiff_t iy0 = std::ptrdiff_t(step * ty) - std::ptrdiff_t(a.padding);
    const std::ptrdiff_t ix0 = std::ptrdiff_t(step * tx) - std::ptrdiff_t(a.padding);
    for (std::size_t c = 0; c < c_count; ++c) {
      std::int32_t d[positions], vt[positions];
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(i), ix = ix0 + std::ptrdiff_t(j);
          const bool inside = iy >= 0 && iy < std::ptrdiff_t(a.height) && ix >= 0 && ix < std::ptrdiff_t(a.width);
          d[n * i + j] =
              inside ? std::int32_t(a.x[(std::size_t(iy) * a.width + std::size_t(ix)) * c_count + c]) - a.x_zero_point
                     : 0;
        }
      winograd_input_transform<T>(d, vt);
      for (std::size_t xi = 0; xi < positions; ++xi) v[xi * 2 * kp + c] = vt[xi];
    }
    for (std::size_t o = 0; o < a.out_channels; ++o) {
      const std::size_t ob = o / winograd_out_block, col = o % winograd_out_block;
      std::uint32_t m[positions];
      for (std::size_t xi = 0; xi < positions; ++xi) {
        const std::int16_t* u = a.weights + ((xi * a.out_blocks + ob) * kp) * 2 * winograd_out_block + 2 * col;
        const std::int32_t* vx = v.data() + xi * 2 * kp;
        std::uint32_t sum = 0;
        for (std::size_t p = 0; p < kp; ++p, u += 2 * winograd_out_block)
          sum += std::uint32_t(vx[2 * p] * u[0]) + std::uint32_t(vx[2 * p + 1] * u[1]);
        m[xi] = sum;
      }
      std::uint32_t y[M * M];
      winograd_output_transform<T>(m, y);
      const quant::fixed_multiplier f{a.multiplier[o], a.shift[o]};
      for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < M; ++j) {
          const std::size_t oy = M * ty + i, ox = M * tx + j;
          if (oy >= a.out_height || ox >= a.out_width) continue;
          const std::int32_t acc = winograd_unscale<T>(y[M * i + j]);
          const std::uint32_t with_bias = std::uint32_t(acc) + std::uint32_t(a.bias ? a.bias[o] : 0);
          a.y[(oy * a.out_width + ox) * a.y_pixel_stride + o] = static_cast<std::uint8_t>(
              quant::requantize(static_cast<std::int32_t>(with_bias), f, a.zero_point, a.lo, a.hi));
        }
    }
  }
}

inline void run_winograd(const winograd_args& a) noexcept {
  with_winograd_tile(a.tile, [&](auto tile) { run_winograd_tiles<decltype(tile)::value>(a); });
}

inline const winograd_kernel_entry* winograd_entry() noexcept {
  static constexpr winograd_kernel_entry entry{"scalar winograd F(2x2|3x3, 3x3), stride 1|2", &run_winograd};
  return &entry;
}

}  // namespace ohq::kernels::scalar

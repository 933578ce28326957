// SPDX-License-Identifier: MIT
/// @file Defines the scalar W8A8 GEMM kernel on the packed layout (kernels/w8a8_types.hpp): the
/// portable path of the dispatch table, plain C++ with the same decomposition the SIMD kernels use.
#pragma once

#include <ohq/kernels/w8a8_types.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ohq::kernels::scalar {

/// A register tile of Mr rows x Nr columns (CUTLASS style: the tile is the type).
template <std::size_t Mr, std::size_t Nr>
struct gemm_w8a8 {
  static constexpr std::size_t mr = Mr;
  static constexpr std::size_t nr = Nr;

  /// acc[rr][c] = sum_k x[c][k] * w[rr][k] (mod 2^32) for nc <= Nr columns of one row tile.
  static void tile(const std::uint8_t* const* xs, std::size_t nc, const std::int8_t* wt, std::size_t k,
                   std::uint32_t (&acc)[Mr][Nr]) noexcept {
    for (auto& row : acc) std::fill(std::begin(row), std::end(row), 0u);
    const std::size_t k4 = (k + 3) / 4;
    for (std::size_t g = 0; g < k4; ++g) {
      std::uint8_t xg[Nr][4] = {};
      const std::size_t kk_end = std::min<std::size_t>(4, k - 4 * g);
      for (std::size_t c = 0; c < nc; ++c) std::memcpy(xg[c], xs[c] + 4 * g, kk_end);
      const std::int8_t* wg = wt + g * Mr * 4;
      for (std::size_t rr = 0; rr < Mr; ++rr)
        for (std::size_t c = 0; c < Nr; ++c) {
          std::int32_t s = 0;
          for (std::size_t kk = 0; kk < 4; ++kk) s += std::int32_t(xg[c][kk]) * wg[rr * 4 + kk];
          acc[rr][c] += static_cast<std::uint32_t>(s);
        }
    }
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t k4 = (a.cols + 3) / 4;
    const std::size_t tiles = (a.rows + Mr - 1) / Mr;
    for (std::size_t i0 = 0; i0 < a.n; i0 += Nr) {
      const std::size_t nc = std::min(Nr, a.n - i0);
      const std::uint8_t* xs[Nr] = {};
      for (std::size_t c = 0; c < nc; ++c) xs[c] = a.x + (i0 + c) * a.ldx;
      for (std::size_t t = 0; t < tiles; ++t) {
        std::uint32_t acc[Mr][Nr];
        tile(xs, nc, a.packed + t * k4 * Mr * 4, a.cols, acc);
        const std::size_t rows = std::min(Mr, a.rows - t * Mr);
        for (std::size_t rr = 0; rr < rows; ++rr) {
          const std::size_t j = t * Mr + rr;
          // bias - z * rowsum, wrapping: the true accumulator fits int32, so the sum mod 2^32 is it
          const std::uint32_t corr = static_cast<std::uint32_t>(a.bias ? a.bias[j] : 0) -
                                     static_cast<std::uint32_t>(a.x_zero_point) * static_cast<std::uint32_t>(a.row_sums[j]);
          const quant::fixed_multiplier f{a.multiplier[j], a.shift[j]};
          for (std::size_t c = 0; c < nc; ++c) {
            const auto v = static_cast<std::int32_t>(acc[rr][c] + corr);
            a.y[j * a.channel_stride + (i0 + c) * a.column_stride] =
                static_cast<std::uint8_t>(quant::requantize(v, f, a.zero_point, a.lo, a.hi));
          }
        }
      }
    }
  }
};

/// The scalar instance of the dispatch table.
using gemm_w8a8_default = gemm_w8a8<4, 4>;

inline void run_gemm_w8a8(const w8a8_gemm_args& a) noexcept { gemm_w8a8_default::run(a); }

inline const w8a8_kernel_entry* gemm_w8a8_entry() noexcept {
  static constexpr w8a8_kernel_entry entry{"scalar w8a8 gemm 4x4", gemm_w8a8_default::mr, gemm_w8a8_default::nr, 0,
                                           &run_gemm_w8a8};
  return &entry;
}

}  // namespace ohq::kernels::scalar

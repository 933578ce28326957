// SPDX-License-Identifier: MIT
/// @file Defines the scalar W8A8 GEMM kernel on the packed layout (kernels/w8a8_types.hpp): the
/// portable path of the dispatch table, plain C++ with the same decomposition the SIMD kernels use.
///
/// Written for the compiler's auto-vectorizer (the baseline build has SSE2 only): the tile height
/// is 1, so the packed layout is row-major with K padded to 4 (row j at packed + j * round_up(K, 4)),
/// and each block of Nr activation columns is widened to int16 once, into the scratch the dispatch
/// entry asks for. The inner loop is then Nr independent int16 x int16 -> int32 dot products over
/// one contiguous weight row, the shape compilers turn into multiply-add instructions (pmaddwd),
/// with each weight byte widened once for Nr columns.
#pragma once

#include <ohq/kernels/w8a8_types.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ohq::kernels::scalar {

/// One weight row against Nr activation columns at a time (the tile is the type).
template <std::size_t Nr>
struct gemm_w8a8 {
  static constexpr std::size_t mr = 1;
  static constexpr std::size_t nr = Nr;

  /// |x * w| <= 255 * 128 < 2^15, so 2^15 products sum to < 2^30: an int32 partial sum over a block
  /// of this many k cannot overflow (no UB), and the blocks add up wrapping in uint32.
  static constexpr std::size_t k_block = std::size_t{1} << 15;

  /// acc[c] = sum_{k < kp} xs[c * kp + k] * w[k] (mod 2^32) for Nc int16 columns of length kp.
  template <std::size_t Nc>
  static void dots(const std::int16_t* xs, std::size_t kp, const std::int8_t* w, std::uint32_t (&acc)[Nc]) noexcept {
    std::fill(std::begin(acc), std::end(acc), 0u);
    for (std::size_t k0 = 0; k0 < kp; k0 += k_block) {
      const std::size_t k1 = std::min(kp, k0 + k_block);
      std::int32_t partial[Nc] = {};
      for (std::size_t k = k0; k < k1; ++k) {
        const std::int32_t wk = std::int16_t(w[k]);
        for (std::size_t c = 0; c < Nc; ++c) partial[c] += std::int32_t(xs[c * kp + k]) * wk;
      }
      for (std::size_t c = 0; c < Nc; ++c) acc[c] += static_cast<std::uint32_t>(partial[c]);
    }
  }

  /// Outputs of every row for columns [i0, i0 + Nc), whose int16 copies are in a.scratch.
  template <std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t i0, std::size_t kp) noexcept {
    for (std::size_t j = 0; j < a.rows; ++j) {
      std::uint32_t acc[Nc];
      dots<Nc>(a.scratch, kp, a.packed + j * kp, acc);
      // bias - z * rowsum, wrapping: the true accumulator fits int32, so the sum mod 2^32 is it
      const std::uint32_t corr = static_cast<std::uint32_t>(a.bias ? a.bias[j] : 0) -
                                 static_cast<std::uint32_t>(a.x_zero_point) * static_cast<std::uint32_t>(a.row_sums[j]);
      const quant::fixed_multiplier f{a.multiplier[j], a.shift[j]};
      std::uint8_t* yj = a.y + j * a.channel_stride;
      for (std::size_t c = 0; c < Nc; ++c)
        yj[(i0 + c) * a.column_stride] = static_cast<std::uint8_t>(
            quant::requantize(static_cast<std::int32_t>(acc[c] + corr), f, a.zero_point, a.lo, a.hi));
    }
  }

  /// The column tail: block<nc> for the run-time nc < Nr.
  template <std::size_t Nc>
  static void tail(const w8a8_gemm_args& a, std::size_t i0, std::size_t nc, std::size_t kp) noexcept {
    if (nc == Nc)
      block<Nc>(a, i0, kp);
    else if constexpr (Nc > 1)
      tail<Nc - 1>(a, i0, nc, kp);
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t kp = (a.cols + 3) / 4 * 4;
    for (std::size_t i0 = 0; i0 < a.n; i0 += Nr) {
      const std::size_t nc = std::min(Nr, a.n - i0);
      for (std::size_t c = 0; c < nc; ++c) {
        const std::uint8_t* x = a.x + (i0 + c) * a.ldx;
        std::int16_t* xs = a.scratch + c * kp;
        std::copy(x, x + a.cols, xs);
        std::fill(xs + a.cols, xs + kp, std::int16_t{0});  // meets the zero padding of the weights
      }
      if (nc == Nr)
        block<Nr>(a, i0, kp);
      else
        tail<Nr - 1>(a, i0, nc, kp);
    }
  }
};

/// The scalar instance of the dispatch table.
using gemm_w8a8_default = gemm_w8a8<8>;

inline void run_gemm_w8a8(const w8a8_gemm_args& a) noexcept { gemm_w8a8_default::run(a); }

inline const w8a8_kernel_entry* gemm_w8a8_entry() noexcept {
  static constexpr w8a8_kernel_entry entry{"scalar w8a8 gemm 1x8 (int16 columns)", gemm_w8a8_default::mr,
                                           gemm_w8a8_default::nr, gemm_w8a8_default::nr, &run_gemm_w8a8};
  return &entry;
}

}  // namespace ohq::kernels::scalar

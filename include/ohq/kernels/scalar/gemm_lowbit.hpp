// SPDX-License-Identifier: MIT
/// @file Defines the scalar low-bit GEMM kernels (W4A8, W2A8, W1A8): the portable path of the
/// dispatch table, written for the compiler's auto-vectorizer (the baseline build has SSE2 only).
///
/// They read the row layout (mr = 1) of kernels/gemm_lowbit_types.hpp, i.e. quant/packing.hpp's
/// blocks: masking field f of a block's 8B bytes yields 8B consecutive k of one row, so a row is
/// decoded in registers on the way into quant::gemm_reference's loop shape (int16 x int16 -> int32
/// sums, which compilers turn into pmaddwd) and is never unpacked to memory. Each block of Nr
/// activation columns is widened to int16 once (zero past K) and meets every row, so each decoded
/// weight serves Nr columns.
#pragma once

#include <ohq/kernels/gemm_lowbit_types.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace ohq::kernels {

/// Scalar: one weight row x Nr columns at a time (Mr = 1: the row layout).
template <unsigned WeightBits, std::size_t Mr, std::size_t Nr>
  requires(WeightBits == 4 || WeightBits == 2 || WeightBits == 1)
struct gemm_lowbit<arch::scalar, WeightBits, Mr, Nr> {
  static_assert(Mr == 1, "ohq: the scalar low-bit kernels read the row layout (mr = 1)");
  static constexpr std::size_t mr = Mr;
  static constexpr std::size_t nr = Nr;
  static constexpr std::size_t fields = 8 / WeightBits;
  static constexpr std::size_t field_k = 8 * WeightBits;  // k per field of a block (and bytes per block)
  static constexpr std::size_t block_k = 64;
  static constexpr unsigned field_mask = (1u << WeightBits) - 1u;
  static constexpr std::int32_t field_offset = WeightBits == 1 ? 1 : 1 << (WeightBits - 1);
  /// |x * w| <= 255 * 8 < 2^11, so 2^20 products sum to < 2^31: an int32 partial sum over a block
  /// of this many k cannot overflow (no UB), and the blocks add up wrapping in uint32.
  static constexpr std::size_t k_block = std::size_t{1} << 20;

  /// At 1 bit, the 8 weights (+-1) of each byte value: bit f -> entry f.
  struct sign_table {
    std::int16_t w[256][8];
  };
  static constexpr sign_table signs = [] {
    sign_table t{};
    for (unsigned b = 0; b < 256; ++b)
      for (unsigned f = 0; f < 8; ++f) t.w[b][f] = static_cast<std::int16_t>((b >> f) & 1u ? 1 : -1);
    return t;
  }();

  /// Where activation k of a 64-k block goes in the int16 copy of a column: k itself, except at
  /// 1 bit, where byte j of a block holds codes j + 8f (f < 8) and a table row decodes it in that
  /// order, so the copy is permuted to match: position 8j + f holds k = j + 8f.
  static constexpr std::size_t column_position(std::size_t k) noexcept {
    return WeightBits == 1 ? k / block_k * block_k + (k % 8) * 8 + (k % block_k) / 8 : k;
  }

  /// w[i] = the 64 weights of one block in the order of column_position. 16 bytes (one SSE2
  /// vector) at a time in 16-bit lanes (compilers widen the whole computation otherwise); at 1 bit
  /// one table row (8 weights) per byte.
  static void decode_block(const std::uint8_t* block, std::int16_t (&w)[block_k]) noexcept {
    if constexpr (WeightBits == 1) {
      for (std::size_t j = 0; j < 8; ++j) std::memcpy(w + 8 * j, signs.w[block[j]], sizeof(signs.w[0]));
    } else {
      for (std::size_t j0 = 0; j0 < field_k; j0 += 16)
        for (std::size_t f = 0; f < fields; ++f)
          for (std::size_t j = j0; j < j0 + 16; ++j) {
            const std::uint16_t b = block[j];
            w[f * field_k + j] = static_cast<std::int16_t>(((b >> (f * WeightBits)) & field_mask) - field_offset);
          }
    }
  }

  /// acc[c] = sum_{k < kp} xs[c * kp + k] * w[k] (mod 2^32) for Nc int16 columns of length kp
  /// (a multiple of 64), w the packed row.
  template <std::size_t Nc>
  static void dots(const std::int16_t* xs, std::size_t kp, const std::uint8_t* row, std::uint32_t (&acc)[Nc]) noexcept {
    for (auto& v : acc) v = 0;
    for (std::size_t k0 = 0; k0 < kp; k0 += k_block) {
      const std::size_t k1 = std::min(kp, k0 + k_block);
      std::int32_t partial[Nc] = {};
      for (std::size_t kb = k0; kb < k1; kb += block_k) {
        const std::uint8_t* block = row + kb / block_k * field_k;
        std::int16_t w[block_k];
        decode_block(block, w);
        for (std::size_t k = 0; k < block_k; ++k) {
          const std::int32_t wk = w[k];
          for (std::size_t c = 0; c < Nc; ++c) partial[c] += std::int32_t(xs[c * kp + kb + k]) * wk;
        }
      }
      for (std::size_t c = 0; c < Nc; ++c) acc[c] += static_cast<std::uint32_t>(partial[c]);
    }
  }

  /// Outputs of every row for columns [i0, i0 + Nc), whose int16 copies are in the scratch.
  template <std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t i0, const std::int16_t* xs, std::size_t kp) noexcept {
    const auto* packed = reinterpret_cast<const std::uint8_t*>(a.packed);
    const std::size_t row_bytes = kp / block_k * field_k;
    for (std::size_t j = 0; j < a.rows; ++j) {
      std::uint32_t acc[Nc];
      dots<Nc>(xs, kp, packed + j * row_bytes, acc);
      // bias - z * rowsum, wrapping: the true accumulator fits int32, so the sum mod 2^32 is it
      const std::uint32_t corr = static_cast<std::uint32_t>(a.bias ? a.bias[j] : 0) -
                                 static_cast<std::uint32_t>(a.x_zero_point) * static_cast<std::uint32_t>(a.row_sums[j]);
      const quant::fixed_multiplier f{a.multiplier[j], a.shift[j]};
      for (std::size_t c = 0; c < Nc; ++c)
        a.y[j * a.channel_stride + (i0 + c) * a.column_stride] = static_cast<std::uint8_t>(
            quant::requantize(static_cast<std::int32_t>(acc[c] + corr), f, a.zero_point, a.lo, a.hi));
    }
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t kp = (a.cols + block_k - 1) / block_k * block_k;
    std::int16_t* xs = a.scratch;  // Nr columns of kp int16
    for (std::size_t i0 = 0; i0 < a.n; i0 += Nr) {
      const std::size_t nc = std::min(Nr, a.n - i0);
      for (std::size_t c = 0; c < nc; ++c) {
        const std::uint8_t* x = a.x + (i0 + c) * a.ldx;
        if constexpr (WeightBits == 1) {
          for (std::size_t k = 0; k < a.cols; ++k) xs[c * kp + column_position(k)] = x[k];
          for (std::size_t k = a.cols; k < kp; ++k) xs[c * kp + column_position(k)] = 0;  // padding: w = -1
        } else {
          for (std::size_t k = 0; k < a.cols; ++k) xs[c * kp + k] = x[k];
          for (std::size_t k = a.cols; k < kp; ++k) xs[c * kp + k] = 0;
        }
      }
      with_column_count<Nr>(nc, [&](auto c) { block<c()>(a, i0, xs, kp); });
    }
  }
};

/// The scalar instance of each low-bit family in the dispatch table (one row x 4 columns).
template <unsigned WeightBits>
struct gemm_lowbit_entry<arch::scalar, WeightBits> {
  using kernel = gemm_lowbit<arch::scalar, WeightBits, 1, 4>;
  static void run(const w8a8_gemm_args& a) noexcept { kernel::run(a); }
  static constexpr gemm_kernel_entry value{WeightBits == 4   ? "scalar w4a8 gemm 1x4 (row layout)"
                                           : WeightBits == 2 ? "scalar w2a8 gemm 1x4 (row layout)"
                                                             : "scalar w1a8 gemm 1x4 (row layout)",
                                           WeightBits, kernel::mr, kernel::nr, 2 * kernel::nr, &run};
};

}  // namespace ohq::kernels

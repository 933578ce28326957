// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 depthwise convolution kernel (NHWC, exact): 16 channels per register,
/// two taps per vpmaddwd. A no-op unless the including TU is compiled with AVX2 and FMA.
///
/// Per output pixel and block of 16 channels, each tap's inputs are widened to int16; taps
/// (2p, 2p+1) are interleaved (vpunpcklwd / vpunpckhwd) and multiplied with the equally
/// interleaved weights by vpmaddwd, whose int32 pair sums cannot overflow (|.| <= 2 * 255 * 128).
/// Pixels whose window lies inside the image use the raw codes and fold the input zero point into
/// the per-channel constant (bias - x_zero_point * sum of the channel's weights), as the GEMM does
/// with its row sums; border pixels subtract it from each tap (|x - z| <= 255 fits int16) and use
/// 0 for taps outside the image (real 0). The unpacks work within 128-bit lanes, so the two int32
/// accumulators hold channels [0-3 | 8-11] and [4-7 | 12-15]; one vperm2i128 each restores the
/// order before the W8A8 GEMM's requantization (requantize8, the same code as the GEMM's epilogue).
/// Kernel sizes 3 and 5 are template instances (weights interleaved once per channel block,
/// interior pixels fully unrolled); other sizes take the border path everywhere, building the
/// interleaved weights per tap pair (the generic fallback).
#pragma once

#if defined(__AVX2__) && defined(__FMA__)

#include <ohq/kernels/avx2/gemm_w8a8.hpp>
#include <ohq/kernels/depthwise_types.hpp>

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ohq::kernels::avx2 {

struct depthwise {
  static constexpr std::size_t block = 16;  ///< channels per register (int16 lanes)

  /// 16 weights of one tap as int16 (channels c0.. c0+cnt, zeros beyond).
  static __m256i tap_weights(const depthwise_args& a, std::size_t tap, std::size_t c0, std::size_t cnt) noexcept {
    const std::int8_t* w = a.weights + tap * a.channels + c0;
    if (cnt == block) return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
    alignas(16) std::int8_t buf[block] = {};
    std::memcpy(buf, w, cnt);
    return _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(buf)));
  }

  /// The interleaved weights of taps (2p, 2p+1) (tap 2p+1 past the last tap is zero).
  static void pair_weights(const depthwise_args& a, std::size_t taps, std::size_t p, std::size_t c0, std::size_t cnt,
                           __m256i& lo, __m256i& hi) noexcept {
    const __m256i wa = tap_weights(a, 2 * p, c0, cnt);
    const __m256i wb = 2 * p + 1 < taps ? tap_weights(a, 2 * p + 1, c0, cnt) : _mm256_setzero_si256();
    lo = _mm256_unpacklo_epi16(wa, wb);
    hi = _mm256_unpackhi_epi16(wa, wb);
  }

  /// x - zero point for 16 channels of one input pixel, as int16 (cnt < 16: the rest is 0).
  static __m256i centred(const std::uint8_t* x, std::size_t cnt, __m256i zp16) noexcept {
    if (cnt == block)
      return _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))), zp16);
    alignas(16) std::uint8_t buf[block] = {};
    std::memcpy(buf, x, cnt);
    // lanes past cnt hold 0 - zp; their weights are 0, so they add nothing and are never stored
    return _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(buf))), zp16);
  }

  /// Requantization operands of channels [c0, c0 + 8) (fewer at the tail; the rest neutral).
  /// `tap_sums` (those channels' weights summed over all taps) and x_zp fold the zero point of
  /// interior pixels into the per-channel constant; null for border pixels, whose inputs are centred.
  static requant8 channel_requant(const depthwise_args& a, std::size_t c0, const std::int32_t* tap_sums) noexcept {
    std::int32_t bias[8] = {}, rs[8] = {}, m[8] = {}, s[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const std::size_t n = c0 >= a.channels ? 0 : (a.channels - c0 < 8 ? a.channels - c0 : 8);
    if (a.bias) std::memcpy(bias, a.bias + c0, n * 4);
    if (tap_sums) std::memcpy(rs, tap_sums, n * 4);
    std::memcpy(m, a.multiplier + c0, n * 4);
    std::memcpy(s, a.shift + c0, n * 4);
    return make_requant8(bias, rs, m, s, tap_sums ? a.x_zero_point : 0, a.zero_point, a.lo, a.hi);
  }

  /// Requantizes the two accumulators of a pixel block ([0-3 | 8-11], [4-7 | 12-15]) and stores cnt bytes.
  static void store(__m256i acc_lo, __m256i acc_hi, const requant8& rq0, const requant8& rq1, std::uint8_t* y,
                    std::size_t cnt) noexcept {
    const __m256i first = _mm256_permute2x128_si256(acc_lo, acc_hi, 0x20);   // channels 0-7
    const __m256i second = _mm256_permute2x128_si256(acc_lo, acc_hi, 0x31);  // channels 8-15
    const std::uint64_t b0 = low_bytes8(requantize8(first, rq0)), b1 = low_bytes8(requantize8(second, rq1));
    if (cnt == block) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y),
                       _mm_set_epi64x(static_cast<long long>(b1), static_cast<long long>(b0)));
      return;
    }
    const std::uint64_t bytes[2] = {b0, b1};
    std::memcpy(y, bytes, cnt);
  }

  /// A pixel whose window lies inside the image: raw (zero-extended) inputs, the zero point is in
  /// the requantization constant. `x` points at the window's top-left pixel, channel c0.
  template <std::size_t K>
  static void interior_pixel(const std::uint8_t* x, std::size_t row_stride, std::size_t channels, const __m256i* wl,
                             const __m256i* wh, __m256i& acc_lo, __m256i& acc_hi) noexcept {
    constexpr std::size_t taps = K * K, pairs = (taps + 1) / 2;
    auto input = [&](std::size_t t) {
      return _mm256_cvtepu8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + (t / K) * row_stride + (t % K) * channels)));
    };
    acc_lo = acc_hi = _mm256_setzero_si256();
#pragma GCC unroll 32
    for (std::size_t p = 0; p < pairs; ++p) {
      const __m256i da = input(2 * p);
      const __m256i db = 2 * p + 1 < taps ? input(2 * p + 1) : _mm256_setzero_si256();
      acc_lo = _mm256_add_epi32(acc_lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(da, db), wl[p]));
      acc_hi = _mm256_add_epi32(acc_hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(da, db), wh[p]));
    }
  }

  /// Any pixel (any kernel size k): taps outside the image are 0, inputs centred on the zero
  /// point. `wl`/`wh`: the interleaved weights of every pair, or null (built per pair here).
  static void border_pixel(const depthwise_args& a, std::size_t oy, std::size_t ox, std::size_t c0, std::size_t cnt,
                           __m256i zp16, const __m256i* wl, const __m256i* wh, __m256i& acc_lo,
                           __m256i& acc_hi) noexcept {
    const std::size_t k = a.kernel, taps = k * k, pairs = (taps + 1) / 2;
    const std::ptrdiff_t iy0 = std::ptrdiff_t(oy * a.stride) - std::ptrdiff_t(a.padding);
    const std::ptrdiff_t ix0 = std::ptrdiff_t(ox * a.stride) - std::ptrdiff_t(a.padding);
    auto input = [&](std::size_t t) -> __m256i {
      if (t >= taps) return _mm256_setzero_si256();
      const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(t / k), ix = ix0 + std::ptrdiff_t(t % k);
      if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(a.height) || ix >= std::ptrdiff_t(a.width))
        return _mm256_setzero_si256();  // padding: real 0
      return centred(a.x + (std::size_t(iy) * a.width + std::size_t(ix)) * a.channels + c0, cnt, zp16);
    };
    acc_lo = acc_hi = _mm256_setzero_si256();
    for (std::size_t p = 0; p < pairs; ++p) {
      __m256i w_lo, w_hi;
      if (wl) {
        w_lo = wl[p];
        w_hi = wh[p];
      } else {
        pair_weights(a, taps, p, c0, cnt, w_lo, w_hi);
      }
      const __m256i da = input(2 * p), db = input(2 * p + 1);
      acc_lo = _mm256_add_epi32(acc_lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(da, db), w_lo));
      acc_hi = _mm256_add_epi32(acc_hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(da, db), w_hi));
    }
  }

  /// K: 3 or 5 (weights held per block, interior pixels unrolled), 0: any size (every pixel
  /// through border_pixel, weights built per pair).
  template <std::size_t K>
  static void run(const depthwise_args& a) noexcept {
    const std::size_t k = K ? K : a.kernel, taps = k * k;
    constexpr std::size_t max_pairs = K ? (K * K + 1) / 2 : 1;
    const __m256i zp16 = _mm256_set1_epi16(static_cast<std::int16_t>(a.x_zero_point));
    // output columns whose whole window lies inside the image: [ox_lo, ox_hi)
    const std::size_t ox_lo = (a.padding + a.stride - 1) / a.stride;
    std::size_t ox_hi = K && a.width + a.padding >= k ? (a.width + a.padding - k) / a.stride + 1 : 0;
    if (ox_hi > a.out_width) ox_hi = a.out_width;
    const std::size_t row_stride = a.width * a.channels;
    for (std::size_t c0 = 0; c0 < a.channels; c0 += block) {
      // a partial last block overlaps the one before instead (its channels are recomputed and
      // rewritten with the same codes), so only fewer than 16 channels in all take the slow tail
      if (c0 + block > a.channels && a.channels >= block) c0 = a.channels - block;
      const std::size_t cnt = a.channels - c0 < block ? a.channels - c0 : block;
      __m256i wl[max_pairs], wh[max_pairs];
      std::int32_t tap_sums[block] = {};
      if constexpr (K != 0) {
        for (std::size_t p = 0; p < max_pairs; ++p) pair_weights(a, taps, p, c0, cnt, wl[p], wh[p]);
        for (std::size_t t = 0; t < taps; ++t)
          for (std::size_t c = 0; c < cnt; ++c) tap_sums[c] += a.weights[t * a.channels + c0 + c];
      }
      const __m256i* wlp = K ? wl : nullptr;
      const __m256i* whp = K ? wh : nullptr;
      const requant8 border0 = channel_requant(a, c0, nullptr), border1 = channel_requant(a, c0 + 8, nullptr);
      const requant8 inner0 = channel_requant(a, c0, tap_sums), inner1 = channel_requant(a, c0 + 8, tap_sums + 8);
      for (std::size_t oy = a.row_begin; oy < a.row_end; ++oy) {
        const std::ptrdiff_t iy0 = std::ptrdiff_t(oy * a.stride) - std::ptrdiff_t(a.padding);
        const bool row_inside = K && iy0 >= 0 && std::size_t(iy0) + k <= a.height;
        std::uint8_t* y_row = a.y + oy * a.out_width * a.y_pixel_stride + c0;
        for (std::size_t ox = 0; ox < a.out_width; ++ox) {
          __m256i acc_lo, acc_hi;
          if constexpr (K != 0) {
            // full blocks only: the interior loads read 16 bytes per tap
            if (row_inside && cnt == block && ox >= ox_lo && ox < ox_hi) {
              const std::uint8_t* x =
                  a.x + std::size_t(iy0) * row_stride + (ox * a.stride - a.padding) * a.channels + c0;
              interior_pixel<K>(x, row_stride, a.channels, wl, wh, acc_lo, acc_hi);
              store(acc_lo, acc_hi, inner0, inner1, y_row + ox * a.y_pixel_stride, cnt);
              continue;
            }
          }
          border_pixel(a, oy, ox, c0, cnt, zp16, wlp, whp, acc_lo, acc_hi);
          store(acc_lo, acc_hi, border0, border1, y_row + ox * a.y_pixel_stride, cnt);
        }
      }
    }
  }
};

inline void run_depthwise(const depthwise_args& a) noexcept {
  if (a.kernel == 3) return depthwise::run<3>(a);
  if (a.kernel == 5) return depthwise::run<5>(a);
  depthwise::run<0>(a);
}

}  // namespace ohq::kernels::avx2

/// The AVX2 depthwise entry (see kernels/dispatch.hpp): weak, defined by every AVX2 TU including this.
extern "C" __attribute__((weak)) const ohq::kernels::depthwise_kernel_entry* ohq_kernels_avx2_depthwise() noexcept {
  static constexpr ohq::kernels::depthwise_kernel_entry entry{"avx2 depthwise 16 channels (vpmaddwd on tap pairs)",
                                                              &ohq::kernels::avx2::run_depthwise};
  return &entry;
}

#endif  // __AVX2__ && __FMA__

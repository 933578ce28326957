// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 element-wise and pooling kernels (exact, u8 codes, NHWC): the residual
/// add, squeeze-excite channel scaling, max / average / global average pooling and 256-entry
/// lookup tables. A no-op unless the including TU is compiled with AVX2 and FMA.
///
/// - add: the 64-bit sum (a - z_a) * m_a + (b - z_b) * m_b (|.| < 2^40) is computed in 32-bit
///   lanes from 15-bit digits of the multipliers, one vpmaddwd per digit on (a - z_a, b - z_b)
///   int16 pairs, and rounded by nested floor shifts (see add_block16).
/// - scale_channels, pools: int32 lanes, then the W8A8 GEMM's epilogue requantize8 (64-bit
///   products, the same code, not a copy).
/// - lookup: 16 vpshufb (one per 16-entry slice of the table, on the low nibble) merged by a
///   tree of 15 vpblendvb on bits 4-7.
/// - quantize (the float input, CHW -> HWC): vdivpd on 4 doubles, the reference's operations
///   in the same order (see quantize4), the channels' runs interleaved in registers.
/// Channel counts that are not a multiple of the block end with a block overlapping the one
/// before (same codes rewritten); only fewer channels than one block take byte-wise loads.
#pragma once

#if defined(__AVX2__) && defined(__FMA__)

#include <ohq/kernels/avx2/gemm_w8a8.hpp>
#include <ohq/kernels/eltwise_types.hpp>
#include <ohq/quant/format.hpp>

#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ohq::kernels::avx2 {

struct eltwise {
  // ---------------------------------------------------------------------------------------------
  // Residual add
  // ---------------------------------------------------------------------------------------------

  /// The add's operands in registers. Exactness: A = a - z_a and B = b - z_b lie in [-255, 255]
  /// (int16). m = d2 * 2^30 + d1 * 2^15 + d0 with d0, d1 in [0, 2^15) and d2 in {0, 1} (m < 2^31),
  /// so each digit product D_j = A * d_j(m_a) + B * d_j(m_b) is one vpmaddwd with
  /// |D_0|, |D_1| <= 2 * 255 * 32767 < 2^24 and |D_2| <= 510, and the true sum is
  /// T = 2^15 * C + D_0 with C = D_2 * 2^15 + D_1, |C| < 2^25 (510 * 2^15 + 2 * 255 * 32767).
  struct add_plan {
    __m256i za, zb;          ///< input zero points, int16
    __m256i d0, d1, d2;      ///< digit j of (m_a, m_b) as an int16 pair per 32-bit lane
    __m256i round;           ///< int32 rounding constant (see add_block16)
    __m128i shift, lshift;   ///< shift counts (see add_block16)
    __m256i zp, lo, hi;      ///< output zero point (int16), clamp bounds (bytes)
  };

  static __m256i digit_pair(std::int32_t ma, std::int32_t mb, int digit) noexcept {
    const std::uint32_t da = (std::uint32_t(ma) >> (15 * digit)) & 0x7FFF;
    const std::uint32_t db = (std::uint32_t(mb) >> (15 * digit)) & 0x7FFF;
    return _mm256_set1_epi32(static_cast<std::int32_t>(da | (db << 16)));
  }

  static add_plan make_add_plan(const eltwise_add_args& a) noexcept {
    add_plan p;
    p.za = _mm256_set1_epi16(static_cast<std::int16_t>(a.zero_point_a));
    p.zb = _mm256_set1_epi16(static_cast<std::int16_t>(a.zero_point_b));
    p.d0 = digit_pair(a.multiplier_a, a.multiplier_b, 0);
    p.d1 = digit_pair(a.multiplier_a, a.multiplier_b, 1);
    p.d2 = digit_pair(a.multiplier_a, a.multiplier_b, 2);
    if (a.shift >= 16) {
      // floor((T + 2^(S-1)) / 2^S) = floor((C + floor(D_0 / 2^15) + 2^(S-16)) / 2^(S-15)) (nested
      // floors; 2^(S-1) is a multiple of 2^15). With s = S - 15 capped at 26 the result is the
      // same: |C + floor(D_0 / 2^15)| < 2^25, so for s >= 26 the numerator lies in (0, 2^s) and
      // the quotient is 0 either way. Numerator < 2^26: no int32 overflow.
      const int s = a.shift - 15 < 26 ? a.shift - 15 : 26;
      p.round = _mm256_set1_epi32(1 << (s - 1));
      p.shift = _mm_cvtsi32_si128(s);
      p.lshift = _mm_cvtsi32_si128(0);
    } else {
      // T / 2^S = C * 2^(15-S) + floor((D_0 + 2^(S-1)) / 2^S) exactly. C is clamped to +-2^16
      // first: |floor((D_0 + 2^(S-1)) / 2^S)| <= 2^(24-S) + 1, so a clamped C gives a result of
      // magnitude > 2^(31-S) - 2^(24-S) - 1 > 510 on the true result's side, which the output
      // clamp saturates the same way; unclamped values are exact. Sum < 2^30 + 2^24.
      p.round = _mm256_set1_epi32(1 << (a.shift - 1));
      p.shift = _mm_cvtsi32_si128(a.shift);
      p.lshift = _mm_cvtsi32_si128(15 - a.shift);
    }
    p.zp = _mm256_set1_epi16(static_cast<std::int16_t>(a.zero_point));
    p.lo = _mm256_set1_epi8(static_cast<char>(a.lo));
    p.hi = _mm256_set1_epi8(static_cast<char>(a.hi));
    return p;
  }

  /// 8 results (before the zero point) of the (A, B) int16 pairs in `ab`.
  template <bool LargeShift>
  static __m256i add_lanes(__m256i ab, const add_plan& p) noexcept {
    const __m256i d0 = _mm256_madd_epi16(ab, p.d0);
    const __m256i c = _mm256_add_epi32(_mm256_slli_epi32(_mm256_madd_epi16(ab, p.d2), 15), _mm256_madd_epi16(ab, p.d1));
    if constexpr (LargeShift) {
      const __m256i num = _mm256_add_epi32(_mm256_add_epi32(c, _mm256_srai_epi32(d0, 15)), p.round);
      return _mm256_sra_epi32(num, p.shift);
    } else {
      const __m256i limit = _mm256_set1_epi32(1 << 16);
      const __m256i cc = _mm256_max_epi32(_mm256_min_epi32(c, limit), _mm256_sub_epi32(_mm256_setzero_si256(), limit));
      return _mm256_add_epi32(_mm256_sll_epi32(cc, p.lshift), _mm256_sra_epi32(_mm256_add_epi32(d0, p.round), p.shift));
    }
  }

  /// 16 elements: A, B as int16 -> results + zero point as int16 (saturated, in order).
  template <bool LargeShift>
  static __m256i add_block16(__m256i a16, __m256i b16, const add_plan& p) noexcept {
    const __m256i A = _mm256_sub_epi16(a16, p.za), B = _mm256_sub_epi16(b16, p.zb);
    // unpacks work within 128-bit lanes: elements [0-3 | 8-11] and [4-7 | 12-15], which packs
    // puts back in order
    const __m256i lo = add_lanes<LargeShift>(_mm256_unpacklo_epi16(A, B), p);
    const __m256i hi = add_lanes<LargeShift>(_mm256_unpackhi_epi16(A, B), p);
    // int32 -> int16 and + zp saturate, both monotone: with 0 <= zp and [lo, hi] in [0, 255] the
    // final clamp gives the exact result
    return _mm256_adds_epi16(_mm256_packs_epi32(lo, hi), p.zp);
  }

  template <bool LargeShift>
  static void add_block32(const std::uint8_t* a, const std::uint8_t* b, std::uint8_t* y, const add_plan& p) noexcept {
    auto widen = [](const std::uint8_t* v) {
      return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)));
    };
    const __m256i r0 = add_block16<LargeShift>(widen(a), widen(b), p);
    const __m256i r1 = add_block16<LargeShift>(widen(a + 16), widen(b + 16), p);
    __m256i r = _mm256_permute4x64_epi64(_mm256_packus_epi16(r0, r1), 0xD8);
    r = _mm256_min_epu8(_mm256_max_epu8(r, p.lo), p.hi);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), r);
  }

  template <bool LargeShift>
  static void add(const eltwise_add_args& a, const add_plan& p) noexcept {
    std::size_t i = 0;
    for (; i + 32 <= a.n; i += 32) add_block32<LargeShift>(a.a + i, a.b + i, a.y + i, p);
    if (i == a.n) return;
    // the tail through a buffer (y may be a or b, so no overlapping block)
    alignas(32) std::uint8_t ba[32] = {}, bb[32] = {}, by[32];
    std::memcpy(ba, a.a + i, a.n - i);
    std::memcpy(bb, a.b + i, a.n - i);
    add_block32<LargeShift>(ba, bb, by, p);
    std::memcpy(a.y + i, by, a.n - i);
  }

  static void run_add(const eltwise_add_args& a) noexcept {
    const add_plan p = make_add_plan(a);
    if (a.shift >= 16)
      add<true>(a, p);
    else
      add<false>(a, p);
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers of the channel-blocked kernels
  // ---------------------------------------------------------------------------------------------

  /// cnt < 16 bytes at p, zeros beyond.
  static __m128i load_partial(const std::uint8_t* p, std::size_t cnt) noexcept {
    alignas(16) std::uint8_t buf[16] = {};
    std::memcpy(buf, p, cnt);
    return _mm_load_si128(reinterpret_cast<const __m128i*>(buf));
  }
  /// 8 codes of channels [c0, c0 + 8) as int32 (cnt < 8: the first cnt, zeros beyond).
  static __m256i load8_epi32(const std::uint8_t* p, std::size_t cnt) noexcept {
    return _mm256_cvtepu8_epi32(cnt >= 8 ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)) : load_partial(p, cnt));
  }
  /// Requantizes 8 int32 lanes and stores the first cnt (<= 8) bytes.
  static void requantize_store(__m256i acc, const requant8& rq, std::uint8_t* y, std::size_t cnt) noexcept {
    const std::uint64_t bytes = low_bytes8(requantize8(acc, rq));
    std::memcpy(y, &bytes, cnt < 8 ? cnt : 8);
  }
  /// One requantization for every lane: clamp(zp + round((acc - x_zp * count) * m / 2^s), lo, hi).
  static requant8 uniform_requant(std::int32_t m, std::int32_t s, std::int32_t x_zp, std::int32_t count,
                                  std::int32_t zp, std::int32_t lo, std::int32_t hi) noexcept {
    const std::int32_t zero[8] = {}, counts[8] = {count, count, count, count, count, count, count, count};
    const std::int32_t ms[8] = {m, m, m, m, m, m, m, m}, ss[8] = {s, s, s, s, s, s, s, s};
    return make_requant8(zero, counts, ms, ss, x_zp, zp, lo, hi);
  }
  /// Calls f(c0, cnt) for blocks of `block` channels covering [0, channels): a partial last block
  /// overlaps the one before (its channels are recomputed with the same result), so only fewer
  /// than `block` channels in all give cnt < block.
  template <class F>
  static void for_channel_blocks(std::size_t channels, std::size_t block, F&& f) noexcept {
    if (channels < block) {
      if (channels) f(std::size_t{0}, channels);
      return;
    }
    for (std::size_t c0 = 0; c0 < channels; c0 += block) {
      if (c0 + block > channels) c0 = channels - block;
      f(c0, block);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Squeeze-excite channel scaling
  // ---------------------------------------------------------------------------------------------

  /// The scaling's rounding for shift >= 16 (every real network: the multiplier is the product of
  /// two scales over a third, with the gate's ~1/256): P = (x - z_x) * (g - z_g) has |P| <= 255^2
  /// < 2^16 and m < 2^31, so v = floor((P * m + 2^(s-1)) / 2^s) fits int32 and no 64-bit clamp is
  /// needed. AVX2 has no 64-bit arithmetic shift: P * m + 2^(s-1) + 2^62 is positive (and below
  /// 2^63), its logical shift is v + 2^(62-s) exactly, so v is its low 32 bits minus 2^(62-s) mod 2^32.
  struct scale_plan {
    __m256i m;      ///< multiplier in the low half of each 64-bit lane
    __m256i round;  ///< 2^(s-1) + 2^62, 64-bit lanes
    __m128i shift;
    __m256i bias;   ///< 2^(62-s) mod 2^32, int32
    __m256i zp, lo, hi;  ///< int32
  };

  static __m256i scale_lanes(__m256i p, const scale_plan& q) noexcept {
    const __m256i even = _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epi32(p, q.m), q.round), q.shift);
    const __m256i odd =
        _mm256_srl_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(p, 32), q.m), q.round), q.shift);
    return _mm256_sub_epi32(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA), q.bias);
  }

  /// (x - z_x) * (g - z_g) in int32, then scale_lanes (shift >= 16) or requantize8 (any shift).
  static void run_scale_channels(const scale_channels_args& a) noexcept {
    const __m256i zx = _mm256_set1_epi32(a.x_zero_point), zg = _mm256_set1_epi32(a.gate_zero_point);
    auto products = [&](const std::uint8_t* x, std::size_t c0, std::size_t cnt) {
      const __m256i xv = _mm256_sub_epi32(load8_epi32(x + c0, cnt), zx);
      return _mm256_mullo_epi32(xv, _mm256_sub_epi32(load8_epi32(a.gate + c0, cnt), zg));
    };
    if (a.shift < 16) {
      const requant8 rq = uniform_requant(a.multiplier, a.shift, 0, 0, a.zero_point, a.lo, a.hi);
      for (std::size_t px = 0; px < a.pixels; ++px)
        for_channel_blocks(a.channels, 8, [&](std::size_t c0, std::size_t cnt) {
          requantize_store(products(a.x + px * a.channels, c0, cnt), rq, a.y + px * a.channels + c0, cnt);
        });
      return;
    }
    scale_plan q;
    q.m = _mm256_set1_epi32(a.multiplier);
    q.round = _mm256_set1_epi64x((std::int64_t{1} << (a.shift - 1)) + (std::int64_t{1} << 62));
    q.shift = _mm_cvtsi32_si128(a.shift);
    q.bias = _mm256_set1_epi32(a.shift <= 30 ? 0 : static_cast<std::int32_t>(std::uint32_t{1} << (62 - a.shift)));
    q.zp = _mm256_set1_epi32(a.zero_point);
    q.lo = _mm256_set1_epi32(a.lo);
    q.hi = _mm256_set1_epi32(a.hi);
    for (std::size_t px = 0; px < a.pixels; ++px)
      for_channel_blocks(a.channels, 8, [&](std::size_t c0, std::size_t cnt) {
        // |v| < 2^31 - 255: + zp cannot overflow
        const __m256i v = _mm256_add_epi32(scale_lanes(products(a.x + px * a.channels, c0, cnt), q), q.zp);
        const std::uint64_t bytes = low_bytes8(_mm256_min_epi32(_mm256_max_epi32(v, q.lo), q.hi));
        std::memcpy(a.y + px * a.channels + c0, &bytes, cnt);
      });
  }

  // ---------------------------------------------------------------------------------------------
  // Pooling
  // ---------------------------------------------------------------------------------------------

  /// The input rows [y0, y1) and columns [x0, x1) of window (oy, ox) that lie inside the image.
  struct window {
    std::size_t y0, y1, x0, x1;
  };
  static window window_of(const pool_args& a, std::size_t oy, std::size_t ox) noexcept {
    auto range = [&](std::size_t o, std::size_t size, std::size_t& begin, std::size_t& end) {
      const std::ptrdiff_t first = std::ptrdiff_t(o * a.stride) - std::ptrdiff_t(a.padding);
      const std::ptrdiff_t last = first + std::ptrdiff_t(a.kernel);  // exclusive
      begin = first < 0 ? 0 : std::size_t(first);
      end = last < 0 ? 0 : (std::size_t(last) > size ? size : std::size_t(last));
      if (end < begin) end = begin;
    };
    window w;
    range(oy, a.height, w.y0, w.y1);
    range(ox, a.width, w.x0, w.x1);
    return w;
  }

  static void run_max_pool(const pool_args& a) noexcept {
    const std::size_t c_count = a.channels;
    for (std::size_t oy = 0; oy < a.out_height; ++oy)
      for (std::size_t ox = 0; ox < a.out_width; ++ox) {
        const window w = window_of(a, oy, ox);
        std::uint8_t* out = a.y + (oy * a.out_width + ox) * c_count;
        // max from 0, the smallest code (also the result of a window with no pixel inside)
        if (c_count >= 32) {
          for_channel_blocks(c_count, 32, [&](std::size_t c0, std::size_t) {
            __m256i m = _mm256_setzero_si256();
            for (std::size_t iy = w.y0; iy < w.y1; ++iy)
              for (std::size_t ix = w.x0; ix < w.x1; ++ix)
                m = _mm256_max_epu8(m, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                           a.x + (iy * a.width + ix) * c_count + c0)));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c0), m);
          });
          continue;
        }
        for_channel_blocks(c_count, 16, [&](std::size_t c0, std::size_t cnt) {
          __m128i m = _mm_setzero_si128();
          for (std::size_t iy = w.y0; iy < w.y1; ++iy)
            for (std::size_t ix = w.x0; ix < w.x1; ++ix) {
              const std::uint8_t* in = a.x + (iy * a.width + ix) * c_count + c0;
              m = _mm_max_epu8(m, cnt == 16 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(in))
                                             : load_partial(in, cnt));
            }
          if (cnt == 16) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c0), m);
          } else {
            alignas(16) std::uint8_t buf[16];
            _mm_store_si128(reinterpret_cast<__m128i*>(buf), m);
            std::memcpy(out + c0, buf, cnt);
          }
        });
      }
  }

  /// Sums in int32 (a window of kernel^2 u8 codes), requantize8 with the window's count.
  static void run_avg_pool(const pool_args& a) noexcept {
    const std::size_t c_count = a.channels;
    requant8 rq{};
    std::size_t rq_inside = 0, rq_count = 0;  // what rq was built for (count 0: not yet)
    for (std::size_t oy = 0; oy < a.out_height; ++oy)
      for (std::size_t ox = 0; ox < a.out_width; ++ox) {
        const window w = window_of(a, oy, ox);
        const std::size_t inside = (w.y1 - w.y0) * (w.x1 - w.x0);
        const std::size_t count = a.count_include_pad ? a.kernel * a.kernel : inside;
        if (count != rq_count || inside != rq_inside) {
          const std::size_t i = count - a.first_count;
          rq = uniform_requant(a.multiplier[i], a.shift[i], a.in_zero_point, std::int32_t(inside), a.zero_point, a.lo,
                               a.hi);
          rq_count = count;
          rq_inside = inside;
        }
        std::uint8_t* out = a.y + (oy * a.out_width + ox) * c_count;
        for_channel_blocks(c_count, 8, [&](std::size_t c0, std::size_t cnt) {
          __m256i sum = _mm256_setzero_si256();
          for (std::size_t iy = w.y0; iy < w.y1; ++iy)
            for (std::size_t ix = w.x0; ix < w.x1; ++ix)
              sum = _mm256_add_epi32(sum, load8_epi32(a.x + (iy * a.width + ix) * c_count + c0, cnt));
          requantize_store(sum, rq, out + c0, cnt);
        });
      }
  }

  /// Blocks of 32 channels summed in uint16 lanes (at most 257 pixels at a time: 257 * 255 =
  /// 65535), widened into int32 sums; the rest in blocks of 8 int32 lanes.
  static void run_global_avg_pool(const global_pool_args& a) noexcept {
    const std::size_t c_count = a.channels;
    const requant8 rq =
        uniform_requant(a.multiplier, a.shift, a.in_zero_point, std::int32_t(a.pixels), a.zero_point, a.lo, a.hi);
    constexpr std::size_t u16_pixels = 257;
    std::size_t c0 = 0;
    for (; c0 + 32 <= c_count; c0 += 32) {
      __m256i sums[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      for (std::size_t p0 = 0; p0 < a.pixels; p0 += u16_pixels) {
        const std::size_t p1 = a.pixels - p0 < u16_pixels ? a.pixels : p0 + u16_pixels;
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (std::size_t px = p0; px < p1; ++px) {
          const std::uint8_t* in = a.x + px * c_count + c0;
          s0 = _mm256_add_epi16(s0, _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in))));
          s1 = _mm256_add_epi16(s1, _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16))));
        }
        sums[0] = _mm256_add_epi32(sums[0], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(s0)));
        sums[1] = _mm256_add_epi32(sums[1], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(s0, 1)));
        sums[2] = _mm256_add_epi32(sums[2], _mm256_cvtepu16_epi32(_mm256_castsi256_si128(s1)));
        sums[3] = _mm256_add_epi32(sums[3], _mm256_cvtepu16_epi32(_mm256_extracti128_si256(s1, 1)));
      }
      for (std::size_t j = 0; j < 4; ++j) requantize_store(sums[j], rq, a.y + c0 + 8 * j, 8);
    }
    if (c0 == c_count) return;
    // the remaining channels; with 8 or more in all, the last block reaches back into done ones
    const std::size_t rest_begin = c_count >= 8 && c_count - c0 < 8 ? c_count - 8 : c0;
    for_channel_blocks(c_count - rest_begin, 8, [&](std::size_t b0, std::size_t cnt) {
      const std::size_t c = rest_begin + b0;
      __m256i sum = _mm256_setzero_si256();
      for (std::size_t px = 0; px < a.pixels; ++px) sum = _mm256_add_epi32(sum, load8_epi32(a.x + px * c_count + c, cnt));
      requantize_store(sum, rq, a.y + c, cnt);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Lookup tables
  // ---------------------------------------------------------------------------------------------

  /// table[x] for 32 bytes: slice i = table[16i, 16i + 16) looked up on the low nibble (vpshufb,
  /// both 128-bit lanes hold the slice), then the high nibble picks the slice bit by bit: bit 4
  /// merges slices (2j, 2j+1), bit 5 those pairs, and so on (vpblendvb reads bit 7 of each byte,
  /// so bit b is shifted there: a 16-bit shift by 7 - b keeps every byte's own bit).
  static __m256i lookup32(__m256i x, const __m256i (&slices)[16]) noexcept {
    const __m256i idx = _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
    __m256i r[16];
    for (int i = 0; i < 16; ++i) r[i] = _mm256_shuffle_epi8(slices[i], idx);
    const __m256i bit4 = _mm256_slli_epi16(x, 3), bit5 = _mm256_slli_epi16(x, 2), bit6 = _mm256_slli_epi16(x, 1);
    for (int j = 0; j < 8; ++j) r[j] = _mm256_blendv_epi8(r[2 * j], r[2 * j + 1], bit4);
    for (int j = 0; j < 4; ++j) r[j] = _mm256_blendv_epi8(r[2 * j], r[2 * j + 1], bit5);
    for (int j = 0; j < 2; ++j) r[j] = _mm256_blendv_epi8(r[2 * j], r[2 * j + 1], bit6);
    return _mm256_blendv_epi8(r[0], r[1], x);
  }

  static void run_lookup(const lookup_args& a) noexcept {
    __m256i slices[16];
    for (int i = 0; i < 16; ++i)
      slices[i] = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.table + 16 * i)));
    std::size_t i = 0;
    for (; i + 32 <= a.n; i += 32)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(a.y + i),
                          lookup32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.x + i)), slices));
    if (i == a.n) return;
    alignas(32) std::uint8_t buf[32] = {};  // the tail through a buffer (y may be x)
    std::memcpy(buf, a.x + i, a.n - i);
    _mm256_store_si256(reinterpret_cast<__m256i*>(buf),
                       lookup32(_mm256_load_si256(reinterpret_cast<const __m256i*>(buf)), slices));
    std::memcpy(a.y + i, buf, a.n - i);
  }

  // ---------------------------------------------------------------------------------------------
  // Quantizing the float input (CHW -> HWC)
  // ---------------------------------------------------------------------------------------------

  /// quant::quantize on 4 lanes, bit for bit. The reference computes v = clamp(x / s, +-1e12) + zp
  /// and floor(clamp(v, lo - 1, hi + 1) + 1/2) clamped to [lo, hi] (truncation and fix-up: floor
  /// on its int32 range), NaN -> zp. Here: the same correctly rounded vdivpd quotient and sum
  /// without the 1e12 clamp (any |x / s| beyond it lands beyond [lo - 1, hi + 1] either way, +-Inf
  /// included: 1e12 - 2^31 > hi + 1), then floor(min(max(v, lo - 1/2), hi) + 1/2): inside
  /// [lo - 1/2, hi] the sum v + 1/2 is the reference's and its floor already lies in [lo, hi];
  /// below gives lo and above gives hi, as the reference's final clamp does (lo - 1/2 and
  /// hi + 1/2 are exact). NaN quotients (x NaN, or 0 / 0, Inf / Inf from the scale) -> zp,
  /// unclamped as in the reference; codes are kept as their low byte (store_code).
  ///
  /// Plain (the engine's u8 inputs: 0 <= lo <= hi <= 255 and zp in [0, 255], the scale finite and
  /// nonzero): the clamped sum plus 1/2 is >= lo >= 0, so truncation is its floor, and codes fit
  /// int16 and the byte packs unmasked; a NaN quotient (only a NaN x here) flows through the clamp
  /// to the truncation (INT_MIN), which quantize8 replaces by zp once per 8 codes.
  struct quantize_plan {
    __m256d scale, zp, lo, hi, half;
    __m128i byte_mask;  ///< 0xFF per int32 (not Plain)
    __m128i zp16;       ///< zp per int16 (Plain)
  };

  template <bool Plain>
  static __m128i quantize4(__m256d x, const quantize_plan& p) noexcept {
    const __m256d q = _mm256_div_pd(x, p.scale);
    if constexpr (Plain) {
      // max(lo, .) and min(hi, .) return their second operand, NaN, when either is NaN: NaN
      // quotients reach the truncation, which gives INT_MIN (see quantize16)
      const __m256d t = _mm256_add_pd(_mm256_min_pd(p.hi, _mm256_max_pd(p.lo, _mm256_add_pd(q, p.zp))), p.half);
      return _mm256_cvttpd_epi32(t);
    } else {
      const __m256d t = _mm256_add_pd(_mm256_min_pd(_mm256_max_pd(_mm256_add_pd(q, p.zp), p.lo), p.hi), p.half);
      const __m256d f = _mm256_round_pd(t, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      const __m256d nan = _mm256_cmp_pd(q, q, _CMP_UNORD_Q);
      return _mm_and_si128(_mm256_cvttpd_epi32(_mm256_blendv_pd(f, p.zp, nan)), p.byte_mask);
    }
  }
  template <bool Plain>
  static __m128i quantize4(const float* x, const quantize_plan& p) noexcept {
    return quantize4<Plain>(_mm256_cvtps_pd(_mm_loadu_ps(x)), p);
  }
  /// 8 codes of the floats at x as int16; Plain: NaN (INT_MIN, saturated to -2^15) -> zp.
  template <bool Plain>
  static __m128i quantize8(const float* x, const quantize_plan& p) noexcept {
    const __m128i w = _mm_packs_epi32(quantize4<Plain>(x, p), quantize4<Plain>(x + 4, p));
    if constexpr (Plain) return _mm_blendv_epi8(w, p.zp16, _mm_srai_epi16(w, 15));
    return w;
  }
  /// 16 codes of the floats at x, in order (codes in [0, 255] as int16: the packs never saturate).
  template <bool Plain>
  static __m128i quantize16(const float* x, const quantize_plan& p) noexcept {
    return _mm_packus_epi16(quantize8<Plain>(x, p), quantize8<Plain>(x + 8, p));
  }
  /// 32 codes: pixels [0, 16) in the low 128-bit lane, [16, 32) in the high one.
  template <bool Plain>
  static __m256i quantize32(const float* x, const quantize_plan& p) noexcept {
    return _mm256_set_m128i(quantize16<Plain>(x + 16, p), quantize16<Plain>(x, p));
  }

  /// pshufb masks interleaving 16 pixels of 3 channels: mask[k][c] moves channel c's bytes into
  /// output chunk k (bytes [16k, 16k + 16) of the 48), zeros elsewhere.
  struct rgb_masks {
    __m256i m[3][3];
  };
  static rgb_masks make_rgb_masks() noexcept {
    rgb_masks r;
    for (int k = 0; k < 3; ++k)
      for (int c = 0; c < 3; ++c) {
        alignas(32) std::uint8_t bytes[32];
        for (int i = 0; i < 32; ++i) {
          const int j = 16 * k + i % 16;  // both 128-bit lanes alike
          bytes[i] = j % 3 == c ? static_cast<std::uint8_t>(j / 3) : std::uint8_t{0x80};
        }
        r.m[k][c] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
      }
    return r;
  }

  /// The whole blocks of 16 or 32 pixels; returns the first pixel not done.
  template <bool Plain>
  static std::size_t quantize_blocks(const quantize_args& a, const quantize_plan& p) noexcept {
    const std::size_t channels = a.channels, pixels = a.pixels;
    const float* x = a.x;
    std::uint8_t* y = a.y;
    std::size_t p0 = 0;
    if (channels == 1) {
      for (; p0 + 32 <= pixels; p0 += 32)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + p0), quantize32<Plain>(x + p0, p));
      for (; p0 + 16 <= pixels; p0 += 16)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + p0), quantize16<Plain>(x + p0, p));
    } else if (channels == 3) {
      // 32 pixels: output chunk k (16 bytes) of each 16-pixel half in the lanes of o[k]
      const rgb_masks m = make_rgb_masks();
      for (; p0 + 32 <= pixels; p0 += 32) {
        const __m256i r = quantize32<Plain>(x + p0, p), g = quantize32<Plain>(x + pixels + p0, p),
                      b = quantize32<Plain>(x + 2 * pixels + p0, p);
        __m256i o[3];
        for (int k = 0; k < 3; ++k)
          o[k] = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(r, m.m[k][0]), _mm256_shuffle_epi8(g, m.m[k][1])),
                                 _mm256_shuffle_epi8(b, m.m[k][2]));
        __m256i* out = reinterpret_cast<__m256i*>(y + 3 * p0);
        _mm256_storeu_si256(out, _mm256_permute2x128_si256(o[0], o[1], 0x20));
        _mm256_storeu_si256(out + 1, _mm256_blend_epi32(o[2], o[0], 0xF0));
        _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(o[1], o[2], 0x31));
      }
    } else if (channels == 2) {
      for (; p0 + 16 <= pixels; p0 += 16) {
        const __m128i c0 = quantize16<Plain>(x + p0, p), c1 = quantize16<Plain>(x + pixels + p0, p);
        __m128i* out = reinterpret_cast<__m128i*>(y + 2 * p0);
        _mm_storeu_si128(out, _mm_unpacklo_epi8(c0, c1));
        _mm_storeu_si128(out + 1, _mm_unpackhi_epi8(c0, c1));
      }
    } else if (channels == 4) {
      for (; p0 + 16 <= pixels; p0 += 16) {
        const __m128i c0 = quantize16<Plain>(x + p0, p), c1 = quantize16<Plain>(x + pixels + p0, p);
        const __m128i c2 = quantize16<Plain>(x + 2 * pixels + p0, p), c3 = quantize16<Plain>(x + 3 * pixels + p0, p);
        const __m128i lo01 = _mm_unpacklo_epi8(c0, c1), hi01 = _mm_unpackhi_epi8(c0, c1);
        const __m128i lo23 = _mm_unpacklo_epi8(c2, c3), hi23 = _mm_unpackhi_epi8(c2, c3);
        __m128i* out = reinterpret_cast<__m128i*>(y + 4 * p0);
        _mm_storeu_si128(out, _mm_unpacklo_epi16(lo01, lo23));
        _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(lo01, lo23));
        _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(hi01, hi23));
        _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(hi01, hi23));
      }
    } else {
      for (; p0 + 16 <= pixels; p0 += 16)
        for (std::size_t c = 0; c < channels; ++c) {
          alignas(16) std::uint8_t codes[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(codes), quantize16<Plain>(x + c * pixels + p0, p));
          std::uint8_t* out = y + p0 * channels + c;
          for (std::size_t i = 0; i < 16; ++i) out[i * channels] = codes[i];
        }
    }
    return p0;
  }

  /// x CHW floats -> y HWC codes. Blocks of 16 or 32 pixels: each channel's run quantized into a
  /// vector, then interleaved (1 channel: stored; 2, 4: byte/word unpacks; 3: pshufb + or; other
  /// counts: byte stores from a 16-byte buffer); the last pixels (fewer than a block) through
  /// quant::quantize itself.
  static void run_quantize(const quantize_args& a) noexcept {
    quantize_plan p;
    p.scale = _mm256_set1_pd(double(a.scale));
    p.zp = _mm256_set1_pd(double(a.zero_point));
    p.lo = _mm256_set1_pd(double(a.qmin) - 0.5);
    p.hi = _mm256_set1_pd(double(a.qmax));
    p.half = _mm256_set1_pd(0.5);
    p.byte_mask = _mm_set1_epi32(0xFF);
    p.zp16 = _mm_set1_epi16(static_cast<std::int16_t>(a.zero_point));
    const bool plain = 0 <= a.qmin && a.qmax <= 255 && 0 <= a.zero_point && a.zero_point <= 255 &&
                       std::isfinite(a.scale) && a.scale != 0.0f;
    const std::size_t p0 = plain ? quantize_blocks<true>(a, p) : quantize_blocks<false>(a, p);
    if (p0 == a.pixels) return;
    const quant::quant_params qp{a.scale, a.zero_point, a.qmin, a.qmax};
    for (std::size_t c = 0; c < a.channels; ++c)
      for (std::size_t px = p0; px < a.pixels; ++px)
        a.y[px * a.channels + c] = quant::store_code<std::uint8_t>(quant::quantize(a.x[c * a.pixels + px], qp));
  }
};

}  // namespace ohq::kernels::avx2

/// The AVX2 eltwise entry (see kernels/dispatch.hpp): weak, defined by every AVX2 TU including this.
extern "C" __attribute__((weak)) const ohq::kernels::eltwise_kernel_entry* ohq_kernels_avx2_eltwise() noexcept {
  using k = ohq::kernels::avx2::eltwise;
  static constexpr ohq::kernels::eltwise_kernel_entry entry{
      "avx2 eltwise (add: vpmaddwd on multiplier digits, lookup: vpshufb + vpblendvb tree, quantize: vdivpd)",
      &k::run_add,
      &k::run_scale_channels,
      &k::run_max_pool,
      &k::run_avg_pool,
      &k::run_global_avg_pool,
      &k::run_lookup,
      &k::run_quantize};
  return &entry;
}

#endif  // __AVX2__ && __FMA__

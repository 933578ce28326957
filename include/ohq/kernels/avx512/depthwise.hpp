// SPDX-License-Identifier: MIT
/// @file Defines the AVX-512 VNNI depthwise convolution kernel (NHWC, exact): 32 int16 lanes per
/// zmm, two taps per vpdpwssd. A no-op unless the including TU is compiled with AVX-512
/// F/BW/VL/VNNI (cmake/OhqKernels.cmake's per-arch TU, or -march for such a CPU).
///
/// Per output pixel, each tap's 32 input bytes are widened to int16 (vpmovzxbw); taps (2p, 2p+1)
/// are interleaved (vpunpcklwd / vpunpckhwd, within 128-bit lanes) and vpdpwssd adds the pair
/// products with the equally interleaved weights to int32 (|pair sum| <= 2 * 255 * 128: exact).
/// Every pixel uses raw codes: taps outside the image read a buffer of x_zero_point codes, so the
/// input zero point is folded into the per-channel constant bias - x_zero_point * sum_t w[t][c] for
/// border pixels too ((zp - zp) * w = 0 is the reference's skipped tap); the accumulators start at
/// that constant. Vectors whose window lies inside the image address their taps from one base
/// pointer, 4 (3x3) or 2 (5x5) at a time (independent vpdpwssd chains, each weight loaded once for
/// all); the others (borders, a 5x5 row's odd one) are queued across rows and run as many at a time
/// through tables of tap pointers.
///
/// The unpacks leave the two int32 accumulators in the channel order [0-3|8-11|16-19|24-27] and
/// [4-7|12-15|20-23|28-31]; the requantization operands are built in that order once per channel
/// block (vpermt2d), and vpackssdw of the two requantized vectors restores the channel order inside
/// each 128-bit lane, so vpmovwb gives the 32 output bytes in order. Requantization is
/// quant::requantize exactly: int32 high halves of the 64-bit products for shifts >= 33 (as
/// requantize16), the same after clamping and scaling the accumulator for shifts 4..32 (see
/// lane_quant), else requantize16's 64-bit route; the result is clamped as int16 after the pack.
///
/// Lane layouts of a channel block: 32 channels of one pixel (a partial last block overlaps the
/// one before, all loads unmasked), 17..31 channels (masked loads and stores), and 16 channels of
/// two adjacent output pixels (a channel count <= 16, or a tail of <= 16 channels after the full
/// blocks: channels [C - 16, C), overlapping), masked below 16; at stride 1 with 16 channels the two
/// pixels' taps are one 32-byte load. Kernel sizes 3 and 5 are template instances (weights
/// interleaved once per channel block, taps fully unrolled); other sizes take a generic loop over
/// the taps, one vector at a time.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)

#include <ohq/kernels/avx512/gemm_w8a8.hpp>
#include <ohq/kernels/depthwise_types.hpp>

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() and trip -W(maybe-)uninitialized
// wherever they inline (GCC bug 105593); the diagnostic state of the intrinsic headers' lines decides.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

// Only plain functions of this arch's namespace and intrinsics below: nothing shared with the
// baseline translation units (see w8a8_types.hpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see above
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
namespace ohq::kernels::avx512 {

// The pixel loops are lambdas over the block's operands; one left out of line (GCC did so with the
// epilogue) spills every operand around each call.
#if defined(__GNUC__)
#define OHQ_DW_INLINE __attribute__((always_inline))
#else
#define OHQ_DW_INLINE
#endif

struct depthwise {
  /// How the 32 int16 lanes of a vector map to channels and pixels.
  enum class layout {
    wide,         ///< channels c0..c0+31 of one pixel
    wide_masked,  ///< channels c0..c0+cnt-1 of one pixel, 16 < cnt < 32 (lanes past cnt: 0)
    pair,         ///< channels c0..c0+15 of two output pixels (lanes 0-15: the first, 16-31: the next)
    pair_masked,  ///< as pair with cnt < 16 channels
  };
  static constexpr bool is_pair(layout l) noexcept { return l == layout::pair || l == layout::pair_masked; }

  /// Generic kernel sizes keep the interleaved weights of up to this many tap pairs (k <= 8); larger
  /// ones rebuild them per pair.
  static constexpr std::size_t generic_pairs = 32;

  /// The lanes of one channel block.
  struct lanes {
    std::size_t c0;   ///< first channel
    std::size_t cnt;  ///< channels per pixel (wide: 32, pair: 16, masked: fewer)
    __mmask32 m32;    ///< wide_masked: the first cnt bytes
    __mmask16 m16;    ///< pair_masked: the first cnt bytes
  };

  /// The input image as the pixel loops read it (a local copy: the kernel's byte stores may alias
  /// anything reachable through a pointer, so the loops read nothing through one but the codes).
  struct image {
    const std::uint8_t* x;
    std::size_t height, width, channels, row_stride, k, taps;
  };

  /// 32 input bytes of a tap: at pa (wide), or 16 at pa and 16 at pb (pair).
  template <layout L>
  static __m256i load(const std::uint8_t* pa, const std::uint8_t* pb, const lanes& ln) noexcept {
    if constexpr (L == layout::wide) {
      (void)pb;
      (void)ln;
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pa));
    } else if constexpr (L == layout::wide_masked) {
      (void)pb;
      return _mm256_maskz_loadu_epi8(ln.m32, pa);
    } else if constexpr (L == layout::pair) {
      (void)ln;
      // two broadcast loads (load pipes only) and a blend (any pipe): vinserti128 from memory took
      // a shuffle per tap and ran these vectors 2x slower than the wide ones
      return _mm256_blend_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pa))),
                                _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(pb))), 0xF0);
    } else {
      // bytes 16.. from pb: a merge-masked load at pb - 16 reads only [pb, pb + cnt) (masked-off
      // bytes never fault); the address is formed as an integer, it may lie before any object
      const __m256i first = _mm256_maskz_loadu_epi8(__mmask32{ln.m16}, pa);
      const void* below = reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(pb) - 16);
      return _mm256_mask_loadu_epi8(first, __mmask32{ln.m16} << 16, below);
    }
  }

  /// The 32 int16 weights of tap t in lane order (0 in lanes past the block's channels).
  template <layout L>
  static __m512i tap_weights(const depthwise_args& a, std::size_t t, const lanes& ln) noexcept {
    const std::int8_t* w = a.weights + t * a.channels + ln.c0;
    __m256i b;
    if constexpr (L == layout::wide)
      b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    else if constexpr (L == layout::wide_masked)
      b = _mm256_maskz_loadu_epi8(ln.m32, w);
    else if constexpr (L == layout::pair)
      b = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
    else
      b = _mm256_broadcastsi128_si256(_mm_maskz_loadu_epi8(ln.m16, w));
    return _mm512_cvtepi8_epi16(b);
  }

  /// The interleaved weights of taps (2p, 2p+1) (tap 2p+1 past the last tap is zero); adds their
  /// sums per accumulator lane to ts_lo / ts_hi.
  template <layout L>
  static void pair_weights(const depthwise_args& a, std::size_t taps, std::size_t p, const lanes& ln, __m512i& wl,
                           __m512i& wh, __m512i& ts_lo, __m512i& ts_hi) noexcept {
    const __m512i wa = tap_weights<L>(a, 2 * p, ln);
    const __m512i wb = 2 * p + 1 < taps ? tap_weights<L>(a, 2 * p + 1, ln) : _mm512_setzero_si512();
    wl = _mm512_unpacklo_epi16(wa, wb);
    wh = _mm512_unpackhi_epi16(wa, wb);
    const __m512i ones = _mm512_set1_epi16(1);
    ts_lo = _mm512_add_epi32(ts_lo, _mm512_madd_epi16(wl, ones));
    ts_hi = _mm512_add_epi32(ts_hi, _mm512_madd_epi16(wh, ones));
  }

  /// The requantization of one accumulator's 16 lanes (their channels: see lane_values).
  ///
  /// path 0, every shift >= 33: requantize16's int32 route, the rounded high halves of acc * m
  /// shifted by shift - 32 (exact: 2^(shift-1) is a multiple of 2^32). path 1, shifts 4..32 with
  /// |m| >= 2^13 (make_multiplier's m >= 2^30) or m = 0: |acc| >= 2^(shift-3) gives |acc * m| >=
  /// 2^(shift+10), an output of magnitude >= 1024 that the clamp to codes saturates whatever the
  /// zero point, as it does for acc at that bound (acc * m is monotonic); so acc is clamped to
  /// +-2^(shift-3), scaled by 2^(33-shift) (|.| <= 2^30) and takes path 0 with shift 33:
  /// (acc * 2^(33-s) * m + 2^32) >> 33 = (acc * m + 2^(s-1)) >> s. path 2 (shifts 1..3, tiny
  /// multipliers): requantize16's 64-bit route.
  struct lane_quant {
    requant16 q;  ///< make_requant16's operands (q.corr = bias - x_zp * tap sums: the accumulators' start)
    int path;
    __m512i r, s;            ///< paths 0/1: 2^(s'-33) and s' - 32 of the effective shift s' >= 33
    __m512i k, b_lo, b_hi;   ///< path 1: the clamp bounds and the left shift (other lanes: none, 0)
  };

  /// The per-channel values v[c] of the 16 lanes of the low (hi = false) or high accumulator: the
  /// unpacks put int16 lanes 8j..8j+3 of 128-bit lane j in the low one, 8j+4..8j+7 in the high one
  /// (pair layouts: channel = lane mod 16). Lanes past the block's channels take channel c0's value
  /// (their outputs are never stored). v null: zeros.
  template <layout L>
  static __m512i lane_values(const std::int32_t* v, const lanes& ln, bool hi) noexcept {
    if (v == nullptr) return _mm512_setzero_si512();
    // int16 lanes 8j..8j+3 (+4 for the high accumulator) of 128-bit lane j
    const __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
                                         _mm512_set1_epi32(hi ? 4 : 0));
    const std::int32_t* p = v + ln.c0;
    const __m512i first = _mm512_set1_epi32(p[0]);
    if constexpr (L == layout::wide) {
      (void)first;
      return _mm512_permutex2var_epi32(_mm512_loadu_si512(p), idx, _mm512_loadu_si512(p + 16));
    } else if constexpr (L == layout::wide_masked) {  // 16 < cnt < 32
      const __mmask16 rest = static_cast<__mmask16>((1u << (ln.cnt - 16)) - 1u);
      return _mm512_permutex2var_epi32(_mm512_loadu_si512(p), idx, _mm512_mask_loadu_epi32(first, rest, p + 16));
    } else if constexpr (L == layout::pair) {  // vpermd reads the index mod 16: channel l % 16
      (void)first;
      return _mm512_permutexvar_epi32(idx, _mm512_loadu_si512(p));
    } else {
      return _mm512_permutexvar_epi32(idx, _mm512_mask_loadu_epi32(first, ln.m16, p));
    }
  }

  template <layout L>
  static lane_quant lane_requant(const depthwise_args& a, const lanes& ln, bool hi, __m512i ts) noexcept {
    const __m512i bias = lane_values<L>(a.bias, ln, hi);
    const __m512i m = lane_values<L>(a.multiplier, ln, hi), s = lane_values<L>(a.shift, ln, hi);
    alignas(64) std::int32_t bias_a[16], sums_a[16], m_a[16], s_a[16];
    _mm512_store_si512(bias_a, bias);
    _mm512_store_si512(sums_a, ts);
    _mm512_store_si512(m_a, m);
    _mm512_store_si512(s_a, s);
    lane_quant out;
    out.q = make_requant16(bias_a, sums_a, m_a, s_a, a.x_zero_point, a.zero_point, a.lo, a.hi);
    // the paths per lane (see lane_quant)
    const __m512i c33 = _mm512_set1_epi32(33), one = _mm512_set1_epi32(1);
    const __mmask16 zero_m = _mm512_cmpeq_epi32_mask(m, _mm512_setzero_si512());
    const __mmask16 wide_shift = _mm512_cmpge_epi32_mask(s, c33);
    const __mmask16 big_m = _mm512_cmpge_epu32_mask(_mm512_abs_epi32(m), _mm512_set1_epi32(1 << 13));  // |INT_MIN| = 2^31
    const __mmask16 rest = static_cast<__mmask16>(~(zero_m | wide_shift));
    const __mmask16 scale = rest & big_m & _mm512_cmpge_epi32_mask(s, _mm512_set1_epi32(4));
    out.path = (rest & ~scale) ? 2 : scale ? 1 : 0;
    const __m512i eff = _mm512_mask_mov_epi32(s, zero_m | scale, c33);  // effective shift (>= 33 on paths 0/1)
    out.s = _mm512_sub_epi32(eff, _mm512_set1_epi32(32));
    out.r = _mm512_sllv_epi32(one, _mm512_sub_epi32(eff, c33));  // 2^(eff-33); path-2 lanes: unused
    out.k = _mm512_maskz_sub_epi32(scale, c33, s);
    out.b_hi = _mm512_mask_sllv_epi32(_mm512_set1_epi32(INT32_MAX), scale, one, _mm512_sub_epi32(s, _mm512_set1_epi32(3)));
    out.b_lo = _mm512_mask_sub_epi32(_mm512_set1_epi32(INT32_MIN), scale, _mm512_setzero_si512(), out.b_hi);
    return out;
  }

  /// Path 1's scaling: acc clamped to [b_lo, b_hi] and shifted left by k.
  static __m512i scaled(__m512i acc, __m512i b_lo, __m512i b_hi, __m512i k) noexcept {
    return _mm512_sllv_epi32(_mm512_min_epi32(_mm512_max_epi32(acc, b_lo), b_hi), k);
  }

  /// Paths 0/1 up to the zero point: the rounded high halves of acc * m shifted right by s (the
  /// accumulator already holds the constant).
  static __m512i high_half(__m512i acc, __m512i m_even, __m512i m_odd, __m512i r, __m512i s) noexcept {
    const __m512i pe = _mm512_mul_epi32(acc, m_even);
    const __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), m_odd);
    const __m512i h = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    return _mm512_srav_epi32(_mm512_add_epi32(h, r), s);
  }

  /// Stores the 32 output bytes of a vector (pair: 16 at y, 16 at y_next unless null).
  template <layout L>
  static void put(__m256i bytes, std::uint8_t* y, std::uint8_t* y_next, const lanes& ln) noexcept {
    if constexpr (L == layout::wide) {
      (void)y_next;
      (void)ln;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), bytes);
    } else if constexpr (L == layout::wide_masked) {
      (void)y_next;
      _mm256_mask_storeu_epi8(y, ln.m32, bytes);
    } else if constexpr (L == layout::pair) {
      (void)ln;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm256_castsi256_si128(bytes));
      if (y_next) _mm_storeu_si128(reinterpret_cast<__m128i*>(y_next), _mm256_extracti128_si256(bytes, 1));
    } else {
      _mm_mask_storeu_epi8(y, ln.m16, _mm256_castsi256_si128(bytes));
      if (y_next) _mm_mask_storeu_epi8(y_next, ln.m16, _mm256_extracti128_si256(bytes, 1));
    }
  }

  /// Tap pointers of the window at (iy0, ix0), K x K (K = 0: im.k): taps outside the image point
  /// at zp (x_zero_point codes).
  template <std::size_t K>
  static void tap_pointers(const image& im, std::ptrdiff_t iy0, std::ptrdiff_t ix0, std::size_t c0,
                           const std::uint8_t* zp, const std::uint8_t** ptr) noexcept {
    const std::size_t k = K ? K : im.k;
    const std::ptrdiff_t h = std::ptrdiff_t(im.height), w = std::ptrdiff_t(im.width);
    for (std::size_t ky = 0; ky < k; ++ky) {
      const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(ky);
      const bool row_in = iy >= 0 && iy < h;
      const std::uint8_t* row = im.x + (row_in ? std::size_t(iy) * im.row_stride : 0) + c0;
      for (std::size_t kx = 0; kx < k; ++kx) {
        const std::ptrdiff_t ix = ix0 + std::ptrdiff_t(kx);
        ptr[ky * k + kx] = row_in && ix >= 0 && ix < w ? row + std::size_t(ix) * im.channels : zp;
      }
    }
  }

  /// Any kernel size, any pixel: taps walked in order, pointers checked per tap; `wl`/`wh`: the
  /// interleaved weights of every pair, or null (rebuilt per pair here from a).
  template <layout L>
  static void generic_pixel(const depthwise_args& a, const image& im, const lanes& ln, std::ptrdiff_t iy0,
                            std::ptrdiff_t ix0, std::ptrdiff_t next, const std::uint8_t* zp, const __m512i* wl,
                            const __m512i* wh, __m512i& acc_lo, __m512i& acc_hi) noexcept {
    const std::ptrdiff_t h = std::ptrdiff_t(im.height), w = std::ptrdiff_t(im.width);
    std::size_t ky = 0, kx = 0;  // the next tap
    auto input = [&]() -> __m512i {
      const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(ky), ix = ix0 + std::ptrdiff_t(kx);
      if (++kx == im.k) {
        kx = 0;
        ++ky;
      }
      const bool row_in = iy >= 0 && iy < h;
      const std::uint8_t* row = im.x + (row_in ? std::size_t(iy) * im.row_stride : 0) + ln.c0;
      const std::uint8_t* pa = row_in && ix >= 0 && ix < w ? row + std::size_t(ix) * im.channels : zp;
      const std::uint8_t* pb = zp;  // pair: the next output pixel's tap (next = 0: none)
      if (is_pair(L) && next != 0 && row_in && ix + next >= 0 && ix + next < w)
        pb = row + std::size_t(ix + next) * im.channels;
      return _mm512_cvtepu8_epi16(load<L>(pa, pb, ln));
    };
    const std::size_t pairs = (im.taps + 1) / 2;
    for (std::size_t p = 0; p < pairs; ++p) {
      __m512i l, hh;
      if (wl) {
        l = wl[p];
        hh = wh[p];
      } else {
        __m512i ts_lo = _mm512_setzero_si512(), ts_hi = _mm512_setzero_si512();
        pair_weights<L>(a, im.taps, p, ln, l, hh, ts_lo, ts_hi);
      }
      const __m512i da = input();
      const __m512i db = 2 * p + 1 < im.taps ? input() : _mm512_setzero_si512();
      acc_lo = _mm512_dpwssd_epi32(acc_lo, _mm512_unpacklo_epi16(da, db), l);
      acc_hi = _mm512_dpwssd_epi32(acc_hi, _mm512_unpackhi_epi16(da, db), hh);
    }
  }

  /// Vectors computed at once: independent vpdpwssd chains (latency ~4 cycles, 2 per cycle), each
  /// weight pair loaded once for all of them. 3x3: 4 (its 10 weight registers stay); 5x5: 2 (4 spilled
  /// accumulators and tap offsets and ran 25% slower on Zen 5).
  template <std::size_t K>
  static constexpr std::size_t step_of = K == 3 ? 4 : 2;

  /// One channel block, kernel size K (3 or 5: unrolled; 0: any).
  template <std::size_t K, layout L>
  static void run_block(const depthwise_args& a, const lanes& block) noexcept {
    constexpr bool paired = is_pair(L);
    constexpr std::size_t U = paired ? 2 : 1;  // output pixels per vector
    constexpr std::size_t max_pairs = K ? (K * K + 1) / 2 : generic_pairs;
    const lanes ln = block;
    image im;
    im.x = a.x;
    im.height = a.height;
    im.width = a.width;
    im.channels = a.channels;
    im.row_stride = a.width * a.channels;
    im.k = K ? K : a.kernel;
    im.taps = im.k * im.k;
    const std::size_t C = a.channels, stride = a.stride, pad = a.padding, k = im.k, rs = im.row_stride;
    const std::size_t out_w = a.out_width, y_stride = a.y_pixel_stride, row_begin = a.row_begin, row_end = a.row_end;
    const std::size_t ps = stride * C;  // input offset of the next output pixel
    std::uint8_t* const y = a.y;
    // output columns whose whole window lies inside the image: [ox_lo, ox_hi)
    const std::size_t ox_lo = (pad + stride - 1) / stride;
    std::size_t ox_hi = a.width + pad >= k ? (a.width + pad - k) / stride + 1 : 0;
    if (ox_hi > out_w) ox_hi = out_w;

    // the block's interleaved weights, their sums, and the requantization operands in lane order
    const std::size_t pairs = (im.taps + 1) / 2;
    const bool held = pairs <= max_pairs;  // always for K = 3, 5
    __m512i wl[max_pairs], wh[max_pairs];
    __m512i ts_lo = _mm512_setzero_si512(), ts_hi = _mm512_setzero_si512();
    for (std::size_t p = 0; p < pairs; ++p) {
      __m512i l, h;
      pair_weights<L>(a, im.taps, p, ln, l, h, ts_lo, ts_hi);
      if (held) {
        wl[p] = l;
        wh[p] = h;
      }
    }
    lane_quant q_lo = lane_requant<L>(a, ln, false, ts_lo), q_hi = lane_requant<L>(a, ln, true, ts_hi);
    // the accumulators start at bias - x_zp * tap sums (requantize16 then adds nothing)
    const __m512i corr_lo = q_lo.q.corr, corr_hi = q_hi.q.corr;
    q_lo.q.corr = q_hi.q.corr = _mm512_setzero_si512();
    const int path = q_lo.path > q_hi.path ? q_lo.path : q_hi.path;
    const __m512i ml_e = q_lo.q.m_even, ml_o = q_lo.q.m_odd, rl = q_lo.r, sl = q_lo.s;
    const __m512i mh_e = q_hi.q.m_even, mh_o = q_hi.q.m_odd, rh = q_hi.r, sh = q_hi.s;
    const __m512i kl = q_lo.k, bl_lo = q_lo.b_lo, bl_hi = q_lo.b_hi, kh = q_hi.k, bh_lo = q_hi.b_lo, bh_hi = q_hi.b_hi;
    const __m512i zp16 = _mm512_set1_epi16(static_cast<std::int16_t>(a.zero_point));
    const __m512i lo16 = _mm512_set1_epi16(static_cast<std::int16_t>(a.lo));
    const __m512i hi16 = _mm512_set1_epi16(static_cast<std::int16_t>(a.hi));

    // The requantized bytes of a vector in channel order. int32 paths: vpackssdw saturates values
    // beyond int16, the saturating zero-point add keeps them beyond [lo, hi] (|zp| <= 255), then the
    // clamp, so every lane is clamp(zp + v, lo, hi) exactly; else requantize16 (already clamped).
    auto finish = [&](__m512i acc_lo, __m512i acc_hi) OHQ_DW_INLINE -> __m256i {
      __m512i words;
      if (path == 0) {
        words = _mm512_packs_epi32(high_half(acc_lo, ml_e, ml_o, rl, sl), high_half(acc_hi, mh_e, mh_o, rh, sh));
        words = _mm512_min_epi16(_mm512_max_epi16(_mm512_adds_epi16(words, zp16), lo16), hi16);
      } else if (path == 1) {
        words = _mm512_packs_epi32(high_half(scaled(acc_lo, bl_lo, bl_hi, kl), ml_e, ml_o, rl, sl),
                                   high_half(scaled(acc_hi, bh_lo, bh_hi, kh), mh_e, mh_o, rh, sh));
        words = _mm512_min_epi16(_mm512_max_epi16(_mm512_adds_epi16(words, zp16), lo16), hi16);
      } else {
        words = _mm512_packs_epi32(requantize16(acc_lo, q_lo.q), requantize16(acc_hi, q_hi.q));
      }
      return _mm512_cvtepi16_epi8(words);
    };

    alignas(64) std::uint8_t zp[64];
    std::memset(zp, static_cast<std::uint8_t>(a.x_zero_point), sizeof zp);

    // N vectors at once (independent vpdpwssd chains, each weight pair loaded once for all):
    // `tap(i, t)` gives tap t's 32 input bytes of vector i, `dest(i)` its output pixel.
    auto vectors = [&](auto n_c, const auto& tap, const auto& dest, const auto& has_next) OHQ_DW_INLINE {
      constexpr std::size_t N = decltype(n_c)::value;
      constexpr std::size_t taps = K * K;
      __m512i acc_lo[N], acc_hi[N];
#pragma GCC unroll 8
      for (std::size_t i = 0; i < N; ++i) {
        acc_lo[i] = corr_lo;
        acc_hi[i] = corr_hi;
      }
#pragma GCC unroll 32
      for (std::size_t p = 0; p < (taps + 1) / 2; ++p) {
        __m512i w_lo = wl[p], w_hi = wh[p];
        // in registers: GCC would fold a spilled weight into every vpdpwssd (N loads instead of 1)
        if constexpr (N > 1) asm("" : "+v"(w_lo), "+v"(w_hi));
#pragma GCC unroll 8
        for (std::size_t i = 0; i < N; ++i) {
          const __m512i da = _mm512_cvtepu8_epi16(tap(i, 2 * p));
          const __m512i db = 2 * p + 1 < taps ? _mm512_cvtepu8_epi16(tap(i, 2 * p + 1)) : _mm512_setzero_si512();
          acc_lo[i] = _mm512_dpwssd_epi32(acc_lo[i], _mm512_unpacklo_epi16(da, db), w_lo);
          acc_hi[i] = _mm512_dpwssd_epi32(acc_hi[i], _mm512_unpackhi_epi16(da, db), w_hi);
        }
      }
#pragma GCC unroll 8
      for (std::size_t i = 0; i < N; ++i) {
        std::uint8_t* const out = dest(i);
        put<L>(finish(acc_lo[i], acc_hi[i]), out, has_next(i) ? out + y_stride : nullptr, ln);
      }
    };

    // N vectors from output column ox whose windows lie inside the image: one base pointer
    auto interior = [&](auto n_c, auto contig_c, std::size_t ox, std::size_t iy0, std::uint8_t* y_row) OHQ_DW_INLINE {
      constexpr bool contig = decltype(contig_c)::value;  // pair of 16 channels at stride 1: 32 bytes in a row
      const std::uint8_t* const x0 = im.x + iy0 * rs + (ox * stride - pad) * C + ln.c0;
      vectors(
          n_c,
          [&](std::size_t i, std::size_t t) OHQ_DW_INLINE {
            constexpr std::size_t KK = K ? K : 1;  // K = 0 (generic) never gets here
            const std::uint8_t* p = x0 + i * U * ps + (t / KK) * rs + (t % KK) * C;
            if constexpr (contig)
              return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
            else
              return load<L>(p, p + ps, ln);
          },
          [&](std::size_t i) OHQ_DW_INLINE { return y_row + (ox + i * U) * y_stride; },
          [](std::size_t) OHQ_DW_INLINE { return is_pair(L); });
    };

    // Vectors with taps outside the image, queued over the rows and run `step` at a time (independent
    // chains) through tap pointer tables (taps outside the image read zp).
    struct pending {
      std::ptrdiff_t iy0;
      std::size_t ox;
      std::uint8_t* y_row;
    };
    auto border = [&](auto n_c, const pending* v) OHQ_DW_INLINE {
      constexpr std::size_t N = decltype(n_c)::value;
      constexpr std::size_t taps = K ? K * K : 1;  // K = 0 (generic) never gets here
      const std::uint8_t* pa[N][taps];
      const std::uint8_t* pb[N][taps];
      for (std::size_t i = 0; i < N; ++i) {
        const std::ptrdiff_t ix0 = std::ptrdiff_t(v[i].ox * stride) - std::ptrdiff_t(pad);
        tap_pointers<K>(im, v[i].iy0, ix0, ln.c0, zp, pa[i]);
        if constexpr (paired) {
          if (v[i].ox + 1 < out_w)
            tap_pointers<K>(im, v[i].iy0, ix0 + std::ptrdiff_t(stride), ln.c0, zp, pb[i]);
          else
            for (auto& p : pb[i]) p = zp;
        }
      }
      vectors(
          n_c,
          [&](std::size_t i, std::size_t t) OHQ_DW_INLINE {
            if constexpr (paired)
              return load<L>(pa[i][t], pb[i][t], ln);
            else
              return load<L>(pa[i][t], pa[i][t], ln);
          },
          [&](std::size_t i) OHQ_DW_INLINE { return v[i].y_row + v[i].ox * y_stride; },
          [&](std::size_t i) OHQ_DW_INLINE { return paired && v[i].ox + 1 < out_w; });
    };

    constexpr std::size_t step = step_of<K>;
    using one = std::integral_constant<std::size_t, 1>;
    using many = std::integral_constant<std::size_t, step>;
    pending queue[step];
    std::size_t queued = 0;
    auto enqueue = [&](std::ptrdiff_t iy0, std::size_t ox, std::uint8_t* y_row) OHQ_DW_INLINE {
      queue[queued++] = pending{iy0, ox, y_row};
      if (queued == step) {
        border(many{}, queue);
        queued = 0;
      }
    };
    const std::size_t units = (out_w + U - 1) / U;                 // vectors per output row
    const std::size_t j_lo = (ox_lo + U - 1) / U, j_hi = ox_hi / U;  // interior vectors [j_lo, j_hi)
    for (std::size_t oy = row_begin; oy < row_end; ++oy) {
      const std::ptrdiff_t iy0 = std::ptrdiff_t(oy * stride) - std::ptrdiff_t(pad);
      std::uint8_t* const y_row = y + oy * out_w * y_stride + ln.c0;
      if constexpr (K != 0) {
        if (iy0 >= 0 && std::size_t(iy0) + k <= im.height && j_lo < j_hi) {
          for (std::size_t j = 0; j < j_lo; ++j) enqueue(iy0, j * U, y_row);
          auto inside = [&](auto contig) OHQ_DW_INLINE {
            std::size_t j = j_lo;
            for (; j + step <= j_hi; j += step) interior(many{}, contig, j * U, std::size_t(iy0), y_row);
            // the rest at once (independent chains again): 1..step-1 vectors
            if constexpr (step > 3)
              if (j_hi - j == 3) return interior(std::integral_constant<std::size_t, 3>{}, contig, j * U, std::size_t(iy0), y_row);
            if constexpr (step > 2)
              if (j_hi - j == 2) return interior(std::integral_constant<std::size_t, 2>{}, contig, j * U, std::size_t(iy0), y_row);
            // 5x5 (2 at a time): a single one joins the queue (one 13-deep vpdpwssd chain alone
            // is latency-bound)
            for (; j < j_hi; ++j) {
              if constexpr (step == 2)
                enqueue(iy0, j * U, y_row);
              else
                interior(one{}, contig, j * U, std::size_t(iy0), y_row);
            }
          };
          if (L == layout::pair && ps == 16)
            inside(std::true_type{});
          else
            inside(std::false_type{});
          for (std::size_t j = j_hi; j < units; ++j) enqueue(iy0, j * U, y_row);
        } else {
          for (std::size_t j = 0; j < units; ++j) enqueue(iy0, j * U, y_row);
        }
      } else {
        for (std::size_t ox = 0; ox < out_w; ox += U) {
          const bool has_next = paired && ox + 1 < out_w;
          const std::ptrdiff_t ix0 = std::ptrdiff_t(ox * stride) - std::ptrdiff_t(pad);
          __m512i acc_lo = corr_lo, acc_hi = corr_hi;
          generic_pixel<L>(a, im, ln, iy0, ix0, has_next ? std::ptrdiff_t(stride) : 0, zp, held ? wl : nullptr,
                           held ? wh : nullptr, acc_lo, acc_hi);
          std::uint8_t* const out = y_row + ox * y_stride;
          put<L>(finish(acc_lo, acc_hi), out, has_next ? out + y_stride : nullptr, ln);
        }
      }
    }
    if constexpr (K != 0)
      for (std::size_t i = 0; i < queued; ++i) border(one{}, queue + i);
  }

  /// Every channel block of kernel size K (3, 5, or 0: any).
  template <std::size_t K>
  static void run(const depthwise_args& a) noexcept {
    if (a.row_begin >= a.row_end || a.out_width == 0 || a.channels == 0) return;
    const std::size_t c = a.channels;
    if (c < 16) return run_block<K, layout::pair_masked>(a, lanes{0, c, 0, static_cast<__mmask16>((1u << c) - 1u)});
    if (c == 16) return run_block<K, layout::pair>(a, lanes{0, 16, 0, 0});
    if (c < 32) return run_block<K, layout::wide_masked>(a, lanes{0, c, static_cast<__mmask32>((1ull << c) - 1u), 0});
    std::size_t c0 = 0;
    for (; c0 + 32 <= c; c0 += 32) run_block<K, layout::wide>(a, lanes{c0, 32, 0, 0});
    // the tail overlaps the blocks before (its channels are recomputed and rewritten with the
    // same codes): 16 channels of two pixels per vector when it has at most 16, else 32
    if (c0 < c) {
      if (c - c0 <= 16)
        run_block<K, layout::pair>(a, lanes{c - 16, 16, 0, 0});
      else
        run_block<K, layout::wide>(a, lanes{c - 32, 32, 0, 0});
    }
  }
};

#undef OHQ_DW_INLINE

inline void run_depthwise(const depthwise_args& a) noexcept {
  if (a.kernel == 3) return depthwise::run<3>(a);
  if (a.kernel == 5) return depthwise::run<5>(a);
  depthwise::run<0>(a);
}

}  // namespace ohq::kernels::avx512

/// The AVX-512 VNNI depthwise entry (see kernels/dispatch.hpp): weak, defined by every AVX-512 TU
/// including this.
extern "C" __attribute__((weak)) const ohq::kernels::depthwise_kernel_entry* ohq_kernels_avx512_vnni_depthwise() noexcept {
  static constexpr ohq::kernels::depthwise_kernel_entry entry{
      "avx512-vnni depthwise 32 channels (vpdpwssd on tap pairs)", &ohq::kernels::avx512::run_depthwise};
  return &entry;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // AVX-512 F/BW/VL/VNNI

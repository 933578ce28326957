// SPDX-License-Identifier: MIT
/// @file Defines the AVX-512 VNNI W8A8 GEMM kernel: vpdpbusd (u8 x s8, four products per int32
/// lane, exact, wrapping) on the packed layout, one 4-byte activation broadcast per column and
/// k-group feeding 16 * MrV rows. A no-op unless the including TU is compiled with AVX-512
/// F/BW/VL/VNNI (cmake/OhqKernels.cmake's per-arch TU, or -march for such a CPU).
///
/// vpdpbusd has ~4-5 cycles latency at up to 2 per cycle, so a tile keeps >= 8 independent
/// accumulators: MrV * Nr of them, and a k-unroll with separate accumulators when a column tail
/// (batch-1 layers: Nr = 1) leaves fewer. The zero point costs nothing in the loop: the kernel
/// computes sum x * w and adds bias - x_zero_point * row_sum once per output.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)

#include <ohq/kernels/w8a8_types.hpp>

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

// Only plain functions of this arch's namespace and intrinsics below: nothing shared with the
// baseline translation units (see w8a8_types.hpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see above
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
namespace ohq::kernels::avx512 {

/// Per-row requantization operands of 16 rows, 64-bit lanes split even/odd.
struct requant16 {
  __m512i corr, m_even, m_odd, s_even, s_odd, r_even, r_odd, lo, hi, zp;
  /// Every shift >= 33 (nearly every layer): requantize16 rounds the high halves of the products
  /// in int32 lanes (avx2::requantize8 says why that is exact) with these.
  bool high_half;
  __m512i r_high, s_high, lo32, hi32;  ///< 2^(shift-33), shift - 32, lo, hi as int32 lanes
};

/// The operands of 16 rows from their bias, row sums, multipliers and shifts (one per lane).
inline requant16 make_requant16(__m512i bias, __m512i row_sums, __m512i mv, __m512i sv, std::int32_t x_zp,
                                std::int32_t zp, std::int32_t lo, std::int32_t hi) noexcept {
  requant16 p;
  p.corr = _mm512_sub_epi32(bias, _mm512_mullo_epi32(_mm512_set1_epi32(x_zp), row_sums));
  p.m_even = mv;
  p.m_odd = _mm512_srli_epi64(mv, 32);
  p.s_even = _mm512_and_si512(sv, _mm512_set1_epi64(0xffffffff));
  p.s_odd = _mm512_srli_epi64(sv, 32);
  const __m512i one = _mm512_set1_epi64(1);
  p.r_even = _mm512_sllv_epi64(one, _mm512_sub_epi64(p.s_even, one));
  p.r_odd = _mm512_sllv_epi64(one, _mm512_sub_epi64(p.s_odd, one));
  p.lo = _mm512_set1_epi64(std::int64_t{lo} - zp);
  p.hi = _mm512_set1_epi64(std::int64_t{hi} - zp);
  p.zp = _mm512_set1_epi32(zp);
  const __m512i s32 = _mm512_set1_epi32(32);
  p.high_half = _mm512_cmpgt_epi32_mask(sv, s32) == 0xFFFF;
  p.s_high = _mm512_sub_epi32(sv, s32);
  // 2^(s-33) for s >= 33; the lanes of rows on the 64-bit path get 0 (unused there)
  p.r_high = _mm512_sllv_epi32(_mm512_set1_epi32(1), _mm512_sub_epi32(p.s_high, _mm512_set1_epi32(1)));
  p.lo32 = _mm512_set1_epi32(lo);
  p.hi32 = _mm512_set1_epi32(hi);
  return p;
}

inline requant16 make_requant16(const std::int32_t* bias, const std::int32_t* row_sums, const std::int32_t* m,
                                const std::int32_t* s, std::int32_t x_zp, std::int32_t zp, std::int32_t lo,
                                std::int32_t hi) noexcept {
  return make_requant16(_mm512_loadu_si512(bias), _mm512_loadu_si512(row_sums), _mm512_loadu_si512(m),
                        _mm512_loadu_si512(s), x_zp, zp, lo, hi);
}

/// quant::requantize on 16 lanes, exactly: 64-bit products, then with every shift >= 33 their high
/// halves rounded and shifted in int32 lanes, else vpsravq and a 64-bit clamp.
[[gnu::always_inline]] inline __m512i requantize16(__m512i acc, const requant16& p) noexcept {
  acc = _mm512_add_epi32(acc, p.corr);
  if (p.high_half) {
    const __m512i pe = _mm512_mul_epi32(acc, p.m_even);
    const __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(acc, 32), p.m_odd);
    const __m512i high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    const __m512i v = _mm512_add_epi32(_mm512_srav_epi32(_mm512_add_epi32(high, p.r_high), p.s_high), p.zp);
    return _mm512_min_epi32(_mm512_max_epi32(v, p.lo32), p.hi32);
  }
  const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(acc, p.m_even), p.r_even);
  const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), p.m_odd), p.r_odd);
  const __m512i ve = _mm512_max_epi64(_mm512_min_epi64(_mm512_srav_epi64(pe, p.s_even), p.hi), p.lo);
  const __m512i vo = _mm512_max_epi64(_mm512_min_epi64(_mm512_srav_epi64(po, p.s_odd), p.hi), p.lo);
  return _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, ve, _mm512_slli_epi64(vo, 32)), p.zp);
}

/// Column i of the matrix (gemm_windows: the first run of its patch), for every AVX-512 GEMM.
inline const std::uint8_t* column(const w8a8_gemm_args& a, std::size_t i) noexcept {
  if (a.windows.runs == 0) return a.x + i * a.ldx;
  return a.x + i / a.windows.width * a.windows.row_stride + i % a.windows.width * a.ldx;
}

/// The requantization operands of rows j0..j0+15 of a GEMM (those below a.rows).
inline requant16 requant_rows(const w8a8_gemm_args& a, std::size_t j0) noexcept {
  // masked loads, not variable-length memcpy into stack arrays: GCC emits those as rep movsq, ~40
  // cycles each, which made a batch-1 dense layer's epilogue cost more than its k loop
  const std::size_t rows = a.rows - j0 < 16 ? a.rows - j0 : 16;
  const auto keep = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i bias = a.bias ? _mm512_maskz_loadu_epi32(keep, a.bias + j0) : _mm512_setzero_si512();
  const __m512i s = _mm512_mask_loadu_epi32(_mm512_set1_epi32(1), keep, a.shift + j0);  // rows past the end: shift 1
  return make_requant16(bias, _mm512_maskz_loadu_epi32(keep, a.row_sums + j0),
                        _mm512_maskz_loadu_epi32(keep, a.multiplier + j0), s, a.x_zero_point, a.zero_point, a.lo,
                        a.hi);
}

/// Requantizes the int32 dot products acc[c] of rows j0..j0+15 (those below a.rows), columns
/// i0 + c, with their operands p (requant_rows(a, j0)), and stores them as bytes. Always inlined
/// (with requantize16): GCC kept it out of line, a call and a vzeroupper per 16 rows.
template <std::size_t Nc>
[[gnu::always_inline]] inline void store16(const w8a8_gemm_args& a, const requant16& p, std::size_t j0, std::size_t i0,
                    const __m512i (&acc)[Nc]) noexcept {
  const std::size_t rows = a.rows - j0 < 16 ? a.rows - j0 : 16;
  // whole 16- or 8-byte stores where they fit: masked byte stores cost ~2x the whole epilogue here
  if (a.channel_stride == 1 && rows == 16) {
    for (std::size_t c = 0; c < Nc; ++c)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(a.y + j0 + (i0 + c) * a.column_stride),
                       _mm512_cvtepi32_epi8(requantize16(acc[c], p)));
    return;
  }
  if (a.channel_stride == 1 && rows == 8) {  // MobileNetV3's 24, 40, 72, 88, 120 channels
    for (std::size_t c = 0; c < Nc; ++c)
      _mm_storel_epi64(reinterpret_cast<__m128i*>(a.y + j0 + (i0 + c) * a.column_stride),
                       _mm512_cvtepi32_epi8(requantize16(acc[c], p)));
    return;
  }
  const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1u);
  for (std::size_t c = 0; c < Nc; ++c) {
    const __m128i bytes = _mm512_cvtepi32_epi8(requantize16(acc[c], p));
    std::uint8_t* y = a.y + j0 * a.channel_stride + (i0 + c) * a.column_stride;
    if (a.channel_stride == 1) {
      _mm_mask_storeu_epi8(y, keep, bytes);
    } else {
      alignas(16) std::uint8_t tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
      for (std::size_t r = 0; r < rows; ++r) y[r * a.channel_stride] = tmp[r];
    }
  }
}

/// The epilogue of the AVX-512 GEMMs that do not hoist the operands: store16 with requant_rows(a, j0).
template <std::size_t Nc>
inline void requantize_store16(const w8a8_gemm_args& a, std::size_t j0, std::size_t i0, const __m512i (&acc)[Nc]) noexcept {
  store16<Nc>(a, requant_rows(a, j0), j0, i0, acc);
}

/// 4 activation bytes x[0..rem) (zero-filled) broadcast to every lane.
inline __m512i broadcast4(const std::uint8_t* x, std::size_t rem) noexcept {
  std::int32_t v = 0;
  if (rem == 4)
    std::memcpy(&v, x, 4);
  else
    std::memcpy(&v, x, rem);
  return _mm512_set1_epi32(v);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define OHQ_AVX512_GEMM_ASM 1
/// The asm k loops' last step: accumulators zmm0-15 to out[0..16).
#define OHQ_AVX512_STORE16                  \
  "vmovdqu64 %%zmm0, 0(%[out])\n\t"        \
  "vmovdqu64 %%zmm1, 64(%[out])\n\t"       \
  "vmovdqu64 %%zmm2, 128(%[out])\n\t"      \
  "vmovdqu64 %%zmm3, 192(%[out])\n\t"      \
  "vmovdqu64 %%zmm4, 256(%[out])\n\t"      \
  "vmovdqu64 %%zmm5, 320(%[out])\n\t"      \
  "vmovdqu64 %%zmm6, 384(%[out])\n\t"      \
  "vmovdqu64 %%zmm7, 448(%[out])\n\t"      \
  "vmovdqu64 %%zmm8, 512(%[out])\n\t"      \
  "vmovdqu64 %%zmm9, 576(%[out])\n\t"      \
  "vmovdqu64 %%zmm10, 640(%[out])\n\t"     \
  "vmovdqu64 %%zmm11, 704(%[out])\n\t"     \
  "vmovdqu64 %%zmm12, 768(%[out])\n\t"     \
  "vmovdqu64 %%zmm13, 832(%[out])\n\t"     \
  "vmovdqu64 %%zmm14, 896(%[out])\n\t"     \
  "vmovdqu64 %%zmm15, 960(%[out])\n\t"
// The k loops of the full tiles with the registers allocated by hand. GCC 12 compiles the
// intrinsic tile into a register copy per vpdpbusd plus spills (43% of the VNNI peak on the
// 56x56x64 3x3 conv); clang keeps the intrinsics' accumulators in place.

/// 64 rows x 4 columns, `groups` (>= 1) k-groups: zmm0-15 the accumulators out[v * 4 + c], zmm16-19
/// the four weight vectors of a k-group, zmm20-23 the columns' broadcasts.
inline void w8a8_tile_64x4_asm(const std::uint8_t* const* xs, const std::int8_t* w, std::size_t groups,
                               __m512i* out) noexcept {
  const std::uint8_t *x0 = xs[0], *x1 = xs[1], *x2 = xs[2], *x3 = xs[3];
  std::size_t i = 0;
  __asm__ volatile(
      "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
      "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
      "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      "vpxor %%xmm8, %%xmm8, %%xmm8\n\t"
      "vpxor %%xmm9, %%xmm9, %%xmm9\n\t"
      "vpxor %%xmm10, %%xmm10, %%xmm10\n\t"
      "vpxor %%xmm11, %%xmm11, %%xmm11\n\t"
      "vpxor %%xmm12, %%xmm12, %%xmm12\n\t"
      "vpxor %%xmm13, %%xmm13, %%xmm13\n\t"
      "vpxor %%xmm14, %%xmm14, %%xmm14\n\t"
      "vpxor %%xmm15, %%xmm15, %%xmm15\n\t"
      ".p2align 4\n\t"
      "1:\n\t"
      "vmovdqu64 (%[w]), %%zmm16\n\t"
      "vmovdqu64 64(%[w]), %%zmm17\n\t"
      "vmovdqu64 128(%[w]), %%zmm18\n\t"
      "vmovdqu64 192(%[w]), %%zmm19\n\t"
      "vpbroadcastd (%[x0],%[i]), %%zmm20\n\t"
      "vpbroadcastd (%[x1],%[i]), %%zmm21\n\t"
      "vpbroadcastd (%[x2],%[i]), %%zmm22\n\t"
      "vpbroadcastd (%[x3],%[i]), %%zmm23\n\t"
      "vpdpbusd %%zmm16, %%zmm20, %%zmm0\n\t"
      "vpdpbusd %%zmm16, %%zmm21, %%zmm1\n\t"
      "vpdpbusd %%zmm16, %%zmm22, %%zmm2\n\t"
      "vpdpbusd %%zmm16, %%zmm23, %%zmm3\n\t"
      "vpdpbusd %%zmm17, %%zmm20, %%zmm4\n\t"
      "vpdpbusd %%zmm17, %%zmm21, %%zmm5\n\t"
      "vpdpbusd %%zmm17, %%zmm22, %%zmm6\n\t"
      "vpdpbusd %%zmm17, %%zmm23, %%zmm7\n\t"
      "vpdpbusd %%zmm18, %%zmm20, %%zmm8\n\t"
      "vpdpbusd %%zmm18, %%zmm21, %%zmm9\n\t"
      "vpdpbusd %%zmm18, %%zmm22, %%zmm10\n\t"
      "vpdpbusd %%zmm18, %%zmm23, %%zmm11\n\t"
      "vpdpbusd %%zmm19, %%zmm20, %%zmm12\n\t"
      "vpdpbusd %%zmm19, %%zmm21, %%zmm13\n\t"
      "vpdpbusd %%zmm19, %%zmm22, %%zmm14\n\t"
      "vpdpbusd %%zmm19, %%zmm23, %%zmm15\n\t"
      "add $256, %[w]\n\t"
      "add $4, %[i]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      OHQ_AVX512_STORE16
      : [w] "+r"(w), [i] "+r"(i), [n] "+r"(groups)
      : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3), [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm23");
}

// The partial last row tile (M = 40, 72, 112, ... in MobileNetV3) in asm too: GCC's intrinsic
// tile of 8-12 accumulators ran 2-3x slower than the loop allows (M = 40, K = 120: 64 -> 195
// GMAC/s; M = 112, K = 672: 167 -> 358 GMAC/s, CPU-time microbenchmark).
/// One 16-row vector of a k-group (weights at off(%[w]) into zmm<wreg>) times the 4 broadcasts
/// zmm20-23, into zmm<a>..zmm<a + 3>.
#define OHQ_W8A8_VECTOR(off, wreg, a0, a1, a2, a3)         \
  "vmovdqu64 " #off "(%[w]), %%zmm" #wreg "\n\t"           \
  "vpdpbusd %%zmm" #wreg ", %%zmm20, %%zmm" #a0 "\n\t"     \
  "vpdpbusd %%zmm" #wreg ", %%zmm21, %%zmm" #a1 "\n\t"     \
  "vpdpbusd %%zmm" #wreg ", %%zmm22, %%zmm" #a2 "\n\t"     \
  "vpdpbusd %%zmm" #wreg ", %%zmm23, %%zmm" #a3 "\n\t"
#define OHQ_W8A8_ZERO4(a0, a1, a2, a3)                                                    \
  "vpxor %%xmm" #a0 ", %%xmm" #a0 ", %%xmm" #a0 "\n\t" "vpxor %%xmm" #a1 ", %%xmm" #a1 ", %%xmm" #a1 "\n\t" \
  "vpxor %%xmm" #a2 ", %%xmm" #a2 ", %%xmm" #a2 "\n\t" "vpxor %%xmm" #a3 ", %%xmm" #a3 ", %%xmm" #a3 "\n\t"
#define OHQ_W8A8_STORE4(a0, a1, a2, a3)                  \
  "vmovdqu64 %%zmm" #a0 ", " #a0 "*64(%[out])\n\t"       \
  "vmovdqu64 %%zmm" #a1 ", " #a1 "*64(%[out])\n\t"       \
  "vmovdqu64 %%zmm" #a2 ", " #a2 "*64(%[out])\n\t"       \
  "vmovdqu64 %%zmm" #a3 ", " #a3 "*64(%[out])\n\t"
#define OHQ_W8A8_BROADCAST4                      \
  "vpbroadcastd (%[x0],%[i]), %%zmm20\n\t"       \
  "vpbroadcastd (%[x1],%[i]), %%zmm21\n\t"       \
  "vpbroadcastd (%[x2],%[i]), %%zmm22\n\t"       \
  "vpbroadcastd (%[x3],%[i]), %%zmm23\n\t"

/// The first V (2 or 3) 16-row vectors of a 64-row tile x 4 columns, `groups` (>= 1) k-groups of the
/// packed layout (256 bytes each): out[v * 4 + c], accumulators zmm0-11, weights zmm16-18.
template <std::size_t V>
inline void w8a8_tile_partial_x4_asm(const std::uint8_t* const* xs, const std::int8_t* w, std::size_t groups,
                                     __m512i* out) noexcept {
  static_assert(V == 2 || V == 3);
  const std::uint8_t *x0 = xs[0], *x1 = xs[1], *x2 = xs[2], *x3 = xs[3];
  std::size_t i = 0;
  if constexpr (V == 3)
    __asm__ volatile(OHQ_W8A8_ZERO4(0, 1, 2, 3) OHQ_W8A8_ZERO4(4, 5, 6, 7) OHQ_W8A8_ZERO4(8, 9, 10, 11)
                     ".p2align 4\n\t"
                     "1:\n\t"
                     OHQ_W8A8_BROADCAST4
                     OHQ_W8A8_VECTOR(0, 16, 0, 1, 2, 3) OHQ_W8A8_VECTOR(64, 17, 4, 5, 6, 7)
                     OHQ_W8A8_VECTOR(128, 18, 8, 9, 10, 11)
                     "add $256, %[w]\n\t"
                     "add $4, %[i]\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     OHQ_W8A8_STORE4(0, 1, 2, 3) OHQ_W8A8_STORE4(4, 5, 6, 7) OHQ_W8A8_STORE4(8, 9, 10, 11)
                     : [w] "+r"(w), [i] "+r"(i), [n] "+r"(groups)
                     : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3), [out] "r"(out)
                     : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm16", "xmm17", "xmm18", "xmm20", "xmm21", "xmm22", "xmm23");
  else
    __asm__ volatile(OHQ_W8A8_ZERO4(0, 1, 2, 3) OHQ_W8A8_ZERO4(4, 5, 6, 7)
                     ".p2align 4\n\t"
                     "1:\n\t"
                     OHQ_W8A8_BROADCAST4
                     OHQ_W8A8_VECTOR(0, 16, 0, 1, 2, 3) OHQ_W8A8_VECTOR(64, 17, 4, 5, 6, 7)
                     "add $256, %[w]\n\t"
                     "add $4, %[i]\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     OHQ_W8A8_STORE4(0, 1, 2, 3) OHQ_W8A8_STORE4(4, 5, 6, 7)
                     : [w] "+r"(w), [i] "+r"(i), [n] "+r"(groups)
                     : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3), [out] "r"(out)
                     : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm16",
                       "xmm17", "xmm20", "xmm21", "xmm22", "xmm23");
}
#undef OHQ_W8A8_VECTOR
#undef OHQ_W8A8_ZERO4
#undef OHQ_W8A8_STORE4
#undef OHQ_W8A8_BROADCAST4

/// 64 rows x 1 column (batch-1 layers), `pairs` (>= 1) pairs of k-groups: each weight is used
/// once, straight from memory; two accumulator sets (zmm0-3, zmm4-7) keep 8 chains in flight.
inline void w8a8_tile_64x1_asm(const std::uint8_t* x, const std::int8_t* w, std::size_t pairs,
                               __m512i (&out)[4]) noexcept {
  __asm__ volatile(
      "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
      "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
      "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      ".p2align 4\n\t"
      "1:\n\t"
      "vpbroadcastd (%[x]), %%zmm16\n\t"
      "vpbroadcastd 4(%[x]), %%zmm17\n\t"
      "vpdpbusd (%[w]), %%zmm16, %%zmm0\n\t"
      "vpdpbusd 64(%[w]), %%zmm16, %%zmm1\n\t"
      "vpdpbusd 128(%[w]), %%zmm16, %%zmm2\n\t"
      "vpdpbusd 192(%[w]), %%zmm16, %%zmm3\n\t"
      "vpdpbusd 256(%[w]), %%zmm17, %%zmm4\n\t"
      "vpdpbusd 320(%[w]), %%zmm17, %%zmm5\n\t"
      "vpdpbusd 384(%[w]), %%zmm17, %%zmm6\n\t"
      "vpdpbusd 448(%[w]), %%zmm17, %%zmm7\n\t"
      "add $512, %[w]\n\t"
      "add $8, %[x]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "vpaddd %%zmm4, %%zmm0, %%zmm0\n\t"
      "vpaddd %%zmm5, %%zmm1, %%zmm1\n\t"
      "vpaddd %%zmm6, %%zmm2, %%zmm2\n\t"
      "vpaddd %%zmm7, %%zmm3, %%zmm3\n\t"
      "vmovdqu64 %%zmm0, 0(%[out])\n\t"
      "vmovdqu64 %%zmm1, 64(%[out])\n\t"
      "vmovdqu64 %%zmm2, 128(%[out])\n\t"
      "vmovdqu64 %%zmm3, 192(%[out])\n\t"
      : [w] "+r"(w), [x] "+r"(x), [n] "+r"(pairs)
      : [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm16", "xmm17");
}
#else
#define OHQ_AVX512_GEMM_ASM 0
#endif

/// Column blocks whose activations (ldx bytes a column) take at most this much stay in L2 while
/// every row tile passes over them, so each weight is read from memory once per block: ResNet-18's
/// 7x7x512 layer has 2.4 MB of weights and 0.23 MB of activations.
inline constexpr std::size_t l2_activation_block_bytes = 256 * 1024;

/// A register tile of 16 * MrV rows x Nr columns (MrV = 4, Nr = 4: 16 accumulators, 4 weight
/// vectors, 4 broadcasts of 32 zmm). The last row tile computes only the 16-row vectors that hold
/// rows (V <= MrV of them), reading the same packed layout.
template <std::size_t MrV, std::size_t Nr>
struct gemm_w8a8 {
  static constexpr std::size_t mr = 16 * MrV;
  static constexpr std::size_t nr = Nr;

  /// Independent accumulator sets so that >= 8 vpdpbusd chains are in flight.
  static constexpr std::size_t k_unroll(std::size_t chains) noexcept {
    return chains >= 8 ? 1 : (chains >= 4 ? 2 : 4);
  }

  /// out[v][c] = the dot products of rows 16 v.. of the tile at wt with column xs[c], v < V. The
  /// first `loadable` (>= k / 4) k-groups of every column may be read as 4 whole bytes: past k the
  /// packed weights are zero, so whatever the bytes hold adds nothing.
  template <std::size_t V, std::size_t Nc>
  static void tile(const std::uint8_t* const* xs, std::size_t k, std::size_t loadable, const std::int8_t* wt,
                   __m512i (&out)[V][Nc]) noexcept {
    constexpr std::size_t U = k_unroll(V * Nc);
#if OHQ_AVX512_GEMM_ASM
    if constexpr (MrV == 4 && V >= 2 && Nc == 4) {
      // the whole k loop in asm, its sums stored straight into out: with store16 inlined, ~100
      // cycles less per block than copying through the accumulator arrays below (K = 576 blocks
      // 4-13% faster, K = 24 20-30%)
      if (loadable > 0 && loadable == (k + 3) / 4) {
        if constexpr (V == 4)
          w8a8_tile_64x4_asm(xs, wt, loadable, &out[0][0]);
        else
          w8a8_tile_partial_x4_asm<V>(xs, wt, loadable, &out[0][0]);
        return;
      }
    }
#endif
    __m512i acc[U][V][Nc];
    for (std::size_t u = 0; u < U; ++u)
      for (std::size_t v = 0; v < V; ++v)
        for (std::size_t c = 0; c < Nc; ++c) acc[u][v][c] = _mm512_setzero_si512();
    const std::size_t full = loadable;
    std::size_t g = 0;
    constexpr bool by_asm = OHQ_AVX512_GEMM_ASM && MrV == 4 && V == 4 && (Nc == 4 || Nc == 1);
    if constexpr (by_asm) {
#if OHQ_AVX512_GEMM_ASM
      if constexpr (Nc == 4) {
        if (full > 0) {
          __m512i sums[16];
          w8a8_tile_64x4_asm(xs, wt, full, sums);
          for (std::size_t v = 0; v < 4; ++v)
            for (std::size_t c = 0; c < 4; ++c) acc[0][v][c] = sums[v * 4 + c];
          g = full;
        }
      } else if (full >= 2) {
        __m512i sums[4];
        w8a8_tile_64x1_asm(xs[0], wt, full / 2, sums);
        for (std::size_t v = 0; v < 4; ++v) acc[0][v][0] = sums[v];
        g = full / 2 * 2;
      }
#endif
    } else {
      for (; g + U <= full; g += U)
        for (std::size_t u = 0; u < U; ++u) {
          const std::int8_t* wg = wt + (g + u) * mr * 4;
          __m512i w[V];
          for (std::size_t v = 0; v < V; ++v) w[v] = _mm512_loadu_si512(wg + v * 64);
          for (std::size_t c = 0; c < Nc; ++c) {
            std::int32_t x4;
            std::memcpy(&x4, xs[c] + 4 * (g + u), 4);
            const __m512i xb = _mm512_set1_epi32(x4);
            for (std::size_t v = 0; v < V; ++v) acc[u][v][c] = _mm512_dpbusd_epi32(acc[u][v][c], xb, w[v]);
          }
        }
    }
    for (; g < (k + 3) / 4; ++g) {  // remaining full groups, then the zero-padded tail group
      const std::int8_t* wg = wt + g * mr * 4;
      const std::size_t rem = g < full ? 4 : k - 4 * g;
      for (std::size_t c = 0; c < Nc; ++c) {
        const __m512i xb = broadcast4(xs[c] + 4 * g, rem);
        for (std::size_t v = 0; v < V; ++v)
          acc[0][v][c] = _mm512_dpbusd_epi32(acc[0][v][c], xb, _mm512_loadu_si512(wg + v * 64));
      }
    }
    for (std::size_t v = 0; v < V; ++v)
      for (std::size_t c = 0; c < Nc; ++c) {
        __m512i s = acc[0][v][c];
        for (std::size_t u = 1; u < U; ++u) s = _mm512_add_epi32(s, acc[u][v][c]);
        out[v][c] = s;
      }
  }

  /// Columns i0..i0+Nc-1 of row tile t (its first V row vectors), requantized with p.
  template <std::size_t V, std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t t, std::size_t i0, const requant16 (&p)[V]) noexcept {
    const std::uint8_t* xs[Nc];
    for (std::size_t c = 0; c < Nc; ++c) xs[c] = column(a, i0 + c);
    if (a.windows.runs) {  // implicit im2col: one k loop per run of whole k-groups, added up
      const std::size_t groups = a.cols / a.windows.runs / 4;
      const std::int8_t* wt = a.packed + t * (a.cols / 4) * mr * 4;
      __m512i out[V][Nc];
      tile<V, Nc>(xs, 4 * groups, groups, wt, out);
      for (std::size_t r = 1; r < a.windows.runs; ++r) {
        for (std::size_t c = 0; c < Nc; ++c) xs[c] += a.windows.run_stride;
        __m512i part[V][Nc];
        tile<V, Nc>(xs, 4 * groups, groups, wt + r * groups * mr * 4, part);
        for (std::size_t v = 0; v < V; ++v)
          for (std::size_t c = 0; c < Nc; ++c) out[v][c] = _mm512_add_epi32(out[v][c], part[v][c]);
      }
      for (std::size_t v = 0; v < V; ++v) store16<Nc>(a, p[v], t * mr + 16 * v, i0, out[v]);
      return;
    }
    // the zero-padded last k-group reads whole: its bytes past K lie in the next columns but
    // for the matrix's last column (the convolutions' K = 147 and 27 would otherwise pay a
    // byte-wise broadcast per column)
    const std::size_t k4 = (a.cols + 3) / 4;
    const bool last_group_inside = (i0 + Nc - 1) * a.ldx + 4 * k4 <= (a.n - 1) * a.ldx + a.cols;
    __m512i out[V][Nc];
    tile<V, Nc>(xs, a.cols, last_group_inside ? k4 : a.cols / 4, a.packed + t * k4 * mr * 4, out);
    for (std::size_t v = 0; v < V; ++v) store16<Nc>(a, p[v], t * mr + 16 * v, i0, out[v]);
  }

  template <std::size_t V, std::size_t Nc>
  static void column_tail(const w8a8_gemm_args& a, std::size_t t, std::size_t i0, std::size_t nc,
                          const requant16 (&p)[V]) noexcept {
    if constexpr (Nc > 0) {
      if (nc == Nc) return block<V, Nc>(a, t, i0, p);
      column_tail<V, Nc - 1>(a, t, i0, nc, p);
    }
  }

  /// Row tile t over columns [n0, n1): the requantization operands computed once for them all.
  template <std::size_t V>
  static void row_tile(const w8a8_gemm_args& a, std::size_t t, std::size_t n0, std::size_t n1) noexcept {
    requant16 p[V];
    for (std::size_t v = 0; v < V; ++v) p[v] = requant_rows(a, t * mr + 16 * v);
    std::size_t i0 = n0;
    for (; i0 + Nr <= n1; i0 += Nr) block<V, Nr>(a, t, i0, p);
    if (i0 < n1) column_tail<V, Nr - 1>(a, t, i0, n1 - i0, p);
  }

  template <std::size_t V>
  static void partial_row_tile(const w8a8_gemm_args& a, std::size_t t, std::size_t vectors, std::size_t n0,
                               std::size_t n1) noexcept {
    if constexpr (V > 0) {
      if (vectors == V) return row_tile<V>(a, t, n0, n1);
      partial_row_tile<V - 1>(a, t, vectors, n0, n1);
    }
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t tiles = (a.rows + mr - 1) / mr;
    const std::size_t column_bytes = a.windows.runs ? a.cols : a.ldx;  // a window's patch: K bytes
    const std::size_t per_block = column_bytes ? l2_activation_block_bytes / column_bytes / Nr * Nr : a.n;
    const std::size_t columns = per_block > Nr ? per_block : Nr;
    for (std::size_t n0 = 0; n0 < a.n; n0 += columns) {
      const std::size_t n1 = a.n - n0 < columns ? a.n : n0 + columns;
      for (std::size_t t = 0; t < tiles; ++t) {
        const std::size_t vectors = (a.rows - t * mr + 15) / 16;
        if (vectors >= MrV)
          row_tile<MrV>(a, t, n0, n1);
        else
          partial_row_tile<MrV - 1>(a, t, vectors, n0, n1);
      }
    }
  }
};

/// The AVX-512 VNNI instance of the dispatch table.
using gemm_w8a8_default = gemm_w8a8<4, 4>;

inline void run_gemm_w8a8(const w8a8_gemm_args& a) noexcept { gemm_w8a8_default::run(a); }

}  // namespace ohq::kernels::avx512

/// The AVX-512 VNNI entry, found by kernels/dispatch.hpp through this weak symbol.
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx512_vnni_gemm_w8a8() noexcept {
  static constexpr ohq::kernels::w8a8_kernel_entry entry{
      "avx512-vnni w8a8 gemm 64x4 (vpdpbusd)", ohq::kernels::avx512::gemm_w8a8_default::mr,
      ohq::kernels::avx512::gemm_w8a8_default::nr, 0, &ohq::kernels::avx512::run_gemm_w8a8, true};
  return &entry;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // AVX-512 F/BW/VL/VNNI

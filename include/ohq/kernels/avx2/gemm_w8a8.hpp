// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 W8A8 GEMM kernel (exact): int8 weights widened to int16 in registers
/// (vpmovsxbw from memory), u8 activations widened once per column block into int16 scratch,
/// products summed by vpmaddwd into int32. A no-op unless the including TU is compiled with
/// AVX2 and FMA (-mavx2 -mfma, or cmake/OhqKernels.cmake's per-arch TU).
///
/// Why not vpmaddubsw: it adds two u8 x s8 products into int16 with saturation, and
/// 255 * 127 * 2 = 64770 > 32767, so exact W8A8 would need split weights (two passes) or a
/// bounded activation range. Widening costs one vpmovsxbw per 8 rows x 4 k (shared by all Nr
/// columns) and keeps weights at one byte each in memory, which is what bandwidth-bound batch-1
/// layers need. vpmaddwd's int16 x int16 pair sums cannot overflow (|.| <= 2 * 255 * 128).
#pragma once

#if defined(__AVX2__) && defined(__FMA__)

#include <ohq/kernels/w8a8_types.hpp>

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

// Only plain functions of this arch's namespace and intrinsics below: nothing shared with the
// baseline translation units (see w8a8_types.hpp).
namespace ohq::kernels::avx2 {

/// dst[0, kp) = x[0, k) zero-extended to int16, then zeros.
inline void widen_column(const std::uint8_t* x, std::size_t k, std::size_t kp, std::int16_t* dst) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= k; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < k; ++i) dst[i] = static_cast<std::int16_t>(x[i]);
  for (; i < kp; ++i) dst[i] = 0;
}

/// Per-row requantization operands of 8 rows, 64-bit lanes split even/odd.
struct requant8 {
  __m256i corr;             ///< bias - x_zero_point * row_sum (int32, wrapping)
  __m256i m_even, m_odd;    ///< multipliers in the low half of each 64-bit lane
  __m256i s_even, s_odd;    ///< shifts as 64-bit lanes
  __m256i r_even, r_odd;    ///< 2^(shift-1) as 64-bit lanes
  __m256i lo, hi;           ///< lo - zp, hi - zp as 64-bit lanes
  __m256i zp;               ///< output zero point, int32 lanes
  /// Every shift >= 33 (scales below 2^-2: nearly every layer): requantize8 rounds the high halves
  /// of the products in int32 lanes with these (requantize8 says why it is exact).
  bool high_half = false;
  __m256i r_high;           ///< 2^(shift-33), int32 lanes
  __m256i s_high;           ///< shift - 32, int32 lanes
  __m256i lo32, hi32;       ///< lo, hi as int32 lanes
};

inline requant8 make_requant8(const std::int32_t* bias, const std::int32_t* row_sums, const std::int32_t* m,
                              const std::int32_t* s, std::int32_t x_zp, std::int32_t zp, std::int32_t lo,
                              std::int32_t hi) noexcept {
  requant8 p;
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias));
  const __m256i rs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_sums));
  p.corr = _mm256_sub_epi32(b, _mm256_mullo_epi32(_mm256_set1_epi32(x_zp), rs));
  const __m256i mv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m));
  const __m256i sv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s));
  const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
  p.m_even = mv;
  p.m_odd = _mm256_srli_epi64(mv, 32);
  p.s_even = _mm256_and_si256(sv, low32);
  p.s_odd = _mm256_srli_epi64(sv, 32);
  const __m256i one = _mm256_set1_epi64x(1);
  p.r_even = _mm256_sllv_epi64(one, _mm256_sub_epi64(p.s_even, one));
  p.r_odd = _mm256_sllv_epi64(one, _mm256_sub_epi64(p.s_odd, one));
  p.lo = _mm256_set1_epi64x(std::int64_t{lo} - zp);
  p.hi = _mm256_set1_epi64x(std::int64_t{hi} - zp);
  p.zp = _mm256_set1_epi32(zp);
  const __m256i s32 = _mm256_set1_epi32(32);
  p.high_half = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(sv, s32))) == 0xff;
  p.s_high = _mm256_sub_epi32(sv, s32);
  // 2^(s-33) for s >= 33; lanes of a slower path's rows get 0 (unused there)
  p.r_high = _mm256_sllv_epi32(_mm256_set1_epi32(1), _mm256_sub_epi32(p.s_high, _mm256_set1_epi32(1)));
  p.lo32 = _mm256_set1_epi32(lo);
  p.hi32 = _mm256_set1_epi32(hi);
  return p;
}

/// Arithmetic right shift of 64-bit lanes by per-lane counts (AVX2 has only the logical one):
/// v >> s == ((v ^ 2^63) >>> s) - (2^63 >>> s), exact for s in [0, 63].
inline __m256i sra_epi64(__m256i v, __m256i s) noexcept {
  const __m256i sign = _mm256_set1_epi64x(static_cast<std::int64_t>(0x8000000000000000ull));
  return _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_xor_si256(v, sign), s), _mm256_srlv_epi64(sign, s));
}
inline __m256i clamp_epi64(__m256i v, __m256i lo, __m256i hi) noexcept {
  v = _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
  return _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
}

/// clamp(zp + ((acc + corr) * m + 2^(s-1)) >> s, lo, hi) on 8 lanes: quant::requantize exactly
/// (|acc * m| < 2^62, so the 64-bit sums cannot overflow).
///
/// With every shift s >= 33 (p.high_half), write P = acc * m = H * 2^32 + L (0 <= L < 2^32); then
/// (P + 2^(s-1)) >> s = ((H + 2^(s-33)) * 2^32 + L) >> s = (H + 2^(s-33)) >> (s - 32), since
/// L / 2^32 < 1 cannot carry past an integer: the high halves, one add and vpsravd in int32 lanes
/// (|H| < 2^30), and the clamp in int32 — half the instructions of the 64-bit path.
inline __m256i requantize8(__m256i acc, const requant8& p) noexcept {
  acc = _mm256_add_epi32(acc, p.corr);
  if (p.high_half) {
    const __m256i pe = _mm256_mul_epi32(acc, p.m_even);
    const __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), p.m_odd);
    const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    const __m256i v = _mm256_add_epi32(_mm256_srav_epi32(_mm256_add_epi32(high, p.r_high), p.s_high), p.zp);
    return _mm256_min_epi32(_mm256_max_epi32(v, p.lo32), p.hi32);
  }
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(acc, p.m_even), p.r_even);
  const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(acc, 32), p.m_odd), p.r_odd);
  const __m256i ve = clamp_epi64(sra_epi64(pe, p.s_even), p.lo, p.hi);
  const __m256i vo = clamp_epi64(sra_epi64(po, p.s_odd), p.lo, p.hi);
  return _mm256_add_epi32(_mm256_blend_epi32(ve, _mm256_slli_epi64(vo, 32), 0xAA), p.zp);
}

/// The low byte of each int32 lane, 8 bytes in lane order.
inline std::uint64_t low_bytes8(__m256i v) noexcept {
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i b = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, pick), _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm256_castsi256_si128(b)));
}

/// The epilogue of every AVX2 GEMM: dots[c] holds the int32 dot products sum_k x * w (wrapping) of
/// rows j0..j0+7 (lane = row) for column i0 + c; adds bias - x_zero_point * row_sum, requantizes and
/// stores the rows below a.rows.
template <std::size_t Nc>
inline void requantize_store8(const w8a8_gemm_args& a, std::size_t j0, std::size_t i0, const __m256i (&dots)[Nc]) noexcept {
  const std::size_t rows = a.rows - j0 < 8 ? a.rows - j0 : 8;
  requant8 p;
  if (rows == 8 && a.bias) {  // read in place: four variable-length memcpy calls cost ~20% at K = 576
    p = make_requant8(a.bias + j0, a.row_sums + j0, a.multiplier + j0, a.shift + j0, a.x_zero_point, a.zero_point,
                      a.lo, a.hi);
  } else {
    std::int32_t bias[8] = {}, rs[8] = {}, m[8] = {}, s[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    if (a.bias) std::memcpy(bias, a.bias + j0, rows * 4);
    std::memcpy(rs, a.row_sums + j0, rows * 4);
    std::memcpy(m, a.multiplier + j0, rows * 4);
    std::memcpy(s, a.shift + j0, rows * 4);
    p = make_requant8(bias, rs, m, s, a.x_zero_point, a.zero_point, a.lo, a.hi);
  }
  for (std::size_t c = 0; c < Nc; ++c) {
    const std::uint64_t bytes = low_bytes8(requantize8(dots[c], p));
    std::uint8_t* y = a.y + j0 * a.channel_stride + (i0 + c) * a.column_stride;
    if (a.channel_stride == 1 && rows == 8) {
      std::memcpy(y, &bytes, 8);
    } else {
      for (std::size_t r = 0; r < rows; ++r) y[r * a.channel_stride] = static_cast<std::uint8_t>(bytes >> (8 * r));
    }
  }
}

#if defined(__GNUC__) && defined(__x86_64__)
#define OHQ_AVX2_W8A8_ASM 1
/// One k group (4 k) of column c of the 8x6 tile: broadcast x[4g..4g+3] of the column from
/// `addr`, multiply with the two widened weight registers (ymm12: rows 0-3, ymm13: rows 4-7),
/// add into the column's two accumulators.
#define OHQ_AVX2_W8A8_COLUMN(addr, lo, hi)              \
  "vpbroadcastq " addr ", %%ymm14\n\t"                  \
  "vpmaddwd %%ymm14, %%ymm12, %%ymm15\n\t"              \
  "vpaddd %%ymm15, %%ymm" #lo ", %%ymm" #lo "\n\t"     \
  "vpmaddwd %%ymm14, %%ymm13, %%ymm15\n\t"              \
  "vpaddd %%ymm15, %%ymm" #hi ", %%ymm" #hi "\n\t"

/// The 8 rows x 6 columns tile's k loop with the registers allocated by hand: 12 accumulators
/// (ymm0-5: rows 0-3 of columns 0-5, ymm6-11: rows 4-7), 2 widened weight registers, 1 broadcast,
/// 1 product; 36 instructions per k group of 4 and no stack traffic. Written in asm because g++
/// 12 allocates this loop badly whatever the source says: with intrinsics it either spills
/// accumulators or (with register-pinning asm barriers) keeps the widened weights on the stack
/// and adds ~12 register moves per step, reaching ~12 MACs per cycle instead of ~25.
/// sums[c] / sums[6 + c]: column c's accumulators as the intrinsic tile leaves them.
inline void tile_8x6_asm(const std::int16_t* xw, std::size_t kp, const std::int8_t* wt, std::size_t k4,
                         __m256i (&sums)[12]) noexcept {
  const std::int16_t* x0 = xw;           // columns 0-2: x0, x0 + stride, x0 + 2 stride
  const std::int16_t* x3 = xw + 3 * kp;  // columns 3-5
  const std::size_t stride = kp * sizeof(std::int16_t);
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
      "test %[n], %[n]\n\t"
      "jz 2f\n\t"
      ".p2align 4\n\t"
      "1:\n\t"
      "vpmovsxbw (%[w]), %%ymm12\n\t"
      "vpmovsxbw 16(%[w]), %%ymm13\n\t"
      OHQ_AVX2_W8A8_COLUMN("(%[x0])", 0, 6)
      OHQ_AVX2_W8A8_COLUMN("(%[x0],%[s],1)", 1, 7)
      OHQ_AVX2_W8A8_COLUMN("(%[x0],%[s],2)", 2, 8)
      OHQ_AVX2_W8A8_COLUMN("(%[x3])", 3, 9)
      OHQ_AVX2_W8A8_COLUMN("(%[x3],%[s],1)", 4, 10)
      OHQ_AVX2_W8A8_COLUMN("(%[x3],%[s],2)", 5, 11)
      "add $32, %[w]\n\t"
      "add $8, %[x0]\n\t"
      "add $8, %[x3]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "vmovdqu %%ymm0, 0(%[out])\n\t"
      "vmovdqu %%ymm1, 32(%[out])\n\t"
      "vmovdqu %%ymm2, 64(%[out])\n\t"
      "vmovdqu %%ymm3, 96(%[out])\n\t"
      "vmovdqu %%ymm4, 128(%[out])\n\t"
      "vmovdqu %%ymm5, 160(%[out])\n\t"
      "vmovdqu %%ymm6, 192(%[out])\n\t"
      "vmovdqu %%ymm7, 224(%[out])\n\t"
      "vmovdqu %%ymm8, 256(%[out])\n\t"
      "vmovdqu %%ymm9, 288(%[out])\n\t"
      "vmovdqu %%ymm10, 320(%[out])\n\t"
      "vmovdqu %%ymm11, 352(%[out])\n\t"
      : [w] "+r"(wt), [x0] "+r"(x0), [x3] "+r"(x3), [n] "+r"(k4)
      : [s] "r"(stride), [out] "r"(sums)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}
#undef OHQ_AVX2_W8A8_COLUMN
#else
#define OHQ_AVX2_W8A8_ASM 0
#endif

/// A register tile of 8 * MrV rows x Nr columns. Registers: 2 * MrV * Nr accumulators, 2 * MrV
/// widened weights, 1 broadcast (MrV = 1, Nr = 6: 15 of 16 ymm).
template <std::size_t MrV, std::size_t Nr>
struct gemm_w8a8 {
  static constexpr std::size_t mr = 8 * MrV;
  static constexpr std::size_t nr = Nr;

  /// out[v][c] = 8 int32 dot products (rows 8v..8v+7 of the tile, column c), wrapping.
  /// The loops over v and c are unrolled by pragma (g++ -O2 otherwise keeps the accumulators in
  /// memory), and an empty asm pins each accumulator after its update: without it g++ hoists every
  /// broadcast and product of a k step above the adds and spills ~9 accumulators per step
  /// (48 instructions, 18 stack accesses per step instead of 38 and none; clang needs neither).
  template <std::size_t Nc>
  static void tile(const std::int16_t* xw, std::size_t kp, const std::int8_t* wt, std::size_t k4,
                   __m256i (&out)[MrV][Nc]) noexcept {
#if OHQ_AVX2_W8A8_ASM
    if constexpr (MrV == 1 && Nc == 6) {
      __m256i sums[12];
      tile_8x6_asm(xw, kp, wt, k4, sums);
#pragma GCC unroll 6
      for (std::size_t c = 0; c < 6; ++c) out[0][c] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(sums[c], sums[6 + c]), 0xD8);
      return;
    }
#endif
    __m256i lo[MrV][Nc], hi[MrV][Nc];  // rows 8v..8v+3 and 8v+4..8v+7 (two k pairs each), column c
#pragma GCC unroll 16
    for (std::size_t v = 0; v < MrV; ++v)
#pragma GCC unroll 16
      for (std::size_t c = 0; c < Nc; ++c) lo[v][c] = hi[v][c] = _mm256_setzero_si256();
    for (std::size_t g = 0; g < k4; ++g) {
      const std::int8_t* wg = wt + g * mr * 4;
      __m256i w[MrV][2];
#pragma GCC unroll 16
      for (std::size_t v = 0; v < MrV; ++v) {
        // rows 8v..8v+3 (lanes: row r holds k0k1, k2k3), then rows 8v+4..8v+7
        w[v][0] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + v * 32)));
        w[v][1] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wg + v * 32 + 16)));
      }
#pragma GCC unroll 16
      for (std::size_t c = 0; c < Nc; ++c) {
        // x[4g..4g+3] as int16, repeated: one broadcast feeds every row of the tile
        const __m256i xb = _mm256_broadcastq_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xw + c * kp + 4 * g)));
#pragma GCC unroll 16
        for (std::size_t v = 0; v < MrV; ++v) {
          lo[v][c] = _mm256_add_epi32(lo[v][c], _mm256_madd_epi16(w[v][0], xb));
          hi[v][c] = _mm256_add_epi32(hi[v][c], _mm256_madd_epi16(w[v][1], xb));
          __asm__("" : "+x"(lo[v][c]), "+x"(hi[v][c]));
        }
      }
    }
    // hadd -> [r0 r1 r4 r5 | r2 r3 r6 r7]; vpermq 0xD8 puts the rows in order
#pragma GCC unroll 16
    for (std::size_t v = 0; v < MrV; ++v)
#pragma GCC unroll 16
      for (std::size_t c = 0; c < Nc; ++c) out[v][c] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo[v][c], hi[v][c]), 0xD8);
  }

  template <std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t i0, std::size_t kp) noexcept {
    const std::size_t k4 = kp / 4;
    const std::size_t tiles = (a.rows + mr - 1) / mr;
    for (std::size_t t = 0; t < tiles; ++t) {
      __m256i out[MrV][Nc];
      tile<Nc>(a.scratch, kp, a.packed + t * k4 * mr * 4, k4, out);
      for (std::size_t v = 0; v < MrV; ++v) {
        const std::size_t j0 = t * mr + 8 * v;
        if (j0 >= a.rows) break;
        requantize_store8<Nc>(a, j0, i0, out[v]);
      }
    }
  }

  template <std::size_t Nc>
  static void tail(const w8a8_gemm_args& a, std::size_t i0, std::size_t nc, std::size_t kp) noexcept {
    if constexpr (Nc > 0) {
      if (nc == Nc) return block<Nc>(a, i0, kp);
      tail<Nc - 1>(a, i0, nc, kp);
    }
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t kp = (a.cols + 3) / 4 * 4;
    for (std::size_t i0 = 0; i0 < a.n; i0 += Nr) {
      const std::size_t nc = a.n - i0 < Nr ? a.n - i0 : Nr;
      for (std::size_t c = 0; c < nc; ++c) widen_column(a.x + (i0 + c) * a.ldx, a.cols, kp, a.scratch + c * kp);
      if (nc == Nr)
        block<Nr>(a, i0, kp);
      else
        tail<Nr - 1>(a, i0, nc, kp);
    }
  }
};

/// The AVX2 instance of the dispatch table.
using gemm_w8a8_default = gemm_w8a8<1, 6>;

inline void run_gemm_w8a8(const w8a8_gemm_args& a) noexcept { gemm_w8a8_default::run(a); }

}  // namespace ohq::kernels::avx2

/// The AVX2 entry, found by kernels/dispatch.hpp through this weak symbol: defined by every TU
/// compiled for AVX2 that includes this header (the linker keeps one), absent otherwise.
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_w8a8() noexcept {
  static constexpr ohq::kernels::w8a8_kernel_entry entry{
      "avx2 w8a8 gemm 8x6 (vpmovsxbw + vpmaddwd)", ohq::kernels::avx2::gemm_w8a8_default::mr,
      ohq::kernels::avx2::gemm_w8a8_default::nr, ohq::kernels::avx2::gemm_w8a8_default::nr,
      &ohq::kernels::avx2::run_gemm_w8a8};
  return &entry;
}

#endif  // __AVX2__ && __FMA__

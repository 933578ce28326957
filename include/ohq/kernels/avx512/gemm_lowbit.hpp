// SPDX-License-Identifier: MIT
/// @file Defines the AVX-512 VNNI low-bit GEMM kernels (W4A8, W2A8, W1A8; exact) on the packed
/// layout of kernels/gemm_lowbit_types.hpp with tiles of 64 rows. A no-op unless the including TU
/// is compiled with AVX-512 F/BW/VL/VNNI.
///
/// No shifts, no unpacking: each field is masked where it sits (one vpandd, or one vpternlogd for
/// the top field) and fed to vpdpbusd as it is, so field f of B-bit storage contributes
/// 2^(f B) * its code. One accumulator per field position keeps the scales apart; they are
/// removed once per chunk of K by exact arithmetic shifts (every product is a multiple of the
/// scale). Codes are stored unsigned, u = w + 2^(B-1): a lower field yields 2^(f B) * (w + 2^(B-1)),
/// and the offset times the column's activation sum is subtracted once per output; the top field
/// (bits up to 7) is masked and its top bit flipped in the same vpternlogd, which turns the offset
/// code into two's complement: s8 = 2^(f B) * w, no offset. At 1 bit (u = (w + 1) / 2, no top-bit
/// trick: bit 7 reads as -128 u) the kernel sums u x and returns 2 sum(u x) - sum(x).
///
/// A 64-byte load is two 32-byte panels (rows 16s..16s+15 and the next 16): masking field f gives
/// 16 rows x 4 k, lanes 0-7 rows 8 (f % 2) + 0..7 of the first panel and lanes 8-15 the same rows
/// of the second; fields 2q and 2q + 1 share the activation broadcast of k-group q. So per
/// vpdpbusd the kernel spends one AND-class instruction on the weights, amortised over the
/// tile's columns, where the AVX2 kernel needs a shift, an AND and a subtraction per field pair.
#pragma once

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)

#include <ohq/kernels/avx512/gemm_w8a8.hpp>
#include <ohq/kernels/gemm_lowbit_types.hpp>
#include <ohq/kernels/instances.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

// Only this arch's specialisations and intrinsics below: nothing shared with the baseline
// translation units (see w8a8_types.hpp). GCC bug 105593: see avx512/gemm_w8a8.hpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
namespace ohq::kernels {
namespace avx512 {

/// The fields of B-bit storage: F = 8 / B per byte, F / 2 k-groups of 4 per panel.
template <unsigned Bits>
struct lowbit_storage {
  static constexpr std::size_t fields = 8 / Bits;
  static constexpr std::size_t groups = fields / 2;
  static constexpr std::size_t kp = 4 * groups;  // k per panel
  static constexpr std::int32_t offset = Bits == 1 ? 0 : std::int32_t{1} << (Bits - 1);
  /// Lanes (k-groups of 4 in a 64-byte run of activations) of the last k-group of each panel.
  static constexpr __mmask16 last_group_lanes = groups == 1 ? 0xFFFF : groups == 2 ? 0xAAAA : 0x8888;
  /// K per chunk: every product is at most 128 * 255 in magnitude, so 16384 k keep each scaled
  /// accumulator below 2^29 and its shift exact.
  static constexpr std::size_t chunk_panels = 16384 / kp;

  /// Field f of the 64 packed bytes v as vpdpbusd's signed operand (see the file comment).
  template <std::size_t F>
  static __m512i field(__m512i v) noexcept {
    const __m512i mask = _mm512_set1_epi8(static_cast<char>(((1u << Bits) - 1u) << (F * Bits)));
    if constexpr (Bits > 1 && F == fields - 1)  // (v & mask) ^ 0x80: ternary-logic table 0x6A
      return _mm512_ternarylogic_epi32(v, mask, _mm512_set1_epi8(static_cast<char>(0x80)), 0x6A);
    else
      return _mm512_and_si512(v, mask);
  }

  /// The accumulator of field f divided by its scale (exact).
  template <std::size_t F>
  static __m512i descale(__m512i acc) noexcept {
    if constexpr (Bits == 1 && F == 7)  // bit 7 reads as -128 u
      return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_srai_epi32(acc, 7));
    else
      return _mm512_srai_epi32(acc, static_cast<unsigned>(F * Bits));
  }
};

/// sum(x[0..k)) and the sum over the panels' last k-group, through vpdpbusd with bytes of 1.
template <class Storage>
inline void activation_sums(const std::uint8_t* x, std::size_t k, std::int32_t& all, std::int32_t& last) noexcept {
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i acc = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 64 <= k; i += 64) acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(x + i), ones);
  if (i < k) {
    const __mmask64 tail = (~__mmask64{0}) >> (64 - (k - i));
    acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(tail, x + i), ones);
  }
  // (not _mm512_reduce_add_epi32: GCC 12's expansion trips -Wuninitialized, as in GCC bug 105593)
  alignas(64) std::int32_t lanes[16];
  _mm512_store_si512(lanes, acc);
  std::uint32_t sum_all = 0, sum_last = 0;  // mod 2^32, as the kernel's dot products
  for (unsigned l = 0; l < 16; ++l) {
    sum_all += static_cast<std::uint32_t>(lanes[l]);
    if (Storage::last_group_lanes >> l & 1u) sum_last += static_cast<std::uint32_t>(lanes[l]);
  }
  all = static_cast<std::int32_t>(sum_all);
  last = static_cast<std::int32_t>(sum_last);
}


#if OHQ_AVX512_GEMM_ASM
// The k loops of the full tiles with the registers allocated by hand (GCC: see avx512/gemm_w8a8.hpp).
// Each runs `panels` (>= 1) panel columns and writes the raw field accumulators out[(v * F + f) * Nr + c]
// (load v, field f, column c), zmm0-15; masks come from `masks` (64-byte vectors).

/// W4A8, 64 x 4: zmm16/17 the two loads (field 1 of each is made in place), zmm18/19 field 0,
/// zmm20-23 the columns' broadcasts, zmm24-26 the masks 0x0F, 0xF0, 0x80.
inline void lowbit4_tile_64x4_asm(const std::uint8_t* const* xs, const std::uint8_t* w, std::size_t panels,
                                  const std::uint8_t* masks, __m512i* out) noexcept {
  const std::uint8_t *x0 = xs[0], *x1 = xs[1], *x2 = xs[2], *x3 = xs[3];
  std::size_t i = 0;
  __asm__ volatile(
      "vmovdqu64 0(%[m]), %%zmm24\n\t"
      "vmovdqu64 64(%[m]), %%zmm25\n\t"
      "vmovdqu64 128(%[m]), %%zmm26\n\t"
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
      "vpandd %%zmm24, %%zmm16, %%zmm18\n\t"
      "vpandd %%zmm24, %%zmm17, %%zmm19\n\t"
      "vpternlogd $0x6A, %%zmm26, %%zmm25, %%zmm16\n\t"
      "vpternlogd $0x6A, %%zmm26, %%zmm25, %%zmm17\n\t"
      "vpbroadcastd (%[x0],%[i]), %%zmm20\n\t"
      "vpbroadcastd (%[x1],%[i]), %%zmm21\n\t"
      "vpbroadcastd (%[x2],%[i]), %%zmm22\n\t"
      "vpbroadcastd (%[x3],%[i]), %%zmm23\n\t"
      "vpdpbusd %%zmm18, %%zmm20, %%zmm0\n\t"
      "vpdpbusd %%zmm18, %%zmm21, %%zmm1\n\t"
      "vpdpbusd %%zmm18, %%zmm22, %%zmm2\n\t"
      "vpdpbusd %%zmm18, %%zmm23, %%zmm3\n\t"
      "vpdpbusd %%zmm16, %%zmm20, %%zmm4\n\t"
      "vpdpbusd %%zmm16, %%zmm21, %%zmm5\n\t"
      "vpdpbusd %%zmm16, %%zmm22, %%zmm6\n\t"
      "vpdpbusd %%zmm16, %%zmm23, %%zmm7\n\t"
      "vpdpbusd %%zmm19, %%zmm20, %%zmm8\n\t"
      "vpdpbusd %%zmm19, %%zmm21, %%zmm9\n\t"
      "vpdpbusd %%zmm19, %%zmm22, %%zmm10\n\t"
      "vpdpbusd %%zmm19, %%zmm23, %%zmm11\n\t"
      "vpdpbusd %%zmm17, %%zmm20, %%zmm12\n\t"
      "vpdpbusd %%zmm17, %%zmm21, %%zmm13\n\t"
      "vpdpbusd %%zmm17, %%zmm22, %%zmm14\n\t"
      "vpdpbusd %%zmm17, %%zmm23, %%zmm15\n\t"
      "add $128, %[w]\n\t"
      "add $4, %[i]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      OHQ_AVX512_STORE16
      : [w] "+r"(w), [i] "+r"(i), [n] "+r"(panels)
      : [x0] "r"(x0), [x1] "r"(x1), [x2] "r"(x2), [x3] "r"(x3), [m] "r"(masks), [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm23", "xmm24", "xmm25", "xmm26");
}

/// W2A8, 64 x 2: zmm16/17 the loads (field 3 in place), zmm18-20 / zmm21-23 fields 0-2 of each,
/// zmm29/30 the columns' broadcasts (k-group 0, then 1), zmm24-28 the masks 0x03, 0x0C, 0x30, 0xC0, 0x80.
inline void lowbit2_tile_64x2_asm(const std::uint8_t* const* xs, const std::uint8_t* w, std::size_t panels,
                                  const std::uint8_t* masks, __m512i* out) noexcept {
  const std::uint8_t *x0 = xs[0], *x1 = xs[1];
  std::size_t i = 0;
  __asm__ volatile(
      "vmovdqu64 0(%[m]), %%zmm24\n\t"
      "vmovdqu64 64(%[m]), %%zmm25\n\t"
      "vmovdqu64 128(%[m]), %%zmm26\n\t"
      "vmovdqu64 192(%[m]), %%zmm27\n\t"
      "vmovdqu64 256(%[m]), %%zmm28\n\t"
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
      "vpandd %%zmm24, %%zmm16, %%zmm18\n\t"
      "vpandd %%zmm25, %%zmm16, %%zmm19\n\t"
      "vpandd %%zmm26, %%zmm16, %%zmm20\n\t"
      "vpternlogd $0x6A, %%zmm28, %%zmm27, %%zmm16\n\t"
      "vpandd %%zmm24, %%zmm17, %%zmm21\n\t"
      "vpandd %%zmm25, %%zmm17, %%zmm22\n\t"
      "vpandd %%zmm26, %%zmm17, %%zmm23\n\t"
      "vpternlogd $0x6A, %%zmm28, %%zmm27, %%zmm17\n\t"
      "vpbroadcastd (%[x0],%[i]), %%zmm29\n\t"
      "vpbroadcastd (%[x1],%[i]), %%zmm30\n\t"
      "vpdpbusd %%zmm18, %%zmm29, %%zmm0\n\t"
      "vpdpbusd %%zmm18, %%zmm30, %%zmm1\n\t"
      "vpdpbusd %%zmm19, %%zmm29, %%zmm2\n\t"
      "vpdpbusd %%zmm19, %%zmm30, %%zmm3\n\t"
      "vpdpbusd %%zmm21, %%zmm29, %%zmm8\n\t"
      "vpdpbusd %%zmm21, %%zmm30, %%zmm9\n\t"
      "vpdpbusd %%zmm22, %%zmm29, %%zmm10\n\t"
      "vpdpbusd %%zmm22, %%zmm30, %%zmm11\n\t"
      "vpbroadcastd 4(%[x0],%[i]), %%zmm29\n\t"
      "vpbroadcastd 4(%[x1],%[i]), %%zmm30\n\t"
      "vpdpbusd %%zmm20, %%zmm29, %%zmm4\n\t"
      "vpdpbusd %%zmm20, %%zmm30, %%zmm5\n\t"
      "vpdpbusd %%zmm16, %%zmm29, %%zmm6\n\t"
      "vpdpbusd %%zmm16, %%zmm30, %%zmm7\n\t"
      "vpdpbusd %%zmm23, %%zmm29, %%zmm12\n\t"
      "vpdpbusd %%zmm23, %%zmm30, %%zmm13\n\t"
      "vpdpbusd %%zmm17, %%zmm29, %%zmm14\n\t"
      "vpdpbusd %%zmm17, %%zmm30, %%zmm15\n\t"
      "add $128, %[w]\n\t"
      "add $8, %[i]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      OHQ_AVX512_STORE16
      : [w] "+r"(w), [i] "+r"(i), [n] "+r"(panels)
      : [x0] "r"(x0), [x1] "r"(x1), [m] "r"(masks), [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30");
}

/// zmm a += zmm b (adding up the accumulator sets of the k-unrolled loops below).
#define OHQ_AVX512_ADD(a, b) \
  "vpaddd %%zmm" #b ", %%zmm" #a ", %%zmm" #a "\n\t"

/// W4A8, 64 x 1 (batch-1 dense layers): four panel columns per step, each into its own accumulator
/// set zmm4u..4u+3 (load v, field f at 4u + 2v + f), so 16 vpdpbusd chains run as in the full tiles;
/// zmm16-20 / 27-31 the even / odd panels' loads, fields and broadcast, zmm24-26 the masks.
inline void lowbit4_gemv_64x1_asm(const std::uint8_t* x, const std::uint8_t* w, std::size_t panels,
                                  const std::uint8_t* masks, __m512i* out) noexcept {
#define OHQ_W4_PANEL(off, xoff, a0, a1, a2, a3, l0, l1, f0, f1, b)            \
  "vmovdqu64 " #off "(%[w]), %%zmm" #l0 "\n\t"                  \
  "vmovdqu64 " #off "+64(%[w]), %%zmm" #l1 "\n\t"               \
  "vpandd %%zmm24, %%zmm" #l0 ", %%zmm" #f0 "\n\t"              \
  "vpandd %%zmm24, %%zmm" #l1 ", %%zmm" #f1 "\n\t"              \
  "vpternlogd $0x6A, %%zmm26, %%zmm25, %%zmm" #l0 "\n\t"        \
  "vpternlogd $0x6A, %%zmm26, %%zmm25, %%zmm" #l1 "\n\t"        \
  "vpbroadcastd " #xoff "(%[x]), %%zmm" #b "\n\t"               \
  "vpdpbusd %%zmm" #f0 ", %%zmm" #b ", %%zmm" #a0 "\n\t" \
  "vpdpbusd %%zmm" #l0 ", %%zmm" #b ", %%zmm" #a1 "\n\t" \
  "vpdpbusd %%zmm" #f1 ", %%zmm" #b ", %%zmm" #a2 "\n\t" \
  "vpdpbusd %%zmm" #l1 ", %%zmm" #b ", %%zmm" #a3 "\n\t"
  std::size_t steps = panels / 4, rest = panels % 4;
  __asm__ volatile(
      "vmovdqu64 0(%[m]), %%zmm24\n\t"
      "vmovdqu64 64(%[m]), %%zmm25\n\t"
      "vmovdqu64 128(%[m]), %%zmm26\n\t"
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
      "test %[steps], %[steps]\n\t"
      "jz 2f\n\t"
      ".p2align 4\n\t"
      "1:\n\t"
      OHQ_W4_PANEL(0, 0, 0, 1, 2, 3, 16, 17, 18, 19, 20)
      OHQ_W4_PANEL(128, 4, 4, 5, 6, 7, 27, 28, 29, 30, 31)
      OHQ_W4_PANEL(256, 8, 8, 9, 10, 11, 16, 17, 18, 19, 20)
      OHQ_W4_PANEL(384, 12, 12, 13, 14, 15, 27, 28, 29, 30, 31)
      "add $512, %[w]\n\t"
      "add $16, %[x]\n\t"
      "dec %[steps]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "test %[rest], %[rest]\n\t"
      "jz 4f\n\t"
      "3:\n\t"
      OHQ_W4_PANEL(0, 0, 0, 1, 2, 3, 16, 17, 18, 19, 20)
      "add $128, %[w]\n\t"
      "add $4, %[x]\n\t"
      "dec %[rest]\n\t"
      "jnz 3b\n\t"
      "4:\n\t"
      OHQ_AVX512_ADD(0, 4) OHQ_AVX512_ADD(1, 5) OHQ_AVX512_ADD(2, 6) OHQ_AVX512_ADD(3, 7)
      OHQ_AVX512_ADD(8, 12) OHQ_AVX512_ADD(9, 13) OHQ_AVX512_ADD(10, 14) OHQ_AVX512_ADD(11, 15)
      OHQ_AVX512_ADD(0, 8) OHQ_AVX512_ADD(1, 9) OHQ_AVX512_ADD(2, 10) OHQ_AVX512_ADD(3, 11)
      "vmovdqu64 %%zmm0, 0(%[out])\n\t"
      "vmovdqu64 %%zmm1, 64(%[out])\n\t"
      "vmovdqu64 %%zmm2, 128(%[out])\n\t"
      "vmovdqu64 %%zmm3, 192(%[out])\n\t"
      : [w] "+r"(w), [x] "+r"(x), [steps] "+r"(steps), [rest] "+r"(rest)
      : [m] "r"(masks), [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm24", "xmm25",
        "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
#undef OHQ_W4_PANEL
}

/// W2A8, 64 x 1: two panel columns per step into accumulator sets zmm8u..8u+7 (load v, field f at
/// 8u + 4v + f); zmm16-23, 29, 30 one panel's loads, fields and the broadcasts of its two k-groups,
/// zmm24-28 the masks.
inline void lowbit2_gemv_64x1_asm(const std::uint8_t* x, const std::uint8_t* w, std::size_t panels,
                                  const std::uint8_t* masks, __m512i* out) noexcept {
#define OHQ_W2_PANEL(off, xoff, a0, a1, a2, a3, a4, a5, a6, a7)                                   \
  "vmovdqu64 " #off "(%[w]), %%zmm16\n\t"                           \
  "vmovdqu64 " #off "+64(%[w]), %%zmm17\n\t"                        \
  "vpandd %%zmm24, %%zmm16, %%zmm18\n\t"                            \
  "vpandd %%zmm25, %%zmm16, %%zmm19\n\t"                            \
  "vpandd %%zmm26, %%zmm16, %%zmm20\n\t"                            \
  "vpternlogd $0x6A, %%zmm28, %%zmm27, %%zmm16\n\t"                 \
  "vpandd %%zmm24, %%zmm17, %%zmm21\n\t"                            \
  "vpandd %%zmm25, %%zmm17, %%zmm22\n\t"                            \
  "vpandd %%zmm26, %%zmm17, %%zmm23\n\t"                            \
  "vpternlogd $0x6A, %%zmm28, %%zmm27, %%zmm17\n\t"                 \
  "vpbroadcastd " #xoff "(%[x]), %%zmm29\n\t"                       \
  "vpbroadcastd " #xoff "+4(%[x]), %%zmm30\n\t"                     \
  "vpdpbusd %%zmm18, %%zmm29, %%zmm" #a0 "\n\t"             \
  "vpdpbusd %%zmm19, %%zmm29, %%zmm" #a1 "\n\t"         \
  "vpdpbusd %%zmm21, %%zmm29, %%zmm" #a4 "\n\t"         \
  "vpdpbusd %%zmm22, %%zmm29, %%zmm" #a5 "\n\t"         \
  "vpdpbusd %%zmm20, %%zmm30, %%zmm" #a2 "\n\t"         \
  "vpdpbusd %%zmm16, %%zmm30, %%zmm" #a3 "\n\t"         \
  "vpdpbusd %%zmm23, %%zmm30, %%zmm" #a6 "\n\t"         \
  "vpdpbusd %%zmm17, %%zmm30, %%zmm" #a7 "\n\t"
  std::size_t steps = panels / 2, rest = panels % 2;
  __asm__ volatile(
      "vmovdqu64 0(%[m]), %%zmm24\n\t"
      "vmovdqu64 64(%[m]), %%zmm25\n\t"
      "vmovdqu64 128(%[m]), %%zmm26\n\t"
      "vmovdqu64 192(%[m]), %%zmm27\n\t"
      "vmovdqu64 256(%[m]), %%zmm28\n\t"
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
      "test %[steps], %[steps]\n\t"
      "jz 2f\n\t"
      ".p2align 4\n\t"
      "1:\n\t"
      OHQ_W2_PANEL(0, 0, 0, 1, 2, 3, 4, 5, 6, 7)
      OHQ_W2_PANEL(128, 8, 8, 9, 10, 11, 12, 13, 14, 15)
      "add $256, %[w]\n\t"
      "add $16, %[x]\n\t"
      "dec %[steps]\n\t"
      "jnz 1b\n\t"
      "2:\n\t"
      "test %[rest], %[rest]\n\t"
      "jz 3f\n\t"
      OHQ_W2_PANEL(0, 0, 0, 1, 2, 3, 4, 5, 6, 7)
      "3:\n\t"
      OHQ_AVX512_ADD(0, 8) OHQ_AVX512_ADD(1, 9) OHQ_AVX512_ADD(2, 10) OHQ_AVX512_ADD(3, 11)
      OHQ_AVX512_ADD(4, 12) OHQ_AVX512_ADD(5, 13) OHQ_AVX512_ADD(6, 14) OHQ_AVX512_ADD(7, 15)
      "vmovdqu64 %%zmm0, 0(%[out])\n\t"
      "vmovdqu64 %%zmm1, 64(%[out])\n\t"
      "vmovdqu64 %%zmm2, 128(%[out])\n\t"
      "vmovdqu64 %%zmm3, 192(%[out])\n\t"
      "vmovdqu64 %%zmm4, 256(%[out])\n\t"
      "vmovdqu64 %%zmm5, 320(%[out])\n\t"
      "vmovdqu64 %%zmm6, 384(%[out])\n\t"
      "vmovdqu64 %%zmm7, 448(%[out])\n\t"
      : [w] "+r"(w), [x] "+r"(x), [steps] "+r"(steps), [rest] "+r"(rest)
      : [m] "r"(masks), [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30");
#undef OHQ_W2_PANEL
}
#undef OHQ_AVX512_ADD

/// W1A8, 64 x 1: zmm16/17 the loads, zmm18-21 fields 2q, 2q + 1 of each, zmm22 the broadcast of
/// k-group q, zmm24-31 the masks 0x01 .. 0x80.
inline void lowbit1_tile_64x1_asm(const std::uint8_t* x, const std::uint8_t* w, std::size_t panels,
                                  const std::uint8_t* masks, __m512i* out) noexcept {
#define OHQ_W1_GROUP(q, m0, m1, a0, a1, a2, a3)                  \
  "vpandd %%zmm" #m0 ", %%zmm16, %%zmm18\n\t"                     \
  "vpandd %%zmm" #m1 ", %%zmm16, %%zmm19\n\t"                     \
  "vpandd %%zmm" #m0 ", %%zmm17, %%zmm20\n\t"                     \
  "vpandd %%zmm" #m1 ", %%zmm17, %%zmm21\n\t"                     \
  "vpbroadcastd " #q "(%[x]), %%zmm22\n\t"                        \
  "vpdpbusd %%zmm18, %%zmm22, %%zmm" #a0 "\n\t"                   \
  "vpdpbusd %%zmm19, %%zmm22, %%zmm" #a1 "\n\t"                   \
  "vpdpbusd %%zmm20, %%zmm22, %%zmm" #a2 "\n\t"                   \
  "vpdpbusd %%zmm21, %%zmm22, %%zmm" #a3 "\n\t"
  __asm__ volatile(
      "vmovdqu64 0(%[m]), %%zmm24\n\t"
      "vmovdqu64 64(%[m]), %%zmm25\n\t"
      "vmovdqu64 128(%[m]), %%zmm26\n\t"
      "vmovdqu64 192(%[m]), %%zmm27\n\t"
      "vmovdqu64 256(%[m]), %%zmm28\n\t"
      "vmovdqu64 320(%[m]), %%zmm29\n\t"
      "vmovdqu64 384(%[m]), %%zmm30\n\t"
      "vmovdqu64 448(%[m]), %%zmm31\n\t"
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
      OHQ_W1_GROUP(0, 24, 25, 0, 1, 8, 9)
      OHQ_W1_GROUP(4, 26, 27, 2, 3, 10, 11)
      OHQ_W1_GROUP(8, 28, 29, 4, 5, 12, 13)
      OHQ_W1_GROUP(12, 30, 31, 6, 7, 14, 15)
      "add $128, %[w]\n\t"
      "add $16, %[x]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      OHQ_AVX512_STORE16
      : [w] "+r"(w), [x] "+r"(x), [n] "+r"(panels)
      : [m] "r"(masks), [out] "r"(out)
      : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
        "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
#undef OHQ_W1_GROUP
}
#endif  // OHQ_AVX512_GEMM_ASM

}  // namespace avx512

/// AVX-512 VNNI: a register tile of 64 rows (two 64-byte loads per panel column) x Nr columns,
/// 2 * fields * Nr accumulators (16 at the instance's Nr).
template <unsigned WeightBits, std::size_t Mr, std::size_t Nr>
  requires(WeightBits == 4 || WeightBits == 2 || WeightBits == 1)
struct gemm_lowbit<arch::avx512_vnni, WeightBits, Mr, Nr> {
  static_assert(Mr == 64, "ohq: the avx512 low-bit tile is 64 rows (two 64-byte loads per panel column)");
  using storage = avx512::lowbit_storage<WeightBits>;
  static constexpr std::size_t mr = Mr;
  static constexpr std::size_t nr = Nr;
  static constexpr std::size_t F = storage::fields;
  static constexpr std::size_t kp = storage::kp;
  static constexpr std::size_t panel_column_bytes = Mr / lowbit_panel_rows * lowbit_panel_bytes;  // 128

  /// Independent accumulator sets so that >= 8 vpdpbusd chains are in flight.
  static constexpr std::size_t k_unroll(std::size_t nc) noexcept {
    const std::size_t chains = 2 * F * nc;
    return chains >= 8 ? 1 : (chains >= 4 ? 2 : 4);
  }

  /// The masks of the fields (masks[f], for the asm loops) and the top bit, 64 bytes each.
  struct field_masks {
    alignas(64) std::uint8_t bytes[F + 1][64];
    constexpr field_masks() noexcept : bytes{} {
      for (std::size_t f = 0; f < F; ++f)
        for (auto& b : bytes[f]) b = static_cast<std::uint8_t>(((1u << WeightBits) - 1u) << (f * WeightBits));
      for (auto& b : bytes[F]) b = 0x80;
    }
  };
  /// Mask vectors in the order each asm loop loads them (W4: 0x0F, 0xF0, 0x80; W2: 0x03 .. 0xC0, 0x80;
  /// W1: 0x01 .. 0x80).
  static constexpr field_masks masks{};

  /// The raw field accumulators acc[v][f][c] of panel columns [0, panels) (one chunk: no descale).
  template <std::size_t Nc>
  static void chunk(const std::uint8_t* const (&xs)[Nr], const std::uint8_t* wt, std::size_t panels,
                    __m512i (&acc)[2][F][Nc]) noexcept {
#if OHQ_AVX512_GEMM_ASM
    if constexpr (Nc == Nr && 2 * F * Nc == 16) {
      if constexpr (WeightBits == 4 && Nc == 4)
        return avx512::lowbit4_tile_64x4_asm(xs, wt, panels, masks.bytes[0], &acc[0][0][0]);
      else if constexpr (WeightBits == 2 && Nc == 2)
        return avx512::lowbit2_tile_64x2_asm(xs, wt, panels, masks.bytes[0], &acc[0][0][0]);
      else if constexpr (WeightBits == 1 && Nc == 1)
        return avx512::lowbit1_tile_64x1_asm(xs[0], wt, panels, masks.bytes[0], &acc[0][0][0]);
    }
    if constexpr (Nc == 1 && WeightBits == 4)  // batch-1 dense layers: k-unrolled loops of their own
      return avx512::lowbit4_gemv_64x1_asm(xs[0], wt, panels, masks.bytes[0], &acc[0][0][0]);
    else if constexpr (Nc == 1 && WeightBits == 2)
      return avx512::lowbit2_gemv_64x1_asm(xs[0], wt, panels, masks.bytes[0], &acc[0][0][0]);
#endif
    constexpr std::size_t U = k_unroll(Nc);
    __m512i part[U][2][F][Nc];
    for (auto& u : part)
      for (auto& v : u)
        for (auto& f : v)
          for (auto& c : f) c = _mm512_setzero_si512();
    // one panel column: both loads, every field, every column, into accumulator set u
    auto step = [&](std::size_t p, std::size_t u) {
      const std::uint8_t* w = wt + p * panel_column_bytes;
      const __m512i packed[2] = {_mm512_loadu_si512(w), _mm512_loadu_si512(w + 64)};
      [&]<std::size_t... Q>(std::index_sequence<Q...>) {
        (
            [&] {
              __m512i fw[2][2];
              for (std::size_t v = 0; v < 2; ++v) {
                fw[v][0] = storage::template field<2 * Q>(packed[v]);
                fw[v][1] = storage::template field<2 * Q + 1>(packed[v]);
              }
              for (std::size_t c = 0; c < Nc; ++c) {
                std::int32_t x4;
                std::memcpy(&x4, xs[c] + p * kp + 4 * Q, 4);
                const __m512i xb = _mm512_set1_epi32(x4);
                for (std::size_t v = 0; v < 2; ++v)
                  for (std::size_t h = 0; h < 2; ++h)
                    part[u][v][2 * Q + h][c] = _mm512_dpbusd_epi32(part[u][v][2 * Q + h][c], xb, fw[v][h]);
              }
            }(),
            ...);
      }(std::make_index_sequence<storage::groups>{});
    };
    std::size_t p = 0;
    for (; p + U <= panels; p += U)
      for (std::size_t u = 0; u < U; ++u) step(p + u, u);
    for (; p < panels; ++p) step(p, 0);
    for (std::size_t v = 0; v < 2; ++v)
      for (std::size_t f = 0; f < F; ++f)
        for (std::size_t c = 0; c < Nc; ++c) {
          __m512i t = part[0][v][f][c];
          for (std::size_t u = 1; u < U; ++u) t = _mm512_add_epi32(t, part[u][v][f][c]);
          acc[v][f][c] = t;
        }
  }

  /// sums[v][h][c]: for rows of half h of load v (see the file comment) and column c, the
  /// descaled field accumulators added up: sum(u x) over lower fields plus sum(w x) over the top
  /// field (at 1 bit: sum(u x) over all fields). xs[c] is readable for panels * kp bytes.
  template <std::size_t Nc>
  static void tile(const std::uint8_t* const (&xs)[Nr], const std::uint8_t* wt, std::size_t panels,
                   __m512i (&sums)[2][2][Nc]) noexcept {
    for (auto& v : sums)
      for (auto& h : v)
        for (auto& c : h) c = _mm512_setzero_si512();
    for (std::size_t p0 = 0; p0 < panels; p0 += storage::chunk_panels) {
      const std::size_t n = panels - p0 < storage::chunk_panels ? panels - p0 : storage::chunk_panels;
      const std::uint8_t* chunk_xs[Nr] = {};
      for (std::size_t c = 0; c < Nc; ++c) chunk_xs[c] = xs[c] + p0 * kp;
      __m512i acc[2][F][Nc];
      chunk<Nc>(chunk_xs, wt + p0 * panel_column_bytes, n, acc);
      [&]<std::size_t... Fi>(std::index_sequence<Fi...>) {
        for (std::size_t v = 0; v < 2; ++v)
          for (std::size_t c = 0; c < Nc; ++c)
            ((sums[v][Fi % 2][c] = _mm512_add_epi32(sums[v][Fi % 2][c], storage::template descale<Fi>(acc[v][Fi][c]))), ...);
      }(std::make_index_sequence<F>{});
    }
  }

  /// offset * x mod 2^32: the dot products wrap as vpdpbusd does (K = 1.1 M overflows int32).
  static std::int32_t offset_times(std::uint32_t x) noexcept {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(storage::offset) * x);
  }

  /// Columns i0.. of row tile t: x_all / x_last their activation sums, p the tile's requantization
  /// operands (rows t Mr + 16 r).
  template <std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t t, std::size_t i0, const std::uint8_t* const (&xs)[Nr],
                    std::size_t panels, const std::int32_t* x_all, const std::int32_t* x_last,
                    const avx512::requant16 (&p)[4]) noexcept {
    const auto* packed = reinterpret_cast<const std::uint8_t*>(a.packed);
    const std::uint8_t* wt = packed + t * panels * panel_column_bytes;
    __m512i sums[2][2][Nc];
    if (a.windows.runs == 0) {
      tile<Nc>(xs, wt, panels, sums);
    } else {  // implicit im2col: one k loop per run (whole panels), added up
      const std::size_t run_panels = panels / a.windows.runs;
      const std::uint8_t* run_xs[Nr] = {};
      for (std::size_t c = 0; c < Nc; ++c) run_xs[c] = xs[c];
      tile<Nc>(run_xs, wt, run_panels, sums);
      for (std::size_t r = 1; r < a.windows.runs; ++r) {
        for (std::size_t c = 0; c < Nc; ++c) run_xs[c] += a.windows.run_stride;
        __m512i part[2][2][Nc];
        tile<Nc>(run_xs, wt + r * run_panels * panel_column_bytes, run_panels, part);
        for (std::size_t v = 0; v < 2; ++v)
          for (std::size_t h = 0; h < 2; ++h)
            for (std::size_t c = 0; c < Nc; ++c) sums[v][h][c] = _mm512_add_epi32(sums[v][h][c], part[v][h][c]);
      }
    }
    for (std::size_t v = 0; v < 2; ++v) {
      const std::size_t j0 = t * Mr + 32 * v;
      if (j0 >= a.rows) break;
      __m512i rows_lo[Nc], rows_hi[Nc];  // rows j0 + 0..15 and + 16..31
      for (std::size_t c = 0; c < Nc; ++c) {
        __m512i half[2];
        if constexpr (WeightBits == 1) {  // w = 2u - 1
          for (std::size_t h = 0; h < 2; ++h)
            half[h] = _mm512_sub_epi32(_mm512_add_epi32(sums[v][h][c], sums[v][h][c]), _mm512_set1_epi32(x_all[c]));
        } else {  // half 0: lower fields only; half 1 holds the top field, which has no offset
          half[0] = _mm512_sub_epi32(sums[v][0][c], _mm512_set1_epi32(offset_times(x_all[c])));
          half[1] = _mm512_sub_epi32(sums[v][1][c], _mm512_set1_epi32(offset_times(std::uint32_t(x_all[c]) - std::uint32_t(x_last[c]))));
        }
        // lanes 0-7 of each half are rows 0-7 / 8-15 of the first panel, lanes 8-15 the second's
        rows_lo[c] = _mm512_shuffle_i64x2(half[0], half[1], 0x44);
        rows_hi[c] = _mm512_shuffle_i64x2(half[0], half[1], 0xEE);
      }
      avx512::store16<Nc>(a, p[2 * v], j0, i0, rows_lo);
      if (j0 + 16 < a.rows) avx512::store16<Nc>(a, p[2 * v + 1], j0 + 16, i0, rows_hi);
    }
  }

  /// activation_sums of column i (over its runs, mod 2^32: each run is whole panels).
  static void column_sums(const w8a8_gemm_args& a, std::size_t i, std::int32_t& all, std::int32_t& last) noexcept {
    if (a.windows.runs == 0) return avx512::activation_sums<storage>(a.x + i * a.ldx, a.cols, all, last);
    std::uint32_t sum_all = 0, sum_last = 0;
    const std::uint8_t* x = avx512::column(a, i);
    for (std::size_t r = 0; r < a.windows.runs; ++r, x += a.windows.run_stride) {
      std::int32_t run_all = 0, run_last = 0;
      avx512::activation_sums<storage>(x, a.cols / a.windows.runs, run_all, run_last);
      sum_all += static_cast<std::uint32_t>(run_all);
      sum_last += static_cast<std::uint32_t>(run_last);
    }
    all = static_cast<std::int32_t>(sum_all);
    last = static_cast<std::int32_t>(sum_last);
  }

  /// Columns per block: their activations stay in L2 while every row tile passes over them (as
  /// the W8A8 kernel's), at most this many (their activation sums live on the stack).
  static constexpr std::size_t max_block_columns = 512;

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t panels = (a.cols + kp - 1) / kp, kpad = panels * kp;
    // a partial last panel reads activations past K: those columns go through zero-padded scratch
    const bool copy = kpad != a.cols;
    auto* scratch = reinterpret_cast<std::uint8_t*>(a.scratch);  // Nr lines of kpad bytes
    const std::size_t tiles = (a.rows + Mr - 1) / Mr;
    const std::size_t column_bytes = a.windows.runs ? a.cols : a.ldx;  // a window's patch: K bytes
    std::size_t columns = column_bytes ? avx512::l2_activation_block_bytes / column_bytes / Nr * Nr : max_block_columns;
    columns = columns < Nr ? Nr : (columns > max_block_columns ? max_block_columns : columns);
    std::int32_t x_all[max_block_columns], x_last[max_block_columns];
    for (std::size_t n0 = 0; n0 < a.n; n0 += columns) {
      const std::size_t n1 = a.n - n0 < columns ? a.n : n0 + columns;
      for (std::size_t i = n0; i < n1; ++i) column_sums(a, i, x_all[i - n0], x_last[i - n0]);
      for (std::size_t t = 0; t < tiles; ++t) {
        avx512::requant16 p[4];
        for (std::size_t r = 0; r < 4 && t * Mr + 16 * r < a.rows; ++r) p[r] = avx512::requant_rows(a, t * Mr + 16 * r);
        for (std::size_t i0 = n0; i0 < n1; i0 += Nr) {
          const std::size_t nc = n1 - i0 < Nr ? n1 - i0 : Nr;
          const std::uint8_t* xs[Nr] = {};
          for (std::size_t c = 0; c < nc; ++c) {
            xs[c] = avx512::column(a, i0 + c);
            if (copy) {
              std::memcpy(scratch + c * kpad, xs[c], a.cols);
              std::memset(scratch + c * kpad + a.cols, 0, kpad - a.cols);
              xs[c] = scratch + c * kpad;
            }
          }
          with_column_count<Nr>(nc, [&](auto c) {
            block<c()>(a, t, i0, xs, panels, x_all + (i0 - n0), x_last + (i0 - n0), p);
          });
        }
      }
    }
  }
};

/// The AVX-512 instance of each low-bit family: 64 rows x (4, 2, 1) columns at 4, 2, 1 bits, so
/// that each keeps 16 accumulators (2 loads x fields x columns).
template <unsigned WeightBits>
struct gemm_lowbit_entry<arch::avx512_vnni, WeightBits> {
  using kernel = gemm_lowbit<arch::avx512_vnni, WeightBits, 64, WeightBits == 4 ? 4 : WeightBits == 2 ? 2 : 1>;
  static void run(const w8a8_gemm_args& a) noexcept { kernel::run(a); }
  static constexpr gemm_kernel_entry value{WeightBits == 4   ? "avx512-vnni w4a8 gemm 64x4 (vpdpbusd, fields in place)"
                                           : WeightBits == 2 ? "avx512-vnni w2a8 gemm 64x2 (vpdpbusd, fields in place)"
                                                             : "avx512-vnni w1a8 gemm 64x1 (vpdpbusd, fields in place)",
                                           WeightBits, kernel::mr, kernel::nr, kernel::nr, &run, true};
};

}  // namespace ohq::kernels
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// The AVX-512 VNNI low-bit entry (4, 2 or 1-bit storage; null for widths without an avx512_vnni
/// line in kernels/instances.hpp), found by kernels/dispatch.hpp through this weak symbol.
extern "C" __attribute__((weak)) const ohq::kernels::gemm_kernel_entry* ohq_kernels_avx512_vnni_gemm_lowbit(
    unsigned weight_bits) noexcept {
  return ohq::kernels::find_gemm_lowbit_entry<ohq::kernels::arch::avx512_vnni>(weight_bits);
}

#endif  // AVX-512 F/BW/VL/VNNI

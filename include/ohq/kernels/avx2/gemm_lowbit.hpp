// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 low-bit GEMM kernels (W4A8, W2A8, W1A8; exact) on the packed layout of
/// kernels/gemm_lowbit_types.hpp. A no-op unless the including TU is compiled with AVX2 and FMA.
///
/// Per 32-byte panel (16 rows x kp k) the fields are unpacked in registers to signed int8
/// weights (AND masks; one shift per panel at 4 and 2 bits, none at 1 bit), one vpbroadcastd of 4
/// activation bytes per column meets two of them (rows 0-7 and 8-15 of the same 4 k), and
/// vpmaddubsw (u8 x s8, two products per int16 lane) + vpaddw accumulate in int16. That is exact:
/// a pair sums to at most 2 * 255 * max|w| (4 bits: 4080, 2 bits: 1020, 1 bit: 510) < 32767, so
/// vpmaddubsw never saturates, and floor(32767 / (2 * 255 * max|w|)) steps (8, 32, 64) fit an
/// int16 lane before one vpmaddwd with ones widens the sums into int32 (wrapping, like every
/// kernel: exact whenever the true accumulator fits int32). One multiply instruction per 32 MACs
/// where the W8A8 kernel needs two (vpmaddwd on widened operands).
#pragma once

#if defined(__AVX2__) && defined(__FMA__)

#include <ohq/kernels/avx2/gemm_w8a8.hpp>
#include <ohq/kernels/gemm_lowbit_types.hpp>
#include <ohq/kernels/instances.hpp>

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

// Only plain functions of this arch's namespace, its specialisations of gemm_lowbit and
// intrinsics below: nothing shared with the baseline translation units (see w8a8_types.hpp).
namespace ohq::kernels {
namespace avx2 {

/// Unpacking of one 32-byte panel at storage width Bits: field f -> a register of 8 rows x 4 k
/// signed weights, for the field pair (2q, 2q + 1) = (rows 0-7, rows 8-15) of k-group q.
template <unsigned Bits>
struct lowbit_fields;

/// 4 bits: field 0 = low nibbles, field 1 = high nibbles (one shift per panel); w = u - 8.
template <>
struct lowbit_fields<4> {
  static constexpr std::size_t max_steps = 8;  // 8 * 2 * 255 * 8 = 32640 <= 32767
  static void unpack(__m256i v, std::size_t /*q*/, __m256i& rows_lo, __m256i& rows_hi) noexcept {
    const __m256i nibble = _mm256_set1_epi8(0x0F), offset = _mm256_set1_epi8(8);
    rows_lo = _mm256_sub_epi8(_mm256_and_si256(v, nibble), offset);
    rows_hi = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble), offset);
  }
};

/// 2 bits: k-group 0 in bits 0-3, k-group 1 in bits 4-7 (one shift); field 2q at bit 0 of the
/// nibble (w = u - 2), field 2q + 1 at bit 2, decoded without a shift by a vpshufb table of 4u.
template <>
struct lowbit_fields<2> {
  static constexpr std::size_t max_steps = 32;  // 32 * 2 * 255 * 2 = 32640
  static void unpack(__m256i v, std::size_t q, __m256i& rows_lo, __m256i& rows_hi) noexcept {
    const __m256i low2 = _mm256_set1_epi8(0x03), high2 = _mm256_set1_epi8(0x0C), offset = _mm256_set1_epi8(2);
    const __m256i decode_4u = _mm256_setr_epi8(-2, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,  //
                                               -2, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0);
    const __m256i n = q == 0 ? v : _mm256_srli_epi16(v, 4);
    rows_lo = _mm256_sub_epi8(_mm256_and_si256(n, low2), offset);
    rows_hi = _mm256_shuffle_epi8(decode_4u, _mm256_and_si256(n, high2));
  }
};

/// 1 bit: field f = bit f, no shifts: (bit clear ? -1 : 0) | 1 = w in {-1, +1}.
template <>
struct lowbit_fields<1> {
  static constexpr std::size_t max_steps = 64;  // 64 * 2 * 255 = 32640
  static void unpack(__m256i v, std::size_t q, __m256i& rows_lo, __m256i& rows_hi) noexcept {
    const __m256i one = _mm256_set1_epi8(1), zero = _mm256_setzero_si256();
    const __m256i bit_lo = _mm256_set1_epi8(static_cast<char>(1u << (2 * q)));
    const __m256i bit_hi = _mm256_set1_epi8(static_cast<char>(1u << (2 * q + 1)));
    rows_lo = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit_lo), zero), one);
    rows_hi = _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit_hi), zero), one);
  }
};

/// 4 activation bytes x[0..3] in every 32-bit lane.
inline __m256i broadcast4(const std::uint8_t* x) noexcept {
  std::int32_t v;
  std::memcpy(&v, x, 4);
  return _mm256_set1_epi32(v);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define OHQ_AVX2_W4A8_ASM 1
// The k loops of the full 16 rows x 4 columns tile at 4 and 2 bits, with the registers allocated
// by hand: ymm0-7 int16 accumulators (rows 0-7 / 8-15 of columns 0-3), ymm8/9 the unpacked weights
// of rows 0-7 / 8-15, ymm10 the broadcast, ymm11 the product (and the panel at 4 bits), ymm12/13
// constants, ymm14 the panel at 2 bits, ymm15 the int16 ones of the flushes. One asm statement
// runs the whole k range: panels in groups of max_steps / k-groups (the int16 headroom), each
// group flushed by vpmaddwd with ones into the int32 sums dots[h * 4 + c] in memory. g++'s
// intrinsic 16x3 loop issued 34 instructions per 192 MACs, 6 of them register moves (~25 MACs per
// cycle); this one issues 31 per 256 MACs at 4 bits and no moves, and no call or constant reload
// per group.

/// One k group (4 k) of column c: broadcast 4 activation bytes from `addr`, vpmaddubsw with the
/// unpacked rows 0-7 (ymm8) and 8-15 (ymm9), add into the column's int16 accumulators.
#define OHQ_AVX2_LOWBIT_COLUMN(addr, lo, hi)            \
  "vpbroadcastd " addr ", %%ymm10\n\t"                  \
  "vpmaddubsw %%ymm8, %%ymm10, %%ymm11\n\t"             \
  "vpaddw %%ymm11, %%ymm" #lo ", %%ymm" #lo "\n\t"     \
  "vpmaddubsw %%ymm9, %%ymm10, %%ymm11\n\t"             \
  "vpaddw %%ymm11, %%ymm" #hi ", %%ymm" #hi "\n\t"
/// The four columns of one k group whose activations start `offset` bytes into the panel's k.
#define OHQ_AVX2_LOWBIT_COLUMNS(offset)                       \
  OHQ_AVX2_LOWBIT_COLUMN(offset "(%[x0])", 0, 4)              \
  OHQ_AVX2_LOWBIT_COLUMN(offset "(%[x0],%[s],1)", 1, 5)       \
  OHQ_AVX2_LOWBIT_COLUMN(offset "(%[x0],%[s],2)", 2, 6)       \
  OHQ_AVX2_LOWBIT_COLUMN(offset "(%[x3])", 3, 7)

/// 4 bits, one k group per panel: low nibbles (rows 0-7) and high nibbles (rows 8-15) minus 8.
#define OHQ_AVX2_W4A8_PANEL                   \
  "vmovdqa (%[w]), %%ymm11\n\t"               \
  "vpand %%ymm12, %%ymm11, %%ymm8\n\t"        \
  "vpsrlw $4, %%ymm11, %%ymm9\n\t"            \
  "vpand %%ymm12, %%ymm9, %%ymm9\n\t"         \
  "vpsubb %%ymm13, %%ymm8, %%ymm8\n\t"        \
  "vpsubb %%ymm13, %%ymm9, %%ymm9\n\t"        \
  OHQ_AVX2_LOWBIT_COLUMNS("0")

/// 2 bits: the k group in the low nibbles of ymm14 -> ymm8 ((n & 3) - 2) and ymm9 (n & 0x0C
/// decoded by the vpshufb table in ymm13).
#define OHQ_AVX2_W2A8_UNPACK                \
  "vpand %%ymm12, %%ymm14, %%ymm8\n\t"      \
  "vpsubb 64(%[k]), %%ymm8, %%ymm8\n\t"     \
  "vpand 96(%[k]), %%ymm14, %%ymm9\n\t"     \
  "vpshufb %%ymm9, %%ymm13, %%ymm9\n\t"
/// 2 bits, two k groups per panel (the second in the high nibbles).
#define OHQ_AVX2_W2A8_PANEL                 \
  "vmovdqa (%[w]), %%ymm14\n\t"             \
  OHQ_AVX2_W2A8_UNPACK                      \
  OHQ_AVX2_LOWBIT_COLUMNS("0")              \
  "vpsrlw $4, %%ymm14, %%ymm14\n\t"         \
  OHQ_AVX2_W2A8_UNPACK                      \
  OHQ_AVX2_LOWBIT_COLUMNS("4")

/// 1 bit, four k groups per panel: field f = bit f of each byte, w = (bit clear ? -1 : 0) | 1,
/// no shifts (ymm12 zero, ymm13 bytes of 1, the bit masks at 64 + 32 f of the constants).
#define OHQ_AVX2_W1A8_GROUP(lo_mask, hi_mask, offset) \
  "vpand " lo_mask "(%[k]), %%ymm14, %%ymm8\n\t"      \
  "vpcmpeqb %%ymm12, %%ymm8, %%ymm8\n\t"              \
  "vpor %%ymm13, %%ymm8, %%ymm8\n\t"                  \
  "vpand " hi_mask "(%[k]), %%ymm14, %%ymm9\n\t"      \
  "vpcmpeqb %%ymm12, %%ymm9, %%ymm9\n\t"              \
  "vpor %%ymm13, %%ymm9, %%ymm9\n\t"                  \
  OHQ_AVX2_LOWBIT_COLUMNS(offset)
#define OHQ_AVX2_W1A8_PANEL                  \
  "vmovdqa (%[w]), %%ymm14\n\t"              \
  OHQ_AVX2_W1A8_GROUP("64", "96", "0")       \
  OHQ_AVX2_W1A8_GROUP("128", "160", "4")     \
  OHQ_AVX2_W1A8_GROUP("192", "224", "8")     \
  OHQ_AVX2_W1A8_GROUP("256", "288", "12")

/// The whole k loop around `panel` (panel_k activation bytes per column and panel, groups of at
/// most `group` panels between flushes). Operands: [w] panels, [x0]/[x3] columns 0 and 3, [s]
/// the column stride, [n] panels (>= 1), [cnt] scratch, [d] dots, [k] constants, [ones].
#define OHQ_AVX2_LOWBIT_K_LOOP(panel, panel_k, group)                                              \
  "vmovdqa 0(%[k]), %%ymm12\n\t"                                                                   \
  "vmovdqa 32(%[k]), %%ymm13\n\t"                                                                  \
  "vmovdqa (%[ones]), %%ymm15\n\t"                                                                 \
  "2:\n\t"                                                                                         \
  "mov $" #group ", %[cnt]\n\t"                                                                    \
  "cmp %[n], %[cnt]\n\t"                                                                           \
  "cmova %[n], %[cnt]\n\t"                                                                         \
  "sub %[cnt], %[n]\n\t"                                                                           \
  "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"                                                               \
  "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"                                                               \
  "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"                                                               \
  "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"                                                               \
  "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"                                                               \
  "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"                                                               \
  "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"                                                               \
  "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"                                                               \
  ".p2align 4\n\t"                                                                                 \
  "1:\n\t"                                                                                         \
  panel                                                                                            \
  "add $32, %[w]\n\t"                                                                              \
  "add $" #panel_k ", %[x0]\n\t"                                                                   \
  "add $" #panel_k ", %[x3]\n\t"                                                                   \
  "dec %[cnt]\n\t"                                                                                 \
  "jnz 1b\n\t"                                                                                     \
  OHQ_AVX2_LOWBIT_FLUSH(0)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(1)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(2)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(3)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(4)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(5)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(6)                                                                         \
  OHQ_AVX2_LOWBIT_FLUSH(7)                                                                         \
  "test %[n], %[n]\n\t"                                                                            \
  "jnz 2b\n\t"
/// dots[i] += the int16 sums of ymm_i widened by vpmaddwd with ones.
#define OHQ_AVX2_LOWBIT_FLUSH(i)                    \
  "vpmaddwd %%ymm15, %%ymm" #i ", %%ymm" #i "\n\t"  \
  "vpaddd 32*" #i "(%[d]), %%ymm" #i ", %%ymm" #i "\n\t" \
  "vmovdqu %%ymm" #i ", 32*" #i "(%[d])\n\t"

/// Constants of the W4A8 loop: nibble mask, the field offset 8, int16 ones (for vpmaddwd).
alignas(32) inline constexpr std::uint8_t w4a8_asm_constants[96] = {
    0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F,
    0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F, 0x0F,
    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,
    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,    8,
    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,
    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,    1,    0,    1,    0};

/// Constants of the W2A8 loop: the low field mask, the vpshufb table decoding the high field in
/// place (4u -> u - 2), the field offset 2, the high field mask (as lowbit_fields<2>).
alignas(32) inline constexpr std::int8_t w2a8_asm_constants[128] = {
    3,  3, 3, 3, 3,  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,  3, 3, 3, 3,  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    -2, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, -2, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    2,  2, 2, 2, 2,  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,  2, 2, 2, 2,  2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12};

/// Constants of the W1A8 loop: zero, bytes of 1, then the mask of bit f for f = 0..7.
alignas(32) inline constexpr auto w1a8_asm_constants = [] {
  struct {
    alignas(32) std::uint8_t bytes[320];
  } c{};
  for (std::size_t i = 0; i < 32; ++i) {
    c.bytes[32 + i] = 1;
    for (std::size_t f = 0; f < 8; ++f) c.bytes[64 + 32 * f + i] = static_cast<std::uint8_t>(1u << f);
  }
  return c;
}();

/// The operands and clobbers of OHQ_AVX2_LOWBIT_K_LOOP, the family's constants at [k] (the int16
/// ones of the flushes are the W4A8 constants' last row for every family).
#define OHQ_AVX2_LOWBIT_OPERANDS(constants)                                                       \
  : [w] "+r"(w), [x0] "+r"(x), [x3] "+r"(x3), [n] "+r"(panels), [cnt] "=&r"(cnt)                  \
  : [s] "r"(stride), [d] "r"(dots), [k] "r"(constants), [ones] "r"(w4a8_asm_constants + 64)       \
  : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
    "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/// dots[h * 4 + c] += the dot products of rows 8h..8h+7 of `panels` (>= 1) panels of the 16 x 4
/// tile at `Bits` (4, 2 or 1) with columns x + c * stride.
template <unsigned Bits>
inline void lowbit_tile_16x4_asm(const std::uint8_t* x, std::ptrdiff_t stride, const std::uint8_t* w,
                                 std::size_t panels, __m256i (&dots)[8]) noexcept {
  const std::uint8_t* x3 = x + 3 * stride;
  std::size_t cnt;
  if constexpr (Bits == 4) {
    __asm__ volatile(OHQ_AVX2_LOWBIT_K_LOOP(OHQ_AVX2_W4A8_PANEL, 4, 8)
                     OHQ_AVX2_LOWBIT_OPERANDS(w4a8_asm_constants));
  } else if constexpr (Bits == 1) {
    __asm__ volatile(OHQ_AVX2_LOWBIT_K_LOOP(OHQ_AVX2_W1A8_PANEL, 16, 16)
                     OHQ_AVX2_LOWBIT_OPERANDS(w1a8_asm_constants.bytes));
  } else {
    static_assert(Bits == 2, "ohq: the asm low-bit loops exist at 4, 2 and 1 bits");
    __asm__ volatile(OHQ_AVX2_LOWBIT_K_LOOP(OHQ_AVX2_W2A8_PANEL, 8, 16)
                     OHQ_AVX2_LOWBIT_OPERANDS(w2a8_asm_constants));
  }
}
#undef OHQ_AVX2_LOWBIT_COLUMN
#undef OHQ_AVX2_LOWBIT_COLUMNS
#undef OHQ_AVX2_W4A8_PANEL
#undef OHQ_AVX2_W2A8_UNPACK
#undef OHQ_AVX2_W2A8_PANEL
#undef OHQ_AVX2_W1A8_GROUP
#undef OHQ_AVX2_W1A8_PANEL
#undef OHQ_AVX2_LOWBIT_K_LOOP
#undef OHQ_AVX2_LOWBIT_FLUSH
#undef OHQ_AVX2_LOWBIT_OPERANDS
#else
#define OHQ_AVX2_W4A8_ASM 0
#endif

}  // namespace avx2

/// AVX2: a register tile of 16 rows x Nr columns; 2 * Nr int16 accumulators plus their int32
/// sums, flushed every max_steps vpmaddubsw.
template <unsigned WeightBits, std::size_t Mr, std::size_t Nr>
  requires(WeightBits == 4 || WeightBits == 2 || WeightBits == 1)
struct gemm_lowbit<arch::avx2, WeightBits, Mr, Nr> {
  static_assert(Mr == lowbit_panel_rows, "ohq: the avx2 low-bit tile is 16 rows (one panel)");
  using fields = avx2::lowbit_fields<WeightBits>;
  static constexpr std::size_t mr = Mr;
  static constexpr std::size_t nr = Nr;
  static constexpr std::size_t groups = 4 / WeightBits;        // k-groups of 4 per panel
  static constexpr std::size_t kp = 4 * groups;                // k per panel
  static constexpr std::size_t panels_per_flush = fields::max_steps / groups;
  /// Weights of this many row tiles are reused across all column blocks while they sit in L2.
  static constexpr std::size_t l2_weight_bytes = 256 * 1024;
  static constexpr std::size_t prefetch_min_bytes = 1024 * 1024;

  /// dots[h][c] = int32 dot products of rows 8h..8h+7 of the tile with column c (wrapping).
  /// xs[c] is readable for panels * kp bytes (zeros past K).
  template <std::size_t Nc>
  static void tile(const std::uint8_t* const (&xs)[Nr], const std::uint8_t* wt, std::size_t panels, bool prefetch,
                   __m256i (&dots)[2][Nc]) noexcept {
#if OHQ_AVX2_W4A8_ASM
    if constexpr (Nc == 4) {
      static_assert(panels_per_flush == (WeightBits == 4 ? 8 : 16), "ohq: the asm loop's flush interval");
      __m256i sums[8] = {};  // [h * 4 + c]
      // the columns are equally spaced (run())
      if (panels > 0) avx2::lowbit_tile_16x4_asm<WeightBits>(xs[0], xs[1] - xs[0], wt, panels, sums);
      for (std::size_t c = 0; c < 4; ++c) {
        dots[0][c] = sums[c];
        dots[1][c] = sums[4 + c];
      }
      return;
    }
#endif
    const __m256i ones = _mm256_set1_epi16(1);
    for (std::size_t c = 0; c < Nc; ++c) dots[0][c] = dots[1][c] = _mm256_setzero_si256();
    for (std::size_t p0 = 0; p0 < panels; p0 += panels_per_flush) {
      const std::size_t p1 = panels - p0 < panels_per_flush ? panels : p0 + panels_per_flush;
      __m256i acc[2][Nc];
      for (std::size_t c = 0; c < Nc; ++c) acc[0][c] = acc[1][c] = _mm256_setzero_si256();
      for (std::size_t p = p0; p < p1; ++p) {
        if (prefetch && p % 2 == 0) _mm_prefetch(reinterpret_cast<const char*>(wt + p * lowbit_panel_bytes + 2048), _MM_HINT_T0);
        const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(wt + p * lowbit_panel_bytes));
        for (std::size_t q = 0; q < groups; ++q) {
          __m256i w_lo, w_hi;
          fields::unpack(v, q, w_lo, w_hi);
          for (std::size_t c = 0; c < Nc; ++c) {
            const __m256i xb = avx2::broadcast4(xs[c] + p * kp + 4 * q);
            acc[0][c] = _mm256_add_epi16(_mm256_maddubs_epi16(xb, w_lo), acc[0][c]);
            acc[1][c] = _mm256_add_epi16(_mm256_maddubs_epi16(xb, w_hi), acc[1][c]);
          }
        }
      }
      for (std::size_t c = 0; c < Nc; ++c) {
        dots[0][c] = _mm256_add_epi32(dots[0][c], _mm256_madd_epi16(acc[0][c], ones));
        dots[1][c] = _mm256_add_epi32(dots[1][c], _mm256_madd_epi16(acc[1][c], ones));
      }
    }
  }

  template <std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t i0, const std::uint8_t* const (&xs)[Nr], std::size_t t0,
                    std::size_t t1, std::size_t panels, bool prefetch) noexcept {
    const auto* packed = reinterpret_cast<const std::uint8_t*>(a.packed);
    for (std::size_t t = t0; t < t1; ++t) {
      __m256i dots[2][Nc];
      tile<Nc>(xs, packed + t * panels * lowbit_panel_bytes, panels, prefetch, dots);
      avx2::requantize_store8<Nc>(a, t * Mr, i0, dots[0]);
      if (t * Mr + 8 < a.rows) avx2::requantize_store8<Nc>(a, t * Mr + 8, i0, dots[1]);
    }
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t panels = (a.cols + kp - 1) / kp, kpad = panels * kp;
    const std::size_t tiles = (a.rows + Mr - 1) / Mr, tile_bytes = panels * lowbit_panel_bytes;
    const std::size_t chunk = tile_bytes >= l2_weight_bytes ? 1 : l2_weight_bytes / tile_bytes;
    // Few columns stream the weights once from L3 or DRAM: a software prefetch 2 KB ahead keeps
    // more lines in flight (8192^2 W4A8: 1.6x -> 2.5-3x the W8A8 speed) but costs where the
    // weights sit in L2 (1024^2: 1.7x -> 1.0-1.4x), hence only beyond 1 MB.
    const bool prefetch = a.n < Nr && tiles * tile_bytes > prefetch_min_bytes;
    // a partial last panel reads activations past K: those columns go through zero-padded scratch
    const bool copy = kpad != a.cols;
    auto* scratch = reinterpret_cast<std::uint8_t*>(a.scratch);  // Nr lines of kpad bytes
    for (std::size_t t0 = 0; t0 < tiles; t0 += chunk) {
      const std::size_t t1 = tiles - t0 < chunk ? tiles : t0 + chunk;
      for (std::size_t i0 = 0; i0 < a.n; i0 += Nr) {
        const std::size_t nc = a.n - i0 < Nr ? a.n - i0 : Nr;
        const std::uint8_t* xs[Nr] = {};
        for (std::size_t c = 0; c < nc; ++c) {
          xs[c] = a.x + (i0 + c) * a.ldx;
          if (copy) {
            std::memcpy(scratch + c * kpad, xs[c], a.cols);
            std::memset(scratch + c * kpad + a.cols, 0, kpad - a.cols);
            xs[c] = scratch + c * kpad;
          }
        }
        with_column_count<Nr>(nc, [&](auto c) { block<c()>(a, i0, xs, t0, t1, panels, prefetch); });
      }
    }
  }
};

/// The AVX2 instance of each low-bit family in the dispatch table: 16 rows x 4 columns (at 4 bits
/// the asm loop above keeps the int32 sums in memory; the intrinsic tiles spill beyond 4 columns:
/// 2 Nr int16 + 2 Nr int32 sums).
template <unsigned WeightBits>
struct gemm_lowbit_entry<arch::avx2, WeightBits> {
  using kernel = gemm_lowbit<arch::avx2, WeightBits, 16, 4>;
  static void run(const w8a8_gemm_args& a) noexcept { kernel::run(a); }
  static constexpr gemm_kernel_entry value{WeightBits == 4   ? "avx2 w4a8 gemm 16x4 (vpmaddubsw, int16 sums)"
                                           : WeightBits == 2 ? "avx2 w2a8 gemm 16x4 (vpmaddubsw, int16 sums)"
                                                             : "avx2 w1a8 gemm 16x4 (vpmaddubsw, int16 sums)",
                                           WeightBits, kernel::mr, kernel::nr, kernel::nr, &run};
};

}  // namespace ohq::kernels

/// The AVX2 low-bit entry (4, 2 or 1-bit storage; null for widths without an avx2 line in
/// kernels/instances.hpp), found by kernels/dispatch.hpp through this weak symbol: defined by
/// every TU compiled for AVX2 that includes this header (the linker keeps one).
extern "C" __attribute__((weak)) const ohq::kernels::gemm_kernel_entry* ohq_kernels_avx2_gemm_lowbit(
    unsigned weight_bits) noexcept {
  return ohq::kernels::find_gemm_lowbit_entry<ohq::kernels::arch::avx2>(weight_bits);
}

#endif  // __AVX2__ && __FMA__

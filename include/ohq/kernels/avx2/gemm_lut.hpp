// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 table-lookup GEMM kernels for 1-, 2- and 3-bit weights (exact, T-MAC
/// style): per activation column and group of 4 activations, the 16 subset sums are computed once
/// (a table), and `vpshufb` looks them up with 4 weight bits of 32 rows at a time, one bit plane
/// after the other. A no-op unless the including TU is compiled with AVX2 and FMA.
///
/// Why this exists: without a fast int8 dot product (AVX2: vpmaddubsw saturates, so W8A8 widens
/// to int16 and uses vpmaddwd), a lookup of 4 one-bit weights x 4 activations costs shuffles and
/// adds only, and its cost scales with the number of weight bits, while weights stream at b bits.
///
/// Exactness: a table entry is a sum of at most 4 u8, <= 1020 (10 bits), stored as a low-byte and
/// a high-byte table (two vpshufb, then vpunpck{l,h}bw makes the 16-bit value). Lookups add up in
/// 16-bit lanes read as unsigned: 64 groups give <= 64 * 1020 = 65280 < 2^16, so every 64 groups
/// (256 k) of one plane are flushed, zero-extended and shifted by the plane's weight, into int32
/// (wrapping, like W8A8: the true accumulator fits int32 by the reference's precondition). The
/// packed layout and the decomposition are in kernels/pack_lut.hpp.
#pragma once

#if defined(__AVX2__) && defined(__FMA__)

#include <ohq/kernels/avx2/gemm_w8a8.hpp>  // the requantization epilogue (requantize_store8)
#include <ohq/kernels/w8a8_types.hpp>

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

// Only plain functions of this arch's namespace and intrinsics below (see w8a8_types.hpp).
namespace ohq::kernels::avx2 {

/// Subset-sum tables of one activation column, 32 bytes per group g of 4 activations:
/// tables[32g + e] = low byte and tables[32g + 16 + e] = high byte of sum_{bit i of e set} x[4g + i],
/// e in [0, 16), with x = 0 past k. Also returns sum_k x[k] (the offset term of the decomposition).
/// Writes 8 * round_up(k, 4) bytes; never reads x past k.
inline std::int32_t build_lut_tables(const std::uint8_t* x, std::size_t k, std::uint8_t* tables) noexcept {
  // int16 lane e of (x0 x1 repeated) . pick_01 = x0 * bit0(e) + x1 * bit1(e) (vpmaddubsw; <= 510, no saturation)
  const __m256i pick_01 = _mm256_setr_epi8(0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1,  //
                                           0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1);
  const __m256i pick_23 = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0,  //
                                           0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  // int16 entries -> [lo e0-7, hi e0-7 | lo e8-15, hi e8-15] in one in-lane byte shuffle
  const __m256i split_bytes = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,  //
                                               0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  const std::size_t groups = (k + 3) / 4, full = k / 4;
  for (std::size_t g = 0; g < groups; ++g) {
    std::uint8_t tail[4] = {0, 0, 0, 0};
    const std::uint8_t* xg = x + 4 * g;
    if (g == full) {  // the last, partial group: zero-padded copy
      std::memcpy(tail, xg, k - 4 * g);
      xg = tail;
    }
    std::int16_t x01, x23;
    std::memcpy(&x01, xg, 2);
    std::memcpy(&x23, xg + 2, 2);
    const __m256i entries = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_set1_epi16(x01), pick_01),
                                             _mm256_maddubs_epi16(_mm256_set1_epi16(x23), pick_23));
    // then qwords 0,2,1,3: [lo e0-15 | hi e0-15]
    const __m256i bytes = _mm256_shuffle_epi8(entries, split_bytes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tables + 32 * g), _mm256_permute4x64_epi64(bytes, 0xD8));
  }
  // sum x: vpsadbw against zero, then a scalar tail
  __m256i sums = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 32 <= k; i += 32)
    sums = _mm256_add_epi64(sums, _mm256_sad_epu8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)),
                                                  _mm256_setzero_si256()));
  const __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
  std::uint64_t total = static_cast<std::uint64_t>(_mm_cvtsi128_si64(s2)) +
                        static_cast<std::uint64_t>(_mm_extract_epi64(s2, 1));
  for (; i < k; ++i) total += x[i];
  return static_cast<std::int32_t>(total);  // <= 255 * K: fits for every K the int32 precondition allows
}

/// Table-lookup GEMM for Bits-bit weights (1..3), tile height 32 * RowBlocks rows, one activation
/// column at a time (the tables are per column).
template <unsigned Bits, std::size_t RowBlocks>
struct gemm_lut {
  static_assert(Bits >= 1 && Bits <= 3, "ohq: the table-lookup kernels take 1-, 2- or 3-bit weights");
  static constexpr std::size_t mr = 32 * RowBlocks;
  static constexpr std::size_t nr = 1;
  static constexpr unsigned planes = Bits;
  /// w = multiplier * u - offset with u = sum_p 2^p u_p (quant::weight_format_of(Bits)); the
  /// multiplier 2 of the 1-bit format becomes one more shift.
  static constexpr int plane_shift0 = Bits == 1 ? 1 : 0;
  static constexpr std::int32_t offset = Bits == 1 ? 1 : std::int32_t{1} << (Bits - 1);
  /// Group pairs per flush: 2 * 32 lookups of <= 1020 each stay below 2^16 (read as unsigned).
  static constexpr std::size_t pairs_per_flush = 32;

  /// acc32[r] += (sum over pairs [q0, q1) of plane p's lookups) << (p + plane_shift0), r < mr.
  static void plane_chunk(const std::uint8_t* wp, const std::uint8_t* tables, std::size_t groups, std::size_t q0,
                          std::size_t q1, int shift, std::int32_t* acc32) noexcept {
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    __m256i acc[RowBlocks][2];
    for (std::size_t b = 0; b < RowBlocks; ++b) acc[b][0] = acc[b][1] = _mm256_setzero_si256();
    for (std::size_t q = q0; q < q1; ++q) {
      const std::uint8_t* wq = wp + q * mr;
      // group 2q+1 past the last group (odd group count): its nibbles are 0, and entry 0 of any
      // table is 0, so group 2q's table serves
      const std::size_t g1 = 2 * q + 1 < groups ? 2 * q + 1 : 2 * q;
      const __m256i lo0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + 64 * q)));
      const __m256i hi0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + 64 * q + 16)));
      const __m256i lo1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + 32 * g1)));
      const __m256i hi1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + 32 * g1 + 16)));
      for (std::size_t b = 0; b < RowBlocks; ++b) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + 32 * b));
        const __m256i i0 = _mm256_and_si256(w, nibble);                         // group 2q
        const __m256i i1 = _mm256_and_si256(_mm256_srli_epi16(w, 4), nibble);  // group 2q+1
        const __m256i l0 = _mm256_shuffle_epi8(lo0, i0), h0 = _mm256_shuffle_epi8(hi0, i0);
        const __m256i l1 = _mm256_shuffle_epi8(lo1, i1), h1 = _mm256_shuffle_epi8(hi1, i1);
        // 16-bit lanes: unpacklo -> rows 0-7 | 16-23 of the block, unpackhi -> rows 8-15 | 24-31
        acc[b][0] = _mm256_add_epi16(acc[b][0], _mm256_add_epi16(_mm256_unpacklo_epi8(l0, h0), _mm256_unpacklo_epi8(l1, h1)));
        acc[b][1] = _mm256_add_epi16(acc[b][1], _mm256_add_epi16(_mm256_unpackhi_epi8(l0, h0), _mm256_unpackhi_epi8(l1, h1)));
      }
    }
    const __m128i count = _mm_cvtsi32_si128(shift);
    for (std::size_t b = 0; b < RowBlocks; ++b)
      for (std::size_t h = 0; h < 2; ++h) {
        std::int32_t* rows_lo = acc32 + 32 * b + 8 * h;  // rows 8h..8h+7
        std::int32_t* rows_hi = rows_lo + 16;            // rows 16+8h..16+8h+7
        const __m256i vlo = _mm256_sll_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(acc[b][h])), count);
        const __m256i vhi = _mm256_sll_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(acc[b][h], 1)), count);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(rows_lo),
                            _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows_lo)), vlo));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(rows_hi),
                            _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows_hi)), vhi));
      }
  }

  /// Requantizes acc32 (sum_p S_p << (p + plane_shift0)) of tile t for column i and stores it
  /// through the shared AVX2 epilogue: dot = acc32 - offset * sum x, then bias - x_zp * row_sum.
  static void store_tile(const w8a8_gemm_args& a, std::size_t t, std::size_t i, const std::int32_t* acc32,
                         std::int32_t offset_term) noexcept {
    const __m256i minus_offset = _mm256_set1_epi32(offset_term);
    for (std::size_t v = 0; v < mr / 8; ++v) {
      const std::size_t j0 = t * mr + 8 * v;
      if (j0 >= a.rows) break;
      const __m256i dots[1] = {
          _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc32 + 8 * v)), minus_offset)};
      requantize_store8<1>(a, j0, i, dots);
    }
  }

  /// The dispatch entry's run: a.packed holds pack_lut(Bits, mr) weights, a.scratch 4 * round_up(K, 4) int16.
  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t groups = (a.cols + 3) / 4, pairs = (groups + 1) / 2;
    const std::size_t tiles = (a.rows + mr - 1) / mr;
    const std::size_t plane_bytes = pairs * mr, tile_bytes = planes * plane_bytes;
    const auto* packed = reinterpret_cast<const std::uint8_t*>(a.packed);
    auto* tables = reinterpret_cast<std::uint8_t*>(a.scratch);
    alignas(32) std::int32_t acc32[mr];
    for (std::size_t i = 0; i < a.n; ++i) {
      const std::int32_t xsum = build_lut_tables(a.x + i * a.ldx, a.cols, tables);
      // wrapping int32: offset * xsum may exceed int32 only when the true accumulator cannot fit
      const std::int32_t offset_term = static_cast<std::int32_t>(static_cast<std::uint32_t>(offset) * static_cast<std::uint32_t>(xsum));
      for (std::size_t t = 0; t < tiles; ++t) {
        for (std::size_t r = 0; r < mr; ++r) acc32[r] = 0;
        const std::uint8_t* wt = packed + t * tile_bytes;
        for (std::size_t q0 = 0; q0 < pairs; q0 += pairs_per_flush) {
          const std::size_t q1 = pairs - q0 < pairs_per_flush ? pairs : q0 + pairs_per_flush;
          for (unsigned p = 0; p < planes; ++p)
            plane_chunk(wt + p * plane_bytes, tables, groups, q0, q1, int(p) + plane_shift0, acc32);
        }
        store_tile(a, t, i, acc32, offset_term);
      }
    }
  }
};

/// The instances of the dispatch table (tile heights measured in benchmarks/kernels/bench_gemm_lut.cpp).
using gemm_lut_w1_default = gemm_lut<1, 2>;
using gemm_lut_w2_default = gemm_lut<2, 2>;
using gemm_lut_w3_default = gemm_lut<3, 2>;

inline void run_gemm_lut_w1(const w8a8_gemm_args& a) noexcept { gemm_lut_w1_default::run(a); }
inline void run_gemm_lut_w2(const w8a8_gemm_args& a) noexcept { gemm_lut_w2_default::run(a); }
inline void run_gemm_lut_w3(const w8a8_gemm_args& a) noexcept { gemm_lut_w3_default::run(a); }

}  // namespace ohq::kernels::avx2

// The AVX2 entries, found through these weak symbols (see avx2/gemm_w8a8.hpp). scratch_columns = 4:
// the tables take 8 bytes per k of one column, i.e. 4 int16 per round_up(K, 4).
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_lut_w1() noexcept {
  static constexpr ohq::kernels::w8a8_kernel_entry entry{"avx2 w1a8 gemm lut 64x1 (vpshufb)",
                                                         ohq::kernels::avx2::gemm_lut_w1_default::mr, 1, 4,
                                                         &ohq::kernels::avx2::run_gemm_lut_w1};
  return &entry;
}
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_lut_w2() noexcept {
  static constexpr ohq::kernels::w8a8_kernel_entry entry{"avx2 w2a8 gemm lut 64x1 (vpshufb)",
                                                         ohq::kernels::avx2::gemm_lut_w2_default::mr, 1, 4,
                                                         &ohq::kernels::avx2::run_gemm_lut_w2};
  return &entry;
}
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_lut_w3() noexcept {
  static constexpr ohq::kernels::w8a8_kernel_entry entry{"avx2 w3a8 gemm lut 64x1 (vpshufb)",
                                                         ohq::kernels::avx2::gemm_lut_w3_default::mr, 1, 4,
                                                         &ohq::kernels::avx2::run_gemm_lut_w3};
  return &entry;
}

#endif  // __AVX2__ && __FMA__

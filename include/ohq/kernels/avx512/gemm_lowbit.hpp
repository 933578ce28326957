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
  all = last = 0;
  for (unsigned l = 0; l < 16; ++l) {
    all += lanes[l];
    if (Storage::last_group_lanes >> l & 1u) last += lanes[l];
  }
}

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

  /// sums[v][h][c]: for rows of half h of load v (see the file comment) and column c, the
  /// descaled field accumulators added up: sum(u x) over lower fields plus sum(w x) over the top
  /// field (at 1 bit: sum(u x) over all fields). xs[c] is readable for panels * kp bytes.
  template <std::size_t Nc>
  static void tile(const std::uint8_t* const (&xs)[Nr], const std::uint8_t* wt, std::size_t panels,
                   __m512i (&sums)[2][2][Nc]) noexcept {
    constexpr std::size_t U = k_unroll(Nc);
    for (auto& v : sums)
      for (auto& h : v)
        for (auto& c : h) c = _mm512_setzero_si512();
    for (std::size_t p0 = 0; p0 < panels; p0 += storage::chunk_panels) {
      const std::size_t p1 = panels - p0 < storage::chunk_panels ? panels : p0 + storage::chunk_panels;
      __m512i acc[U][2][F][Nc];
      for (auto& u : acc)
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
                      acc[u][v][2 * Q + h][c] = _mm512_dpbusd_epi32(acc[u][v][2 * Q + h][c], xb, fw[v][h]);
                }
              }(),
              ...);
        }(std::make_index_sequence<storage::groups>{});
      };
      std::size_t p = p0;
      for (; p + U <= p1; p += U)
        for (std::size_t u = 0; u < U; ++u) step(p + u, u);
      for (; p < p1; ++p) step(p, 0);
      [&]<std::size_t... Fi>(std::index_sequence<Fi...>) {
        for (std::size_t u = 0; u < U; ++u)
          for (std::size_t v = 0; v < 2; ++v)
            for (std::size_t c = 0; c < Nc; ++c)
              ((sums[v][Fi % 2][c] = _mm512_add_epi32(sums[v][Fi % 2][c], storage::template descale<Fi>(acc[u][v][Fi][c]))), ...);
      }(std::make_index_sequence<F>{});
    }
  }

  template <std::size_t Nc>
  static void block(const w8a8_gemm_args& a, std::size_t i0, const std::uint8_t* const (&xs)[Nr],
                    std::size_t panels) noexcept {
    std::int32_t x_all[Nc], x_last[Nc];
    for (std::size_t c = 0; c < Nc; ++c) avx512::activation_sums<storage>(xs[c], a.cols, x_all[c], x_last[c]);
    const auto* packed = reinterpret_cast<const std::uint8_t*>(a.packed);
    const std::size_t tiles = (a.rows + Mr - 1) / Mr;
    for (std::size_t t = 0; t < tiles; ++t) {
      __m512i sums[2][2][Nc];
      tile<Nc>(xs, packed + t * panels * panel_column_bytes, panels, sums);
      for (std::size_t v = 0; v < 2; ++v) {
        __m512i rows_lo[Nc], rows_hi[Nc];  // rows t Mr + 32 v + 0..15 and + 16..31
        for (std::size_t c = 0; c < Nc; ++c) {
          __m512i half[2];
          if constexpr (WeightBits == 1) {  // w = 2u - 1
            for (std::size_t h = 0; h < 2; ++h)
              half[h] = _mm512_sub_epi32(_mm512_add_epi32(sums[v][h][c], sums[v][h][c]), _mm512_set1_epi32(x_all[c]));
          } else {  // half 0: lower fields only; half 1 holds the top field, which has no offset
            half[0] = _mm512_sub_epi32(sums[v][0][c], _mm512_set1_epi32(storage::offset * x_all[c]));
            half[1] = _mm512_sub_epi32(sums[v][1][c], _mm512_set1_epi32(storage::offset * (x_all[c] - x_last[c])));
          }
          // lanes 0-7 of each half are rows 0-7 / 8-15 of the first panel, lanes 8-15 the second's
          rows_lo[c] = _mm512_shuffle_i64x2(half[0], half[1], 0x44);
          rows_hi[c] = _mm512_shuffle_i64x2(half[0], half[1], 0xEE);
        }
        const std::size_t j0 = t * Mr + 32 * v;
        if (j0 < a.rows) avx512::requantize_store16<Nc>(a, j0, i0, rows_lo);
        if (j0 + 16 < a.rows) avx512::requantize_store16<Nc>(a, j0 + 16, i0, rows_hi);
      }
    }
  }

  static void run(const w8a8_gemm_args& a) noexcept {
    const std::size_t panels = (a.cols + kp - 1) / kp, kpad = panels * kp;
    // a partial last panel reads activations past K: those columns go through zero-padded scratch
    const bool copy = kpad != a.cols;
    auto* scratch = reinterpret_cast<std::uint8_t*>(a.scratch);  // Nr lines of kpad bytes
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
      with_column_count<Nr>(nc, [&](auto c) { block<c()>(a, i0, xs, panels); });
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
                                           WeightBits, kernel::mr, kernel::nr, kernel::nr, &run};
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

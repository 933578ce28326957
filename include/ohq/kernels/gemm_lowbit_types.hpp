// SPDX-License-Identifier: MIT
/// @file Defines the plain-data interface of the low-bit GEMM families (W4A8, W2A8, W1A8): the
/// packed layout every arch shares, the kernel entry, and the primary kernel template that each
/// arch specialises (kernels/scalar/gemm_lowbit.hpp, kernels/avx2/gemm_lowbit.hpp).
///
/// Plain data like w8a8_types.hpp (the per-arch TUs include it with arch flags), except the entry
/// finder at the end: a template over the arch, so each arch's TU instantiates only its own copy
/// (find_gemm_lowbit_entry<arch::avx2> exists only in AVX2 code, <arch::scalar> only in baseline
/// code) and the linker never has to choose between copies compiled with different flags.
/// The argument block is w8a8_gemm_args: the same semantics, the same requantization epilogue,
/// only `packed` points to the layout below.
#pragma once

#include <ohq/kernels/instances.hpp>
#include <ohq/kernels/w8a8_types.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace ohq::kernels {

/// The packed low-bit layout at storage width B in {4, 2, 1} (F = 8 / B fields per byte):
///
/// - Weights are cut into *panels* of 32 bytes = 16 rows x kp k, kp = 2F (B = 4: 4 k, B = 2: 8 k,
///   B = 1: 16 k). Byte b = rr * 4 + kk (rr < 8, kk < 4) of a panel holds in field f (bits
///   [f*B, (f+1)*B)) the weight of row 8 * (f % 2) + rr and k = 4 * (f / 2) + kk of the panel.
///   So masking field f of a 32-byte panel gives one register of 8 rows x 4 k (a 32-bit lane = one
///   row, 4 consecutive k): one vpbroadcastd of 4 activation bytes meets it, and field f and f + 1
///   (the two row halves) share that broadcast.
/// - Rows are grouped in tiles of mr (a multiple of 16; the last tile zero-padded); tile t holds
///   for each panel column p its mr / 16 panels contiguously:
///   packed[((t * panels + p) * (mr / 16) + s) * 32 + b], panels = ceil(K / kp).
///   invariant: row = t * mr + 16 * s + 8 * (f % 2) + b / 4, k = p * kp + 4 * (f / 2) + b % 4.
/// - A field stores u = w + 2^(B-1) (B = 4 also holds 3-bit codes: u in [4, 11]); at B = 1,
///   u = (w + 1) / 2. Fields outside the matrix hold the code of w = 0 (u = 2^(B-1)); at B = 1
///   there is none (u = 0, w = -1), so kernels read activations past K as 0 (they copy the last
///   partial panel of a column into a zeroed buffer).
/// - mr = 1 (the scalar kernels): rows one after another in quant/packing.hpp's block layout
///   instead (K padded to 64; byte j of a block of 8B bytes holds code j + 8B * f in field f, so a
///   masked field is 8B consecutive k of one row; padding fields are 0).
inline constexpr std::size_t lowbit_panel_rows = 16;
inline constexpr std::size_t lowbit_panel_bytes = 32;

/// One low-bit kernel of the dispatch table.
struct gemm_kernel_entry {
  const char* name;           ///< e.g. "avx2 w4a8 gemm 16x4 (vpmaddubsw, int16 sums)"
  unsigned weight_bits;       ///< storage width of the packed layout: 4, 2 or 1
  std::size_t mr;             ///< tile height of the packed layout this kernel reads (1 or a multiple of 16)
  std::size_t nr;             ///< columns per register tile (informational)
  std::size_t scratch_lines;  ///< scratch the kernel needs: scratch_lines * (round_up(K, 64) + 64) bytes
  void (*run)(const w8a8_gemm_args&) noexcept;
  /// Reads columns through w8a8_gemm_args::windows (runs of a multiple of the panel's k: 16 / bits).
  bool windows = false;
};

/// The low-bit GEMM kernel of path A for `WeightBits`-bit storage, with a register tile of Mr rows
/// x Nr columns (CUTLASS style: the tile is the type). Each arch specialises it; this primary
/// template only names what is missing.
template <arch A, unsigned WeightBits, std::size_t Mr, std::size_t Nr>
struct gemm_lowbit {
  static_assert(WeightBits == 0 && WeightBits != 0,
                "ohq: no low-bit GEMM kernel for this (arch, weight bits); specialise gemm_lowbit in "
                "kernels/<arch>/gemm_lowbit.hpp or remove the line from kernels/instances.hpp");
};

/// Calls f(std::integral_constant<std::size_t, Nc>{}) for the run-time column count nc in 1..Nr:
/// column tails get their own instantiation, with every loop over columns unrolled. (Instantiated
/// with each arch's own f, so arch code never shares a copy with baseline code.)
template <std::size_t Nr, class F>
constexpr void with_column_count(std::size_t nc, F&& f) noexcept {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((nc == I + 1 ? (f(std::integral_constant<std::size_t, I + 1>{}), true) : false) || ...);
  }(std::make_index_sequence<Nr>{});
}

/// The entry of the (arch, weight bits) kernel: each arch header specialises it next to its
/// kernels, as `static constexpr gemm_kernel_entry value`.
template <arch A, unsigned WeightBits>
struct gemm_lowbit_entry;

/// Line I of gemm_instances if it is path A's kernel for `weight_bits`-bit storage, else null.
template <arch A, std::size_t I>
constexpr const gemm_kernel_entry* gemm_lowbit_entry_of_line(unsigned weight_bits) noexcept {
  constexpr gemm_instance line = gemm_instances[I];
  if constexpr (line.path == A && line.weight_bits < 8 && line.method == gemm_method::dot) {
    if (weight_bits == line.weight_bits) return &gemm_lowbit_entry<A, line.weight_bits>::value;
  }
  return nullptr;
}
template <arch A, std::size_t... I>
constexpr const gemm_kernel_entry* find_gemm_lowbit_entry(unsigned weight_bits, std::index_sequence<I...>) noexcept {
  const gemm_kernel_entry* found = nullptr;
  ((found = found ? found : gemm_lowbit_entry_of_line<A, I>(weight_bits)), ...);
  return found;
}
/// Path A's low-bit kernel for `weight_bits`-bit storage among the lines of kernels/instances.hpp,
/// or null: the instance list decides which kernels are instantiated and reachable.
template <arch A>
constexpr const gemm_kernel_entry* find_gemm_lowbit_entry(unsigned weight_bits) noexcept {
  return find_gemm_lowbit_entry<A>(weight_bits, std::make_index_sequence<sizeof(gemm_instances) / sizeof(gemm_instance)>{});
}

}  // namespace ohq::kernels

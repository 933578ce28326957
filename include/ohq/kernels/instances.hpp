// SPDX-License-Identifier: MIT
/// @file Defines THE instance list of the GEMM kernels: one line per (weight storage bits, arch)
/// that exists. It drives the dispatch table (kernels/dispatch.hpp), the entry each arch TU
/// defines, the tests and the benchmarks (ggml's type_traits table, CUTLASS's manifest), so
/// adding a kernel is one line here plus its specialisation under kernels/<arch>/.
///
/// POD only (constexpr data, no functions): the per-arch translation units include it while
/// compiled with -mavx2 / -mavx512* (see w8a8_types.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ohq::kernels {

/// The code paths of the integer kernels.
enum class arch : std::uint8_t { scalar, avx2, avx512_vnni };
inline constexpr arch all_archs[] = {arch::scalar, arch::avx2, arch::avx512_vnni};
inline constexpr std::size_t arch_count = 3;

/// How a GEMM kernel multiplies: dot-product instructions on weights unpacked in registers, or
/// T-MAC style table lookups (16 subset sums of 4 activations per group, indexed by weight bit
/// planes: where no fast int8 dot product exists; the profiler keeps them only where they win).
enum class gemm_method : std::uint8_t { dot, lut };

/// One GEMM kernel. dot: weights in `weight_bits`-bit storage (8: the W8A8 family, which also runs
/// 5..7-bit codes; 4: W4A8, which also runs 3-bit codes; 2: W2A8; 1: W1A8). lut: `weight_bits`
/// (1..3) bit planes of the codes. On path `path`.
struct gemm_instance {
  unsigned weight_bits;
  arch path;
  gemm_method method = gemm_method::dot;
};

/// Every GEMM kernel there is. A family lacking an avx512_vnni line runs its avx2 kernel on
/// AVX-512 CPUs (they all have AVX2): see resolve_gemm_instance.
inline constexpr gemm_instance gemm_instances[] = {
    {8, arch::scalar}, {8, arch::avx2}, {8, arch::avx512_vnni},
    {4, arch::scalar}, {4, arch::avx2}, {4, arch::avx512_vnni},
    {2, arch::scalar}, {2, arch::avx2}, {2, arch::avx512_vnni},
    {1, arch::scalar}, {1, arch::avx2}, {1, arch::avx512_vnni},
    {3, arch::avx2, gemm_method::lut}, {2, arch::avx2, gemm_method::lut}, {1, arch::avx2, gemm_method::lut},
};

/// The storage widths of the GEMM families, widest first.
inline constexpr unsigned gemm_storage_bits[] = {8, 4, 2, 1};
inline constexpr std::size_t gemm_family_count = 4;

}  // namespace ohq::kernels

// SPDX-License-Identifier: MIT
/// @file Defines the plain-data interface between the W8A8 GEMM kernels of every arch and the
/// dispatch table: the argument block, the kernel entry and the packed-layout geometry.
///
/// Deliberately POD-only (no member functions, no std:: templates): the per-arch translation units
/// (cmake/OhqKernels.cmake) include this header while compiled with -mavx2 / -mavx512*, and any
/// inline function they emitted could be picked by the linker for the baseline code paths.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ohq::kernels {

/// Packed W8A8 weights, the layout every arch shares with its own tile height `mr`:
/// rows are grouped in tiles of mr (the last tile zero-padded), K in groups of 4 (the last group
/// zero-padded), and tile t stores data[((t * k4 + g) * mr + rr) * 4 + kk] = w[t*mr + rr][4g + kk].
/// One broadcast of 4 activation bytes x[i][4g..4g+3] thus meets a contiguous stream of
/// mr * 4 weight bytes, exactly the operand of vpdpbusd (and of vpmovsxbw + vpmaddwd on AVX2).
///
/// y[j][i] = clamp(zero_point + round_half_up((bias[j] + sum_k (x[i][k] - x_zero_point) w[j][k]) * m[j] / 2^shift[j]), lo, hi)
/// computed as dot(x, w) + (bias[j] - x_zero_point * row_sums[j]) in wrapping int32 arithmetic
/// (exact whenever the true accumulator fits int32, the reference's precondition).
/// Implicit im2col: column i of a GEMM is `runs` runs of K / runs bytes (a multiple of 4), run r at
/// x + (i / width) * row_stride + (i % width) * ldx + r * run_stride: a convolution's patches read
/// from its input padded with the zero point (runs = kernel rows, width = output width).
struct gemm_windows {
  std::size_t runs = 0;  ///< 0: plain columns at x + i * ldx
  std::size_t width = 1, row_stride = 0, run_stride = 0;
};

struct w8a8_gemm_args {
  const std::uint8_t* x = nullptr;  ///< column i at x + i * ldx, K bytes each (see `windows`)
  std::size_t n = 0;                ///< columns
  std::size_t ldx = 0;
  std::int32_t x_zero_point = 0;
  const std::int8_t* packed = nullptr;    ///< tiles of the packed layout above
  const std::int32_t* row_sums = nullptr; ///< [rows]: sum_k w[j][k]
  std::size_t rows = 0;                   ///< M (output channels of this call)
  std::size_t cols = 0;                   ///< K
  const std::int32_t* bias = nullptr;     ///< [rows] or null (zero)
  const std::int32_t* multiplier = nullptr;  ///< [rows]
  const std::int32_t* shift = nullptr;       ///< [rows], 1..62
  std::int32_t zero_point = 0;               ///< output zero point
  std::int32_t lo = 0;                       ///< clamp bounds (fused ReLU/ReLU6 narrow them)
  std::int32_t hi = 255;
  std::uint8_t* y = nullptr;  ///< output j, i at y[j * channel_stride + i * column_stride] (u8 or s8 bytes)
  std::size_t channel_stride = 1;
  std::size_t column_stride = 1;
  std::int16_t* scratch = nullptr;  ///< w8a8_kernel_entry::scratch_columns * round_up(K, 4) int16, if needed
  gemm_windows windows{};           ///< only for kernels whose entry has `windows`
};

/// One kernel of the dispatch table.
struct w8a8_kernel_entry {
  const char* name;              ///< e.g. "avx2 w8a8 gemm 8x6"
  std::size_t mr;                ///< tile height of the packed layout this kernel reads
  std::size_t nr;                ///< columns per register tile (informational)
  std::size_t scratch_columns;   ///< int16 scratch the kernel needs per round_up(K, 4) (0: none)
  void (*run)(const w8a8_gemm_args&) noexcept;
  bool windows = false;          ///< reads columns through w8a8_gemm_args::windows
};

}  // namespace ohq::kernels

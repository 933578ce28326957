// SPDX-License-Identifier: MIT
/// @file Defines the packed layout of the table-lookup (T-MAC style) GEMM kernels for 1-, 2- and
/// 3-bit weights, its plain C++ packing from quant::quantized_weights, and the weak declarations of
/// their AVX2 kernels (kernels/avx2/gemm_lut.hpp; entries in kernels/dispatch.hpp's table). docs/kernels.md, "Table-lookup kernels".
///
/// Decomposition: with u = weight_format_of(b).encode(w) (1 bit: u = (w > 0), w = 2u - 1; 2-3 bits:
/// u = w + 2^(b-1)) and its bit planes u_p, w = multiplier * sum_p 2^p u_p - offset, so
///   sum_k x[k] w[k] = multiplier * sum_p 2^p S_p - offset * sum_k x[k],   S_p = sum_k x[k] u_p[k].
/// S_p is a sum over groups of 4 k of T_g[nibble], T_g[e] = sum_{bit i of e} x[4g + i]: the tables.
///
/// Layout: rows in tiles of mr (a multiple of 32; the last tile zero-padded), K in groups of 4
/// (zero-padded), groups in pairs (an odd count leaves the last high nibble 0). Tile t holds
/// `bits` planes one after the other, each pairs * mr bytes:
///   packed[((t * bits + p) * pairs + q) * mr + rr] = nib_p(row t*mr + rr, group 2q) | nib_p(.., group 2q+1) << 4
///   nib_p(r, g) = sum_{i<4} bit_p(u[r][4g + i]) << i   (0 outside the matrix)
/// so one 32-byte load gives the indices of 32 rows for two groups (and 0x0f / >> 4 split them),
/// and each plane of a tile is one contiguous stream.
#pragma once

#include <ohq/config.hpp>
#include <ohq/core/aligned_buffer.hpp>
#include <ohq/kernels/w8a8_types.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/weights.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>


namespace ohq::kernels {

/// Bytes of rows x cols weights of `bits` (1..3) bits packed with tile height mr (a multiple of 32).
constexpr std::size_t packed_lut_size(std::size_t rows, std::size_t cols, unsigned bits, std::size_t mr) noexcept {
  const std::size_t pairs = ((cols + 3) / 4 + 1) / 2;
  return (rows + mr - 1) / mr * bits * pairs * mr;
}

/// Packs rows [row_begin, row_begin + row_count) of [rows][cols] codes w (int8 in
/// [code_min, code_max] of weight_format_of(bits); at 1 bit -1 or +1) into the layout above.
/// `out` must hold packed_lut_size(row_count, cols, bits, mr) bytes.
inline void pack_lut(const std::int8_t* codes, std::size_t cols, std::size_t row_begin, std::size_t row_count,
                     unsigned bits, std::size_t mr, std::uint8_t* out) noexcept {
  OHQ_ASSERT(bits >= 1 && bits <= 3 && mr % 32 == 0 && mr > 0);
  const quant::weight_format f = quant::weight_format_of(bits);
  const std::size_t groups = (cols + 3) / 4, pairs = (groups + 1) / 2, tiles = (row_count + mr - 1) / mr;
  // invariant: byte ((t * bits + p) * pairs + q) * mr + rr holds row t*mr + rr, k in [8q, 8q + 8)
  for (std::size_t t = 0; t < tiles; ++t)
    for (unsigned p = 0; p < bits; ++p)
      for (std::size_t q = 0; q < pairs; ++q)
        for (std::size_t rr = 0; rr < mr; ++rr) {
          const std::size_t j = t * mr + rr;
          unsigned byte = 0;
          for (std::size_t i = 0; i < 8; ++i) {
            const std::size_t k = 8 * q + i;
            if (j >= row_count || k >= cols) continue;
            const std::int32_t u = f.encode(codes[(row_begin + j) * cols + k]);
            byte |= unsigned((u >> p) & 1) << i;  // bit i: group 2q + i / 4, activation i % 4 of it
          }
          out[((t * bits + p) * pairs + q) * mr + rr] = static_cast<std::uint8_t>(byte);
        }
}

/// Weights packed for one table-lookup kernel, with the row sums its entry reads.
struct lut_packed_weights {
  unsigned bits = 1;
  std::size_t mr = 32;
  std::size_t rows = 0, cols = 0;
  aligned_buffer<std::uint8_t> packed;
  std::vector<std::int32_t> row_sums;  ///< sum_k w[r][k] (the signed codes)
};

/// Packs rows [row_begin, row_begin + row_count) of `w` (1..3 bits) for tile height mr.
inline lut_packed_weights pack_lut_weights(const quant::quantized_weights& w, std::size_t row_begin,
                                           std::size_t row_count, std::size_t mr) {
  lut_packed_weights p;
  p.bits = w.format.bits;
  p.mr = mr;
  p.rows = row_count;
  p.cols = w.cols;
  p.packed.resize(packed_lut_size(row_count, w.cols, p.bits, mr));
  pack_lut(w.codes.data(), w.cols, row_begin, row_count, p.bits, mr, p.packed.data());
  p.row_sums.resize(row_count);
  for (std::size_t j = 0; j < row_count; ++j) p.row_sums[j] = w.row_sum(row_begin + j);
  return p;
}

}  // namespace ohq::kernels

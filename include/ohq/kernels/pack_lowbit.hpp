// SPDX-License-Identifier: MIT
/// @file Defines the packing of weight codes into the low-bit GEMM layout (gemm_lowbit_types.hpp):
/// plain baseline C++, done once per layer, shared by every arch (each with its tile height mr).
#pragma once

#include <ohq/config.hpp>
#include <ohq/kernels/gemm_lowbit_types.hpp>
#include <ohq/quant/packing.hpp>

#include <cstddef>
#include <cstdint>

namespace ohq::kernels {

/// k per panel at storage width `bits` (4, 2, 1): 2 * (8 / bits).
constexpr std::size_t lowbit_panel_k(unsigned bits) noexcept { return 16u / bits; }

/// Bytes of rows x cols codes packed at storage width `bits` with tile height mr.
constexpr std::size_t packed_lowbit_size(std::size_t rows, std::size_t cols, unsigned bits, std::size_t mr) noexcept {
  if (mr == 1) return rows * quant::padded_cols(cols) / quant::block_codes * quant::block_bytes(bits);
  const std::size_t kp = lowbit_panel_k(bits);
  return (rows + mr - 1) / mr * (mr / lowbit_panel_rows) * ((cols + kp - 1) / kp) * lowbit_panel_bytes;
}

/// The stored field of code w at storage width `bits` (w within the width's range).
constexpr std::uint8_t lowbit_field(std::int32_t w, unsigned bits) noexcept {
  return static_cast<std::uint8_t>(bits == 1 ? (w > 0 ? 1 : 0) : w + (std::int32_t{1} << (bits - 1)));
}

/// Packs rows [row_begin, row_begin + row_count) of [rows][cols] codes (each within the signed
/// range of `bits`; at 1 bit +-1) into `out` (packed_lowbit_size(row_count, cols, bits, mr) bytes,
/// zero-filled by the caller when mr = 1).
inline void pack_lowbit(const std::int8_t* codes, std::size_t cols, std::size_t row_begin, std::size_t row_count,
                        unsigned bits, std::size_t mr, std::uint8_t* out) noexcept {
  OHQ_ASSERT((bits == 4 || bits == 2 || bits == 1) && (mr == 1 || mr % lowbit_panel_rows == 0));
  if (mr == 1) {  // the row layout of quant/packing.hpp
    const std::size_t bb = quant::block_bytes(bits), row_bytes = quant::padded_cols(cols) / quant::block_codes * bb;
    for (std::size_t j = 0; j < row_count; ++j)
      for (std::size_t k = 0; k < cols; ++k)
        quant::detail::put_field(out + j * row_bytes + k / quant::block_codes * bb, bits, k % quant::block_codes,
                                 lowbit_field(codes[(row_begin + j) * cols + k], bits));
    return;
  }
  const std::size_t kp = lowbit_panel_k(bits), panels = (cols + kp - 1) / kp, sub = mr / lowbit_panel_rows;
  const std::size_t tiles = (row_count + mr - 1) / mr, fields = 8 / bits;
  // w = 0; at 1 bit there is no zero code (u = 0 is w = -1): kernels read activations past K as 0
  const std::uint8_t zero_field = lowbit_field(0, bits);
  for (std::size_t t = 0; t < tiles; ++t)
    for (std::size_t p = 0; p < panels; ++p)
      for (std::size_t s = 0; s < sub; ++s) {
        std::uint8_t* panel = out + ((t * panels + p) * sub + s) * lowbit_panel_bytes;
        for (std::size_t b = 0; b < lowbit_panel_bytes; ++b) {
          unsigned byte = 0;
          for (std::size_t f = 0; f < fields; ++f) {
            // invariant: row = t * mr + 16 s + 8 (f % 2) + b / 4, k = p * kp + 4 (f / 2) + b % 4
            const std::size_t j = t * mr + 16 * s + 8 * (f % 2) + b / 4, k = p * kp + 4 * (f / 2) + b % 4;
            const std::uint8_t u =
                j < row_count && k < cols ? lowbit_field(codes[(row_begin + j) * cols + k], bits) : zero_field;
            byte |= unsigned{u} << (f * bits);
          }
          panel[b] = static_cast<std::uint8_t>(byte);
        }
      }
}

}  // namespace ohq::kernels

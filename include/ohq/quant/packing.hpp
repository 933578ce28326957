// SPDX-License-Identifier: MIT
/// @file Defines the packed weight formats (8, 4, 3, 2 and 1-bit storage) that SIMD kernels load
/// directly, `packed_weights` with the per-row zero-point correction terms, and pack/unpack.
///
/// Layout (docs/quantization.md has byte diagrams):
/// - A row (output channel) of K codes is padded to K_pad = round_up(K, 64) and stored as K_pad/64
///   consecutive blocks; a block holds 64 codes in 8 * storage_bits bytes, rows follow each other.
///   Padding fields are 0 (all bits clear).
/// - 8-bit storage (weights of 5..8 bits): byte k = the code w as an int8.
/// - s in {1, 2, 4}: byte j (0 <= j < 8s) of a block holds code j + 8s*f in bits [f*s, (f+1)*s),
///   for field f = 0 .. 8/s - 1, as the unsigned field u = w + offset (1 bit: u = (w + 1) / 2).
///   Masking field f where it sits yields codes 8s*f .. 8s*f + 8s - 1 in order, times 2^(f*s):
///   no shifts, activations read in order, one power-of-two fix-up per accumulator.
/// - 3-bit: the low 2 bits of u in the 2-bit layout (16 bytes), then the high bit in the 1-bit
///   layout (8 bytes): u = low + 4 * high, two shift-free planes rather than codes straddling bytes.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/error.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/weights.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace ohq::quant {

/// Codes per block, at every bit-width: rows are padded to a multiple of this, so the layout of
/// the activation operand (K_pad bytes) does not depend on the bit-width chosen for a layer.
inline constexpr std::size_t block_codes = 64;

/// One block of 64 codes in `StorageBits`-bit storage (ggml style: the size is the format).
template <unsigned StorageBits>
struct weight_block;
/// byte k = code k (int8).
template <>
struct weight_block<8> {
  std::int8_t q[64];
};
/// byte j = u[j] | u[j + 32] << 4.
template <>
struct weight_block<4> {
  std::uint8_t q[32];
};
/// low: 2-bit layout of (u & 3); high: 1-bit layout of (u >> 2).
template <>
struct weight_block<3> {
  std::uint8_t low[16];
  std::uint8_t high[8];
};
/// byte j = u[j] | u[j + 16] << 2 | u[j + 32] << 4 | u[j + 48] << 6.
template <>
struct weight_block<2> {
  std::uint8_t q[16];
};
/// byte j = sum_f u[j + 8f] << f.
template <>
struct weight_block<1> {
  std::uint8_t q[8];
};
static_assert(sizeof(weight_block<8>) == 64 && sizeof(weight_block<4>) == 32 && sizeof(weight_block<3>) == 24 &&
              sizeof(weight_block<2>) == 16 && sizeof(weight_block<1>) == 8,
              "ohq: a block of 64 codes takes 8 * storage_bits bytes");

/// Bytes of one block at a storage width.
constexpr std::size_t block_bytes(unsigned storage_bits) noexcept { return 8u * storage_bits; }
/// K rounded up to a multiple of 64.
constexpr std::size_t padded_cols(std::size_t cols) noexcept { return (cols + block_codes - 1) / block_codes * block_codes; }

namespace detail {

/// Byte and bit of code k of a block in the s-bit field layout (s in {1, 2, 4}).
// invariant: field f of byte j holds code j + 8s*f, so j = k % 8s and f = k / 8s.
struct field_pos {
  std::size_t byte;
  unsigned bit;
};
constexpr field_pos field_position(std::size_t k, unsigned s) noexcept {
  const std::size_t per_field = 8u * s;
  return {k % per_field, static_cast<unsigned>(k / per_field) * s};
}

/// Writes stored field u of code k (0 <= k < 64) into a zeroed block.
inline void put_field(std::uint8_t* block, unsigned storage, std::size_t k, std::uint32_t u) noexcept {
  if (storage == 8) {
    block[k] = static_cast<std::uint8_t>(u);
  } else if (storage == 3) {
    const field_pos lo = field_position(k, 2), hi = field_position(k, 1);
    block[lo.byte] = static_cast<std::uint8_t>(block[lo.byte] | ((u & 3u) << lo.bit));
    block[16 + hi.byte] = static_cast<std::uint8_t>(block[16 + hi.byte] | (((u >> 2) & 1u) << hi.bit));
  } else {
    const field_pos p = field_position(k, storage);
    block[p.byte] = static_cast<std::uint8_t>(block[p.byte] | (u << p.bit));
  }
}
/// The stored field of code k (as written by put_field; 8-bit storage returns the raw byte).
constexpr std::uint32_t get_field(const std::uint8_t* block, unsigned storage, std::size_t k) noexcept {
  if (storage == 8) return block[k];
  if (storage == 3) {
    const field_pos lo = field_position(k, 2), hi = field_position(k, 1);
    return ((block[lo.byte] >> lo.bit) & 3u) | (((block[16 + hi.byte] >> hi.bit) & 1u) << 2);
  }
  const field_pos p = field_position(k, storage);
  return (block[p.byte] >> p.bit) & ((1u << storage) - 1u);
}

}  // namespace detail

/// Weights in a packed format, with what a kernel needs beside the codes:
/// sum_{k<K} (a_k - z) w_k = multiplier * sum_{k<K_pad} a_k u_k - offset * sum_{k<K} a_k - z * row_sum
/// (8-bit storage: multiplier 1, offset 0, u = w). Padding fields are 0, so the first sum may run
/// over K_pad with any padding activations, while the second must cover exactly k < K, or K_pad
/// when the activation padding is code 0 (the im2col helper pads that way).
struct packed_weights {
  weight_format format = weight_format_of(8);
  std::size_t rows = 0;
  std::size_t cols = 0;         ///< K
  std::size_t cols_padded = 0;  ///< K_pad = round_up(K, 64)
  std::size_t row_bytes = 0;    ///< K_pad / 64 * 8 * storage_bits
  aligned_buffer<std::uint8_t> data;    ///< [rows][row_bytes], 64-byte aligned base
  std::vector<float> scales;            ///< [rows]
  std::vector<std::int32_t> row_sums;   ///< [rows] sum_{k<K} w: the zero-point correction
  std::vector<std::int32_t> field_sums; ///< [rows] sum_{k<K_pad} u (e.g. for a u8->s8 activation shift)

  [[nodiscard]] const std::uint8_t* row(std::size_t r) const noexcept { return data.data() + r * row_bytes; }
  /// The stored field u of (r, k), k < K_pad (8-bit storage: the int8 value).
  [[nodiscard]] std::int32_t field(std::size_t r, std::size_t k) const noexcept {
    const std::size_t bb = block_bytes(format.storage_bits);
    const std::uint32_t u = detail::get_field(row(r) + k / block_codes * bb, format.storage_bits, k % block_codes);
    return format.storage_bits == 8 ? std::int32_t(static_cast<std::int8_t>(u)) : std::int32_t(u);
  }
  /// The weight value w of (r, k), k < K.
  [[nodiscard]] std::int32_t value(std::size_t r, std::size_t k) const noexcept { return format.decode(field(r, k)); }
};

/// Packs quantized weights. Errors: a code outside the format's range (or 0 at 1 bit).
inline result<packed_weights> try_pack(const quantized_weights& q) {
  const weight_format& f = q.format;
  if (q.codes.size() != q.rows * q.cols || q.scales.size() != q.rows)
    return make_status(errc::invalid_argument, "quantized weights ", q.rows, "x", q.cols, " hold ", q.codes.size(),
                       " codes and ", q.scales.size(), " scales");
  packed_weights p;
  p.format = f;
  p.rows = q.rows;
  p.cols = q.cols;
  p.cols_padded = padded_cols(q.cols);
  const std::size_t bb = block_bytes(f.storage_bits);
  p.row_bytes = p.cols_padded / block_codes * bb;
  p.data.resize(p.rows * p.row_bytes);  // zero-filled: padding fields are 0
  p.scales = q.scales;
  p.row_sums.assign(q.rows, 0);
  p.field_sums.assign(q.rows, 0);
  for (std::size_t r = 0; r < q.rows; ++r) {
    std::uint8_t* row = p.data.data() + r * p.row_bytes;
    for (std::size_t k = 0; k < q.cols; ++k) {
      const std::int32_t w = q.code(r, k);
      if (w < f.code_min || w > f.code_max || (f.bits == 1 && w == 0))
        return make_status(errc::invalid_argument, "weight code ", w, " at [", r, "][", k, "] is not a ", f.bits,
                           "-bit code");
      const std::int32_t u = f.encode(w);
      detail::put_field(row + k / block_codes * bb, f.storage_bits, k % block_codes, static_cast<std::uint32_t>(u) & 0xFFu);
      p.row_sums[r] += w;
      p.field_sums[r] += u;
    }
  }
  return p;
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_pack(q).value()`.
inline packed_weights pack(const quantized_weights& q) { return try_pack(q).value(); }
#endif

/// The exact inverse of `pack`.
inline quantized_weights unpack(const packed_weights& p) {
  quantized_weights q;
  q.format = p.format;
  q.rows = p.rows;
  q.cols = p.cols;
  q.scales = p.scales;
  q.codes.resize(p.rows * p.cols);
  for (std::size_t r = 0; r < p.rows; ++r)
    for (std::size_t k = 0; k < p.cols; ++k) q.codes[r * p.cols + k] = static_cast<std::int8_t>(p.value(r, k));
  return q;
}

/// bias'[r] = bias[r] - z * row_sums[r]: folds the activation zero point into the bias, so a
/// kernel adds bias' to m * sum a*u - offset * sum a. Errors when a result leaves int32.
inline result<std::vector<std::int32_t>> try_fold_zero_point(std::span<const std::int32_t> bias,
                                                             std::span<const std::int32_t> row_sums,
                                                             std::int32_t zero_point) {
  if (bias.size() != row_sums.size())
    return make_status(errc::invalid_argument, "bias has ", bias.size(), " values for ", row_sums.size(), " rows");
  std::vector<std::int32_t> out(bias.size());
  for (std::size_t r = 0; r < bias.size(); ++r) {
    const std::int64_t v = std::int64_t(bias[r]) - std::int64_t(zero_point) * row_sums[r];
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
      return make_status(errc::numerical, "bias of channel ", r, " minus the zero-point term overflows int32");
    out[r] = static_cast<std::int32_t>(v);
  }
  return out;
}

}  // namespace ohq::quant

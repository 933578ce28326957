// SPDX-License-Identifier: MIT
/// @file Defines element-wise operations on 8-bit activations as exact 256-entry lookup tables
/// (hardswish, hardsigmoid, sigmoid, tanh, relu, relu6, rescale, or any function).
#pragma once

#include <ohq/quant/format.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ohq::quant {

/// A table over the 256 input bytes. Both sides are raw bytes: the input code's byte (u8: q,
/// s8: q mod 256, i.e. its two's-complement bit pattern) indexes the output code's byte, so a
/// SIMD kernel uses it with a byte shuffle/permute unchanged.
using lut8 = std::array<std::uint8_t, 256>;

/// The code whose raw byte is `byte`, for parameters p (u8: byte; s8: the byte as int8).
constexpr std::int32_t code_of_byte(std::uint8_t byte, const quant_params& p) noexcept {
  return p.qmin < 0 ? std::int32_t(static_cast<std::int8_t>(byte)) : std::int32_t(byte);
}

/// table[byte] = quantize(f(dequantize(code_of_byte(byte)))), with x = in.scale * (q - in.zero_point)
/// and f evaluated in double: the exact rounding (half up) of the double result. Input codes
/// outside [in.qmin, in.qmax] (none for u8/s8) get f of their own value too.
template <class F>
  requires std::is_invocable_r_v<double, F&, double>
lut8 make_lut(const quant_params& in, const quant_params& out, F&& f) {
  lut8 table{};
  for (std::size_t byte = 0; byte < 256; ++byte) {
    const std::int32_t q = code_of_byte(static_cast<std::uint8_t>(byte), in);
    const double x = double(in.scale) * double(q - in.zero_point);
    table[byte] = static_cast<std::uint8_t>(detail::quantize_double(f(x), out));
  }
  return table;
}

/// PyTorch's definitions, in double.
namespace functions {
inline double relu(double x) noexcept { return std::max(x, 0.0); }
inline double relu6(double x) noexcept { return std::clamp(x, 0.0, 6.0); }
inline double hardsigmoid(double x) noexcept { return relu6(x + 3.0) / 6.0; }  ///< relu6(x + 3) / 6
inline double hardswish(double x) noexcept { return x * hardsigmoid(x); }      ///< x * relu6(x + 3) / 6
inline double sigmoid(double x) noexcept { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh(double x) noexcept { return std::tanh(x); }
inline double identity(double x) noexcept { return x; }
}  // namespace functions

/// The element-wise operations with a named table.
enum class elementwise_op : std::uint8_t { identity, relu, relu6, hardsigmoid, hardswish, sigmoid, tanh };

/// The table of a named operation (identity = requantize from `in` to `out`).
inline lut8 make_lut(const quant_params& in, const quant_params& out, elementwise_op op) {
  switch (op) {
    case elementwise_op::identity: return make_lut(in, out, functions::identity);
    case elementwise_op::relu: return make_lut(in, out, functions::relu);
    case elementwise_op::relu6: return make_lut(in, out, functions::relu6);
    case elementwise_op::hardsigmoid: return make_lut(in, out, functions::hardsigmoid);
    case elementwise_op::hardswish: return make_lut(in, out, functions::hardswish);
    case elementwise_op::sigmoid: return make_lut(in, out, functions::sigmoid);
    case elementwise_op::tanh: return make_lut(in, out, functions::tanh);
  }
  return make_lut(in, out, functions::identity);
}

/// Applies a table to n raw bytes (u8 or s8 codes); in and out may alias.
template <class T>
void apply_lut(const lut8& table, const T* in, T* out, std::size_t n) noexcept {
  static_assert(sizeof(T) == 1, "ohq: lookup tables map 8-bit codes");
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(table[static_cast<std::uint8_t>(in[i])]);
}

}  // namespace ohq::quant

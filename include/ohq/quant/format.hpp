// SPDX-License-Identifier: MIT
/// @file Defines ohq's number formats: weight codes at 1–8 bits, u8/s8 activation parameters, and
/// the one rounding rule (half up) with the scalar quantize/dequantize helpers.
///
/// Formulas and the reasons behind each choice: docs/quantization.md.
#pragma once

#include <ohq/config.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace ohq::quant {

// ---------------------------------------------------------------------------------------------
// Rounding
// ---------------------------------------------------------------------------------------------

/// ohq's only rounding rule, everywhere: round half up, floor(v + 1/2). Integer kernels get it
/// with one add and one arithmetic shift (no sign fix-up), so float and integer paths agree.
/// Exact for |v| < 2^51; callers clamp first.
inline double round_half_up(double v) noexcept { return std::floor(v + 0.5); }

/// floor(num / 2^shift + 1/2) for shift in [1, 62]: the integer form of round_half_up.
constexpr std::int64_t rounding_shift(std::int64_t num, int shift) noexcept {
  OHQ_ASSERT(shift >= 1 && shift <= 62);
  return (num + (std::int64_t{1} << (shift - 1))) >> shift;  // C++20: >> is arithmetic
}

namespace detail {
/// Clamps before rounding so the conversion to an integer is always defined; NaN -> `nan_value`.
inline std::int32_t round_clamp(double v, std::int32_t lo, std::int32_t hi, std::int32_t nan_value) noexcept {
  if (std::isnan(v)) return nan_value;
  // floor(t) of the clamped t = v + 1/2 by truncation and a fix-up: round_half_up exactly, without
  // std::floor's libm call in baseline x86-64 builds (no SSE4.1 roundsd), which made quantizing a
  // network's input ~7 ns per value.
  const double t = std::clamp(v, double(lo) - 1.0, double(hi) + 1.0) + 0.5;
  const auto truncated = static_cast<std::int32_t>(t);
  return std::clamp(truncated - (double(truncated) > t ? 1 : 0), lo, hi);
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------

/// How a b-bit weight is coded. The signed value w (what the int32 accumulation multiplies) and
/// the stored field u (what packing writes) are related by w = multiplier * u - offset:
///
/// | bits | w range                      | stored u        | multiplier | offset     |
/// |------|------------------------------|-----------------|------------|------------|
/// | 1    | {-1, +1} (no zero code)      | {0, 1}          | 2          | 1          |
/// | 2..4 | [-2^(b-1), 2^(b-1)-1]        | w + 2^(b-1)     | 1          | 2^(b-1)    |
/// | 5..8 | [-2^(b-1), 2^(b-1)-1]        | w as an int8    | 1          | 0          |
///
/// Full two's-complement range (not [-(2^(b-1)-1), 2^(b-1)-1]) so that every code is used: at 2
/// bits that is 4 levels instead of 3, at 3 bits 8 instead of 7. The per-channel scale is chosen
/// by a search that sees the extra negative level (weights.hpp). 1 bit has no zero code: the
/// levels are +-scale (BinaryConnect/XNOR), the only useful 1-bit signed grid.
struct weight_format {
  unsigned bits;          ///< logical bit-width, 1..8
  std::int32_t code_min;  ///< smallest w
  std::int32_t code_max;  ///< largest w
  std::int32_t multiplier;
  std::int32_t offset;
  unsigned storage_bits;  ///< bits per stored field: 8, 4, 3, 2 or 1 (5–7 use the 8-bit layout)

  /// The stored field of w (precondition: code_min <= w <= code_max, and w != 0 at 1 bit).
  [[nodiscard]] constexpr std::int32_t encode(std::int32_t w) const noexcept {
    return bits == 1 ? (w > 0 ? 1 : 0) : w + offset;
  }
  /// The value w of a stored field (for 8-bit storage u is the int8 read as signed).
  [[nodiscard]] constexpr std::int32_t decode(std::int32_t u) const noexcept { return multiplier * u - offset; }
  /// Number of distinct codes.
  [[nodiscard]] constexpr std::int32_t levels() const noexcept { return bits == 1 ? 2 : code_max - code_min + 1; }
  /// The positive code that the largest |w| maps to under min-max scaling (2^(b-1)-1; 1 at 1 bit).
  [[nodiscard]] constexpr std::int32_t positive_max() const noexcept { return bits == 1 ? 1 : code_max; }
};

/// The format of b-bit weights, b in 1..8.
constexpr weight_format weight_format_of(unsigned bits) noexcept {
  OHQ_ASSERT(bits >= 1 && bits <= 8);
  if (bits == 1) return {1, -1, 1, 2, 1, 1};
  const std::int32_t half = std::int32_t{1} << (bits - 1);
  const unsigned storage = bits >= 5 ? 8u : bits;
  return {bits, -half, half - 1, 1, bits >= 5 ? 0 : half, storage};
}
template <unsigned Bits>
inline constexpr weight_format weight_format_v = [] {
  static_assert(Bits >= 1 && Bits <= 8, "ohq: weight bit-widths are 1 to 8");
  return weight_format_of(Bits);
}();

static_assert(weight_format_v<1>.decode(0) == -1 && weight_format_v<1>.decode(1) == 1);
static_assert(weight_format_v<2>.code_min == -2 && weight_format_v<2>.code_max == 1);
static_assert(weight_format_v<3>.encode(-4) == 0 && weight_format_v<3>.encode(3) == 7);
static_assert(weight_format_v<4>.encode(-8) == 0 && weight_format_v<4>.decode(15) == 7);
static_assert(weight_format_v<8>.code_min == -128 && weight_format_v<8>.decode(-128) == -128);
static_assert(weight_format_v<6>.storage_bits == 8 && weight_format_v<3>.storage_bits == 3);

/// The code of weight x at a positive scale: clamp(round_half_up(x / scale)) at b >= 2; at 1 bit
/// the sign, with x = 0 (and NaN) -> +1. NaN maps to 0 at b >= 2 (callers reject NaN first).
inline std::int32_t quantize_weight(float x, float scale, const weight_format& f) noexcept {
  if (f.bits == 1) return x < 0.0f ? -1 : 1;
  return detail::round_clamp(double(x) / double(scale), f.code_min, f.code_max, 0);
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

/// The 8-bit activation types.
enum class activation_type : std::uint8_t {
  u8,  ///< unsigned, asymmetric: real = scale * (q - zero_point), q in [0, 255]
  s8,  ///< signed, symmetric: real = scale * q, q in [-128, 127], zero_point = 0
};

/// Parameters of a quantized tensor: real = scale * (q - zero_point), q in [qmin, qmax].
struct quant_params {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  std::int32_t qmin = 0;
  std::int32_t qmax = 255;

  [[nodiscard]] constexpr activation_type type() const noexcept {
    return qmin < 0 ? activation_type::s8 : activation_type::u8;
  }
  friend constexpr bool operator==(const quant_params&, const quant_params&) = default;
};

/// u8 asymmetric parameters.
constexpr quant_params u8_params(float scale, std::int32_t zero_point) noexcept { return {scale, zero_point, 0, 255}; }
/// s8 symmetric parameters.
constexpr quant_params s8_params(float scale) noexcept { return {scale, 0, -128, 127}; }

/// The smallest scale ohq chooses for an activation (PyTorch's choice, float epsilon): a range
/// narrower than ~3e-5 is treated as constant, and requantization multipliers stay bounded.
inline constexpr float min_activation_scale = std::numeric_limits<float>::epsilon();

/// Parameters covering the real range [lo, hi] (extended to contain 0, so 0 is exact):
/// u8: scale = (hi - lo) / 255, zero_point = clamp(round_half_up(-lo / scale), 0, 255);
/// s8: scale = max(|lo|, |hi|) / 127, zero_point = 0. scale >= min_activation_scale.
/// Precondition: lo and hi are finite (calibration guarantees it).
inline quant_params params_from_range(double lo, double hi, activation_type type) noexcept {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (type == activation_type::s8) {
    const double amax = std::max(-lo, hi);
    const float scale = std::max(static_cast<float>(amax / 127.0), min_activation_scale);
    return s8_params(scale);
  }
  const float scale = std::max(static_cast<float>((hi - lo) / 255.0), min_activation_scale);
  const std::int32_t zp = detail::round_clamp(-lo / double(scale), 0, 255, 0);
  return u8_params(scale, zp);
}

namespace detail {
/// quantize() of a double: clamp(zero_point + round_half_up(y / scale)); NaN -> zero_point.
inline std::int32_t quantize_double(double y, const quant_params& p) noexcept {
  if (std::isnan(y)) return p.zero_point;
  return round_clamp(std::clamp(y / double(p.scale), -1e12, 1e12) + double(p.zero_point), p.qmin, p.qmax, p.zero_point);
}
}  // namespace detail

/// q = clamp(zero_point + round_half_up(x / scale), qmin, qmax); NaN -> zero_point (real 0),
/// +-Inf saturate. The quotient of two floats, divided in double, never lands on the wrong side
/// of a tie, so this is the exact rounding of the real x / scale.
inline std::int32_t quantize(float x, const quant_params& p) noexcept { return detail::quantize_double(x, p); }
/// real = scale * (q - zero_point), rounded once to float.
inline float dequantize(std::int32_t q, const quant_params& p) noexcept {
  return static_cast<float>(double(p.scale) * double(q - p.zero_point));
}
/// quantize then dequantize: the "fake-quant" value of x.
inline float fake_quantize(float x, const quant_params& p) noexcept { return dequantize(quantize(x, p), p); }

/// Stores code q (in [qmin, qmax]) as the element type T (std::uint8_t or std::int8_t).
template <class T>
constexpr T store_code(std::int32_t q) noexcept {
  static_assert(std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t>,
                "ohq: quantized activations are std::uint8_t (u8) or std::int8_t (s8)");
  return static_cast<T>(q);
}

}  // namespace ohq::quant

// SPDX-License-Identifier: MIT
/// @file Defines bit-exact requantization: fixed-point multipliers, int32 -> 8-bit with fused bias,
/// zero point and ReLU/ReLU6 clamp, the residual add of two differently scaled tensors, the
/// element-wise multiply (squeeze-excite gating) and the multipliers of average pooling.
///
/// One rounding everywhere: out = clamp(zp + floor((acc * m + 2^(shift-1)) / 2^shift)), i.e. the
/// exact rational acc * m / 2^shift rounded half up. docs/quantization.md has the derivations.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/quant/format.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <vector>

namespace ohq::quant {

/// A positive real multiplier M as m * 2^-shift. Normalised: m in [2^30, 2^31), so m fits an int32
/// lane (x86 `vpmuldq`, NEON `smull`) and |acc * m| < 2^62 for any int32 acc; shift in [1, 62].
/// Multipliers below 2^-32 keep shift = 62 with a smaller m (every |acc * M| < 1/2 there, so all
/// results are exact zeros anyway); M = 0 is m = 0.
struct fixed_multiplier {
  std::int32_t multiplier = 0;
  std::int32_t shift = 1;
  /// The real value m * 2^-shift.
  [[nodiscard]] double value() const noexcept { return std::ldexp(double(multiplier), -shift); }
  friend constexpr bool operator==(const fixed_multiplier&, const fixed_multiplier&) = default;
};

/// Largest real multiplier (exclusive) that a fixed_multiplier represents.
inline constexpr double max_real_multiplier = 0x1p30;

/// The fixed-point form of `real`: m = round_half_up(real * 2^shift) with the shift that puts m in
/// [2^30, 2^31). |m * 2^-shift - real| <= 2^-(shift+1), a relative error below 2^-31.
/// Errors: real negative, NaN/Inf, or >= 2^30 (errc::invalid_argument).
inline result<fixed_multiplier> try_make_multiplier(double real) {
  if (!std::isfinite(real) || real < 0.0 || real >= max_real_multiplier)
    return make_status(errc::invalid_argument, "requantization multiplier ", real,
                       " is outside [0, 2^30) (check the scales: input * weight / output)");
  if (real == 0.0) return fixed_multiplier{0, 1};
  int e = 0;
  const double f = std::frexp(real, &e);  // real = f * 2^e, f in [0.5, 1)
  std::int64_t m = static_cast<std::int64_t>(round_half_up(std::ldexp(f, 31)));
  int shift = 31 - e;
  if (m == (std::int64_t{1} << 31)) {  // f rounded up to 1: renormalise
    m >>= 1;
    --shift;
  }
  if (shift < 1)  // real within 2^-2 of 2^30 rounded up to it
    return make_status(errc::invalid_argument, "requantization multiplier ", real, " rounds to 2^30 or more");
  if (shift > 62) {  // too small to normalise: keep the finest shift
    m = static_cast<std::int64_t>(round_half_up(std::ldexp(real, 62)));
    shift = 62;
  }
  OHQ_ASSERT(shift >= 1 && m >= 0 && m < (std::int64_t{1} << 31));
  return fixed_multiplier{static_cast<std::int32_t>(m), shift};
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_make_multiplier(real).value()`.
inline fixed_multiplier make_multiplier(double real) { return try_make_multiplier(real).value(); }
#endif

/// round_half_up(acc * m / 2^shift), exactly (64-bit; cannot overflow for |acc| <= 2^31).
constexpr std::int64_t apply_multiplier(std::int64_t acc, fixed_multiplier f) noexcept {
  return rounding_shift(acc * f.multiplier, f.shift);
}

/// An activation fused into requantization as clamp bounds in the quantized domain.
enum class fused_activation : std::uint8_t { none, relu, relu6 };

/// Clamp bounds [lo, hi] of an output: the code range, narrowed to quantize(0) for ReLU and to
/// quantize(6) for ReLU6. Because quantize is monotone, clamp(quantize(x), lo, hi) ==
/// quantize(relu(x)) (or relu6) exactly, so fake-quant and the integer path agree.
struct clamp_bounds {
  std::int32_t lo = 0;
  std::int32_t hi = 255;
};
inline clamp_bounds bounds_of(const quant_params& out, fused_activation act) noexcept {
  clamp_bounds b{out.qmin, out.qmax};
  if (act != fused_activation::none) b.lo = std::max(b.lo, quantize(0.0f, out));
  if (act == fused_activation::relu6) b.hi = std::min(b.hi, quantize(6.0f, out));
  return b;
}

/// Per-output-channel requantization of an int32 accumulator (bias already added):
/// out = clamp(zero_point + round_half_up(acc * m[c] / 2^shift[c]), lo, hi).
/// Structure of arrays so SIMD kernels load multipliers and shifts directly.
struct requant_params {
  std::vector<std::int32_t> multiplier;  ///< [channels]
  std::vector<std::int32_t> shift;       ///< [channels]
  std::int32_t zero_point = 0;           ///< output zero point
  std::int32_t lo = 0;                   ///< clamp bounds (code range and fused activation)
  std::int32_t hi = 255;

  [[nodiscard]] std::size_t channels() const noexcept { return multiplier.size(); }
  [[nodiscard]] fixed_multiplier channel(std::size_t c) const noexcept { return {multiplier[c], shift[c]}; }
};

/// Requantizes one accumulator of channel c.
inline std::int32_t requantize(std::int32_t acc, const requant_params& p, std::size_t c) noexcept {
  const std::int64_t v = apply_multiplier(acc, p.channel(c)) + p.zero_point;
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(v, p.lo, p.hi));
}
/// The same with explicit parameters (what kernels implement per lane).
constexpr std::int32_t requantize(std::int32_t acc, fixed_multiplier f, std::int32_t zero_point, std::int32_t lo,
                                  std::int32_t hi) noexcept {
  const std::int64_t v = apply_multiplier(acc, f) + zero_point;
  return static_cast<std::int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

/// Requantization of a layer: M[c] = input_scale * weight_scales[c] / output.scale, computed in
/// double from the float scales, then `try_make_multiplier`. Errors name the channel.
inline result<requant_params> try_make_requant(float input_scale, std::span<const float> weight_scales,
                                               const quant_params& output, fused_activation act = fused_activation::none) {
  if (!(std::isfinite(output.scale) && output.scale > 0.0f))
    return make_status(errc::invalid_argument, "output scale ", output.scale, " must be positive and finite");
  requant_params p;
  p.multiplier.resize(weight_scales.size());
  p.shift.resize(weight_scales.size());
  for (std::size_t c = 0; c < weight_scales.size(); ++c) {
    const double real = double(input_scale) * double(weight_scales[c]) / double(output.scale);
    auto f = try_make_multiplier(real);
    if (!f) return make_status(f.error().code(), "channel ", c, ": ", f.error().message());
    p.multiplier[c] = f->multiplier;
    p.shift[c] = f->shift;
  }
  p.zero_point = output.zero_point;
  const clamp_bounds b = bounds_of(output, act);
  p.lo = b.lo;
  p.hi = b.hi;
  return p;
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_make_requant(...).value()`.
inline requant_params make_requant(float input_scale, std::span<const float> weight_scales, const quant_params& output,
                                   fused_activation act = fused_activation::none) {
  return try_make_requant(input_scale, weight_scales, output, act).value();
}
#endif

/// True when sum_k (a_k - z) * w_k + bias provably fits int32 for `depth` terms with
/// |a - z| <= max_abs_activation and |w| <= max_abs_weight: the precondition of exact int32
/// accumulation (e.g. u8 x 8-bit: depth < 65,793 with a zero bias).
constexpr bool accumulation_fits_int32(std::size_t depth, std::int64_t max_abs_activation, std::int64_t max_abs_weight,
                                       std::int64_t max_abs_bias = 0) noexcept {
  const std::int64_t per_term = max_abs_activation * max_abs_weight;
  if (per_term == 0) return max_abs_bias <= std::numeric_limits<std::int32_t>::max();
  if (depth > std::size_t(std::numeric_limits<std::int64_t>::max() / per_term)) return false;
  return std::int64_t(depth) * per_term + max_abs_bias <= std::numeric_limits<std::int32_t>::max();
}

// ---------------------------------------------------------------------------------------------
// Residual add
// ---------------------------------------------------------------------------------------------

/// y = a + b on quantized tensors with their own parameters:
/// y_q = clamp(z_y + floor(((a - z_a) * m_a + (b - z_b) * m_b + 2^(S-1)) / 2^S), lo, hi),
/// with m_a = round_half_up(M_a 2^S), m_b = round_half_up(M_b 2^S), M_a = s_a / s_y,
/// M_b = s_b / s_y and one shift S chosen so max(m_a, m_b) is in [2^30, 2^31). One rounding of the
/// exact sum; |products| < 2^40, so 64-bit arithmetic is exact.
struct add_params {
  std::int32_t multiplier_a = 0;
  std::int32_t multiplier_b = 0;
  std::int32_t shift = 1;
  std::int32_t zero_point_a = 0;
  std::int32_t zero_point_b = 0;
  std::int32_t zero_point = 0;  ///< output
  std::int32_t lo = 0;
  std::int32_t hi = 255;
};

/// Parameters of y = act(a + b). Errors: a non-positive or non-finite scale, or a ratio >= 2^30.
inline result<add_params> try_make_add(const quant_params& a, const quant_params& b, const quant_params& y,
                                       fused_activation act = fused_activation::none) {
  for (const quant_params* p : {&a, &b, &y})
    if (!(std::isfinite(p->scale) && p->scale > 0.0f))
      return make_status(errc::invalid_argument, "residual add: scale ", p->scale, " must be positive and finite");
  const double ma = double(a.scale) / double(y.scale), mb = double(b.scale) / double(y.scale);
  const double mmax = std::max(ma, mb);
  if (!(mmax < max_real_multiplier))
    return make_status(errc::invalid_argument, "residual add: input/output scale ratio ", mmax, " is >= 2^30");
  int e = 0;
  (void)std::frexp(mmax, &e);  // mmax in [2^(e-1), 2^e)
  int shift = std::min(31 - e, 62);
  auto fixed = [&](double m) { return static_cast<std::int64_t>(round_half_up(std::ldexp(m, shift))); };
  std::int64_t fa = fixed(ma), fb = fixed(mb);
  if (std::max(fa, fb) >= (std::int64_t{1} << 31)) {  // the larger one rounded up to 2^31
    if (shift == 1)
      return make_status(errc::invalid_argument, "residual add: input/output scale ratio ", mmax, " rounds to 2^30");
    --shift;
    fa = fixed(ma);
    fb = fixed(mb);
  }
  add_params p;
  p.multiplier_a = static_cast<std::int32_t>(fa);
  p.multiplier_b = static_cast<std::int32_t>(fb);
  p.shift = shift;
  p.zero_point_a = a.zero_point;
  p.zero_point_b = b.zero_point;
  p.zero_point = y.zero_point;
  const clamp_bounds bounds = bounds_of(y, act);
  p.lo = bounds.lo;
  p.hi = bounds.hi;
  return p;
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_make_add(...).value()`.
inline add_params make_add(const quant_params& a, const quant_params& b, const quant_params& y,
                           fused_activation act = fused_activation::none) {
  return try_make_add(a, b, y, act).value();
}
#endif

/// One element of the residual add (codes in, code out).
constexpr std::int32_t add_codes(std::int32_t qa, std::int32_t qb, const add_params& p) noexcept {
  const std::int64_t sum = std::int64_t(qa - p.zero_point_a) * p.multiplier_a +
                           std::int64_t(qb - p.zero_point_b) * p.multiplier_b;
  const std::int64_t v = rounding_shift(sum, p.shift) + p.zero_point;
  return static_cast<std::int32_t>(v < p.lo ? p.lo : (v > p.hi ? p.hi : v));
}

// ---------------------------------------------------------------------------------------------
// Element-wise multiply (squeeze-excite gating)
// ---------------------------------------------------------------------------------------------

/// y = act(a * b) on quantized tensors (e.g. a feature map times its squeeze-excite gate):
/// y_q = clamp(z_y + round_half_up((a - z_a) * (b - z_b) * m / 2^shift), lo, hi),
/// m * 2^-shift ~= s_a * s_b / s_y. The integer product is exact (|.| < 2^16), then one rounding.
struct mul_params {
  fixed_multiplier multiplier;
  std::int32_t zero_point_a = 0;
  std::int32_t zero_point_b = 0;
  std::int32_t zero_point = 0;  ///< output
  std::int32_t lo = 0;
  std::int32_t hi = 255;
};

/// Parameters of y = act(a * b). Errors: a bad scale or s_a * s_b / s_y >= 2^30.
inline result<mul_params> try_make_mul(const quant_params& a, const quant_params& b, const quant_params& y,
                                       fused_activation act = fused_activation::none) {
  for (const quant_params* p : {&a, &b, &y})
    if (!(std::isfinite(p->scale) && p->scale > 0.0f))
      return make_status(errc::invalid_argument, "multiply: scale ", p->scale, " must be positive and finite");
  auto f = try_make_multiplier(double(a.scale) * double(b.scale) / double(y.scale));
  if (!f) return make_status(f.error().code(), "multiply: ", f.error().message());
  const clamp_bounds bounds = bounds_of(y, act);
  return mul_params{*f, a.zero_point, b.zero_point, y.zero_point, bounds.lo, bounds.hi};
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_make_mul(...).value()`.
inline mul_params make_mul(const quant_params& a, const quant_params& b, const quant_params& y,
                           fused_activation act = fused_activation::none) {
  return try_make_mul(a, b, y, act).value();
}
#endif

/// One element of the multiply (codes in, code out).
constexpr std::int32_t mul_codes(std::int32_t qa, std::int32_t qb, const mul_params& p) noexcept {
  const std::int64_t v = apply_multiplier(std::int64_t(qa - p.zero_point_a) * (qb - p.zero_point_b), p.multiplier) +
                         p.zero_point;
  return static_cast<std::int32_t>(v < p.lo ? p.lo : (v > p.hi ? p.hi : v));
}

// ---------------------------------------------------------------------------------------------
// Average pooling
// ---------------------------------------------------------------------------------------------

/// Average pooling: y = clamp(z_out + round_half_up(M_n * sum_i (x_i - z_in)), lo, hi) with
/// M_n = s_in / (s_out * n) for a window of n inputs: the integer sum, then one rounding.
struct avg_pool_params {
  std::int32_t in_zero_point = 0;
  std::int32_t zero_point = 0;  ///< output
  std::int32_t lo = 0;
  std::int32_t hi = 255;
  std::size_t first_count = 1;                 ///< multipliers[i] is for a window of first_count + i inputs
  std::vector<fixed_multiplier> multipliers;

  [[nodiscard]] fixed_multiplier for_count(std::size_t n) const noexcept {
    OHQ_ASSERT(n >= first_count && n - first_count < multipliers.size());
    return multipliers[n - first_count];
  }
};

/// Multipliers for window sizes min_count..max_count (global pooling: both H*W; a k x k window
/// without count_include_pad: 1..k*k).
inline result<avg_pool_params> try_make_avg_pool(const quant_params& in, const quant_params& out, std::size_t min_count,
                                                 std::size_t max_count, fused_activation act = fused_activation::none) {
  if (min_count == 0 || max_count < min_count)
    return make_status(errc::invalid_argument, "average pool window counts [", min_count, ", ", max_count, "] are empty");
  if (!(std::isfinite(out.scale) && out.scale > 0.0f))
    return make_status(errc::invalid_argument, "average pool: output scale ", out.scale, " must be positive and finite");
  avg_pool_params p;
  p.in_zero_point = in.zero_point;
  p.zero_point = out.zero_point;
  const clamp_bounds b = bounds_of(out, act);
  p.lo = b.lo;
  p.hi = b.hi;
  p.first_count = min_count;
  for (std::size_t n = min_count; n <= max_count; ++n) {
    auto f = try_make_multiplier(double(in.scale) / (double(out.scale) * double(n)));
    if (!f) return make_status(f.error().code(), "average pool: ", f.error().message());
    p.multipliers.push_back(*f);
  }
  return p;
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_make_avg_pool(...).value()`.
inline avg_pool_params make_avg_pool(const quant_params& in, const quant_params& out, std::size_t min_count,
                                     std::size_t max_count, fused_activation act = fused_activation::none) {
  return try_make_avg_pool(in, out, min_count, max_count, act).value();
}
#endif

}  // namespace ohq::quant

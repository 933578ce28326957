// SPDX-License-Identifier: MIT
/// @file Defines weight quantization: per-channel (or per-tensor) symmetric scales at 1–8 bits by
/// min-max or MSE-optimal clipping, `quantized_weights`, and int32 bias quantization.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/quant/format.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace ohq::quant {

/// One scale per output channel (row) or one for the whole tensor.
enum class weight_granularity : std::uint8_t { per_channel, per_tensor };

/// How a scale is chosen from the weights it covers.
enum class weight_clipping : std::uint8_t {
  minmax,  ///< scale = max|w| / (2^(b-1) - 1): nothing is clipped
  mse,     ///< the scale among `mse_grid` shrunk min-max candidates with the least squared error
};

/// Options of `try_quantize_weights`.
struct weight_quant_options {
  unsigned bits = 8;  ///< 1..8
  weight_granularity granularity = weight_granularity::per_channel;
  weight_clipping clipping = weight_clipping::minmax;
  /// MSE search: candidates scale_minmax * (1 - i / mse_grid) for i = 0 .. floor(mse_max_shrink * mse_grid).
  unsigned mse_grid = 100;
  double mse_max_shrink = 0.9;
};

/// Scales below this are treated as an all-zero channel (see `try_choose_weight_scales`).
inline constexpr float min_weight_scale = 0x1p-100f;

/// Quantized weights, unpacked: w[r][c] = scales[r] * codes[r * cols + c].
/// Per-tensor quantization stores the one scale in every row, so consumers never branch on it.
struct quantized_weights {
  weight_format format = weight_format_of(8);
  std::size_t rows = 0;  ///< output channels
  std::size_t cols = 0;  ///< input features K (C/G * k * k for a convolution)
  std::vector<std::int8_t> codes;  ///< [rows][cols] signed values w
  std::vector<float> scales;       ///< [rows]

  [[nodiscard]] std::int32_t code(std::size_t r, std::size_t c) const noexcept { return codes[r * cols + c]; }
  [[nodiscard]] float value(std::size_t r, std::size_t c) const noexcept {
    return static_cast<float>(double(scales[r]) * double(code(r, c)));
  }
  /// All dequantized weights, [rows][cols].
  [[nodiscard]] std::vector<float> dequantize() const {
    std::vector<float> out(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) out[r * cols + c] = value(r, c);
    return out;
  }
  /// sum_c codes[r][c]: the zero-point correction term of row r.
  [[nodiscard]] std::int32_t row_sum(std::size_t r) const noexcept {
    std::int32_t s = 0;
    for (std::size_t c = 0; c < cols; ++c) s += code(r, c);
    return s;
  }
};

namespace detail {

inline status check_weight_args(std::span<const float> w, std::size_t rows, std::size_t cols, unsigned bits) {
  if (bits < 1 || bits > 8) return make_status(errc::invalid_argument, "weight bit-width must be 1..8, got ", bits);
  if (rows == 0 || cols == 0)
    return make_status(errc::invalid_argument, "weight matrix must be non-empty, got ", rows, "x", cols);
  if (w.size() != rows * cols)
    return make_status(errc::invalid_argument, "weight matrix ", rows, "x", cols, " needs ", rows * cols,
                       " values, got ", w.size());
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!std::isfinite(w[i]))
      return make_status(errc::numerical, "weight [", i / cols, "][", i % cols, "] is ",
                         std::isnan(w[i]) ? "NaN" : "infinite");
  return {};
}

inline double max_abs(std::span<const float> w) noexcept {
  double m = 0;
  for (float x : w) m = std::max(m, double(std::fabs(x)));
  return m;
}
inline double mean_abs(std::span<const float> w) noexcept {
  double s = 0;
  for (float x : w) s += std::fabs(double(x));
  return w.empty() ? 0.0 : s / double(w.size());
}

/// sum (w - scale * q(w))^2 over the span.
inline double weight_sq_error(std::span<const float> w, float scale, const weight_format& f) noexcept {
  double e = 0;
  for (float x : w) {
    const double d = double(x) - double(scale) * quantize_weight(x, scale, f);
    e += d * d;
  }
  return e;
}

/// The scale of one group of weights; 0 when the group is all zero (below min_weight_scale).
inline float group_scale(std::span<const float> w, const weight_format& f, const weight_quant_options& o) {
  // 1 bit: mean|w| is the closed-form least-squares scale for sign codes (XNOR-Net), so both
  // methods use it.
  if (f.bits == 1) {
    const float s = static_cast<float>(mean_abs(w));
    return s >= min_weight_scale ? s : 0.0f;
  }
  const float base = static_cast<float>(max_abs(w) / f.positive_max());
  if (!(base >= min_weight_scale)) return 0.0f;
  if (o.clipping == weight_clipping::minmax) return base;
  float best = base;
  double best_err = weight_sq_error(w, base, f);
  const auto steps = static_cast<unsigned>(std::floor(std::clamp(o.mse_max_shrink, 0.0, 0.999) * o.mse_grid));
  for (unsigned i = 1; i <= steps; ++i) {
    const float s = static_cast<float>(double(base) * (1.0 - double(i) / o.mse_grid));
    if (!(s >= min_weight_scale)) break;
    const double e = weight_sq_error(w, s, f);
    if (e < best_err) {  // strict: ties keep the larger scale (less clipping), deterministically
      best_err = e;
      best = s;
    }
  }
  return best;
}

}  // namespace detail

/// The scales of a [rows][cols] weight matrix (one per row; per-tensor repeats one value).
///
/// A row that is all zero (every candidate scale below `min_weight_scale`) gets a fallback so no
/// scale is 0 or NaN: at b >= 2 the per-tensor min-max scale (its codes are 0, exact), or 1 when
/// the whole tensor is zero; at 1 bit, which has no zero code, 1/256 of the tensor's mean|w| (or
/// 1/256), keeping the unavoidable +-scale error small while the int32 bias stays representable.
/// Errors: bits outside 1..8, a size mismatch, NaN or Inf weights (errc::numerical, naming [r][c]).
inline result<std::vector<float>> try_choose_weight_scales(std::span<const float> w, std::size_t rows,
                                                           std::size_t cols, const weight_quant_options& o) {
  OHQ_TRY_STATUS(detail::check_weight_args(w, rows, cols, o.bits));
  const weight_format f = weight_format_of(o.bits);
  float fallback = 0;
  if (f.bits == 1) {
    const double m = detail::mean_abs(w);
    fallback = static_cast<float>((m > 0 ? m : 1.0) / 256.0);
  } else {
    fallback = static_cast<float>(detail::max_abs(w) / f.positive_max());
    if (!(fallback >= min_weight_scale)) fallback = 1.0f;
  }
  std::vector<float> scales(rows);
  if (o.granularity == weight_granularity::per_tensor) {
    float s = detail::group_scale(w, f, o);
    if (s == 0.0f) s = f.bits == 1 ? fallback : 1.0f;
    std::fill(scales.begin(), scales.end(), s);
    return scales;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const float s = detail::group_scale(w.subspan(r * cols, cols), f, o);
    scales[r] = s == 0.0f ? fallback : s;
  }
  return scales;
}

/// Round-to-nearest codes of w at the given (positive, finite) scales: the baseline that GPTQ
/// improves on. Errors as `try_choose_weight_scales`, plus a bad scale.
inline result<quantized_weights> try_quantize_weights_with_scales(std::span<const float> w, std::size_t rows,
                                                                  std::size_t cols, unsigned bits,
                                                                  std::span<const float> scales) {
  OHQ_TRY_STATUS(detail::check_weight_args(w, rows, cols, bits));
  if (scales.size() != rows)
    return make_status(errc::invalid_argument, "expected ", rows, " weight scales, got ", scales.size());
  for (std::size_t r = 0; r < rows; ++r)
    if (!(std::isfinite(scales[r]) && scales[r] > 0.0f))
      return make_status(errc::numerical, "weight scale of row ", r, " is ", scales[r], " (must be positive and finite)");
  quantized_weights q;
  q.format = weight_format_of(bits);
  q.rows = rows;
  q.cols = cols;
  q.scales.assign(scales.begin(), scales.end());
  q.codes.resize(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      q.codes[r * cols + c] = static_cast<std::int8_t>(quantize_weight(w[r * cols + c], scales[r], q.format));
  return q;
}

/// Quantizes a [rows][cols] weight matrix (rows = output channels) with round-to-nearest at the
/// scales `try_choose_weight_scales` picks.
inline result<quantized_weights> try_quantize_weights(std::span<const float> w, std::size_t rows, std::size_t cols,
                                                      const weight_quant_options& o = {}) {
  auto scales = try_choose_weight_scales(w, rows, cols, o);
  if (!scales) return scales.error();
  return try_quantize_weights_with_scales(w, rows, cols, o.bits, *scales);
}

/// The scale of an int32 bias: input_scale * weight_scale, computed in double (the same product
/// that the requantization multiplier uses).
inline double bias_scale(float input_scale, float weight_scale) noexcept {
  return double(input_scale) * double(weight_scale);
}

/// bias_q[r] = round_half_up(bias[r] / (input_scale * weight_scales[r])). Errors
/// (errc::numerical) for NaN/Inf and for a value outside int32, naming the channel.
inline result<std::vector<std::int32_t>> try_quantize_bias(std::span<const float> bias, float input_scale,
                                                           std::span<const float> weight_scales) {
  if (bias.size() != weight_scales.size())
    return make_status(errc::invalid_argument, "bias has ", bias.size(), " values for ", weight_scales.size(),
                       " weight scales");
  std::vector<std::int32_t> out(bias.size());
  for (std::size_t r = 0; r < bias.size(); ++r) {
    const double s = bias_scale(input_scale, weight_scales[r]);
    if (!std::isfinite(bias[r])) return make_status(errc::numerical, "bias of channel ", r, " is not finite");
    if (!(std::isfinite(s) && s > 0.0))
      return make_status(errc::numerical, "bias scale of channel ", r, " is ", s, " (must be positive)");
    const double v = round_half_up(double(bias[r]) / s);
    if (!(v >= double(std::numeric_limits<std::int32_t>::min()) && v <= double(std::numeric_limits<std::int32_t>::max())))
      return make_status(errc::numerical, "bias of channel ", r, " (", bias[r], ") overflows int32 at scale ", s);
    out[r] = static_cast<std::int32_t>(v);
  }
  return out;
}

#ifndef OHQ_NO_EXCEPTIONS
/// `try_choose_weight_scales(...).value()`.
inline std::vector<float> choose_weight_scales(std::span<const float> w, std::size_t rows, std::size_t cols,
                                               const weight_quant_options& o) {
  return try_choose_weight_scales(w, rows, cols, o).value();
}
/// `try_quantize_weights(...).value()`.
inline quantized_weights quantize_weights(std::span<const float> w, std::size_t rows, std::size_t cols,
                                          const weight_quant_options& o = {}) {
  return try_quantize_weights(w, rows, cols, o).value();
}
/// `try_quantize_weights_with_scales(...).value()`.
inline quantized_weights quantize_weights_with_scales(std::span<const float> w, std::size_t rows, std::size_t cols,
                                                      unsigned bits, std::span<const float> scales) {
  return try_quantize_weights_with_scales(w, rows, cols, bits, scales).value();
}
/// `try_quantize_bias(...).value()`.
inline std::vector<std::int32_t> quantize_bias(std::span<const float> bias, float input_scale,
                                               std::span<const float> weight_scales) {
  return try_quantize_bias(bias, input_scale, weight_scales).value();
}
#endif

}  // namespace ohq::quant

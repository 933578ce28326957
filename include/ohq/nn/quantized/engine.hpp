// SPDX-License-Identifier: MIT
/// @file Defines `quantized_network`: a quant_graph with every weight quantized at its own
/// bit-width (1–8) and every activation at 8 bits (u8, asymmetric), and two ways to run it:
///
/// - `run_integer`: the integer reference engine. Every op is a scalar reference of quant/
///   (reference.hpp) on 8-bit codes with int32 accumulators and single-rounding requantization:
///   plain loops, the bit-exact truth for every SIMD kernel.
/// - `run_fake_quant`: the same assignment simulated in float (dequantized weights and bias,
///   fp32 arithmetic, every activation rounded to its grid). It differs from the integer engine
///   only where float sums land within rounding error of a code boundary (docs/quantization.md 7).
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/nn/quantized/calibration.hpp>
#include <ohq/nn/quantized/graph.hpp>
#include <ohq/quant/calibrate.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/gptq.hpp>
#include <ohq/quant/lut.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>
#include <ohq/quant/weights.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ohq::nn {

/// How weights are rounded to their grid.
enum class weight_rounding : std::uint8_t {
  nearest,  ///< round to nearest at the chosen scales
  gptq,     ///< GPTQ error-compensating rounding from the calibration inputs (quant/gptq.hpp)
};
constexpr std::string_view to_string(weight_rounding r) noexcept { return r == weight_rounding::gptq ? "gptq" : "nearest"; }
/// Parses "nearest" or "gptq".
inline result<weight_rounding> try_parse_weight_rounding(std::string_view s) {
  if (s == "nearest") return weight_rounding::nearest;
  if (s == "gptq") return weight_rounding::gptq;
  return make_status(errc::invalid_argument, "unknown rounding '", s, "' (expected nearest or gptq)");
}

/// What to quantize and how.
struct quantization_options {
  /// Weight bits per quantizable layer (network order, 1..8); empty: every layer at `bits`.
  std::vector<unsigned> weight_bits;
  unsigned bits = 8;
  quant::calibration_method calibration = quant::calibration_method::minmax;
  quant::calibration_options calibration_options;
  /// The network's output (the logits) keeps its min-max range whatever `calibration` clips
  /// elsewhere: there the largest values are the answer, not outliers. False applies
  /// `calibration` to it too.
  bool output_minmax = true;
  /// Per-value methods (index = graph value), overriding `calibration` and `output_minmax`;
  /// empty: none. For sensitivity studies and hand-tuned exceptions.
  std::vector<quant::calibration_method> value_calibration;
  weight_rounding rounding = weight_rounding::nearest;
  /// Per-channel scale search; MSE clipping (the default) matters most at 4 bits and fewer.
  quant::weight_clipping clipping = quant::weight_clipping::mse;
  /// Shift each bias so the layer's mean output over the calibration set is unchanged.
  bool bias_correction = false;
  quant::gptq_options gptq;

  /// True when building needs the layers' input statistics (calibration_settings::layer_inputs).
  [[nodiscard]] bool needs_layer_inputs() const noexcept { return rounding == weight_rounding::gptq || bias_correction; }
};

/// The integer form of one op: what its reference needs.
struct quantized_op {
  quant::quantized_weights weights;   ///< conv2d/dense
  std::vector<std::int32_t> bias;     ///< conv2d/dense, at input_scale * weight_scale[r]
  quant::requant_params requant;      ///< conv2d/dense
  quant::avg_pool_params pool;        ///< avg_pool/global_avg_pool
  quant::add_params add;              ///< add
  quant::mul_params mul;              ///< scale_channels
  quant::lut8 table{};                ///< elementwise
  std::vector<float> fake_weight;     ///< conv2d/dense: dequantized weights (fake-quant)
  std::vector<float> fake_bias;       ///< conv2d/dense: dequantized int32 bias (fake-quant)
};

/// A quant_graph quantized with one weight bit-width per layer. Keeps a pointer to the graph.
class quantized_network {
 public:
  /// Quantizes every op of `g` from the calibration record. Errors name the layer: bad bit-widths
  /// or counts, missing layer input statistics for GPTQ/bias correction, degenerate numbers.
  static result<quantized_network> try_build(const quant_graph& g, const calibration_record& rec,
                                             const quantization_options& o) {
    quantized_network q;
    q.graph_ = &g;
    if (rec.values.size() != g.values.size())
      return make_status(errc::invalid_argument, "the calibration record has ", rec.values.size(),
                         " values; the graph has ", g.values.size());
    q.bits_ = o.weight_bits.empty() ? std::vector<unsigned>(g.quantizable_layers, o.bits) : o.weight_bits;
    if (q.bits_.size() != g.quantizable_layers)
      return make_status(errc::invalid_argument, "expected ", g.quantizable_layers, " weight bit-widths, got ",
                         q.bits_.size());
    for (std::size_t i = 0; i < q.bits_.size(); ++i)
      if (q.bits_[i] < 1 || q.bits_[i] > 8)
        return make_status(errc::invalid_argument, "quantizable layer ", i, ": weight bits ", q.bits_[i],
                           " are outside 1..8");
    if (!o.value_calibration.empty() && o.value_calibration.size() != g.values.size())
      return make_status(errc::invalid_argument, "expected ", g.values.size(), " per-value calibration methods, got ",
                         o.value_calibration.size());
    if (o.needs_layer_inputs() && rec.layers.size() != g.quantizable_layers)
      return make_status(errc::invalid_argument, "GPTQ and bias correction need the layers' input statistics: "
                                                 "calibrate with calibration_settings::layer_inputs = true");

    // Activation parameters: calibrated per value; max pooling keeps its input's.
    q.params_.resize(g.values.size());
    for (std::size_t v = 0; v < g.values.size(); ++v) {
      if (g.final_softmax && v == g.ops.back().output) continue;  // float probabilities, never codes
      if (g.values[v].shares_params_with != quant_value::npos) {
        q.params_[v] = q.params_[g.values[v].shares_params_with];
        continue;
      }
      const auto method = !o.value_calibration.empty() ? o.value_calibration[v]
                          : v == g.output && o.output_minmax ? quant::calibration_method::minmax
                                                             : o.calibration;
      auto p = quant::try_calibrate(rec.values[v], method, quant::activation_type::u8, o.calibration_options);
      if (!p) return make_status(p.error().code(), "calibrating ", g.value_name(v), ": ", p.error().message());
      q.params_[v] = *p;
    }
    q.ops_.resize(g.ops.size());
    for (std::size_t i = 0; i < g.ops.size(); ++i)
      if (auto s = q.build_op(g.ops[i], rec, o, q.ops_[i]); !s.ok())
        return make_status(s.code(), "layer ", g.ops[i].path, " (", g.ops[i].label, "): ", s.message());
    q.codes_.resize(g.values.size());
    return q;
  }

  [[nodiscard]] const quant_graph& graph() const noexcept { return *graph_; }
  [[nodiscard]] std::span<const unsigned> weight_bits() const noexcept { return bits_; }
  /// Quantization parameters of each value (0: the network input).
  [[nodiscard]] const quant::quant_params& params(std::size_t value) const { return params_.at(value); }
  [[nodiscard]] const quantized_op& op(std::size_t i) const { return ops_.at(i); }
  /// The codes of a value after the last run_integer ([batch][size]).
  [[nodiscard]] std::span<const std::uint8_t> codes(std::size_t value) const { return codes_.at(value); }

  /// The integer reference engine: quantizes `input` ([batch][input size] floats) with the input's
  /// parameters, runs every op on codes, and returns the dequantized output ([batch][outputs];
  /// softmax applied when the network ends with one), valid until the next run.
  std::span<const float> run_integer(const float* input, std::size_t batch) {
    const quant_graph& g = *graph_;
    for (std::size_t v = 0; v < g.values.size(); ++v) codes_[v].resize(batch * g.values[v].size());
    quant::quantize_reference(input, codes_[0].data(), batch * g.values[0].size(), params_[0]);
    for (std::size_t i = 0; i < g.ops.size(); ++i) run_op(g.ops[i], ops_[i], batch);
    const std::size_t out = g.output, n = g.values[out].size();
    output_.resize(batch * n);
    quant::dequantize_reference(codes_[out].data(), output_.data(), batch * n, params_[out]);
    if (g.final_softmax) kernels::fp32::softmax(output_.data(), output_.data(), batch, n);
    return output_;
  }

  /// The float simulation of the same assignment ("fake quantization"), for comparison.
  std::span<const float> run_fake_quant(const float* input, std::size_t batch) {
    if (!fake_) fake_.emplace(*graph_);
    const std::span<float> out = fake_->run(
        input, batch,
        [this](const quant_op& op) {
          const quantized_op& qo = ops_[std::size_t(&op - graph_->ops.data())];
          return std::pair{std::span<const float>(qo.fake_weight), std::span<const float>(qo.fake_bias)};
        },
        [this](std::size_t v, std::span<float> x) {
          for (float& e : x) e = quant::fake_quantize(e, params_[v]);
        });
    return out;
  }

 private:
  status build_op(const quant_op& op, const calibration_record& rec, const quantization_options& o, quantized_op& q) {
    const quant_graph& g = *graph_;
    const quant::quant_params& in = params_[op.inputs[0]];
    const quant::quant_params& out = params_[op.output];
    switch (op.kind) {
      case quant_op_kind::conv2d:
      case quant_op_kind::dense: return build_weighted(op, rec, o, q);
      case quant_op_kind::max_pool:
      case quant_op_kind::softmax: return {};
      case quant_op_kind::avg_pool:
      case quant_op_kind::global_avg_pool: {
        // multipliers for every window count: 1..k*k (windows clipped by padding), or H*W
        const std::size_t pixels = g.values[op.inputs[0]].height * g.values[op.inputs[0]].width;
        const bool global = op.kind == quant_op_kind::global_avg_pool;
        auto p = quant::try_make_avg_pool(in, out, global ? pixels : 1, global ? pixels : op.pool.kernel * op.pool.kernel);
        if (!p) return p.error();
        q.pool = std::move(*p);
        return {};
      }
      case quant_op_kind::add: {
        auto p = quant::try_make_add(in, params_[op.inputs[1]], out, op.fused);
        if (!p) return p.error();
        q.add = *p;
        return {};
      }
      case quant_op_kind::scale_channels: {
        auto p = quant::try_make_mul(in, params_[op.inputs[1]], out);
        if (!p) return p.error();
        q.mul = *p;
        return {};
      }
      case quant_op_kind::elementwise: q.table = quant::make_lut(in, out, op.function); return {};
    }
    return {};
  }

  status build_weighted(const quant_op& op, const calibration_record& rec, const quantization_options& o,
                        quantized_op& q) {
    const auto& geo = op.geometry;
    const std::size_t rows = geo.out_channels, cols = geo.patch_size(), groups = geo.groups;
    const std::size_t rows_g = rows / groups;
    const unsigned bits = bits_[op.layer_index];
    quant::weight_quant_options wopt;
    wopt.bits = bits;
    wopt.clipping = o.clipping;

    std::vector<float> bias(op.bias.begin(), op.bias.end());
    q.weights.format = quant::weight_format_of(bits);
    q.weights.rows = rows;
    q.weights.cols = cols;
    q.weights.codes.resize(rows * cols);
    q.weights.scales.resize(rows);
    for (std::size_t grp = 0; grp < groups; ++grp) {
      const std::span<const float> w = op.weight.subspan(grp * rows_g * cols, rows_g * cols);
      result<quant::quantized_weights> part = o.rounding == weight_rounding::gptq
          ? quant::try_gptq(w, rows_g, cols, rec.layers[op.layer_index].groups[grp].hessian(), wopt, o.gptq)
          : quant::try_quantize_weights(w, rows_g, cols, wopt);
      if (!part) return part.error();
      std::copy(part->codes.begin(), part->codes.end(), q.weights.codes.begin() + std::ptrdiff_t(grp * rows_g * cols));
      std::copy(part->scales.begin(), part->scales.end(), q.weights.scales.begin() + std::ptrdiff_t(grp * rows_g));
      if (o.bias_correction) {
        const auto mean = rec.layers[op.layer_index].groups[grp].mean();
        auto corrected = quant::try_correct_bias(w, *part, mean, std::span<const float>(bias).subspan(grp * rows_g, rows_g));
        if (!corrected) return corrected.error();
        std::copy(corrected->begin(), corrected->end(), bias.begin() + std::ptrdiff_t(grp * rows_g));
      }
    }
    const quant::quant_params& in = params_[op.inputs[0]];
    auto qb = quant::try_quantize_bias(bias, in.scale, q.weights.scales);
    if (!qb) return qb.error();
    q.bias = std::move(*qb);
    std::int64_t max_bias = 0;
    for (std::int32_t b : q.bias) max_bias = std::max<std::int64_t>(max_bias, std::abs(std::int64_t(b)));
    const std::int64_t max_code = std::max(-std::int64_t(q.weights.format.code_min), std::int64_t(q.weights.format.code_max));
    if (!quant::accumulation_fits_int32(cols, 255, max_code, max_bias))
      return make_status(errc::numerical, "the int32 accumulator could overflow (", cols, " products of ", bits,
                         "-bit weights with a bias up to ", max_bias, ")");
    auto rq = quant::try_make_requant(in.scale, q.weights.scales, params_[op.output], op.fused);
    if (!rq) return rq.error();
    q.requant = std::move(*rq);
    q.fake_weight = q.weights.dequantize();
    q.fake_bias.resize(rows);
    for (std::size_t r = 0; r < rows; ++r)
      q.fake_bias[r] = static_cast<float>(double(q.bias[r]) * quant::bias_scale(in.scale, q.weights.scales[r]));
    return {};
  }

  void run_op(const quant_op& op, const quantized_op& q, std::size_t batch) {
    const quant_graph& g = *graph_;
    const quant_value& iv = g.values[op.inputs[0]];
    const quant_value& ov = g.values[op.output];
    const std::uint8_t* x = codes_[op.inputs[0]].data();
    std::uint8_t* y = codes_[op.output].data();
    const std::int32_t zx = params_[op.inputs[0]].zero_point;
    switch (op.kind) {
      case quant_op_kind::dense:
        quant::dense_reference(x, batch, zx, q.weights, q.bias.data(), q.requant, y);
        break;
      case quant_op_kind::conv2d: {
        const quant::conv2d_shape shape = op.conv_shape();
        scratch_.resize(quant::conv2d_scratch_size(shape));
        for (std::size_t n = 0; n < batch; ++n)
          quant::conv2d_reference(x + n * iv.size(), shape, zx, q.weights, q.bias.data(), q.requant, y + n * ov.size(),
                                  scratch_.data());
        break;
      }
      case quant_op_kind::max_pool:
        for (std::size_t n = 0; n < batch; ++n)
          quant::max_pool2d_reference(x + n * iv.size(), iv.channels, iv.height, iv.width, op.pool.kernel,
                                      op.pool.stride, op.pool.padding, y + n * ov.size());
        break;
      case quant_op_kind::avg_pool:
        for (std::size_t n = 0; n < batch; ++n)
          quant::avg_pool2d_reference(x + n * iv.size(), iv.channels, iv.height, iv.width, op.pool.kernel,
                                      op.pool.stride, op.pool.padding, op.count_include_pad, q.pool, y + n * ov.size());
        break;
      case quant_op_kind::global_avg_pool:
        for (std::size_t n = 0; n < batch; ++n)
          quant::global_avg_pool_reference(x + n * iv.size(), iv.channels, iv.height * iv.width, q.pool,
                                           y + n * ov.size());
        break;
      case quant_op_kind::add:
        quant::add_reference(x, codes_[op.inputs[1]].data(), y, batch * ov.size(), q.add);
        break;
      case quant_op_kind::scale_channels:
        for (std::size_t n = 0; n < batch; ++n)
          quant::scale_channels_reference(x + n * iv.size(), codes_[op.inputs[1]].data() + n * iv.channels,
                                          y + n * ov.size(), iv.channels, iv.height * iv.width, q.mul);
        break;
      case quant_op_kind::elementwise: quant::apply_lut(q.table, x, y, batch * ov.size()); break;
      case quant_op_kind::softmax: break;  // applied in float to the dequantized output
    }
  }

  const quant_graph* graph_ = nullptr;
  std::vector<unsigned> bits_;
  std::vector<quant::quant_params> params_;
  std::vector<quantized_op> ops_;
  std::vector<std::vector<std::uint8_t>> codes_;
  std::vector<std::uint8_t> scratch_;
  std::vector<float> output_;
  std::optional<float_interpreter> fake_;  // created on first use (holds float buffers)
};

}  // namespace ohq::nn

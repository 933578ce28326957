// SPDX-License-Identifier: MIT
/// @file Defines the calibration pass: the fp32 network runs once over a calibration set and
/// records what every calibration method and every rounding method needs — a `tensor_stats` for
/// each value of the quant_graph (min/max, histograms of x and |x|) and, on request, each weighted
/// layer's input statistics (H = X^T X and E[x] per group, for GPTQ and bias correction).
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/nn/quantized/graph.hpp>
#include <ohq/quant/gptq.hpp>
#include <ohq/quant/histogram.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace ohq::nn {

/// Options of the calibration pass.
struct calibration_settings {
  std::size_t batch = 32;                 ///< samples per fp32 forward pass
  std::size_t histogram_bins = 2048;      ///< per value (x and |x|)
  bool layer_inputs = false;              ///< record H = X^T X and E[x] of each weighted layer's input
};

/// Input statistics of one weighted layer: one accumulator per group (rows of X are the layer's
/// input vectors, or its im2col patches for a convolution).
struct layer_input_stats {
  std::vector<quant::hessian_accumulator> groups;
};

/// Everything a calibration pass records.
struct calibration_record {
  std::vector<quant::tensor_stats> values;  ///< per graph value (0: the network input)
  std::vector<layer_input_stats> layers;    ///< per quantizable layer; empty unless requested
  std::size_t samples = 0;
};

namespace detail {

/// Adds the rows (patches) of one sample's input of a weighted op to its accumulators.
inline void accumulate_layer_input(const quant_op& op, const float* x, std::size_t batch, std::size_t in_size,
                                   layer_input_stats& stats, std::vector<float>& col, std::vector<float>& rows) {
  const auto& g = op.geometry;
  if (op.kind == quant_op_kind::dense) {
    stats.groups[0].add(x, batch, in_size);
    return;
  }
  const std::size_t cin_g = g.in_channels_per_group(), patch = g.patch_size(), pixels = g.out_pixels();
  col.resize(patch * pixels);
  rows.resize(patch * pixels);
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t grp = 0; grp < g.groups; ++grp) {
      const float* group_in = x + n * in_size + grp * cin_g * g.in_height * g.in_width;
      kernels::fp32::im2col(group_in, cin_g, g, col.data());  // [patch][pixels]
      for (std::size_t k = 0; k < patch; ++k)
        for (std::size_t p = 0; p < pixels; ++p) rows[p * patch + k] = col[k * pixels + p];
      stats.groups[grp].add(rows.data(), pixels, patch);
    }
}

}  // namespace detail

/// Runs the fp32 graph over `count` samples laid out [count][input size] and records each
/// value's statistics (and the weighted layers' input statistics when asked).
/// Errors: no samples, or an input of the wrong size.
inline result<calibration_record> try_calibrate(const quant_graph& g, std::span<const float> inputs, std::size_t count,
                                                const calibration_settings& s = {}) {
  const std::size_t in_size = g.values.at(0).size();
  if (count == 0) return make_status(errc::invalid_argument, "calibration needs at least one sample");
  if (inputs.size() != count * in_size)
    return make_status(errc::shape_mismatch, "calibration inputs hold ", inputs.size(), " floats; ", count,
                       " samples of ", in_size, " need ", count * in_size);
  calibration_record rec;
  rec.values.reserve(g.values.size());
  for (std::size_t v = 0; v < g.values.size(); ++v) rec.values.emplace_back(s.histogram_bins);
  if (s.layer_inputs) {
    rec.layers.resize(g.quantizable_layers);
    for (const quant_op& op : g.ops)
      if (op.has_weights())
        for (std::size_t grp = 0; grp < op.geometry.groups; ++grp)
          rec.layers[op.layer_index].groups.emplace_back(op.geometry.patch_size());
  }
  float_interpreter fp32(g);
  std::vector<float> col, rows;
  const std::size_t batch = std::max<std::size_t>(1, s.batch);
  for (std::size_t start = 0; start < count; start += batch) {
    const std::size_t n = std::min(batch, count - start);
    fp32.run(
        inputs.data() + start * in_size, n, [](const quant_op& op) { return std::pair{op.weight, op.bias}; },
        [&](std::size_t v, std::span<float> x) { rec.values[v].add(x); });
    if (s.layer_inputs)
      for (const quant_op& op : g.ops)
        if (op.has_weights())
          detail::accumulate_layer_input(op, fp32.value(op.inputs[0]).data(), n, g.values[op.inputs[0]].size(),
                                         rec.layers[op.layer_index], col, rows);
  }
  rec.samples = count;
  for (std::size_t v = 0; v < g.values.size(); ++v)
    if (rec.values[v].non_finite() > 0)
      return make_status(errc::numerical, "calibration: ", g.value_name(v), " holds ", rec.values[v].non_finite(),
                         " NaN/Inf activations (check the inputs and weights)");
  return rec;
}

}  // namespace ohq::nn

// SPDX-License-Identifier: MIT
/// @file Defines `quant_graph`, the flat list of operations a typed network lowers to for
/// quantization, and its fp32 interpreter (calibration and fake-quant run through it).
///
/// The typed network describes *what* is computed; quantization needs to name every activation
/// tensor (each gets its own scale and zero point) and every weight tensor (each gets its own
/// bit-width), including the ones hidden inside composites: a residual's add, a squeeze-excite's
/// pooled vector and gate. Lowering walks the type once and writes those down as numbered values
/// and operations in execution order. ReLU/ReLU6 after a convolution, dense layer or add is fused
/// into it (a clamp in the quantized domain, docs/quantization.md 3.3); batch norms must be folded.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/kernels/fp32/conv2d.hpp>
#include <ohq/kernels/fp32/eltwise.hpp>
#include <ohq/kernels/fp32/pool.hpp>
#include <ohq/nn/layer_base.hpp>
#include <ohq/nn/layers/activation.hpp>
#include <ohq/quant/lut.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ohq::nn {

/// What an operation of a quant_graph computes.
enum class quant_op_kind : std::uint8_t {
  conv2d,           ///< convolution (dense, grouped, depthwise) with bias and a fused ReLU/ReLU6
  dense,            ///< fully connected, with bias and a fused ReLU/ReLU6
  max_pool,         ///< on codes; the output keeps the input's quantization parameters
  avg_pool,         ///< window sums, one requantization
  global_avg_pool,  ///< mean over each channel's plane
  add,              ///< residual add of two values, with a fused ReLU/ReLU6
  scale_channels,   ///< x[c][i] * gate[c] (squeeze-excite)
  elementwise,      ///< a 256-entry table: hardswish, hardsigmoid, sigmoid, or a ReLU that could not fuse
  softmax,          ///< the network's last operation only; computed in float on dequantized logits
};

/// A tensor of the graph, one sample: (channels, height, width); flat values are (n, 1, 1).
struct quant_value {
  std::size_t channels = 0, height = 1, width = 1;
  /// The value whose quantization parameters this one must share (max pooling), or npos.
  std::size_t shares_params_with = npos;
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  [[nodiscard]] std::size_t size() const noexcept { return channels * height * width; }
};

/// One operation: reads `inputs[0]` (and `inputs[1]` for add/scale_channels), writes `output`.
struct quant_op {
  quant_op_kind kind{};
  std::size_t inputs[2] = {0, 0};
  std::size_t output = 0;
  std::string path;   ///< the layer path in the network ("3.0.1")
  std::string label;  ///< e.g. "conv 3x3 s1 p1 + relu"
  // conv2d / dense: dense is a 1x1 convolution of an (n, 1, 1) input
  kernels::fp32::conv2d_geometry geometry{};
  std::span<const float> weight;  ///< [Cout][Cin/G][k][k], the network's (BN-folded) weights
  std::span<const float> bias;    ///< [Cout]
  std::size_t layer_index = 0;    ///< among the network's quantizable layers (network order)
  quant::fused_activation fused = quant::fused_activation::none;
  // pools
  kernels::fp32::pool_geometry pool{};
  bool count_include_pad = true;
  // elementwise
  quant::elementwise_op function = quant::elementwise_op::identity;

  [[nodiscard]] bool has_weights() const noexcept {
    return kind == quant_op_kind::conv2d || kind == quant_op_kind::dense;
  }
  [[nodiscard]] std::size_t input_count() const noexcept {
    return kind == quant_op_kind::add || kind == quant_op_kind::scale_channels ? 2 : 1;
  }
  /// The GEMM view of a weighted op's input: (K = Cin/G*k*k, pixels, groups).
  [[nodiscard]] quant::conv2d_shape conv_shape() const noexcept {
    return {geometry.in_channels, geometry.in_height, geometry.in_width, geometry.out_channels,
            geometry.kernel,      geometry.stride,    geometry.padding,  geometry.groups};
  }
};

/// A network lowered to numbered values (0 is the input) and operations in execution order.
/// The graph points into the network's weights: the network must outlive it and keep its
/// weights (fold batch norms before lowering).
struct quant_graph {
  std::vector<quant_value> values;
  std::vector<quant_op> ops;
  std::size_t output = 0;            ///< the value holding the logits (before a final softmax)
  bool final_softmax = false;        ///< the network ends with softmax (applied in float)
  std::size_t quantizable_layers = 0;

  /// "the network input" or "the output of layer 3.1 (conv 3x3 s1 p1 + relu)", for messages.
  [[nodiscard]] std::string value_name(std::size_t v) const {
    for (const quant_op& op : ops)
      if (op.output == v) return "the output of layer " + op.path + " (" + op.label + ")";
    return v == 0 ? "the network input" : "value " + std::to_string(v);
  }

  /// The ops with weights, indexed by layer_index.
  [[nodiscard]] std::vector<const quant_op*> weighted_ops() const {
    std::vector<const quant_op*> out(quantizable_layers, nullptr);
    for (const quant_op& op : ops)
      if (op.has_weights()) out[op.layer_index] = &op;
    return out;
  }
};

namespace detail {

template <class L>
concept residual_like = requires(L& l) {
  L::has_projection;
  l.body();
};
template <class L>
concept squeeze_excite_like = requires(L& l) {
  L::squeeze_channels;
  l.squeeze();
  l.excite();
};
template <class L>
concept sequence_like = requires(L& l) {
  L::size;
  l.template layer<0>();
};

template <class A>
constexpr quant::elementwise_op elementwise_of() {
  if constexpr (std::is_same_v<A, relu>) return quant::elementwise_op::relu;
  else if constexpr (std::is_same_v<A, relu6>) return quant::elementwise_op::relu6;
  else if constexpr (std::is_same_v<A, hardswish>) return quant::elementwise_op::hardswish;
  else if constexpr (std::is_same_v<A, hardsigmoid>) return quant::elementwise_op::hardsigmoid;
  else if constexpr (std::is_same_v<A, sigmoid>) return quant::elementwise_op::sigmoid;
  else static_assert(dependent_false<A>, "ohq: this activation has no quantized form yet");
}

template <class Shape>
quant_value value_of() {
  quant_value v;
  if constexpr (Shape::rank == 3) {
    v.channels = Shape::dims[0];
    v.height = Shape::dims[1];
    v.width = Shape::dims[2];
  } else {
    v.channels = Shape::size;
  }
  return v;
}

/// Walks a typed network once, appending values and ops.
class graph_builder {
 public:
  explicit graph_builder(quant_graph& g) : g_(g) {}

  std::size_t add_value(quant_value v) {
    g_.values.push_back(v);
    return g_.values.size() - 1;
  }

  /// Lowers `layer` reading value `in`; returns the value it produces.
  template <class L>
  result<std::size_t> lower(L& layer, std::size_t in) {
    using path = typename L::path_t;
    if constexpr (residual_like<L>) {
      auto body = lower(layer.body(), in);
      if (!body) return body;
      std::size_t side = in;
      if constexpr (L::has_projection) {
        auto projected = lower(layer.projection(), in);
        if (!projected) return projected;
        side = *projected;
      }
      return emit(quant_op_kind::add, {*body, side}, value_of<typename L::output_shape_t>(), path::str(), "add");
    } else if constexpr (squeeze_excite_like<L>) {
      using in_t = typename L::input_shape_t;
      const std::size_t pooled =
          emit(quant_op_kind::global_avg_pool, {in, in}, quant_value{in_t::dims[0]}, path::str(), "se pool");
      auto squeezed = lower(layer.squeeze(), pooled);
      if (!squeezed) return squeezed;
      const std::size_t inner = lower_activation<typename L::inner_activation>(*squeezed, path::str());
      auto excited = lower(layer.excite(), inner);
      if (!excited) return excited;
      const std::size_t gate = lower_activation<typename L::gate_activation>(*excited, path::str());
      return emit(quant_op_kind::scale_channels, {in, gate}, value_of<in_t>(), path::str(), "se scale");
    } else if constexpr (sequence_like<L>) {
      result<std::size_t> cur = in;
      layer.for_each_element([&](auto& element) {
        if (cur) cur = lower(element, *cur);
      });
      return cur;
    } else if constexpr (L::kind == layer_kind::conv2d || L::kind == layer_kind::dense) {
      quant_op op;
      if constexpr (L::kind == layer_kind::conv2d) {
        op.geometry = L::geometry;
      } else {
        op.geometry = {L::in_features, 1, 1, L::out_features, 1, 1, 1, 1, 0, 1};
      }
      op.weight = std::as_const(layer).weight();
      op.bias = std::as_const(layer).bias();
      op.layer_index = g_.quantizable_layers++;
      return emit(L::kind == layer_kind::conv2d ? quant_op_kind::conv2d : quant_op_kind::dense, {in, in},
                  value_of<typename L::output_shape_t>(), path::str(), L::name(), op);
    } else if constexpr (L::kind == layer_kind::batch_norm) {
      if (!layer.folded())
        return make_status(errc::unsupported, "layer ", path::str(),
                           ": a batch_norm that is not folded into a convolution or dense layer has no quantized "
                           "form (call fold_batch_norms() before quantizing)");
      return in;
    } else if constexpr (L::kind == layer_kind::activation) {
      return lower_activation<typename L::activation>(in, path::str());
    } else if constexpr (L::kind == layer_kind::pool) {
      quant_op op;
      quant_value out = value_of<typename L::output_shape_t>();
      if constexpr (requires { L::is_max; }) {
        op.pool = L::geometry;
        op.count_include_pad = L::count_include_pad;
        if constexpr (L::is_max) out.shares_params_with = in;
        return emit(L::is_max ? quant_op_kind::max_pool : quant_op_kind::avg_pool, {in, in}, out, path::str(),
                    L::name(), op);
      } else {
        return emit(quant_op_kind::global_avg_pool, {in, in}, out, path::str(), L::name());
      }
    } else if constexpr (L::kind == layer_kind::reshape) {
      // flatten: the NCHW bytes are already flat; a dense layer reads the value's size
      return in;
    } else if constexpr (L::kind == layer_kind::softmax) {
      return emit(quant_op_kind::softmax, {in, in}, value_of<typename L::output_shape_t>(), path::str(), "softmax");
    } else {
      static_assert(dependent_false<L>, "ohq: this layer has no quantized form yet");
    }
  }

  /// ReLU/ReLU6 fuse into the op that produced `in` when that op can clamp and nothing else has
  /// read its output yet (so no other op sees the pre-activation values); others become tables.
  template <class A>
  std::size_t lower_activation(std::size_t in, const std::string& path) {
    constexpr quant::elementwise_op f = elementwise_of<A>();
    if constexpr (f == quant::elementwise_op::relu || f == quant::elementwise_op::relu6) {
      if (!g_.ops.empty()) {
        quant_op& last = g_.ops.back();
        const bool clamps = last.kind == quant_op_kind::conv2d || last.kind == quant_op_kind::dense ||
                            last.kind == quant_op_kind::add;
        if (clamps && last.output == in && last.fused == quant::fused_activation::none && readers(in) == 0) {
          last.fused = f == quant::elementwise_op::relu ? quant::fused_activation::relu : quant::fused_activation::relu6;
          last.label += std::string(" + ") + A::label;
          return in;
        }
      }
    }
    quant_op op;
    op.function = f;
    return emit(quant_op_kind::elementwise, {in, in}, g_.values[in], path, A::label, op);
  }

  std::size_t emit(quant_op_kind kind, std::initializer_list<std::size_t> inputs, quant_value out, std::string path,
                   std::string label, quant_op op = {}) {
    op.kind = kind;
    op.inputs[0] = *inputs.begin();
    op.inputs[1] = *(inputs.begin() + 1);
    op.output = add_value(out);
    op.path = std::move(path);
    op.label = std::move(label);
    g_.ops.push_back(std::move(op));
    return g_.ops.back().output;
  }

 private:
  std::size_t readers(std::size_t value) const {
    std::size_t n = 0;
    for (const quant_op& op : g_.ops)
      for (std::size_t i = 0; i < op.input_count(); ++i) n += op.inputs[i] == value;
    return n;
  }

  quant_graph& g_;
};

}  // namespace detail

/// Lowers a network (whose batch norms are folded) to a quant_graph that points into its weights.
/// Errors: an unfolded batch norm, a softmax that is not the last operation.
template <class Net>
result<quant_graph> try_lower(Net& net) {
  quant_graph g;
  detail::graph_builder b(g);
  b.add_value(detail::value_of<typename Net::input_shape_t>());
  result<std::size_t> cur = std::size_t{0};
  net.for_each_element([&](auto& element) {
    if (cur) cur = b.lower(element, *cur);
  });
  if (!cur) return cur.error();
  for (std::size_t i = 0; i < g.ops.size(); ++i)
    if (g.ops[i].kind == quant_op_kind::softmax && i + 1 != g.ops.size())
      return make_status(errc::unsupported, "layer ", g.ops[i].path,
                         ": softmax inside a quantized network is supported only as the last layer");
  g.final_softmax = !g.ops.empty() && g.ops.back().kind == quant_op_kind::softmax;
  g.output = g.final_softmax ? g.ops.back().inputs[0] : *cur;
  if (g.quantizable_layers != Net::quantizable_layers)
    return make_status(errc::unsupported, "lowering found ", g.quantizable_layers, " quantizable layers, the type has ",
                       Net::quantizable_layers);
  return g;
}
#ifndef OHQ_NO_EXCEPTIONS
/// `try_lower(net).value()`.
template <class Net>
quant_graph lower(Net& net) {
  return try_lower(net).value();
}
#endif

/// Applies an op's fused ReLU/ReLU6 to its n float outputs in place (none: nothing to do).
inline void apply_fused_activation(quant::fused_activation f, float* y, std::size_t n) noexcept {
  if (f == quant::fused_activation::relu)
    kernels::fp32::map(y, y, n, kernels::fp32::relu);
  else if (f == quant::fused_activation::relu6)
    kernels::fp32::map(y, y, n, kernels::fp32::relu6);
}

/// The fp32 interpreter of a quant_graph: one float buffer per value.
///
/// `weights_of(op)` gives the (weight, bias) spans an op uses (the network's, or dequantized
/// ones for fake-quant); `after(value, span)` sees each value once computed, for the whole batch
/// ([batch][size]), and may change it in place (fake quantization). Returns the output value's
/// buffer ([batch][size of graph.output], softmax applied when the network ends with one).
class float_interpreter {
 public:
  explicit float_interpreter(const quant_graph& g) : g_(&g), buffers_(g.values.size()) {
    std::size_t scratch = 0;
    for (const quant_op& op : g.ops)
      if (op.kind == quant_op_kind::conv2d) scratch = std::max(scratch, op.geometry.scratch_floats());
    scratch_.resize(scratch);
  }

  /// The buffer of a value after the last run ([batch][size]).
  [[nodiscard]] std::span<const float> value(std::size_t v) const { return buffers_[v]; }

  template <class WeightsOf, class After>
  std::span<float> run(const float* input, std::size_t batch, WeightsOf&& weights_of, After&& after) {
    const quant_graph& g = *g_;
    for (std::size_t v = 0; v < g.values.size(); ++v) buffers_[v].resize(batch * g.values[v].size());
    std::copy(input, input + batch * g.values[0].size(), buffers_[0].begin());
    after(std::size_t{0}, std::span<float>(buffers_[0]));
    for (const quant_op& op : g.ops) {
      const quant_value& iv = g.values[op.inputs[0]];
      const quant_value& ov = g.values[op.output];
      const float* x = buffers_[op.inputs[0]].data();
      float* y = buffers_[op.output].data();
      switch (op.kind) {
        case quant_op_kind::conv2d:
        case quant_op_kind::dense: {
          const auto [w, b] = weights_of(op);
          if (op.kind == quant_op_kind::dense) {
            kernels::fp32::dense(x, batch, iv.size(), ov.size(), w.data(), b.data(), y);
          } else {
            for (std::size_t n = 0; n < batch; ++n)
              kernels::fp32::conv2d(op.geometry, x + n * iv.size(), w.data(), b.data(), y + n * ov.size(),
                                    scratch_.data());
          }
          break;
        }
        case quant_op_kind::max_pool:
          for (std::size_t n = 0; n < batch; ++n) kernels::fp32::max_pool(op.pool, x + n * iv.size(), y + n * ov.size());
          break;
        case quant_op_kind::avg_pool:
          for (std::size_t n = 0; n < batch; ++n)
            kernels::fp32::avg_pool(op.pool, op.count_include_pad, x + n * iv.size(), y + n * ov.size());
          break;
        case quant_op_kind::global_avg_pool:
          for (std::size_t n = 0; n < batch; ++n)
            kernels::fp32::global_avg_pool(iv.channels, iv.height * iv.width, x + n * iv.size(), y + n * ov.size());
          break;
        case quant_op_kind::add:
          kernels::fp32::add(x, buffers_[op.inputs[1]].data(), y, batch * ov.size());
          break;
        case quant_op_kind::scale_channels: {
          const float* gate = buffers_[op.inputs[1]].data();
          const std::size_t plane = iv.height * iv.width;
          for (std::size_t n = 0; n < batch; ++n)
            for (std::size_t c = 0; c < iv.channels; ++c) {
              const float s = gate[n * iv.channels + c];
              const std::size_t base = (n * iv.channels + c) * plane;
              for (std::size_t i = 0; i < plane; ++i) y[base + i] = x[base + i] * s;
            }
          break;
        }
        case quant_op_kind::elementwise:
          apply_function(op.function, x, y, batch * ov.size());
          break;
        case quant_op_kind::softmax:
          kernels::fp32::softmax(x, y, batch, ov.size());
          continue;  // not a quantized value
      }
      apply_fused_activation(op.fused, y, batch * ov.size());  // conv, dense, add; none elsewhere
      after(op.output, std::span<float>(buffers_[op.output]));
    }
    const std::size_t out = g.final_softmax ? g.ops.back().output : g.output;
    return buffers_[out];
  }

  /// The plain fp32 forward pass of the graph (equal to the network's own forward).
  std::span<float> run(const float* input, std::size_t batch) {
    return run(
        input, batch, [](const quant_op& op) { return std::pair{op.weight, op.bias}; },
        [](std::size_t, std::span<float>) {});
  }

 private:
  static void apply_function(quant::elementwise_op f, const float* x, float* y, std::size_t n) {
    // the tables' own definitions, in double (quant/lut.hpp), so fake-quant matches them
    auto run = [&](double (*fn)(double)) {
      for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(fn(double(x[i])));
    };
    switch (f) {
      case quant::elementwise_op::identity: run(quant::functions::identity); break;
      case quant::elementwise_op::relu: run(quant::functions::relu); break;
      case quant::elementwise_op::relu6: run(quant::functions::relu6); break;
      case quant::elementwise_op::hardsigmoid: run(quant::functions::hardsigmoid); break;
      case quant::elementwise_op::hardswish: run(quant::functions::hardswish); break;
      case quant::elementwise_op::sigmoid: run(quant::functions::sigmoid); break;
      case quant::elementwise_op::tanh: run(quant::functions::tanh); break;
    }
  }

  const quant_graph* g_;
  std::vector<std::vector<float>> buffers_;
  std::vector<float> scratch_;
};

}  // namespace ohq::nn

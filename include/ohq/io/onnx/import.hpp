// SPDX-License-Identifier: MIT
/// @file Defines `ohq::io::onnx::try_import_layers`: an ONNX graph recognised as a tree of ohq layers.
///
/// The importer walks the graph from its input, one value at a time, and maps nodes (or short
/// node patterns) to the layer kinds of `nn/`. A value read by two nodes opens a fork, closed by
/// the `Add` or `Mul` joining the branches: `Add` is a residual (identity or projection shortcut),
/// `Mul` is a squeeze-excite gate or `x * hardsigmoid(x)` (hardswish). The result serves both the
/// binding of weights onto a network type (`load_onnx`) and the generation of that type
/// (`ohq-codegen`). Shapes are propagated and checked as the graph is walked.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/io/detail/no_throw.hpp>
#include <ohq/io/onnx/graph.hpp>
#include <ohq/io/onnx/model.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ohq::io::onnx {

/// The ohq layer an ONNX node (or node pattern) becomes.
enum class layer_op {
  conv2d, dense, batch_norm, relu, relu6, hardswish, hardsigmoid, sigmoid,
  max_pool, avg_pool, global_avg_pool, flatten, softmax, residual, squeeze_excite
};

constexpr std::string_view to_string(layer_op op) noexcept {
  switch (op) {
    case layer_op::conv2d: return "conv2d";
    case layer_op::dense: return "dense";
    case layer_op::batch_norm: return "batch_norm";
    case layer_op::relu: return "relu";
    case layer_op::relu6: return "relu6";
    case layer_op::hardswish: return "hardswish";
    case layer_op::hardsigmoid: return "hardsigmoid";
    case layer_op::sigmoid: return "sigmoid";
    case layer_op::max_pool: return "max_pool";
    case layer_op::avg_pool: return "avg_pool";
    case layer_op::global_avg_pool: return "global_avg_pool";
    case layer_op::flatten: return "flatten";
    case layer_op::softmax: return "softmax";
    case layer_op::residual: return "residual";
    case layer_op::squeeze_excite: return "squeeze_excite";
  }
  return "unknown";
}

/// One recognised layer, with its weights copied out in ohq's layouts.
struct imported_layer {
  layer_op op = layer_op::relu;
  std::string node;                  ///< name (or op type and index) of the ONNX node it came from
  std::vector<std::size_t> input;    ///< one sample's shape entering the layer: {C, H, W} or {N}
  std::vector<std::size_t> output;   ///< and leaving it

  // conv2d and pooling geometry; out = output channels / features
  std::size_t out = 0, kernel = 0, stride = 1, padding = 0, groups = 1;
  bool count_include_pad = false;    ///< avg_pool only
  bool has_bias = false;             ///< conv2d/dense: the ONNX node had a bias input
  std::vector<float> weight;         ///< conv2d [O][C/G][K][K]; dense [Out][In]
  std::vector<std::size_t> weight_dims;
  std::vector<float> bias;           ///< empty when !has_bias

  // batch_norm
  std::vector<float> gamma, beta, mean, var;
  float epsilon = 1e-5f;

  // residual: body and (possibly empty = identity) shortcut.
  // squeeze_excite: body = {dense squeeze, inner activation, dense excite, gate activation}.
  std::vector<imported_layer> body, shortcut;
};

/// The whole graph as ohq layers.
struct imported_network {
  std::vector<std::size_t> input_shape;  ///< one sample: {C, H, W}
  std::string input_name, output_name;
  std::vector<imported_layer> layers;
};

/// How deep forks may nest (residuals inside residuals...), against hostile graphs.
inline constexpr int max_import_depth = 64;
/// Largest element count of one sample of the graph input (C * H * W), as read_options::max_tensor_elements.
inline constexpr std::uint64_t max_import_input_elements = std::uint64_t{1} << 31;
/// Work bound of one evaluation of a shape computation (Reshape / Pad targets): nodes visited and
/// values produced. Shape subgraphs of real exports take a few dozen.
inline constexpr std::size_t max_shape_eval_steps = 4096;

namespace detail {

inline std::string shape_str(const std::vector<std::size_t>& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + ")";
}

class importer {
 public:
  explicit importer(const graph& g) : g_(g), index_(g) {
    for (const auto& [name, t] : g.initializers) constants_.emplace(name, &t);
    for (const node& n : g.nodes) {
      if (n.op_type == "Constant" && n.outputs.size() == 1) {
        if (const attribute* a = find_attribute(n, "value"); a && a->t) constants_.emplace(n.outputs[0], &*a->t);
      }
    }
    // torch 1.13 routes shared initializers (identical folded biases) through Identity nodes:
    // their outputs are constants too. Nodes are in topological order, so one pass sees chains.
    for (const node& n : g.nodes) {
      if (n.op_type == "Identity" && n.inputs.size() == 1 && n.outputs.size() == 1)
        if (const tensor* t = constant(n.inputs[0])) constants_.emplace(n.outputs[0], t);
    }
  }

  result<imported_network> run() {
    imported_network net;
    const value_info* in = nullptr;
    for (const value_info& v : g_.inputs)
      if (!constants_.count(v.name)) {
        if (in) return fail("the graph has more than one non-constant input ('", in->name, "', '", v.name, "')");
        in = &v;
      }
    if (!in) return fail("the graph has no input");
    if (g_.outputs.size() != 1) return fail("the graph must have exactly one output, it has ", g_.outputs.size());
    net.input_name = in->name;
    net.output_name = g_.outputs[0].name;
    if (!in->has_shape || in->shape.size() != 4)
      return fail("graph input '", in->name, "' must be a 4-D tensor [N, C, H, W]");
    std::uint64_t elements = 1;
    for (std::size_t i = 1; i < 4; ++i) {
      if (in->shape[i].value <= 0)
        return fail("graph input '", in->name, "' needs fixed C, H and W; dimension ", i, " is '",
                    in->shape[i].param.empty() ? std::to_string(in->shape[i].value) : printable(in->shape[i].param), "'");
      const auto d = static_cast<std::uint64_t>(in->shape[i].value);
      if (d > max_import_input_elements || elements * d > max_import_input_elements)
        return make_status(errc::limit_exceeded, "ONNX import: graph input '", printable(in->name), "' has more than ",
                           max_import_input_elements, " elements per sample (max_import_input_elements)");
      elements *= d;
      net.input_shape.push_back(static_cast<std::size_t>(d));
    }
    chain_end end;
    shape_ = net.input_shape;
    OHQ_TRY_STATUS(parse_chain(net.input_name, net.layers, end, 0));
    if (end.join) return fail("node '", label(*end.join), "' joins a value that was never forked");
    if (end.value != net.output_name)
      return fail("the layer chain ends at '", end.value, "' but the graph output is '", net.output_name, "'");
    return net;
  }

 private:
  struct chain_end {
    std::string value;
    const node* join = nullptr;
  };

  template <class... Parts>
  static status fail(const Parts&... parts) {
    return make_status(errc::invalid_model, "ONNX import: ", parts...);
  }
  /// The node's name (or op type) as shown in messages and generated code: printable, at most 80 characters.
  static std::string label(const node& n) { return printable(n.name.empty() ? n.op_type : n.name); }

  const tensor* constant(const std::string& name) const {
    auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : it->second;
  }
  bool is_constant(const std::string& name) const { return constants_.count(name) > 0; }

  /// The element-wise activations of nn/ (the inner activation of a squeeze-excite is one of them).
  static bool is_activation(layer_op op) {
    return op == layer_op::relu || op == layer_op::relu6 || op == layer_op::hardswish || op == layer_op::hardsigmoid ||
           op == layer_op::sigmoid;
  }

  /// A node that merges two computed values: a residual add or a gate multiply.
  bool is_join(const node& n) const {
    return (n.op_type == "Add" || n.op_type == "Mul") && n.inputs.size() == 2 && !is_constant(n.inputs[0]) &&
           !is_constant(n.inputs[1]);
  }

  /// The nodes computing with `value`; `Shape` nodes only read its metadata (for a Reshape's
  /// target, as `x.view(x.size(0), -1)` exports) and are evaluated where that target is needed.
  std::vector<const node*> consumers(const std::string& value) const {
    std::vector<const node*> out;
    for (std::size_t k : index_.consumers(value))
      if (g_.nodes[k].op_type != "Shape") out.push_back(&g_.nodes[k]);
    return out;
  }

  /// Evaluates a small integer shape computation (Shape, Gather, Unsqueeze, Squeeze, Concat,
  /// Slice, Cast over constants) whose only data input is `reshaped`, one sample of shape_.
  /// The batch dimension evaluates to `batch_dim`.
  static constexpr std::int64_t batch_dim = -2;
  bool eval_shape(const std::string& name, const std::string& reshaped, std::vector<std::int64_t>& out) const {
    std::size_t budget = max_shape_eval_steps;
    shape_limit_hit_ = false;
    return eval_shape(name, reshaped, out, 0, budget);
  }
  /// Appended to the error of a Reshape or Pad whose target could not be evaluated.
  std::string shape_limit_note() const {
    return shape_limit_hit_ ? " (its shape computation exceeds max_shape_eval_steps = " +
                                  std::to_string(max_shape_eval_steps) + " steps or 16 levels)"
                            : std::string();
  }
  bool eval_shape(const std::string& name, const std::string& reshaped, std::vector<std::int64_t>& out, int depth,
                  std::size_t& budget) const {
    // Every visit and every value produced costs one step: a Concat of Concats cannot blow up.
    if (depth > 16 || budget == 0) {
      shape_limit_hit_ = true;
      return false;
    }
    --budget;
    if (const tensor* t = constant(name)) {
      if (!t->is_integer() || t->ints.size() > budget) return false;
      budget -= t->ints.size();
      out = t->ints;
      return true;
    }
    const std::size_t k = index_.producer(name);
    if (k == graph_index::none) return false;
    const node& p = g_.nodes[k];
    const auto in = [&](std::size_t i, std::vector<std::int64_t>& v) {
      return i < p.inputs.size() && eval_shape(p.inputs[i], reshaped, v, depth + 1, budget);
    };
    std::vector<std::int64_t> a, b;
    if (p.op_type == "Shape") {
      if (p.inputs.empty() || p.inputs[0] != reshaped) return false;
      std::vector<std::int64_t> full{batch_dim};
      for (std::size_t d : shape_) full.push_back(static_cast<std::int64_t>(d));
      const auto rank = static_cast<std::int64_t>(full.size());
      std::int64_t start = attr_int(p, "start", 0), end = attr_int(p, "end", rank);
      if (start < 0) start += rank;
      if (end < 0) end += rank;
      start = std::clamp<std::int64_t>(start, 0, rank);
      end = std::clamp<std::int64_t>(end, start, rank);
      out.assign(full.begin() + start, full.begin() + end);
      return true;
    }
    if (p.op_type == "Cast" || p.op_type == "Unsqueeze" || p.op_type == "Squeeze" || p.op_type == "Identity")
      return in(0, out);
    if (p.op_type == "Concat") {
      out.clear();
      for (std::size_t i = 0; i < p.inputs.size(); ++i) {
        if (!in(i, a) || a.size() > budget) return false;
        budget -= a.size();
        out.insert(out.end(), a.begin(), a.end());
      }
      return true;
    }
    if (p.op_type == "Gather") {
      if (attr_int(p, "axis", 0) != 0 || !in(0, a) || !in(1, b) || b.size() > budget) return false;
      budget -= b.size();
      out.clear();
      for (std::int64_t i : b) {
        if (i < 0) i += static_cast<std::int64_t>(a.size());
        if (i < 0 || i >= static_cast<std::int64_t>(a.size())) return false;
        out.push_back(a[std::size_t(i)]);
      }
      return true;
    }
    if (p.op_type == "Slice") {
      std::vector<std::int64_t> starts, ends;
      if (!in(0, a) || !in(1, starts) || !in(2, ends) || starts.size() != 1 || ends.size() != 1) return false;
      const auto n = static_cast<std::int64_t>(a.size());
      std::int64_t s = starts[0] < 0 ? starts[0] + n : starts[0], e = ends[0] < 0 ? ends[0] + n : ends[0];
      s = std::clamp<std::int64_t>(s, 0, n);
      e = std::clamp<std::int64_t>(e, s, n);
      out.assign(a.begin() + s, a.begin() + e);
      return true;
    }
    return false;
  }
  bool is_graph_output(const std::string& value) const {
    for (const value_info& v : g_.outputs)
      if (v.name == value) return true;
    return false;
  }

  // ---- attribute helpers -------------------------------------------------------------------
  static std::int64_t attr_int(const node& n, std::string_view name, std::int64_t fallback) {
    const attribute* a = find_attribute(n, name);
    return a && a->type == attribute_type::integer ? a->i : fallback;
  }
  static float attr_float(const node& n, std::string_view name, float fallback) {
    const attribute* a = find_attribute(n, name);
    return a && a->type == attribute_type::floating ? a->f : fallback;
  }
  static std::vector<std::int64_t> attr_ints(const node& n, std::string_view name) {
    const attribute* a = find_attribute(n, name);
    return a && a->type == attribute_type::ints ? a->ints : std::vector<std::int64_t>{};
  }
  static std::string attr_string(const node& n, std::string_view name) {
    const attribute* a = find_attribute(n, name);
    return a && a->type == attribute_type::string ? a->s : std::string{};
  }
  /// One float from a scalar (or 1-element) constant input.
  bool scalar_input(const node& n, std::size_t i, float& out) const {
    if (i >= n.inputs.size() || n.inputs[i].empty()) return false;
    const tensor* t = constant(n.inputs[i]);
    if (!t || t->element_count() != 1) return false;
    if (t->is_float() && t->floats.size() == 1) {
      out = t->floats[0];
      return true;
    }
    if (t->is_integer() && t->ints.size() == 1) {
      out = static_cast<float>(t->ints[0]);
      return true;
    }
    return false;
  }
  static bool near(float a, float b) { return std::abs(a - b) <= 1e-6f * std::max(1.0f, std::abs(b)); }

  /// The optional bias (input 2) of a Conv or Gemm: l.out values.
  status load_bias(const node& n, imported_layer& l) const {
    if (n.inputs.size() <= 2 || n.inputs[2].empty()) return {};
    const tensor* b = nullptr;
    OHQ_TRY_STATUS(float_input(n, 2, b, "bias"));
    if (b->element_count() != l.out)
      return fail("node '", label(n), "': bias has ", b->element_count(), " values for ", l.out, " outputs");
    l.bias = b->floats;
    l.has_bias = true;
    return {};
  }

  /// The float tensor behind input i of n, or an error naming the node.
  status float_input(const node& n, std::size_t i, const tensor*& out, std::string_view role) const {
    if (i >= n.inputs.size() || n.inputs[i].empty())
      return fail("node '", label(n), "' (", n.op_type, ") has no ", role, " input");
    out = constant(n.inputs[i]);
    if (!out) return fail("node '", label(n), "' (", n.op_type, "): ", role, " '", n.inputs[i], "' is not an initializer");
    if (!out->is_float() || out->floats.size() != out->element_count())
      return fail("node '", label(n), "' (", n.op_type, "): ", role, " '", n.inputs[i], "' is not a float tensor");
    for (std::size_t k = 0; k < out->floats.size(); ++k)
      if (!std::isfinite(out->floats[k]))
        return make_status(errc::numerical, "ONNX import: node '", label(n), "' (", n.op_type, "): ", role, " '",
                           n.inputs[i], "' holds a non-finite value (", out->floats[k], ") at index ", k);
    return {};
  }

  // ---- the walk ----------------------------------------------------------------------------
  /// Parses layers from `value` on until the graph output or a join node this chain did not open.
  status parse_chain(std::string value, std::vector<imported_layer>& out, chain_end& end, int depth) {
    if (depth > max_import_depth) return fail("forks nest deeper than ", max_import_depth, " levels");
    for (std::size_t steps = 0; steps <= g_.nodes.size(); ++steps) {
      const auto users = consumers(value);
      if (users.empty()) {
        if (!is_graph_output(value)) return fail("value '", value, "' is computed but never used");
        end = {value, nullptr};
        return {};
      }
      if (is_graph_output(value)) return fail("graph output '", value, "' is also read by node '", label(*users[0]), "'");
      if (users.size() == 1) {
        if (is_join(*users[0])) {
          end = {value, users[0]};
          return {};
        }
        OHQ_TRY_STATUS(parse_node(*users[0], value, out));
        continue;
      }
      if (users.size() > 2)
        return fail("value '", value, "' is read by ", users.size(), " nodes; ohq supports forks of two branches");
      OHQ_TRY_STATUS(parse_fork(value, users, out, depth));
    }
    return fail("the graph does not terminate (cycle?)");
  }

  /// A value read by two nodes: parse each branch to the common join and recognise the pattern.
  status parse_fork(std::string& value, const std::vector<const node*>& users, std::vector<imported_layer>& out,
                    int depth) {
    struct branch {
      std::vector<imported_layer> layers;
      chain_end end;
      std::vector<std::size_t> shape;
      bool identity = false;
    };
    branch branches[2];
    const std::vector<std::size_t> fork_shape = shape_;
    const bool fork_flat = flat_;
    for (int b = 0; b < 2; ++b) {
      shape_ = fork_shape;
      flat_ = fork_flat;
      if (is_join(*users[std::size_t(b)])) {
        branches[b].identity = true;
        branches[b].end = {value, users[std::size_t(b)]};
      } else {
        std::string v = value;
        OHQ_TRY_STATUS(parse_node(*users[std::size_t(b)], v, branches[b].layers));
        OHQ_TRY_STATUS(parse_chain(v, branches[b].layers, branches[b].end, depth + 1));
        if (!branches[b].end.join) return fail("a branch forked at '", value, "' reaches the graph output without joining");
      }
      branches[b].shape = shape_;
    }
    const node* join = branches[0].end.join;
    if (join->outputs.empty() || join->outputs[0].empty()) return fail("node '", label(*join), "' has no output");
    if (join != branches[1].end.join)
      return fail("the branches forked at '", value, "' end in different nodes ('", label(*join), "', '",
                  label(*branches[1].end.join), "')");
    const bool both_identity = branches[0].identity && branches[1].identity;
    if (both_identity) return fail("node '", label(*join), "' combines '", value, "' with itself (x + x or x * x)");
    // the identity side (if any) is branch 1
    if (branches[0].identity) std::swap(branches[0], branches[1]);
    imported_layer layer;
    layer.node = label(*join);
    layer.input = fork_shape;
    if (join->op_type == "Add") {
      // Residual: the longer branch is the body (torchvision's downsample is conv + bn).
      if (!branches[1].identity && branches[1].layers.size() > branches[0].layers.size()) std::swap(branches[0], branches[1]);
      if (branches[0].shape != branches[1].shape)
        return fail("node '", label(*join), "' adds shapes ", shape_str(branches[0].shape), " and ",
                    shape_str(branches[1].shape));
      layer.op = layer_op::residual;
      layer.body = std::move(branches[0].layers);
      layer.shortcut = std::move(branches[1].layers);
      layer.output = branches[0].shape;
      shape_ = layer.output;
      flat_ = shape_.size() == 1;  // both branches may have flattened a feature map
    } else {  // Mul: a gate
      if (!branches[1].identity)
        return fail("node '", label(*join), "' multiplies two computed branches; only x * gate(x) is supported");
      auto& g = branches[0].layers;
      if (g.size() == 1 && g[0].op == layer_op::hardsigmoid) {
        layer.op = layer_op::hardswish;  // x * hardsigmoid(x)
        layer.node = g[0].node;
      } else if (g.size() == 5 && g[0].op == layer_op::global_avg_pool && g[1].op == layer_op::dense &&
                 is_activation(g[2].op) && g[3].op == layer_op::dense &&
                 (g[4].op == layer_op::hardsigmoid || g[4].op == layer_op::sigmoid)) {
        layer.op = layer_op::squeeze_excite;
        layer.body.assign(std::make_move_iterator(g.begin() + 1), std::make_move_iterator(g.end()));
        layer.node = layer.body[0].node;
      } else {
        std::string ops;
        for (const auto& l : g) ops += std::string(ops.empty() ? "" : ", ") + std::string(to_string(l.op));
        return fail("node '", label(*join), "' gates '", value, "' with [", ops,
                    "]; supported gates are hardsigmoid (hardswish) and squeeze-excite "
                    "(global pool, 1x1 conv, activation, 1x1 conv, hardsigmoid/sigmoid)");
      }
      layer.output = fork_shape;
      shape_ = fork_shape;
      flat_ = fork_flat;
    }
    out.push_back(std::move(layer));
    value = join->outputs[0];
    return {};
  }

  /// Maps node n (reading `value`, possibly with the nodes after it) to layers; advances `value`.
  status parse_node(const node& n, std::string& value, std::vector<imported_layer>& out) {
    if (!n.domain.empty() && n.domain != "ai.onnx")
      return fail("node '", label(n), "' is in domain '", n.domain, "'; only the default ONNX domain is supported");
    if (n.outputs.empty()) return fail("node '", label(n), "' has no output");
    if (n.inputs.empty() || n.inputs[0] != value)
      return fail("node '", label(n), "' (", n.op_type, ") reads '", value, "' as an input other than its first");
    imported_layer l;
    l.node = label(n);
    l.input = shape_;
    const std::string& op = n.op_type;
    std::string next = n.outputs[0];
    if (op == "Identity" || op == "Dropout") {
      value = next;
      return {};
    }
    if (op == "Conv") {
      OHQ_TRY_STATUS(parse_conv(n, l));
    } else if (op == "BatchNormalization") {
      OHQ_TRY_STATUS(parse_batch_norm(n, l));
    } else if (op == "Relu") {
      l.op = layer_op::relu;
    } else if (op == "Clip") {
      OHQ_TRY_STATUS(parse_clip(n, l));
    } else if (op == "HardSigmoid") {
      const float alpha = attr_float(n, "alpha", 0.2f), beta = attr_float(n, "beta", 0.5f);
      if (!near(alpha, 1.0f / 6.0f) || !near(beta, 0.5f))
        return fail("node '", label(n), "': HardSigmoid with alpha ", alpha, ", beta ", beta,
                    "; ohq implements PyTorch's (alpha 1/6, beta 0.5)");
      l.op = layer_op::hardsigmoid;
    } else if (op == "HardSwish") {
      l.op = layer_op::hardswish;
    } else if (op == "Sigmoid") {
      l.op = layer_op::sigmoid;
    } else if (op == "Softmax") {
      const std::int64_t axis = attr_int(n, "axis", -1);
      if (!flat_ || (axis != -1 && axis != 1)) return fail("node '", label(n), "': Softmax must be over the features of a flat input");
      l.op = layer_op::softmax;
    } else if (op == "MaxPool" || op == "AveragePool") {
      OHQ_TRY_STATUS(parse_pool(n, l));
    } else if (op == "GlobalAveragePool" || op == "ReduceMean") {
      if (op == "ReduceMean") {
        auto axes = attr_ints(n, "axes");
        std::sort(axes.begin(), axes.end());
        if (axes != std::vector<std::int64_t>{2, 3} && axes != std::vector<std::int64_t>{-2, -1})
          return fail("node '", label(n), "': ReduceMean is supported over H and W (axes 2, 3) only");
      }
      if (shape_.size() != 3) return fail("node '", label(n), "': ", op, " needs a feature map, got ", shape_str(shape_));
      l.op = layer_op::global_avg_pool;
    } else if (op == "Flatten" || op == "Reshape") {
      if (op == "Flatten" && attr_int(n, "axis", 1) != 1)
        return fail("node '", label(n), "': Flatten must keep the batch axis (axis 1)");
      if (op == "Reshape") OHQ_TRY_STATUS(check_reshape_to_2d(n));
      if (flat_) {  // after a global pool the value is already flat in ohq: nothing to do
        value = next;
        return {};
      }
      if (shape_.size() != 3) return fail("node '", label(n), "': ", op, " needs a feature map, got ", shape_str(shape_));
      l.op = layer_op::flatten;
    } else if (op == "Gemm") {
      OHQ_TRY_STATUS(parse_gemm(n, l));
    } else if (op == "MatMul") {
      OHQ_TRY_STATUS(parse_matmul(n, l, next));
    } else if (op == "Add") {
      OHQ_TRY_STATUS(parse_decomposed_hardsigmoid(n, l, next));
    } else if (op == "Pad") {
      bool identity = false;
      OHQ_TRY_STATUS(parse_pad(n, l, next, identity));
      if (identity) {
        value = next;
        return {};
      }
    } else {
      return fail("node '", label(n), "' has op type '", op, "', which ohq does not import");
    }
    OHQ_TRY_STATUS(infer_output(n, l));
    value = next;
    out.push_back(std::move(l));
    return {};
  }

  status parse_conv(const node& n, imported_layer& l) {
    if (flat_) return parse_pointwise_on_pooled(n, l);
    l.op = layer_op::conv2d;
    if (shape_.size() != 3) return fail("node '", label(n), "': Conv needs a feature map, got ", shape_str(shape_));
    const tensor* w = nullptr;
    OHQ_TRY_STATUS(float_input(n, 1, w, "weight"));
    if (w->dims.size() != 4 || w->dims[2] != w->dims[3])
      return fail("node '", label(n), "': Conv weight must be [O, C/G, K, K] with a square kernel");
    const auto strides = attr_ints(n, "strides"), pads = attr_ints(n, "pads"), dil = attr_ints(n, "dilations");
    const auto ks = attr_ints(n, "kernel_shape");
    const std::string auto_pad = attr_string(n, "auto_pad");
    if (!auto_pad.empty() && auto_pad != "NOTSET")
      return fail("node '", label(n), "': auto_pad '", auto_pad, "' is not supported (export with explicit pads)");
    for (auto d : dil)
      if (d != 1) return fail("node '", label(n), "': dilation ", d, " is not supported");
    if (!ks.empty() && (ks.size() != 2 || ks[0] != w->dims[2] || ks[1] != w->dims[3]))
      return fail("node '", label(n), "': kernel_shape disagrees with the weight");
    if (!strides.empty() && (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1))
      return fail("node '", label(n), "': strides must be equal in H and W");
    if (!pads.empty() && (pads.size() != 4 || pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3] || pads[0] < 0))
      return fail("node '", label(n), "': pads must be equal on all four sides");
    const std::int64_t group = attr_int(n, "group", 1);
    l.out = static_cast<std::size_t>(w->dims[0]);
    l.kernel = static_cast<std::size_t>(w->dims[2]);
    l.stride = strides.empty() ? 1 : static_cast<std::size_t>(strides[0]);
    l.padding = pads.empty() ? 0 : static_cast<std::size_t>(pads[0]);
    if (group < 1 || std::size_t(group) > shape_[0]) return fail("node '", label(n), "': group ", group, " is invalid");
    l.groups = static_cast<std::size_t>(group);
    if (shape_[0] % l.groups || l.out % l.groups || std::size_t(w->dims[1]) * l.groups != shape_[0])
      return fail("node '", label(n), "': weight [", w->dims[0], ", ", w->dims[1], ", ", w->dims[2], ", ", w->dims[3],
                  "] with group ", group, " does not fit an input of ", shape_str(shape_));
    l.weight = w->floats;
    for (auto d : w->dims) l.weight_dims.push_back(static_cast<std::size_t>(d));
    return load_bias(n, l);
  }

  /// A 1x1 convolution on a globally pooled [N, C, 1, 1] map (squeeze-excite) is a dense layer.
  status parse_pointwise_on_pooled(const node& n, imported_layer& l) {
    const tensor* w = nullptr;
    OHQ_TRY_STATUS(float_input(n, 1, w, "weight"));
    if (w->dims.size() != 4 || w->dims[2] != 1 || w->dims[3] != 1 || attr_int(n, "group", 1) != 1)
      return fail("node '", label(n), "': on a pooled (flat) input only ungrouped 1x1 convolutions are supported");
    for (auto p : attr_ints(n, "pads"))
      if (p != 0) return fail("node '", label(n), "': a padded 1x1 convolution on a pooled input is not supported");
    tensor as_matrix = *w;
    as_matrix.dims = {w->dims[0], w->dims[1]};
    OHQ_TRY_STATUS(set_dense(n, l, as_matrix, true));
    return load_bias(n, l);
  }

  status parse_batch_norm(const node& n, imported_layer& l) {
    l.op = layer_op::batch_norm;
    if (attr_int(n, "training_mode", 0) != 0 || n.outputs.size() > 1)
      return fail("node '", label(n), "': BatchNormalization must be in inference mode");
    const std::size_t channels = shape_.empty() ? 0 : shape_[0];
    const tensor* parts[4] = {};
    const char* roles[4] = {"scale", "bias", "mean", "var"};
    for (std::size_t i = 0; i < 4; ++i) {
      OHQ_TRY_STATUS(float_input(n, i + 1, parts[i], roles[i]));
      if (parts[i]->element_count() != channels)
        return fail("node '", label(n), "': BatchNormalization ", roles[i], " has ", parts[i]->element_count(),
                    " values for ", channels, " channels");
    }
    l.gamma = parts[0]->floats;
    l.beta = parts[1]->floats;
    l.mean = parts[2]->floats;
    l.var = parts[3]->floats;
    l.epsilon = attr_float(n, "epsilon", 1e-5f);
    if (!std::isfinite(l.epsilon))
      return make_status(errc::numerical, "ONNX import: node '", label(n), "' (BatchNormalization): epsilon is ", l.epsilon);
    for (float v : l.var)
      if (!(v + l.epsilon > 0.0f)) return fail("node '", label(n), "': BatchNormalization variance + epsilon must be positive");
    return {};
  }

  status parse_clip(const node& n, imported_layer& l) {
    float lo = -INFINITY, hi = INFINITY;
    if (const attribute* a = find_attribute(n, "min")) lo = a->f;  // opset < 11
    if (const attribute* a = find_attribute(n, "max")) hi = a->f;
    scalar_input(n, 1, lo);
    scalar_input(n, 2, hi);
    if (lo == 0.0f && hi == 6.0f) {
      l.op = layer_op::relu6;
    } else if (lo == 0.0f && std::isinf(hi)) {
      l.op = layer_op::relu;
    } else {
      return fail("node '", label(n), "': Clip(", lo, ", ", hi, ") is supported only as ReLU6 (0, 6) or ReLU (0, inf)");
    }
    return {};
  }

  status parse_pool(const node& n, imported_layer& l) {
    const bool is_max = n.op_type == "MaxPool";
    l.op = is_max ? layer_op::max_pool : layer_op::avg_pool;
    if (shape_.size() != 3) return fail("node '", label(n), "': ", n.op_type, " needs a feature map, got ", shape_str(shape_));
    const auto ks = attr_ints(n, "kernel_shape"), strides = attr_ints(n, "strides"), pads = attr_ints(n, "pads");
    const auto dil = attr_ints(n, "dilations");
    if (ks.size() != 2 || ks[0] != ks[1] || ks[0] < 1) return fail("node '", label(n), "': pooling needs a square kernel_shape");
    if (!strides.empty() && (strides.size() != 2 || strides[0] != strides[1] || strides[0] < 1))
      return fail("node '", label(n), "': strides must be equal in H and W");
    if (!pads.empty() && (pads.size() != 4 || pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3] || pads[0] < 0))
      return fail("node '", label(n), "': pads must be equal on all four sides");
    if (attr_int(n, "ceil_mode", 0) != 0) return fail("node '", label(n), "': ceil_mode is not supported");
    for (auto d : dil)
      if (d != 1) return fail("node '", label(n), "': dilation is not supported");
    if (is_max && n.outputs.size() > 1) return fail("node '", label(n), "': MaxPool indices output is not supported");
    l.kernel = static_cast<std::size_t>(ks[0]);
    l.stride = strides.empty() ? 1 : static_cast<std::size_t>(strides[0]);
    l.padding = pads.empty() ? 0 : static_cast<std::size_t>(pads[0]);
    l.count_include_pad = attr_int(n, "count_include_pad", 0) != 0;
    if (2 * l.padding > l.kernel) return fail("node '", label(n), "': padding larger than half the window");
    return {};
  }

  status check_reshape_to_2d(const node& n) const {
    std::vector<std::int64_t> target;
    if (n.inputs.size() < 2 || !eval_shape(n.inputs[1], n.inputs[0], target) || target.size() != 2)
      return fail("node '", label(n), "': Reshape is supported only to 2-D [N, features], with a constant target "
                  "or one computed from the input's Shape", shape_limit_note());
    std::size_t features = 1;
    for (auto d : shape_) features *= d;
    const std::int64_t first = target[0], second = target[1];
    const bool batch_kept = first == batch_dim || first == 0 || first == -1 || first == 1;
    if (!batch_kept || (second != -1 && second != static_cast<std::int64_t>(features)) || (first == -1 && second == -1))
      return fail("node '", label(n), "': Reshape to [", first == batch_dim ? std::string("N") : std::to_string(first), ", ",
                  second, "] does not flatten ", shape_str(shape_), " per sample");
    return {};
  }

  status set_dense(const node& n, imported_layer& l, const tensor& w, bool transposed) {
    l.op = layer_op::dense;
    if (!flat_) return fail("node '", label(n), "': ", n.op_type, " needs a flat input (Flatten first), got ", shape_str(shape_));
    if (w.dims.size() != 2) return fail("node '", label(n), "': weight must be 2-D");
    const std::size_t in = static_cast<std::size_t>(transposed ? w.dims[1] : w.dims[0]);
    const std::size_t outf = static_cast<std::size_t>(transposed ? w.dims[0] : w.dims[1]);
    if (in != shape_[0]) return fail("node '", label(n), "': weight expects ", in, " input features, the input has ", shape_[0]);
    l.out = outf;
    l.weight_dims = {outf, in};
    if (transposed) {
      l.weight = w.floats;
    } else {  // [In][Out] -> [Out][In]
      l.weight.resize(in * outf);
      for (std::size_t i = 0; i < in; ++i)
        for (std::size_t o = 0; o < outf; ++o) l.weight[o * in + i] = w.floats[i * outf + o];
    }
    return {};
  }

  status parse_gemm(const node& n, imported_layer& l) {
    if (attr_int(n, "transA", 0) != 0) return fail("node '", label(n), "': Gemm with transA is not supported");
    if (!near(attr_float(n, "alpha", 1.0f), 1.0f) || !near(attr_float(n, "beta", 1.0f), 1.0f))
      return fail("node '", label(n), "': Gemm with alpha or beta other than 1 is not supported");
    const tensor* w = nullptr;
    OHQ_TRY_STATUS(float_input(n, 1, w, "weight"));
    OHQ_TRY_STATUS(set_dense(n, l, *w, attr_int(n, "transB", 0) != 0));
    return load_bias(n, l);
  }

  /// MatMul(x, W) optionally followed by Add(., b): a dense layer.
  status parse_matmul(const node& n, imported_layer& l, std::string& next) {
    const tensor* w = nullptr;
    OHQ_TRY_STATUS(float_input(n, 1, w, "weight"));
    OHQ_TRY_STATUS(set_dense(n, l, *w, false));
    const auto users = consumers(next);
    if (users.size() == 1 && users[0]->op_type == "Add" && users[0]->inputs.size() == 2 &&
        !users[0]->outputs.empty() && !users[0]->outputs[0].empty()) {
      const node& add = *users[0];
      const std::string& other = add.inputs[0] == next ? add.inputs[1] : add.inputs[0];
      if (const tensor* b = constant(other); b && b->is_float() && b->element_count() == l.out) {
        for (std::size_t k = 0; k < b->floats.size(); ++k)
          if (!std::isfinite(b->floats[k]))
            return make_status(errc::numerical, "ONNX import: node '", label(add), "' (Add): bias '", printable(other),
                               "' holds a non-finite value (", b->floats[k], ") at index ", k);
        l.bias = b->floats;
        l.has_bias = true;
        next = add.outputs[0];
      }
    }
    return {};
  }

  /// Add(x, 3) -> Clip(0, 6) [or Relu then Clip/Min] -> Div(6) or Mul(1/6): hardsigmoid written out.
  status parse_decomposed_hardsigmoid(const node& add, imported_layer& l, std::string& next) {
    float three = 0;
    const bool ok_add = add.inputs.size() == 2 && scalar_input(add, 1, three) && near(three, 3.0f);
    auto single_user = [&](const std::string& v) -> const node* {
      const auto users = consumers(v);
      return users.size() == 1 ? users[0] : nullptr;
    };
    const node* clip = ok_add ? single_user(add.outputs[0]) : nullptr;
    float lo = -1, hi = -1;
    const bool ok_clip = clip && clip->op_type == "Clip" && !clip->outputs.empty() && scalar_input(*clip, 1, lo) &&
                         scalar_input(*clip, 2, hi) && lo == 0.0f && hi == 6.0f;
    const node* scale = ok_clip ? single_user(clip->outputs[0]) : nullptr;
    float k = 0;
    const bool ok_scale = scale && scale->inputs.size() == 2 && !scale->outputs.empty() && !scale->outputs[0].empty() &&
                          scalar_input(*scale, 1, k) &&
                          ((scale->op_type == "Div" && near(k, 6.0f)) || (scale->op_type == "Mul" && near(k, 1.0f / 6.0f)));
    if (!ok_scale)
      return fail("node '", label(add), "': an Add of a constant is supported only as the start of "
                  "hardsigmoid written out, (x + 3).clip(0, 6) / 6");
    l.op = layer_op::hardsigmoid;
    next = scale->outputs[0];
    return {};
  }

  /// Pad: all-zero pads are nothing; zero padding of H and W before an unpadded AveragePool is
  /// that pool with padding and count_include_pad (PyTorch exports avg_pool2d so).
  status parse_pad(const node& n, imported_layer& l, std::string& next, bool& identity) {
    const std::string mode = attr_string(n, "mode");
    std::vector<std::int64_t> pads = attr_ints(n, "pads");  // opset < 11
    if (n.inputs.size() > 1 && !n.inputs[1].empty() && !eval_shape(n.inputs[1], n.inputs[0], pads))
      return fail("node '", label(n), "': Pad needs constant pads", shape_limit_note());
    float fill = 0.0f;
    if (n.inputs.size() > 2 && !n.inputs[2].empty() && !scalar_input(n, 2, fill))
      return fail("node '", label(n), "': Pad needs a constant fill value");
    if ((!mode.empty() && mode != "constant") || fill != 0.0f || pads.size() != 8)
      return fail("node '", label(n), "': only zero padding of a 4-D tensor is supported");
    if (std::all_of(pads.begin(), pads.end(), [](std::int64_t p) { return p == 0; })) {
      identity = true;
      return {};
    }
    const std::int64_t p = pads[2];
    const bool spatial_symmetric = pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 && pads[3] == p &&
                                   pads[6] == p && pads[7] == p && p > 0;
    const auto users = consumers(n.outputs[0]);  // parse_node checked that n has an output
    if (!spatial_symmetric || users.size() != 1 || users[0]->op_type != "AveragePool")
      return fail("node '", label(n), "': Pad is supported only as equal zero padding of H and W before an AveragePool");
    const node& pool = *users[0];
    if (pool.outputs.empty() || pool.outputs[0].empty()) return fail("node '", label(pool), "' has no output");
    OHQ_TRY_STATUS(parse_pool(pool, l));
    if (l.padding != 0) return fail("node '", label(pool), "': padded twice (Pad and pads)");
    l.padding = static_cast<std::size_t>(p);
    l.count_include_pad = true;
    l.node = label(pool);
    if (2 * l.padding > l.kernel) return fail("node '", label(pool), "': padding larger than half the window");
    next = pool.outputs[0];
    return {};
  }

  /// Output shape of a leaf, from the current shape.
  status infer_output(const node& n, imported_layer& l) {
    auto window = [&](std::size_t size) -> std::size_t {
      if (size + 2 * l.padding < l.kernel) return 0;
      return (size + 2 * l.padding - l.kernel) / l.stride + 1;
    };
    switch (l.op) {
      case layer_op::conv2d:
      case layer_op::max_pool:
      case layer_op::avg_pool: {
        const std::size_t h = window(shape_[1]), w = window(shape_[2]);
        if (!h || !w) return fail("node '", label(n), "': the ", l.kernel, "x", l.kernel, " window is larger than the padded input ", shape_str(shape_));
        shape_ = {l.op == layer_op::conv2d ? l.out : shape_[0], h, w};
        break;
      }
      case layer_op::global_avg_pool:
        shape_ = {shape_[0]};
        flat_ = true;
        break;
      case layer_op::flatten:
        shape_ = {shape_[0] * shape_[1] * shape_[2]};
        flat_ = true;
        break;
      case layer_op::dense:
        shape_ = {l.out};
        break;
      default:
        break;  // element-wise
    }
    l.output = shape_;
    return {};
  }

  const graph& g_;
  graph_index index_;
  std::map<std::string, const tensor*, std::less<>> constants_;
  std::vector<std::size_t> shape_;  ///< shape of the value being walked
  mutable bool shape_limit_hit_ = false;  ///< the last eval_shape ran out of steps or depth
  bool flat_ = false;               ///< the value is flat in ohq terms (after a global pool or flatten)
};

}  // namespace detail

/// Recognises `g` as ohq layers (weights copied), or explains which node does not fit.
/// Never throws (an exception, e.g. std::bad_alloc, becomes an error).
inline result<imported_network> try_import_layers(const graph& g) {
  return io::detail::no_throw([&]() -> result<imported_network> { return detail::importer(g).run(); });
}

}  // namespace ohq::io::onnx

// SPDX-License-Identifier: MIT
/// @file Defines `ohq::load_onnx<Net>` / `try_load_onnx<Net>`: an ONNX file's weights bound onto a
/// compile-time network type, every layer's kind, geometry and shapes checked on the way.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/io/onnx/import.hpp>
#include <ohq/io/onnx/reader.hpp>
#include <ohq/nn.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace ohq {
namespace io::onnx::detail {

/// Walks one list of imported layers while the type's layers are bound to it.
struct bind_cursor {
  explicit bind_cursor(const std::vector<imported_layer>* list, std::size_t first = 0) : layers(list), next(first) {}

  const std::vector<imported_layer>* layers = nullptr;
  std::size_t next = 0;
  /// A bias-free conv/dense of the type received a bias from a file whose exporter folded the
  /// batch norm: the type's next layer must be that batch_norm.
  const imported_layer* folded_bias_from = nullptr;
  std::string folded_bias_layer;

  [[nodiscard]] const imported_layer* peek() const {
    return next < layers->size() ? &(*layers)[next] : nullptr;
  }
};

template <class Layer>
std::string describe_layer() {
  return "layer " + Layer::path_t::str() + " (" + Layer::name() + ", " + Layer::input_shape_t::str() + " -> " +
         Layer::output_shape_t::str() + ")";
}
inline std::string describe_node(const imported_layer& l) {
  return "ONNX node '" + l.node + "' (" + std::string(to_string(l.op)) + ", " + shape_str(l.input) + " -> " +
         shape_str(l.output) + ")";
}
template <class Shape>
std::vector<std::size_t> dims_of() {
  return {Shape::dims.begin(), Shape::dims.end()};
}

template <class Layer, class... Parts>
status mismatch(const imported_layer& l, const Parts&... parts) {
  return make_status(errc::shape_mismatch, describe_node(l), " does not match ", describe_layer<Layer>(), ": ", parts...);
}

/// Takes the next imported layer for `Layer`, checking its op and both shapes.
template <class Layer>
status take(bind_cursor& c, layer_op op, const imported_layer*& out) {
  if (c.folded_bias_from && !(op == layer_op::batch_norm))
    return make_status(errc::shape_mismatch, describe_node(*c.folded_bias_from), " has a bias but ", c.folded_bias_layer,
                       " has none and no batch_norm follows it; declare the layer with a bias");
  out = c.peek();
  if (!out)
    return make_status(errc::shape_mismatch, describe_layer<Layer>(),
                       " has no counterpart in the ONNX graph: the graph (or this branch) ends earlier");
  if (out->op != op)
    return mismatch<Layer>(*out, "the node is a ", to_string(out->op), ", the layer a ", to_string(op));
  if (out->input != dims_of<typename Layer::input_shape_t>() || out->output != dims_of<typename Layer::output_shape_t>())
    return mismatch<Layer>(*out, "shapes differ: the node maps ", shape_str(out->input), " -> ", shape_str(out->output),
                           ", the layer ", Layer::input_shape_t::str(), " -> ", Layer::output_shape_t::str());
  ++c.next;
  return {};
}

inline void copy_into(std::span<float> dst, const std::vector<float>& src) {
  std::copy(src.begin(), src.end(), dst.begin());
}

/// conv2d and dense: weights, and a bias (or the note that a folded batch norm must follow).
template <class Layer>
status load_weights(Layer& layer, const imported_layer& l, bind_cursor& c) {
  if (l.weight.size() != layer.weight().size())
    return mismatch<Layer>(l, "the weight has ", l.weight.size(), " values, the layer ", layer.weight().size());
  copy_into(layer.weight(), l.weight);
  std::fill(layer.bias().begin(), layer.bias().end(), 0.0f);
  if (l.has_bias) {
    copy_into(layer.bias(), l.bias);
    if (!Layer::has_bias) {
      c.folded_bias_from = &l;
      c.folded_bias_layer = describe_layer<Layer>();
    }
  }
  return {};
}

template <std::size_t O, std::size_t K, std::size_t S, std::size_t P, std::size_t G, bool B, class In, class Path>
status bind(nn::detail::conv2d_instance<O, K, S, P, G, B, In, Path>& layer, bind_cursor& c) {
  using L = std::decay_t<decltype(layer)>;
  const imported_layer* l = nullptr;
  OHQ_TRY_STATUS(take<L>(c, layer_op::conv2d, l));
  if (l->kernel != L::kernel || l->stride != L::stride || l->padding != L::padding || l->groups != L::groups)
    return mismatch<L>(*l, "the node has kernel ", l->kernel, ", stride ", l->stride, ", padding ", l->padding,
                       ", groups ", l->groups, "; the layer ", L::kernel, ", ", L::stride, ", ", L::padding, ", ", L::groups);
  return load_weights(layer, *l, c);
}

template <std::size_t O, bool B, class In, class Path>
status bind(nn::detail::dense_instance<O, B, In, Path>& layer, bind_cursor& c) {
  using L = std::decay_t<decltype(layer)>;
  const imported_layer* l = nullptr;
  OHQ_TRY_STATUS(take<L>(c, layer_op::dense, l));
  return load_weights(layer, *l, c);
}

template <class In, class Path>
status bind(nn::detail::batch_norm_instance<In, Path>& layer, bind_cursor& c) {
  using L = std::decay_t<decltype(layer)>;
  const imported_layer* next = c.peek();
  if (c.folded_bias_from && (!next || next->op != layer_op::batch_norm)) {
    layer.mark_folded();  // the exporter folded it into the bias just loaded
    c.folded_bias_from = nullptr;
    return {};
  }
  c.folded_bias_from = nullptr;
  const imported_layer* l = nullptr;
  OHQ_TRY_STATUS(take<L>(c, layer_op::batch_norm, l));
  copy_into(layer.weight(), l->gamma);
  copy_into(layer.bias(), l->beta);
  copy_into(layer.running_mean(), l->mean);
  copy_into(layer.running_var(), l->var);
  layer.epsilon() = l->epsilon;
  return {};
}

template <class Activation, class In, class Path>
status bind(nn::detail::activation_instance<Activation, In, Path>&, bind_cursor& c) {
  using L = nn::detail::activation_instance<Activation, In, Path>;
  layer_op op = layer_op::relu;
  for (layer_op candidate : {layer_op::relu, layer_op::relu6, layer_op::hardswish, layer_op::hardsigmoid, layer_op::sigmoid})
    if (to_string(candidate) == Activation::label) op = candidate;
  const imported_layer* l = nullptr;
  return take<L>(c, op, l);
}

template <nn::detail::pool_op Op, std::size_t K, std::size_t S, std::size_t P, bool CIP, class In, class Path>
status bind(nn::detail::pool_instance<Op, K, S, P, CIP, In, Path>&, bind_cursor& c) {
  using L = nn::detail::pool_instance<Op, K, S, P, CIP, In, Path>;
  const imported_layer* l = nullptr;
  OHQ_TRY_STATUS(take<L>(c, L::is_max ? layer_op::max_pool : layer_op::avg_pool, l));
  if (l->kernel != K || l->stride != S || l->padding != P)
    return mismatch<L>(*l, "the node pools ", l->kernel, "x", l->kernel, " stride ", l->stride, " padding ", l->padding);
  if (!L::is_max && P > 0 && l->count_include_pad != CIP)
    return mismatch<L>(*l, "count_include_pad differs (node ", l->count_include_pad, ", layer ", CIP, ")");
  return {};
}

template <class In, class Path>
status bind(nn::detail::global_avg_pool_instance<In, Path>&, bind_cursor& c) {
  const imported_layer* l = nullptr;
  return take<nn::detail::global_avg_pool_instance<In, Path>>(c, layer_op::global_avg_pool, l);
}

template <class In, class Path>
status bind(nn::detail::flatten_instance<In, Path>&, bind_cursor& c) {
  if constexpr (In::rank == 1) {
    return {};  // flattening a flat value: the importer drops such nodes too
  } else {
    const imported_layer* l = nullptr;
    return take<nn::detail::flatten_instance<In, Path>>(c, layer_op::flatten, l);
  }
}

template <class In, class Path>
status bind(nn::detail::softmax_instance<In, Path>&, bind_cursor& c) {
  const imported_layer* l = nullptr;
  return take<nn::detail::softmax_instance<In, Path>>(c, layer_op::softmax, l);
}

// The composites recurse through bind_elements: declared here so its calls find them.
template <class In, class Path, std::size_t First, class... Layers>
status bind(nn::sequence_instance<In, Path, First, Layers...>& seq, bind_cursor& c);
template <class In, class Path, class Shortcut, class... Body>
status bind(nn::detail::residual_instance<In, Path, Shortcut, Body...>& res, bind_cursor& c);
template <std::size_t S, class Inner, class Gate, class In, class Path>
status bind(nn::detail::squeeze_excite_instance<S, Inner, Gate, In, Path>& se, bind_cursor& c);

template <class Seq>
status bind_elements(Seq& seq, bind_cursor& c) {
  status result;
  seq.for_each_element([&](auto& element) {
    if (result.ok()) result = bind(element, c);
  });
  return result;
}

/// Binds `seq` to all of `layers` (a residual branch): nothing may be left over on either side.
template <class Owner, class Seq>
status bind_branch(Seq& seq, const std::vector<imported_layer>& layers, const imported_layer& owner, const char* role) {
  bind_cursor inner(&layers);
  OHQ_TRY_STATUS(bind_elements(seq, inner));
  if (inner.folded_bias_from)
    return make_status(errc::shape_mismatch, describe_node(*inner.folded_bias_from), " has a bias but ",
                       inner.folded_bias_layer, " has none and no batch_norm follows it");
  if (const imported_layer* extra = inner.peek())
    return make_status(errc::shape_mismatch, describe_node(*extra), " in the ", role, " of ", describe_node(owner),
                       " has no counterpart in ", describe_layer<Owner>());
  return {};
}

template <class In, class Path, std::size_t First, class... Layers>
status bind(nn::sequence_instance<In, Path, First, Layers...>& seq, bind_cursor& c) {
  return bind_elements(seq, c);  // a nested sequential is spliced into its parent's list
}

template <class In, class Path, class Shortcut, class... Body>
status bind(nn::detail::residual_instance<In, Path, Shortcut, Body...>& res, bind_cursor& c) {
  using L = nn::detail::residual_instance<In, Path, Shortcut, Body...>;
  const imported_layer* l = nullptr;
  OHQ_TRY_STATUS(take<L>(c, layer_op::residual, l));
  if (L::has_projection == l->shortcut.empty())
    return mismatch<L>(*l, L::has_projection ? "the layer has a projection shortcut, the node an identity one"
                                             : "the node has a projection shortcut, the layer an identity one");
  OHQ_TRY_STATUS(bind_branch<L>(res.body(), l->body, *l, "body"));
  if constexpr (L::has_projection) OHQ_TRY_STATUS(bind_branch<L>(res.projection(), l->shortcut, *l, "shortcut"));
  return {};
}

template <std::size_t S, class Inner, class Gate, class In, class Path>
status bind(nn::detail::squeeze_excite_instance<S, Inner, Gate, In, Path>& se, bind_cursor& c) {
  using L = nn::detail::squeeze_excite_instance<S, Inner, Gate, In, Path>;
  const imported_layer* l = nullptr;
  OHQ_TRY_STATUS(take<L>(c, layer_op::squeeze_excite, l));
  const auto& b = l->body;  // dense, inner activation, dense, gate
  if (to_string(b[1].op) != Inner::label || to_string(b[3].op) != Gate::label)
    return mismatch<L>(*l, "the node's activations are ", to_string(b[1].op), "/", to_string(b[3].op), ", the layer's ",
                       Inner::label, "/", Gate::label);
  if (b[0].out != L::squeeze_channels)
    return mismatch<L>(*l, "the node squeezes to ", b[0].out, " channels, the layer to ", L::squeeze_channels);
  bind_cursor squeeze(&l->body, 0), excite(&l->body, 2);
  OHQ_TRY_STATUS(bind(se.squeeze(), squeeze));
  OHQ_TRY_STATUS(bind(se.excite(), excite));
  if (!b[0].has_bias || !b[2].has_bias) return mismatch<L>(*l, "squeeze-excite convolutions need biases");
  return {};
}

}  // namespace io::onnx::detail

/// Binds an imported graph's weights onto `net` (every layer's kind, geometry and shapes are
/// checked), then folds batch norms. On error `net` may hold part of the weights.
template <class Net>
status try_bind_onnx(Net& net, const io::onnx::imported_network& imported) {
  const auto want = io::onnx::detail::dims_of<typename Net::input_shape_t>();
  if (imported.input_shape != want)
    return make_status(errc::shape_mismatch, "ONNX graph input '", imported.input_name, "' has shape ",
                       io::onnx::detail::shape_str(imported.input_shape), ", the network type expects ", Net::input_shape_t::str());
  io::onnx::detail::bind_cursor cursor(&imported.layers);
  status result;
  net.for_each_element([&](auto& element) {
    if (result.ok()) result = io::onnx::detail::bind(element, cursor);
  });
  OHQ_TRY_STATUS(result);
  if (cursor.folded_bias_from)
    return make_status(errc::shape_mismatch, io::onnx::detail::describe_node(*cursor.folded_bias_from), " has a bias but ",
                       cursor.folded_bias_layer, " has none and no batch_norm follows it");
  if (const io::onnx::imported_layer* extra = cursor.peek())
    return make_status(errc::shape_mismatch, io::onnx::detail::describe_node(*extra),
                       " has no counterpart: the network type ends before the graph");
  net.fold_batch_norms();
  return {};
}

/// Reads an ONNX file into a new network of type Net (see try_bind_onnx).
template <class Net>
result<Net> try_load_onnx(const std::filesystem::path& path) {
  auto model = io::onnx::try_load_model(path);
  if (!model) return model.error();
  auto imported = io::onnx::try_import_layers(model->g);
  if (!imported) return status(imported.error().code(), path.string() + ": " + imported.error().message());
  Net net;
  if (status s = try_bind_onnx(net, *imported); !s.ok()) return status(s.code(), path.string() + ": " + s.message());
  return net;
}

#ifndef OHQ_NO_EXCEPTIONS
/// `try_load_onnx<Net>(path).value()`: throws ohq::error naming the node, the layer and both shapes.
template <class Net>
Net load_onnx(const std::filesystem::path& path) {
  return try_load_onnx<Net>(path).value();
}
#endif

}  // namespace ohq

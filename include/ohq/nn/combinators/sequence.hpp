// SPDX-License-Identifier: MIT
/// @file Defines `sequence_instance`, a chain of layers bound one after the other (a Hana tuple).
///
/// Shape inference walks the layer list once: layer i is bound to the output shape of layer i-1.
/// Everything else (counts, forward, folding, visiting) is a pack expansion or a Hana for_each.
#pragma once

#include <ohq/core/shape.hpp>
#include <ohq/nn/layer_base.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/tuple.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ohq::nn {
namespace detail {

template <class... Ts>
struct type_list {};

/// Binds Layers... to shapes: `type` is a type_list of instances, `output` the last shape.
template <class In, class Path, std::size_t Index, class Bound, class... Layers>
struct bind_chain {
  using type = Bound;
  using output = In;
};
template <class In, class Path, std::size_t Index, class... Done, class Layer, class... Rest>
struct bind_chain<In, Path, Index, type_list<Done...>, Layer, Rest...> {
  using head = typename Layer::template instance<In, append_path_t<Path, Index>>;
  using next = bind_chain<typename head::output_shape_t, Path, Index + 1, type_list<Done..., head>, Rest...>;
  using type = typename next::type;
  using output = typename next::output;
};

template <class List>
struct hana_tuple_of;
template <class... Ts>
struct hana_tuple_of<type_list<Ts...>> {
  using type = boost::hana::tuple<Ts...>;
};

/// Compile-time totals over a list of bound layers.
template <class List>
struct list_stats;
template <class... Ts>
struct list_stats<type_list<Ts...>> {
  static constexpr std::uint64_t params = (std::uint64_t{0} + ... + Ts::params);
  static constexpr std::uint64_t macs = (std::uint64_t{0} + ... + Ts::macs);
  static constexpr std::size_t scratch_floats = std::max({std::size_t{0}, Ts::scratch_floats...});
  static constexpr std::size_t quantizable_count = (std::size_t{0} + ... + Ts::quantizable_count());
  static constexpr void collect_quantizable_macs(std::uint64_t*& out) { (Ts::collect_quantizable_macs(out), ...); }
  static void describe(std::vector<layer_row>& rows, int depth) { (Ts::describe(rows, depth), ...); }
};

template <class T>
concept foldable_into = T::kind == layer_kind::conv2d || T::kind == layer_kind::dense;

}  // namespace detail

/// Layers... bound in order to input shape `In`; element i sits at path `Path` + (`First` + i).
template <class In, class Path, std::size_t First, class... Layers>
class sequence_instance {
  static_assert(sizeof...(Layers) >= 1, "ohq: a sequence of layers cannot be empty");
  using chain = detail::bind_chain<In, Path, First, detail::type_list<>, Layers...>;
  using tuple_t = typename detail::hana_tuple_of<typename chain::type>::type;
  using stats = detail::list_stats<typename chain::type>;

 public:
  using input_shape_t = In;
  using output_shape_t = typename chain::output;
  using path_t = Path;
  static constexpr input_shape_t input_shape{};
  static constexpr output_shape_t output_shape{};
  static constexpr layer_kind kind = layer_kind::composite;
  static constexpr std::size_t size = sizeof...(Layers);

  static constexpr std::uint64_t params = stats::params;
  static constexpr std::uint64_t macs = stats::macs;
  static constexpr std::size_t scratch_floats = stats::scratch_floats;
  static constexpr std::size_t quantizable_count() { return stats::quantizable_count; }
  static constexpr void collect_quantizable_macs(std::uint64_t*& out) { stats::collect_quantizable_macs(out); }
  static void describe(std::vector<layer_row>& rows, int depth) { stats::describe(rows, depth); }

  /// Element I of the sequence.
  template <std::size_t I>
  auto& layer() {
    return boost::hana::at_c<I>(layers_);
  }
  template <std::size_t I>
  const auto& layer() const {
    return boost::hana::at_c<I>(layers_);
  }

  void reserve(std::size_t batch) {
    boost::hana::for_each(layers_, [batch](auto& l) { l.reserve(batch); });
  }
  const float* forward(const float* in, std::size_t batch, workspace& ws) {
    boost::hana::for_each(layers_, [&](auto& l) { in = l.forward(in, batch, ws); });
    return in;
  }
  template <class F>
  void for_each_layer(F&& f) {
    boost::hana::for_each(layers_, [&f](auto& l) { l.for_each_layer(f); });
  }
  /// Calls f on each direct element (nested sequences and composites unexpanded).
  template <class F>
  void for_each_element(F&& f) {
    boost::hana::for_each(layers_, f);
  }

  /// Folds every batch_norm that directly follows a conv2d or dense into it, recursively.
  void fold_batch_norms() {
    boost::hana::for_each(layers_, [](auto& l) { l.fold_batch_norms(); });
    fold_pairs(std::make_index_sequence<size - 1>{});
  }

 private:
  template <std::size_t... I>
  void fold_pairs(std::index_sequence<I...>) {
    (fold_pair<I>(), ...);
  }
  template <std::size_t I>
  void fold_pair() {
    auto& first = boost::hana::at_c<I>(layers_);
    auto& second = boost::hana::at_c<I + 1>(layers_);
    using first_t = std::decay_t<decltype(first)>;
    using second_t = std::decay_t<decltype(second)>;
    if constexpr (detail::foldable_into<first_t> && second_t::kind == layer_kind::batch_norm) {
      if (!second.folded()) second.fold_into(first);
    }
  }

  tuple_t layers_;
};

/// A plain chain of layers, usable wherever a layer is (e.g. as one element of another chain).
template <class... Layers>
struct sequential {
  template <class In, class Path>
  using instance = sequence_instance<In, Path, 0, Layers...>;
};

}  // namespace ohq::nn

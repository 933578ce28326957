// SPDX-License-Identifier: MIT
/// @file Defines `residual<Body...>` (y = body(x) + x) and its projection form with `shortcut<...>`.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/kernels/fp32/eltwise.hpp>
#include <ohq/nn/combinators/sequence.hpp>
#include <ohq/nn/layer_base.hpp>

#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace ohq::nn {

/// The projection branch of a residual, e.g. `shortcut<conv2d<32, 1, 2, 0, 1, false>, batch_norm>`;
/// written as the first element of `residual<...>`.
template <class... Layers>
struct shortcut {};

namespace detail {

template <class T>
inline constexpr bool is_shortcut_v = false;
template <class... Ls>
inline constexpr bool is_shortcut_v<shortcut<Ls...>> = true;

/// Body and shortcut bound to In: the body's elements are numbered 0..B-1, the shortcut's B...
template <class In, class Path, class Shortcut, class... Body>
struct residual_parts {
  using body_t = sequence_instance<In, Path, 0, Body...>;
  using shortcut_t = void;
};
template <class In, class Path, class... ShortcutLayers, class... Body>
struct residual_parts<In, Path, shortcut<ShortcutLayers...>, Body...> {
  using body_t = sequence_instance<In, Path, 0, Body...>;
  using shortcut_t = sequence_instance<In, Path, sizeof...(Body), ShortcutLayers...>;
};

template <class In, class Path, class Shortcut, class... Body>
class residual_instance {
  using parts = residual_parts<In, Path, Shortcut, Body...>;
  using body_t = typename parts::body_t;
  using shortcut_t = typename parts::shortcut_t;
  static constexpr bool projected = !std::is_void_v<shortcut_t>;
  using body_out = typename body_t::output_shape_t;

  template <class S>
  struct shortcut_output {
    using type = typename S::output_shape_t;
  };
  template <class S>
    requires std::is_void_v<S>
  struct shortcut_output<S> {
    using type = In;
  };
  using shortcut_out = typename shortcut_output<shortcut_t>::type;

  static_assert(detail::require<projected || std::is_same_v<body_out, In>,
                                residual_body_must_preserve_shape<Path, In, body_out>>());
  static_assert(detail::require<!projected || std::is_same_v<body_out, shortcut_out>,
                                residual_shortcut_must_match_body<Path, body_out, shortcut_out>>());

  template <class S>
  struct shortcut_stats {
    static constexpr std::uint64_t params = S::params, macs = S::macs;
    static constexpr std::size_t scratch_floats = S::scratch_floats, quantizable_count = S::quantizable_count();
  };
  template <class S>
    requires std::is_void_v<S>
  struct shortcut_stats<S> {
    static constexpr std::uint64_t params = 0, macs = 0;
    static constexpr std::size_t scratch_floats = 0, quantizable_count = 0;
  };
  using sc = shortcut_stats<shortcut_t>;
  struct no_shortcut {};

 public:
  using input_shape_t = In;
  using output_shape_t = body_out;
  using path_t = Path;
  static constexpr input_shape_t input_shape{};
  static constexpr output_shape_t output_shape{};
  static constexpr layer_kind kind = layer_kind::composite;
  static constexpr bool has_projection = projected;
  static constexpr std::uint64_t params = body_t::params + sc::params;
  static constexpr std::uint64_t macs = body_t::macs + sc::macs;
  static constexpr std::size_t scratch_floats =
      body_t::scratch_floats > sc::scratch_floats ? body_t::scratch_floats : sc::scratch_floats;
  static constexpr std::size_t quantizable_count() { return body_t::quantizable_count() + sc::quantizable_count; }
  static constexpr void collect_quantizable_macs(std::uint64_t*& out) {
    body_t::collect_quantizable_macs(out);
    if constexpr (projected) shortcut_t::collect_quantizable_macs(out);
  }
  static std::string name() { return projected ? "residual (projection)" : "residual"; }
  static void describe(std::vector<layer_row>& rows, int depth) {
    rows.push_back({Path::str(), name(), In::str(), body_out::str(), params, macs, depth, false});
    body_t::describe(rows, depth + 1);
    if constexpr (projected) shortcut_t::describe(rows, depth + 1);
    rows.push_back({"", "add", "", body_out::str(), 0, 0, depth + 1, false});
  }

  body_t& body() { return body_; }
  template <class S = shortcut_t>
    requires(!std::is_void_v<S>)
  S& projection() {
    return shortcut_;
  }

  void reserve(std::size_t batch) {
    body_.reserve(batch);
    if constexpr (projected) shortcut_.reserve(batch);
    output_.resize(batch * body_out::size);
  }
  const float* forward(const float* in, std::size_t batch, workspace& ws) {
    const float* side = in;
    if constexpr (projected) side = shortcut_.forward(in, batch, ws);
    const float* main = body_.forward(in, batch, ws);
    kernels::fp32::add(main, side, output_.data(), batch * body_out::size);
    return output_.data();
  }
  template <class F>
  void for_each_layer(F&& f) {
    body_.for_each_layer(f);
    if constexpr (projected) shortcut_.for_each_layer(f);
  }
  void fold_batch_norms() {
    body_.fold_batch_norms();
    if constexpr (projected) shortcut_.fold_batch_norms();
  }

 private:
  body_t body_;
  [[no_unique_address]] std::conditional_t<projected, shortcut_t, no_shortcut> shortcut_;
  aligned_buffer<float> output_;
};

template <class In, class Path, class First, class... Rest>
struct residual_select {
  using type = residual_instance<In, Path, void, First, Rest...>;
};
template <class In, class Path, class... S, class... Rest>
struct residual_select<In, Path, shortcut<S...>, Rest...> {
  using type = residual_instance<In, Path, shortcut<S...>, Rest...>;
};

}  // namespace detail

/// y = body(x) + x, or y = body(x) + shortcut(x) when the first element is `shortcut<...>`.
/// The activation after the add is the next layer (e.g. `relu`), as in torchvision's BasicBlock.
template <class... Elements>
struct residual {
  static_assert(sizeof...(Elements) >= 1, "ohq: a residual needs a body");
  template <class In, class Path>
  using instance = typename detail::residual_select<In, Path, Elements...>::type;
};

}  // namespace ohq::nn

// SPDX-License-Identifier: MIT
/// @file Defines what every bound layer shares: its path in the network, the layer table row,
/// the inference workspace and the compile-time diagnostics that name a layer.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/shape.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace ohq::nn {

/// Where a layer sits: `layer_path<3>` is the network's layer 3; `layer_path<3, 1>` is element 1
/// inside it (a residual numbers its body first, then its shortcut). It appears in compile errors.
template <std::size_t... Indices>
struct layer_path {
  static constexpr std::size_t depth = sizeof...(Indices);
  /// "3.1"
  static std::string str() {
    std::string out;
    auto add = [&out](std::size_t index) {
      if (!out.empty()) out += '.';
      out += std::to_string(index);
    };
    (add(Indices), ...);
    return out;
  }
};

namespace detail {
template <class Path, std::size_t I>
struct append_path;
template <std::size_t... P, std::size_t I>
struct append_path<layer_path<P...>, I> {
  using type = layer_path<P..., I>;
};
}  // namespace detail
template <class Path, std::size_t I>
using append_path_t = typename detail::append_path<Path, I>::type;

/// One row of the printed layer table.
struct layer_row {
  std::string index;   ///< "3.1"
  std::string name;    ///< "conv2d 3x3 s1 p1 -> 16"
  std::string input;   ///< "(16, 28, 28)"
  std::string output;  ///< "(16, 28, 28)"
  std::uint64_t params = 0;
  std::uint64_t macs = 0;
  int depth = 0;       ///< nesting level, for indentation
  bool quantizable = false;
};

/// Scratch memory shared by all layers of one network (im2col matrices); sized once at set-up.
struct workspace {
  aligned_buffer<float> scratch;
};

/// Kinds of layers; used to fold batch norms and to find quantizable layers.
enum class layer_kind { conv2d, dense, batch_norm, activation, pool, reshape, softmax, composite };

namespace detail {

template <class...>
inline constexpr bool dependent_false = false;

// Each check below is a class template named after what is wrong; when a check fails, the
// compiler prints its instantiation, whose arguments name the layer path and the shapes.

template <class LayerPath, class InputShape, class BodyOutputShape>
struct residual_body_must_preserve_shape {
  static_assert(dependent_false<LayerPath>,
                "ohq: shape mismatch in a residual: its body's output shape differs from its input shape "
                "(the layer path and both shapes are the arguments of this template); add a "
                "shortcut<...> projection or fix the body");
};
template <class LayerPath, class BodyOutputShape, class ShortcutOutputShape>
struct residual_shortcut_must_match_body {
  static_assert(dependent_false<LayerPath>,
                "ohq: shape mismatch in a residual: the shortcut's output shape differs from the body's "
                "(the layer path and both shapes are the arguments of this template)");
};
template <class LayerPath, class ExpectedRank, class InputShape>
struct layer_needs_input_rank {
  static_assert(dependent_false<LayerPath>,
                "ohq: shape mismatch: this layer needs an input of another rank (the layer path, the rank "
                "it needs and the input shape it got are the arguments of this template); e.g. put "
                "flatten or global_avg_pool before a dense layer");
};
template <class LayerPath, class InputShape, class Kernel>
struct window_larger_than_padded_input {
  static_assert(dependent_false<LayerPath>,
                "ohq: shape mismatch: the kernel/window is larger than the padded input (the layer path, "
                "the input shape and the kernel are the arguments of this template)");
};
template <class LayerPath, class InputShape, class Groups>
struct groups_must_divide_channels {
  static_assert(dependent_false<LayerPath>,
                "ohq: shape mismatch: groups must divide both the input and the output channels (the "
                "layer path, the input shape and the groups are the arguments of this template)");
};
template <class LayerPath, class ExpectedShape, class ActualShape>
struct expected_shape_differs {
  static_assert(dependent_false<LayerPath>,
                "ohq: shape mismatch: the shape at this point differs from the expected one (the layer "
                "path, the expected and the actual shape are the arguments of this template)");
};

/// Wraps a value so it prints in a diagnostic: `value<3>`.
template <std::size_t V>
struct value {};

/// Forces instantiation of the check `Check` only when `Ok` is false. Returns Ok.
template <bool Ok, class Check>
consteval bool require() {
  if constexpr (!Ok) {
    (void)sizeof(Check);
  }
  return Ok;
}

}  // namespace detail
}  // namespace ohq::nn

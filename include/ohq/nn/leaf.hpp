// SPDX-License-Identifier: MIT
/// @file Defines `leaf_layer`, the common part of every bound layer that owns its output buffer.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/nn/layer_base.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ohq::nn {

/// Folds a per-output affine map (y -> scale * y + shift, e.g. a following batch norm) into
/// row-major weights [outputs][weight.size() / outputs] and their bias.
inline void fold_affine_into_rows(std::span<float> weight, std::span<float> bias, std::span<const float> scale,
                                  std::span<const float> shift) {
  const std::size_t per_row = weight.size() / bias.size();
  for (std::size_t o = 0; o < bias.size(); ++o) {
    for (std::size_t i = 0; i < per_row; ++i) weight[o * per_row + i] *= scale[o];
    bias[o] = bias[o] * scale[o] + shift[o];
  }
}

/// A layer bound to its input shape `In` at position `Path`, producing `Out`. It owns the output
/// buffer of `capacity` samples, sized by `reserve` at set-up so inference never allocates.
/// `Derived` provides `name()`, `params`, `macs`, `kind`.
template <class Derived, class In, class Out, class Path>
class leaf_layer {
 public:
  using input_shape_t = In;
  using output_shape_t = Out;
  using path_t = Path;
  static constexpr input_shape_t input_shape{};
  static constexpr output_shape_t output_shape{};
  /// Per-sample floats of shared scratch this layer needs (overridden by convolutions).
  static constexpr std::size_t scratch_floats = 0;

  static constexpr std::size_t quantizable_count() {
    return Derived::kind == layer_kind::conv2d || Derived::kind == layer_kind::dense ? 1 : 0;
  }
  /// Appends the MACs of each quantizable layer, in network order.
  static constexpr void collect_quantizable_macs(std::uint64_t*& out) {
    if (quantizable_count()) *out++ = Derived::macs;
  }
  static void describe(std::vector<layer_row>& rows, int depth) {
    rows.push_back({Path::str(), Derived::name(), In::str(), Out::str(), Derived::params, Derived::macs,
                    depth, quantizable_count() > 0});
  }

  void reserve(std::size_t batch) { output_.resize(batch * Out::size); }
  [[nodiscard]] std::size_t capacity() const { return output_.size() / Out::size; }
  /// This layer's output of the last forward pass (capacity() samples).
  [[nodiscard]] const float* output() const { return output_.data(); }
  [[nodiscard]] float* output() { return output_.data(); }
  /// Parameters as (name, values) pairs, in a fixed order; nothing for parameter-free layers.
  template <class F>
  void for_each_parameter(F&&) {}
  /// Calls f on every leaf layer in network order; a leaf is its own only leaf.
  template <class F>
  void for_each_layer(F&& f) {
    f(static_cast<Derived&>(*this));
  }
  /// Leaf layers fold nothing; sequences fold each conv2d/dense + batch_norm pair they hold.
  void fold_batch_norms() {}

 protected:
  aligned_buffer<float> output_;
};

}  // namespace ohq::nn

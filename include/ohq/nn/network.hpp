// SPDX-License-Identifier: MIT
/// @file Defines `ohq::network<InputShape, [bits_set<...>,] Layers...>`: a whole model as one type,
/// with compile-time shapes and counts and an fp32 forward pass that never allocates after set-up.
#pragma once

#include <ohq/core/bits.hpp>
#include <ohq/core/error.hpp>
#include <ohq/core/shape.hpp>
#include <ohq/core/tensor_view.hpp>
#include <ohq/nn/combinators/sequence.hpp>
#include <ohq/nn/layer_base.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace ohq {
namespace nn::detail {

/// Splits `[bits_set<...>,] Layers...` into the candidate bit set and the layers.
template <class... Args>
struct network_args {
  using bits = bits_set<2, 4, 8>;
  template <class In>
  using body = sequence_instance<In, layer_path<>, 0, Args...>;
};
template <unsigned... B, class... Layers>
struct network_args<bits_set<B...>, Layers...> {
  using bits = bits_set<B...>;
  template <class In>
  using body = sequence_instance<In, layer_path<>, 0, Layers...>;
};

}  // namespace nn::detail

/// A network: an input shape (one sample, batch excluded), optionally the candidate weight
/// bit-widths, then its layers. Layer i is bound to the output shape of layer i-1 at compile time.
template <class InputShape, class... Args>
class network {
  static_assert(is_shape_v<InputShape>, "ohq: network's first argument must be a shape<...>");
  using args = nn::detail::network_args<Args...>;
  using body_t = typename args::template body<InputShape>;

 public:
  using input_shape_t = InputShape;
  using output_shape_t = typename body_t::output_shape_t;
  using candidate_bits = typename args::bits;
  static constexpr input_shape_t input_shape{};
  static constexpr output_shape_t output_shape{};
  /// Top-level layers.
  static constexpr std::size_t layer_count = body_t::size;
  /// Convolutions and dense layers, nested ones included: the layers a plan assigns bits to.
  static constexpr std::size_t quantizable_layers = body_t::quantizable_count();

  static constexpr std::uint64_t params() { return body_t::params; }
  static constexpr std::uint64_t macs() { return body_t::macs; }
  /// MACs of each quantizable layer, in network order.
  static constexpr std::array<std::uint64_t, quantizable_layers> quantizable_macs() {
    std::array<std::uint64_t, quantizable_layers> out{};
    std::uint64_t* cursor = out.data();
    body_t::collect_quantizable_macs(cursor);
    return out;
  }
  /// BitOPs = sum over quantizable layers of MACs x weight bits x activation bits.
  static constexpr std::uint64_t bitops(const std::array<unsigned, quantizable_layers>& weight_bits,
                                        const std::array<unsigned, quantizable_layers>& activation_bits) {
    const auto macs = quantizable_macs();
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < quantizable_layers; ++i) total += macs[i] * weight_bits[i] * activation_bits[i];
    return total;
  }
  static constexpr std::uint64_t bitops(const std::array<unsigned, quantizable_layers>& weight_bits,
                                        unsigned activation_bits = 8) {
    std::array<unsigned, quantizable_layers> a{};
    a.fill(activation_bits);
    return bitops(weight_bits, a);
  }
  static constexpr std::uint64_t bitops_uniform(unsigned weight_bits, unsigned activation_bits = 8) {
    std::array<unsigned, quantizable_layers> w{};
    w.fill(weight_bits);
    return bitops(w, activation_bits);
  }
  /// Per-sample floats of the shared scratch (im2col) buffer.
  static constexpr std::size_t scratch_floats = body_t::scratch_floats;

  /// One row per layer (nested layers indented), as printed by print_layer_table.
  static std::vector<nn::layer_row> layer_table() {
    std::vector<nn::layer_row> rows;
    body_t::describe(rows, 0);
    return rows;
  }
  static void print_layer_table(std::ostream& out) {
    const auto rows = layer_table();
    std::size_t name_width = 5;
    for (const auto& r : rows) name_width = std::max(name_width, r.name.size() + 2 * std::size_t(r.depth));
    out << std::left << std::setw(8) << "layer" << std::setw(int(name_width) + 2) << "type" << std::setw(16)
        << "input" << std::setw(16) << "output" << std::right << std::setw(12) << "params" << std::setw(16)
        << "MACs" << "  q\n";
    for (const auto& r : rows) {
      out << std::left << std::setw(8) << r.index << std::string(2 * std::size_t(r.depth), ' ')
          << std::setw(int(name_width + 2 - 2 * std::size_t(r.depth))) << r.name << std::setw(16) << r.input
          << std::setw(16) << r.output << std::right << std::setw(12) << r.params << std::setw(16) << r.macs
          << (r.quantizable ? "  *" : "") << '\n';
    }
    out << "input " << input_shape_t::str() << " -> output " << output_shape_t::str() << ": " << params()
        << " parameters, " << macs() << " MACs, " << quantizable_layers << " quantizable layers\n";
  }

  network() { reserve(1); }

  /// Sizes every buffer for `batch` samples; inference with up to that many never allocates.
  void reserve(std::size_t batch) {
    if (batch <= capacity_ && capacity_ > 0) return;
    body_.reserve(batch);
    workspace_.scratch.resize(scratch_floats);
    capacity_ = batch;
  }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

  /// Folds each batch_norm that follows a conv2d/dense into it (done once, after loading weights).
  void fold_batch_norms() { body_.fold_batch_norms(); }

  /// fp32 forward pass of `batch` samples laid out [batch][input_shape]; returns the network's
  /// output [batch][output_shape], valid until the next forward. Grows the buffers if batch
  /// exceeds capacity().
  const float* forward(const float* input, std::size_t batch) {
    if (batch > capacity_) reserve(batch);
    return body_.forward(input, batch, workspace_);
  }

  /// Checked forward pass on a [N, dims of input_shape...] (or [dims...] for N = 1) view.
  result<tensor_view<const float>> try_forward(tensor_view<const float> input) {
    std::size_t batch = 0;
    if (input.rank() == input_shape_t::rank + 1) {
      batch = input.dim(0);
      for (std::size_t i = 0; i < input_shape_t::rank; ++i)
        if (input.dim(i + 1) != input_shape_t::dims[i]) batch = 0;
    } else if (input.rank() == input_shape_t::rank) {
      batch = 1;
      for (std::size_t i = 0; i < input_shape_t::rank; ++i)
        if (input.dim(i) != input_shape_t::dims[i]) batch = 0;
    }
    if (batch == 0 || input.data() == nullptr)
      return make_status(errc::shape_mismatch, "network input: expected [N, ", input_shape_t::str().substr(1),
                         " with N >= 1, got ", input.shape_string());
    const float* out = forward(input.data(), batch);
    std::array<std::size_t, output_shape_t::rank + 1> dims{};
    dims[0] = batch;
    for (std::size_t i = 0; i < output_shape_t::rank; ++i) dims[i + 1] = output_shape_t::dims[i];
    if constexpr (output_shape_t::rank + 1 <= tensor_view<const float>::max_rank) {
      return tensor_view<const float>(out, dims);
    } else {
      return tensor_view<const float>(out, {batch * output_shape_t::size});
    }
  }
#ifndef OHQ_NO_EXCEPTIONS
  tensor_view<const float> forward(tensor_view<const float> input) { return try_forward(input).value(); }
  tensor_view<const float> operator()(tensor_view<const float> input) { return forward(input); }
#endif

  /// Top-level layer I.
  template <std::size_t I>
  auto& layer() {
    return body_.template layer<I>();
  }
  /// Calls f on each top-level element (composites unexpanded), in order.
  template <class F>
  void for_each_element(F&& f) {
    body_.for_each_element(f);
  }
  /// Calls f(layer) on every leaf layer (nested ones included), in network order.
  template <class F>
  void for_each_layer(F&& f) {
    body_.for_each_layer(f);
  }

 private:
  body_t body_;
  nn::workspace workspace_;
  std::size_t capacity_ = 0;
};

}  // namespace ohq

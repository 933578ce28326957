// SPDX-License-Identifier: MIT
/// @file Defines `squeeze_excite`: x * gate(excite(act(squeeze(mean_hw(x))))), torchvision's
/// SqueezeExcitation (its 1x1 convolutions on a 1x1 map are the two dense layers here).
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/shape.hpp>
#include <ohq/kernels/fp32/pool.hpp>
#include <ohq/nn/layer_base.hpp>
#include <ohq/nn/layers/activation.hpp>
#include <ohq/nn/layers/dense.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace ohq::nn {

/// torchvision's `_make_divisible(v, divisor)`: round to the nearest multiple of divisor, at
/// least divisor, and never more than 10% below v.
constexpr std::size_t make_divisible(double v, std::size_t divisor = 8) {
  const double half = static_cast<double>(divisor) / 2.0;
  std::size_t rounded = static_cast<std::size_t>(v + half) / divisor * divisor;
  if (rounded < divisor) rounded = divisor;
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

namespace detail {

template <std::size_t SqueezeArg, class Inner, class Gate, class In, class Path>
class squeeze_excite_instance {
  static_assert(detail::require<false, layer_needs_input_rank<Path, value<3>, In>>());
};

template <std::size_t SqueezeArg, class Inner, class Gate, std::size_t C, std::size_t H, std::size_t W, class Path>
class squeeze_excite_instance<SqueezeArg, Inner, Gate, shape<C, H, W>, Path> {
 public:
  /// Squeezed channels; 0 asks for torchvision's default make_divisible(C / 4, 8).
  static constexpr std::size_t squeeze_channels = SqueezeArg ? SqueezeArg : make_divisible(double(C / 4), 8);
  using squeeze_t = dense_instance<squeeze_channels, true, shape<C>, append_path_t<Path, 0>>;
  using excite_t = dense_instance<C, true, shape<squeeze_channels>, append_path_t<Path, 1>>;
  using inner_activation = Inner;
  using gate_activation = Gate;

  using input_shape_t = shape<C, H, W>;
  using output_shape_t = shape<C, H, W>;
  using path_t = Path;
  static constexpr input_shape_t input_shape{};
  static constexpr output_shape_t output_shape{};
  static constexpr layer_kind kind = layer_kind::composite;
  static constexpr std::uint64_t params = squeeze_t::params + excite_t::params;
  static constexpr std::uint64_t macs = squeeze_t::macs + excite_t::macs;
  static constexpr std::size_t scratch_floats = 0;
  static constexpr std::size_t quantizable_count() { return 2; }
  static constexpr void collect_quantizable_macs(std::uint64_t*& out) {
    squeeze_t::collect_quantizable_macs(out);
    excite_t::collect_quantizable_macs(out);
  }
  static std::string name() {
    return std::string("squeeze_excite ") + std::to_string(C) + "->" + std::to_string(squeeze_channels) + " " +
           Inner::label + "/" + Gate::label;
  }
  static void describe(std::vector<layer_row>& rows, int depth) {
    rows.push_back({Path::str(), name(), input_shape_t::str(), output_shape_t::str(), params, macs, depth, false});
    squeeze_t::describe(rows, depth + 1);
    excite_t::describe(rows, depth + 1);
  }

  squeeze_t& squeeze() { return squeeze_; }
  excite_t& excite() { return excite_; }

  void reserve(std::size_t batch) {
    pooled_.resize(batch * C);
    squeeze_.reserve(batch);
    excite_.reserve(batch);
    output_.resize(batch * C * H * W);
  }
  const float* forward(const float* in, std::size_t batch, workspace& ws) {
    for (std::size_t n = 0; n < batch; ++n)
      kernels::fp32::global_avg_pool(C, H * W, in + n * C * H * W, pooled_.data() + n * C);
    squeeze_.forward(pooled_.data(), batch, ws);
    float* s = squeeze_.output();
    for (std::size_t i = 0; i < batch * squeeze_channels; ++i) s[i] = Inner::apply(s[i]);
    excite_.forward(s, batch, ws);
    const float* gate = excite_.output();
    for (std::size_t n = 0; n < batch; ++n) {
      for (std::size_t c = 0; c < C; ++c) {
        const float g = Gate::apply(gate[n * C + c]);
        const float* x = in + (n * C + c) * H * W;
        float* y = output_.data() + (n * C + c) * H * W;
        for (std::size_t i = 0; i < H * W; ++i) y[i] = x[i] * g;
      }
    }
    return output_.data();
  }
  template <class F>
  void for_each_layer(F&& f) {
    f(squeeze_);
    f(excite_);
  }
  void fold_batch_norms() {}

 private:
  aligned_buffer<float> pooled_;
  squeeze_t squeeze_;
  excite_t excite_;
  aligned_buffer<float> output_;
};

}  // namespace detail

/// Squeeze-and-excitation on a feature map: `Squeeze` channels in the bottleneck (0: torchvision's
/// make_divisible(C / 4, 8)), `Inner` activation after the squeeze, `Gate` on the excitation.
template <std::size_t Squeeze = 0, class Inner = relu, class Gate = hardsigmoid>
struct squeeze_excite {
  static_assert(activation_layer<Inner> && activation_layer<Gate>,
                "ohq: squeeze_excite's Inner and Gate must be activations (relu, hardsigmoid, ...)");
  template <class In, class Path>
  using instance = detail::squeeze_excite_instance<Squeeze, Inner, Gate, In, Path>;
};

}  // namespace ohq::nn

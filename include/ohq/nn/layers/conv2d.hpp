// SPDX-License-Identifier: MIT
/// @file Defines `conv2d` (dense, grouped and depthwise 2-D convolution) and `depthwise_conv2d`.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/shape.hpp>
#include <ohq/kernels/fp32/conv2d.hpp>
#include <ohq/nn/leaf.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace ohq::nn {

namespace detail {

/// The bound convolution; `Out == 0` means "as many as the input channels", `Groups == 0` means
/// "one group per input channel" (depthwise).
template <std::size_t Out, std::size_t K, std::size_t S, std::size_t P, std::size_t Groups, bool Bias,
          class In, class Path>
class conv2d_instance;

template <std::size_t OutArg, std::size_t K, std::size_t S, std::size_t P, std::size_t GroupsArg, bool Bias,
          std::size_t C, std::size_t H, std::size_t W, class Path>
class conv2d_instance<OutArg, K, S, P, GroupsArg, Bias, shape<C, H, W>, Path>
    : public leaf_layer<conv2d_instance<OutArg, K, S, P, GroupsArg, Bias, shape<C, H, W>, Path>, shape<C, H, W>,
                        shape<(OutArg ? OutArg : C), (H + 2 * P >= K ? (H + 2 * P - K) / S + 1 : 1),
                              (W + 2 * P >= K ? (W + 2 * P - K) / S + 1 : 1)>,
                        Path> {
 public:
  static constexpr std::size_t in_channels = C;
  static constexpr std::size_t out_channels = OutArg ? OutArg : C;
  static constexpr std::size_t groups = GroupsArg ? GroupsArg : C;
  static constexpr std::size_t kernel = K, stride = S, padding = P;
  static constexpr bool has_bias = Bias;

 private:
  static constexpr bool fits = H + 2 * P >= K && W + 2 * P >= K;
  static_assert(detail::require<fits, window_larger_than_padded_input<Path, shape<C, H, W>, value<K>>>());
  static_assert(detail::require<C % groups == 0 && out_channels % groups == 0,
                                groups_must_divide_channels<Path, shape<C, H, W>, value<groups>>>());

 public:
  static constexpr std::size_t out_height = (H + 2 * P - K) / S + 1;
  static constexpr std::size_t out_width = (W + 2 * P - K) / S + 1;
  static constexpr layer_kind kind = layer_kind::conv2d;
  static constexpr std::size_t weight_count = out_channels * (C / groups) * K * K;
  static constexpr std::uint64_t params = weight_count + (Bias ? out_channels : 0);
  static constexpr std::uint64_t macs = std::uint64_t{out_channels} * out_height * out_width * (C / groups) * K * K;
  static constexpr kernels::fp32::conv2d_geometry geometry{C, H, W, out_channels, out_height, out_width,
                                                           K, S, P, groups};
  static constexpr std::size_t scratch_floats = geometry.scratch_floats();

  conv2d_instance() : weight_(weight_count), bias_(out_channels) {}

  static std::string name() {
    std::string n = geometry.is_depthwise() ? "dwconv " : (groups > 1 ? "gconv " : "conv ");
    n += std::to_string(K) + "x" + std::to_string(K) + " s" + std::to_string(S) + " p" + std::to_string(P);
    if (groups > 1 && !geometry.is_depthwise()) n += " g" + std::to_string(groups);
    return n + (Bias ? "" : " nobias");
  }

  /// Weights [Cout][Cin/groups][K][K], the ONNX/PyTorch layout.
  std::span<float> weight() { return weight_.span(); }
  std::span<const float> weight() const { return weight_.span(); }
  /// Bias [Cout]; zero when the layer has none, until a batch norm is folded in.
  std::span<float> bias() { return bias_.span(); }
  std::span<const float> bias() const { return bias_.span(); }

  template <class F>
  void for_each_parameter(F&& f) {
    f(std::string_view("weight"), weight());
    if constexpr (Bias) f(std::string_view("bias"), bias());
  }

  /// Folds y = gamma * (x - mean) / sqrt(var + eps) + beta into this layer's weights and bias.
  void fold_scale_shift(std::span<const float> scale, std::span<const float> shift) {
    fold_affine_into_rows(weight(), bias(), scale, shift);
  }

  const float* forward(const float* in, std::size_t batch, workspace& ws) {
    using out_t = typename conv2d_instance::output_shape_t;
    for (std::size_t n = 0; n < batch; ++n)
      kernels::fp32::conv2d(geometry, in + n * C * H * W, weight_.data(), bias_.data(),
                            this->output_.data() + n * out_t::size, ws.scratch.data());
    return this->output_.data();
  }

 private:
  aligned_buffer<float> weight_;
  aligned_buffer<float> bias_;
};

template <std::size_t OutArg, std::size_t K, std::size_t S, std::size_t P, std::size_t G, bool Bias, class In,
          class Path>
class conv2d_instance {
  static_assert(detail::require<false, layer_needs_input_rank<Path, value<3>, In>>());
};

}  // namespace detail

/// A 2-D convolution with `Out` filters of `K`x`K`, stride `S`, symmetric zero padding `P` and
/// `Groups` groups (`Groups` = input channels = `Out` gives a depthwise convolution; dilation 1).
/// `Bias = false` is PyTorch's `bias=False` (a following batch_norm brings the shift).
template <std::size_t Out, std::size_t K, std::size_t S = 1, std::size_t P = 0, std::size_t Groups = 1,
          bool Bias = true>
struct conv2d {
  static_assert(Out > 0 && K > 0 && S > 0 && Groups > 0, "ohq: conv2d needs positive Out, K, S and Groups");
  template <class In, class Path>
  using instance = detail::conv2d_instance<Out, K, S, P, Groups, Bias, In, Path>;
};

/// A depthwise convolution: one `K`x`K` filter per input channel (groups = channels = out).
template <std::size_t K, std::size_t S = 1, std::size_t P = 0, bool Bias = true>
struct depthwise_conv2d {
  static_assert(K > 0 && S > 0, "ohq: depthwise_conv2d needs positive K and S");
  template <class In, class Path>
  using instance = detail::conv2d_instance<0, K, S, P, 0, Bias, In, Path>;
};

}  // namespace ohq::nn

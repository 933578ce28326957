// SPDX-License-Identifier: MIT
/// @file Defines `dense`, the fully connected layer (PyTorch `Linear`, ONNX `Gemm`).
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/shape.hpp>
#include <ohq/kernels/fp32/conv2d.hpp>
#include <ohq/nn/leaf.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace ohq::nn {
namespace detail {

template <std::size_t Out, bool Bias, class In, class Path>
class dense_instance {
  static_assert(detail::require<false, layer_needs_input_rank<Path, value<1>, In>>());
};

template <std::size_t Out, bool Bias, std::size_t N, class Path>
class dense_instance<Out, Bias, shape<N>, Path>
    : public leaf_layer<dense_instance<Out, Bias, shape<N>, Path>, shape<N>, shape<Out>, Path> {
 public:
  static constexpr std::size_t in_features = N, out_features = Out;
  static constexpr bool has_bias = Bias;
  static constexpr layer_kind kind = layer_kind::dense;
  static constexpr std::uint64_t params = std::uint64_t{N} * Out + (Bias ? Out : 0);
  static constexpr std::uint64_t macs = std::uint64_t{N} * Out;

  dense_instance() : weight_(N * Out), bias_(Out) {}

  static std::string name() { return std::string("dense ") + (Bias ? "" : "nobias"); }

  /// Weights [Out][N] (PyTorch `Linear.weight`; ONNX Gemm with transB = 1).
  std::span<float> weight() { return weight_.span(); }
  std::span<const float> weight() const { return weight_.span(); }
  std::span<float> bias() { return bias_.span(); }
  std::span<const float> bias() const { return bias_.span(); }

  template <class F>
  void for_each_parameter(F&& f) {
    f(std::string_view("weight"), weight());
    if constexpr (Bias) f(std::string_view("bias"), bias());
  }

  /// Folds a following per-feature affine map (a BatchNorm1d) into weights and bias.
  void fold_scale_shift(std::span<const float> scale, std::span<const float> shift) {
    fold_affine_into_rows(weight(), bias(), scale, shift);
  }

  const float* forward(const float* in, std::size_t batch, workspace&) {
    kernels::fp32::dense(in, batch, N, Out, weight_.data(), bias_.data(), this->output_.data());
    return this->output_.data();
  }

 private:
  aligned_buffer<float> weight_;
  aligned_buffer<float> bias_;
};

}  // namespace detail

/// A fully connected layer with `Out` outputs on a flat input (`shape<N>`).
template <std::size_t Out, bool Bias = true>
struct dense {
  static_assert(Out > 0, "ohq: dense needs at least one output");
  template <class In, class Path>
  using instance = detail::dense_instance<Out, Bias, In, Path>;
};

}  // namespace ohq::nn

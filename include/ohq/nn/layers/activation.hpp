// SPDX-License-Identifier: MIT
/// @file Defines the element-wise activations `relu`, `relu6`, `hardswish`, `hardsigmoid`, `sigmoid`.
#pragma once

#include <ohq/kernels/fp32/eltwise.hpp>
#include <ohq/nn/leaf.hpp>

#include <concepts>
#include <string>

namespace ohq::nn {
namespace detail {

template <class Activation, class In, class Path>
class activation_instance : public leaf_layer<activation_instance<Activation, In, Path>, In, In, Path> {
 public:
  static constexpr layer_kind kind = layer_kind::activation;
  using activation = Activation;
  static constexpr std::uint64_t params = 0, macs = 0;
  static std::string name() { return Activation::label; }

  const float* forward(const float* in, std::size_t batch, workspace&) {
    kernels::fp32::map(in, this->output_.data(), batch * In::size, [](float x) { return Activation::apply(x); });
    return this->output_.data();
  }
};

/// The shared shape of every activation spec: a function and a label.
template <class Self>
struct activation_spec {
  template <class In, class Path>
  using instance = activation_instance<Self, In, Path>;
};

}  // namespace detail

struct relu : detail::activation_spec<relu> {
  static constexpr const char* label = "relu";
  static float apply(float x) { return kernels::fp32::relu(x); }
};
struct relu6 : detail::activation_spec<relu6> {
  static constexpr const char* label = "relu6";
  static float apply(float x) { return kernels::fp32::relu6(x); }
};
struct hardswish : detail::activation_spec<hardswish> {
  static constexpr const char* label = "hardswish";
  static float apply(float x) { return kernels::fp32::hardswish(x); }
};
struct hardsigmoid : detail::activation_spec<hardsigmoid> {
  static constexpr const char* label = "hardsigmoid";
  static float apply(float x) { return kernels::fp32::hardsigmoid(x); }
};
struct sigmoid : detail::activation_spec<sigmoid> {
  static constexpr const char* label = "sigmoid";
  static float apply(float x) { return kernels::fp32::sigmoid(x); }
};

template <class T>
concept activation_layer = requires(float x) {
  { T::apply(x) } -> std::same_as<float>;
  T::label;
};

}  // namespace ohq::nn

// SPDX-License-Identifier: MIT
// Networks with random weights, lowered, calibrated and quantized for timing: the setup shared by
// bench_network (whole networks) and bench_onednn (one-layer networks through the kernel engine).
#pragma once

#include <ohq/nn.hpp>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace ohq_bench {

/// Random weights that keep activations O(1) through deep networks (He-scaled convolutions and
/// dense layers, identity batch norms), so every layer's int32 bias fits at its scale.
template <class Net>
std::unique_ptr<Net> make_net() {
  auto net = std::make_unique<Net>();
  std::mt19937 gen(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  net->for_each_layer([&](auto& layer) {
    using layer_t = std::decay_t<decltype(layer)>;
    std::size_t fan_in = 1;
    if constexpr (requires { layer_t::geometry.patch_size(); })
      fan_in = layer_t::geometry.patch_size();
    else if constexpr (requires { layer_t::in_features; })
      fan_in = layer_t::in_features;
    const float he = std::sqrt(2.0f / float(fan_in));
    layer.for_each_parameter([&](std::string_view name, std::span<float> v) {
      for (float& x : v) {
        if constexpr (layer_t::kind == ohq::nn::layer_kind::batch_norm)
          x = name == "weight" || name == "running_var" ? 1.0f : 0.0f;
        else
          x = name == "weight" ? he * normal(gen) : 0.01f * normal(gen);
      }
    });
  });
  net->fold_batch_norms();
  return net;
}

template <class Net>
std::vector<float> random_inputs(std::size_t count) {
  std::vector<float> x(count * Net::input_shape_t::size);
  std::mt19937 gen(2);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : x) v = dist(gen);
  return x;
}

/// One network lowered, calibrated once, and quantized per bit-width (built on first use, kept).
template <class Net>
struct quantized_setup {
  std::unique_ptr<Net> net = make_net<Net>();
  std::vector<float> inputs = random_inputs<Net>(2);
  ohq::nn::quant_graph graph = ohq::nn::lower(*net);
  ohq::nn::calibration_record record = ohq::nn::try_calibrate(graph, inputs, 2).value();
  std::map<unsigned, std::unique_ptr<ohq::nn::quantized_network>> by_bits;

  static quantized_setup& get() {
    static quantized_setup s;
    return s;
  }
  ohq::nn::quantized_network& quantized(unsigned bits) {
    auto& q = by_bits[bits];
    if (!q) {
      ohq::nn::quantization_options o;
      o.bits = bits;
      o.clipping = ohq::quant::weight_clipping::minmax;  // the scales do not change the timing
      q = std::make_unique<ohq::nn::quantized_network>(ohq::nn::quantized_network::try_build(graph, record, o).value());
    }
    return *q;
  }
};

}  // namespace ohq_bench

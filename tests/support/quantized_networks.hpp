// SPDX-License-Identifier: MIT
// Random networks for the whole-network quantization tests (tests/nn/test_quantized.cpp,
// tests/nn/test_kernel_engine.cpp): types covering every layer kind, random inputs, and a lowered,
// calibrated random instance.
#pragma once

#include <ohq/nn.hpp>

#include "random.hpp"

#include <cstddef>
#include <vector>

namespace ohq::test {
using namespace ohq::nn;

// clang-format off
/// Every layer kind: conv (plain, grouped, depthwise, 5x5), batch norm, every activation, max/avg
/// pools (count_include_pad both ways), residuals with and without projection, squeeze-excite,
/// global pooling, flatten, dense and a final softmax.
using net_a = ohq::network<ohq::shape<3, 13, 11>,
    conv2d<8, 3, 1, 1, 1, false>, batch_norm, relu,
    max_pool<3, 2, 1>,
    residual<conv2d<8, 3, 1, 1>, relu6, conv2d<8, 3, 1, 1, 2>>, relu,
    avg_pool<3, 2, 1, false>,
    residual<shortcut<conv2d<12, 1, 1, 0>>, depthwise_conv2d<5, 1, 2>, hardswish, conv2d<12, 1>>,
    squeeze_excite<4, relu, hardsigmoid>,
    avg_pool<2, 1, 0, true>,
    conv2d<6, 1>, sigmoid,
    global_avg_pool,
    dense<7>, softmax>;
/// Flat layers only, with an activation that cannot fuse (relu after flatten).
using net_b = ohq::network<ohq::shape<2, 5, 5>,
    flatten, relu,
    dense<37>, relu6,
    dense<19>, hardswish,
    dense<5>>;
// clang-format on

template <class Net>
std::vector<float> random_inputs(std::size_t count) {
  return random_vector(count * Net::input_shape_t::size, -2.0f, 2.0f);
}

template <class Net>
struct random_case {
  Net net;
  quant_graph graph;
  calibration_record record;

  explicit random_case(bool layer_inputs, std::size_t calibration_count = 24) {
    randomize(net);
    net.fold_batch_norms();
    graph = lower(net);
    calibration_settings s;
    s.layer_inputs = layer_inputs;
    s.batch = 7;  // not a divisor of the count: a short last batch
    const auto x = random_inputs<Net>(calibration_count);
    record = try_calibrate(graph, x, calibration_count, s).value();
  }
};

}  // namespace ohq::test

// SPDX-License-Identifier: MIT
/// @file The Fashion-MNIST (1x28x28, 10 classes) models shipped in examples/models/, as types:
/// the architectures tools/export/train_fmnist.py trains.
#pragma once

#include <ohq/nn.hpp>

namespace ohq::examples {
using namespace ohq::nn;

// clang-format off
/// A small ResNet: stem + three BasicBlocks (7 3x3 convs, 2 projections) + linear classifier.
using fmnist_resnet = ohq::network<ohq::shape<1, 28, 28>,
    conv2d<16, 3, 1, 1, 1, false>, batch_norm, relu,   // stem
    basic_block<16, 16>,
    basic_block<16, 32, 2>,
    basic_block<32, 64, 2>,
    global_avg_pool,
    dense<10>>;

/// A small MobileNetV3: hardswish stem, five inverted residuals (depthwise 3x3/5x5, SE), classifier.
using fmnist_mobilenet = ohq::network<ohq::shape<1, 28, 28>,
    conv2d<16, 3, 2, 1, 1, false>, batch_norm, hardswish,
    inverted_residual<16, 16, 16, 3, true, relu, 1>,
    inverted_residual<16, 64, 24, 3, false, relu, 2>,
    inverted_residual<24, 72, 24, 3, false, relu, 1>,
    inverted_residual<24, 96, 40, 5, true, hardswish, 1>,
    inverted_residual<40, 120, 40, 5, true, hardswish, 1>,
    conv2d<240, 1, 1, 0, 1, false>, batch_norm, hardswish,
    global_avg_pool,
    dense<128>, hardswish,
    dense<10>>;

/// A dense-heavy MLP whose int8 weights (1.86 MB) exceed a core's L2 cache.
using fmnist_mlp = ohq::network<ohq::shape<1, 28, 28>,
    flatten,
    dense<1024>, relu,
    dense<1024>, relu,
    dense<10>>;
// clang-format on

}  // namespace ohq::examples

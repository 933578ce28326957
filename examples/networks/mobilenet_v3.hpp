// SPDX-License-Identifier: MIT
/// @file torchvision's mobilenet_v3_small and mobilenet_v3_large (1x3x224x224, 1000 classes).
#pragma once

#include <ohq/nn.hpp>

namespace ohq::examples {
using namespace ohq::nn;

// clang-format off
// inverted_residual<in, expanded, out, kernel, SE, activation, stride>, as torchvision's bneck_conf.
using mobilenet_v3_small = ohq::network<ohq::shape<3, 224, 224>,
    conv2d<16, 3, 2, 1, 1, false>, batch_norm, hardswish,
    inverted_residual<16, 16, 16, 3, true, relu, 2>,
    inverted_residual<16, 72, 24, 3, false, relu, 2>,
    inverted_residual<24, 88, 24, 3, false, relu, 1>,
    inverted_residual<24, 96, 40, 5, true, hardswish, 2>,
    inverted_residual<40, 240, 40, 5, true, hardswish, 1>,
    inverted_residual<40, 240, 40, 5, true, hardswish, 1>,
    inverted_residual<40, 120, 48, 5, true, hardswish, 1>,
    inverted_residual<48, 144, 48, 5, true, hardswish, 1>,
    inverted_residual<48, 288, 96, 5, true, hardswish, 2>,
    inverted_residual<96, 576, 96, 5, true, hardswish, 1>,
    inverted_residual<96, 576, 96, 5, true, hardswish, 1>,
    conv2d<576, 1, 1, 0, 1, false>, batch_norm, hardswish,   // last conv
    global_avg_pool,
    dense<1024>, hardswish,                                  // classifier (dropout is identity)
    dense<1000>>;

using mobilenet_v3_large = ohq::network<ohq::shape<3, 224, 224>,
    conv2d<16, 3, 2, 1, 1, false>, batch_norm, hardswish,
    inverted_residual<16, 16, 16, 3, false, relu, 1>,
    inverted_residual<16, 64, 24, 3, false, relu, 2>,
    inverted_residual<24, 72, 24, 3, false, relu, 1>,
    inverted_residual<24, 72, 40, 5, true, relu, 2>,
    inverted_residual<40, 120, 40, 5, true, relu, 1>,
    inverted_residual<40, 120, 40, 5, true, relu, 1>,
    inverted_residual<40, 240, 80, 3, false, hardswish, 2>,
    inverted_residual<80, 200, 80, 3, false, hardswish, 1>,
    inverted_residual<80, 184, 80, 3, false, hardswish, 1>,
    inverted_residual<80, 184, 80, 3, false, hardswish, 1>,
    inverted_residual<80, 480, 112, 3, true, hardswish, 1>,
    inverted_residual<112, 672, 112, 3, true, hardswish, 1>,
    inverted_residual<112, 672, 160, 5, true, hardswish, 2>,
    inverted_residual<160, 960, 160, 5, true, hardswish, 1>,
    inverted_residual<160, 960, 160, 5, true, hardswish, 1>,
    conv2d<960, 1, 1, 0, 1, false>, batch_norm, hardswish,
    global_avg_pool,
    dense<1280>, hardswish,
    dense<1000>>;
// clang-format on

}  // namespace ohq::examples

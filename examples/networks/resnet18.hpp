// SPDX-License-Identifier: MIT
/// @file torchvision's resnet18 (1x3x224x224, 1000 classes) as an ohq network type.
#pragma once

#include <ohq/nn.hpp>

namespace ohq::examples {
using namespace ohq::nn;

// clang-format off
using resnet18 = ohq::network<ohq::shape<3, 224, 224>,
    conv2d<64, 7, 2, 3, 1, false>, batch_norm, relu,   // conv1, bn1, relu
    max_pool<3, 2, 1>,                                 // maxpool
    basic_block<64, 64>,   basic_block<64, 64>,        // layer1
    basic_block<64, 128, 2>, basic_block<128, 128>,    // layer2
    basic_block<128, 256, 2>, basic_block<256, 256>,   // layer3
    basic_block<256, 512, 2>, basic_block<512, 512>,   // layer4
    global_avg_pool,                                   // avgpool + flatten
    dense<1000>>;                                      // fc
// clang-format on

}  // namespace ohq::examples

// SPDX-License-Identifier: MIT
// One translation unit that uses the ResNet-18 type fully (construction, weights, forward pass,
// layer table, compile-time counts): what compiling a model costs. Measured by measure.sh.
#include <ohq/ohq.hpp>

#include "examples/networks/resnet18.hpp"

#include <iostream>
#include <memory>
#include <vector>

int main() {
  using net_t = ohq::examples::resnet18;
  static_assert(net_t::params() == 11'689'512);
  auto net = std::make_unique<net_t>();
  net->fold_batch_norms();
  std::vector<float> x(net_t::input_shape_t::size, 0.1f);
  const float* y = net->forward(x.data(), 1);
  net_t::print_layer_table(std::cout);
  return y[0] == y[0] ? 0 : 1;
}

// SPDX-License-Identifier: MIT
// An application outside the ohq tree: describes, runs and checks a small network.
#include <ohq/ohq.hpp>

#include <iostream>
#include <vector>

using namespace ohq::nn;
using net_t = ohq::network<ohq::shape<1, 28, 28>, ohq::bits_set<2, 4, 8>, conv2d<8, 3, 1, 1>, relu, max_pool<2>,
                           residual<conv2d<8, 3, 1, 1>, relu, conv2d<8, 3, 1, 1>>, relu, global_avg_pool, dense<10>>;
static_assert(net_t::output_shape == ohq::shape<10>{});

int main() {
  net_t::print_layer_table(std::cout);
  net_t net;
  std::vector<float> x(2 * 28 * 28, 0.25f);
  auto y = net(ohq::tensor_view<const float>(x.data(), {2, 1, 28, 28}));
  return (y.dim(0) == 2 && y.dim(1) == 10) ? 0 : 1;
}

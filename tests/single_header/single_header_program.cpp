// SPDX-License-Identifier: MIT
// Built with only single_include/ on the include path: the amalgamated header is self-sufficient.
#include <ohq/ohq.hpp>

#include <cstdio>
#include <vector>

using namespace ohq::nn;
using net_t = ohq::network<ohq::shape<1, 12, 12>, conv2d<4, 3, 1, 1>, relu, max_pool<2>,
                           residual<conv2d<4, 3, 1, 1>>, global_avg_pool, dense<3>, softmax>;
static_assert(net_t::output_shape == ohq::shape<3>{});

int main() {
  net_t net;
  net.for_each_layer([](auto& layer) {
    layer.for_each_parameter([](std::string_view, std::span<float> w) {
      for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * float(i % 7) - 0.02f;
    });
  });
  std::vector<float> x(144, 1.0f);
  auto y = net(ohq::tensor_view<const float>(x.data(), {1, 1, 12, 12}));
  const float total = y[0] + y[1] + y[2];
  std::printf("single header: softmax sums to %.6f\n", total);
  return (total > 0.999f && total < 1.001f) ? 0 : 1;
}

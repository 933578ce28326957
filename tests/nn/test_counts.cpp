// SPDX-License-Identifier: MIT
// Compile-time shapes, parameter counts, MACs and BitOPs of the example networks.
#include "examples/networks/fmnist.hpp"
#include "examples/networks/mobilenet_v3.hpp"
#include "examples/networks/resnet18.hpp"

#include <doctest/doctest.h>

#include <array>
#include <sstream>

using namespace ohq::examples;
using ohq::shape;

// torchvision's own counts (sum of p.numel() for p in model.parameters()).
static_assert(resnet18::params() == 11'689'512);
static_assert(mobilenet_v3_small::params() == 2'542'856);
static_assert(mobilenet_v3_large::params() == 5'483'032);
static_assert(resnet18::output_shape == shape<1000>{});
static_assert(mobilenet_v3_small::output_shape == shape<1000>{});
static_assert(mobilenet_v3_large::output_shape == shape<1000>{});

// MACs as usually quoted (convolutions and linear layers; fvcore/ptflops conventions).
static_assert(resnet18::macs() == 1'814'073'344);
static_assert(mobilenet_v3_small::macs() == 56'510'400);
static_assert(mobilenet_v3_large::macs() == 216'589'760);

// 20 convolutions + fc in resnet18 (17 3x3/7x7 + 3 projections + fc).
static_assert(resnet18::quantizable_layers == 21);
static_assert(resnet18::quantizable_macs()[0] == 64ull * 112 * 112 * 3 * 7 * 7);
static_assert(resnet18::quantizable_macs()[20] == 512ull * 1000);
static_assert(resnet18::bitops_uniform(8) == resnet18::macs() * 64);
static_assert(resnet18::bitops_uniform(4, 8) == resnet18::macs() * 32);

// A mixed assignment: first and last layer at 8 bits, the rest at 2.
constexpr std::array<unsigned, 21> mixed = [] {
  std::array<unsigned, 21> a{};
  a.fill(2);
  a[0] = 8;
  a[20] = 8;
  return a;
}();
static_assert(resnet18::bitops(mixed) ==
              (resnet18::macs() - resnet18::quantizable_macs()[0] - resnet18::quantizable_macs()[20]) * 16 +
                  (resnet18::quantizable_macs()[0] + resnet18::quantizable_macs()[20]) * 64);

// Fashion-MNIST models: the shapes the export script's ONNX files have.
static_assert(fmnist_resnet::output_shape == shape<10>{});
static_assert(fmnist_mobilenet::output_shape == shape<10>{});
static_assert(fmnist_mlp::output_shape == shape<10>{});
static_assert(fmnist_mlp::params() == 784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10);
static_assert(fmnist_mlp::quantizable_layers == 3);

// The example of DESIGN.md.
using namespace ohq::nn;
using design_net = ohq::network<ohq::shape<1, 28, 28>, ohq::bits_set<2, 4, 8>, conv2d<16, 3, 1, 1>, relu, max_pool<2>,
                                residual<conv2d<16, 3, 1, 1>, relu, conv2d<16, 3, 1, 1>>, relu, global_avg_pool,
                                dense<10>>;
static_assert(design_net::output_shape == shape<10>{});
static_assert(design_net::params() == (16 * 9 + 16) + 2 * (16 * 16 * 9 + 16) + (16 * 10 + 10));
static_assert(design_net::macs() == 16ull * 28 * 28 * 9 + 2ull * 16 * 14 * 14 * 16 * 9 + 160);
static_assert(std::is_same_v<design_net::candidate_bits, ohq::bits_set<2, 4, 8>>);

// Shape inference through every layer kind.
using shapes_net = ohq::network<shape<3, 17, 19>, conv2d<8, 3, 2, 1>, max_pool<3, 2, 1>, avg_pool<2>,
                                depthwise_conv2d<3, 1, 1>, squeeze_excite<>, flatten, dense<5>, softmax>;

TEST_CASE("layer shapes are inferred at compile time") {
  using net = shapes_net;
  CHECK(net::output_shape == shape<5>{});
  net n;
  CHECK(std::decay_t<decltype(n.layer<0>())>::output_shape == shape<8, 9, 10>{});  // (17+2-3)/2+1, (19+2-3)/2+1
  CHECK(std::decay_t<decltype(n.layer<1>())>::output_shape == shape<8, 5, 5>{});   // (9+2-3)/2+1
  CHECK(std::decay_t<decltype(n.layer<2>())>::output_shape == shape<8, 2, 2>{});
  CHECK(std::decay_t<decltype(n.layer<5>())>::output_shape == shape<32>{});
}

TEST_CASE("the layer table lists every layer with shapes, parameters and MACs") {
  std::ostringstream out;
  resnet18::print_layer_table(out);
  const std::string table = out.str();
  CHECK(table.find("conv 7x7 s2 p3 nobias") != std::string::npos);
  CHECK(table.find("(64, 112, 112)") != std::string::npos);
  CHECK(table.find("11689512 parameters") != std::string::npos);
  CHECK(table.find("residual (projection)") != std::string::npos);
  const auto rows = resnet18::layer_table();
  std::uint64_t params = 0, macs = 0;
  int quantizable = 0;
  for (const auto& r : rows) {
    if (r.depth == 0) {
      params += r.params;
      macs += r.macs;
    }
    quantizable += r.quantizable;
  }
  CHECK(quantizable == 21);
  CHECK(macs == resnet18::macs());
  CHECK(params == resnet18::params());
  // top-level rows of a sequential block do not exist; its children are the rows, so sum leaves
  std::uint64_t leaf_params = 0;
  for (const auto& r : rows)
    if (r.name.find("residual") == std::string::npos && r.name.find("squeeze") == std::string::npos)
      leaf_params += r.params;
  CHECK(leaf_params == resnet18::params());
}

// SPDX-License-Identifier: MIT
// torchvision's models, exported with random weights by tools/export/export_torchvision.py, load
// into the ImageNet-shaped example types and run.
#include <ohq/io/onnx/bind.hpp>

#include "examples/networks/mobilenet_v3.hpp"
#include "examples/networks/resnet18.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <vector>

namespace {
template <class Net>
void check_loads(const char* file) {
  const std::filesystem::path path = std::filesystem::path(OHQ_TORCHVISION_DIR) / file;
  auto r = ohq::try_load_onnx<Net>(path);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  auto net = std::make_unique<Net>(std::move(*r));
  std::vector<float> x(Net::input_shape_t::size, 0.5f);
  const float* y = net->forward(x.data(), 1);
  for (std::size_t i = 0; i < Net::output_shape_t::size; ++i) REQUIRE(std::isfinite(y[i]));
}
}  // namespace

TEST_CASE("torchvision resnet18 loads into ohq::examples::resnet18") { check_loads<ohq::examples::resnet18>("resnet18.onnx"); }
TEST_CASE("torchvision mobilenet_v3_small loads") {
  check_loads<ohq::examples::mobilenet_v3_small>("mobilenet_v3_small.onnx");
}
TEST_CASE("torchvision mobilenet_v3_large loads") {
  check_loads<ohq::examples::mobilenet_v3_large>("mobilenet_v3_large.onnx");
}

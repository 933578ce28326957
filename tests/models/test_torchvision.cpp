// SPDX-License-Identifier: MIT
// torchvision's models, exported with random weights by tools/export/export_torchvision.py, load
// into the ImageNet-shaped example types and run.
#include <ohq/io/onnx/bind.hpp>

#include "examples/networks/mobilenet_v3.hpp"
#include "examples/networks/resnet18.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <filesystem>
#include <memory>
#include <vector>

namespace {
/// Loads <name>.onnx (batch norms folded by the exporter) and <name>_bn.onnx (BatchNormalization
/// nodes kept, folded by ohq) and checks both give the same outputs.
template <class Net>
void check_loads(const std::string& name) {
  const std::filesystem::path dir = OHQ_TORCHVISION_DIR;
  std::vector<float> x(Net::input_shape_t::size);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 255) / 255.0f - 0.5f;
  std::vector<float> outputs[2];
  const char* suffixes[2] = {".onnx", "_bn.onnx"};
  for (int k = 0; k < 2; ++k) {
    auto r = ohq::try_load_onnx<Net>(dir / (name + suffixes[k]));
    REQUIRE_MESSAGE(r.has_value(), r.error().what());
    auto net = std::make_unique<Net>(std::move(*r));
    const float* y = net->forward(x.data(), 1);
    outputs[k].assign(y, y + Net::output_shape_t::size);
    for (float v : outputs[k]) REQUIRE(std::isfinite(v));
  }
  float scale = 0;
  for (float v : outputs[0]) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < outputs[0].size(); ++i)
    CHECK(std::abs(outputs[0][i] - outputs[1][i]) <= 1e-4f * std::max(scale, 1e-6f));
}
}  // namespace

TEST_CASE("torchvision resnet18 loads into ohq::examples::resnet18") { check_loads<ohq::examples::resnet18>("resnet18"); }
TEST_CASE("torchvision mobilenet_v3_small loads") {
  check_loads<ohq::examples::mobilenet_v3_small>("mobilenet_v3_small");
}
TEST_CASE("torchvision mobilenet_v3_large loads") {
  check_loads<ohq::examples::mobilenet_v3_large>("mobilenet_v3_large");
}

// SPDX-License-Identifier: MIT
// tests/models/data/mixed_ops_opset{11,13,17}.onnx (make_fixtures.py): ops and export forms the
// shipped models do not use (view through Shape/Gather/Concat, Clip as ReLU6, avg_pool2d, a
// depthwise residual with hardswish as HardSigmoid * x, softmax) at three opsets, against PyTorch.
#include <ohq/io/onnx/bind.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace ohq::nn;
// What ohq-codegen writes for these files (checked by the models_mixed_ops_codegen build).
using mixed_ops = ohq::network<ohq::shape<1, 28, 28>, conv2d<8, 3, 1, 1, 1, false>, batch_norm, relu6,
                               avg_pool<2>, residual<conv2d<8, 3, 1, 1, 8, false>, batch_norm, hardswish>,
                               max_pool<2>, flatten, dense<10>, softmax>;

TEST_CASE("PyTorch exports at opsets 11, 13 and 17 bind and reproduce PyTorch's outputs") {
  const std::filesystem::path dir = OHQ_MIXED_OPS_DIR;
  std::vector<float> io(2 * 784 + 2 * 10);
  std::ifstream(dir / "mixed_ops.io.f32", std::ios::binary).read(reinterpret_cast<char*>(io.data()),
                                                                  std::streamsize(io.size() * sizeof(float)));
  for (int opset : {11, 13, 17}) {
    CAPTURE(opset);
    auto net = ohq::try_load_onnx<mixed_ops>(dir / ("mixed_ops_opset" + std::to_string(opset) + ".onnx"));
    REQUIRE_MESSAGE(net.has_value(), net.error().what());
    const float* y = net->forward(io.data(), 2);
    for (std::size_t i = 0; i < 20; ++i) CHECK(std::abs(y[i] - io[2 * 784 + i]) <= 1e-5f);
  }
}

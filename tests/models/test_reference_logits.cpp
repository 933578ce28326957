// SPDX-License-Identifier: MIT
// The shipped models through load_onnx onto the hand-written types of examples/networks/fmnist.hpp:
// logits equal PyTorch's (exported with the model) within 1e-4 relative, and mismatched types
// are rejected with errors naming the ONNX node, the layer and both shapes.
#include <ohq/io/idx.hpp>
#include <ohq/io/onnx/bind.hpp>
#include <ohq/solver/json.hpp>

#include "examples/networks/fmnist.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

const std::filesystem::path models_dir = OHQ_MODELS_DIR;
const std::filesystem::path data_dir = OHQ_FMNIST_DIR;

ohq::solver::json_value read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = ohq::solver::parse_json(text.str());
  REQUIRE_MESSAGE(doc.ok(), path.string() << ": " << doc.error);
  return *doc.value;
}

template <class Net>
void check_reference_logits(const std::string& name) {
  const auto onnx = models_dir / (name + ".onnx");
  if (!std::filesystem::exists(onnx) || !std::filesystem::exists(data_dir)) {
    MESSAGE("skipped: " << onnx.string() << " or the Fashion-MNIST test set is missing");
    return;
  }
  auto loaded = ohq::try_load_onnx<Net>(onnx);
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().what());
  Net& net = *loaded;
  const auto sidecar = read_json(models_dir / (name + ".json"));
  const auto ref = read_json(models_dir / (name + ".ref.json"));
  const float mean = float(sidecar.find("normalization")->find("mean")->items.at(0).number);
  const float stddev = float(sidecar.find("normalization")->find("std")->items.at(0).number);
  const auto& logits = ref.find("logits")->items;
  const auto& labels = ref.find("labels")->items;
  const std::size_t count = logits.size();
  REQUIRE(count == 64);

  ohq::io::idx_options options;
  options.limit = count;
  auto images = ohq::io::try_load_idx_images(data_dir / "t10k-images-idx3-ubyte.gz", options);
  REQUIRE_MESSAGE(images.has_value(), images.error().what());
  std::vector<float> x(count * 784);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (float(images->pixels[i]) / 255.0f - mean) / stddev;
  const float* y = net.forward(x.data(), count);
  std::size_t agree = 0;
  double worst = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& row = logits[i].items;
    REQUIRE(row.size() == 10);
    double scale = 0;
    for (const auto& v : row) scale = std::max(scale, std::abs(v.number));
    std::size_t best = 0;
    for (std::size_t c = 0; c < 10; ++c) {
      const double err = std::abs(double(y[i * 10 + c]) - row[c].number) / std::max(scale, 1e-6);
      worst = std::max(worst, err);
      if (y[i * 10 + c] > y[i * 10 + best]) best = c;
    }
    agree += best == std::size_t(labels[i].number);
  }
  MESSAGE(name << ": worst logit error " << worst << " relative to the row's largest logit; " << agree
               << "/64 correct");
  CHECK(worst <= 1e-4);
}

}  // namespace

TEST_CASE("fmnist_resnet logits equal PyTorch's") { check_reference_logits<ohq::examples::fmnist_resnet>("fmnist_resnet"); }
TEST_CASE("fmnist_mobilenet logits equal PyTorch's") {
  check_reference_logits<ohq::examples::fmnist_mobilenet>("fmnist_mobilenet");
}
TEST_CASE("fmnist_mlp logits equal PyTorch's") { check_reference_logits<ohq::examples::fmnist_mlp>("fmnist_mlp"); }

namespace {
using namespace ohq::nn;
template <class Net>
std::string bind_error(const std::string& file) {
  auto r = ohq::try_load_onnx<Net>(models_dir / file);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ohq::errc::shape_mismatch);
  return r.error().message();
}
}  // namespace

TEST_CASE("a network type that does not match the ONNX graph is an error naming node, layer and shapes") {
  if (!std::filesystem::exists(models_dir / "fmnist_resnet.onnx")) return;
  // 24 stem channels instead of 16.
  using wrong_width = ohq::network<ohq::shape<1, 28, 28>, conv2d<24, 3, 1, 1, 1, false>, batch_norm, relu,
                                   basic_block<24, 24>, basic_block<24, 32, 2>, basic_block<32, 64, 2>,
                                   global_avg_pool, dense<10>>;
  std::string e = bind_error<wrong_width>("fmnist_resnet.onnx");
  MESSAGE(e);
  CHECK(e.find("ONNX node '/0/Conv'") != std::string::npos);
  CHECK(e.find("layer 0 ") != std::string::npos);
  CHECK(e.find("(1, 28, 28) -> (16, 28, 28)") != std::string::npos);
  CHECK(e.find("(1, 28, 28) -> (24, 28, 28)") != std::string::npos);

  // The last dense layer missing: the graph has a node the type lacks.
  using short_net = ohq::network<ohq::shape<1, 28, 28>, conv2d<16, 3, 1, 1, 1, false>, batch_norm, relu,
                                 basic_block<16, 16>, basic_block<16, 32, 2>, basic_block<32, 64, 2>, global_avg_pool>;
  e = bind_error<short_net>("fmnist_resnet.onnx");
  MESSAGE(e);
  CHECK(e.find("has no counterpart") != std::string::npos);
  CHECK(e.find("/8/Gemm") != std::string::npos);

  // An identity residual where the graph has a projection, and a wrong kind of layer.
  using no_projection = ohq::network<ohq::shape<1, 28, 28>, conv2d<16, 3, 1, 1, 1, false>, batch_norm, relu,
                                     basic_block<16, 16>, sequential<residual<conv2d<16, 3, 1, 1>>, relu>,
                                     basic_block<16, 32, 2>, global_avg_pool, dense<10>>;
  e = bind_error<no_projection>("fmnist_resnet.onnx");
  MESSAGE(e);
  CHECK(e.find("layer 4") != std::string::npos);
  e = bind_error<ohq::examples::fmnist_mobilenet>("fmnist_resnet.onnx");
  MESSAGE(e);
  CHECK(e.find("ONNX node") != std::string::npos);
  // A bias-free conv with no batch_norm after it cannot take the exporter's folded bias.
  using no_bias = ohq::network<ohq::shape<1, 28, 28>, conv2d<16, 3, 1, 1, 1, false>, relu, basic_block<16, 16>,
                               basic_block<16, 32, 2>, basic_block<32, 64, 2>, global_avg_pool, dense<10>>;
  e = bind_error<no_bias>("fmnist_resnet.onnx");
  MESSAGE(e);
  CHECK(e.find("has a bias but layer 0") != std::string::npos);
}

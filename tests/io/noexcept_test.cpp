// SPDX-License-Identifier: MIT
// The try_ readers compiled with -fno-exceptions and OHQ_NO_EXCEPTIONS: they work, and the throwing
// spellings are not declared.
#include <doctest/doctest.h>

#include <filesystem>
#include <ohq/io.hpp>
#include <string>

#ifndef OHQ_NO_EXCEPTIONS
#error "this test must be built with OHQ_NO_EXCEPTIONS"
#endif

namespace onnx = ohq::io::onnx;

namespace {

const std::filesystem::path data_dir = OHQ_IO_TEST_DATA;

// Detects whether result<T>::value() (the throwing accessor) is declared; it must not be.
template <class R>
constexpr bool has_value_accessor = requires(R r) {
  r.value();
};

}  // namespace

TEST_CASE("io without exceptions: try_ readers") {
  static_assert(!has_value_accessor<ohq::result<onnx::model>>,
                "value() must not exist under OHQ_NO_EXCEPTIONS");
  auto m = onnx::try_load_model(data_dir / "conv_bn_relu_gemm_op13_raw.onnx");
  REQUIRE(m.has_value());
  CHECK(m->g.nodes.size() == 5);
  CHECK(onnx::attr_int(m->g.nodes[0], "group", 0).has_value());
  int rejected = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir / "hostile")) {
    if (entry.path().extension() != ".onnx") continue;
    auto r = onnx::try_load_model(entry.path());
    if (!r.has_value()) {
      CHECK(!r.error().message().empty());
      ++rejected;
    }
  }
  CHECK(rejected >= 100);
  auto idx = ohq::io::try_read_idx_labels(std::span<const std::byte>{});
  CHECK(!idx.has_value());
  auto missing = ohq::io::try_load_idx_images(data_dir / "none");
  CHECK(!missing.has_value());
}

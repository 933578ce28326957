// SPDX-License-Identifier: MIT
// libFuzzer target: ONNX bytes -> try_read_model -> try_import_layers -> try_bind_onnx onto the
// shipped Fashion-MNIST network types (examples/networks/fmnist.hpp), as ohq::try_load_onnx does.
#include "fuzz_common.hpp"

#include <ohq/io/onnx/bind.hpp>

#include "examples/networks/fmnist.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace {

template <class Net>
void bind_onto(const ohq::io::onnx::imported_network& imported, const char* type) {
  // One network per type for the whole run: the MLP alone holds 17 MB of weights.
  static const auto net = std::make_unique<Net>();
  const ohq::status s = ohq::try_bind_onnx(*net, imported);
  if (!s.ok()) ohq_fuzz::check_error(s, {ohq::errc::shape_mismatch}, type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ohq::io::onnx;
  using ohq::errc;
  auto m = try_read_model(ohq_fuzz::bytes(data, size));
  if (!m) return 0;  // the reader has its own target
  auto imported = try_import_layers(m->g);
  if (!imported) {
    ohq_fuzz::check_error(imported.error(), {errc::invalid_model, errc::numerical, errc::limit_exceeded}, "try_import_layers");
    return 0;
  }
  if (imported->input_shape.size() != 3) ohq_fuzz::finding("imported input shape is not {C, H, W}");
  bind_onto<ohq::examples::fmnist_resnet>(*imported, "bind fmnist_resnet");
  bind_onto<ohq::examples::fmnist_mobilenet>(*imported, "bind fmnist_mobilenet");
  bind_onto<ohq::examples::fmnist_mlp>(*imported, "bind fmnist_mlp");
  return 0;
}

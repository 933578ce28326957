// SPDX-License-Identifier: MIT
// libFuzzer target, structure-aware: the input is a program that builds an ONNX graph (nodes of the
// op types the importer knows, wired to earlier values or to fresh initializers, with fuzzed
// attributes and small tensors). Graphs that pass onnx::validate go through try_import_layers,
// generate_model_header and try_bind_onnx onto the Fashion-MNIST types. Random bytes rarely
// survive protobuf decoding with a new graph shape; this target reaches the importer's patterns
// (forks, joins, gates, shape computations) directly.
#include "fuzz_common.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <ohq/io/codegen.hpp>
#include <ohq/io/onnx/bind.hpp>

#include "examples/networks/fmnist.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace onnx = ohq::io::onnx;

constexpr const char* ops[] = {"Conv", "Gemm", "MatMul", "Add", "Mul", "Div", "BatchNormalization", "Relu", "Clip",
                               "HardSigmoid", "HardSwish", "Sigmoid", "Softmax", "MaxPool", "AveragePool",
                               "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Identity", "Dropout", "Pad",
                               "Shape", "Gather", "Concat", "Slice", "Constant", "Unsqueeze", "Cast", "Sub"};
constexpr const char* int_attrs[] = {"group", "axis", "transA", "transB", "training_mode", "ceil_mode",
                                     "count_include_pad", "start", "end"};
constexpr const char* ints_attrs[] = {"kernel_shape", "strides", "pads", "dilations", "axes"};
constexpr const char* float_attrs[] = {"epsilon", "alpha", "beta", "min", "max"};
constexpr float floats[] = {0.0f, 1.0f, 0.5f, 3.0f, 6.0f, 1.0f / 6.0f, -1.0f, 2.0f, 1e-5f,
                            std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};

float pick_float(FuzzedDataProvider& in) { return in.PickValueInArray(floats); }

onnx::tensor make_tensor(FuzzedDataProvider& in, const std::string& name) {
  onnx::tensor t;
  t.name = name;
  const auto rank = in.ConsumeIntegralInRange<std::size_t>(0, 4);
  for (std::size_t k = 0; k < rank; ++k) t.dims.push_back(in.ConsumeIntegralInRange<std::int64_t>(0, 8));
  const std::size_t count = t.element_count();
  if (in.ConsumeBool()) {
    t.type = onnx::data_type::int64;
    for (std::size_t k = 0; k < count; ++k) t.ints.push_back(in.ConsumeIntegralInRange<std::int64_t>(-3, 8));
  } else {
    t.type = onnx::data_type::float32;
    const float fill = pick_float(in);
    t.floats.assign(count, fill);
    if (count != 0 && in.ConsumeBool()) t.floats[in.ConsumeIntegralInRange<std::size_t>(0, count - 1)] = pick_float(in);
  }
  return t;
}

onnx::attribute make_attribute(FuzzedDataProvider& in) {
  onnx::attribute a;
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0:
      a.name = in.PickValueInArray(int_attrs);
      a.type = onnx::attribute_type::integer;
      a.i = in.ConsumeIntegralInRange<std::int64_t>(-2, 4);
      break;
    case 1: {
      a.name = in.PickValueInArray(ints_attrs);
      a.type = onnx::attribute_type::ints;
      const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 4);
      for (std::size_t k = 0; k < n; ++k) a.ints.push_back(in.ConsumeIntegralInRange<std::int64_t>(-1, 3));
      break;
    }
    case 2:
      a.name = in.PickValueInArray(float_attrs);
      a.type = onnx::attribute_type::floating;
      a.f = pick_float(in);
      break;
    case 3:
      a.name = in.ConsumeBool() ? "mode" : "auto_pad";
      a.type = onnx::attribute_type::string;
      a.s = in.ConsumeBool() ? "constant" : "NOTSET";
      break;
    default:
      a.name = "value";
      a.type = onnx::attribute_type::tensor;
      a.t = make_tensor(in, "");
      break;
  }
  return a;
}

onnx::model build(FuzzedDataProvider& in) {
  onnx::model m;
  m.ir_version = 7;
  m.opsets.push_back({"", 13});
  onnx::graph& g = m.g;
  onnx::value_info x;
  x.name = "x";
  x.elem_type = onnx::data_type::float32;
  x.has_shape = true;
  x.shape.resize(4);
  x.shape[0].param = "N";
  x.shape[1].value = in.ConsumeBool() ? 1 : in.ConsumeIntegralInRange<std::int64_t>(1, 8);
  x.shape[2].value = in.ConsumeBool() ? 28 : in.ConsumeIntegralInRange<std::int64_t>(1, 8);
  x.shape[3].value = in.ConsumeBool() ? x.shape[2].value : in.ConsumeIntegralInRange<std::int64_t>(1, 8);
  g.inputs.push_back(x);
  std::vector<std::string> values{"x"};
  const auto nodes = in.ConsumeIntegralInRange<std::size_t>(1, 24);
  for (std::size_t k = 0; k < nodes && in.remaining_bytes() > 0; ++k) {
    onnx::node n;
    n.op_type = in.PickValueInArray(ops);
    n.name = n.op_type + "_" + std::to_string(k);
    const auto inputs = in.ConsumeIntegralInRange<std::size_t>(0, 5);
    for (std::size_t i = 0; i < inputs; ++i) {
      const int kind = in.ConsumeIntegralInRange(0, 5);
      if (kind <= 2) {  // an earlier value, most often the latest
        const std::size_t back = kind == 0 ? 0 : in.ConsumeIntegralInRange<std::size_t>(0, values.size() - 1);
        n.inputs.push_back(values[values.size() - 1 - back]);
      } else if (kind <= 4) {
        const std::string name = "w" + std::to_string(k) + "_" + std::to_string(i);
        g.initializers.emplace(name, make_tensor(in, name));
        n.inputs.push_back(name);
      } else {
        n.inputs.emplace_back();
      }
    }
    const auto attributes = in.ConsumeIntegralInRange<std::size_t>(0, 4);
    for (std::size_t a = 0; a < attributes; ++a) n.attributes.push_back(make_attribute(in));
    const auto outputs = in.ConsumeIntegralInRange<std::size_t>(0, 2);
    for (std::size_t o = 0; o < outputs; ++o) {
      n.outputs.push_back("v" + std::to_string(k) + "_" + std::to_string(o));
      values.push_back(n.outputs.back());
    }
    g.nodes.push_back(std::move(n));
  }
  onnx::value_info y;
  y.name = values.back();
  g.outputs.push_back(y);
  return m;
}

void check_finite(const std::vector<onnx::imported_layer>& layers) {
  for (const auto& l : layers) {
    for (const auto* v : {&l.weight, &l.bias, &l.gamma, &l.beta, &l.mean, &l.var})
      for (float x : *v)
        if (!std::isfinite(x)) ohq_fuzz::finding("import: a non-finite weight was imported", l.node);
    if (l.op == onnx::layer_op::batch_norm && !std::isfinite(l.epsilon)) ohq_fuzz::finding("import: non-finite epsilon");
    check_finite(l.body);
    check_finite(l.shortcut);
  }
}

template <class Net>
void bind_onto(const onnx::imported_network& imported, const char* type) {
  static const auto net = std::make_unique<Net>();
  const ohq::status s = ohq::try_bind_onnx(*net, imported);
  if (!s.ok()) ohq_fuzz::check_error(s, {ohq::errc::shape_mismatch}, type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const onnx::model m = build(in);
  if (!onnx::validate(m).ok()) return 0;  // the importer only ever sees validated graphs
  auto imported = onnx::try_import_layers(m.g);
  if (!imported) {
    ohq_fuzz::check_error(imported.error(), {ohq::errc::invalid_model, ohq::errc::numerical, ohq::errc::limit_exceeded},
                          "try_import_layers");
    return 0;
  }
  check_finite(imported->layers);  // the importer rejects NaN/Inf weights (errc::numerical)
  ohq::io::codegen_options options;
  options.embed_weights = true;
  if (ohq::io::generate_model_header(*imported, options).empty()) ohq_fuzz::finding("codegen: empty header");
  bind_onto<ohq::examples::fmnist_resnet>(*imported, "bind fmnist_resnet");
  bind_onto<ohq::examples::fmnist_mobilenet>(*imported, "bind fmnist_mobilenet");
  bind_onto<ohq::examples::fmnist_mlp>(*imported, "bind fmnist_mlp");
  return 0;
}

// SPDX-License-Identifier: MIT
// Tests of the ONNX reader (ohq/io/onnx.hpp): real files made by make_onnx_fixtures.py, hand-built
// messages, the hostile corpus, every truncation of a real file, random mutations and resource limits.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <limits>
#include <ohq/io/codegen.hpp>
#include <ohq/io/onnx.hpp>
#include <ohq/io/onnx/import.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pb_writer.hpp"

namespace onnx = ohq::io::onnx;
using ohq_test::pb_writer;

namespace {

const std::filesystem::path data_dir = OHQ_IO_TEST_DATA;

std::vector<std::byte> file_bytes(const std::filesystem::path& p) {
  auto r = ohq::io::try_read_file(p, std::size_t{1} << 26);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  return *r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

onnx::model load(const std::string& name) {
  auto r = onnx::try_load_model(data_dir / name);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  return *std::move(r);
}

float pattern(std::size_t i, int modulus, int offset, float scale) {
  return static_cast<float>(static_cast<int>(i % static_cast<std::size_t>(modulus)) - offset) * scale;
}

const onnx::node& find_node(const onnx::graph& g, const std::string& op) {
  auto it =
      std::find_if(g.nodes.begin(), g.nodes.end(), [&](const onnx::node& n) { return n.op_type == op; });
  REQUIRE(it != g.nodes.end());
  return *it;
}

void check_conv_bn_relu_gemm(const onnx::model& m, std::int64_t opset) {
  CHECK(m.opset_version() == opset);
  CHECK(m.producer_name == "ohq-fixtures");
  const onnx::graph& g = m.g;
  CHECK(g.name == "conv_bn_relu_gemm");
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.inputs[0].name == "input");
  CHECK(g.inputs[0].elem_type == onnx::data_type::float32);
  REQUIRE(g.inputs[0].has_shape);
  REQUIRE(g.inputs[0].shape.size() == 4);
  CHECK(!g.inputs[0].shape[0].is_known());
  CHECK(g.inputs[0].shape[0].param == "N");
  CHECK(g.inputs[0].shape[1].value == 1);
  CHECK(g.inputs[0].shape[3].value == 8);
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.outputs[0].name == "logits");
  REQUIRE(g.value_infos.size() == 1);
  CHECK(g.value_infos[0].name == "conv_out");

  const onnx::node& conv = g.nodes.at(0);
  CHECK(conv.op_type == "Conv");
  CHECK(conv.name == "Conv_0");
  CHECK(conv.inputs == std::vector<std::string>{"input", "conv.weight", "conv.bias"});
  CHECK(conv.outputs == std::vector<std::string>{"conv_out"});
  CHECK(onnx::attr_ints(conv, "pads").value() == std::vector<std::int64_t>{1, 1, 1, 1});
  CHECK(onnx::attr_ints(conv, "strides").value() == std::vector<std::int64_t>{2, 2});
  CHECK(onnx::attr_int(conv, "group", 7).value() == 1);
  CHECK(onnx::attr_int(conv, "no_such", 7).value() == 7);
  const onnx::node& bn = find_node(g, "BatchNormalization");
  CHECK(onnx::attr_float(bn, "epsilon", 0.0F).value() == doctest::Approx(1e-5));
  CHECK(onnx::attr_float(bn, "momentum").value() == doctest::Approx(0.9));
  const onnx::node& gemm = g.nodes.back();
  CHECK(gemm.op_type == "Gemm");
  CHECK(onnx::attr_int(gemm, "transB", 0).value() == 1);

  REQUIRE(g.initializers.size() == 8);
  const onnx::tensor* w = g.find_initializer("conv.weight");
  REQUIRE(w != nullptr);
  CHECK(w->type == onnx::data_type::float32);
  CHECK(w->dims == std::vector<std::int64_t>{4, 1, 3, 3});
  REQUIRE(w->floats.size() == 36);
  CHECK(w->element_count() == 36);
  for (std::size_t i = 0; i < 36; ++i) CHECK(w->floats[i] == pattern(i, 7, 3, 0.125F));
  const onnx::tensor* fc = g.find_initializer("fc.weight");
  REQUIRE(fc != nullptr);
  CHECK(fc->dims == std::vector<std::int64_t>{10, 64});
  REQUIRE(fc->floats.size() == 640);
  for (std::size_t i = 0; i < 640; ++i) CHECK(fc->floats[i] == pattern(i, 11, 5, 0.0625F));
  const onnx::tensor* var = g.find_initializer("bn.var");
  REQUIRE(var != nullptr);
  CHECK(var->floats == std::vector<float>{1, 2, 1, 2});
  CHECK(g.find_initializer("missing") == nullptr);
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(line);
  while (std::getline(in, part, '\t')) parts.push_back(part);
  return parts;
}

}  // namespace

TEST_CASE("onnx: conv+bn+relu+gemm at opset 13, raw_data and float_data") {
  const auto raw = load("conv_bn_relu_gemm_op13_raw.onnx");
  const auto fd = load("conv_bn_relu_gemm_op13_float_data.onnx");
  check_conv_bn_relu_gemm(raw, 13);
  check_conv_bn_relu_gemm(fd, 13);
  CHECK(raw.ir_version == 7);
  for (const auto& [name, t] : raw.g.initializers) {
    const onnx::tensor* other = fd.g.find_initializer(name);
    REQUIRE(other != nullptr);
    CHECK(other->dims == t.dims);
    CHECK(other->floats == t.floats);
  }
  const auto order = onnx::topological_order(raw.g);
  REQUIRE(order.has_value());
  CHECK(*order == std::vector<std::size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("onnx: opset 11 and opset 17 (Constant tensor attribute)") {
  check_conv_bn_relu_gemm(load("conv_bn_relu_gemm_op11.onnx"), 11);
  const auto m17 = load("conv_bn_relu_gemm_op17.onnx");
  check_conv_bn_relu_gemm(m17, 17);
  CHECK(m17.ir_version == 8);
  const onnx::node& c = find_node(m17.g, "Constant");
  auto t = onnx::attr_tensor(c, "value");
  REQUIRE(t.has_value());
  CHECK((*t)->type == onnx::data_type::int64);
  CHECK((*t)->dims == std::vector<std::int64_t>{2});
  CHECK((*t)->ints == std::vector<std::int64_t>{1, 64});
  const onnx::node& reshape = find_node(m17.g, "Reshape");
  CHECK(reshape.inputs == std::vector<std::string>{"relu_out", "shape"});
}

TEST_CASE("onnx: attribute lookups report missing and mistyped attributes") {
  const auto m = load("conv_bn_relu_gemm_op13_raw.onnx");
  const onnx::node& conv = m.g.nodes[0];
  auto missing = onnx::attr_int(conv, "axis");
  REQUIRE(!missing.has_value());
  CHECK(missing.error().code() == ohq::errc::invalid_model);
  CHECK(contains(missing.error().message(), "node 'Conv_0' (Conv): required attribute 'axis' is missing"));
  auto wrong = onnx::attr_int(conv, "pads", 0);
  REQUIRE(!wrong.has_value());
  CHECK(contains(wrong.error().message(), "attribute 'pads' is INTS, expected INT"));
  CHECK(!onnx::attr_float(conv, "group", 1.0F).has_value());
  CHECK(!onnx::attr_tensor(conv, "pads").has_value());
  CHECK(!onnx::attr_string(conv, "pads").has_value());
  CHECK(onnx::attr_string(conv, "auto_pad", "NOTSET").value() == "NOTSET");
  CHECK(onnx::attr_floats(conv, "scales", {1.0F}).value() == std::vector<float>{1.0F});
  CHECK(onnx::find_attribute(conv, "kernel_shape") != nullptr);
  CHECK(onnx::find_attribute(conv, "kernel") == nullptr);
  CHECK_THROWS_AS(onnx::attr_int(conv, "axis").value(), ohq::error);
}

TEST_CASE("onnx: Identity nodes aliasing initializers (torch 1.13 shared biases)") {
  auto m = load("identity_aliases_op13.onnx");
  REQUIRE(m.g.nodes.size() == 6);
  {
    const onnx::graph_index index(m.g);
    CHECK(index.producer("onnx::Conv_12") == 2);
    CHECK(index.producer("shared.bias") == onnx::graph_index::none);
    CHECK(index.producer("input") == onnx::graph_index::none);
    const auto users = index.consumers("shared.bias");
    CHECK(std::vector<std::size_t>(users.begin(), users.end()) == std::vector<std::size_t>{0, 1});
    CHECK(index.consumers("nothing").empty());
  }
  CHECK(onnx::resolve_initializer_aliases(m.g) == 3);
  REQUIRE(m.g.nodes.size() == 3);
  CHECK(m.g.nodes[0].op_type == "Conv");
  CHECK(m.g.nodes[0].inputs[2] == "shared.bias");
  CHECK(m.g.nodes[2].inputs[2] == "shared.bias");
  CHECK(m.g.find_initializer(m.g.nodes[2].inputs[2])->floats == std::vector<float>{0.5F, -0.25F});
  CHECK(onnx::validate(m).ok());
  CHECK(onnx::resolve_initializer_aliases(m.g) == 0);
}

TEST_CASE("onnx: an Identity of an initializer that is a graph output is kept") {
  auto m = load("identity_aliases_op13.onnx");
  m.g.outputs.push_back(onnx::value_info{"onnx::Conv_11", onnx::data_type::float32, false, {}});
  CHECK(onnx::resolve_initializer_aliases(m.g) == 2);
  CHECK(onnx::validate(m).ok());
}

TEST_CASE("onnx: topological_order sorts an unsorted graph and finds cycles") {
  auto m = load("conv_bn_relu_gemm_op13_raw.onnx");
  std::reverse(m.g.nodes.begin(), m.g.nodes.end());
  const auto v = onnx::validate(m);
  REQUIRE(!v.ok());
  CHECK(contains(v.message(), "not topologically sorted"));
  auto order = onnx::topological_order(m.g);
  REQUIRE(order.has_value());
  CHECK(*order == std::vector<std::size_t>{4, 3, 2, 1, 0});
  m.g.nodes[0].inputs[0] = "logits";  // Gemm now reads its own output
  auto cyclic = onnx::topological_order(m.g);
  REQUIRE(!cyclic.has_value());
  CHECK(contains(cyclic.error().message(), "cycle"));
  m.g.nodes[0].inputs[0] = "nowhere";
  auto unknown = onnx::topological_order(m.g);
  REQUIRE(!unknown.has_value());
  CHECK(contains(unknown.error().message(), "'nowhere' is not a graph input"));
}

TEST_CASE("onnx: hand-built model covers every decoded field form") {
  pb_writer tensor_i32;  // INT32 in raw_data: widened to int64
  {
    const std::byte raw[] = {std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF},
                             std::byte{2},    std::byte{0},    std::byte{0},    std::byte{0}};
    tensor_i32.varint(1, 2).varint(2, 6).str(8, "i32").bytes(9, raw);
  }
  pb_writer tensor_i64;  // INT64 in packed int64_data
  {
    const std::int64_t v[] = {-5, 1LL << 40};
    tensor_i64.varint(1, 2).varint(2, 7).packed_varints(7, v).str(8, "i64");
  }
  pb_writer tensor_f;  // FLOAT, unpacked float_data, dims after the data, scalar-free
  tensor_f.f32(4, 0.5F).f32(4, -1.0F).str(8, "f").varint(2, 1).varint(1, 1).varint(1, 2);
  pb_writer tensor_scalar;  // a scalar: no dims, one element
  tensor_scalar.varint(2, 1).str(8, "s").packed_floats(4, std::vector<float>{3.0F});
  pb_writer tensor_empty;  // zero elements, no data
  tensor_empty.varint(1, 0).varint(1, 5).varint(2, 1).str(8, "e");
  pb_writer tensor_i32_data;  // INT32 in int32_data, unpacked, negative
  tensor_i32_data.varint(1, 2).varint(2, 6).sint(5, -7).sint(5, 9).str(8, "i32d");

  pb_writer attr_ints_unpacked, attr_ints_packed, attr_f, attr_s, attr_untyped, attr_strings, attr_floats;
  attr_ints_unpacked.str(1, "kernel_shape").varint(8, 3).varint(8, 3).varint(20, 7);
  {
    const std::int64_t v[] = {1, 2, 3, 4};
    attr_ints_packed.str(1, "pads").packed_varints(8, v).varint(20, 7);
  }
  attr_f.str(1, "alpha").f32(2, 0.25F).varint(20, 1);
  attr_s.str(1, "auto_pad").str(4, "SAME_UPPER").varint(20, 3);
  attr_untyped.str(1, "group").varint(3, 2);  // no type field: inferred INT
  attr_strings.str(1, "names").str(9, "a").str(9, "b").varint(20, 8);
  attr_floats.str(1, "scales").f32(7, 1.5F).packed_floats(7, std::vector<float>{2.5F}).varint(20, 6);

  pb_writer node;
  node.str(1, "x").str(1, "").str(2, "y").str(3, "n0").str(4, "Conv").str(7, "ai.onnx");
  for (const pb_writer* a : {&attr_ints_unpacked, &attr_ints_packed, &attr_f, &attr_s, &attr_untyped,
                             &attr_strings, &attr_floats}) {
    node.message(5, *a);
  }
  pb_writer dim_n, dim_4, shape, tensor_type, type, vi_x, vi_y;
  dim_n.str(2, "batch");
  dim_4.varint(1, 4);
  shape.message(1, dim_n).message(1, dim_4);
  tensor_type.varint(1, 1).message(2, shape);
  type.message(1, tensor_type);
  vi_x.str(1, "x").message(2, type);
  vi_y.str(1, "y");  // no type at all
  pb_writer graph;
  graph.message(1, node).str(2, "hand");
  for (const pb_writer* t :
       {&tensor_i32, &tensor_i64, &tensor_f, &tensor_scalar, &tensor_empty, &tensor_i32_data}) {
    graph.message(5, *t);
  }
  graph.message(11, vi_x).message(12, vi_y);
  pb_writer opset, ml_opset, model;
  opset.varint(2, 15);
  ml_opset.str(1, "ai.onnx.ml").varint(2, 3);
  model.varint(1, 8).str(2, "hand").str(3, "0.1").message(7, graph).message(8, ml_opset).message(8, opset);

  auto r = onnx::try_read_model(model.data());
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  const onnx::model& m = *r;
  CHECK(m.ir_version == 8);
  CHECK(m.opset_version() == 15);
  CHECK(m.opsets.size() == 2);
  CHECK(m.producer_version == "0.1");
  const onnx::graph& g = m.g;
  CHECK(g.find_initializer("i32")->ints == std::vector<std::int64_t>{-1, 2});
  CHECK(g.find_initializer("i32")->is_integer());
  CHECK(g.find_initializer("i64")->ints == std::vector<std::int64_t>{-5, 1LL << 40});
  CHECK(g.find_initializer("f")->floats == std::vector<float>{0.5F, -1.0F});
  CHECK(g.find_initializer("f")->dims == std::vector<std::int64_t>{1, 2});
  CHECK(g.find_initializer("s")->dims.empty());
  CHECK(g.find_initializer("s")->element_count() == 1);
  CHECK(g.find_initializer("e")->element_count() == 0);
  CHECK(g.find_initializer("i32d")->ints == std::vector<std::int64_t>{-7, 9});
  const onnx::node& n = g.nodes.at(0);
  CHECK(n.inputs == std::vector<std::string>{"x", ""});
  CHECK(n.domain == "ai.onnx");
  CHECK(onnx::attr_ints(n, "kernel_shape").value() == std::vector<std::int64_t>{3, 3});
  CHECK(onnx::attr_ints(n, "pads").value() == std::vector<std::int64_t>{1, 2, 3, 4});
  CHECK(onnx::attr_float(n, "alpha").value() == 0.25F);
  CHECK(onnx::attr_string(n, "auto_pad").value() == "SAME_UPPER");
  CHECK(onnx::attr_int(n, "group").value() == 2);
  CHECK(onnx::find_attribute(n, "names")->strings == std::vector<std::string>{"a", "b"});
  CHECK(onnx::attr_floats(n, "scales").value() == std::vector<float>{1.5F, 2.5F});
  REQUIRE(g.inputs.at(0).shape.size() == 2);
  CHECK(g.inputs[0].shape[0].param == "batch");
  CHECK(g.inputs[0].shape[1].value == 4);
  CHECK(!g.outputs.at(0).has_shape);
  CHECK(g.outputs[0].elem_type == onnx::data_type::undefined);
}

TEST_CASE("onnx: error messages name the field path, the names on it and the byte offset") {
  pb_writer attr;
  attr.str(1, "pads").f32(8, 1.0F);  // ints given as fixed32
  pb_writer n0, n1, graph, opset, model;
  n0.str(1, "x").str(2, "y").str(3, "first").str(4, "Relu");
  n1.str(1, "y").str(2, "z").str(3, "second").str(4, "Conv").message(5, attr);
  graph.message(1, n0).message(1, n1);
  opset.varint(2, 13);
  model.varint(1, 7).message(7, graph).message(8, opset);
  auto r = onnx::try_read_model(model.data());
  REQUIRE(!r.has_value());
  const std::string msg = r.error().message();
  INFO(msg);
  CHECK(r.error().code() == ohq::errc::parse_error);
  CHECK(contains(msg,
                 "onnx: graph.node[1].attribute[0] [node 'second' (Conv), attribute 'pads']: field 8 (ints) "
                 "has wire type fixed32, expected varint or packed (length-delimited) at byte offset"));
}

TEST_CASE("onnx: the hostile corpus is rejected with clear errors (and accepted files load)") {
  const auto dir = data_dir / "hostile";
  std::ifstream manifest(dir / "expected.tsv");
  REQUIRE(manifest.good());
  std::string line;
  int files = 0, rejected = 0, accepted = 0;
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto parts = split_tabs(line);
    REQUIRE(parts.size() >= 2);
    const std::string& name = parts[0];
    const std::string& outcome = parts[1];
    const std::string substring = parts.size() > 2 ? parts[2] : "";
    INFO("file: ", name);
    ++files;
    auto r = onnx::try_load_model(dir / name);
    if (outcome == "ok") {
      CHECK_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().what()));
      ++accepted;
      continue;
    }
    REQUIRE(!r.has_value());
    ++rejected;
    const std::string msg = r.error().message();
    INFO("message: ", msg);
    CHECK(contains(msg, "onnx: '" + (dir / name).native() + "': "));
    CHECK(contains(msg, substring));
    if (outcome != "*") CHECK(std::string(ohq::to_string(r.error().code())) == outcome);
    CHECK_THROWS_AS(onnx::load_model(dir / name), ohq::error);
  }
  MESSAGE("hostile corpus: ", files, " files, ", rejected, " rejected, ", accepted, " accepted");
  CHECK(files >= 100);
  CHECK(accepted == 3);

  const auto unpacked = onnx::load_model(dir / "unpacked_float_data.onnx");
  CHECK(unpacked.g.find_initializer("w")->floats == std::vector<float>{1, 2, 3});
  const auto unknown = onnx::load_model(dir / "unknown_fields_everywhere.onnx");
  CHECK(onnx::attr_float(unknown.g.nodes.at(0), "alpha").value() == 0.5F);
  CHECK(unknown.g.find_initializer("w")->floats == std::vector<float>{1.5F, -2.0F});
}

TEST_CASE("onnx: every truncation of every real file is an error") {
  std::size_t offsets = 0;
  for (const char* name :
       {"conv_bn_relu_gemm_op13_raw.onnx", "conv_bn_relu_gemm_op13_float_data.onnx",
        "conv_bn_relu_gemm_op11.onnx", "conv_bn_relu_gemm_op17.onnx", "identity_aliases_op13.onnx"}) {
    const auto bytes = file_bytes(data_dir / name);
    REQUIRE(onnx::try_read_model(bytes).has_value());
    for (std::size_t len = 0; len < bytes.size(); ++len) {
      auto r = onnx::try_read_model(std::span<const std::byte>(bytes).first(len));
      if (r.has_value())
        FAIL_CHECK(name << " truncated to " << len << " bytes was accepted");
      else if (r.error().message().empty())
        FAIL_CHECK("empty message");
      ++offsets;
    }
  }
  MESSAGE("truncation offsets tried: ", offsets);
  CHECK(offsets > 10000);
}

TEST_CASE("onnx: random mutations of a real file never crash") {
  const auto original = file_bytes(data_dir / "conv_bn_relu_gemm_op13_raw.onnx");
  std::mt19937_64 rng(12345);
  int ok = 0, errors = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    auto bytes = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0:
          bytes[at] ^= static_cast<std::byte>(1U << (rng() % 8));
          break;
        case 1:
          bytes[at] = static_cast<std::byte>(rng());
          break;
        default:
          bytes[at] = static_cast<std::byte>(0xFF);
          break;
      }
    }
    auto r = onnx::try_read_model(bytes);
    if (r.has_value()) {
      ++ok;
      CHECK(onnx::validate(*r).ok());
    } else {
      ++errors;
      CHECK(!r.error().message().empty());
    }
  }
  MESSAGE("mutations: ", ok, " still valid, ", errors, " rejected");
}

TEST_CASE("onnx: resource limits") {
  const auto bytes = file_bytes(data_dir / "conv_bn_relu_gemm_op13_raw.onnx");
  {
    onnx::read_options o;
    o.max_file_bytes = 100;
    auto r = onnx::try_read_model(bytes, o);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ohq::errc::limit_exceeded);
    CHECK(contains(r.error().message(), "max_file_bytes"));
    auto f = onnx::try_load_model(data_dir / "conv_bn_relu_gemm_op13_raw.onnx", o);
    REQUIRE(!f.has_value());
    CHECK(f.error().code() == ohq::errc::limit_exceeded);
  }
  {
    onnx::read_options o;
    o.max_tensor_elements = 100;  // fc.weight has 640
    auto r = onnx::try_read_model(bytes, o);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ohq::errc::limit_exceeded);
    CHECK(contains(r.error().message(), "initializer[6] [tensor 'fc.weight']"));
  }
  {
    onnx::read_options o;
    o.max_nesting_depth = 3;  // value_info dims sit at depth 6
    auto r = onnx::try_read_model(bytes, o);
    REQUIRE(!r.has_value());
    CHECK(contains(r.error().message(), "nested deeper than the limit of 3"));
  }
  // Many small nodes: per-object memory is charged, so a small file cannot build a huge graph.
  pb_writer tiny_node;
  tiny_node.str(4, "A");
  pb_writer graph;
  for (int k = 0; k < 200000; ++k) graph.message(1, tiny_node);
  pb_writer opset, model;
  opset.varint(2, 13);
  model.varint(1, 7).message(7, graph).message(8, opset);
  {
    onnx::read_options o;
    o.memory_slack_bytes = std::size_t{1} << 20;
    auto r = onnx::try_read_model(model.data(), o);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ohq::errc::limit_exceeded);
    CHECK(contains(r.error().message(), "memory limit"));
  }
  {
    auto r = onnx::try_read_model(model.data());  // within the default slack: decodes, then fails validation
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ohq::errc::invalid_model);
  }
  // Packed varints decode 8 bytes per input byte; that growth is charged before allocating.
  std::vector<std::int64_t> ones(std::size_t{1} << 20, 1);
  pb_writer t;
  t.packed_varints(1, ones).varint(2, 1).str(8, "w");
  pb_writer g2;
  g2.message(5, t);
  pb_writer model2;
  model2.varint(1, 7).message(7, g2).message(8, opset);
  {
    onnx::read_options o;
    o.memory_slack_bytes = std::size_t{1} << 20;
    auto r = onnx::try_read_model(model2.data(), o);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ohq::errc::limit_exceeded);
  }
}

TEST_CASE("onnx: file errors and the throwing spellings") {
  auto missing = onnx::try_load_model(data_dir / "does_not_exist.onnx");
  REQUIRE(!missing.has_value());
  CHECK(missing.error().code() == ohq::errc::io_error);
  CHECK(contains(missing.error().message(), "cannot open"));
  CHECK(contains(missing.error().message(), "does_not_exist.onnx"));
  auto dir = onnx::try_load_model(data_dir);
  REQUIRE(!dir.has_value());
  CHECK(dir.error().code() == ohq::errc::io_error);
  CHECK_THROWS_AS(onnx::load_model(data_dir / "does_not_exist.onnx"), ohq::error);
  try {
    (void)onnx::read_model(std::span<const std::byte>{});
    FAIL("read_model accepted empty input");
  } catch (const ohq::error& e) {
    CHECK(e.code() == ohq::errc::parse_error);
    CHECK(contains(e.what(), "empty"));
  }
  const auto bytes = file_bytes(data_dir / "conv_bn_relu_gemm_op13_raw.onnx");
  CHECK(onnx::read_model(bytes).g.nodes.size() == 5);
}

// ---- the importer and the code generator on hostile graphs (found by tests/fuzz, docs/reliability.md) ----

namespace {

onnx::node make_node(std::string op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                     std::vector<onnx::attribute> attributes = {}) {
  onnx::node n;
  n.name = op + "_" + (outputs.empty() ? std::string("x") : outputs[0]);
  n.op_type = std::move(op);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  return n;
}

onnx::value_info tensor_value(std::string name, std::vector<std::int64_t> dims = {}) {
  onnx::value_info v;
  v.name = std::move(name);
  v.elem_type = onnx::data_type::float32;
  v.has_shape = !dims.empty();
  for (std::int64_t d : dims) {
    onnx::dimension dim;
    dim.value = d;
    v.shape.push_back(dim);
  }
  return v;
}

void add_float(onnx::graph& g, const std::string& name, std::vector<std::int64_t> dims, float value = 0.5F) {
  onnx::tensor t;
  t.name = name;
  t.type = onnx::data_type::float32;
  t.dims = std::move(dims);
  t.floats.assign(t.element_count(), value);
  g.initializers.emplace(name, std::move(t));
}

/// x [1, C, H, W] -> ... -> y.
onnx::graph io_graph(std::vector<std::int64_t> input_dims) {
  onnx::graph g;
  g.inputs.push_back(tensor_value("x", std::move(input_dims)));
  g.outputs.push_back(tensor_value("y"));
  return g;
}

}  // namespace

TEST_CASE("import: Flatten after a residual of two flattened branches reads no shape out of bounds") {
  // Both branches flatten: the residual's value is flat; Flatten used to read shape[1] and shape[2] of it.
  onnx::graph g = io_graph({1, 1, 2, 2});
  g.nodes = {make_node("Flatten", {"x"}, {"a"}), make_node("Flatten", {"x"}, {"b"}), make_node("Add", {"a", "b"}, {"s"}),
             make_node("Flatten", {"s"}, {"y"})};
  auto r = onnx::try_import_layers(g);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  REQUIRE(r->layers.size() == 1);
  CHECK(r->layers[0].op == onnx::layer_op::residual);
  CHECK(r->layers[0].output == std::vector<std::size_t>{4});
}

TEST_CASE("import: a squeeze-excite gate needs an activation between its convolutions") {
  // Softmax there used to import, and ohq-codegen then built a std::string from a null pointer.
  onnx::graph g = io_graph({1, 4, 2, 2});
  add_float(g, "w1", {2, 4, 1, 1});
  add_float(g, "b1", {2});
  add_float(g, "w2", {4, 2, 1, 1});
  add_float(g, "b2", {4});
  g.nodes = {make_node("GlobalAveragePool", {"x"}, {"p"}), make_node("Conv", {"p", "w1", "b1"}, {"s1"}),
             make_node("Softmax", {"s1"}, {"a"}),           make_node("Conv", {"a", "w2", "b2"}, {"s2"}),
             make_node("Sigmoid", {"s2"}, {"gate"}),        make_node("Mul", {"x", "gate"}, {"y"})};
  auto r = onnx::try_import_layers(g);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == ohq::errc::invalid_model);
  CHECK(contains(r.error().message(), "supported gates"));
  g.nodes[2].op_type = "Relu";  // the supported form imports
  auto ok = onnx::try_import_layers(g);
  REQUIRE_MESSAGE(ok.has_value(), ok.error().what());
  CHECK(ok->layers.at(0).op == onnx::layer_op::squeeze_excite);
  CHECK(contains(ohq::io::generate_model_header(*ok, {}), "squeeze_excite<2, relu, sigmoid>"));
}

TEST_CASE("import: nodes without outputs are errors, not exceptions") {
  // MatMul followed by an Add that has no output: the importer used to call outputs.at(0).
  onnx::graph g = io_graph({1, 1, 2, 2});
  add_float(g, "w", {4, 3});
  add_float(g, "b", {3});
  g.nodes = {make_node("Flatten", {"x"}, {"f"}), make_node("MatMul", {"f", "w"}, {"m"}), make_node("Add", {"m", "b"}, {})};
  auto r = onnx::try_import_layers(g);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == ohq::errc::invalid_model);
  CHECK(contains(r.error().message(), "has no output"));
  // The same for a decomposed hardsigmoid whose Clip has no output.
  onnx::graph h = io_graph({1, 1, 2, 2});
  add_float(h, "three", {}, 3.0F);
  add_float(h, "zero", {}, 0.0F);
  add_float(h, "six", {}, 6.0F);
  h.nodes = {make_node("Add", {"x", "three"}, {"a"}), make_node("Clip", {"a", "zero", "six"}, {})};
  auto rh = onnx::try_import_layers(h);
  REQUIRE(!rh.has_value());
  CHECK(rh.error().code() == ohq::errc::invalid_model);  // A join (residual Add) without an output: found by the onnx_graph fuzz target.
  onnx::graph j = io_graph({1, 1, 2, 2});
  j.nodes = {make_node("Relu", {"x"}, {"a"}), make_node("Sigmoid", {"x"}, {"b"}), make_node("Add", {"a", "b"}, {})};
  auto rj = onnx::try_import_layers(j);
  REQUIRE(!rj.has_value());
  CHECK(rj.error().code() == ohq::errc::invalid_model);
  CHECK(contains(rj.error().message(), "has no output"));
}

TEST_CASE("import: a shape computation cannot blow up (max_shape_eval_steps)") {
  // c1 = Concat(c0 x 10), c2 = Concat(c1 x 10), ...: 10^8 values and as many visits without the bound.
  onnx::graph g = io_graph({1, 1, 2, 2});
  onnx::tensor c0;
  c0.name = "c0";
  c0.type = onnx::data_type::int64;
  c0.dims = {1};
  c0.ints = {1};
  g.initializers.emplace("c0", c0);
  for (int level = 1; level <= 8; ++level) {
    const std::string in = "c" + std::to_string(level - 1);
    g.nodes.push_back(make_node("Concat", std::vector<std::string>(10, in), {"c" + std::to_string(level)}));
  }
  g.nodes.push_back(make_node("Reshape", {"x", "c8"}, {"y"}));
  const auto start = std::chrono::steady_clock::now();
  auto r = onnx::try_import_layers(g);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  REQUIRE(!r.has_value());
  CHECK(contains(r.error().message(), "Reshape is supported only to 2-D"));
  CHECK(contains(r.error().message(), "max_shape_eval_steps = 4096"));
}

TEST_CASE("import: NaN and Inf are rejected in a MatMul's bias and a BatchNormalization's epsilon") {
  onnx::graph g = io_graph({1, 1, 2, 2});
  add_float(g, "w", {4, 3});
  add_float(g, "b", {3}, std::numeric_limits<float>::quiet_NaN());
  g.nodes = {make_node("Flatten", {"x"}, {"f"}), make_node("MatMul", {"f", "w"}, {"m"}), make_node("Add", {"m", "b"}, {"y"})};
  auto r = onnx::try_import_layers(g);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == ohq::errc::numerical);
  CHECK(contains(r.error().message(), "bias 'b' holds a non-finite value"));
  onnx::graph h = io_graph({1, 2, 2, 2});
  for (const char* part : {"s", "o", "mu", "var"}) add_float(h, part, {2}, 1.0F);
  onnx::attribute eps;
  eps.name = "epsilon";
  eps.type = onnx::attribute_type::floating;
  eps.f = std::numeric_limits<float>::infinity();
  h.nodes = {make_node("BatchNormalization", {"x", "s", "o", "mu", "var"}, {"y"}, {eps})};
  auto rh = onnx::try_import_layers(h);
  REQUIRE(!rh.has_value());
  CHECK(rh.error().code() == ohq::errc::numerical);
  CHECK(contains(rh.error().message(), "epsilon is inf"));
}

TEST_CASE("import: the graph input's size is bounded (max_import_input_elements)") {
  onnx::graph g = io_graph({1, 65536, 65536, 65536});
  g.nodes = {make_node("Relu", {"x"}, {"y"})};
  auto r = onnx::try_import_layers(g);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == ohq::errc::limit_exceeded);
  CHECK(contains(r.error().message(), "max_import_input_elements"));
}

TEST_CASE("codegen: names from the file cannot change the generated code") {
  onnx::imported_network net;
  net.input_shape = {1, 2, 2};
  onnx::imported_layer relu;
  relu.op = onnx::layer_op::relu;
  relu.node = "a\nusing evil = int;";
  onnx::imported_layer sigmoid;
  sigmoid.op = onnx::layer_op::sigmoid;
  sigmoid.node = "ends in a backslash \\";  // would splice the next line into the comment
  net.layers = {relu, sigmoid, relu};
  ohq::io::codegen_options options;
  options.source = "q\"uote\\.onnx";
  const std::string header = ohq::io::generate_model_header(net, options);
  CHECK_FALSE(contains(header, "\nusing evil"));
  CHECK_FALSE(contains(header, "\\\n"));
  CHECK(contains(header, "// a?using evil = int;\n"));
  CHECK(contains(header, "source = \"q\\\"uote\\\\.onnx\";"));
}

TEST_CASE("onnx: validate is linear in the number of names (no quadratic duplicate checks)") {
  onnx::model m;
  m.ir_version = 7;
  m.opsets.push_back({"", 13});
  // Names built with append: g++ 12 warns (-Wrestrict, a false positive) on "a" + std::to_string(k).
  const auto numbered = [](char prefix, int k) {
    std::string name(1, prefix);
    name.append(std::to_string(k));
    return name;
  };
  for (int k = 0; k < 200000; ++k) m.opsets.push_back({numbered('d', k), 1});
  onnx::node n = make_node("Relu", {"x"}, {"y"});
  for (int k = 0; k < 200000; ++k) {
    onnx::attribute a;
    a.name = numbered('a', k);
    a.type = onnx::attribute_type::integer;
    n.attributes.push_back(a);
  }
  n.attributes.push_back(n.attributes.front());
  m.g = io_graph({1, 1, 2, 2});
  m.g.nodes.push_back(n);
  const auto start = std::chrono::steady_clock::now();
  const ohq::status s = onnx::validate(m);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(s.code() == ohq::errc::invalid_model);
  CHECK(contains(s.message(), "attribute 'a0' is given twice"));
}

TEST_CASE("fuzz regressions: every saved ONNX input reads, imports and generates code without a crash") {
  // tests/fuzz/regressions/<target>/ holds the inputs that crashed a fuzz target; the fix keeps them errors
  // (or clean successes) under every compiler of the suite, not only under the clang fuzz pass.
  std::size_t files = 0;
  for (const char* target : {"onnx_reader", "onnx_import", "codegen"}) {
    const std::filesystem::path dir = std::filesystem::path(OHQ_FUZZ_REGRESSIONS) / target;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().filename().string().rfind("README", 0) == 0) continue;
      INFO(entry.path().string());
      ++files;
      auto m = onnx::try_load_model(entry.path());
      if (!m) {
        CHECK(m.error().code() != ohq::errc::io_error);
        continue;
      }
      auto imported = onnx::try_import_layers(m->g);
      if (!imported) {
        CHECK(!imported.error().message().empty());
        continue;
      }
      CHECK(!ohq::io::generate_model_header(*imported, {}).empty());
    }
  }
  MESSAGE(files << " regression files");
}

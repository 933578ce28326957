// SPDX-License-Identifier: MIT
// The kernel engine (nn/quantized/kernel_engine.hpp) against the integer reference engine: every
// value's codes equal, on random networks of every layer kind with random per-layer bit-widths
// (1..8), calibrations and roundings, on every arch path this machine supports and split over two
// threads; and on the three shipped Fashion-MNIST models (their ONNX weights, a few hundred test
// images). Also: bad inputs are errors naming the layer; and layers kept in float
// (kernel_options::float_ops) compute quantize(act(fp32 op(dequantize(x)))) exactly.
#include <ohq/core/thread_pool.hpp>
#include <ohq/io/idx.hpp>
#include <ohq/io/onnx/bind.hpp>
#include <ohq/nn.hpp>

#include "../support/quantized_networks.hpp"
#include "examples/networks/fmnist.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace ohq::nn;
using ohq::kernels::arch;
namespace q = ohq::quant;

namespace {

/// Runs the kernel engine on `x` and compares every value's codes with the reference's last run
/// (whose output was `want`).
void check_same_codes(quantized_network& qn, kernel_network& kn, const std::vector<float>& want,
                      const std::vector<float>& x, std::size_t batch) {
  const auto got = kn.run(x.data(), batch);
  REQUIRE(got.size() == want.size());
  const quant_graph& g = qn.graph();
  for (std::size_t v = 0; v < g.values.size(); ++v) {
    if (g.final_softmax && v == g.ops.back().output) continue;  // float probabilities, no codes
    const auto a = qn.codes(v), b = kn.codes(v);
    REQUIRE(a.size() == b.size());
    std::size_t bad = 0, first = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i] && bad++ == 0) first = i;
    if (bad)
      FAIL_CHECK(g.value_name(v) << ": " << bad << " of " << a.size() << " codes differ; first at " << first
                                 << ": kernel " << int(b[first]) << ", reference " << int(a[first]));
  }
  for (std::size_t i = 0; i < want.size(); ++i) REQUIRE(got[i] == want[i]);
}

/// The arch paths this program can run here (SKIPPED messages for the others).
const std::vector<arch>& runnable_archs() {
  static const std::vector<arch> archs = [] {
    std::vector<arch> out;
    for (arch a : ohq::kernels::all_archs) {
      if (const ohq::status s = ohq::kernels::check_arch(a); !s.ok()) {
        MESSAGE("SKIPPED arch " << ohq::kernels::to_string(a) << ": " << s.message());
        continue;
      }
      out.push_back(a);
    }
    return out;
  }();
  return archs;
}

/// Ops the kernel engine ran by Winograd or implicit im2col in check_same_codes, per method (so the
/// tests know they covered every tile and the windowed GEMM).
std::map<std::string, std::size_t>& methods_run() {
  static std::map<std::string, std::size_t> n;
  return n;
}

/// Runs the reference once on `x`, then the kernel engine on every runnable arch (with Winograd
/// F(2x2) and F(3x3) wherever eligible, and nowhere), and compares the codes of every value and
/// the outputs.
void check_same_codes(quantized_network& qn, const std::vector<float>& x, std::size_t batch, const std::string& what) {
  const auto want_out = qn.run_integer(x.data(), batch);
  const std::vector<float> want(want_out.begin(), want_out.end());
  using ohq::kernels::winograd_tile;
  struct winograd_case {
    winograd_use use;
    winograd_tile tile;
  };
  for (arch a : runnable_archs())
    for (const winograd_case wc : {winograd_case{winograd_use::always, winograd_tile::f2x2},
                                   winograd_case{winograd_use::always, winograd_tile::f3x3},
                                   winograd_case{winograd_use::never, winograd_tile::f2x2}}) {
      const winograd_use use = wc.use;
      INFO(what << ", arch " << ohq::kernels::to_string(a) << ", batch " << batch << ", Winograd "
                << (use == winograd_use::always ? ohq::kernels::to_string(wc.tile) : "nowhere"));
      kernel_options ko;
      ko.arch = a;
      ko.winograd = use;
      ko.winograd_stride1_tile = wc.tile;
      auto kn = kernel_network::try_prepare(qn, ko);
      REQUIRE_MESSAGE(kn.has_value(), kn.error().what());
      for (std::size_t i = 0; i < qn.graph().ops.size(); ++i) {
        const std::string method = kn->method(i);
        const bool winograd = method.find("winograd") != std::string::npos;
        if (use == winograd_use::never) CHECK_FALSE(winograd);
        if (winograd && qn.graph().ops[i].geometry.stride == 1)
          CHECK(method.find(ohq::kernels::to_string(wc.tile)) != std::string::npos);
        if (winograd || method.find("implicit im2col") != std::string::npos) ++methods_run()[method];
      }
      check_same_codes(qn, *kn, want, x, batch);
    }
  // split over two threads (every op, however small): the same codes
  INFO(what << ", 2 threads, batch " << batch);
  ohq::thread_pool pool(2);
  kernel_options ko;
  ko.threads = &pool;
  ko.min_task_macs = 1;
  auto kn = kernel_network::try_prepare(qn, ko);
  REQUIRE_MESSAGE(kn.has_value(), kn.error().what());
  check_same_codes(qn, *kn, want, x, batch);
}

template <class Net>
void check_random_networks(unsigned cases, std::uint64_t seed) {
  ohq::test::random_case<Net> rc(true);
  std::mt19937 gen(static_cast<std::mt19937::result_type>(seed));
  for (unsigned t = 0; t < cases; ++t) {
    quantization_options o;
    std::uniform_int_distribution<unsigned> bits(1, 8), method(0, 3), coin(0, 1);
    for (std::size_t i = 0; i < Net::quantizable_layers; ++i) o.weight_bits.push_back(bits(gen));
    o.calibration = q::calibration_method(method(gen));
    o.rounding = coin(gen) ? weight_rounding::gptq : weight_rounding::nearest;
    o.bias_correction = coin(gen) == 1;
    std::string bits_text;
    for (unsigned b : o.weight_bits) bits_text += std::to_string(b) + " ";
    auto qn = quantized_network::try_build(rc.graph, rc.record, o);
    REQUIRE_MESSAGE(qn.has_value(), qn.error().what());
    const std::size_t batch = 1 + t % 3;
    const auto x = ohq::test::random_inputs<Net>(batch);
    check_same_codes(*qn, x, batch,
                     "seed " + std::to_string(seed) + " case " + std::to_string(t) + ": bits " + bits_text);
  }
}

const std::filesystem::path models_dir = OHQ_MODELS_DIR;
const std::filesystem::path data_dir = OHQ_FMNIST_DIR;

/// A shipped model on `count` test images, calibrated on 64 training images, at W8A8 / W4A8 / W2A8.
template <class Net>
void check_shipped_model(const std::string& name, std::size_t count) {
  const auto onnx = models_dir / (name + ".onnx");
  const auto images_path = data_dir / "t10k-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(onnx) || !std::filesystem::exists(images_path)) {
    MESSAGE("SKIPPED " << name << ": " << onnx.string() << " or the Fashion-MNIST test set is missing");
    return;
  }
  auto loaded = ohq::try_load_onnx<Net>(onnx);
  REQUIRE_MESSAGE(loaded.has_value(), loaded.error().what());
  Net& net = *loaded;
  ohq::io::idx_options options;
  options.limit = count;
  auto images = ohq::io::try_load_idx_images(images_path, options);
  REQUIRE_MESSAGE(images.has_value(), images.error().what());
  std::vector<float> x(images->pixels.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (float(images->pixels[i]) / 255.0f - 0.2860f) / 0.3530f;
  const quant_graph g = lower(net);
  const auto record = try_calibrate(g, std::span<const float>(x.data(), 64 * 784), 64).value();
  for (unsigned bits : {8u, 4u, 2u}) {
    quantization_options o;
    o.bits = bits;
    auto qn = quantized_network::try_build(g, record, o).value();
    check_same_codes(qn, x, count, name + " W" + std::to_string(bits) + "A8");
  }
}

}  // namespace

TEST_CASE("kernel engine: every value equals the integer reference engine (random networks, bits 1..8)") {
#ifdef OHQ_SANITIZED
  constexpr unsigned cases = 3;
#else
  constexpr unsigned cases = 16;
#endif
  const std::uint64_t seed = 4242;
  MESSAGE("seed " << seed);
  SUBCASE("every layer kind") {
    const auto before = methods_run();
    check_random_networks<ohq::test::net_a>(cases, seed);
    // net_a's 3x3 stride-1 convolutions ran by both Winograd tiles too
    for (const char* method : {"conv 3x3 (winograd F(2x2,3x3))", "conv 3x3 (winograd F(3x3,3x3))"}) {
      CAPTURE(method);
      CHECK(methods_run()[method] > (before.count(method) ? before.at(method) : 0));
    }
  }
  SUBCASE("flat layers") { check_random_networks<ohq::test::net_b>(cases, seed + 1); }
}

TEST_CASE("kernel engine: the shipped Fashion-MNIST models, every value equal") {
#ifdef OHQ_SANITIZED
  constexpr std::size_t images = 64;
#else
  constexpr std::size_t images = 300;
#endif
  const std::size_t stride2_before = methods_run()["conv 3x3 (winograd F(2x2,3x3) stride 2)"];
  check_shipped_model<ohq::examples::fmnist_resnet>("fmnist_resnet", images);
  // its downsampling blocks' 3x3 stride-2 convolutions ran by Winograd (when the model was there)
  if (std::filesystem::exists(models_dir / "fmnist_resnet.onnx"))
    CHECK(methods_run()["conv 3x3 (winograd F(2x2,3x3) stride 2)"] > stride2_before);
  // on AVX-512 VNNI, its 3x3 convolutions without Winograd ran by implicit im2col (kernels::gemm_windows)
  const auto& archs = runnable_archs();
  if (std::filesystem::exists(models_dir / "fmnist_resnet.onnx") &&
      std::find(archs.begin(), archs.end(), arch::avx512_vnni) != archs.end())
    CHECK(methods_run()["conv (implicit im2col + gemm)"] > 0);
  check_shipped_model<ohq::examples::fmnist_mobilenet>("fmnist_mobilenet", images);
  check_shipped_model<ohq::examples::fmnist_mlp>("fmnist_mlp", images);
}

TEST_CASE("kernel engine: bad requests are errors naming what is wrong") {
  ohq::test::random_case<ohq::test::net_a> rc(false);
  quantization_options o;
  auto qn = quantized_network::try_build(rc.graph, rc.record, o).value();
  SUBCASE("an op the engine cannot run names the layer") {
    quant_graph broken = rc.graph;
    quant_op* conv = nullptr;
    for (auto& op : broken.ops)
      if (op.kind == quant_op_kind::conv2d && op.geometry.kernel == 3) conv = &op;
    REQUIRE(conv != nullptr);
    const std::string path = conv->path;
    conv->geometry.in_height += 1;  // no longer matches its input value
    auto bad_q = quantized_network::try_build(broken, rc.record, o);
    REQUIRE(bad_q.has_value());
    auto kn = kernel_network::try_prepare(*bad_q);
    REQUIRE_FALSE(kn.has_value());
    CHECK(kn.error().message().find("layer " + path) != std::string::npos);
  }
  SUBCASE("an arch this CPU or build lacks") {
    for (arch a : ohq::kernels::all_archs) {
      if (ohq::kernels::check_arch(a).ok()) continue;
      kernel_options ko;
      ko.arch = a;
      auto kn = kernel_network::try_prepare(qn, ko);
      REQUIRE_FALSE(kn.has_value());
      CHECK(kn.error().code() == ohq::errc::unsupported_cpu);
    }
  }
  SUBCASE("the default arch is the active one (try_set_arch)") {
    for (arch a : runnable_archs()) {
      REQUIRE(ohq::kernels::try_set_arch(a).ok());
      auto kn = kernel_network::try_prepare(qn);
      REQUIRE_MESSAGE(kn.has_value(), kn.error().what());
      CHECK(kn->path() == a);
    }
    ohq::kernels::reset_arch();
  }
}

// ---- float ops (kernel_options::float_ops) ------------------------------------------------------

namespace {

/// A dense layer reading a spatial value (the float weights expect it CHW-flattened).
using net_c = ohq::network<ohq::shape<3, 6, 5>, conv2d<4, 3, 1, 1>, relu, flatten, dense<6>>;

/// Op `i` of `g` recomputed from the engine's codes of its input: dequantize (CHW), the fp32 kernel
/// with the graph's float weights, the fused activation, quantize with the output's parameters.
std::vector<std::uint8_t> float_op_by_hand(const quantized_network& qn, kernel_network& kn, std::size_t i,
                                           std::size_t batch) {
  const quant_graph& g = qn.graph();
  const quant_op& op = g.ops[i];
  const quant_value& iv = g.values[op.inputs[0]];
  const quant_value& ov = g.values[op.output];
  const auto in = kn.codes(op.inputs[0]);
  std::vector<float> x(in.size()), y(batch * ov.size());
  for (std::size_t k = 0; k < in.size(); ++k) x[k] = q::dequantize(in[k], qn.params(op.inputs[0]));
  if (op.kind == quant_op_kind::dense) {
    ohq::kernels::fp32::dense(x.data(), batch, iv.size(), ov.size(), op.weight.data(), op.bias.data(), y.data());
  } else {
    std::vector<float> scratch(op.geometry.scratch_floats());
    for (std::size_t n = 0; n < batch; ++n)
      ohq::kernels::fp32::conv2d(op.geometry, x.data() + n * iv.size(), op.weight.data(), op.bias.data(),
                                 y.data() + n * ov.size(), scratch.data());
  }
  std::vector<std::uint8_t> out(y.size());
  for (std::size_t k = 0; k < y.size(); ++k) {
    float v = y[k];
    if (op.fused == q::fused_activation::relu) v = std::max(v, 0.0f);
    if (op.fused == q::fused_activation::relu6) v = std::min(std::max(v, 0.0f), 6.0f);
    out[k] = static_cast<std::uint8_t>(q::quantize(v, qn.params(op.output)));
  }
  return out;
}

/// For every conv/dense op i of a random Net alone in float, on every runnable arch: the values
/// computed before it equal the reference's, its output equals float_op_by_hand. Returns how many
/// ops were checked, and which kinds (depthwise, grouped, dense reading a spatial value) among them.
template <class Net>
void check_single_float_ops(std::uint64_t seed, std::size_t batch) {
  INFO("seed " << seed);
  ohq::test::rng().seed(static_cast<std::mt19937::result_type>(seed));
  ohq::test::random_case<Net> rc(true);
  quantization_options o;
  o.bits = 8;
  auto qn = quantized_network::try_build(rc.graph, rc.record, o).value();
  const quant_graph& g = qn.graph();
  const auto x = ohq::test::random_inputs<Net>(batch);
  qn.run_integer(x.data(), batch);
  std::vector<std::vector<std::uint8_t>> want(g.values.size());
  for (std::size_t v = 0; v < g.values.size(); ++v)
    if (!(g.final_softmax && v == g.ops.back().output)) want[v].assign(qn.codes(v).begin(), qn.codes(v).end());
  std::size_t checked = 0;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const quant_op& op = g.ops[i];
    if (!op.has_weights()) continue;
    ++checked;
    for (arch a : runnable_archs()) {
      INFO("op " << i << " (layer " << op.path << ", " << op.label << ") in float, arch "
                 << ohq::kernels::to_string(a) << ", batch " << batch);
      kernel_options ko;
      ko.arch = a;
      ko.float_ops = {i};
      auto kn = kernel_network::try_prepare(qn, ko);
      REQUIRE_MESSAGE(kn.has_value(), kn.error().what());
      CHECK(std::string(kn->method(i)).find("(fp32)") != std::string::npos);
      kn->run(x.data(), batch);
      // values computed before op i (and the input): the reference's codes
      std::vector<bool> before(g.values.size(), false);
      before[0] = true;
      for (std::size_t j = 0; j < i; ++j) before[g.ops[j].output] = true;
      for (std::size_t v = 0; v < g.values.size(); ++v) {
        if (!before[v]) continue;
        const auto got = kn->codes(v);
        CHECK_MESSAGE(std::equal(got.begin(), got.end(), want[v].begin(), want[v].end()), g.value_name(v));
      }
      const auto expect = float_op_by_hand(qn, *kn, i, batch);
      const auto got = kn->codes(op.output);
      REQUIRE(got.size() == expect.size());
      std::size_t bad = 0;
      for (std::size_t k = 0; k < got.size(); ++k) bad += got[k] != expect[k];
      CHECK_MESSAGE(bad == 0, bad << " of " << got.size() << " codes differ from the float op by hand");
    }
  }
  CHECK(checked > 0);
}

}  // namespace

TEST_CASE("kernel engine: a float op computes quantize(act(fp32 op(dequantize(x)))), the ops before it unchanged") {
  // net_a: plain, grouped, depthwise and 1x1 convolutions, squeeze-excite, dense after global
  // pooling; net_b: dense layers on flat values; net_c: a dense layer reading a spatial value.
  {
    ohq::test::rng().seed(7u);
    ohq::test::random_case<ohq::test::net_a> rc(false);
    bool depthwise = false, grouped = false;
    for (const quant_op& op : rc.graph.ops)
      if (op.kind == quant_op_kind::conv2d && op.geometry.groups > 1)
        (op.geometry.groups == op.geometry.in_channels ? depthwise : grouped) = true;
    CHECK(depthwise);
    CHECK(grouped);
  }
  {
    ohq::test::rng().seed(7u);
    ohq::test::random_case<net_c> rc(false);
    bool spatial_dense = false;
    for (const quant_op& op : rc.graph.ops)
      if (op.kind == quant_op_kind::dense) spatial_dense = rc.graph.values[op.inputs[0]].height > 1;
    CHECK(spatial_dense);
  }
  check_single_float_ops<ohq::test::net_a>(9101, 2);
  check_single_float_ops<ohq::test::net_b>(9102, 3);
  check_single_float_ops<net_c>(9103, 2);
}

TEST_CASE("kernel engine: every conv/dense op in float stays close to the fp32 forward") {
  for (const std::uint64_t seed : {9201u, 9202u, 9203u}) {
    INFO("seed " << seed);
    ohq::test::rng().seed(static_cast<std::mt19937::result_type>(seed));
    ohq::test::random_case<ohq::test::net_a> rc(false);
    quantization_options o;
    o.bits = 8;
    auto qn = quantized_network::try_build(rc.graph, rc.record, o).value();
    const quant_graph& g = qn.graph();
    kernel_options ko;
    for (std::size_t i = 0; i < g.ops.size(); ++i)
      if (g.ops[i].has_weights()) ko.float_ops.push_back(i);
    auto kf = kernel_network::try_prepare(qn, ko).value();
    auto ki = kernel_network::try_prepare(qn).value();
    float_interpreter fi(g);
    constexpr std::size_t batch = 3;
    const auto x = ohq::test::random_inputs<ohq::test::net_a>(batch);
    fi.run(x.data(), batch);
    kf.run(x.data(), batch);
    ki.run(x.data(), batch);
    // the logits (before the softmax): within a few output steps of the fp32 forward
    const auto ref = fi.value(g.output);
    const auto codes = kf.codes(g.output);
    const q::quant_params& p = qn.params(g.output);
    float worst = 0, range = 0;
    for (std::size_t k = 0; k < ref.size(); ++k) {
      worst = std::max(worst, std::abs(q::dequantize(codes[k], p) - ref[k]));
      range = std::max(range, std::abs(ref[k]));
    }
    MESSAGE("seed " << seed << ": all-float logits within " << worst << " (" << worst / p.scale
                    << " steps) of fp32, logits up to " << range);
    CHECK(worst <= 8 * p.scale);
    // ... and not the all-integer run: the option is not ignored
    std::size_t differ = 0;
    for (std::size_t v = 1; v < g.values.size(); ++v) {
      if (g.final_softmax && v == g.ops.back().output) continue;
      const auto a = kf.codes(v), b = ki.codes(v);
      for (std::size_t k = 0; k < a.size(); ++k) differ += a[k] != b[k];
    }
    CHECK(differ > 0);
  }
}

TEST_CASE("kernel engine: float_ops naming an op that cannot run in float is an error") {
  ohq::test::random_case<ohq::test::net_a> rc(false);
  quantization_options o;
  auto qn = quantized_network::try_build(rc.graph, rc.record, o).value();
  const quant_graph& g = qn.graph();
  SUBCASE("not a convolution or dense layer") {
    std::size_t pool = g.ops.size();
    for (std::size_t i = 0; i < g.ops.size() && pool == g.ops.size(); ++i)
      if (g.ops[i].kind == quant_op_kind::max_pool) pool = i;
    REQUIRE(pool < g.ops.size());
    kernel_options ko;
    ko.float_ops = {pool};
    auto kn = kernel_network::try_prepare(qn, ko);
    REQUIRE_FALSE(kn.has_value());
    CHECK(kn.error().code() == ohq::errc::invalid_argument);
    INFO(kn.error().message());
    CHECK(kn.error().message().find("op " + std::to_string(pool) + " (layer " + g.ops[pool].path) !=
          std::string::npos);
    CHECK(kn.error().message().find("max pool") != std::string::npos);
  }
  SUBCASE("past the end") {
    kernel_options ko;
    ko.float_ops = {0, g.ops.size()};
    auto kn = kernel_network::try_prepare(qn, ko);
    REQUIRE_FALSE(kn.has_value());
    CHECK(kn.error().code() == ohq::errc::invalid_argument);
    INFO(kn.error().message());
    CHECK(kn.error().message().find("op " + std::to_string(g.ops.size()) + " is past the end") != std::string::npos);
  }
}

TEST_CASE("kernel engine: a stride-2 Winograd tile forced onto stride-1 convolutions is an error") {
  ohq::test::random_case<ohq::test::net_a> rc(false);
  auto qn = quantized_network::try_build(rc.graph, rc.record, quantization_options{}).value();
  kernel_options ko;
  ko.winograd_stride1_tile = ohq::kernels::winograd_tile::f2x2_stride2;
  auto kn = kernel_network::try_prepare(qn, ko);
  REQUIRE_FALSE(kn.has_value());
  CHECK(kn.error().code() == ohq::errc::invalid_argument);
  INFO(kn.error().message());
  CHECK(kn.error().message().find("winograd_stride1_tile") != std::string::npos);
}

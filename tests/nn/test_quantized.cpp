// SPDX-License-Identifier: MIT
// Whole-network quantization on random networks of every layer kind and random per-layer
// bit-widths: the lowered graph's fp32 pass equals the network's; every value the integer
// engine produces is reproduced exactly by an independent implementation of the formulas of
// docs/quantization.md (direct loops, 128-bit products, floor division written out); the
// fake-quant twin agrees in argmax; degenerate layers and calibration sets stay finite; bad
// requests get errors that name the problem.
#include <ohq/nn.hpp>

#include "../support/quantized_networks.hpp"
#include "../support/random.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace ohq::nn;
using ohq::shape;
using ohq::test::net_a;
using ohq::test::net_b;
using ohq::test::random_case;
using ohq::test::random_inputs;
namespace q = ohq::quant;

namespace {

// ---------------------------------------------------------------------------------------------
// The independent implementation: docs/quantization.md, written out again.
// ---------------------------------------------------------------------------------------------

__extension__ typedef __int128 i128;  // exact products of 64-bit accumulators and 31-bit multipliers

/// floor(n / 2^s) by division, not by shifting.
i128 floor_div_pow2(i128 n, int s) {
  const i128 d = i128(1) << s;
  return n >= 0 ? n / d : -((-n + d - 1) / d);
}
/// clamp(zp + round_half_up(acc * m / 2^shift), lo, hi)
std::int32_t requant(i128 acc, std::int32_t m, std::int32_t shift, std::int32_t zp, std::int32_t lo, std::int32_t hi) {
  const i128 v = floor_div_pow2(acc * m + (i128(1) << (shift - 1)), shift) + zp;
  return std::int32_t(std::clamp<i128>(v, lo, hi));
}
/// clamp(zp + floor(x / s + 1/2)) with x / s in double: quantize().
std::int32_t quantize_code(double x, const q::quant_params& p) {
  const double v = std::floor(x / double(p.scale) + 0.5) + p.zero_point;
  return std::int32_t(std::clamp(v, double(p.qmin), double(p.qmax)));
}
/// The multiplier m * 2^-shift is within 2^-30 (relative) of the real one.
void check_multiplier(std::int32_t m, std::int32_t shift, double real, const std::string& where) {
  INFO(where);
  REQUIRE(shift >= 1);
  REQUIRE(shift <= 62);
  if (real < 0x1p-32) return;  // such multipliers make every product round to 0 (documented)
  CHECK(std::abs(std::ldexp(double(m), -shift) - real) <= real * 0x1p-30);
}
/// Clamp bounds of a fused activation: [zp, 255] for ReLU, hi = quantize(6) for ReLU6.
std::pair<std::int32_t, std::int32_t> fused_bounds(const q::quant_params& out, q::fused_activation act) {
  std::int32_t lo = 0, hi = 255;
  if (act != q::fused_activation::none) lo = std::max(lo, out.zero_point);
  if (act == q::fused_activation::relu6) hi = std::min(hi, quantize_code(6.0, out));
  return {lo, hi};
}
double elementwise(q::elementwise_op f, double x) {
  switch (f) {
    case q::elementwise_op::relu: return x > 0 ? x : 0;
    case q::elementwise_op::relu6: return std::min(std::max(x, 0.0), 6.0);
    case q::elementwise_op::hardsigmoid: return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    case q::elementwise_op::hardswish: return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    case q::elementwise_op::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case q::elementwise_op::tanh: return std::tanh(x);
    case q::elementwise_op::identity: return x;
  }
  return x;
}

/// Recomputes every value of the last run_integer(input, batch) from its op's input codes and
/// compares all codes exactly. `nearest`: the weights were rounded to nearest (checked too).
void check_against_formulas(const quantized_network& qn, const float* input, std::size_t batch, bool nearest) {
  const quant_graph& g = qn.graph();
  {  // the input
    const auto& p = qn.params(0);
    const auto codes = qn.codes(0);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < codes.size(); ++i) bad += codes[i] != quantize_code(input[i], p);
    CHECK_MESSAGE(bad == 0, "input quantization differs on " << bad << " elements");
  }
  for (std::size_t oi = 0; oi < g.ops.size(); ++oi) {
    const quant_op& op = g.ops[oi];
    if (op.kind == quant_op_kind::softmax) continue;
    const quantized_op& qo = qn.op(oi);
    const quant_value& iv = g.values[op.inputs[0]];
    const quant_value& ov = g.values[op.output];
    const auto& pin = qn.params(op.inputs[0]);
    const auto& pout = qn.params(op.output);
    const auto x = qn.codes(op.inputs[0]);
    const auto y = qn.codes(op.output);
    const std::string where = "op " + std::to_string(oi) + " at layer " + op.path + " (" + op.label + ")";
    INFO(where);
    std::vector<std::int32_t> expect(batch * ov.size());
    const std::size_t ih = iv.height, iw = iv.width, oh = ov.height, ow = ov.width;
    switch (op.kind) {
      case quant_op_kind::conv2d:
      case quant_op_kind::dense: {
        const auto& geo = op.geometry;
        const std::size_t in_h = geo.in_height, in_w = geo.in_width;  // a dense layer sees its input flat
        const std::size_t k = geo.kernel, cin_g = geo.in_channels / geo.groups, cout_g = geo.out_channels / geo.groups;
        const auto& w = qo.weights;
        const std::size_t cols = cin_g * k * k;
        REQUIRE(w.rows == geo.out_channels);
        REQUIRE(w.cols == cols);
        const auto f = q::weight_format_of(qn.weight_bits()[op.layer_index]);
        const auto [lo, hi] = fused_bounds(pout, op.fused);
        CHECK(qo.requant.lo == lo);
        CHECK(qo.requant.hi == hi);
        CHECK(qo.requant.zero_point == pout.zero_point);
        for (std::size_t o = 0; o < geo.out_channels; ++o) {
          const double s_w = w.scales[o];
          check_multiplier(qo.requant.multiplier[o], qo.requant.shift[o],
                           double(pin.scale) * s_w / double(pout.scale), where + " channel " + std::to_string(o));
          for (std::size_t c = 0; c < cols; ++c) {
            const std::int32_t code = w.codes[o * cols + c];
            REQUIRE(code >= f.code_min);
            REQUIRE(code <= f.code_max);
            if (f.bits == 1) REQUIRE(code != 0);
            if (nearest && f.bits > 1) {
              const double v = std::floor(double(op.weight[o * cols + c]) / s_w + 0.5);
              REQUIRE(code == std::int32_t(std::clamp(v, double(f.code_min), double(f.code_max))));
            }
          }
          if (nearest) {  // no bias correction: the bias is the layer's, rounded at s_in * s_w
            const double b = std::floor(double(op.bias[o]) / (double(pin.scale) * s_w) + 0.5);
            CHECK(qo.bias[o] == std::int32_t(b));
          }
        }
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t o = 0; o < geo.out_channels; ++o) {
            const std::size_t grp = o / cout_g;
            for (std::size_t oy = 0; oy < oh; ++oy)
              for (std::size_t ox = 0; ox < ow; ++ox) {
                i128 acc = qo.bias[o];
                for (std::size_t c = 0; c < cin_g; ++c)
                  for (std::size_t ky = 0; ky < k; ++ky)
                    for (std::size_t kx = 0; kx < k; ++kx) {
                      const long iy = long(oy * geo.stride + ky) - long(geo.padding);
                      const long ix = long(ox * geo.stride + kx) - long(geo.padding);
                      if (iy < 0 || ix < 0 || iy >= long(in_h) || ix >= long(in_w)) continue;  // real 0
                      const std::int32_t xv =
                          x[n * iv.size() + ((grp * cin_g + c) * in_h + std::size_t(iy)) * in_w + std::size_t(ix)];
                      acc += i128(xv - pin.zero_point) * w.codes[o * cols + (c * k + ky) * k + kx];
                    }
                REQUIRE(acc >= INT32_MIN);
                REQUIRE(acc <= INT32_MAX);
                expect[n * ov.size() + (o * oh + oy) * ow + ox] =
                    requant(acc, qo.requant.multiplier[o], qo.requant.shift[o], pout.zero_point, lo, hi);
              }
          }
        break;
      }
      case quant_op_kind::max_pool: {
        CHECK(pout == pin);
        const auto& pg = op.pool;
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t c = 0; c < ov.channels; ++c)
            for (std::size_t oy = 0; oy < oh; ++oy)
              for (std::size_t ox = 0; ox < ow; ++ox) {
                std::int32_t best = -1;
                for (std::size_t ky = 0; ky < pg.kernel; ++ky)
                  for (std::size_t kx = 0; kx < pg.kernel; ++kx) {
                    const long iy = long(oy * pg.stride + ky) - long(pg.padding);
                    const long ix = long(ox * pg.stride + kx) - long(pg.padding);
                    if (iy < 0 || ix < 0 || iy >= long(ih) || ix >= long(iw)) continue;
                    best = std::max<std::int32_t>(best, x[n * iv.size() + (c * ih + std::size_t(iy)) * iw + std::size_t(ix)]);
                  }
                expect[n * ov.size() + (c * oh + oy) * ow + ox] = best;
              }
        break;
      }
      case quant_op_kind::avg_pool:
      case quant_op_kind::global_avg_pool: {
        const bool global = op.kind == quant_op_kind::global_avg_pool;
        const std::size_t kernel = global ? ih : op.pool.kernel, stride = global ? 1 : op.pool.stride;
        const std::size_t pad = global ? 0 : op.pool.padding;
        const bool include_pad = global || op.count_include_pad;
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t c = 0; c < ov.channels; ++c)
            for (std::size_t oy = 0; oy < oh; ++oy)
              for (std::size_t ox = 0; ox < ow; ++ox) {
                i128 sum = 0;
                std::size_t inside = 0;
                for (std::size_t ky = 0; ky < kernel; ++ky)
                  for (std::size_t kx = 0; kx < (global ? iw : kernel); ++kx) {
                    const long iy = long(oy * stride + ky) - long(pad);
                    const long ix = long(ox * stride + kx) - long(pad);
                    if (iy < 0 || ix < 0 || iy >= long(ih) || ix >= long(iw)) continue;
                    sum += x[n * iv.size() + (c * ih + std::size_t(iy)) * iw + std::size_t(ix)] - pin.zero_point;
                    ++inside;
                  }
                const std::size_t count = global ? ih * iw : (include_pad ? kernel * kernel : inside);
                const auto m = qo.pool.for_count(count);
                check_multiplier(m.multiplier, m.shift, double(pin.scale) / (double(pout.scale) * double(count)), where);
                expect[n * ov.size() + (c * oh + oy) * ow + ox] =
                    requant(sum, m.multiplier, m.shift, pout.zero_point, 0, 255);
              }
        break;
      }
      case quant_op_kind::add: {
        const auto& pb = qn.params(op.inputs[1]);
        const auto b = qn.codes(op.inputs[1]);
        const auto& ap = qo.add;
        const double ma = double(pin.scale) / double(pout.scale), mb = double(pb.scale) / double(pout.scale);
        CHECK(std::abs(std::ldexp(double(ap.multiplier_a), -ap.shift) - ma) <= std::max(ma, mb) * 0x1p-30);
        CHECK(std::abs(std::ldexp(double(ap.multiplier_b), -ap.shift) - mb) <= std::max(ma, mb) * 0x1p-30);
        const auto [lo, hi] = fused_bounds(pout, op.fused);
        for (std::size_t i = 0; i < expect.size(); ++i) {
          const i128 sum = i128(x[i] - pin.zero_point) * ap.multiplier_a + i128(b[i] - pb.zero_point) * ap.multiplier_b;
          expect[i] = requant(sum, 1, ap.shift, pout.zero_point, lo, hi);
        }
        break;
      }
      case quant_op_kind::scale_channels: {
        const auto& pgate = qn.params(op.inputs[1]);
        const auto gate = qn.codes(op.inputs[1]);
        const auto& m = qo.mul.multiplier;
        check_multiplier(m.multiplier, m.shift, double(pin.scale) * double(pgate.scale) / double(pout.scale), where);
        const std::size_t plane = iv.height * iv.width;
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t c = 0; c < iv.channels; ++c)
            for (std::size_t i = 0; i < plane; ++i) {
              const std::size_t at = n * iv.size() + c * plane + i;
              const i128 prod = i128(x[at] - pin.zero_point) * (gate[n * iv.channels + c] - pgate.zero_point);
              expect[at] = requant(prod, m.multiplier, m.shift, pout.zero_point, 0, 255);
            }
        break;
      }
      case quant_op_kind::elementwise:
        for (std::size_t i = 0; i < expect.size(); ++i)
          expect[i] = quantize_code(elementwise(op.function, double(pin.scale) * double(x[i] - pin.zero_point)), pout);
        break;
      case quant_op_kind::softmax: break;
    }
    std::size_t bad = 0;
    for (std::size_t i = 0; i < expect.size(); ++i)
      if (y[i] != expect[i] && bad++ < 3) FAIL_CHECK("element " << i << ": engine " << int(y[i]) << ", formulas " << expect[i]);
    CHECK_MESSAGE(bad == 0, where << ": " << bad << " of " << expect.size() << " codes differ");
  }
}

template <class Net>
void check_random_assignments(unsigned cases) {
  random_case<Net> rc(true);
  std::mt19937 gen(1234);
  for (unsigned t = 0; t < cases; ++t) {
    quantization_options o;
    std::uniform_int_distribution<unsigned> bits(1, 8), method(0, 3), coin(0, 1);
    for (std::size_t i = 0; i < Net::quantizable_layers; ++i) o.weight_bits.push_back(bits(gen));
    o.calibration = q::calibration_method(method(gen));
    const bool nearest = coin(gen) == 0;
    o.rounding = nearest ? weight_rounding::nearest : weight_rounding::gptq;
    o.bias_correction = !nearest && coin(gen);
    o.clipping = coin(gen) ? q::weight_clipping::mse : q::weight_clipping::minmax;
    std::string bits_text;
    for (unsigned b : o.weight_bits) bits_text += std::to_string(b) + " ";
    INFO("case " << t << ": bits " << bits_text << "calibration " << to_string(o.calibration) << ", rounding "
                 << to_string(o.rounding) << (o.bias_correction ? " + bias correction" : ""));
    auto qn = quantized_network::try_build(rc.graph, rc.record, o);
    REQUIRE_MESSAGE(qn.has_value(), qn.error().what());
    const std::size_t batch = 3;
    const auto x = random_inputs<Net>(batch);
    const auto y = qn->run_integer(x.data(), batch);
    for (float v : y) REQUIRE(std::isfinite(v));
    check_against_formulas(*qn, x.data(), batch, nearest);
  }
}

template <class Net>
double fake_quant_agreement(unsigned bits, std::size_t count) {
  random_case<Net> rc(false, 64);
  quantization_options o;
  o.bits = bits;
  auto qn = quantized_network::try_build(rc.graph, rc.record, o).value();
  const auto x = random_inputs<Net>(count);
  constexpr std::size_t classes = Net::output_shape_t::size;
  const auto integer = qn.run_integer(x.data(), count);
  const std::vector<float> yi(integer.begin(), integer.end());
  const auto fake = qn.run_fake_quant(x.data(), count);
  const std::vector<float> yf(fake.begin(), fake.end());
  std::size_t agree = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto a = std::max_element(yi.begin() + std::ptrdiff_t(i * classes), yi.begin() + std::ptrdiff_t((i + 1) * classes));
    const auto b = std::max_element(yf.begin() + std::ptrdiff_t(i * classes), yf.begin() + std::ptrdiff_t((i + 1) * classes));
    agree += (a - yi.begin()) == (b - yf.begin());
  }
  return double(agree) / double(count);
}

}  // namespace

TEST_CASE("lowering: the graph's fp32 pass is the network's forward pass") {
  auto check = [](auto& net, std::size_t batch) {
    using net_t = std::decay_t<decltype(net)>;
    ohq::test::randomize(net);
    net.fold_batch_norms();
    auto g = try_lower(net);
    REQUIRE_MESSAGE(g.has_value(), g.error().what());
    CHECK(g->quantizable_layers == net_t::quantizable_layers);
    const auto x = random_inputs<net_t>(batch);
    float_interpreter fi(*g);
    const auto a = fi.run(x.data(), batch);
    const float* b = net.forward(x.data(), batch);
    REQUIRE(a.size() == batch * net_t::output_shape_t::size);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-5));
  };
  net_a a;
  check(a, 4);
  net_b b;
  check(b, 5);
}

TEST_CASE("lowering: fusion, shared parameters and the ops of composites") {
  net_a net;
  net.fold_batch_norms();
  const quant_graph g = lower(net);
  std::size_t fused = 0, tables = 0, adds = 0, scales = 0, shared = 0;
  for (const auto& op : g.ops) {
    fused += op.fused != q::fused_activation::none;
    tables += op.kind == quant_op_kind::elementwise;
    adds += op.kind == quant_op_kind::add;
    scales += op.kind == quant_op_kind::scale_channels;
  }
  for (const auto& v : g.values) shared += v.shares_params_with != quant_value::npos;
  CHECK(fused == 4);   // stem relu, relu6 in the body, relu after the add, SE's inner relu
  CHECK(tables == 3);  // hardswish, hardsigmoid, sigmoid
  CHECK(adds == 2);
  CHECK(scales == 1);
  CHECK(shared == 1);  // max pooling keeps its input's parameters
  CHECK(g.final_softmax);
  net_b flat;
  const quant_graph gb = lower(flat);
  CHECK(gb.ops.front().kind == quant_op_kind::elementwise);  // relu after flatten: nothing to fuse into
}

TEST_CASE("integer engine: every value equals the documented formulas (random bits, methods, rounding)") {
#ifdef OHQ_SANITIZED
  constexpr unsigned cases = 4;
#else
  constexpr unsigned cases = 24;
#endif
  SUBCASE("every layer kind") { check_random_assignments<net_a>(cases); }
  SUBCASE("flat layers") { check_random_assignments<net_b>(cases); }
}

TEST_CASE("fake quantization agrees with the integer engine in argmax") {
  // Random networks are harsher than trained ones (no margin between classes); the shipped models
  // are compared on the test set (docs/quantization.md, quant-table --engine both).
  for (unsigned bits : {8u, 4u, 2u}) {
    INFO("W" << bits << "A8");
    CHECK(fake_quant_agreement<net_a>(bits, 300) >= 0.98);
    CHECK(fake_quant_agreement<net_b>(bits, 300) >= 0.98);
  }
}

TEST_CASE("degenerate layers and calibration sets stay finite and exact") {
  SUBCASE("all-zero weights and bias") {
    net_b net;
    net.for_each_layer([](auto& layer) {
      layer.for_each_parameter([](std::string_view, std::span<float> v) { std::fill(v.begin(), v.end(), 0.0f); });
    });
    const quant_graph g = lower(net);
    const auto x = random_inputs<net_b>(8);
    const auto rec = try_calibrate(g, x, 8).value();
    for (unsigned bits : {1u, 2u, 8u}) {
      quantization_options o;
      o.bits = bits;
      auto qn = quantized_network::try_build(g, rec, o);
      REQUIRE_MESSAGE(qn.has_value(), qn.error().what());
      const auto y = qn->run_integer(x.data(), 8);
      for (float v : y) CHECK(std::isfinite(v));
      if (bits > 1) for (float v : y) CHECK(v == 0.0f);  // zero is exact at 2+ bits
      check_against_formulas(*qn, x.data(), 8, true);
    }
  }
  SUBCASE("a constant calibration set") {
    random_case<net_a> rc(false, 1);
    std::vector<float> x(5 * net_a::input_shape_t::size, 0.25f);
    const auto rec = try_calibrate(rc.graph, x, 5).value();
    quantization_options o;
    o.calibration = q::calibration_method::entropy;
    auto qn = quantized_network::try_build(rc.graph, rec, o);
    REQUIRE_MESSAGE(qn.has_value(), qn.error().what());
    const auto y = qn->run_integer(x.data(), 5);
    for (float v : y) CHECK(std::isfinite(v));
    check_against_formulas(*qn, x.data(), 5, true);
  }
  SUBCASE("NaN activations are refused by calibration, naming the value") {
    random_case<net_b> rc(false);
    auto x = random_inputs<net_b>(4);
    x[7] = std::nanf("");
    auto rec = try_calibrate(rc.graph, x, 4);
    REQUIRE_FALSE(rec.has_value());
    CHECK(rec.error().code() == ohq::errc::numerical);
    CHECK(rec.error().message().find("the network input") != std::string::npos);
  }
}

TEST_CASE("bad requests are errors that say what is wrong") {
  random_case<net_b> rc(false);
  quantization_options o;
  o.weight_bits = {8, 4};
  auto wrong_count = quantized_network::try_build(rc.graph, rc.record, o);
  REQUIRE_FALSE(wrong_count.has_value());
  CHECK(wrong_count.error().message().find("expected 3 weight bit-widths") != std::string::npos);
  o.weight_bits = {8, 9, 4};
  auto wrong_bits = quantized_network::try_build(rc.graph, rc.record, o);
  REQUIRE_FALSE(wrong_bits.has_value());
  CHECK(wrong_bits.error().message().find("outside 1..8") != std::string::npos);
  o.weight_bits.clear();
  o.rounding = weight_rounding::gptq;
  auto no_stats = quantized_network::try_build(rc.graph, rc.record, o);
  REQUIRE_FALSE(no_stats.has_value());
  CHECK(no_stats.error().message().find("layer_inputs") != std::string::npos);

  net_a unfolded;  // batch norm not folded
  auto g = try_lower(unfolded);
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error().message().find("fold_batch_norms") != std::string::npos);

  CHECK_FALSE(try_calibrate(rc.graph, std::vector<float>(10), 1).has_value());
  CHECK_FALSE(try_parse_weight_rounding("stochastic").has_value());
}

TEST_CASE("the network's output keeps its min-max range unless asked otherwise") {
  random_case<net_b> rc(false, 64);
  quantization_options o;
  o.calibration = q::calibration_method::percentile;
  o.calibration_options.percentile = 90.0;  // clips visibly everywhere it applies
  const auto minmax = q::calibrate(rc.record.values[rc.graph.output], q::calibration_method::minmax, q::activation_type::u8);
  const auto clipped = q::calibrate(rc.record.values[rc.graph.output], o.calibration, q::activation_type::u8,
                                    o.calibration_options);
  REQUIRE(clipped.scale < minmax.scale);
  CHECK(quantized_network::try_build(rc.graph, rc.record, o).value().params(rc.graph.output) == minmax);
  o.output_minmax = false;
  CHECK(quantized_network::try_build(rc.graph, rc.record, o).value().params(rc.graph.output) == clipped);
  // per-value methods override both
  o.value_calibration.assign(rc.graph.values.size(), q::calibration_method::minmax);
  o.value_calibration[rc.graph.output] = q::calibration_method::percentile;
  const auto per_value = quantized_network::try_build(rc.graph, rc.record, o).value();
  CHECK(per_value.params(rc.graph.output) == clipped);
  CHECK(per_value.params(0) == q::calibrate(rc.record.values[0], q::calibration_method::minmax, q::activation_type::u8));
  o.value_calibration.pop_back();
  auto wrong = quantized_network::try_build(rc.graph, rc.record, o);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().message().find("per-value calibration methods") != std::string::npos);
}

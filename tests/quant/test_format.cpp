// SPDX-License-Identifier: MIT
// Number formats, activation quantize/dequantize and weight quantization (scales, clipping,
// degenerate inputs, bias).
#include <ohq/quant/format.hpp>
#include <ohq/quant/weights.hpp>

#include <doctest/doctest.h>

#include "common.hpp"

#include <cmath>
#include <algorithm>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace q = ohq::quant;

TEST_CASE("weight formats: ranges, offsets and the stored field of every bit-width") {
  for (unsigned b = 1; b <= 8; ++b) {
    CAPTURE(b);
    const q::weight_format f = q::weight_format_of(b);
    if (b == 1) {
      CHECK(f.code_min == -1);
      CHECK(f.code_max == 1);
      CHECK(f.levels() == 2);
      CHECK(f.encode(-1) == 0);
      CHECK(f.encode(1) == 1);
    } else {
      CHECK(f.code_min == -(1 << (b - 1)));
      CHECK(f.code_max == (1 << (b - 1)) - 1);
      CHECK(f.levels() == (1 << b));
      for (std::int32_t w = f.code_min; w <= f.code_max; ++w) {
        const std::int32_t u = f.encode(w);
        CHECK(f.decode(b >= 5 ? w : u) == w);
        if (b <= 4) CHECK((u >= 0 && u < (1 << b)));
      }
    }
    CHECK(f.storage_bits == (b >= 5 ? 8u : b));
  }
}

TEST_CASE("weight codes saturate at the edges of every bit-width and round half up") {
  for (unsigned b = 2; b <= 8; ++b) {
    CAPTURE(b);
    const q::weight_format f = q::weight_format_of(b);
    CHECK(q::quantize_weight(1e30f, 1.0f, f) == f.code_max);
    CHECK(q::quantize_weight(-1e30f, 1.0f, f) == f.code_min);
    CHECK(q::quantize_weight(std::numeric_limits<float>::infinity(), 0.5f, f) == f.code_max);
    CHECK(q::quantize_weight(-std::numeric_limits<float>::infinity(), 0.5f, f) == f.code_min);
    CHECK(q::quantize_weight(float(f.code_max) + 0.49f, 1.0f, f) == f.code_max);
    CHECK(q::quantize_weight(float(f.code_min) - 0.6f, 1.0f, f) == f.code_min);
    CHECK(q::quantize_weight(float(f.code_min) + 0.5f, 1.0f, f) == f.code_min + 1);  // half up
    CHECK(q::quantize_weight(-0.5f, 1.0f, f) == 0);
    CHECK(q::quantize_weight(0.5f, 1.0f, f) == 1);
    CHECK(q::quantize_weight(0.0f, 1.0f, f) == 0);
  }
  const q::weight_format f1 = q::weight_format_of(1);
  CHECK(q::quantize_weight(0.0f, 1.0f, f1) == 1);
  CHECK(q::quantize_weight(-1e-30f, 1.0f, f1) == -1);
  CHECK(q::quantize_weight(-1e30f, 1.0f, f1) == -1);
}

TEST_CASE("activation quantize/dequantize: u8 asymmetric and s8 symmetric, saturating, NaN to zero point") {
  const q::quant_params u = q::u8_params(0.1f, 10);
  CHECK(q::quantize(0.0f, u) == 10);
  CHECK(q::quantize(1.0f, u) == 20);
  CHECK(q::quantize(0.05f, u) == 11);   // 0.05f / 0.1f is exactly 0.5: a tie, rounded up
  CHECK(q::quantize(-0.05f, u) == 10);  // -0.5 -> 0 (half up, not away from zero)
  CHECK(q::quantize(-0.15f, u) == 8);   // -0.15f / 0.1f = -1.50000004 -> -2
  CHECK(q::quantize(-0.75f, q::u8_params(0.5f, 10)) == 9);  // exactly -1.5 -> -1
  CHECK(q::quantize(-1e9f, u) == 0);
  CHECK(q::quantize(1e9f, u) == 255);
  CHECK(q::quantize(std::numeric_limits<float>::infinity(), u) == 255);
  CHECK(q::quantize(-std::numeric_limits<float>::infinity(), u) == 0);
  CHECK(q::quantize(std::numeric_limits<float>::quiet_NaN(), u) == 10);
  CHECK(q::dequantize(20, u) == doctest::Approx(1.0f));
  CHECK(q::dequantize(10, u) == 0.0f);

  const q::quant_params s = q::s8_params(0.5f);
  CHECK(s.type() == q::activation_type::s8);
  CHECK(q::quantize(-1e9f, s) == -128);
  CHECK(q::quantize(1e9f, s) == 127);
  CHECK(q::quantize(-0.25f, s) == 0);  // -0.5 -> 0 (half up)
  CHECK(q::quantize(0.25f, s) == 1);
  CHECK(q::dequantize(-128, s) == -64.0f);

  // every code round-trips through dequantize -> quantize
  for (const auto& p : {u, s, q::u8_params(0.0123f, 0), q::u8_params(3.7f, 255)})
    for (std::int32_t c = p.qmin; c <= p.qmax; ++c) CHECK(q::quantize(q::dequantize(c, p), p) == c);
}

TEST_CASE("round_clamp is clamp(floor(v + 1/2)) on ties, near-ties, both signs, out of range and NaN") {
  // round_clamp floors by truncation and a fix-up instead of std::floor: check it against
  // std::floor on the values where the two could differ.
  auto expected = [](double v, std::int32_t lo, std::int32_t hi) {
    return static_cast<std::int32_t>(std::clamp(std::floor(std::clamp(v, lo - 1.0, hi + 1.0) + 0.5), double(lo), double(hi)));
  };
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> wide(-400.0, 400.0);
  std::vector<double> values = {0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 254.5, 255.5, -127.5, -128.5, 1e300, -1e300,
                                std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                                std::nextafter(0.5, 0.0), std::nextafter(-0.5, 0.0), std::nextafter(-0.5, -1.0),
                                std::nextafter(-1.5, 0.0), std::nextafter(-1.5, -2.0)};
  for (int i = -600; i <= 600; ++i) values.push_back(i / 2.0);  // every tie in and around the ranges
  for (int i = 0; i < 20000; ++i) values.push_back(wide(gen));
  for (const double v : values)
    for (const std::pair<std::int32_t, std::int32_t>& range : {std::pair{0, 255}, std::pair{-128, 127}, std::pair{-7, 7}}) {
      const std::int32_t lo = range.first, hi = range.second;  // not a structured binding: CAPTURE is a lambda (clang 14)
      CAPTURE(v);
      CAPTURE(lo);
      CHECK(q::detail::round_clamp(v, lo, hi, 99) == expected(v, lo, hi));
    }
  CHECK(q::detail::round_clamp(std::numeric_limits<double>::quiet_NaN(), 0, 255, 99) == 99);
}

TEST_CASE("params_from_range contains 0 exactly and never has a zero scale") {
  auto p = q::params_from_range(-1.0, 3.0, q::activation_type::u8);
  CHECK(p.scale == doctest::Approx(4.0 / 255));
  CHECK(p.zero_point == 64);  // 1 / (4/255) = 63.75 -> 64
  CHECK(q::dequantize(p.zero_point, p) == 0.0f);
  p = q::params_from_range(0.5, 2.0, q::activation_type::u8);  // extended to [0, 2]
  CHECK(p.zero_point == 0);
  p = q::params_from_range(-2.0, -1.0, q::activation_type::u8);  // extended to [-2, 0]
  CHECK(p.zero_point == 255);
  p = q::params_from_range(0.0, 0.0, q::activation_type::u8);
  CHECK(p.scale == q::min_activation_scale);
  CHECK(p.zero_point == 0);
  p = q::params_from_range(-3.0, 1.0, q::activation_type::s8);
  CHECK(p.scale == doctest::Approx(3.0 / 127));
  CHECK(p.zero_point == 0);
  CHECK(p.qmin == -128);
}

TEST_CASE("per-channel min-max weights: scale = max|w| / (2^(b-1) - 1), constant channels exact") {
  // row 0: constant 0.3, row 1: mixed, row 2: constant -2
  std::vector<float> w = {0.3f, 0.3f, 0.3f, 0.3f, -1.0f, 0.5f, 0.25f, 0.0f, -2.0f, -2.0f, -2.0f, -2.0f};
  for (unsigned b = 1; b <= 8; ++b) {
    CAPTURE(b);
    q::weight_quant_options o;
    o.bits = b;
    const auto qw = q::quantize_weights(w, 3, 4, o);
    const q::weight_format f = q::weight_format_of(b);
    if (b >= 2) {
      CHECK(qw.scales[1] == doctest::Approx(1.0 / f.positive_max()));
      CHECK(qw.code(1, 0) == -f.positive_max());
    } else {
      CHECK(qw.scales[1] == doctest::Approx((1.0 + 0.5 + 0.25 + 0.0) / 4));  // mean |w|
    }
    for (std::size_t c = 0; c < 4; ++c) {
      CHECK(qw.value(0, c) == doctest::Approx(0.3f).epsilon(1e-6));
      CHECK(qw.value(2, c) == doctest::Approx(-2.0f).epsilon(1e-6));
    }
  }
}

TEST_CASE("per-tensor weights share one scale") {
  std::vector<float> w = {1.0f, -0.5f, 0.25f, 4.0f};
  q::weight_quant_options o;
  o.bits = 4;
  o.granularity = q::weight_granularity::per_tensor;
  const auto qw = q::quantize_weights(w, 2, 2, o);
  CHECK(qw.scales[0] == qw.scales[1]);
  CHECK(qw.scales[0] == doctest::Approx(4.0 / 7));
  CHECK(qw.code(1, 1) == 7);
}

TEST_CASE("MSE clipping never does worse than min-max, and clips heavy-tailed rows at low bits") {
  ohq_test::rng r(7);
  const std::size_t rows = 16, cols = 257;
  std::vector<float> w = r.normals(rows * cols, 0.05);
  for (std::size_t i = 0; i < rows; ++i) w[i * cols + i] = 0.6f;  // one outlier per row
  for (unsigned b = 1; b <= 8; ++b) {
    CAPTURE(b);
    q::weight_quant_options o;
    o.bits = b;
    const auto mm = q::quantize_weights(w, rows, cols, o);
    o.clipping = q::weight_clipping::mse;
    const auto ms = q::quantize_weights(w, rows, cols, o);
    double e_mm = 0, e_ms = 0;
    for (std::size_t i = 0; i < rows * cols; ++i) {
      e_mm += std::pow(double(w[i]) - mm.value(i / cols, i % cols), 2);
      e_ms += std::pow(double(w[i]) - ms.value(i / cols, i % cols), 2);
    }
    CHECK(e_ms <= e_mm * (1 + 1e-9));
    if (b >= 2 && b <= 4) {
      CHECK(e_ms < 0.8 * e_mm);
      for (std::size_t i = 0; i < rows; ++i) CHECK(ms.scales[i] < mm.scales[i]);
    }
  }
}

TEST_CASE("degenerate weights: all-zero rows get a usable scale; NaN/Inf are errors naming the element") {
  std::vector<float> w(3 * 5, 0.0f);
  w[5] = 0.7f;  // row 1 non-zero
  for (unsigned b = 1; b <= 8; ++b) {
    CAPTURE(b);
    for (auto clip : {q::weight_clipping::minmax, q::weight_clipping::mse}) {
      for (auto gran : {q::weight_granularity::per_channel, q::weight_granularity::per_tensor}) {
        q::weight_quant_options o;
        o.bits = b;
        o.clipping = clip;
        o.granularity = gran;
        const auto qw = q::quantize_weights(w, 3, 5, o);
        for (float s : qw.scales) CHECK((std::isfinite(s) && s > 0.0f));
        for (std::size_t c = 0; c < 5; ++c) {
          if (b >= 2) {
            CHECK(qw.code(0, c) == 0);  // zero rows are exact
            CHECK(qw.code(2, c) == 0);
          } else if (gran == q::weight_granularity::per_channel) {
            CHECK(std::fabs(qw.value(0, c)) <= 0.7f / 5 / 256 * 1.0001f);  // tiny +-scale
          }
        }
      }
    }
  }
  const std::vector<float> zeros(8, 0.0f);
  for (unsigned b = 1; b <= 8; ++b) {
    q::weight_quant_options o;
    o.bits = b;
    const auto qw = q::quantize_weights(zeros, 2, 4, o);
    for (float s : qw.scales) CHECK((std::isfinite(s) && s > 0.0f));
  }

  std::vector<float> bad = {1.0f, 2.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f};
  auto r = q::try_quantize_weights(bad, 2, 2, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ohq::errc::numerical);
  CHECK(r.error().message().find("[1][0]") != std::string::npos);
  CHECK(r.error().message().find("NaN") != std::string::npos);
  bad[2] = -std::numeric_limits<float>::infinity();
  r = q::try_quantize_weights(bad, 2, 2, {});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message().find("infinite") != std::string::npos);
  CHECK_THROWS_AS((void)q::quantize_weights(bad, 2, 2, {}), ohq::error);

  q::weight_quant_options o;
  o.bits = 9;
  CHECK(q::try_quantize_weights(zeros, 2, 4, o).error().code() == ohq::errc::invalid_argument);
  CHECK(q::try_quantize_weights(zeros, 3, 4, {}).error().code() == ohq::errc::invalid_argument);
  const std::vector<float> bad_scales = {1.0f, 0.0f};
  CHECK(q::try_quantize_weights_with_scales(zeros, 2, 4, 4, bad_scales).error().code() == ohq::errc::numerical);
}

TEST_CASE("int32 bias: scale = input scale x weight scale, half-up rounding, overflow is an error") {
  const std::vector<float> bias = {1.0f, -0.25f, 0.0f};
  const std::vector<float> ws = {0.5f, 0.25f, 1.0f};
  const auto b = q::quantize_bias(bias, 0.5f, ws);
  CHECK(b == std::vector<std::int32_t>{4, -2, 0});
  const std::vector<float> huge = {1e9f, 0.0f, 0.0f};
  auto r = q::try_quantize_bias(huge, 1e-3f, ws);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ohq::errc::numerical);
  CHECK(r.error().message().find("channel 0") != std::string::npos);
}

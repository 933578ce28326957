// SPDX-License-Identifier: MIT
// Scalar reference operations against independent naive loops: packed vs unpacked accumulation,
// convolution (groups, stride, padding) and dense, pooling.
#include <ohq/quant/reference.hpp>

#include <doctest/doctest.h>

#include "common.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace q = ohq::quant;

namespace {

q::quantized_weights random_weights(unsigned bits, std::size_t rows, std::size_t cols, ohq_test::rng& r) {
  const auto w = r.normals(rows * cols, 0.1);
  q::weight_quant_options o;
  o.bits = bits;
  return q::quantize_weights(w, rows, cols, o);
}

template <class T>
std::vector<T> random_codes(std::size_t n, ohq_test::rng& r) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(r.integer(std::is_signed_v<T> ? -128 : 0, std::is_signed_v<T> ? 127 : 255));
  return v;
}

/// Direct convolution, no im2col: acc = bias + sum over the window of (x - z) * w, padding skipped.
std::int32_t naive_conv_acc(const std::vector<std::uint8_t>& x, const q::conv2d_shape& g, std::int32_t zp,
                            const q::quantized_weights& w, std::int32_t bias, std::size_t o, std::size_t oy,
                            std::size_t ox) {
  const std::size_t cg = g.in_channels / g.groups, grp = o / (g.out_channels / g.groups);
  std::int64_t acc = bias;
  for (std::size_t c = 0; c < cg; ++c)
    for (std::size_t ky = 0; ky < g.kernel; ++ky)
      for (std::size_t kx = 0; kx < g.kernel; ++kx) {
        const long iy = long(oy * g.stride + ky) - long(g.padding), ix = long(ox * g.stride + kx) - long(g.padding);
        if (iy < 0 || ix < 0 || iy >= long(g.in_height) || ix >= long(g.in_width)) continue;
        const std::int32_t xv = x[((grp * cg + c) * g.in_height + std::size_t(iy)) * g.in_width + std::size_t(ix)];
        acc += std::int64_t(xv - zp) * w.code(o, (c * g.kernel + ky) * g.kernel + kx);
      }
  return static_cast<std::int32_t>(acc);
}

}  // namespace

TEST_CASE("packed accumulation (m * sum x u - offset * sum x - z * row_sum) equals the direct sum") {
  ohq_test::rng r(21);
  for (unsigned b = 1; b <= 8; ++b)
    for (std::size_t cols : {1u, 17u, 64u, 99u, 300u}) {
      const auto w = random_weights(b, 5, cols, r);
      const auto p = q::pack(w);
      const auto xu = random_codes<std::uint8_t>(cols, r);
      const auto xs = random_codes<std::int8_t>(cols, r);
      for (std::size_t row = 0; row < 5; ++row) {
        const auto zp = static_cast<std::int32_t>(r.integer(0, 255));
        const auto bias = static_cast<std::int32_t>(r.integer(-100000, 100000));
        CHECK(q::accumulate(xu.data(), zp, p, row, bias) == q::accumulate(xu.data(), zp, w, row, bias));
        CHECK(q::accumulate(xs.data(), 0, p, row, bias) == q::accumulate(xs.data(), 0, w, row, bias));
      }
    }
}

TEST_CASE("conv2d_reference (im2col + GEMM) equals a direct convolution, packed or not") {
  ohq_test::rng r(22);
  struct geometry {
    std::size_t c, h, w, out, k, s, p, g;
  };
  const geometry cases[] = {
      {3, 7, 9, 5, 3, 1, 1, 1}, {4, 8, 8, 6, 3, 2, 1, 2}, {6, 5, 5, 6, 3, 1, 1, 6},  // depthwise
      {8, 6, 7, 4, 1, 1, 0, 1}, {2, 9, 4, 3, 5, 2, 2, 1}, {5, 4, 4, 10, 2, 1, 0, 5},
  };
  for (const auto& c : cases)
    for (unsigned bits : {1u, 2u, 3u, 4u, 8u}) {
      q::conv2d_shape g;
      g.in_channels = c.c;
      g.in_height = c.h;
      g.in_width = c.w;
      g.out_channels = c.out;
      g.kernel = c.k;
      g.stride = c.s;
      g.padding = c.p;
      g.groups = c.g;
      REQUIRE(g.valid());
      const auto w = random_weights(bits, g.out_channels, g.patch_size(), r);
      const auto x = random_codes<std::uint8_t>(g.in_channels * g.in_height * g.in_width, r);
      const std::int32_t zp = static_cast<std::int32_t>(r.integer(0, 255));
      std::vector<float> real_bias(g.out_channels);
      for (auto& v : real_bias) v = static_cast<float>(r.uniform(-0.5, 0.5));
      const std::vector<std::int32_t> bias = q::quantize_bias(real_bias, 0.02f, w.scales);
      const q::quant_params out = q::u8_params(static_cast<float>(r.uniform(0.05, 0.5)), 7);
      const auto rq = q::make_requant(0.02f, w.scales, out, q::fused_activation::relu6);
      std::vector<std::uint8_t> y(g.out_channels * g.out_pixels()), yp(y.size());
      std::vector<std::uint8_t> scratch(q::conv2d_scratch_size(g));
      q::conv2d_reference(x.data(), g, zp, w, bias.data(), rq, y.data(), scratch.data());
      q::conv2d_reference(x.data(), g, zp, q::pack(w), bias.data(), rq, yp.data(), scratch.data());
      CHECK(yp == y);
      int distinct = 0;
      for (std::size_t o = 0; o < g.out_channels; ++o)
        for (std::size_t oy = 0; oy < g.out_height(); ++oy)
          for (std::size_t ox = 0; ox < g.out_width(); ++ox) {
            const std::int32_t acc = naive_conv_acc(x, g, zp, w, bias[o], o, oy, ox);
            const auto want = q::requantize(acc, rq, o);
            CHECK(y[(o * g.out_height() + oy) * g.out_width() + ox] == want);
            distinct += want != rq.lo && want != rq.hi;
          }
      CAPTURE(bits);
      CAPTURE(c.c);
      CAPTURE(c.out);
      CHECK(distinct > 0);  // not everything saturated: the test sees real values
    }
}

TEST_CASE("im2col pads with the zero point in space and 0 in the K padding") {
  q::conv2d_shape g;
  g.in_channels = 1;
  g.in_height = g.in_width = 2;
  g.out_channels = 1;
  g.kernel = 3;
  g.padding = 1;
  const std::vector<std::uint8_t> x = {1, 2, 3, 4};
  std::vector<std::uint8_t> col(4 * 16, 99);
  q::im2col(x.data(), g, 0, std::uint8_t{50}, col.data(), 16);
  // output pixel (0, 0): window rows -1..1, cols -1..1
  const std::vector<std::uint8_t> p0 = {50, 50, 50, 50, 1, 2, 50, 3, 4, 0, 0, 0, 0, 0, 0, 0};
  CHECK(std::vector<std::uint8_t>(col.begin(), col.begin() + 16) == p0);
}

TEST_CASE("dense_reference on a batch equals per-sample accumulate + requantize") {
  ohq_test::rng r(23);
  const auto w = random_weights(4, 10, 33, r);
  const auto x = random_codes<std::uint8_t>(3 * 33, r);
  const auto rq = q::make_requant(0.03f, w.scales, q::u8_params(0.1f, 128));
  std::vector<std::uint8_t> y(3 * 10);
  q::dense_reference(x.data(), 3, 128, w, nullptr, rq, y.data());
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t o = 0; o < 10; ++o) CHECK(y[b * 10 + o] == q::requantize(q::accumulate(x.data() + b * 33, 128, w, o), rq, o));
  std::vector<std::int8_t> ys(3 * 10);  // s8 output
  const auto rqs = q::make_requant(0.03f, w.scales, q::s8_params(0.1f));
  q::dense_reference(x.data(), 3, 128, q::pack(w), nullptr, rqs, ys.data());
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t o = 0; o < 10; ++o) CHECK(ys[b * 10 + o] == q::requantize(q::accumulate(x.data() + b * 33, 128, w, o), rqs, o));
}

TEST_CASE("max pool on codes equals the max of the reals") {
  ohq_test::rng r(24);
  const std::size_t c = 3, h = 7, w = 6;
  const auto x = random_codes<std::uint8_t>(c * h * w, r);
  const q::quant_params p = q::u8_params(0.1f, 77);
  for (std::size_t pad : {0u, 1u}) {
    const std::size_t ho = (h + 2 * pad - 3) / 2 + 1, wo = (w + 2 * pad - 3) / 2 + 1;
    std::vector<std::uint8_t> y(c * ho * wo);
    q::max_pool2d_reference(x.data(), c, h, w, 3, 2, pad, y.data());
    for (std::size_t ch = 0; ch < c; ++ch)
      for (std::size_t oy = 0; oy < ho; ++oy)
        for (std::size_t ox = 0; ox < wo; ++ox) {
          float best = -1e30f;
          for (std::size_t ky = 0; ky < 3; ++ky)
            for (std::size_t kx = 0; kx < 3; ++kx) {
              const long iy = long(oy * 2 + ky) - long(pad), ix = long(ox * 2 + kx) - long(pad);
              if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
              best = std::max(best, q::dequantize(x[(ch * h + std::size_t(iy)) * w + std::size_t(ix)], p));
            }
          CHECK(q::dequantize(y[(ch * ho + oy) * wo + ox], p) == best);
        }
  }
}

TEST_CASE("average pools: one rounding of the exact mean") {
  ohq_test::rng r(25);
  // s_in == s_out, so the exact result is round_half_up(sum / n): ties exist for even n only,
  // where 1/n is exact in fixed point; for odd n no tie exists and 1/n's error cannot matter.
  const q::quant_params in = q::u8_params(0.05f, 30), out = q::u8_params(0.05f, 90);
  auto exact = [](std::int64_t sum, std::int64_t n) {
    std::int64_t num = 2 * sum + n, den = 2 * n, qq = num / den;
    if (num % den != 0 && num < 0) --qq;
    return qq;
  };
  for (std::size_t pixels : {16u, 49u, 1u, 9u}) {
    const std::size_t channels = 20;
    const auto x = random_codes<std::uint8_t>(channels * pixels, r);
    const auto p = q::make_avg_pool(in, out, pixels, pixels);
    std::vector<std::uint8_t> y(channels);
    q::global_avg_pool_reference(x.data(), channels, pixels, p, y.data());
    for (std::size_t c = 0; c < channels; ++c) {
      std::int64_t sum = 0;
      for (std::size_t i = 0; i < pixels; ++i) sum += x[c * pixels + i] - 30;
      CHECK(y[c] == std::clamp<std::int64_t>(exact(sum, std::int64_t(pixels)) + 90, 0, 255));
    }
  }
  const std::size_t c = 2, h = 5, w = 5;
  const auto x = random_codes<std::uint8_t>(c * h * w, r);
  const auto p = q::make_avg_pool(in, out, 1, 4);
  for (bool include_pad : {true, false}) {
    std::vector<std::uint8_t> y(c * 3 * 3);  // k = 2, s = 2, p = 1 -> 3 x 3
    q::avg_pool2d_reference(x.data(), c, h, w, 2, 2, 1, include_pad, p, y.data());
    for (std::size_t ch = 0; ch < c; ++ch)
      for (std::size_t oy = 0; oy < 3; ++oy)
        for (std::size_t ox = 0; ox < 3; ++ox) {
          std::int64_t sum = 0, n = 0;
          for (std::size_t ky = 0; ky < 2; ++ky)
            for (std::size_t kx = 0; kx < 2; ++kx) {
              const long iy = long(oy * 2 + ky) - 1, ix = long(ox * 2 + kx) - 1;
              if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
              sum += x[(ch * h + std::size_t(iy)) * w + std::size_t(ix)] - 30;
              ++n;
            }
          if (include_pad) n = 4;
          // n = 3 (odd) has no ties; n = 1, 2, 4 are exact
          CHECK(y[(ch * 3 + oy) * 3 + ox] == std::clamp<std::int64_t>(exact(sum, n) + 90, 0, 255));
        }
  }
}

TEST_CASE("quantize/dequantize arrays and requantize_reference") {
  const q::quant_params p = q::u8_params(0.5f, 10);
  const std::vector<float> x = {-100.0f, -0.25f, 0.0f, 1.0f, 1000.0f};
  std::vector<std::uint8_t> c(x.size());
  q::quantize_reference(x.data(), c.data(), x.size(), p);
  CHECK(c == std::vector<std::uint8_t>{0, 10, 10, 12, 255});
  std::vector<float> back(x.size());
  q::dequantize_reference(c.data(), back.data(), c.size(), p);
  CHECK(back[3] == 1.0f);
  const auto rq = q::make_requant(1.0f, std::vector<float>{0.5f, 0.25f}, q::u8_params(1.0f, 0));
  const std::vector<std::int32_t> acc = {1, 3, 4, 6};
  std::vector<std::uint8_t> y(4);
  q::requantize_reference(acc.data(), 2, 2, rq, y.data());
  CHECK(y == std::vector<std::uint8_t>{1, 2, 1, 2});  // 0.5 -> 1, 1.5 -> 2, 1.0, 1.5 -> 2
}

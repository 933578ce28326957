// SPDX-License-Identifier: MIT
// Depthwise convolution kernels (NHWC): every arch path this machine supports, bit-exact against
// quant::conv2d_reference with groups = channels on thousands of random shapes — channels 1,
// primes and every multiple of 8/16 and its neighbours, sizes with tails, kernels 3 and 5 (the
// fast paths) and 1/2/4/7 (the generic one), strides 1/2/3, paddings 0..k, weight bit-widths
// 1..8, input and output zero points, fused ReLU/ReLU6 clamps, output pixel strides, row ranges.
// Each case has its own seed, printed on failure.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include "../support/kernel_cases.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ohq;
using kernels::arch;

namespace {

const std::vector<std::size_t> channel_edges = {1,  2,  3,  5,  7,  8,  9,  13, 15, 16, 17, 23,
                                                24, 25, 31, 32, 33, 47, 48, 49, 72, 88, 120};
const std::vector<std::size_t> kernel_sizes = {3, 3, 3, 5, 5, 5, 1, 2, 4, 7};

bool run_case(arch path, std::uint64_t seed, std::size_t& outputs, std::size_t& at_bound) {
  std::mt19937_64 gen(seed);
  const std::size_t channels = gen() % 2 ? channel_edges[gen() % channel_edges.size()] : 1 + gen() % 70;
  const std::size_t k = kernel_sizes[gen() % kernel_sizes.size()];
  const std::size_t stride = gen() % 5 == 0 ? 3 : 1 + gen() % 2;
  const std::size_t padding = gen() % 4 == 0 ? 0 : gen() % (k + 1);
  std::size_t height = 1 + gen() % 19, width = 1 + gen() % 23;
  height = std::max(height, k > 2 * padding ? k - 2 * padding : 1);
  width = std::max(width, k > 2 * padding ? k - 2 * padding : 1);
  const unsigned bits = 1 + unsigned(gen() % 8);
  const quant::conv2d_shape shape{channels, height, width, channels, k, stride, padding, channels};
  REQUIRE(shape.valid());
  const std::size_t ho = shape.out_height(), wo = shape.out_width(), taps = k * k;

  quant::quantized_weights w;
  w.format = quant::weight_format_of(bits);
  w.rows = channels;
  w.cols = taps;
  w.codes.resize(channels * taps);
  w.scales.assign(channels, 1.0f);
  const bool extremes = gen() % 4 == 0;
  std::uniform_int_distribution<int> code(w.format.code_min, w.format.code_max);
  for (auto& c : w.codes) {
    int v = extremes ? (gen() % 2 ? w.format.code_min : w.format.code_max) : code(gen);
    if (bits == 1 && v == 0) v = 1;  // 1-bit codes are +-1
    c = static_cast<std::int8_t>(v);
  }
  std::vector<std::uint8_t> x_chw(channels * height * width);
  const int xmode = int(gen() % 3);
  for (auto& v : x_chw) v = static_cast<std::uint8_t>(xmode == 1 ? (gen() % 2 ? 255 : 0) : gen());
  const std::int32_t x_zp = gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);
  std::vector<std::int32_t> bias(channels);
  const bool use_bias = gen() % 5 != 0;
  for (auto& b : bias) b = std::int32_t(gen() % 200001) - 100000;

  quant::requant_params rq;
  const double centre = -std::log2(double(taps) * 64.0 * 16.0) + double(int(gen() % 7) - 3);
  for (std::size_t c = 0; c < channels; ++c) {
    const double e = std::clamp(centre + std::uniform_real_distribution<double>(-2.0, 2.0)(gen), -60.0, 8.0);
    const auto f = quant::try_make_multiplier(gen() % 50 == 0 ? 0.0 : std::exp2(e)).value();
    rq.multiplier.push_back(f.multiplier);
    rq.shift.push_back(f.shift);
  }
  rq.zero_point = std::int32_t(gen() % 256);
  rq.lo = 0;
  rq.hi = 255;
  const int act = int(gen() % 3);
  if (act >= 1) rq.lo = rq.zero_point;
  if (act == 2) rq.hi = std::clamp(rq.zero_point + std::int32_t(gen() % 128), rq.lo, 255);

  std::vector<std::uint8_t> want(channels * ho * wo), scratch(quant::conv2d_scratch_size(shape));
  quant::conv2d_reference(x_chw.data(), shape, x_zp, w, use_bias ? bias.data() : nullptr, rq, want.data(),
                          scratch.data());

  // the kernel's operands: NHWC input, tap-major weights, pixels of y_pixel_stride bytes
  std::vector<std::uint8_t> x(x_chw.size());
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t p = 0; p < height * width; ++p) x[p * channels + c] = x_chw[c * height * width + p];
  std::vector<std::int8_t> wt(taps * channels);
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t t = 0; t < taps; ++t) wt[t * channels + c] = w.codes[c * taps + t];
  const std::size_t pixel_stride = channels + (gen() % 3 == 0 ? gen() % 9 : 0);
  const std::uint8_t sentinel = 0x5a;
  std::vector<std::uint8_t> got(ho * wo * pixel_stride, sentinel);

  auto kernel = kernels::try_depthwise_kernel(path);
  REQUIRE_MESSAGE(kernel.has_value(), "seed ", seed, ": ", (kernel ? "" : kernel.error().what()));
  kernels::depthwise_args a;
  a.x = x.data();
  a.height = height;
  a.width = width;
  a.channels = channels;
  a.kernel = k;
  a.stride = stride;
  a.padding = padding;
  a.out_height = ho;
  a.out_width = wo;
  a.x_zero_point = x_zp;
  a.weights = wt.data();
  a.bias = use_bias ? bias.data() : nullptr;
  a.multiplier = rq.multiplier.data();
  a.shift = rq.shift.data();
  a.zero_point = rq.zero_point;
  a.lo = rq.lo;
  a.hi = rq.hi;
  a.y = got.data();
  a.y_pixel_stride = pixel_stride;
  const std::size_t split = gen() % 3 == 0 ? gen() % (ho + 1) : ho;  // two calls over row ranges
  a.row_begin = 0;
  a.row_end = split;
  (*kernel)->run(a);
  a.row_begin = split;
  a.row_end = ho;
  (*kernel)->run(a);

  for (std::size_t p = 0; p < ho * wo; ++p)
    for (std::size_t c = 0; c < pixel_stride; ++c) {
      const std::uint8_t expect = c < channels ? want[c * ho * wo + p] : sentinel;
      if (got[p * pixel_stride + c] != expect) {
        std::ostringstream msg;
        msg << "arch " << kernels::to_string(path) << " seed " << seed << ": C=" << channels << " H=" << height
            << " W=" << width << " k=" << k << " stride=" << stride << " padding=" << padding << " bits=" << bits
            << " x_zp=" << x_zp << " zp=" << rq.zero_point << " [" << rq.lo << ", " << rq.hi << "] bias " << use_bias
            << " pixel stride " << pixel_stride << " rows split at " << split << ": pixel " << p << " channel " << c
            << " = " << int(got[p * pixel_stride + c]) << ", reference " << int(expect);
        FAIL_CHECK(msg.str());
        return false;
      }
      if (c < channels) {
        ++outputs;
        at_bound += expect == rq.lo || expect == rq.hi;
      }
    }
  return true;
}

}  // namespace

TEST_CASE("depthwise kernels: bit-exact against conv2d_reference with groups = channels") {
  const std::size_t cases = ohq::test::kernel_case_count();
  for (arch path : kernels::all_archs) {
    if (const ohq::status s = kernels::check_arch(path); !s.ok()) {
      MESSAGE("SKIPPED arch " << kernels::to_string(path) << ": " << s.message());
      continue;
    }
    const std::uint64_t seed0 = 0xd3b7'0000ull + std::uint64_t(path) * 1'000'003ull;
    MESSAGE("arch " << kernels::to_string(path) << ": " << cases << " cases, seeds " << seed0 << ".."
                    << seed0 + cases - 1);
    std::size_t outputs = 0, at_bound = 0;
    for (std::size_t i = 0; i < cases; ++i)
      if (!run_case(path, seed0 + i, outputs, at_bound)) break;
    // the cases exercise both the clamps and the interior of the code range
    CHECK(at_bound > outputs / 20);
    CHECK(outputs - at_bound > outputs / 5);
  }
}

TEST_CASE("depthwise kernels: every built path has an entry; AVX-512 runs the AVX2 kernel") {
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    auto k = kernels::try_depthwise_kernel(path);
    REQUIRE(k.has_value());
    // the avx2 and avx512 paths must run the AVX2 kernel (from the avx2 TU), not fall back to scalar
    CHECK(std::string((*k)->name).find(path == arch::scalar ? "scalar" : "avx2") == 0);
  }
}

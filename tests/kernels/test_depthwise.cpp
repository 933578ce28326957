// SPDX-License-Identifier: MIT
// Depthwise convolution kernels (NHWC): every arch path this machine supports, bit-exact against
// quant::conv2d_reference with groups = channels on thousands of random shapes — channels 1..100
// (every count from 1 to 100 drawn, and 1, primes, every multiple of 8/16/32 and its neighbours
// up to 161 and MobileNetV3's counts), sizes with tails and tiny images (1x1, 2x3), kernels 3 and 5
// (the fast paths) and 1/2/4/6/7 (the generic one), strides 1/2/3, paddings 0..k, weight
// bit-widths 1..8, input and output zero points, fused ReLU/ReLU6 clamps, output pixel strides,
// rows split over up to three calls. Each case has its own seed, printed on failure.
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

// the AVX-512 kernel's lane layouts switch at 16 and 32 channels and at a tail of 16 after the
// 32-channel blocks (C = 32n + 1..16 vs 32n + 17..31)
const std::vector<std::size_t> channel_edges = {1,  2,  3,  5,  7,  8,  9,  13, 15, 16, 17, 23, 24, 25, 31, 32, 33,
                                                40, 47, 48, 49, 63, 64, 65, 72, 79, 80, 81, 88, 95, 96, 97, 120, 161};
const std::vector<std::size_t> kernel_sizes = {3, 3, 3, 5, 5, 5, 1, 2, 4, 6, 7};

bool run_case(arch path, std::uint64_t seed, std::size_t& outputs, std::size_t& at_bound) {
  std::mt19937_64 gen(seed);
  const std::size_t channels = gen() % 2 ? channel_edges[gen() % channel_edges.size()] : 1 + gen() % 100;
  const std::size_t k = kernel_sizes[gen() % kernel_sizes.size()];
  const std::size_t stride = gen() % 5 == 0 ? 3 : 1 + gen() % 2;
  const std::size_t padding = gen() % 4 == 0 ? 0 : gen() % (k + 1);
  std::size_t height = 1 + gen() % 19, width = 1 + gen() % 23;
  if (gen() % 8 == 0) {  // tiny images: 1x1, 2x3, ... (every pixel a border one)
    height = 1 + gen() % 3;
    width = 1 + gen() % 3;
  }
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
  // now and then large scales, most outputs far beyond int16 before the clamp (the AVX-512 kernel
  // packs them to int16 with saturation): 2^-7..2^1 (shifts 29..39 around its switch at 33 from
  // rounding high halves to clamped, scaled accumulators), the same with coherent data (each
  // channel's weights at one extreme, inputs near 255, zero point near 0: |acc| ~ taps * 2^15,
  // beyond int16 even at scales below 1/2), or 2^25..2^29.5 (shifts 1..6: its 64-bit fallback below 4)
  const int scale_mode = int(gen() % 16);
  const bool coherent = scale_mode == 3;
  const bool extremes = gen() % 4 == 0;
  std::uniform_int_distribution<int> code(w.format.code_min, w.format.code_max);
  for (std::size_t c = 0; c < channels; ++c) {
    const int sign_code = gen() % 2 ? w.format.code_min : w.format.code_max;
    for (std::size_t t = 0; t < taps; ++t) {
      int v = coherent ? sign_code : extremes ? (gen() % 2 ? w.format.code_min : w.format.code_max) : code(gen);
      if (bits == 1 && v == 0) v = 1;  // 1-bit codes are +-1
      w.codes[c * taps + t] = static_cast<std::int8_t>(v);
    }
  }
  std::vector<std::uint8_t> x_chw(channels * height * width);
  const int xmode = coherent ? 3 : int(gen() % 3);
  for (auto& v : x_chw)
    v = static_cast<std::uint8_t>(xmode == 3 ? 224 + gen() % 32 : xmode == 1 ? (gen() % 2 ? 255 : 0) : gen());
  const std::int32_t x_zp =
      coherent ? std::int32_t(gen() % 16) : gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);
  std::vector<std::int32_t> bias(channels);
  const bool use_bias = gen() % 5 != 0;
  for (auto& b : bias) b = std::int32_t(gen() % 200001) - 100000;

  quant::requant_params rq;
  double centre = -std::log2(double(taps) * 64.0 * 16.0) + double(int(gen() % 7) - 3);
  if (scale_mode < 2)
    centre = -4.5 + double(gen() % 6);
  else if (scale_mode == 2)
    centre = 27.5;
  else if (coherent)
    centre = -3.0;
  for (std::size_t c = 0; c < channels; ++c) {
    const double e = std::clamp(centre + std::uniform_real_distribution<double>(-2.0, 2.0)(gen), -60.0, 29.5);
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
  // up to three calls over row ranges (threads split rows; empty ranges included)
  std::size_t split = gen() % 3 == 0 ? gen() % (ho + 1) : ho, split2 = split;
  if (gen() % 4 == 0) split2 = split + gen() % (ho - split + 1);
  const std::size_t bounds[4] = {0, split, split2, ho};
  for (std::size_t r = 0; r < 3; ++r) {
    a.row_begin = bounds[r];
    a.row_end = bounds[r + 1];
    (*kernel)->run(a);
  }

  for (std::size_t p = 0; p < ho * wo; ++p)
    for (std::size_t c = 0; c < pixel_stride; ++c) {
      const std::uint8_t expect = c < channels ? want[c * ho * wo + p] : sentinel;
      if (got[p * pixel_stride + c] != expect) {
        std::ostringstream msg;
        msg << "arch " << kernels::to_string(path) << " seed " << seed << ": C=" << channels << " H=" << height
            << " W=" << width << " k=" << k << " stride=" << stride << " padding=" << padding << " bits=" << bits
            << " x_zp=" << x_zp << " zp=" << rq.zero_point << " [" << rq.lo << ", " << rq.hi << "] bias " << use_bias
            << " pixel stride " << pixel_stride << " rows split at " << split << ", " << split2 << ": pixel " << p << " channel " << c
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

TEST_CASE("depthwise kernels: every built path has an entry; AVX-512 runs its own kernel") {
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    auto k = kernels::try_depthwise_kernel(path);
    REQUIRE(k.has_value());
    // each SIMD path runs its own kernel (from its per-arch TU), never the scalar fallback
    const char* want = path == arch::scalar ? "scalar" : path == arch::avx2 ? "avx2" : "avx512";
    CHECK_MESSAGE(std::string((*k)->name).rfind(want, 0) == 0, kernels::to_string(path), ": ", (*k)->name);
  }
  // whatever this CPU runs: a program with both per-arch TUs has two distinct SIMD entries
  if (kernels::built(arch::avx512_vnni) && kernels::built(arch::avx2)) {
    const kernels::kernel_table& t = kernels::kernels();
    const kernels::depthwise_kernel_entry* on512 = t.depthwise[std::size_t(arch::avx512_vnni)];
    const kernels::depthwise_kernel_entry* on2 = t.depthwise[std::size_t(arch::avx2)];
    REQUIRE(on512 != nullptr);
    REQUIRE(on2 != nullptr);
    CHECK(on512 != on2);
    CHECK(std::string(on512->name).rfind("avx512", 0) == 0);
    CHECK(std::string(on2->name).rfind("avx2", 0) == 0);
  }
}

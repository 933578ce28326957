// SPDX-License-Identifier: MIT
// Winograd convolution kernels (NHWC, 3x3, groups 1: F(2x2, 3x3) and F(3x3, 3x3) at stride 1,
// F(2x2, 3x3) stride 2): every arch path this machine supports, every tile, bit-exact against
// quant::conv2d_reference on thousands of random shapes —
// channels 1, odd, primes and multiples of 16 with neighbours, output channels around every block
// of 8/16, odd and even heights and widths down to 1, paddings 0..2, weight bit-widths 1..8 at
// their extremes, input and output zero points, fused ReLU/ReLU6 clamps, output pixel strides,
// tile ranges split over two calls and a thread pool. Each case has its own seed, printed on failure.
#include <ohq/core/thread_pool.hpp>
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include "../support/kernel_cases.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ohq;
using kernels::arch;

namespace {

const std::vector<std::size_t> channel_edges = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 130};
const std::vector<std::size_t> out_edges = {1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 48, 64};

/// Random 3x3 weights of `bits` bits (extremes in a quarter of the cases).
quant::quantized_weights random_weights(std::mt19937_64& gen, std::size_t rows, std::size_t channels, unsigned bits) {
  quant::quantized_weights w;
  w.format = quant::weight_format_of(bits);
  w.rows = rows;
  w.cols = channels * 9;
  w.codes.resize(w.rows * w.cols);
  w.scales.assign(rows, 1.0f);
  const bool extremes = gen() % 4 == 0;
  std::uniform_int_distribution<int> code(w.format.code_min, w.format.code_max);
  for (auto& c : w.codes) {
    int v = extremes ? (gen() % 2 ? w.format.code_min : w.format.code_max) : code(gen);
    if (bits == 1 && v == 0) v = 1;  // 1-bit codes are +-1
    c = static_cast<std::int8_t>(v);
  }
  return w;
}

bool run_case(arch path, std::uint64_t seed, thread_pool& pool, std::size_t& outputs, std::size_t& at_bound) {
  std::mt19937_64 gen(seed);
  const std::size_t channels = gen() % 2 ? channel_edges[gen() % channel_edges.size()] : 1 + gen() % 70;
  const std::size_t cout = gen() % 2 ? out_edges[gen() % out_edges.size()] : 1 + gen() % 70;
  const kernels::winograd_tile tile = std::array{kernels::winograd_tile::f2x2, kernels::winograd_tile::f3x3,
                                                 kernels::winograd_tile::f2x2_stride2}[gen() % 3];
  const std::size_t stride = kernels::winograd_stride(tile);
  const std::size_t padding = gen() % 4 == 0 ? gen() % 3 : 1;
  const std::size_t min_side = padding >= 1 ? 1 : 3;
  const std::size_t height = min_side + gen() % (16 * stride), width = min_side + gen() % (19 * stride);
  const unsigned bits = gen() % 2 ? 8 : 1 + unsigned(gen() % 8);
  const quant::conv2d_shape shape{channels, height, width, cout, 3, stride, padding, 1};
  REQUIRE(shape.valid());
  const std::size_t ho = shape.out_height(), wo = shape.out_width();
  const quant::quantized_weights w = random_weights(gen, cout, channels, bits);

  std::vector<std::uint8_t> x_chw(channels * height * width);
  const int xmode = int(gen() % 3);
  for (auto& v : x_chw) v = static_cast<std::uint8_t>(xmode == 1 ? (gen() % 2 ? 255 : 0) : gen());
  const std::int32_t x_zp = gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);
  std::vector<std::int32_t> bias(cout);
  const bool use_bias = gen() % 5 != 0;
  for (auto& b : bias) b = std::int32_t(gen() % 200001) - 100000;

  quant::requant_params rq;
  const double centre = -std::log2(double(9 * channels) * 64.0 * 16.0) + double(int(gen() % 7) - 3);
  for (std::size_t c = 0; c < cout; ++c) {
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

  std::vector<std::uint8_t> want(cout * ho * wo), scratch(quant::conv2d_scratch_size(shape));
  quant::conv2d_reference(x_chw.data(), shape, x_zp, w, use_bias ? bias.data() : nullptr, rq, want.data(),
                          scratch.data());

  std::vector<std::uint8_t> x(x_chw.size());
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t p = 0; p < height * width; ++p) x[p * channels + c] = x_chw[c * height * width + p];
  const std::size_t pixel_stride = cout + (gen() % 3 == 0 ? gen() % 9 : 0);
  const std::uint8_t sentinel = 0x5a;
  std::vector<std::uint8_t> got(ho * wo * pixel_stride, sentinel);

  auto conv = kernels::winograd_conv::try_prepare(w, channels, path, tile);
  REQUIRE_MESSAGE(conv.has_value(), "seed ", seed, ": ", (conv ? "" : conv.error().what()));
  REQUIRE(conv->tile() == tile);
  kernels::winograd_args a =
      conv->args(x.data(), height, width, padding, x_zp, use_bias ? bias.data() : nullptr, rq, got.data(), pixel_stride);
  const std::size_t tiles = a.tile_end, mode = gen() % 4;
  std::size_t split = tiles;
  if (mode == 0) {  // two calls over tile ranges
    split = gen() % (tiles + 1);
    kernels::winograd_args first = a;
    first.tile_end = split;
    conv->run(first);
    a.tile_begin = split;
    conv->run(a);
  } else if (mode == 1) {
    conv->run(pool, 1 + gen() % 4, a);
  } else {
    conv->run(a);
  }

  for (std::size_t p = 0; p < ho * wo; ++p)
    for (std::size_t c = 0; c < pixel_stride; ++c) {
      const std::uint8_t expect = c < cout ? want[c * ho * wo + p] : sentinel;
      if (got[p * pixel_stride + c] != expect) {
        std::ostringstream msg;
        msg << "arch " << kernels::to_string(path) << " " << kernels::to_string(tile) << " seed " << seed
            << ": C=" << channels << " Cout=" << cout
            << " H=" << height << " W=" << width << " padding=" << padding << " bits=" << bits << " x_zp=" << x_zp
            << " zp=" << rq.zero_point << " [" << rq.lo << ", " << rq.hi << "] bias " << use_bias << " pixel stride "
            << pixel_stride << " run mode " << mode << " split " << split << ": pixel " << p << " channel " << c
            << " = " << int(got[p * pixel_stride + c]) << ", reference " << int(expect);
        FAIL_CHECK(msg.str());
        return false;
      }
      if (c < cout) {
        ++outputs;
        at_bound += expect == rq.lo || expect == rq.hi;
      }
    }
  return true;
}

}  // namespace

TEST_CASE("winograd kernels: bit-exact against conv2d_reference (3x3, stride 1)") {
  const std::size_t cases = ohq::test::kernel_case_count();
  thread_pool pool(3);
  for (arch path : kernels::all_archs) {
    if (const ohq::status s = kernels::check_arch(path); !s.ok()) {
      MESSAGE("SKIPPED arch " << kernels::to_string(path) << ": " << s.message());
      continue;
    }
    const std::uint64_t seed0 = 0x3196'0000ull + std::uint64_t(path) * 1'000'003ull;
    MESSAGE("arch " << kernels::to_string(path) << ": " << cases << " cases, seeds " << seed0 << ".."
                    << seed0 + cases - 1);
    std::size_t outputs = 0, at_bound = 0;
    for (std::size_t i = 0; i < cases; ++i)
      if (!run_case(path, seed0 + i, pool, outputs, at_bound)) break;
    CHECK(at_bound > outputs / 20);
    CHECK(outputs - at_bound > outputs / 5);
  }
}

TEST_CASE("winograd kernels: the widest exact rows, and rows that could overflow are refused") {
  struct widest {
    kernels::winograd_tile tile;
    std::size_t channels;  ///< the most channels of -128 whose scale * 255 * sum |w| fits int32
  };
  for (const widest wc : {widest{kernels::winograd_tile::f2x2, 1827}, widest{kernels::winograd_tile::f3x3, 203},
                          widest{kernels::winograd_tile::f2x2_stride2, 7310}})
    for (arch path : kernels::all_archs) {
      if (!kernels::check_arch(path).ok()) continue;
      CAPTURE(kernels::to_string(path));
      CAPTURE(kernels::to_string(wc.tile));
      // channels of -128 (row 0) and 127 (row 1) against inputs 255 away from the zero point: the
      // widest accumulators, exact
      std::mt19937_64 gen(7);
      const std::size_t channels = wc.channels, cout = 24, side = 5;
      quant::quantized_weights w = random_weights(gen, cout, channels, 8);
      std::fill(w.codes.begin(), w.codes.begin() + std::ptrdiff_t(channels * 9), std::int8_t{-128});
      std::fill(w.codes.begin() + std::ptrdiff_t(channels * 9), w.codes.begin() + std::ptrdiff_t(2 * channels * 9),
                std::int8_t{127});
      const quant::conv2d_shape shape{channels, side, side, cout, 3, kernels::winograd_stride(wc.tile), 1, 1};
      const std::size_t outs = shape.out_height() * shape.out_width();
      std::vector<std::uint8_t> x_chw(channels * side * side, 255), x(x_chw.size(), 255);
      quant::requant_params rq;
      for (std::size_t c = 0; c < cout; ++c) {
        const auto f = quant::try_make_multiplier(1.0 / (4e6 * double(channels) / 512.0)).value();
        rq.multiplier.push_back(f.multiplier);
        rq.shift.push_back(f.shift);
      }
      rq.zero_point = 128;
      std::vector<std::uint8_t> want(cout * outs), got(cout * outs), scratch(quant::conv2d_scratch_size(shape));
      quant::conv2d_reference(x_chw.data(), shape, 0, w, nullptr, rq, want.data(), scratch.data());
      auto conv = kernels::winograd_conv::try_prepare(w, channels, path, wc.tile);
      REQUIRE(conv.has_value());
      conv->run(conv->args(x.data(), side, side, 1, 0, nullptr, rq, got.data(), cout));
      for (std::size_t p = 0; p < outs; ++p)
        for (std::size_t c = 0; c < cout; ++c) {
          CAPTURE(p);
          CAPTURE(c);
          REQUIRE(got[p * cout + c] == want[c * outs + p]);
        }
      CHECK(want[0] < 128);  // channel 0 saturates low, channel 1 high: the extremes were reached
      CHECK(want[outs] > 128);

      // one channel more of -128: scale * 255 * sum |w| > 2^31 - 1, refused with the reason
      const quant::quantized_weights big = random_weights(gen, 2, channels + 1, 8);
      quant::quantized_weights worst = big;
      std::fill(worst.codes.begin(), worst.codes.end(), std::int8_t{-128});
      auto refused = kernels::winograd_conv::try_prepare(worst, channels + 1, path, wc.tile);
      REQUIRE_FALSE(refused.has_value());
      CHECK(refused.error().code() == errc::unsupported);
      CHECK(refused.error().message().find("overflow") != std::string::npos);
      auto mismatched = kernels::winograd_conv::try_prepare(big, channels, path, wc.tile);
      REQUIRE_FALSE(mismatched.has_value());
      CHECK(mismatched.error().code() == errc::shape_mismatch);
    }
}

TEST_CASE("winograd kernels: every built path has an entry; AVX-512 runs the AVX2 kernel") {
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    auto k = kernels::try_winograd_kernel(path);
    REQUIRE(k.has_value());
    CHECK(std::string((*k)->name).find(path == arch::scalar ? "scalar" : "avx2") == 0);
  }
}

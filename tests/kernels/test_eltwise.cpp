// SPDX-License-Identifier: MIT
// Element-wise and pooling kernels (kernels/*/eltwise.hpp, u8 codes, NHWC): every arch path this
// machine supports, bit-exact against the quant:: references on thousands of random cases per op —
// lengths and channel counts 1, primes and the neighbours of every block edge (8, 16, 32, the
// 257-pixel uint16 runs of the global pool), random zero points and clamp bounds (ReLU/ReLU6 and
// arbitrary), multipliers from real scales and raw ones (every shift 1..62, digits at their
// extremes), pool windows 1..5 with strides 1..3 and padding (count_include_pad or not), lookup
// tables random and named, in place; quantizing floats to codes (CHW -> HWC) on every kind of float
// (boundaries +- ulps, exact ties, denormals, Inf, NaN, the largest), scales tiny to huge, narrowed
// code ranges. Each case's seed is printed on failure.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include "../support/kernel_cases.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace ohq;
using kernels::arch;

namespace {

const std::vector<std::size_t> length_edges = {1,  2,  3,  5,  7,  8,  9,  15, 16, 17, 23, 31, 32,  33,  47,
                                               63, 64, 65, 95, 96, 97, 127, 128, 129, 255, 256, 257, 1000, 1021};
const std::vector<std::size_t> channel_edges = {1,  2,  3,  5,  7,  8,  9,  13, 15, 16, 17,  23,  24,  31,
                                                32, 33, 40, 47, 48, 63, 64, 65, 72, 88, 96, 120, 127, 160};
const std::vector<std::size_t> pixel_edges = {1, 2, 3, 7, 49, 196, 256, 257, 258, 513, 514, 515, 784};

/// Counts results at a clamp bound and strictly inside, so a test whose cases all saturate fails.
struct coverage {
  std::size_t outputs = 0, at_bound = 0;
  void add(std::uint8_t v, std::int32_t lo, std::int32_t hi) {
    ++outputs;
    at_bound += v == lo || v == hi;
  }
  void check(const char* op) const {
    INFO(op << ": " << at_bound << " of " << outputs << " outputs at a clamp bound");
    CHECK(at_bound > outputs / 20);
    CHECK(outputs - at_bound > outputs / 5);
  }
};

std::uint8_t random_code(std::mt19937_64& gen, int mode) {
  switch (mode) {
    case 1: return gen() % 2 ? 255 : 0;
    case 2: return static_cast<std::uint8_t>(100 + gen() % 56);  // a narrow band: results near the middle
    default: return static_cast<std::uint8_t>(gen());
  }
}
std::vector<std::uint8_t> random_codes(std::mt19937_64& gen, std::size_t n) {
  const int mode = int(gen() % 5);
  // mode 4: all 255, the largest sums (the global pool's uint16 runs)
  std::vector<std::uint8_t> v(n, 255);
  if (mode != 4)
    for (auto& c : v) c = random_code(gen, mode == 3 ? 0 : mode);
  return v;
}
std::int32_t random_zero_point(std::mt19937_64& gen) {
  return gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);
}
float random_scale(std::mt19937_64& gen, double spread) {
  return float(std::exp2(std::uniform_real_distribution<double>(-spread, spread)(gen)) * 0.05);
}
quant::fused_activation random_activation(std::mt19937_64& gen) {
  const unsigned r = unsigned(gen() % 4);
  return r == 1 ? quant::fused_activation::relu : (r == 2 ? quant::fused_activation::relu6 : quant::fused_activation::none);
}
/// Arbitrary bounds 0 <= lo <= hi <= 255 a quarter of the time, else the given ones.
void maybe_random_bounds(std::mt19937_64& gen, std::int32_t& lo, std::int32_t& hi) {
  if (gen() % 4) return;
  lo = std::int32_t(gen() % 256);
  hi = std::int32_t(lo + gen() % (256 - lo));
}
/// A raw fixed-point multiplier: digits at their extremes or random, any shift 1..62.
std::int32_t raw_multiplier(std::mt19937_64& gen) {
  static const std::int32_t special[] = {0, 1, 0x7FFF, 0x8000, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x7FFF8000, 0x40007FFF};
  return gen() % 4 == 0 ? special[gen() % std::size(special)] : std::int32_t(gen() & 0x7FFFFFFF);
}

std::vector<std::uint8_t> to_chw(const std::vector<std::uint8_t>& hwc, std::size_t channels, std::size_t pixels) {
  std::vector<std::uint8_t> chw(hwc.size());
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t p = 0; p < pixels; ++p) chw[c * pixels + p] = hwc[p * channels + c];
  return chw;
}

const kernels::eltwise_kernel_entry* entry_of(arch path) {
  auto k = kernels::try_eltwise_kernel(path);
  REQUIRE_MESSAGE(k.has_value(), (k ? "" : k.error().what()));
  return *k;
}

// ---------------------------------------------------------------------------------------------

bool add_case(arch path, std::uint64_t seed, coverage& cov) {
  std::mt19937_64 gen(seed);
  const std::size_t n = ohq::test::pick_size(gen, length_edges, 300);
  const std::vector<std::uint8_t> a = random_codes(gen, n), b = random_codes(gen, n);
  quant::add_params p;
  if (gen() % 3) {  // from real scales, as networks make them
    const auto qa = quant::u8_params(random_scale(gen, 3), random_zero_point(gen));
    const auto qb = quant::u8_params(random_scale(gen, 3), random_zero_point(gen));
    const auto qy = quant::u8_params(random_scale(gen, 1) * 2, random_zero_point(gen));
    p = quant::try_make_add(qa, qb, qy, random_activation(gen)).value();
  } else {  // raw: every shift, both code paths (< 16 and >= 16) and the capped one (> 40)
    p.multiplier_a = raw_multiplier(gen);
    p.multiplier_b = raw_multiplier(gen);
    p.shift = gen() % 3 == 0 ? 1 + std::int32_t(gen() % 62) : 30 + std::int32_t(gen() % 10);
    p.zero_point_a = random_zero_point(gen);
    p.zero_point_b = random_zero_point(gen);
    p.zero_point = random_zero_point(gen);
    p.lo = 0;
    p.hi = 255;
  }
  maybe_random_bounds(gen, p.lo, p.hi);
  std::vector<std::uint8_t> want(n);
  quant::add_reference(a.data(), b.data(), want.data(), n, p);

  const int in_place = int(gen() % 4);  // 1: y = a, 2: y = b
  std::vector<std::uint8_t> got = in_place == 1 ? a : (in_place == 2 ? b : std::vector<std::uint8_t>(n, 0x5a));
  kernels::eltwise_add_args args;
  args.a = in_place == 1 ? got.data() : a.data();
  args.b = in_place == 2 ? got.data() : b.data();
  args.y = got.data();
  args.n = n;
  args.multiplier_a = p.multiplier_a;
  args.multiplier_b = p.multiplier_b;
  args.shift = p.shift;
  args.zero_point_a = p.zero_point_a;
  args.zero_point_b = p.zero_point_b;
  args.zero_point = p.zero_point;
  args.lo = p.lo;
  args.hi = p.hi;
  entry_of(path)->add(args);
  for (std::size_t i = 0; i < n; ++i) {
    if (got[i] != want[i]) {
      FAIL_CHECK("add arch " << kernels::to_string(path) << " seed " << seed << ": n=" << n << " m_a=" << p.multiplier_a
                             << " m_b=" << p.multiplier_b << " shift=" << p.shift << " z_a=" << p.zero_point_a
                             << " z_b=" << p.zero_point_b << " zp=" << p.zero_point << " [" << p.lo << ", " << p.hi
                             << "] in place " << in_place << ": element " << i << " (" << int(a[i]) << ", "
                             << int(b[i]) << ") = " << int(got[i]) << ", reference " << int(want[i]));
      return false;
    }
    cov.add(want[i], p.lo, p.hi);
  }
  return true;
}

bool scale_channels_case(arch path, std::uint64_t seed, coverage& cov) {
  std::mt19937_64 gen(seed);
  const std::size_t channels = ohq::test::pick_size(gen, channel_edges, 100);
  const std::size_t pixels = ohq::test::pick_size(gen, {1, 2, 3, 7, 9, 49}, 40);
  const std::vector<std::uint8_t> x = random_codes(gen, pixels * channels), gate = random_codes(gen, channels);
  quant::mul_params p;
  if (gen() % 3) {
    const auto qx = quant::u8_params(random_scale(gen, 3), random_zero_point(gen));
    const auto qg = quant::u8_params(float(1.0 / 256), gen() % 2 ? 0 : random_zero_point(gen));  // a sigmoid-like gate
    const auto qy = quant::u8_params(random_scale(gen, 1) / 8, random_zero_point(gen));
    p = quant::try_make_mul(qx, qg, qy, random_activation(gen)).value();
  } else {
    p.multiplier = {raw_multiplier(gen), 1 + std::int32_t(gen() % 62)};
    p.zero_point_a = random_zero_point(gen);
    p.zero_point_b = random_zero_point(gen);
    p.zero_point = random_zero_point(gen);
  }
  maybe_random_bounds(gen, p.lo, p.hi);
  std::vector<std::uint8_t> want_chw(x.size());
  quant::scale_channels_reference(to_chw(x, channels, pixels).data(), gate.data(), want_chw.data(), channels, pixels, p);

  std::vector<std::uint8_t> got(x.size(), 0x5a);
  kernels::scale_channels_args args;
  args.x = x.data();
  args.gate = gate.data();
  args.y = got.data();
  args.pixels = pixels;
  args.channels = channels;
  args.multiplier = p.multiplier.multiplier;
  args.shift = p.multiplier.shift;
  args.x_zero_point = p.zero_point_a;
  args.gate_zero_point = p.zero_point_b;
  args.zero_point = p.zero_point;
  args.lo = p.lo;
  args.hi = p.hi;
  entry_of(path)->scale_channels(args);
  for (std::size_t px = 0; px < pixels; ++px)
    for (std::size_t c = 0; c < channels; ++c) {
      const std::uint8_t want = want_chw[c * pixels + px], g = got[px * channels + c];
      if (g != want) {
        FAIL_CHECK("scale_channels arch " << kernels::to_string(path) << " seed " << seed << ": C=" << channels
                                          << " pixels=" << pixels << " m=" << p.multiplier.multiplier
                                          << " shift=" << p.multiplier.shift << " z_x=" << p.zero_point_a
                                          << " z_g=" << p.zero_point_b << " zp=" << p.zero_point << " [" << p.lo
                                          << ", " << p.hi << "]: pixel " << px << " channel " << c << " = " << int(g)
                                          << ", reference " << int(want));
        return false;
      }
      cov.add(want, p.lo, p.hi);
    }
  return true;
}

/// A random pooling geometry (every window has at least one pixel inside unless `empty_windows`).
kernels::pool_args random_pool(std::mt19937_64& gen, bool empty_windows) {
  kernels::pool_args a;
  a.channels = ohq::test::pick_size(gen, channel_edges, 70);
  a.kernel = 1 + gen() % 5;
  a.stride = 1 + gen() % 3;
  const std::size_t max_padding = empty_windows ? a.kernel : a.kernel - 1;
  a.padding = gen() % 3 == 0 ? 0 : gen() % (max_padding + 1);
  a.height = 1 + gen() % 11;
  a.width = 1 + gen() % 13;
  a.height = std::max(a.height + 2 * a.padding, a.kernel) - 2 * a.padding;  // at least one window
  a.width = std::max(a.width + 2 * a.padding, a.kernel) - 2 * a.padding;
  a.out_height = (a.height + 2 * a.padding - a.kernel) / a.stride + 1;
  a.out_width = (a.width + 2 * a.padding - a.kernel) / a.stride + 1;
  return a;
}

std::string describe(const kernels::pool_args& a) {
  std::ostringstream s;
  s << "C=" << a.channels << " H=" << a.height << " W=" << a.width << " k=" << a.kernel << " stride=" << a.stride
    << " padding=" << a.padding;
  return s.str();
}

/// Compares NHWC `got` with the reference's CHW `want_chw`.
bool same_pool_output(const char* op, arch path, std::uint64_t seed, const kernels::pool_args& a, const std::string& extra,
                      const std::vector<std::uint8_t>& want_chw, const std::vector<std::uint8_t>& got, coverage* cov) {
  const std::size_t pixels = a.out_height * a.out_width;
  for (std::size_t px = 0; px < pixels; ++px)
    for (std::size_t c = 0; c < a.channels; ++c) {
      const std::uint8_t want = want_chw[c * pixels + px], g = got[px * a.channels + c];
      if (g != want) {
        FAIL_CHECK(std::string(op) << " arch " << kernels::to_string(path) << " seed " << seed << ": " << describe(a) << extra
                      << ": output pixel " << px << " channel " << c << " = " << int(g) << ", reference " << int(want));
        return false;
      }
      if (cov) cov->add(want, a.lo, a.hi);
    }
  return true;
}

bool max_pool_case(arch path, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  kernels::pool_args a = random_pool(gen, true);
  const std::vector<std::uint8_t> x = random_codes(gen, a.height * a.width * a.channels);
  std::vector<std::uint8_t> want(a.channels * a.out_height * a.out_width);
  quant::max_pool2d_reference(to_chw(x, a.channels, a.height * a.width).data(), a.channels, a.height, a.width, a.kernel,
                              a.stride, a.padding, want.data());
  std::vector<std::uint8_t> got(want.size(), 0x5a);
  a.x = x.data();
  a.y = got.data();
  entry_of(path)->max_pool(a);
  return same_pool_output("max_pool", path, seed, a, "", want, got, nullptr);
}

bool avg_pool_case(arch path, std::uint64_t seed, coverage& cov) {
  std::mt19937_64 gen(seed);
  kernels::pool_args a = random_pool(gen, false);
  a.count_include_pad = gen() % 2;
  const std::vector<std::uint8_t> x = random_codes(gen, a.height * a.width * a.channels);
  const auto qin = quant::u8_params(random_scale(gen, 2), random_zero_point(gen));
  const auto qout = quant::u8_params(random_scale(gen, 2), random_zero_point(gen));
  quant::avg_pool_params p = quant::try_make_avg_pool(qin, qout, 1, a.kernel * a.kernel, random_activation(gen)).value();
  maybe_random_bounds(gen, p.lo, p.hi);
  std::vector<std::uint8_t> want(a.channels * a.out_height * a.out_width);
  quant::avg_pool2d_reference(to_chw(x, a.channels, a.height * a.width).data(), a.channels, a.height, a.width, a.kernel,
                              a.stride, a.padding, a.count_include_pad, p, want.data());
  std::vector<std::int32_t> m, s;
  for (const quant::fixed_multiplier& f : p.multipliers) {
    m.push_back(f.multiplier);
    s.push_back(f.shift);
  }
  std::vector<std::uint8_t> got(want.size(), 0x5a);
  a.x = x.data();
  a.y = got.data();
  a.multiplier = m.data();
  a.shift = s.data();
  a.first_count = p.first_count;
  a.in_zero_point = p.in_zero_point;
  a.zero_point = p.zero_point;
  a.lo = p.lo;
  a.hi = p.hi;
  entry_of(path)->avg_pool(a);
  std::ostringstream extra;
  extra << " count_include_pad=" << a.count_include_pad << " z_in=" << p.in_zero_point << " zp=" << p.zero_point << " ["
        << p.lo << ", " << p.hi << "]";
  return same_pool_output("avg_pool", path, seed, a, extra.str(), want, got, &cov);
}

bool global_avg_pool_case(arch path, std::uint64_t seed, coverage& cov) {
  std::mt19937_64 gen(seed);
  const std::size_t channels = ohq::test::pick_size(gen, channel_edges, 100);
  const std::size_t pixels = ohq::test::pick_size(gen, pixel_edges, 100);
  const std::vector<std::uint8_t> x = random_codes(gen, pixels * channels);
  const auto qin = quant::u8_params(random_scale(gen, 2), random_zero_point(gen));
  const auto qout = quant::u8_params(random_scale(gen, 2), random_zero_point(gen));
  quant::avg_pool_params p = quant::try_make_avg_pool(qin, qout, pixels, pixels, random_activation(gen)).value();
  maybe_random_bounds(gen, p.lo, p.hi);
  std::vector<std::uint8_t> want(channels);
  quant::global_avg_pool_reference(to_chw(x, channels, pixels).data(), channels, pixels, p, want.data());
  std::vector<std::uint8_t> got(channels, 0x5a);
  kernels::global_pool_args a;
  a.x = x.data();
  a.pixels = pixels;
  a.channels = channels;
  a.y = got.data();
  a.multiplier = p.multipliers[0].multiplier;
  a.shift = p.multipliers[0].shift;
  a.in_zero_point = p.in_zero_point;
  a.zero_point = p.zero_point;
  a.lo = p.lo;
  a.hi = p.hi;
  entry_of(path)->global_avg_pool(a);
  for (std::size_t c = 0; c < channels; ++c) {
    if (got[c] != want[c]) {
      FAIL_CHECK("global_avg_pool arch " << kernels::to_string(path) << " seed " << seed << ": C=" << channels
                                         << " pixels=" << pixels << " z_in=" << p.in_zero_point << " zp="
                                         << p.zero_point << " [" << p.lo << ", " << p.hi << "]: channel " << c << " = "
                                         << int(got[c]) << ", reference " << int(want[c]));
      return false;
    }
    cov.add(want[c], p.lo, p.hi);
  }
  return true;
}

bool lookup_case(arch path, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  const std::size_t n = ohq::test::pick_size(gen, length_edges, 300);
  const std::vector<std::uint8_t> x = random_codes(gen, n);
  quant::lut8 table;
  if (gen() % 2) {
    for (auto& t : table) t = static_cast<std::uint8_t>(gen());
  } else {
    const auto qin = quant::u8_params(random_scale(gen, 2), random_zero_point(gen));
    const auto qout = quant::u8_params(random_scale(gen, 2), random_zero_point(gen));
    table = quant::make_lut(qin, qout, quant::elementwise_op(gen() % 7));
  }
  std::vector<std::uint8_t> want(n);
  quant::apply_lut(table, x.data(), want.data(), n);
  const bool in_place = gen() % 3 == 0;
  std::vector<std::uint8_t> got = in_place ? x : std::vector<std::uint8_t>(n, 0x5a);
  kernels::lookup_args a;
  a.table = table.data();
  a.x = in_place ? got.data() : x.data();
  a.y = got.data();
  a.n = n;
  entry_of(path)->lookup(a);
  for (std::size_t i = 0; i < n; ++i)
    if (got[i] != want[i]) {
      FAIL_CHECK("lookup arch " << kernels::to_string(path) << " seed " << seed << ": n=" << n << " in place "
                                << in_place << ": element " << i << " (" << int(x[i]) << ") = " << int(got[i])
                                << ", reference " << int(want[i]));
      return false;
    }
  return true;
}

// ---------------------------------------------------------------------------------------------
// quantize: floats (CHW) -> u8 codes (HWC), quant::quantize bit for bit
// ---------------------------------------------------------------------------------------------

constexpr float inf_f = std::numeric_limits<float>::infinity();

std::string hex(double v) {
  std::ostringstream s;
  s << v << " (" << std::hexfloat << v << ")";
  return s.str();
}
float float_of_bits(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
/// The special floats: zeros, the smallest and largest, infinities, NaNs (quiet, signalling,
/// negative, with payloads).
std::vector<float> special_floats() {
  std::vector<float> v = {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::min(), -std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), inf_f, -inf_f,
                          std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::signaling_NaN(), float_of_bits(0x7FC12345u),
                          float_of_bits(0xFF800001u), float_of_bits(0x007FFFFFu), float_of_bits(0x80400000u),
                          1e12f, -1e12f, 2.147483648e9f, -2.147483648e9f, 1.0f, -1.0f, 0.5f, -0.5f};
  return v;
}
/// x, then `steps` floats up (> 0) or down (< 0).
float ulps_from(float x, int steps) {
  for (int i = 0; i < (steps < 0 ? -steps : steps); ++i) x = std::nextafter(x, steps > 0 ? inf_f : -inf_f);
  return x;
}
/// The float nearest the real input at code k + 1/2 (a rounding boundary), then `steps` ulps away.
float boundary_float(const quant::quant_params& p, double k, int steps) {
  return ulps_from(static_cast<float>((k - double(p.zero_point) + 0.5) * double(p.scale)), steps);
}

struct quantize_range {
  std::int32_t qmin, qmax;
};
const quantize_range quantize_ranges[] = {{0, 255},    {0, 255},   {0, 255},  {10, 200}, {0, 0},        {255, 255},
                                          {-128, 127}, {0, 127},   {100, 101}, {-5, 300}, {-100000, 100000}};
/// Scales: typical, non-powers of two, powers of two (exact ties), tiny (denormal too), huge.
const float quantize_scales[] = {0.05f, 1.0f / 255, 0.0173f, 2.0f / 255, 3.0f / 256, 0.25f, 1.0f, 100.0f, 1e-30f,
                                 1e-40f, std::numeric_limits<float>::min(), 1e30f, std::numeric_limits<float>::max(),
                                 std::numeric_limits<float>::epsilon()};
/// Degenerate scales (never chosen by calibration, but the kernels must still agree): 0 (x / 0 is
/// +-Inf or NaN), negative, Inf, NaN.
const float odd_scales[] = {0.0f, -0.0f, -0.03f, inf_f, std::numeric_limits<float>::quiet_NaN()};

quant::quant_params random_quantize_params(std::mt19937_64& gen) {
  const quantize_range r = quantize_ranges[gen() % std::size(quantize_ranges)];
  quant::quant_params p;
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  const unsigned s = unsigned(gen() % 16);
  p.scale = s == 0   ? odd_scales[gen() % std::size(odd_scales)]
            : s < 6  ? random_scale(gen, 6)
                     : quantize_scales[gen() % std::size(quantize_scales)];
  const std::int64_t width = std::int64_t(r.qmax) - r.qmin + 1;
  switch (gen() % 6) {
    case 0: p.zero_point = r.qmin; break;
    case 1: p.zero_point = r.qmax; break;
    case 2: p.zero_point = gen() % 2 ? r.qmin - 3 : r.qmax + 7; break;  // outside: NaN still gives it
    default: p.zero_point = r.qmin + std::int32_t(std::int64_t(gen() % std::uint64_t(width)));
  }
  return p;
}

/// A float to quantize with p: near the code grid, at and beside rounding boundaries, any bit
/// pattern, any magnitude, special.
float random_quantize_input(std::mt19937_64& gen, const quant::quant_params& p) {
  const double lo = double(p.qmin) - 8, hi = double(p.qmax) + 8;
  switch (gen() % 10) {
    case 0:
    case 1: return static_cast<float>((std::uniform_real_distribution<double>(lo, hi)(gen) - p.zero_point) * p.scale);
    case 2:
    case 3:
    case 4: {
      const double k = std::floor(std::uniform_real_distribution<double>(lo, hi)(gen));
      return boundary_float(p, k, int(gen() % 7) - 3);
    }
    case 5: return float_of_bits(std::uint32_t(gen()));
    case 6: {  // log-uniform magnitude over the whole float range, either sign
      const double e = std::uniform_real_distribution<double>(-150.0, 128.0)(gen);
      return static_cast<float>((gen() % 2 ? -1.0 : 1.0) * std::exp2(e));
    }
    case 7: {
      const std::vector<float> specials = special_floats();
      return specials[gen() % specials.size()];
    }
    case 8: return std::uniform_real_distribution<float>(-3.0f, 3.0f)(gen);  // a normalised image
    default: {  // a denormal or tiny float
      return float_of_bits(std::uint32_t(gen() % 0x01000000u) | (gen() % 2 ? 0x80000000u : 0u));
    }
  }
}

/// Runs path's quantize on x ([channels][pixels]) and compares with quant::quantize + the CHW -> HWC
/// transpose; false (after one FAIL_CHECK) on a mismatch or a write past y.
bool same_quantize(arch path, const std::string& what, const std::vector<float>& x, std::size_t channels,
                   std::size_t pixels, const quant::quant_params& p) {
  REQUIRE(x.size() == channels * pixels);
  std::vector<std::uint8_t> chw(x.size()), want(x.size());
  quant::quantize_reference(x.data(), chw.data(), x.size(), p);
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t px = 0; px < pixels; ++px) want[px * channels + c] = chw[c * pixels + px];
  constexpr std::size_t guard = 64;
  std::vector<std::uint8_t> got(x.size() + guard, 0x5a);
  kernels::quantize_args a;
  a.x = x.data();
  a.y = got.data();
  a.channels = channels;
  a.pixels = pixels;
  a.scale = p.scale;
  a.zero_point = p.zero_point;
  a.qmin = p.qmin;
  a.qmax = p.qmax;
  entry_of(path)->quantize(a);
  const std::string where = "quantize arch " + std::string(kernels::to_string(path)) + " " + what +
                            ": C=" + std::to_string(channels) + " P=" + std::to_string(pixels) + " scale=" +
                            hex(p.scale) + " zp=" + std::to_string(p.zero_point) + " [" + std::to_string(p.qmin) +
                            ", " + std::to_string(p.qmax) + "]";
  for (std::size_t i = 0; i < x.size(); ++i)
    if (got[i] != want[i]) {
      const std::size_t px = i / channels, c = i % channels;
      FAIL_CHECK(where << ": pixel " << px << " channel " << c << " x=" << hex(x[c * pixels + px]) << " -> "
                       << int(got[i]) << ", quant::quantize " << quant::quantize(x[c * pixels + px], p) << " (code "
                       << int(want[i]) << ")");
      return false;
    }
  for (std::size_t i = x.size(); i < got.size(); ++i)
    if (got[i] != 0x5a) {
      FAIL_CHECK(where << ": wrote byte " << i - x.size() << " past the end");
      return false;
    }
  return true;
}

const std::vector<std::size_t> quantize_channels = {1, 2, 3, 4, 5, 7, 16, 17};
const std::vector<std::size_t> quantize_pixels = {1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 97, 129};

bool quantize_case(arch path, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  const std::size_t channels = quantize_channels[gen() % quantize_channels.size()];
  const std::size_t pixels = ohq::test::pick_size(gen, quantize_pixels, 300);
  const quant::quant_params p = random_quantize_params(gen);
  std::vector<float> x(channels * pixels);
  for (auto& v : x) v = random_quantize_input(gen, p);
  return same_quantize(path, "seed " + std::to_string(seed), x, channels, pixels, p);
}

/// Runs `cases` seeds of one op on every supported path; `run(path, seed)` returns false on a mismatch.
template <class F>
void for_every_path(const char* op, std::uint64_t seed_base, F&& run) {
  const std::size_t cases = ohq::test::kernel_case_count();
  for (arch path : kernels::all_archs) {
    if (const ohq::status s = kernels::check_arch(path); !s.ok()) {
      MESSAGE("SKIPPED " << std::string(op) << " arch " << kernels::to_string(path) << ": " << s.message());
      continue;
    }
    const std::uint64_t seed0 = seed_base + std::uint64_t(path) * 1'000'003ull;
    MESSAGE(std::string(op) << " arch " << kernels::to_string(path) << ": " << cases << " cases, seeds " << seed0 << ".."
               << seed0 + cases - 1);
    for (std::size_t i = 0; i < cases; ++i)
      if (!run(path, seed0 + i)) break;
  }
}

}  // namespace

TEST_CASE("eltwise kernels: add bit-exact against add_reference") {
  coverage cov;
  for_every_path("add", 0xadd0'0000ull, [&](arch path, std::uint64_t seed) { return add_case(path, seed, cov); });
  cov.check("add");
}

TEST_CASE("eltwise kernels: add at the edges of the 32-bit digit arithmetic") {
  // the largest digit sums (|D| near 2^25) with every shift, and the products that cancel exactly
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    for (std::int32_t shift = 1; shift <= 62; ++shift)
      for (const auto& multipliers : {std::pair{0x7FFFFFFF, 0x7FFFFFFF}, std::pair{0x7FFFFFFF, 0x40000000},
                                      std::pair{0x40000000, 0}, std::pair{0x7FFF8000, 0x00007FFF}})
        for (const auto& zero_points : {std::pair{0, 255}, std::pair{255, 0}, std::pair{128, 128}}) {
          // named copies, not structured bindings: doctest's message lambda captures them
          const std::int32_t ma = multipliers.first, mb = multipliers.second;
          const std::int32_t za = zero_points.first, zb = zero_points.second;
          std::vector<std::uint8_t> a(256 * 3), b(a.size()), want(a.size()), got(a.size());
          for (std::size_t i = 0; i < a.size(); ++i) {
            a[i] = static_cast<std::uint8_t>(i);
            b[i] = static_cast<std::uint8_t>(i / 3 + (i % 3) * 85);
          }
          const quant::add_params p{ma, mb, shift, za, zb, 128, 0, 255};
          quant::add_reference(a.data(), b.data(), want.data(), a.size(), p);
          kernels::eltwise_add_args args{a.data(), b.data(), got.data(), a.size(), ma, mb, shift, za, zb, 128, 0, 255};
          entry_of(path)->add(args);
          CHECK_MESSAGE(got == want, "arch " << kernels::to_string(path) << " m_a=" << ma << " m_b=" << mb
                                             << " shift=" << shift << " z_a=" << za << " z_b=" << zb);
        }
  }
}

TEST_CASE("eltwise kernels: scale_channels bit-exact against scale_channels_reference") {
  coverage cov;
  for_every_path("scale_channels", 0x5ca1'0000ull,
                 [&](arch path, std::uint64_t seed) { return scale_channels_case(path, seed, cov); });
  cov.check("scale_channels");
}

TEST_CASE("eltwise kernels: scale_channels at the edges of the 32-bit rounding") {
  // the largest products |(x - z_x) * (g - z_g)| = 255^2 with the largest multipliers, every shift
  constexpr std::size_t pixels = 16, channels = 256;
  std::vector<std::uint8_t> x(pixels * channels), gate(channels);
  std::mt19937_64 gen(0x5ca1e);
  for (std::size_t c = 0; c < channels; ++c) gate[c] = static_cast<std::uint8_t>(c);
  const std::uint8_t x_codes[pixels] = {0, 1, 2, 127, 128, 129, 253, 254, 255};
  for (std::size_t px = 0; px < pixels; ++px)
    for (std::size_t c = 0; c < channels; ++c)
      x[px * channels + c] = px < 9 ? x_codes[px] : static_cast<std::uint8_t>(gen());
  const std::vector<std::uint8_t> x_chw = to_chw(x, channels, pixels);
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    for (std::int32_t shift = 1; shift <= 62; ++shift)
      for (const std::int32_t m : {0x7FFFFFFF, 0x40000000, 0x5A5A5A5A, 1})
        for (const auto& zero_points : {std::pair{0, 255}, std::pair{255, 0}, std::pair{0, 0}}) {
          const std::int32_t zx = zero_points.first, zg = zero_points.second;
          const quant::mul_params p{{m, shift}, zx, zg, 128, 0, 255};
          std::vector<std::uint8_t> want_chw(x.size()), got(x.size());
          quant::scale_channels_reference(x_chw.data(), gate.data(), want_chw.data(), channels, pixels, p);
          kernels::scale_channels_args args{x.data(), gate.data(), got.data(), pixels, channels, m, shift, zx, zg,
                                            128, 0, 255};
          entry_of(path)->scale_channels(args);
          CHECK_MESSAGE(to_chw(got, channels, pixels) == want_chw,
                        "arch " << kernels::to_string(path) << " m=" << m << " shift=" << shift << " z_x=" << zx
                                << " z_g=" << zg);
        }
  }
}

TEST_CASE("eltwise kernels: max_pool bit-exact against max_pool2d_reference") {
  for_every_path("max_pool", 0x3a80'0000ull, [&](arch path, std::uint64_t seed) { return max_pool_case(path, seed); });
}

TEST_CASE("eltwise kernels: avg_pool bit-exact against avg_pool2d_reference") {
  coverage cov;
  for_every_path("avg_pool", 0xa960'0000ull, [&](arch path, std::uint64_t seed) { return avg_pool_case(path, seed, cov); });
  cov.check("avg_pool");
}

TEST_CASE("eltwise kernels: global_avg_pool bit-exact against global_avg_pool_reference") {
  coverage cov;
  for_every_path("global_avg_pool", 0x6a90'0000ull,
                 [&](arch path, std::uint64_t seed) { return global_avg_pool_case(path, seed, cov); });
  cov.check("global_avg_pool");
}

TEST_CASE("eltwise kernels: lookup bit-exact against apply_lut") {
  for_every_path("lookup", 0x1007'0000ull, [&](arch path, std::uint64_t seed) { return lookup_case(path, seed); });
}

TEST_CASE("eltwise kernels: quantize bit-exact against quant::quantize, CHW -> HWC") {
  for_every_path("quantize", 0x9a47'0000ull, [&](arch path, std::uint64_t seed) { return quantize_case(path, seed); });
}

TEST_CASE("eltwise kernels: quantize beside every rounding boundary and on special floats") {
  // for every code k in [qmin - 3, qmax + 3]: the float nearest the real boundary (k + 1/2) * scale
  // and 1..3 ulps either side (exact ties where the scale makes them representable), then the
  // special floats; laid out as 1, 3, 4, 16 and 17 channels
  const quant::quant_params params[] = {
      quant::u8_params(0.25f, 128),        quant::u8_params(3.0f / 256, 0),  quant::u8_params(1.0f / 255, 255),
      quant::u8_params(0.0173f, 37),       quant::u8_params(2.0f / 255, 128), quant::u8_params(1e-30f, 3),
      quant::u8_params(1e-40f, 200),       quant::u8_params(1e30f, 100),     quant::u8_params(0.05f, 0),
      {0.0375f, 64, 10, 200},              {0.5f, 0, -128, 127},             {0.02f, 300, -5, 300},
      {1.0f / 3, 77, 77, 77},              {0.1f, -40, 0, 255},
  };
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    for (const quant::quant_params& p : params) {
      std::vector<float> x;
      for (std::int64_t k = std::int64_t(p.qmin) - 3; k <= std::int64_t(p.qmax) + 3; ++k)
        for (int steps = -3; steps <= 3; ++steps) x.push_back(boundary_float(p, double(k), steps));
      for (const float v : special_floats()) x.push_back(v);
      for (const std::size_t channels : {1, 3, 4, 16, 17}) {
        std::vector<float> laid = x;
        laid.resize((x.size() + channels - 1) / channels * channels, 0.0f);
        if (!same_quantize(path, "boundaries", laid, channels, laid.size() / channels, p)) break;
      }
    }
  }
}

TEST_CASE("eltwise kernels: quantize exact ties round half up, both signs") {
  // scales whose multiples (k + 1/2) * scale are floats: the quotient is exactly k + 1/2 and
  // must round to k + 1 (also for negative k: -2.5 -> -2)
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    for (const float scale : {1.0f, 0.25f, 3.0f / 256, 1.5f, 0x1p-100f, 0x1p+100f})
      for (const std::int32_t zp : {0, 1, 128, 255}) {
        const quant::quant_params p = quant::u8_params(scale, zp);
        std::vector<float> x;
        for (std::int32_t k = -300; k <= 300; ++k) {
          const double real = (k + 0.5) * double(scale);
          REQUIRE(double(static_cast<float>(real)) == real);
          x.push_back(static_cast<float>(real));
        }
        for (const std::size_t channels : {1, 3}) {
          std::vector<float> laid = x;
          laid.resize((x.size() + channels - 1) / channels * channels, 0.0f);
          if (!same_quantize(path, "ties", laid, channels, laid.size() / channels, p)) break;
        }
      }
  }
  CHECK(quant::quantize(-0.5f, quant::u8_params(1.0f, 128)) == 128);  // round half up: -0.5 -> 0
  CHECK(quant::quantize(0.5f, quant::u8_params(1.0f, 128)) == 129);
}

TEST_CASE("eltwise kernels: quantize a 224x224 image, 1, 3, 4, 16 and 17 channels") {
  std::mt19937_64 gen(0x224'224);
  constexpr std::size_t pixels = 224 * 224;
  for (const std::size_t channels : {1, 3, 4, 16, 17}) {
    const std::uint64_t seed = gen();
    std::mt19937_64 g(seed);
    const quant::quant_params p = channels == 3 ? quant::u8_params(0.0186f, 114) : random_quantize_params(g);
    std::vector<float> x(channels * pixels);
    for (auto& v : x) v = random_quantize_input(g, p);
    for (arch path : kernels::all_archs) {
      if (!kernels::check_arch(path).ok()) continue;
      same_quantize(path, "224x224 seed " + std::to_string(seed), x, channels, pixels, p);
    }
  }
}

TEST_CASE("eltwise kernels: every built path has an entry; AVX-512 runs the AVX2 kernels") {
  for (arch path : kernels::all_archs) {
    if (!kernels::check_arch(path).ok()) continue;
    const kernels::eltwise_kernel_entry* k = entry_of(path);
    CHECK(std::string(k->name).find(path == arch::scalar ? "scalar" : "avx2") == 0);
  }
}

// SPDX-License-Identifier: MIT
// W8A8 GEMM: every arch path this machine supports, bit-exact against quant::gemm_reference on
// thousands of random shapes (1, primes, tails around every tile size), random zero points,
// scales giving saturated and mid-range outputs, fused ReLU/ReLU6 bounds, u8 and s8 outputs,
// dense and conv output layouts, row sub-ranges, and split over thread pools of 2 and 3 threads
// (bit-identical to one thread). Each case has its own seed, printed on failure.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include <doctest/doctest.h>

#include "../support/kernel_cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ohq;
using kernels::arch;

namespace {

const std::vector<std::size_t> m_edges = {1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33,
                                          47, 48, 49, 63, 64, 65, 67, 97, 127, 128, 129, 131, 191, 192, 193};
const std::vector<std::size_t> n_edges = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 17, 18, 19, 23, 24, 25, 29, 31};
const std::vector<std::size_t> k_edges = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                          127, 128, 129, 255, 256, 257, 509, 576, 1031};

struct stats {
  std::size_t outputs = 0, at_bound = 0, inside = 0;
};

template <class Out>
bool run_case(arch path, std::uint64_t seed, std::size_t max_m, std::size_t max_n, std::size_t max_k, stats& st) {
  std::mt19937_64 gen(seed);
  const std::size_t m = test::pick_size(gen, m_edges, max_m), n = test::pick_size(gen, n_edges, max_n),
                    k = test::pick_size(gen, k_edges, max_k);
  const std::size_t extra_rows = gen() % 3 == 0 ? gen() % 20 : 0;
  const std::size_t row_begin = extra_rows ? gen() % (extra_rows + 1) : 0;
  const std::size_t total_rows = m + extra_rows;
  const unsigned bits = 5 + unsigned(gen() % 4);

  quant::quantized_weights w;
  w.format = quant::weight_format_of(bits);
  w.rows = total_rows;
  w.cols = k;
  w.codes.resize(total_rows * k);
  w.scales.assign(total_rows, 1.0f);
  const int wmode = int(gen() % 4);  // uniform, extremes only, mostly small, all max negative
  std::uniform_int_distribution<int> wcode(w.format.code_min, w.format.code_max);
  for (auto& c : w.codes) {
    int v = wcode(gen);
    if (wmode == 1) v = gen() % 2 ? w.format.code_min : w.format.code_max;
    if (wmode == 2) v = int(gen() % 5) - 2;
    if (wmode == 3 && gen() % 4) v = w.format.code_min;
    c = static_cast<std::int8_t>(v);
  }

  const std::size_t ldx = k + (gen() % 3 == 0 ? gen() % 5 : 0);
  std::vector<std::uint8_t> x(n * ldx);
  const int xmode = int(gen() % 4);
  for (auto& v : x) {
    v = static_cast<std::uint8_t>(gen());
    if (xmode == 1) v = gen() % 2 ? 255 : 0;
    if (xmode == 2 && gen() % 4) v = 255;
  }
  const std::int32_t x_zp = gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);

  std::vector<std::int32_t> bias(total_rows);
  const bool use_bias = gen() % 5 != 0;
  for (auto& b : bias) b = std::int32_t(gen() % 200001) - 100000;

  // multipliers from 2^-24 (everything rounds to ~zp) to 2^-4 (mostly saturated); some zero
  quant::requant_params rq;
  rq.multiplier.resize(total_rows);
  rq.shift.resize(total_rows);
  const double centre = -std::log2(double(k) * 64.0 * 16.0) + double(int(gen() % 9) - 4);
  for (std::size_t r = 0; r < total_rows; ++r) {
    const double e = std::clamp(centre + std::uniform_real_distribution<double>(-2.0, 2.0)(gen), -60.0, 8.0);
    const double real = gen() % 50 == 0 ? 0.0 : std::exp2(e);
    const auto f = quant::try_make_multiplier(real).value();
    rq.multiplier[r] = f.multiplier;
    rq.shift[r] = f.shift;
  }
  const bool s8 = std::is_same_v<Out, std::int8_t>;
  const std::int32_t qmin = s8 ? -128 : 0, qmax = s8 ? 127 : 255;
  rq.zero_point = s8 ? 0 : std::int32_t(gen() % 256);
  if (gen() % 3 == 0) rq.zero_point = std::int32_t(gen() % 256) + qmin;
  rq.lo = qmin;
  rq.hi = qmax;
  const int act = int(gen() % 3);  // none, relu (lo = zp), relu6-like (hi narrowed too)
  if (act >= 1) rq.lo = std::max(qmin, rq.zero_point);
  if (act == 2) rq.hi = std::clamp(rq.zero_point + std::int32_t(gen() % 128), rq.lo, qmax);

  quant::output_layout layout;
  std::size_t y_size = 0;
  switch (gen() % 3) {
    case 0: layout = {1, m}; y_size = n * m; break;                    // dense [n][m]
    case 1: layout = {n, 1}; y_size = m * n; break;                    // conv [m][n]
    default: layout = {n + 3, 1}; y_size = m * (n + 3); break;         // strided rows
  }
  const Out sentinel = static_cast<Out>(0x5a);
  std::vector<Out> want(y_size, sentinel), got(y_size, sentinel);
  quant::gemm_reference(x.data(), n, ldx, x_zp, w, row_begin, m, use_bias ? bias.data() : nullptr, rq, want.data(),
                        layout);
  auto g = kernels::gemm_w8a8::try_prepare(w, row_begin, m, path);
  REQUIRE_MESSAGE(g.has_value(), "seed ", seed, ": ", (g ? "" : g.error().what()));
  g->run(x.data(), n, ldx, x_zp, use_bias ? bias.data() : nullptr, rq, got.data(), layout);

  for (std::size_t i = 0; i < y_size; ++i)
    if (want[i] != got[i]) {
      std::ostringstream msg;
      msg << "arch " << kernels::to_string(path) << " seed " << seed << ": M=" << m << " N=" << n << " K=" << k
          << " bits=" << bits << " rows [" << row_begin << ", " << row_begin + m << ") of " << total_rows
          << " ldx=" << ldx << " x_zp=" << x_zp << " out " << (s8 ? "s8" : "u8") << " zp=" << rq.zero_point << " ["
          << rq.lo << ", " << rq.hi << "] layout {" << layout.channel_stride << ", " << layout.column_stride
          << "} bias " << use_bias << ": y[" << i << "] = " << int(got[i]) << ", reference " << int(want[i]);
      FAIL_CHECK(msg.str());
      return false;
    }
  // Implicit im2col (kernels whose entry has `windows`): the same columns scattered as runs of a
  // random window geometry give the same bytes.
  if (g->kernel().windows && k % 4 == 0) {
    const test::scattered_windows sw = test::scatter_windows(gen, x.data(), n, ldx, k, 4);
    const kernels::gemm_windows& wd = sw.windows;
    std::vector<Out> windowed(y_size, sentinel);
    g->run_windows(sw.bytes.data(), n, sw.ldx, wd, x_zp, use_bias ? bias.data() : nullptr, rq, windowed.data(),
                   layout);
    if (windowed != got) {
      FAIL_CHECK("arch " << kernels::to_string(path) << " seed " << seed << ": M=" << m << " N=" << n << " K=" << k
                         << " windows {" << wd.runs << ", " << wd.width << ", " << wd.row_stride << ", "
                         << wd.run_stride << "} ldx " << sw.ldx << " differ from plain columns");
      return false;
    }
  }
  // Split over a thread pool (row tiles for few columns, column blocks for many): every output
  // still computed once, so bit-identical to one thread, for any pool size.
  static thread_pool pools[] = {thread_pool(2), thread_pool(3)};
  for (thread_pool& pool : pools) {
    std::vector<Out> threaded(y_size, sentinel);
    g->run(pool, x.data(), n, ldx, x_zp, use_bias ? bias.data() : nullptr, rq, threaded.data(), layout);
    if (threaded != got) {
      FAIL_CHECK("arch " << kernels::to_string(path) << " seed " << seed << ": M=" << m << " N=" << n << " K=" << k
                         << " on " << pool.size() << " threads differs from one thread");
      return false;
    }
  }
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      const int v = want[j * layout.channel_stride + i * layout.column_stride];
      ++st.outputs;
      (v == rq.lo || v == rq.hi ? st.at_bound : st.inside) += 1;
    }
  return true;
}

void run_path(arch path, std::size_t cases, std::uint64_t seed0, std::size_t max_m, std::size_t max_n,
              std::size_t max_k) {
  if (const ohq::status s = kernels::check_arch(path); !s.ok()) {
    MESSAGE("SKIPPED arch " << kernels::to_string(path) << ": " << s.message());
    return;
  }
  stats st;
  std::size_t passed = 0;
  for (std::size_t c = 0; c < cases; ++c) {
    const std::uint64_t seed = seed0 + c;
    const bool ok = c % 2 ? run_case<std::uint8_t>(path, seed, max_m, max_n, max_k, st)
                          : run_case<std::int8_t>(path, seed, max_m, max_n, max_k, st);
    if (!ok) break;  // one report per path: the seed reproduces it
    ++passed;
  }
  MESSAGE("arch " << kernels::to_string(path) << ": " << passed << "/" << cases << " cases bit-exact, "
                  << st.outputs << " outputs (" << st.at_bound << " at a clamp bound, " << st.inside << " inside)");
  CHECK(passed == cases);
  // the scale ranges must exercise both saturation and the rounding in the middle (given enough cases)
  if (cases >= 50) {
    CHECK(st.at_bound > st.outputs / 20);
    CHECK(st.inside > st.outputs / 5);
  }
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("gemm_w8a8 is bit-exact on random small shapes, every arch") {
    const std::size_t cases = test::kernel_case_count();
    for (arch a : kernels::all_archs) run_path(a, cases, 0x5eed0000u, 140, 30, 300);
  }

  TEST_CASE("gemm_w8a8 is bit-exact on larger shapes, every arch") {
    const std::size_t cases = std::max<std::size_t>(test::kernel_case_count() / 50, 4);
    for (arch a : kernels::all_archs) run_path(a, cases, 0xb16b0000u, 300, 70, 2500);
  }

  TEST_CASE("gemm_w8a8 matches the reference at the int32 accumulation limit") {
    // K large, |x - zp| and |w| maximal: the accumulator nears int32 (the reference's bound) while
    // x * w partial sums wrap in the kernels; the wrapped arithmetic must still be exact.
    const std::size_t k = 70000, m = 9, n = 3;  // sum x * w alone overflows int32
    quant::quantized_weights w{quant::weight_format_of(8), m, k, std::vector<std::int8_t>(m * k, -128),
                               std::vector<float>(m, 1.0f)};
    for (std::size_t r = 0; r < m; ++r) w.codes[r * k + r] = 127;
    std::vector<std::uint8_t> x(n * k, 255);
    quant::requant_params rq{std::vector<std::int32_t>(m, 1 << 30), std::vector<std::int32_t>(m, 53), 200, 0, 255};
    for (arch a : kernels::all_archs) {
      if (!kernels::check_arch(a).ok()) {
        MESSAGE("SKIPPED arch " << kernels::to_string(a));
        continue;
      }
      for (std::int32_t zp : {255, 200, 180}) {
        std::vector<std::uint8_t> want(m * n), got(m * n);
        quant::gemm_reference(x.data(), n, k, zp, w, 0, m, nullptr, rq, want.data(), quant::output_layout{n, 1});
        kernels::gemm_w8a8::prepare(w, a).run(x.data(), n, k, zp, nullptr, rq, got.data(), quant::output_layout{n, 1});
        CHECK_MESSAGE(want == got, "arch ", kernels::to_string(a), " zp ", zp);
      }
    }
  }
}

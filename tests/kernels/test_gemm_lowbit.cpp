// SPDX-License-Identifier: MIT
// Low-bit GEMM families (W4A8, W2A8, W1A8) through the `gemm` facade: every family of
// kernels/instances.hpp on every arch path this machine supports, bit-exact against
// quant::gemm_reference on thousands of random shapes (1, primes, tails around every panel, tile
// and int16-flush size), full code ranges with all-min/all-max extremes, 0/255 activations, zero
// points, bias or none, multipliers from tiny to large, u8/s8 outputs, clamp bounds, dense/conv/
// strided layouts, row sub-ranges; K = 70000 and an int32-wrapping dot. Then the facade's choice
// of family per bit-width and the AVX-512 -> AVX2 fallback of the LUT kernels. Seeds are printed on failure.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include <doctest/doctest.h>

#include "../support/kernel_cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace ohq;
using kernels::arch;

namespace {

// rows: around the 16-row panel and 8-row halves; columns: around the avx2 tile (4) and its tails;
// k: around every panel (4, 8, 16 k) and every int16 flush point (32, 128, 256 k)
const std::vector<std::size_t> m_edges = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 64, 65, 97, 127, 128, 129};
const std::vector<std::size_t> n_edges = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 16, 17, 19, 23};
const std::vector<std::size_t> k_edges = {1,   2,   3,   4,   5,   7,   8,   9,   13,  15,  16,  17,  24,  31,  32,
                                          33,  63,  64,  65,  96,  127, 128, 129, 255, 256, 257, 383, 384, 385, 511,
                                          512, 513, 576, 769, 1023, 1024, 1025, 1031};

struct stats {
  std::size_t outputs = 0, at_bound = 0, inside = 0;
};

/// One random case of storage width `storage` on `path`; weights of `bits` <= storage bits.
template <class Out>
bool run_case(arch path, unsigned storage, std::uint64_t seed, std::size_t max_m, std::size_t max_n, std::size_t max_k,
              stats& st) {
  std::mt19937_64 gen(seed);
  const std::size_t m = test::pick_size(gen, m_edges, max_m), n = test::pick_size(gen, n_edges, max_n),
                    k = test::pick_size(gen, k_edges, max_k);
  const std::size_t extra_rows = gen() % 3 == 0 ? gen() % 40 : 0;
  const std::size_t row_begin = extra_rows ? gen() % (extra_rows + 1) : 0;
  const std::size_t total_rows = m + extra_rows;
  // the family's own widths mostly (4: 4 and 3 bits); narrower codes on a wider kernel sometimes
  unsigned bits = storage == 4 ? 3 + unsigned(gen() % 2) : storage;
  if (storage > 1 && gen() % 6 == 0) bits = 1 + unsigned(gen() % storage);
  const bool explicit_instance = kernels::gemm_default_storage_bits(bits, k) != storage;

  quant::quantized_weights w;
  w.format = quant::weight_format_of(bits);
  w.rows = total_rows;
  w.cols = k;
  w.codes.resize(total_rows * k);
  w.scales.assign(total_rows, 1.0f);
  const int wmode = int(gen() % 6);  // uniform, extremes, all min, all max, mostly min, small
  std::uniform_int_distribution<int> wcode(w.format.code_min, w.format.code_max);
  for (auto& c : w.codes) {
    int v = wcode(gen);
    if (wmode == 1) v = gen() % 2 ? w.format.code_min : w.format.code_max;
    if (wmode == 2) v = w.format.code_min;
    if (wmode == 3) v = w.format.code_max;
    if (wmode == 4 && gen() % 4) v = w.format.code_min;
    if (wmode == 5) v = std::clamp(int(gen() % 3) - 1, w.format.code_min, w.format.code_max);
    if (bits == 1 && v == 0) v = 1;
    c = static_cast<std::int8_t>(v);
  }

  const std::size_t ldx = k + (gen() % 3 == 0 ? gen() % 5 : 0);
  std::vector<std::uint8_t> x(n * ldx);
  const int xmode = int(gen() % 5);  // uniform, 0/255, mostly 255, all 255, all 0
  for (auto& v : x) {
    v = static_cast<std::uint8_t>(gen());
    if (xmode == 1) v = gen() % 2 ? 255 : 0;
    if (xmode == 2 && gen() % 4) v = 255;
    if (xmode == 3) v = 255;
    if (xmode == 4) v = 0;
  }
  const std::int32_t x_zp = gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);

  std::vector<std::int32_t> bias(total_rows);
  const bool use_bias = gen() % 5 != 0;
  for (auto& b : bias) b = std::int32_t(gen() % 200001) - 100000;

  // multipliers around the accumulators' scale (tiny: all ~zp; large: saturated); some zero
  quant::requant_params rq;
  rq.multiplier.resize(total_rows);
  rq.shift.resize(total_rows);
  const double max_w = std::max(std::abs(double(w.format.code_min)), double(w.format.code_max));
  const double centre = -std::log2(double(k) * 64.0 * max_w) + double(int(gen() % 9) - 4);
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
  const int act = int(gen() % 3);
  if (act >= 1) rq.lo = std::max(qmin, rq.zero_point);
  if (act == 2) rq.hi = std::clamp(rq.zero_point + std::int32_t(gen() % 128), rq.lo, qmax);

  quant::output_layout layout;
  std::size_t y_size = 0;
  switch (gen() % 3) {
    case 0: layout = {1, m}; y_size = n * m; break;             // dense [n][m]
    case 1: layout = {n, 1}; y_size = m * n; break;             // conv [m][n]
    default: layout = {n + 3, 1}; y_size = m * (n + 3); break;  // strided rows
  }
  const Out sentinel = static_cast<Out>(0x5a);
  std::vector<Out> want(y_size, sentinel), got(y_size, sentinel);
  quant::gemm_reference(x.data(), n, ldx, x_zp, w, row_begin, m, use_bias ? bias.data() : nullptr, rq, want.data(),
                        layout);
  auto g = explicit_instance ? kernels::gemm::try_prepare(w, row_begin, m, kernels::gemm_instance{storage, path})
                             : kernels::gemm::try_prepare(w, row_begin, m, path);
  REQUIRE_MESSAGE(g.has_value(), "seed ", seed, ": ", (g ? "" : g.error().what()));
  REQUIRE(g->kernel().weight_bits == storage);
  g->run(x.data(), n, ldx, x_zp, use_bias ? bias.data() : nullptr, rq, got.data(), layout);

  for (std::size_t i = 0; i < y_size; ++i)
    if (want[i] != got[i]) {
      std::ostringstream msg;
      msg << g->kernel().name << " (arch " << kernels::to_string(path) << ") seed " << seed << ": M=" << m
          << " N=" << n << " K=" << k << " bits=" << bits << " wmode " << wmode << " xmode " << xmode << " rows ["
          << row_begin << ", " << row_begin + m << ") of " << total_rows << " ldx=" << ldx << " x_zp=" << x_zp
          << " out " << (s8 ? "s8" : "u8") << " zp=" << rq.zero_point << " [" << rq.lo << ", " << rq.hi
          << "] layout {" << layout.channel_stride << ", " << layout.column_stride << "} bias " << use_bias << ": y["
          << i << "] = " << int(got[i]) << ", reference " << int(want[i]);
      FAIL_CHECK(msg.str());
      return false;
    }
  // Implicit im2col where the kernel reads it: the same columns scattered as runs of whole panels
  const std::size_t panel_k = 16 / storage;
  if (g->supports_windows(panel_k) && k % panel_k == 0) {
    const test::scattered_windows sw = test::scatter_windows(gen, x.data(), n, ldx, k, panel_k);
    const kernels::gemm_windows& wd = sw.windows;
    std::vector<Out> windowed(y_size, sentinel);
    g->run_windows(sw.bytes.data(), n, sw.ldx, wd, x_zp, use_bias ? bias.data() : nullptr, rq, windowed.data(),
                   layout);
    if (windowed != got) {
      FAIL_CHECK(std::string(g->kernel().name) << " seed " << seed << ": M=" << m << " N=" << n << " K=" << k
                                               << " windows {" << wd.runs << ", " << wd.width << ", "
                                               << wd.row_stride << ", " << wd.run_stride << "} ldx " << sw.ldx
                                               << " differ from plain columns");
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

void run_family(arch path, unsigned storage, std::size_t cases, std::uint64_t seed0, std::size_t max_m,
                std::size_t max_n, std::size_t max_k) {
  auto kernel = kernels::try_gemm_lowbit_kernel(storage, path);
  if (!kernel) {
    MESSAGE("SKIPPED w" << storage << "a8 arch " << kernels::to_string(path) << ": " << kernel.error().message());
    return;
  }
  stats st;
  std::size_t passed = 0;
  for (std::size_t c = 0; c < cases; ++c) {
    const std::uint64_t seed = seed0 + 1000003u * storage + c;
    const bool ok = c % 2 ? run_case<std::uint8_t>(path, storage, seed, max_m, max_n, max_k, st)
                          : run_case<std::int8_t>(path, storage, seed, max_m, max_n, max_k, st);
    if (!ok) break;  // one report per family and path: the seed reproduces it
    ++passed;
  }
  MESSAGE(std::string((*kernel)->name) << " (arch " << kernels::to_string(path) << "): " << passed << "/" << cases
                          << " cases bit-exact, " << st.outputs << " outputs (" << st.at_bound << " at a clamp bound, "
                          << st.inside << " inside)");
  CHECK(passed == cases);
  if (cases >= 50) {
    CHECK(st.at_bound > st.outputs / 20);
    CHECK(st.inside > st.outputs / 5);
  }
}

/// Every low-bit line of the instance list, on every path.
template <class F>
void for_each_lowbit_family(F f) {
  for (unsigned storage : kernels::gemm_storage_bits)
    if (storage < 8)
      for (arch a : kernels::all_archs)
        if (kernels::resolve_gemm_instance(storage, a)) f(storage, a);
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("low-bit gemm families are bit-exact on random small shapes, every arch") {
    const std::size_t cases = std::max<std::size_t>(test::kernel_case_count() / 3, 20);
    for_each_lowbit_family([&](unsigned storage, arch a) { run_family(a, storage, cases, 0x10b170000u, 140, 30, 300); });
  }

  TEST_CASE("low-bit gemm families are bit-exact on larger shapes, every arch") {
    const std::size_t cases = std::max<std::size_t>(test::kernel_case_count() / 100, 4);
    for_each_lowbit_family([&](unsigned storage, arch a) { run_family(a, storage, cases, 0xb1640000u, 300, 70, 3000); });
  }

  TEST_CASE("low-bit gemm families match the reference at K = 70000 and when the dot product wraps int32") {
    // All x = 255 and extreme weights: every int16 partial sum at its bound, many flushes. With
    // K = 1.1M the dot product sum x * w alone leaves int32 (x = 255, w = -8: -2.2e9) while the
    // accumulator (x - 254) * w fits: the wrapped arithmetic must still be exact.
    for (unsigned storage : {4u, 2u, 1u})
      for (std::size_t k : {std::size_t{70000}, std::size_t{1100000}}) {
        if (k > 70000 && storage != 4) continue;
        const std::size_t m = 17, n = 3;
        const auto format = quant::weight_format_of(storage);
        quant::quantized_weights w{format, m, k, std::vector<std::int8_t>(m * k, std::int8_t(format.code_min)),
                                   std::vector<float>(m, 1.0f)};
        for (std::size_t r = 0; r < m; ++r) w.codes[r * k + r] = std::int8_t(format.code_max);
        std::vector<std::uint8_t> x(n * k, 255);
        quant::requant_params rq{std::vector<std::int32_t>(m, 1 << 30), std::vector<std::int32_t>(m, 45), 100, 0, 255};
        for (arch a : kernels::all_archs) {
          if (!kernels::try_gemm_lowbit_kernel(storage, a)) {
            MESSAGE("SKIPPED w" << storage << "a8 arch " << kernels::to_string(a));
            continue;
          }
          for (std::int32_t zp : {255, 254, 200}) {
            if (k > 70000 && zp == 200) continue;  // (x - 200) * w * K would leave int32
            std::vector<std::uint8_t> want(m * n), got(m * n);
            quant::gemm_reference(x.data(), n, k, zp, w, 0, m, nullptr, rq, want.data(), quant::output_layout{n, 1});
            kernels::gemm::prepare(w, a).run(x.data(), n, k, zp, nullptr, rq, got.data(), quant::output_layout{n, 1});
            CHECK_MESSAGE(want == got, "w", storage, "a8 arch ", kernels::to_string(a), " K ", k, " zp ", zp);
          }
        }
      }
  }

  TEST_CASE("gemm over a thread pool is bit-identical to one thread, every family and arch") {
    ohq::thread_pool pool(3);
    std::mt19937_64 gen(0x9001);
    for (unsigned storage : kernels::gemm_storage_bits)
      for (arch a : kernels::all_archs) {
        if (!kernels::check_arch(a).ok()) continue;
        for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{50}}) {
          const std::size_t m = 75, k = 133;
          const auto format = quant::weight_format_of(storage == 4 ? 3 : storage);
          quant::quantized_weights w{format, m + 5, k, std::vector<std::int8_t>((m + 5) * k), std::vector<float>(m + 5, 1.0f)};
          std::uniform_int_distribution<int> code(format.code_min, format.code_max);
          for (auto& c : w.codes) c = std::int8_t(storage == 1 ? (gen() % 2 ? 1 : -1) : code(gen));
          std::vector<std::uint8_t> x(n * k);
          for (auto& v : x) v = std::uint8_t(gen());
          std::vector<std::int32_t> bias(m + 5, 1000);
          quant::requant_params rq{std::vector<std::int32_t>(m + 5, 1 << 30), std::vector<std::int32_t>(m + 5, 40), 128, 0, 255};
          const auto g = kernels::gemm::prepare(w, 5, m, kernels::gemm_instance{storage, a});
          std::vector<std::uint8_t> one(m * n), many(m * n, 1);
          g.run(x.data(), n, k, 7, bias.data(), rq, one.data(), quant::output_layout{n, 1});
          g.run(pool, x.data(), n, k, 7, bias.data(), rq, many.data(), quant::output_layout{n, 1});
          CHECK_MESSAGE(one == many, g.kernel().name, " n ", n);
        }
      }
  }

  TEST_CASE("gemm picks the family for the weight bit-width (W8A8 for short rows); explicit instances are checked") {
    for (unsigned bits = 1; bits <= 8; ++bits) {
      const auto format = quant::weight_format_of(bits);
      const std::size_t cols = kernels::lowbit_min_cols;
      quant::quantized_weights w{format, 3, cols, std::vector<std::int8_t>(3 * cols, std::int8_t(format.code_max)),
                                 std::vector<float>(3, 1.0f)};
      const auto g = kernels::gemm::prepare(w, arch::scalar);
      const unsigned storage = bits >= 5 ? 8 : bits >= 3 ? 4 : bits;
      CHECK(g.kernel().weight_bits == storage);
      CHECK(std::string(g.kernel().name).find("w" + std::to_string(storage) + "a8") != std::string::npos);
      CHECK(g.path() == arch::scalar);
      CHECK(g.rows() == 3);
      CHECK(g.cols() == cols);
      CHECK(g.packed_bytes() > 0);
      // one input fewer: the W8A8 kernel
      quant::quantized_weights short_rows{format, 3, cols - 1,
                                          std::vector<std::int8_t>(3 * (cols - 1), std::int8_t(format.code_min)),
                                          std::vector<float>(3, 1.0f)};
      CHECK(kernels::gemm::prepare(short_rows, arch::scalar).kernel().weight_bits == 8);
      // any wider family runs these codes too (what a profiler times)
      for (unsigned wider : kernels::gemm_storage_bits)
        if (wider >= storage) {
          auto h = kernels::gemm::try_prepare(w, 0, 3, kernels::gemm_instance{wider, arch::scalar});
          REQUIRE(h.has_value());
          CHECK(h->kernel().weight_bits == wider);
        }
    }
    quant::quantized_weights w8{quant::weight_format_of(8), 2, 3, {100, -100, 1, 2, 3, 4}, {1.0f, 1.0f}};
    auto narrow = kernels::gemm::try_prepare(w8, 0, 2, kernels::gemm_instance{4, arch::scalar});
    REQUIRE_FALSE(narrow);
    CHECK(narrow.error().code() == errc::invalid_argument);
    CHECK(narrow.error().message().find("100") != std::string::npos);
    CHECK(kernels::gemm::try_prepare(w8, 0, 2, kernels::gemm_instance{3, arch::scalar}).error().code() ==
          errc::invalid_argument);
    quant::quantized_weights w2{quant::weight_format_of(2), 2, 3, {1, -2, 1, 0, 0, -1}, {1.0f, 1.0f}};
    CHECK(kernels::gemm::try_prepare(w2, 1, 2, arch::scalar).error().code() == errc::invalid_argument);
    CHECK(kernels::gemm::try_prepare(w2, 0, 0, arch::scalar).error().code() == errc::invalid_argument);
    CHECK(kernels::gemm::try_prepare(w2, 1, 1, arch::scalar).has_value());
  }

  TEST_CASE("every instance of the list is in the table; AVX-512 runs its own low-bit kernels, AVX2's LUT ones") {
    const kernels::kernel_table& t = kernels::kernels();
    for (const kernels::gemm_instance& line : kernels::gemm_instances) {
      if (line.weight_bits == 8 || line.method != kernels::gemm_method::dot || !kernels::built(line.path)) continue;
      CHECK_MESSAGE(t.gemm_lowbit[line.weight_bits - 1][std::size_t(line.path)] != nullptr, "w", line.weight_bits,
                    "a8 ", kernels::to_string(line.path));
    }
    static_assert(kernels::resolve_gemm_instance(2, arch::avx512_vnni)->path == arch::avx512_vnni);
    static_assert(kernels::resolve_gemm_instance(2, arch::avx512_vnni, kernels::gemm_method::lut)->path == arch::avx2);
    static_assert(kernels::resolve_gemm_instance(8, arch::avx2)->path == arch::avx2);
    static_assert(!kernels::resolve_gemm_instance(3, arch::scalar));

    // a CPU with AVX-512 VNNI (faked): the avx512 path of each low-bit family is its own kernel
    ohq::cpu_features skylake;
    skylake.avx = skylake.avx2 = skylake.fma = true;
    skylake.avx512f = skylake.avx512bw = skylake.avx512vl = skylake.avx512vnni = true;
    for (unsigned storage : {4u, 2u, 1u}) {
      auto on512 = kernels::try_gemm_lowbit_kernel(storage, arch::avx512_vnni, skylake);
      auto on2 = kernels::try_gemm_lowbit_kernel(storage, arch::avx2, skylake);
      if (!kernels::built(arch::avx512_vnni) || !kernels::built(arch::avx2)) {
        CHECK_FALSE(on512);
        continue;
      }
      REQUIRE(on512);
      REQUIRE(on2);
      CHECK(*on512 != *on2);
      CHECK(std::string((*on512)->name).rfind("avx512", 0) == 0);
      CHECK((*on512)->mr == 64);
      const unsigned lut_bits = storage == 4 ? 3 : storage;  // table lookups exist for 1..3-bit codes
      auto lut512 = kernels::try_gemm_lut_kernel(lut_bits, arch::avx512_vnni, skylake);
      auto lut2 = kernels::try_gemm_lut_kernel(lut_bits, arch::avx2, skylake);
      REQUIRE(lut512);
      REQUIRE(lut2);
      CHECK(*lut512 == *lut2);
    }
    // and a CPU without AVX: only scalar, with a clear error naming the path
    ohq::cpu_features none;
    auto refused = kernels::try_gemm_lowbit_kernel(4, arch::avx512_vnni, none);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == errc::unsupported_cpu);
    CHECK(kernels::try_gemm_lowbit_kernel(4, arch::scalar, none).has_value());
    CHECK(kernels::try_gemm_lowbit_kernel(3, arch::scalar, none).error().code() == errc::invalid_argument);
  }
}

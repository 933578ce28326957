// SPDX-License-Identifier: MIT
// Table-lookup GEMM (1-, 2-, 3-bit weights, kernels/avx2/gemm_lut.hpp): bit-exact against
// quant::gemm_reference on thousands of random shapes (1, primes, tails around the 32-row blocks,
// the tile height, the group pairs of 8 k and the int16 flush every 256 k), full code ranges and
// extremes, activations 0/255, zero points, bias or none, multipliers tiny..large, u8/s8 outputs,
// fused clamps, dense / conv / strided layouts, row sub-ranges; the largest table entries for the
// longest int16 runs; K = 70000. Each case's seed is printed on failure; SKIPPED without AVX2.
#include <ohq/kernels.hpp>
#include <ohq/kernels/pack_lut.hpp>
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
#include <string_view>
#include <vector>

using namespace ohq;
using kernels::arch;

namespace {

/// The entry for `bits`, or null (with a SKIPPED message) when this CPU or build cannot run it.
const kernels::w8a8_kernel_entry* usable_entry(unsigned bits) {
  if (const ohq::status s = kernels::check_arch(arch::avx2); !s.ok()) {
    MESSAGE("SKIPPED avx2 lut w" << bits << ": " << s.message());
    return nullptr;
  }
  auto e = kernels::try_gemm_lut_kernel(bits, arch::avx2);
  if (!e) MESSAGE("SKIPPED avx2 lut w" << bits << ": " << e.error().message());
  return e ? *e : nullptr;
}

/// Runs `entry` on packed weights the way a dispatcher would (scratch of the entry's size, checked
/// for overruns afterwards).
template <class Out>
void run_lut(const kernels::w8a8_kernel_entry& entry, const kernels::lut_packed_weights& p, const std::uint8_t* x,
             std::size_t n, std::size_t ldx, std::int32_t x_zp, const std::int32_t* bias, const quant::requant_params& rq,
             std::size_t row_begin, Out* y, quant::output_layout layout) {
  const std::size_t kp = (p.cols + 3) / 4 * 4, scratch_size = entry.scratch_columns * kp;
  constexpr std::int16_t canary = 0x3c3c;
  std::vector<std::int16_t> scratch(scratch_size + 64, canary);
  kernels::w8a8_gemm_args a = kernels::make_gemm_args(p.packed.data(), p.row_sums.data(), row_begin, p.rows, p.cols, x, n,
                                                      ldx, x_zp, bias, rq, y, layout);
  a.scratch = scratch.data();
  entry.run(a);
  for (std::size_t i = scratch_size; i < scratch.size(); ++i) REQUIRE_MESSAGE(scratch[i] == canary, "scratch overrun");
}

// 32-row blocks, the 64-row tile and its multiples
const std::vector<std::size_t> m_edges = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65,
                                          95, 96, 97, 127, 128, 129, 131, 191, 192, 193};
const std::vector<std::size_t> n_edges = {1, 2, 3, 4, 5, 7, 8, 9, 13, 17};
// groups of 4, pairs of groups (8), the int16 flush every 32 pairs (256 k) and its neighbours
const std::vector<std::size_t> k_edges = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 23, 24, 25,
                                          31, 32, 33, 63, 64, 65, 127, 129, 247, 248, 249, 251, 252, 253,
                                          255, 256, 257, 259, 260, 263, 264, 265, 509, 511, 512, 513, 516,
                                          520, 576, 767, 768, 769, 1031};

struct stats {
  std::size_t outputs = 0, at_bound = 0, inside = 0;
};

template <class Out>
bool run_case(const kernels::w8a8_kernel_entry& entry, unsigned bits, std::uint64_t seed, std::size_t max_m,
              std::size_t max_n, std::size_t max_k, stats& st) {
  std::mt19937_64 gen(seed);
  const std::size_t m = test::pick_size(gen, m_edges, max_m), n = test::pick_size(gen, n_edges, max_n),
                    k = test::pick_size(gen, k_edges, max_k);
  const std::size_t extra_rows = gen() % 3 == 0 ? gen() % 40 : 0;
  const std::size_t row_begin = extra_rows ? gen() % (extra_rows + 1) : 0;
  const std::size_t total_rows = m + extra_rows;

  quant::quantized_weights w;
  w.format = quant::weight_format_of(bits);
  w.rows = total_rows;
  w.cols = k;
  w.codes.resize(total_rows * k);
  w.scales.assign(total_rows, 1.0f);
  // uniform, extremes only, all code_max (every plane bit set: the largest lookups), all code_min
  const int wmode = int(gen() % 5);
  std::uniform_int_distribution<int> wcode(w.format.code_min, w.format.code_max);
  for (auto& c : w.codes) {
    int v = wcode(gen);
    if (wmode == 1) v = gen() % 2 ? w.format.code_min : w.format.code_max;
    if (wmode == 2 && gen() % 8) v = w.format.code_max;
    if (wmode == 3 && gen() % 8) v = w.format.code_min;
    if (bits == 1 && v == 0) v = 1;  // no zero code at 1 bit
    c = static_cast<std::int8_t>(v);
  }

  const std::size_t ldx = k + (gen() % 3 == 0 ? gen() % 9 : 0);
  std::vector<std::uint8_t> x(n * ldx);
  const int xmode = int(gen() % 4);  // uniform, 0/255, mostly 255 (table entries 1020), mostly 0
  for (auto& v : x) {
    v = static_cast<std::uint8_t>(gen());
    if (xmode == 1) v = gen() % 2 ? 255 : 0;
    if (xmode == 2 && gen() % 8) v = 255;
    if (xmode == 3 && gen() % 8) v = 0;
  }
  const std::int32_t x_zp = gen() % 5 == 0 ? (gen() % 2 ? 0 : 255) : std::int32_t(gen() % 256);

  std::vector<std::int32_t> bias(total_rows);
  const bool use_bias = gen() % 5 != 0;
  for (auto& b : bias) b = std::int32_t(gen() % 200001) - 100000;

  // multipliers around 1 / (typical |accumulator|), +-6 octaves (saturated to all-zp), some zero
  quant::requant_params rq;
  rq.multiplier.resize(total_rows);
  rq.shift.resize(total_rows);
  const double w_mag = std::max(1.0, double(-w.format.code_min));
  const double centre = -std::log2(std::sqrt(double(k)) * 128.0 * w_mag + 1e5) + double(int(gen() % 13) - 6);
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
    case 0: layout = {1, m}; y_size = n * m; break;             // dense [n][m]
    case 1: layout = {n, 1}; y_size = m * n; break;             // conv [m][n]
    default: layout = {n + 3, 1}; y_size = m * (n + 3); break;  // strided rows
  }
  const Out sentinel = static_cast<Out>(0x5a);
  std::vector<Out> want(y_size, sentinel), got(y_size, sentinel);
  quant::gemm_reference(x.data(), n, ldx, x_zp, w, row_begin, m, use_bias ? bias.data() : nullptr, rq, want.data(),
                        layout);
  // a third of the cases through the kernels::gemm facade (its packing, scratch and, on a pool,
  // its split over threads), the rest straight through the entry with a scratch canary
  if (const int route = int(gen() % 3); route == 0) {
    const kernels::lut_packed_weights p = kernels::pack_lut_weights(w, row_begin, m, entry.mr);
    run_lut(entry, p, x.data(), n, ldx, x_zp, use_bias ? bias.data() : nullptr, rq, row_begin, got.data(), layout);
  } else {
    const auto g = kernels::gemm::prepare(w, row_begin, m, {bits, arch::avx2, kernels::gemm_method::lut});
    REQUIRE(std::string_view(g.kernel().name) == entry.name);
    if (route == 1) {
      g.run(x.data(), n, ldx, x_zp, use_bias ? bias.data() : nullptr, rq, got.data(), layout);
    } else {
      static thread_pool pool(3);
      g.run(pool, x.data(), n, ldx, x_zp, use_bias ? bias.data() : nullptr, rq, got.data(), layout);
    }
  }

  for (std::size_t i = 0; i < y_size; ++i)
    if (want[i] != got[i]) {
      std::ostringstream msg;
      msg << entry.name << " seed " << seed << ": M=" << m << " N=" << n << " K=" << k << " bits=" << bits
          << " wmode=" << wmode << " xmode=" << xmode << " rows [" << row_begin << ", " << row_begin + m << ") of "
          << total_rows << " ldx=" << ldx << " x_zp=" << x_zp << " out " << (s8 ? "s8" : "u8")
          << " zp=" << rq.zero_point << " [" << rq.lo << ", " << rq.hi << "] layout {" << layout.channel_stride
          << ", " << layout.column_stride << "} bias " << use_bias << ": y[" << i << "] = " << int(got[i])
          << ", reference " << int(want[i]);
      FAIL_CHECK(msg.str());
      return false;
    }
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t i = 0; i < n; ++i) {
      const int v = want[j * layout.channel_stride + i * layout.column_stride];
      ++st.outputs;
      (v == rq.lo || v == rq.hi ? st.at_bound : st.inside) += 1;
    }
  return true;
}

void run_bits(unsigned bits, std::size_t cases, std::uint64_t seed0, std::size_t max_m, std::size_t max_n,
              std::size_t max_k) {
  const kernels::w8a8_kernel_entry* entry = usable_entry(bits);
  if (entry == nullptr) return;
  stats st;
  std::size_t passed = 0;
  for (std::size_t c = 0; c < cases; ++c) {
    const std::uint64_t seed = seed0 + c;
    const bool ok = c % 2 ? run_case<std::uint8_t>(*entry, bits, seed, max_m, max_n, max_k, st)
                          : run_case<std::int8_t>(*entry, bits, seed, max_m, max_n, max_k, st);
    if (!ok) break;  // one report per bit-width: the seed reproduces it
    ++passed;
  }
  MESSAGE(std::string(entry->name) << ": " << passed << "/" << cases << " cases bit-exact, " << st.outputs << " outputs ("
                      << st.at_bound << " at a clamp bound, " << st.inside << " inside)");
  CHECK(passed == cases);
  if (cases >= 50) {  // the scales must exercise both saturation and the rounding in the middle
    CHECK(st.at_bound > st.outputs / 20);
    CHECK(st.inside > st.outputs / 5);
  }
}

}  // namespace

TEST_SUITE("kernels_lut") {
  TEST_CASE("pack_lut stores the bit planes of the encoded codes where the layout says") {
    for (unsigned bits = 1; bits <= 3; ++bits) {
      std::mt19937_64 gen(bits);
      const quant::weight_format f = quant::weight_format_of(bits);
      const std::size_t rows = 70, cols = 37, mr = 64;
      std::vector<std::int8_t> codes(rows * cols);
      for (auto& c : codes) {
        int v = int(gen() % std::uint64_t(f.code_max - f.code_min + 1)) + f.code_min;
        if (bits == 1 && v == 0) v = -1;
        c = static_cast<std::int8_t>(v);
      }
      std::vector<std::uint8_t> out(kernels::packed_lut_size(rows - 3, cols, bits, mr));
      kernels::pack_lut(codes.data(), cols, 3, rows - 3, bits, mr, out.data());
      const std::size_t pairs = ((cols + 3) / 4 + 1) / 2;
      CHECK(out.size() == 2 * bits * pairs * mr);
      for (std::size_t j = 0; j < 2 * mr; ++j)
        for (std::size_t k = 0; k < 8 * pairs; ++k) {
          std::int32_t u = 0;
          for (unsigned p = 0; p < bits; ++p)
            u |= std::int32_t((out[((j / mr * bits + p) * pairs + k / 8) * mr + j % mr] >> (k % 8)) & 1) << p;
          const bool inside = j < rows - 3 && k < cols;
          const std::int32_t want = inside ? f.encode(codes[(3 + j) * cols + k]) : 0;
          REQUIRE_MESSAGE(u == want, "bits ", bits, " row ", j, " k ", k);
        }
    }
  }

  TEST_CASE("gemm_lut is bit-exact on random small shapes, 1-3 bits") {
    const std::size_t cases = test::kernel_case_count();
    for (unsigned bits = 1; bits <= 3; ++bits) run_bits(bits, cases, 0x1a7e0000u + 0x100000u * bits, 200, 20, 600);
  }

  TEST_CASE("gemm_lut is bit-exact on larger shapes, 1-3 bits") {
    const std::size_t cases = std::max<std::size_t>(test::kernel_case_count() / 30, 4);
    for (unsigned bits = 1; bits <= 3; ++bits) run_bits(bits, cases, 0xb16c0000u + 0x100000u * bits, 400, 40, 5000);
  }

  TEST_CASE("gemm_lut is exact with the largest table entries over K = 70000") {
    // every x = 255 and every plane bit set: each lookup is 1020, the most an int16 run of 64
    // groups can take (65280); then the opposite codes, and an alternating pattern.
    const std::size_t k = 70000, m = 67, n = 2;
    for (unsigned bits = 1; bits <= 3; ++bits) {
      const kernels::w8a8_kernel_entry* entry = usable_entry(bits);
      if (entry == nullptr) continue;
      const quant::weight_format f = quant::weight_format_of(bits);
      for (int pattern = 0; pattern < 3; ++pattern) {
        quant::quantized_weights w{f, m, k, std::vector<std::int8_t>(m * k), std::vector<float>(m, 1.0f)};
        for (std::size_t r = 0; r < m; ++r)
          for (std::size_t c = 0; c < k; ++c) {
            const bool high = pattern == 0 || (pattern == 2 && (r + c) % 3 != 0);
            w.codes[r * k + c] = static_cast<std::int8_t>(high ? f.code_max : f.code_min);
          }
        std::vector<std::uint8_t> x(n * k, 255);
        for (std::size_t c = 0; c < k; c += 997) x[k + c] = 0;  // column 1 differs a little
        const kernels::lut_packed_weights p = kernels::pack_lut_weights(w, 0, m, entry->mr);
        for (std::int32_t zp : {0, 200, 255}) {
          // multiplier ~2^-22: |accumulators| up to ~7e7 land inside the u8 range
          quant::requant_params rq{std::vector<std::int32_t>(m, 1 << 30), std::vector<std::int32_t>(m, 52), 128, 0, 255};
          std::vector<std::uint8_t> want(m * n), got(m * n);
          quant::gemm_reference(x.data(), n, k, zp, w, 0, m, nullptr, rq, want.data(), quant::output_layout{n, 1});
          run_lut(*entry, p, x.data(), n, k, zp, nullptr, rq, 0, got.data(), quant::output_layout{n, 1});
          CHECK_MESSAGE(want == got, entry->name, " pattern ", pattern, " zp ", zp);
        }
      }
    }
  }
}

// SPDX-License-Identifier: MIT
// Histograms (exact growth) and the calibration methods on known distributions.
#include <ohq/quant/calibrate.hpp>

#include <doctest/doctest.h>

#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace q = ohq::quant;

TEST_CASE("a growing histogram re-bins exactly: same counts as one built on the final range") {
  // dyadic values and widths, so no value sits ambiguously on an edge
  std::vector<float> a, b;
  // [-1, 0.96875]: 63 bins of 2^-5, so [lo, hi) = [-1, 1)
  for (int i = -256; i <= 248; ++i) a.push_back(float(i) / 256.0f);
  for (int i = 0; i < 700; ++i) b.push_back(float((i * 37) % 1500 - 1000) / 256.0f);  // down to -3.9, up to 1.95
  for (int i = 0; i < 300; ++i) b.push_back(float(i) / 64.0f);  // up to 4.67: both ends grow
  q::histogram grown(64);
  grown.add(a);
  CHECK(grown.lo() == -1.0);
  CHECK(grown.hi() == 1.0);
  grown.add(b);
  CHECK(grown.lo() <= -1000.0 / 256);
  CHECK(grown.hi() >= 299.0 / 64);
  CHECK(grown.total() == a.size() + b.size());
  q::histogram fixed(64, grown.lo(), grown.hi());
  fixed.add(a);
  fixed.add(b);
  CHECK(fixed.clipped() == 0);
  CHECK(std::vector<std::uint64_t>(grown.counts().begin(), grown.counts().end()) ==
        std::vector<std::uint64_t>(fixed.counts().begin(), fixed.counts().end()));

  q::histogram magnitudes(64);
  magnitudes.add_abs(a);
  magnitudes.add_abs(b);
  CHECK(magnitudes.lo() == 0.0);  // anchored at 0, grows right only
}

TEST_CASE("fixed-range histograms clip into the edge bins; quantiles interpolate") {
  q::histogram h(10, 0.0, 10.0);
  const std::vector<float> x = {-5.0f, 0.5f, 1.5f, 2.5f, 9.5f, 10.0f, 20.0f};
  h.add(x);
  CHECK(h.clipped() == 2);  // -5 and 20 (10.0 is the last bin's closed end)
  CHECK(h.counts()[0] == 2);
  CHECK(h.counts()[9] == 3);
  std::vector<float> u(100000);
  ohq_test::rng r(31);
  for (auto& v : u) v = static_cast<float>(r.uniform());
  q::histogram hu(2048);
  hu.add(u);
  CHECK(hu.quantile(0.5) == doctest::Approx(0.5).epsilon(0.01));
  CHECK(hu.quantile(0.9) == doctest::Approx(0.9).epsilon(0.01));
}

TEST_CASE("expected_quant_error matches the measured fake-quant error") {
  ohq_test::rng r(32);
  const auto x = r.normals(200000);
  q::tensor_stats st;
  st.add(x);
  for (double clip : {1.0, 2.0, 4.0}) {
    const q::quant_params p = q::params_from_range(-clip, clip, q::activation_type::u8);
    double measured = 0;
    for (float v : x) measured += std::pow(double(v) - q::fake_quantize(v, p), 2);
    CHECK(q::expected_quant_error(st.values(), p) == doctest::Approx(measured).epsilon(0.03));
  }
}

TEST_CASE("calibration on a uniform distribution keeps (nearly) the whole range") {
  ohq_test::rng r(33);
  std::vector<float> x(200000);
  for (auto& v : x) v = static_cast<float>(r.uniform());
  q::tensor_stats st;
  for (std::size_t i = 0; i < x.size(); i += 10000) st.add(std::span<const float>(x).subspan(i, 10000));
  CHECK(st.non_negative());
  for (auto m : {q::calibration_method::minmax, q::calibration_method::percentile, q::calibration_method::mse,
                 q::calibration_method::entropy}) {
    CAPTURE(q::to_string(m));
    const auto range = q::try_calibrate_range(st, m, q::activation_type::u8).value();
    CHECK(range.lo == 0.0);
    CHECK(range.hi > 0.9);
    CHECK(range.hi <= st.max());
    const auto p = q::calibrate(st, m, q::activation_type::u8);
    CHECK(p.zero_point == 0);
  }
}

TEST_CASE("Gaussian with outliers: percentile, MSE and entropy clip well below the max") {
  ohq_test::rng r(34);
  auto x = r.normals(200000);
  for (float v : {12.0f, 11.5f, -12.0f, -11.0f}) x.push_back(v);
  q::tensor_stats st;
  st.add(x);
  for (auto type : {q::activation_type::u8, q::activation_type::s8}) {
    const auto mm = q::try_calibrate_range(st, q::calibration_method::minmax, type).value();
    CHECK(mm.hi == 12.0);
    CHECK(mm.lo == -12.0);
    for (auto m : {q::calibration_method::percentile, q::calibration_method::mse, q::calibration_method::entropy}) {
      CAPTURE(q::to_string(m));
      CAPTURE(int(type));
      const auto range = q::try_calibrate_range(st, m, type).value();
      // MSE weighs each outlier's squared clipping error against the rounding error of 200k
      // values, so it clips less than the others, but still below the max
      const double limit = m == q::calibration_method::mse ? 0.85 * 12.0 : 6.0;
      CHECK(range.hi > 2.5);
      CHECK(range.hi < limit);
      CHECK(range.lo < -2.5);
      CHECK(range.lo > -limit);
    }
    // the MSE choice has no more expected error than min-max or percentile
    const double e_mse = q::expected_quant_error(st.values(), q::calibrate(st, q::calibration_method::mse, type));
    CHECK(e_mse <= q::expected_quant_error(st.values(), q::calibrate(st, q::calibration_method::minmax, type)));
    CHECK(e_mse <= q::expected_quant_error(st.values(), q::calibrate(st, q::calibration_method::percentile, type)) * 1.0001);
  }
  // s8 percentile: the 99.99th percentile of |x|, within a bin
  std::vector<float> mags(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) mags[i] = std::fabs(x[i]);
  std::sort(mags.begin(), mags.end());
  const double want = mags[std::size_t(0.9999 * double(mags.size()))];
  const auto p = q::try_calibrate_range(st, q::calibration_method::percentile, q::activation_type::s8).value();
  CHECK(std::fabs(p.hi - want) <= st.magnitudes().bin_width());
}

TEST_CASE("MSE calibration keeps outliers whose clipping would cost more than coarser rounding") {
  ohq_test::rng r(37);
  auto x = r.normals(20000);
  for (int i = 0; i < 200; ++i) x.push_back(i % 2 ? 20.0f : -20.0f);  // 1%: clipping them costs too much
  q::tensor_stats st;
  st.add(x);
  const auto range = q::try_calibrate_range(st, q::calibration_method::mse, q::activation_type::s8).value();
  CHECK(range.hi > 15.0);
}

TEST_CASE("ReLU outputs with outliers: u8 with zero point 0; exact zeros do not pull the entropy threshold") {
  ohq_test::rng r(35);
  auto x = r.normals(200000);
  for (auto& v : x) v = std::max(v, 0.0f);  // half exact zeros
  for (float v : {14.0f, 12.0f}) x.push_back(v);
  q::tensor_stats st;
  st.add(x);
  CHECK(st.zeros() > 90000);
  for (auto m : {q::calibration_method::percentile, q::calibration_method::mse, q::calibration_method::entropy}) {
    CAPTURE(q::to_string(m));
    const auto p = q::calibrate(st, m, q::activation_type::u8);
    CHECK(p.zero_point == 0);
    const double hi = p.scale * 255.0;
    CHECK(hi > 2.5);
    CHECK(hi < (m == q::calibration_method::mse ? 0.9 * 14.0 : 6.0));
  }
}

namespace {
/// The documented algorithm restated plainly (numpy-style digitize against linspace(0, i, L + 1)
/// boundaries, compared exactly), to pin entropy_threshold's grouping, expansion and tie rule.
double naive_entropy_threshold(const std::vector<double>& h, double width, std::size_t levels, std::size_t start) {
  const std::size_t n = h.size();
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = n;
  for (std::size_t i = start; i <= n; ++i) {
    std::vector<double> p(h.begin(), h.begin() + long(i));
    double outliers = 0;
    for (std::size_t j = i; j < n; ++j) outliers += h[j];
    p[i - 1] += outliers;
    std::vector<int> group(i);
    for (std::size_t j = 0; j < i; ++j) {
      std::size_t k = 0;  // the last boundary k * i / L <= j
      while (k + 1 <= levels && (k + 1) * i <= j * levels) ++k;
      group[j] = int(k);
    }
    std::vector<double> qd(i, 0.0);
    for (std::size_t g = 0; g < levels; ++g) {
      double sum = 0, nonzero = 0;
      for (std::size_t j = 0; j < i; ++j)
        if (group[j] == int(g)) {
          sum += h[j];
          nonzero += h[j] > 0;
        }
      for (std::size_t j = 0; j < i; ++j)
        if (group[j] == int(g) && h[j] > 0) qd[j] = sum / nonzero;
    }
    double ps = 0, qs = 0;
    for (std::size_t j = 0; j < i; ++j) {
      ps += p[j];
      qs += qd[j];
    }
    if (qs <= 0) continue;
    double kl = 0;
    for (std::size_t j = 0; j < i; ++j) {
      if (p[j] <= 0) continue;
      if (qd[j] <= 0) {
        kl = std::numeric_limits<double>::infinity();
        break;
      }
      kl += p[j] / ps * std::log((p[j] / ps) / (qd[j] / qs));
    }
    if (kl <= best) {
      best = kl;
      best_i = i;
    }
  }
  return double(best_i) * width;
}
}  // namespace

TEST_CASE("entropy_threshold is the documented TensorRT algorithm (against a plain restatement)") {
  ohq_test::rng r(36);
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t n = 64, levels = trial % 2 ? 8 : 16, start = levels;
    q::histogram h(n, 0.0, double(n));
    std::vector<float> x;
    const double decay = r.uniform(2.0, 20.0);
    for (int k = 0; k < 3000; ++k) x.push_back(static_cast<float>(std::fabs(r.normal()) * decay));
    for (int k = 0; k < int(r.integer(0, 3)); ++k) x.push_back(static_cast<float>(r.uniform(40.0, 63.0)));
    h.add(x);
    std::vector<double> counts(h.counts().begin(), h.counts().end());
    CAPTURE(trial);
    CHECK(q::entropy_threshold(h, 0, levels, start) == naive_entropy_threshold(counts, 1.0, levels, start));
  }
}

TEST_CASE("entropy keeps 99% of the values where KL cannot see clipping (gates, image backgrounds)") {
  ohq_test::rng r(37);
  // a hardsigmoid gate: every value in [0.2, 0.75], nothing near 0
  q::tensor_stats gate;
  std::vector<float> x;
  for (int k = 0; k < 4096; ++k) x.push_back(static_cast<float>(r.uniform(0.2, 0.75)));
  gate.add(x);
  q::calibration_options unguarded;
  unguarded.entropy_min_kept = 0.0;
  const auto bad = q::try_calibrate_range(gate, q::calibration_method::entropy, q::activation_type::u8, unguarded);
  REQUIRE(bad.has_value());
  CHECK(bad->hi < 0.25);  // TensorRT's search clips almost the whole tensor: KL ~ 0 on one bin
  const auto good = q::try_calibrate_range(gate, q::calibration_method::entropy, q::activation_type::u8);
  REQUIRE(good.has_value());
  std::size_t clipped = 0;
  for (float v : x) clipped += v > good->hi;
  CHECK(double(clipped) <= 0.01 * double(x.size()));
  // a normalised image: half the pixels are the background value, the rest spread above it
  q::tensor_stats image;
  x.clear();
  for (int k = 0; k < 8192; ++k) x.push_back(k % 2 ? -0.81f : static_cast<float>(r.uniform(-0.81, 2.02)));
  image.add(x);
  const auto range = q::try_calibrate_range(image, q::calibration_method::entropy, q::activation_type::u8);
  REQUIRE(range.has_value());
  clipped = 0;
  for (float v : x) clipped += v > range->hi || v < range->lo;
  CHECK(double(clipped) <= 0.01 * double(x.size()));
}

TEST_CASE("calibration errors: nothing recorded, NaN/Inf recorded, bad options; method names") {
  q::tensor_stats empty;
  CHECK(q::try_calibrate(empty, q::calibration_method::minmax, q::activation_type::u8).error().code() ==
        ohq::errc::invalid_argument);
  q::tensor_stats bad;
  const std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
  bad.add(x);
  CHECK(bad.count() == 1);
  CHECK(bad.non_finite() == 2);
  const auto r = q::try_calibrate(bad, q::calibration_method::entropy, q::activation_type::u8);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ohq::errc::numerical);
  CHECK(r.error().message().find("2 NaN/Inf") != std::string::npos);
  q::tensor_stats ok;
  ok.add(std::vector<float>{1.0f, 2.0f});
  q::calibration_options o;
  o.percentile = 20;
  CHECK_FALSE(q::try_calibrate(ok, q::calibration_method::percentile, q::activation_type::u8, o).has_value());
  CHECK(q::try_parse_calibration_method("entropy").value() == q::calibration_method::entropy);
  CHECK(q::try_parse_calibration_method("kl").error().code() == ohq::errc::invalid_argument);

  // constant and all-zero tensors still give valid parameters
  for (float c : {0.0f, 3.0f, -2.0f}) {
    q::tensor_stats st;
    st.add(std::vector<float>(100, c));
    for (auto m : {q::calibration_method::minmax, q::calibration_method::percentile, q::calibration_method::mse,
                   q::calibration_method::entropy})
      for (auto type : {q::activation_type::u8, q::activation_type::s8}) {
        const auto p = q::calibrate(st, m, type);
        CHECK((std::isfinite(p.scale) && p.scale > 0.0f));
        CHECK(q::fake_quantize(0.0f, p) == 0.0f);
      }
  }
}

// SPDX-License-Identifier: MIT
// Requantization and the residual add against exact rational references (__int128).
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>

#include <doctest/doctest.h>

#include "common.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace q = ohq::quant;
__extension__ typedef __int128 i128;  // exact references; GCC and clang have it

namespace {

/// floor(num / den + 1/2) for den > 0, exactly.
i128 round_half_up_div(i128 num, i128 den) {
  const i128 n2 = 2 * num + den, d2 = 2 * den;
  i128 r = n2 / d2;
  if (n2 % d2 != 0 && n2 < 0) --r;  // C++ truncates toward zero; we want floor
  return r;
}

/// round_half_up(acc * M) for the double M (an exact dyadic rational), exactly.
std::int64_t exact_round_mul(std::int32_t acc, double m) {
  if (m == 0.0) return 0;
  int e = 0;
  const double f = std::frexp(m, &e);
  const auto mant = static_cast<std::int64_t>(std::ldexp(f, 53));  // m = mant * 2^(e - 53)
  const int k = 53 - e;
  REQUIRE(k > 0);
  REQUIRE(k < 120);
  return static_cast<std::int64_t>(round_half_up_div(i128(acc) * mant, i128(1) << k));
}

/// True when acc * m is within `bound` of a rounding tie (n + 1/2).
bool near_tie(long double v, long double bound) {
  const long double frac = v - std::floor(v);
  return std::fabs(frac - 0.5L) <= 2 * bound + std::fabs(v) * 0x1p-60L;
}

struct float_parts {
  std::int64_t mant;  // 24-bit
  int exp;            // value = mant * 2^exp
};
float_parts parts(float s) {
  int e = 0;
  const double f = std::frexp(double(s), &e);
  return {static_cast<std::int64_t>(std::ldexp(f, 24)), e - 24};
}

/// round_half_up((sa * da + sb * db) / sy) exactly, for float scales.
std::int64_t exact_add(float sa, std::int32_t da, float sb, std::int32_t db, float sy) {
  const float_parts a = parts(sa), b = parts(sb), y = parts(sy);
  const int emin = std::min(a.exp, b.exp);
  i128 num = i128(a.mant) * da * (i128(1) << (a.exp - emin)) + i128(b.mant) * db * (i128(1) << (b.exp - emin));
  i128 den = y.mant;
  if (y.exp >= emin) {
    den <<= (y.exp - emin);
  } else {
    num <<= (emin - y.exp);
  }
  return static_cast<std::int64_t>(round_half_up_div(num, den));
}

}  // namespace

TEST_CASE("fixed multipliers are normalised, within 2^-31 relative, and reject bad values") {
  ohq_test::rng r(1);
  for (int i = 0; i < 20000; ++i) {
    const double m = std::exp2(r.uniform(-45.0, 29.99));
    const q::fixed_multiplier f = q::make_multiplier(m);
    CHECK(f.shift >= 1);
    CHECK(f.shift <= 62);
    if (m >= 0x1p-32) {
      CHECK(f.multiplier >= (1 << 30));
    }
    CHECK(std::fabs(f.value() - m) <= std::ldexp(1.0, -f.shift - 1) * 1.0000001);
    if (m >= 0x1p-32) CHECK(std::fabs(f.value() - m) <= m * 0x1p-31);
  }
  CHECK(q::make_multiplier(0.0) == q::fixed_multiplier{0, 1});
  CHECK(q::make_multiplier(1.0) == q::fixed_multiplier{1 << 30, 30});
  CHECK(q::make_multiplier(0.5) == q::fixed_multiplier{1 << 30, 31});
  CHECK(q::try_make_multiplier(-1.0).error().code() == ohq::errc::invalid_argument);
  CHECK_FALSE(q::try_make_multiplier(std::numeric_limits<double>::quiet_NaN()).has_value());
  CHECK_FALSE(q::try_make_multiplier(std::numeric_limits<double>::infinity()).has_value());
  CHECK_FALSE(q::try_make_multiplier(0x1p30).has_value());
  CHECK_FALSE(q::try_make_multiplier(0x1p30 - 0x1p-10).has_value());  // rounds up to 2^30
  CHECK(q::try_make_multiplier(0x1p30 - 1.0).has_value());
}

TEST_CASE("requantization rounds half up, exactly, on ties of both signs") {
  const q::fixed_multiplier half = q::make_multiplier(0.5);
  const std::int32_t acc[] = {1, -1, 3, -3, 5, -5, 0, 2, -2};
  const std::int64_t expect[] = {1, 0, 2, -1, 3, -2, 0, 1, -1};
  for (std::size_t i = 0; i < std::size(acc); ++i) CHECK(q::apply_multiplier(acc[i], half) == expect[i]);

  // Exact (<= 31 significant bits) multipliers odd * 2^-t: the fixed point is exact, so every
  // result equals the exact rounding, including constructed ties acc * odd = (k + 1/2) 2^t.
  ohq_test::rng r(2);
  int ties = 0;
  for (int i = 0; i < 3000; ++i) {
    const int t = int(r.integer(2, 31));
    const std::int64_t odd = r.integer(0, (std::int64_t{1} << 30) - 1) * 2 + 1;
    const double m = std::ldexp(double(odd), -t);
    if (m >= q::max_real_multiplier) continue;
    const q::fixed_multiplier f = q::make_multiplier(m);
    REQUIRE(f.value() == m);
    // inverse of odd modulo 2^t (Newton), then acc0 * odd = 2^(t-1) mod 2^t
    std::uint64_t inv = 1;
    for (int k = 0; k < 6; ++k) inv *= 2 - std::uint64_t(odd) * inv;
    const std::uint64_t mask = (std::uint64_t{1} << t) - 1;
    const std::int64_t acc0 = std::int64_t(((std::uint64_t{1} << (t - 1)) * inv) & mask);
    for (int j = 0; j < 8; ++j) {
      const std::int64_t a = acc0 + r.integer(0, 64) * (std::int64_t{1} << t);
      for (std::int64_t s : {a, -a}) {
        if (s > std::numeric_limits<std::int32_t>::max() || s < std::numeric_limits<std::int32_t>::min()) continue;
        const auto acc32 = static_cast<std::int32_t>(s);
        // a tie: acc * odd = 2^(t-1) modulo 2^t
        const i128 period = i128(1) << t;
        REQUIRE((((i128(s) * odd) % period) + period) % period == period / 2);
        CHECK(q::apply_multiplier(acc32, f) == exact_round_mul(acc32, m));
        ++ties;
      }
    }
    for (int j = 0; j < 20; ++j) {
      const auto acc32 = static_cast<std::int32_t>(r.integer(std::numeric_limits<std::int32_t>::min(),
                                                             std::numeric_limits<std::int32_t>::max()));
      CHECK(q::apply_multiplier(acc32, f) == exact_round_mul(acc32, m));
    }
  }
  CHECK(ties > 10000);
}

TEST_CASE("requantization matches the exact rounding of acc * M for M in [2^-40, 2^30), up to saturation") {
  ohq_test::rng r(3);
  std::size_t checked = 0, near_ties = 0;
  for (int i = 0; i < 400; ++i) {
    const double m = std::exp2(r.uniform(-40.0, 29.9));
    const q::fixed_multiplier f = q::make_multiplier(m);
    const long double ferr = std::fabs(static_cast<long double>(f.value()) - static_cast<long double>(m));
    for (int j = 0; j < 1000; ++j) {
      std::int32_t acc = 0;
      switch (j % 4) {
        case 0:
          acc = static_cast<std::int32_t>(
              r.integer(std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()));
          break;
        case 1: {
          const std::int64_t mag = std::int64_t{1} << r.integer(0, 30);
          acc = static_cast<std::int32_t>(r.integer(-mag, mag));
          break;
        }
        case 2: {
          // accumulators near outputs of 255 and -128 at this multiplier (saturation edges)
          const double target = (j % 8 == 2 ? 255.5 : -128.5) / m;
          if (std::fabs(target) < 2e9) acc = static_cast<std::int32_t>(target) + int(r.integer(-3, 3));
          break;
        }
        default:
          acc = j % 8 == 3 ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int32_t>::max();
      }
      // compare where outputs can land: beyond +-1000 every 8-bit output saturates anyway
      const std::int64_t got = std::clamp<std::int64_t>(q::apply_multiplier(acc, f), -1000, 1000);
      const std::int64_t want = std::clamp<std::int64_t>(exact_round_mul(acc, m), -1000, 1000);
      ++checked;
      if (got != want) {
        // only possible within |acc| * |m_fixed - M| of a tie
        const long double v = static_cast<long double>(acc) * static_cast<long double>(m);
        CHECK(near_tie(v, std::fabs(static_cast<long double>(acc)) * ferr));
        CHECK(std::llabs(got - want) == 1);
        // case 2 aims at ties on purpose (acc within a step of 255.5 / M): there a difference is
        // expected when M is small; elsewhere it should be rare
        if (j % 4 != 2) ++near_ties;
      }
    }
  }
  CHECK(checked == 400000);
  CHECK(near_ties < 20);
}

TEST_CASE("requantize saturates at the code range and fuses ReLU/ReLU6 as clamp bounds") {
  const q::quant_params out = q::u8_params(0.05f, 100);
  auto rq = q::make_requant(0.1f, std::vector<float>{0.01f, 0.02f}, out);
  CHECK(rq.lo == 0);
  CHECK(rq.hi == 255);
  for (std::int32_t acc : {std::numeric_limits<std::int32_t>::max(), 1 << 20})
    CHECK(q::requantize(acc, rq, 0) == 255);
  for (std::int32_t acc : {std::numeric_limits<std::int32_t>::min(), -(1 << 20)}) CHECK(q::requantize(acc, rq, 1) == 0);
  CHECK(q::requantize(0, rq, 0) == 100);
  CHECK(q::requantize(50, rq, 0) == 101);  // 50 * 0.001 / 0.05 = 1
  CHECK(q::requantize(50, rq, 1) == 102);

  rq = q::make_requant(0.1f, std::vector<float>{0.01f}, out, q::fused_activation::relu);
  CHECK(rq.lo == 100);
  CHECK(q::requantize(-500, rq, 0) == 100);
  rq = q::make_requant(0.1f, std::vector<float>{0.01f}, out, q::fused_activation::relu6);
  CHECK(rq.lo == 100);
  CHECK(rq.hi == 220);  // 100 + 6 / 0.05
  CHECK(q::requantize(1 << 20, rq, 0) == 220);

  // relu6 bound clipped by the code range; s8 outputs
  const q::quant_params narrow = q::u8_params(0.01f, 0);
  CHECK(q::bounds_of(narrow, q::fused_activation::relu6).hi == 255);
  const q::quant_params s = q::s8_params(0.1f);
  CHECK(q::bounds_of(s, q::fused_activation::none).lo == -128);
  CHECK(q::bounds_of(s, q::fused_activation::relu).lo == 0);
  CHECK(q::bounds_of(s, q::fused_activation::relu6).hi == 60);
  const auto rs = q::make_requant(1.0f, std::vector<float>{1.0f}, s);
  CHECK(q::requantize(std::numeric_limits<std::int32_t>::min(), rs, 0) == -128);
  CHECK(q::requantize(std::numeric_limits<std::int32_t>::max(), rs, 0) == 127);

  // the fused bounds equal quantize(act(x)) for every real x on a fine grid
  for (auto act : {q::fused_activation::relu, q::fused_activation::relu6}) {
    const q::clamp_bounds b = q::bounds_of(out, act);
    for (int i = -2000; i <= 2000; ++i) {
      const float x = float(i) * 0.00731f;
      const float y = act == q::fused_activation::relu ? std::max(x, 0.0f) : std::clamp(x, 0.0f, 6.0f);
      CHECK(std::clamp(q::quantize(x, out), b.lo, b.hi) == q::quantize(y, out));
    }
  }

  CHECK(q::try_make_requant(1.0f, std::vector<float>{1.0f}, q::u8_params(0.0f, 0)).error().code() ==
        ohq::errc::invalid_argument);
  auto bad = q::try_make_requant(1e6f, std::vector<float>{1.0f, 1e6f}, q::u8_params(1e-6f, 0));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message().find("channel 0") != std::string::npos);
}

TEST_CASE("accumulation bound") {
  CHECK(q::accumulation_fits_int32(65792, 255, 128));
  CHECK_FALSE(q::accumulation_fits_int32(65794, 255, 128));
  CHECK(q::accumulation_fits_int32(1 << 20, 255, 8));
  CHECK_FALSE(q::accumulation_fits_int32(10, 255, 128, std::int64_t{1} << 31));
}

TEST_CASE("residual add equals the exact real sum rounded half up, over all 256 x 256 code pairs") {
  struct setup {
    q::quant_params a, b, y;
    q::fused_activation act;
    bool exact;  // the scale ratios are exact in fixed point: no mismatch allowed at all
  };
  const setup setups[] = {
      {q::u8_params(0.05f, 128), q::u8_params(0.1f, 0), q::u8_params(0.12f, 64), q::fused_activation::none, false},
      {q::u8_params(0.25f, 17), q::u8_params(0.125f, 200), q::u8_params(0.5f, 90), q::fused_activation::none, true},
      {q::u8_params(0.0173f, 3), q::u8_params(0.0431f, 250), q::u8_params(0.0519f, 0), q::fused_activation::relu, false},
      {q::u8_params(1e-3f, 128), q::u8_params(0.7f, 128), q::u8_params(0.4f, 128), q::fused_activation::relu6, false},
      {q::s8_params(0.02f), q::s8_params(0.03f), q::s8_params(0.045f), q::fused_activation::none, false},
      {q::u8_params(0.3f, 0), q::u8_params(0.3f, 0), q::u8_params(0.3f, 0), q::fused_activation::none, true},
  };
  for (const setup& s : setups) {
    CAPTURE(s.a.scale);
    const q::add_params p = q::make_add(s.a, s.b, s.y, s.act);
    const q::clamp_bounds bounds = q::bounds_of(s.y, s.act);
    const long double ma = static_cast<long double>(s.a.scale) / s.y.scale, mb = static_cast<long double>(s.b.scale) / s.y.scale;
    const long double ea = std::fabs(std::ldexp(static_cast<long double>(p.multiplier_a), -p.shift) - ma);
    const long double eb = std::fabs(std::ldexp(static_cast<long double>(p.multiplier_b), -p.shift) - mb);
    CHECK(std::max(p.multiplier_a, p.multiplier_b) >= (1 << 30));
    int mismatches = 0;
    for (std::int32_t qa = s.a.qmin; qa <= s.a.qmax; ++qa)
      for (std::int32_t qb = s.b.qmin; qb <= s.b.qmax; ++qb) {
        const std::int32_t da = qa - s.a.zero_point, db = qb - s.b.zero_point;
        const std::int64_t exact = std::clamp<std::int64_t>(exact_add(s.a.scale, da, s.b.scale, db, s.y.scale) +
                                                                s.y.zero_point, bounds.lo, bounds.hi);
        const std::int32_t got = q::add_codes(qa, qb, p);
        if (got != exact) {
          ++mismatches;
          const long double v = (static_cast<long double>(s.a.scale) * da + static_cast<long double>(s.b.scale) * db) / s.y.scale;
          CHECK_FALSE(s.exact);
          CHECK(near_tie(v, std::fabs(da) * ea + std::fabs(db) * eb));
        }
      }
    CHECK(mismatches <= 2);
  }
  // arrays
  const q::add_params p = q::make_add(setups[0].a, setups[0].b, setups[0].y);
  std::vector<std::uint8_t> a(300), b(300), y(300);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = std::uint8_t(i * 7);
    b[i] = std::uint8_t(i * 13 + 5);
  }
  q::add_reference(a.data(), b.data(), y.data(), a.size(), p);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(y[i] == q::add_codes(a[i], b[i], p));
  CHECK_FALSE(q::try_make_add(q::u8_params(1.0f, 0), q::u8_params(-1.0f, 0), q::u8_params(1.0f, 0)).has_value());
}

TEST_CASE("average pool multipliers are s_in / (s_out * n)") {
  const auto p = q::make_avg_pool(q::u8_params(0.2f, 3), q::u8_params(0.1f, 7), 1, 9);
  CHECK(p.multipliers.size() == 9);
  for (std::size_t n = 1; n <= 9; ++n)
    CHECK(p.for_count(n).value() == doctest::Approx(double(0.2f) / (double(0.1f) * double(n))).epsilon(1e-9));
  CHECK(p.in_zero_point == 3);
  CHECK(p.zero_point == 7);
  CHECK_FALSE(q::try_make_avg_pool(q::u8_params(0.2f, 3), q::u8_params(0.1f, 7), 0, 9).has_value());
}

TEST_CASE("element-wise multiply equals the exact real product rounded half up, over all 256 x 256 code pairs") {
  struct setup {
    q::quant_params a, b, y;
    q::fused_activation act;
  };
  const setup setups[] = {
      {q::u8_params(0.05f, 128), q::u8_params(1.0f / 255, 0), q::u8_params(0.05f, 128), q::fused_activation::none},
      {q::u8_params(0.0173f, 3), q::u8_params(0.0431f, 250), q::u8_params(0.0519f, 0), q::fused_activation::relu},
      {q::s8_params(0.02f), q::s8_params(0.03f), q::s8_params(0.5f), q::fused_activation::none},
      {q::u8_params(0.25f, 0), q::u8_params(0.5f, 0), q::u8_params(2.0f, 10), q::fused_activation::relu6},
  };
  for (const setup& s : setups) {
    const q::mul_params p = q::make_mul(s.a, s.b, s.y, s.act);
    const q::clamp_bounds bounds = q::bounds_of(s.y, s.act);
    const float_parts pa = parts(s.a.scale), pb = parts(s.b.scale), py = parts(s.y.scale);
    const long double m = static_cast<long double>(s.a.scale) * s.b.scale / s.y.scale;
    const long double merr = std::fabs(static_cast<long double>(p.multiplier.value()) - m);
    int mismatches = 0;
    for (std::int32_t qa = s.a.qmin; qa <= s.a.qmax; ++qa)
      for (std::int32_t qb = s.b.qmin; qb <= s.b.qmax; ++qb) {
        const std::int64_t prod = std::int64_t(qa - s.a.zero_point) * (qb - s.b.zero_point);
        // exact: prod * A * B * 2^(ea + eb) / (Y * 2^ey)
        i128 num = i128(prod) * pa.mant * pb.mant, den = py.mant;
        const int e = pa.exp + pb.exp - py.exp;
        if (e >= 0) {
          num <<= e;
        } else {
          den <<= -e;
        }
        const std::int64_t want = std::clamp<std::int64_t>(
            static_cast<std::int64_t>(round_half_up_div(num, den)) + s.y.zero_point, bounds.lo, bounds.hi);
        const std::int32_t got = q::mul_codes(qa, qb, p);
        if (got != want) {
          ++mismatches;
          CHECK(near_tie(static_cast<long double>(prod) * m, std::fabs(static_cast<long double>(prod)) * merr));
        }
      }
    CHECK(mismatches <= 2);
  }
  std::vector<std::uint8_t> x = {0, 100, 255, 7, 8, 9}, gate = {255, 0}, y(6);
  const q::mul_params p = q::make_mul(setups[0].a, setups[0].b, setups[0].y);
  q::scale_channels_reference(x.data(), gate.data(), y.data(), 2, 3, p);
  for (std::size_t i = 0; i < 6; ++i) CHECK(y[i] == q::mul_codes(x[i], gate[i / 3], p));
  CHECK(y[1] == 100);  // gate 1.0 keeps the value
  CHECK(y[3] == 128);  // gate 0 gives real 0
}

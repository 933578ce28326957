// SPDX-License-Identifier: MIT
// Exact arithmetic: decimals and doubles are compared without rounding.
#include <ohq/solver/exact.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using ohq::solver::exact_number;

TEST_CASE("exact_decimal_sum_differs_from_double_sum") {
  const auto a = exact_number::from_decimal("0.1");
  const auto b = exact_number::from_decimal("0.2");
  const auto c = exact_number::from_decimal("0.3");
  CHECK(a + b == c);  // exactly, as decimals
  const auto da = exact_number::from_double(0.1), db = exact_number::from_double(0.2);
  const auto dc = exact_number::from_double(0.3);
  CHECK(da + db > dc);  // the doubles' exact sum overshoots 0.3's double
  CHECK_FALSE(da == a);
  CHECK((da - a).sign() > 0);  // 0.1 rounds up in binary
}

TEST_CASE("exact_parsing_rejects_non_json_numbers") {
  for (const char* bad : {"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "0x10", "NaN", "1e99999"})
    CHECK_FALSE(exact_number::from_decimal(bad).valid());
  for (const char* ok : {"0", "-0", "12", "1.5", "-2.25e-3", "7E+2", "1e-700"})
    CHECK(exact_number::from_decimal(ok).valid());
  CHECK(exact_number::from_decimal("-0").is_zero());
  CHECK(exact_number::from_decimal("7E+2") == exact_number::from_integer(700));
  CHECK(exact_number::from_decimal("2.50") == exact_number::from_decimal("25e-1"));
  CHECK_FALSE(exact_number::from_double(std::numeric_limits<double>::infinity()).valid());
  CHECK_FALSE(exact_number::from_double(std::nan("")).valid());
}

TEST_CASE("exact_arithmetic_and_ordering") {
  const auto x = exact_number::from_decimal("1.25");
  const auto y = exact_number::from_decimal("-0.5");
  CHECK(x * y == exact_number::from_decimal("-0.625"));
  CHECK(x + y == exact_number::from_decimal("0.75"));
  CHECK(x - x == exact_number{});
  CHECK(y < x);
  CHECK((-x).sign() < 0);
  CHECK(exact_number::from_integer(6).is_integer());
  CHECK_FALSE(exact_number::from_decimal("0.5").is_integer());
  CHECK(exact_number::from_decimal("2.5e1").is_integer());
  // Products of doubles far apart in magnitude stay exact.
  const auto tiny = exact_number::from_double(std::ldexp(1.0, -1000));
  const auto big = exact_number::from_double(std::ldexp(1.0, 1000));
  CHECK(tiny * big == exact_number::from_integer(1));
  CHECK((big + tiny) - big == tiny);
}

TEST_CASE("exact_to_double_rounds_correctly") {
  for (const char* s : {"0.1", "2.2", "5.5", "123456.789", "-3.0000000000000004", "1e-300", "9007199254740993"}) {
    double expect = std::strtod(s, nullptr);
    CHECK(exact_number::from_decimal(s).to_double() == expect);
  }
  for (double v : {0.1, -7.25, 1e-310, 1.7976931348623157e308, 3.0})
    CHECK(exact_number::from_double(v).to_double() == v);
  const auto third = exact_number::from_decimal("0.3333333333333333333333333");
  CHECK(std::fabs(third.to_double() - 1.0 / 3.0) < 1e-16);
}

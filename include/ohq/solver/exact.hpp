// SPDX-License-Identifier: MIT
/// @file Defines `exact_number`, exact arithmetic on doubles and decimals used to re-check answers.
///
/// Every double is m·2^e and every decimal literal is m·10^e = m·2^e·5^e, so sums and products of
/// both kinds are exactly m·2^a·5^b with an arbitrary-precision integer m. That is all a final
/// feasibility check needs: no division, no rounding, no tolerance.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace ohq::solver {

/// An exact value (-1)^negative · magnitude · 2^e2 · 5^e5 with an unbounded integer magnitude.
class exact_number {
 public:
  /// Zero.
  exact_number() = default;

  /// The exact value of a finite double. Non-finite input gives an invalid number.
  static exact_number from_double(double v) {
    exact_number r;
    if (!std::isfinite(v)) {
      r.valid_ = false;
      return r;
    }
    if (v == 0.0) return r;
    int e = 0;
    const double frac = std::frexp(std::fabs(v), &e);  // v = frac·2^e, frac in [0.5, 1)
    const auto m = static_cast<std::uint64_t>(std::ldexp(frac, 53));
    r.negative_ = v < 0;
    r.mag_ = {static_cast<std::uint32_t>(m & 0xffffffffu), static_cast<std::uint32_t>(m >> 32)};
    r.e2_ = e - 53;
    r.trim();
    return r;
  }

  /// The exact value of a decimal literal in JSON number syntax; invalid if it is not one, or if
  /// its exponent exceeds +-max_exponent (such values are out of any sane model's range).
  static exact_number from_decimal(std::string_view s, int max_exponent = 400) {
    exact_number r;
    r.valid_ = false;
    std::size_t i = 0;
    bool neg = false;
    if (i < s.size() && s[i] == '-') {
      neg = true;
      ++i;
    }
    std::vector<std::uint32_t> mag;
    long exp10 = 0;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      mul_small(mag, 10, static_cast<std::uint32_t>(s[i] - '0'));
      ++i;
      ++int_digits;
    }
    if (int_digits == 0) return r;
    if (int_digits > 1 && s[i - int_digits] == '0') return r;  // JSON forbids leading zeros
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        mul_small(mag, 10, static_cast<std::uint32_t>(s[i] - '0'));
        ++i;
        ++frac_digits;
      }
      if (frac_digits == 0) return r;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      bool eneg = false;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        eneg = s[i] == '-';
        ++i;
      }
      std::size_t ed = 0;
      long e = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (e < 1000000) e = e * 10 + (s[i] - '0');
        ++i;
        ++ed;
      }
      if (ed == 0) return r;
      exp10 = eneg ? -e : e;
    }
    if (i != s.size()) return r;
    exp10 -= static_cast<long>(frac_digits);
    while (!mag.empty() && mag.back() == 0) mag.pop_back();
    if (mag.empty()) {
      r.valid_ = true;
      return r;
    }
    if (exp10 > max_exponent || exp10 < -max_exponent - 400) return r;
    r.mag_ = std::move(mag);
    r.negative_ = neg;
    r.e2_ = static_cast<int>(exp10);
    r.e5_ = static_cast<int>(exp10);
    r.valid_ = true;
    r.trim();
    return r;
  }

  /// The exact value of an integer.
  static exact_number from_integer(std::int64_t v) {
    exact_number r;
    r.negative_ = v < 0;
    const std::uint64_t m = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    r.mag_ = {static_cast<std::uint32_t>(m & 0xffffffffu), static_cast<std::uint32_t>(m >> 32)};
    r.trim();
    return r;
  }

  /// False for a number made from NaN, infinity or malformed text; arithmetic propagates it.
  bool valid() const noexcept { return valid_; }
  bool is_zero() const noexcept { return mag_.empty(); }
  /// -1, 0 or +1.
  int sign() const noexcept { return mag_.empty() ? 0 : (negative_ ? -1 : 1); }

  friend exact_number operator-(exact_number a) {
    if (!a.mag_.empty()) a.negative_ = !a.negative_;
    return a;
  }

  friend exact_number operator+(const exact_number& a, const exact_number& b) {
    if (!a.valid_ || !b.valid_) return invalid();
    if (a.mag_.empty()) return b;
    if (b.mag_.empty()) return a;
    const int e2 = std::min(a.e2_, b.e2_), e5 = std::min(a.e5_, b.e5_);
    std::vector<std::uint32_t> ma = a.mag_, mb = b.mag_;
    scale(ma, a.e2_ - e2, a.e5_ - e5);
    scale(mb, b.e2_ - e2, b.e5_ - e5);
    exact_number r;
    r.e2_ = e2;
    r.e5_ = e5;
    if (a.negative_ == b.negative_) {
      r.mag_ = add_mag(ma, mb);
      r.negative_ = a.negative_;
    } else {
      const int c = cmp_mag(ma, mb);
      if (c == 0) return exact_number{};
      if (c > 0) {
        r.mag_ = sub_mag(ma, mb);
        r.negative_ = a.negative_;
      } else {
        r.mag_ = sub_mag(mb, ma);
        r.negative_ = b.negative_;
      }
    }
    r.trim();
    return r;
  }
  friend exact_number operator-(const exact_number& a, const exact_number& b) { return a + (-b); }

  friend exact_number operator*(const exact_number& a, const exact_number& b) {
    if (!a.valid_ || !b.valid_) return invalid();
    if (a.mag_.empty() || b.mag_.empty()) return exact_number{};
    exact_number r;
    r.mag_ = mul_mag(a.mag_, b.mag_);
    r.negative_ = a.negative_ != b.negative_;
    r.e2_ = a.e2_ + b.e2_;
    r.e5_ = a.e5_ + b.e5_;
    r.trim();
    return r;
  }

  exact_number& operator+=(const exact_number& b) { return *this = *this + b; }
  exact_number& operator-=(const exact_number& b) { return *this = *this - b; }

  /// Exact three-way comparison (both operands must be valid).
  friend std::strong_ordering operator<=>(const exact_number& a, const exact_number& b) {
    const int s = (a - b).sign();
    return s < 0 ? std::strong_ordering::less
                 : (s > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }
  friend bool operator==(const exact_number& a, const exact_number& b) { return (a - b).is_zero(); }

  /// The value divided by 2^e2 5^e5 as a 64-bit integer, if that is an integer of magnitude below
  /// `limit`; used to reason about sums modulo a common unit.
  bool scaled_to_int64(int e2, int e5, std::int64_t& out, std::int64_t limit = std::int64_t{1} << 62) const {
    if (!valid_) return false;
    if (mag_.empty()) {
      out = 0;
      return true;
    }
    if (e2_ < e2 || e5_ < e5 || e2_ - e2 > 62 || e5_ - e5 > 27 || mag_.size() > 2) return false;
    std::vector<std::uint32_t> m = mag_;
    scale(m, e2_ - e2, e5_ - e5);
    while (!m.empty() && m.back() == 0) m.pop_back();
    if (m.size() > 2) return false;
    const std::uint64_t v = (m.size() > 1 ? static_cast<std::uint64_t>(m[1]) << 32 : 0) | (m.empty() ? 0 : m[0]);
    if (v >= static_cast<std::uint64_t>(limit)) return false;
    out = negative_ ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
    return true;
  }
  /// Exponents of 2 and 5 of a nonzero value (its magnitude is free of both factors).
  int exp2() const noexcept { return e2_; }
  int exp5() const noexcept { return e5_; }

  /// True when the value is an integer.
  bool is_integer() const {
    if (mag_.empty()) return true;
    if (e2_ >= 0 && e5_ >= 0) return true;
    // Divisible by 2^-e2 and 5^-e5? trim() keeps the magnitude free of those factors.
    return false;
  }

  /// The nearest double (correctly rounded; used for reporting, never for decisions).
  double to_double() const {
    if (!valid_) return std::numeric_limits<double>::quiet_NaN();
    if (mag_.empty()) return 0.0;
    // m·2^a·5^b = M·10^e with M = m·2^(a-b), e = b when a >= b, else M = m·5^(b-a), e = a;
    // then the decimal text M e e is rounded once by from_chars.
    std::vector<std::uint32_t> m = mag_;
    int e10 = 0;
    if (e2_ >= e5_) {
      scale(m, e2_ - e5_, 0);
      e10 = e5_;
    } else {
      scale(m, 0, e5_ - e2_);
      e10 = e2_;
    }
    std::string digits;
    while (!m.empty()) {
      std::uint64_t rem = 0;
      for (std::size_t k = m.size(); k-- > 0;) {
        const std::uint64_t cur = (rem << 32) | m[k];
        m[k] = static_cast<std::uint32_t>(cur / 1000000000u);
        rem = cur % 1000000000u;
      }
      while (!m.empty() && m.back() == 0) m.pop_back();
      for (int k = 0; k < 9; ++k) {
        digits.push_back(static_cast<char>('0' + rem % 10));
        rem /= 10;
        if (m.empty() && rem == 0) break;
      }
    }
    std::string text = negative_ ? "-" : "";
    text.append(digits.rbegin(), digits.rend());
    text += 'e';
    text += std::to_string(e10);
    double v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow or underflow: the sign of the exponent tells which.
      const bool huge = e10 > 0;
      return (negative_ ? -1.0 : 1.0) * (huge ? std::numeric_limits<double>::infinity() : 0.0);
    }
    return v;
  }

 private:
  static exact_number invalid() {
    exact_number r;
    r.valid_ = false;
    return r;
  }

  // Normalise: drop zero limbs, pull factors of 2 and 5 into the exponents so equal values have
  // equal representations and magnitudes stay short.
  void trim() {
    while (!mag_.empty() && mag_.back() == 0) mag_.pop_back();
    if (mag_.empty()) {
      negative_ = false;
      e2_ = e5_ = 0;
      return;
    }
    std::size_t zl = 0;
    while (mag_[zl] == 0) ++zl;
    int tz = static_cast<int>(zl) * 32;
    std::uint32_t w = mag_[zl];
    while ((w & 1u) == 0) {
      w >>= 1;
      ++tz;
    }
    if (tz > 0) {
      shr(mag_, static_cast<std::size_t>(tz));
      e2_ += tz;
    }
    while (div_small_exact(mag_, 5)) ++e5_;
  }

  static void mul_small(std::vector<std::uint32_t>& m, std::uint32_t f, std::uint32_t add = 0) {
    std::uint64_t carry = add;
    for (auto& limb : m) {
      const std::uint64_t t = static_cast<std::uint64_t>(limb) * f + carry;
      limb = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    if (carry) m.push_back(static_cast<std::uint32_t>(carry));
  }

  // Divides by d when the remainder is zero; returns whether it did.
  static bool div_small_exact(std::vector<std::uint32_t>& m, std::uint32_t d) {
    std::vector<std::uint32_t> q(m.size());
    std::uint64_t rem = 0;
    for (std::size_t k = m.size(); k-- > 0;) {
      const std::uint64_t cur = (rem << 32) | m[k];
      q[k] = static_cast<std::uint32_t>(cur / d);
      rem = cur % d;
    }
    if (rem != 0) return false;
    while (!q.empty() && q.back() == 0) q.pop_back();
    m = std::move(q);
    return true;
  }

  static void shl(std::vector<std::uint32_t>& m, std::size_t bits) {
    if (m.empty() || bits == 0) return;
    const std::size_t limbs = bits / 32, b = bits % 32;
    if (b) {
      std::uint32_t carry = 0;
      for (auto& limb : m) {
        const std::uint32_t nc = limb >> (32 - b);
        limb = (limb << b) | carry;
        carry = nc;
      }
      if (carry) m.push_back(carry);
    }
    m.insert(m.begin(), limbs, 0u);
  }

  static void shr(std::vector<std::uint32_t>& m, std::size_t bits) {
    const std::size_t limbs = bits / 32, b = bits % 32;
    m.erase(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(std::min(limbs, m.size())));
    if (b && !m.empty()) {
      for (std::size_t k = 0; k < m.size(); ++k) {
        const std::uint32_t hi = k + 1 < m.size() ? m[k + 1] : 0u;
        m[k] = (m[k] >> b) | (hi << (32 - b));
      }
    }
    while (!m.empty() && m.back() == 0) m.pop_back();
  }

  static void scale(std::vector<std::uint32_t>& m, int d2, int d5) {
    while (d5 >= 13) {
      mul_small(m, 1220703125u);  // 5^13 fits in 32 bits
      d5 -= 13;
    }
    std::uint32_t f = 1;
    while (d5-- > 0) f *= 5;
    if (f != 1) mul_small(m, f);
    shl(m, static_cast<std::size_t>(d2));
  }

  static int cmp_mag(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    for (std::size_t k = a.size(); k-- > 0;)
      if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
    return 0;
  }

  static std::vector<std::uint32_t> add_mag(const std::vector<std::uint32_t>& a,
                                            const std::vector<std::uint32_t>& b) {
    std::vector<std::uint32_t> r(std::max(a.size(), b.size()) + 1, 0u);
    std::uint64_t carry = 0;
    for (std::size_t k = 0; k + 1 < r.size(); ++k) {
      const std::uint64_t t = carry + (k < a.size() ? a[k] : 0u) + (k < b.size() ? b[k] : 0u);
      r[k] = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    r.back() = static_cast<std::uint32_t>(carry);
    return r;
  }

  // a - b for |a| >= |b|.
  static std::vector<std::uint32_t> sub_mag(const std::vector<std::uint32_t>& a,
                                            const std::vector<std::uint32_t>& b) {
    std::vector<std::uint32_t> r(a.size());
    std::int64_t borrow = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      std::int64_t t = static_cast<std::int64_t>(a[k]) - borrow - (k < b.size() ? b[k] : 0u);
      borrow = t < 0 ? 1 : 0;
      if (t < 0) t += (static_cast<std::int64_t>(1) << 32);
      r[k] = static_cast<std::uint32_t>(t);
    }
    return r;
  }

  static std::vector<std::uint32_t> mul_mag(const std::vector<std::uint32_t>& a,
                                            const std::vector<std::uint32_t>& b) {
    std::vector<std::uint32_t> r(a.size() + b.size(), 0u);
    for (std::size_t i = 0; i < a.size(); ++i) {
      std::uint64_t carry = 0;
      for (std::size_t j = 0; j < b.size(); ++j) {
        const std::uint64_t t = static_cast<std::uint64_t>(a[i]) * b[j] + r[i + j] + carry;
        r[i + j] = static_cast<std::uint32_t>(t);
        carry = t >> 32;
      }
      std::size_t k = i + b.size();
      while (carry) {
        const std::uint64_t t = static_cast<std::uint64_t>(r[k]) + carry;
        r[k] = static_cast<std::uint32_t>(t);
        carry = t >> 32;
        ++k;
      }
    }
    return r;
  }

  std::vector<std::uint32_t> mag_;
  int e2_ = 0;
  int e5_ = 0;
  bool negative_ = false;
  bool valid_ = true;
};

}  // namespace ohq::solver

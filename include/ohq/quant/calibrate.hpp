// SPDX-License-Identifier: MIT
/// @file Defines activation calibration as pure functions of a `tensor_stats` record: min-max,
/// percentile, MSE-optimal clipping and TensorRT-style entropy (KL) calibration.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/histogram.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace ohq::quant {

/// How an activation range is chosen from recorded values.
enum class calibration_method : std::uint8_t {
  minmax,      ///< [min, max]
  percentile,  ///< the p-th and (100-p)-th percentiles (p = 99.99 by default)
  mse,         ///< the range whose quantization has the least expected squared error
  entropy,     ///< TensorRT: the |x| threshold minimising KL(reference || quantized)
};

constexpr std::string_view to_string(calibration_method m) noexcept {
  switch (m) {
    case calibration_method::minmax: return "minmax";
    case calibration_method::percentile: return "percentile";
    case calibration_method::mse: return "mse";
    case calibration_method::entropy: return "entropy";
  }
  return "unknown";
}
/// Parses "minmax", "percentile", "mse" or "entropy".
inline result<calibration_method> try_parse_calibration_method(std::string_view s) {
  for (auto m : {calibration_method::minmax, calibration_method::percentile, calibration_method::mse,
                 calibration_method::entropy})
    if (s == to_string(m)) return m;
  return make_status(errc::invalid_argument, "unknown calibration method '", s,
                     "' (expected minmax, percentile, mse or entropy)");
}

/// Options of the calibration methods.
struct calibration_options {
  double percentile = 99.99;          ///< percent, in (50, 100]
  std::size_t entropy_start_bin = 128;  ///< the smallest candidate threshold, in bins
  unsigned mse_rounds = 2;            ///< coordinate-descent rounds for signed u8 ranges
  /// Entropy thresholds keep at least this fraction of the non-zero values unclipped. KL(P || Q)
  /// cannot see clipping once the kept values collapse into a few bins next to the threshold (a
  /// sigmoid gate in [0.2, 0.7], an image whose background is one value): it scores such a
  /// threshold near 0 and would clip most of the tensor. 0 gives TensorRT's unguarded search.
  double entropy_min_kept = 0.99;
};

/// A real range [lo, hi] to be covered by the quantization grid.
struct real_range {
  double lo = 0;
  double hi = 0;
};

/// sum over recorded values of (x - Q(x))^2, treating each bin's count as spread uniformly over
/// the bin, with Q the fake-quant grid of p. Exact per bin: the bin is split where the code
/// changes (x = scale * (q - z + 1/2)) and (x - v)^2 is integrated in closed form per piece.
inline double expected_quant_error(const histogram& h, const quant_params& p) noexcept {
  const double s = p.scale, z = p.zero_point;
  double err = 0;
  const auto counts = h.counts();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (!counts[i]) continue;
    const double a = h.edge(i), b = h.edge(i + 1), density = double(counts[i]) / (b - a);
    double x = a;
    std::int32_t q = detail::quantize_double(a, p);
    // invariant: Q(t) = s * (q - z) on [x, next boundary)
    while (x < b) {
      const double boundary = q < p.qmax ? s * (double(q) - z + 0.5) : std::numeric_limits<double>::infinity();
      if (boundary <= x) {  // float rounding put x on the boundary: move to the next code
        ++q;
        continue;
      }
      const double end = std::min(boundary, b), v = s * (double(q) - z);
      const double u0 = x - v, u1 = end - v;
      err += density * (u1 * u1 * u1 - u0 * u0 * u0) / 3.0;
      x = end;
      ++q;
    }
  }
  return err;
}

/// TensorRT-style entropy calibration on a histogram of |x| (lower edge 0), returning the
/// threshold T = i* * bin_width:
/// - h = the counts with `exact_zeros` removed from bin 0 (0 is exact in every candidate grid);
/// - for each candidate i = start .. n: P = h[0, i) with the mass of bins >= i added to P[i-1];
///   Q = h[0, i) merged into `levels` groups (bin j in group floor(j * levels / i)) and expanded
///   back, each group's total spread evenly over its non-empty bins (empty bins stay 0);
/// - KL(P || Q) of the normalised P and Q, infinite where Q = 0 < P;
/// - i* = the largest i with the least KL (pytorch-quantization's tie rule), among the i that keep
///   at least `min_kept` of the mass below the threshold (0: every i, as TensorRT).
inline double entropy_threshold(const histogram& magnitudes, std::uint64_t exact_zeros, std::size_t levels = 128,
                                std::size_t start_bin = 128, double min_kept = 0.0) {
  const auto counts = magnitudes.counts();
  const std::size_t n = counts.size();
  std::vector<double> h(counts.begin(), counts.end());
  h[0] = std::max(0.0, h[0] - double(exact_zeros));
  std::vector<double> suffix(n + 1, 0.0);
  for (std::size_t j = n; j-- > 0;) suffix[j] = suffix[j + 1] + h[j];
  const double total = suffix[0];
  if (total <= 0) return magnitudes.edge(1);  // all zeros: any small threshold
  std::vector<double> group_total(levels), group_nonzero(levels);
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = n;
  for (std::size_t i = std::min(std::max<std::size_t>(start_bin, 1), n); i <= n; ++i) {
    const double kept = total - suffix[i];
    if (kept <= 0 || kept < min_kept * total) continue;
    std::fill(group_total.begin(), group_total.end(), 0.0);
    std::fill(group_nonzero.begin(), group_nonzero.end(), 0.0);
    for (std::size_t j = 0; j < i; ++j) {
      const std::size_t g = j * levels / i;
      group_total[g] += h[j];
      group_nonzero[g] += h[j] > 0 ? 1.0 : 0.0;
    }
    double kl = 0;
    for (std::size_t j = 0; j < i && std::isfinite(kl); ++j) {
      const double pj = (h[j] + (j + 1 == i ? suffix[i] : 0.0)) / total;
      if (pj <= 0) continue;
      const std::size_t g = j * levels / i;
      const double qj = h[j] > 0 ? group_total[g] / group_nonzero[g] / kept : 0.0;
      kl = qj > 0 ? kl + pj * std::log(pj / qj) : std::numeric_limits<double>::infinity();
    }
    if (kl <= best) {  // <=: the last minimum wins
      best = kl;
      best_i = i;
    }
  }
  return magnitudes.edge(best_i);
}

namespace detail {

/// argmin over candidates of expected_quant_error; ties keep the earlier candidate.
template <class MakeParams>
double best_candidate(const histogram& h, const std::vector<double>& candidates, MakeParams make) {
  double best = candidates.front(), best_err = std::numeric_limits<double>::infinity();
  for (double c : candidates) {
    const double e = expected_quant_error(h, make(c));
    if (e < best_err) {
      best_err = e;
      best = c;
    }
  }
  return best;
}

/// Candidate upper ends: histogram edges in (0, limit), then limit itself, descending.
inline std::vector<double> candidates_up_to(const histogram& h, double limit) {
  std::vector<double> c{limit};
  for (std::size_t i = h.bins(); i-- > 1;) {
    const double e = h.edge(i);
    if (e > 0 && e < limit) c.push_back(e);
  }
  return c;
}
/// Candidate lower ends: histogram edges in (limit, 0), then limit itself, ascending.
inline std::vector<double> candidates_down_to(const histogram& h, double limit) {
  std::vector<double> c{limit};
  for (std::size_t i = 1; i < h.bins(); ++i) {
    const double e = h.edge(i);
    if (e < 0 && e > limit) c.push_back(e);
  }
  return c;
}

inline real_range mse_range(const tensor_stats& st, activation_type type, const calibration_options& o) {
  const histogram& v = st.values();
  if (type == activation_type::s8) {
    const double amax = std::max(-st.min(), st.max());
    const double t = best_candidate(v, candidates_up_to(st.magnitudes(), amax),
                                    [](double c) { return params_from_range(-c, c, activation_type::s8); });
    return {-t, t};
  }
  if (st.non_negative()) {
    const double hi = best_candidate(v, candidates_up_to(v, st.max()),
                                     [](double c) { return params_from_range(0, c, activation_type::u8); });
    return {0, hi};
  }
  real_range r{st.min(), std::max(st.max(), 0.0)};
  const auto up = candidates_up_to(v, r.hi), down = candidates_down_to(v, r.lo);
  for (unsigned round = 0; round < std::max(o.mse_rounds, 1u); ++round) {
    if (r.hi > 0) r.hi = best_candidate(v, up, [&](double c) { return params_from_range(r.lo, c, activation_type::u8); });
    r.lo = best_candidate(v, down, [&](double c) { return params_from_range(c, r.hi, activation_type::u8); });
  }
  return r;
}

}  // namespace detail

/// The real range a method picks for a tensor quantized as `type`. Non-negative tensors get lo = 0.
/// - minmax: [min, max]; percentile: s8 [-a, a] with a the p-th percentile of |x|, u8 [q(1-p), q(p)];
/// - mse: s8 over thresholds a; u8 over hi (lo = 0 for non-negative tensors), else coordinate
///   descent alternating hi and lo, candidates at histogram edges;
/// - entropy: T = entropy_threshold(|x|, 256 levels for non-negative u8 tensors, else 128);
///   s8 [-T, T], u8 [max(min, -T), min(max, T)].
/// Errors: nothing recorded (errc::invalid_argument), NaN/Inf recorded (errc::numerical).
inline result<real_range> try_calibrate_range(const tensor_stats& st, calibration_method method, activation_type type,
                                              const calibration_options& o = {}) {
  if (st.non_finite())
    return make_status(errc::numerical, st.non_finite(), " NaN/Inf values were recorded for this tensor");
  if (!st.count()) return make_status(errc::invalid_argument, "no values were recorded for this tensor");
  if (!(o.percentile > 50.0 && o.percentile <= 100.0))
    return make_status(errc::invalid_argument, "percentile ", o.percentile, " must be in (50, 100]");
  const double mn = st.min(), mx = st.max();
  const bool nonneg = st.non_negative();
  switch (method) {
    case calibration_method::minmax: break;
    case calibration_method::percentile: {
      const double p = o.percentile / 100.0;
      if (type == activation_type::s8) {
        const double a = std::min(st.magnitudes().quantile(p), std::max(-mn, mx));
        return real_range{-a, a};
      }
      const double hi = std::min(st.values().quantile(p), mx);
      const double lo = nonneg ? 0.0 : std::max(st.values().quantile(1.0 - p), mn);
      return real_range{lo, hi};
    }
    case calibration_method::mse: return detail::mse_range(st, type, o);
    case calibration_method::entropy: {
      const std::size_t levels = (nonneg && type == activation_type::u8) ? 256 : 128;
      const double t = std::min(entropy_threshold(st.magnitudes(), st.zeros(), levels, o.entropy_start_bin,
                                                  o.entropy_min_kept),
                                std::max(-mn, mx));
      if (type == activation_type::s8) return real_range{-t, t};
      return real_range{nonneg ? 0.0 : std::max(mn, -t), std::min(mx, t)};
    }
  }
  return real_range{nonneg ? 0.0 : mn, mx};
}

/// Quantization parameters of a tensor: params_from_range(try_calibrate_range(...)).
inline result<quant_params> try_calibrate(const tensor_stats& st, calibration_method method, activation_type type,
                                          const calibration_options& o = {}) {
  auto r = try_calibrate_range(st, method, type, o);
  if (!r) return r.error();
  return params_from_range(r->lo, r->hi, type);
}

#ifndef OHQ_NO_EXCEPTIONS
/// `try_calibrate(...).value()`.
inline quant_params calibrate(const tensor_stats& st, calibration_method method, activation_type type,
                              const calibration_options& o = {}) {
  return try_calibrate(st, method, type, o).value();
}
#endif

}  // namespace ohq::quant

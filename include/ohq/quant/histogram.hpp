// SPDX-License-Identifier: MIT
/// @file Defines `histogram` (fixed or growing range, exact re-binning) and `tensor_stats`, the
/// record of one activation tensor over a calibration set that every calibration method reads.
#pragma once

#include <ohq/config.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace ohq::quant {

/// Equal-width bins over [lo, hi): x goes to bin floor((x - lo) / width).
///
/// Growing mode (the default) starts from the first batch's range [min, max] extended to contain
/// 0, spread over n - 1 bins (so max < hi), and when a later value falls outside [lo, hi), doubles
/// the bin width until it fits, merging pairs of old bins:
/// old bin j becomes new bin (j + d) / 2, where the range grows by d old widths on the left (d = n
/// when only smaller values arrived, 0 when only larger, n/2 when both). Counts are moved, never
/// split, so re-binning is exact and the final histogram equals the one built with the final
/// range from the start (up to rounding of values on bin edges). Ranges anchored at 0 (e.g. ReLU
/// outputs or magnitudes) only grow to the right and keep 0 as the first edge.
///
/// Fixed mode counts values outside [lo, hi) in the first or last bin, and those outside [lo, hi]
/// in `clipped()` (x == hi is the last bin's closed end, not a clip).
class histogram {
 public:
  enum class range_mode : std::uint8_t { growing, fixed };

  /// An empty growing histogram with `bins` bins (even, >= 2).
  explicit histogram(std::size_t bins = 2048) : counts_(bins, 0) { OHQ_ASSERT(bins >= 2 && bins % 2 == 0); }
  /// A fixed-range histogram over [lo, hi), lo < hi.
  histogram(std::size_t bins, double lo, double hi) : counts_(bins, 0), mode_(range_mode::fixed), lo_(lo) {
    OHQ_ASSERT(bins >= 2 && lo < hi);
    width_ = (hi - lo) / double(bins);
  }

  /// Adds finite values (callers filter NaN/Inf; tensor_stats counts them).
  void add(std::span<const float> x) { add_impl(x, [](float v) { return v; }); }
  /// Adds |x| for each value.
  void add_abs(std::span<const float> x) { add_impl(x, [](float v) { return std::fabs(v); }); }

  [[nodiscard]] std::size_t bins() const noexcept { return counts_.size(); }
  [[nodiscard]] range_mode mode() const noexcept { return mode_; }
  [[nodiscard]] bool empty() const noexcept { return total_ == 0; }
  [[nodiscard]] double lo() const noexcept { return lo_; }
  [[nodiscard]] double hi() const noexcept { return lo_ + width_ * double(counts_.size()); }
  [[nodiscard]] double bin_width() const noexcept { return width_; }
  [[nodiscard]] double edge(std::size_t i) const noexcept { return lo_ + width_ * double(i); }
  [[nodiscard]] std::span<const std::uint64_t> counts() const noexcept { return counts_; }
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t clipped() const noexcept { return clipped_; }

  /// The value below which a fraction q of the mass lies, interpolating linearly inside a bin.
  [[nodiscard]] double quantile(double q) const noexcept {
    if (total_ == 0) return 0.0;
    const double target = std::clamp(q, 0.0, 1.0) * double(total_);
    double below = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      const double c = double(counts_[i]);
      if (c > 0 && below + c >= target) return edge(i) + width_ * std::clamp((target - below) / c, 0.0, 1.0);
      below += c;
    }
    return hi();
  }

 private:
  template <class F>
  void add_impl(std::span<const float> x, F f) {
    if (x.empty()) return;
    if (mode_ == range_mode::growing) {
      double mn = std::numeric_limits<double>::infinity(), mx = -mn;
      for (float v : x) {
        const double d = f(v);
        mn = std::min(mn, d);
        mx = std::max(mx, d);
      }
      if (!std::isfinite(mn) || !std::isfinite(mx)) return;  // precondition: finite values
      grow_to(mn, mx);
    }
    const double n = double(counts_.size());
    for (float v : x) {
      const double t = (double(f(v)) - lo_) / width_;
      std::size_t i = 0;
      // Growing ranges cover every value; t may still pass an end by rounding: not a clip.
      if (t >= n) {
        i = counts_.size() - 1;
        if (t > n && mode_ == range_mode::fixed) ++clipped_;
      } else if (t > 0) {
        i = static_cast<std::size_t>(t);
      } else if (t < 0 && mode_ == range_mode::fixed) {
        ++clipped_;
      }
      ++counts_[i];
    }
    total_ += x.size();
  }

  void grow_to(double mn, double mx) {
    const std::size_t n = counts_.size();
    if (width_ == 0) {  // first batch: its range, extended to contain 0
      lo_ = std::min(mn, 0.0);
      const double span = std::max(mx, 0.0) - lo_;
      // n - 1 widths span the batch, so its max lies strictly below hi (ranges are half-open);
      // a constant (or all-zero) first batch still needs a positive width
      width_ = span > 0 ? span / double(n - 1) : std::max(std::fabs(lo_), 1.0) * 0x1p-20 / double(n);
    }
    while (mn < lo_ || mx >= hi()) {
      const bool left = mn < lo_, right = mx >= hi();
      const std::size_t d = (left && right) ? n / 2 : (left ? n : 0);
      std::vector<std::uint64_t> merged(n, 0);
      // invariant: old bin j covers [lo + j w, lo + (j+1) w) = part of new bin (j + d) / 2
      for (std::size_t j = 0; j < n; ++j) merged[(j + d) / 2] += counts_[j];
      counts_.swap(merged);
      lo_ -= double(d) * width_;
      width_ *= 2;
    }
  }

  std::vector<std::uint64_t> counts_;
  range_mode mode_ = range_mode::growing;
  double lo_ = 0;
  double width_ = 0;  // 0 until the first batch of a growing histogram
  std::uint64_t total_ = 0;
  std::uint64_t clipped_ = 0;
};

/// What calibration records about one activation tensor: exact min/max, counts of values, exact
/// zeros and non-finite values, a histogram of x and one of |x| (growing, 2048 bins by default).
class tensor_stats {
 public:
  explicit tensor_stats(std::size_t bins = 2048) : values_(bins), magnitudes_(bins) {}

  /// Records a batch (any shape, flattened). NaN and Inf are counted, not binned.
  void add(std::span<const float> x) {
    finite_.clear();
    finite_.reserve(x.size());
    for (float v : x) {
      if (!std::isfinite(v)) {
        ++non_finite_;
        continue;
      }
      finite_.push_back(v);
      min_ = std::min(min_, double(v));
      max_ = std::max(max_, double(v));
      if (v == 0.0f) ++zeros_;
    }
    count_ += finite_.size();
    values_.add(finite_);
    magnitudes_.add_abs(finite_);
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }  ///< finite values
  [[nodiscard]] std::uint64_t zeros() const noexcept { return zeros_; }
  [[nodiscard]] std::uint64_t non_finite() const noexcept { return non_finite_; }
  [[nodiscard]] double min() const noexcept { return count_ ? min_ : 0.0; }
  [[nodiscard]] double max() const noexcept { return count_ ? max_ : 0.0; }
  [[nodiscard]] bool non_negative() const noexcept { return min() >= 0.0; }
  [[nodiscard]] const histogram& values() const noexcept { return values_; }
  [[nodiscard]] const histogram& magnitudes() const noexcept { return magnitudes_; }

 private:
  histogram values_, magnitudes_;
  std::vector<float> finite_;  // scratch, reused across batches
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
  std::uint64_t count_ = 0, zeros_ = 0, non_finite_ = 0;
};

}  // namespace ohq::quant

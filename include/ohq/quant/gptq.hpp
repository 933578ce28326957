// SPDX-License-Identifier: MIT
/// @file Defines GPTQ-style error-compensating rounding of a layer's weights (Frantar et al.,
/// 2022), the Hessian accumulator it needs, and bias correction. Forward-only, Eigen, double.
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/weights.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <vector>

namespace ohq::quant {

/// Accumulates H = sum x x^T and sum x over the rows x (length K) of a layer's input matrix:
/// the activation vectors of a dense layer, or the im2col patches (one per output pixel) of one
/// group of a convolution. Batches can be fed incrementally.
class hessian_accumulator {
 public:
  explicit hessian_accumulator(std::size_t cols)
      : xtx_(Eigen::MatrixXd::Zero(Eigen::Index(cols), Eigen::Index(cols))), sum_(Eigen::VectorXd::Zero(Eigen::Index(cols))) {}

  [[nodiscard]] std::size_t cols() const noexcept { return std::size_t(sum_.size()); }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

  /// Adds n rows x + i * ld, i < n, each of cols() floats.
  void add(const float* x, std::size_t n, std::size_t ld) {
    const auto k = Eigen::Index(cols());
    constexpr std::size_t chunk = 256;  // rows converted to double per rank update
    Eigen::MatrixXd block(k, Eigen::Index(std::min(n, chunk)));
    for (std::size_t i0 = 0; i0 < n; i0 += chunk) {
      const std::size_t m = std::min(chunk, n - i0);
      block.resize(k, Eigen::Index(m));
      for (std::size_t i = 0; i < m; ++i)
        for (Eigen::Index c = 0; c < k; ++c) block(c, Eigen::Index(i)) = x[(i0 + i) * ld + std::size_t(c)];
      xtx_.selfadjointView<Eigen::Lower>().rankUpdate(block);  // lower triangle += block block^T
      sum_ += block.rowwise().sum();
    }
    count_ += n;
  }

  /// H = sum x x^T (symmetric, both triangles filled).
  [[nodiscard]] Eigen::MatrixXd hessian() const { return xtx_.selfadjointView<Eigen::Lower>(); }
  /// E[x] per input feature (zeros before any row).
  [[nodiscard]] std::vector<float> mean() const {
    std::vector<float> m(cols(), 0.0f);
    if (count_)
      for (std::size_t c = 0; c < m.size(); ++c) m[c] = static_cast<float>(sum_(Eigen::Index(c)) / double(count_));
    return m;
  }

 private:
  Eigen::MatrixXd xtx_;  // lower triangle is authoritative
  Eigen::VectorXd sum_;
  std::size_t count_ = 0;
};

/// Options of `try_gptq`.
struct gptq_options {
  double damping = 0.01;        ///< lambda = damping * mean(diag H), added to diag H
  std::size_t block_size = 128;  ///< columns per lazy batch update (the result does not depend on it)
  bool act_order = false;        ///< process columns by decreasing diag(H) (GPTQ's "act-order")
  unsigned max_damping_retries = 4;  ///< on a failed Cholesky, retry with 10x the damping
};

namespace detail {

/// Inverts H and factors H^-1 = U^T U (U upper) in place; false when not positive definite.
inline bool inverse_cholesky_upper(Eigen::MatrixXd& h) {
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt(h);  // in place: h's lower triangle becomes L
  if (llt.info() != Eigen::Success) return false;
  Eigen::MatrixXd inv = Eigen::MatrixXd::Identity(h.rows(), h.cols());
  llt.solveInPlace(inv);
  h = std::move(inv);
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>> llt2(h);  // lower triangle = L with H^-1 = L L^T
  if (llt2.info() != Eigen::Success) return false;
  h.transposeInPlace();  // upper triangle = U = L^T; the lower triangle is not used
  return true;
}

}  // namespace detail

/// GPTQ: quantizes W [rows][cols] (rows = output channels) at the given per-row scales,
/// column by column, spreading each column's rounding error over the columns not yet quantized
/// so that ||(W_q - W) X^T||^2 is (greedily) minimised for the inputs X behind H = X^T X:
///
///   dead columns (H_jj = 0): W[:, j] = 0, H_jj = 1;   H += damping * mean(diag H) * I
///   U = upper Cholesky factor of H^-1 (H^-1 = U^T U)
///   for each column j (in blocks of block_size, errors applied lazily to later blocks):
///     q = quantize(W[:, j]);  e = (W[:, j] - q) / U_jj;  W[:, k] -= e * U_jk  for k > j
///
/// With H diagonal, U is diagonal and the result is round-to-nearest exactly.
/// Errors: bad sizes or scales, NaN/Inf in W or H, H not positive definite after the retries.
inline result<quantized_weights> try_gptq(std::span<const float> w, std::size_t rows, std::size_t cols,
                                          const Eigen::MatrixXd& h, unsigned bits, std::span<const float> scales,
                                          const gptq_options& o = {}) {
  OHQ_TRY_STATUS(detail::check_weight_args(w, rows, cols, bits));
  if (h.rows() != Eigen::Index(cols) || h.cols() != Eigen::Index(cols))
    return make_status(errc::invalid_argument, "GPTQ: H is ", h.rows(), "x", h.cols(), ", expected ", cols, "x", cols);
  if (!h.allFinite()) return make_status(errc::numerical, "GPTQ: H holds NaN or Inf");
  if (scales.size() != rows)
    return make_status(errc::invalid_argument, "GPTQ: expected ", rows, " scales, got ", scales.size());
  for (std::size_t r = 0; r < rows; ++r)
    if (!(std::isfinite(scales[r]) && scales[r] > 0.0f))
      return make_status(errc::numerical, "GPTQ: scale of row ", r, " is ", scales[r]);
  const weight_format f = weight_format_of(bits);
  const auto n = Eigen::Index(cols), m = Eigen::Index(rows);

  // Column order: identity, or by decreasing diag(H) (stable, so ties keep their order).
  std::vector<Eigen::Index> order(cols);
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  if (o.act_order)
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return h(a, a) > h(b, b); });

  // Dead columns (an input that is always 0: its weights never matter) and the damping scale.
  std::vector<bool> dead(cols);
  double mean_diag = 0;
  for (Eigen::Index j = 0; j < n; ++j) {
    const double d = h(order[std::size_t(j)], order[std::size_t(j)]);
    dead[std::size_t(j)] = d == 0.0;
    mean_diag += dead[std::size_t(j)] ? 1.0 : d;
  }
  mean_diag /= double(n);
  Eigen::MatrixXd wk(m, n);  // W in processing order, double
  for (Eigen::Index r = 0; r < m; ++r)
    for (Eigen::Index j = 0; j < n; ++j)
      wk(r, j) = dead[std::size_t(j)] ? 0.0 : double(w[std::size_t(r) * cols + std::size_t(order[std::size_t(j)])]);

  // U: rebuilt from h on each attempt, so only two n x n matrices live at once (U and H^-1).
  Eigen::MatrixXd u(n, n);
  double damping = o.damping;
  for (unsigned attempt = 0;; ++attempt) {
    for (Eigen::Index j = 0; j < n; ++j)
      for (Eigen::Index i = 0; i < n; ++i) u(i, j) = h(order[std::size_t(i)], order[std::size_t(j)]);
    for (Eigen::Index j = 0; j < n; ++j) {
      if (dead[std::size_t(j)]) u(j, j) = 1.0;
      u(j, j) += damping * mean_diag;
    }
    if (detail::inverse_cholesky_upper(u)) break;
    if (attempt >= o.max_damping_retries)
      return make_status(errc::numerical, "GPTQ: H is not positive definite even with damping ", damping);
    damping *= 10;
  }

  quantized_weights q;
  q.format = f;
  q.rows = rows;
  q.cols = cols;
  q.scales.assign(scales.begin(), scales.end());
  q.codes.resize(rows * cols);
  const Eigen::Index bs = Eigen::Index(std::max<std::size_t>(o.block_size, 1));
  Eigen::MatrixXd err(m, bs);
  for (Eigen::Index i1 = 0; i1 < n; i1 += bs) {
    const Eigen::Index i2 = std::min(i1 + bs, n), count = i2 - i1;
    for (Eigen::Index j = i1; j < i2; ++j) {
      const double d = u(j, j);
      for (Eigen::Index r = 0; r < m; ++r) {
        const double s = scales[std::size_t(r)];
        const double x = wk(r, j);
        const std::int32_t code = f.bits == 1 ? (x < 0 ? -1 : 1)
                                              : detail::round_clamp(x / s, f.code_min, f.code_max, 0);
        q.codes[std::size_t(r) * cols + std::size_t(order[std::size_t(j)])] = static_cast<std::int8_t>(code);
        err(r, j - i1) = (x - s * code) / d;
      }
      // within the block: update the remaining columns right away
      if (j + 1 < i2) wk.middleCols(j + 1, i2 - j - 1).noalias() -= err.col(j - i1) * u.row(j).segment(j + 1, i2 - j - 1);
    }
    // the later blocks: one GEMM
    if (i2 < n) wk.rightCols(n - i2).noalias() -= err.leftCols(count) * u.block(i1, i2, count, n - i2);
  }
  return q;
}

/// GPTQ with scales chosen by `try_choose_weight_scales(w, rows, cols, wopt)` first.
inline result<quantized_weights> try_gptq(std::span<const float> w, std::size_t rows, std::size_t cols,
                                          const Eigen::MatrixXd& h, const weight_quant_options& wopt,
                                          const gptq_options& o = {}) {
  auto scales = try_choose_weight_scales(w, rows, cols, wopt);
  if (!scales) return scales.error();
  return try_gptq(w, rows, cols, h, wopt.bits, *scales, o);
}

/// Bias correction: b'[r] = b[r] - sum_c (Wq[r][c] - W[r][c]) * E[x_c], so the quantized layer's
/// expected output equals the float layer's on the calibration inputs. `bias` may be empty (0).
inline result<std::vector<float>> try_correct_bias(std::span<const float> w, const quantized_weights& q,
                                                   std::span<const float> mean_x, std::span<const float> bias = {}) {
  if (w.size() != q.rows * q.cols || mean_x.size() != q.cols || (!bias.empty() && bias.size() != q.rows))
    return make_status(errc::invalid_argument, "bias correction: sizes do not match a ", q.rows, "x", q.cols, " layer");
  std::vector<float> out(q.rows);
  for (std::size_t r = 0; r < q.rows; ++r) {
    double shift = 0;
    for (std::size_t c = 0; c < q.cols; ++c)
      shift += (double(q.scales[r]) * q.code(r, c) - double(w[r * q.cols + c])) * double(mean_x[c]);
    const double b = (bias.empty() ? 0.0 : double(bias[r])) - shift;
    if (!std::isfinite(b)) return make_status(errc::numerical, "bias correction of channel ", r, " is not finite");
    out[r] = static_cast<float>(b);
  }
  return out;
}

#ifndef OHQ_NO_EXCEPTIONS
/// `try_gptq(...).value()`.
inline quantized_weights gptq(std::span<const float> w, std::size_t rows, std::size_t cols, const Eigen::MatrixXd& h,
                              unsigned bits, std::span<const float> scales, const gptq_options& o = {}) {
  return try_gptq(w, rows, cols, h, bits, scales, o).value();
}
/// `try_gptq(...).value()` with scales chosen from the options.
inline quantized_weights gptq(std::span<const float> w, std::size_t rows, std::size_t cols, const Eigen::MatrixXd& h,
                              const weight_quant_options& wopt, const gptq_options& o = {}) {
  return try_gptq(w, rows, cols, h, wopt, o).value();
}
/// `try_correct_bias(...).value()`.
inline std::vector<float> correct_bias(std::span<const float> w, const quantized_weights& q,
                                       std::span<const float> mean_x, std::span<const float> bias = {}) {
  return try_correct_bias(w, q, mean_x, bias).value();
}
#endif

}  // namespace ohq::quant

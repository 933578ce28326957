// SPDX-License-Identifier: MIT
// GPTQ: lower output error than round-to-nearest on correlated inputs, exactly round-to-nearest
// when H is diagonal, dead columns, errors; the Hessian accumulator; bias correction.
#include <ohq/quant/gptq.hpp>

#include <doctest/doctest.h>

#include "common.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace q = ohq::quant;

namespace {

/// n samples of K correlated features: x = z A with A mixing neighbouring features strongly.
std::vector<float> correlated_inputs(std::size_t n, std::size_t k, ohq_test::rng& r) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(Eigen::Index(k), Eigen::Index(k));
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j) a(i, j) = std::exp(-std::fabs(double(i - j)) / 4.0) + 0.2 * r.normal();
  std::vector<float> x(n * k);
  Eigen::RowVectorXd z(a.rows());
  for (std::size_t s = 0; s < n; ++s) {
    for (Eigen::Index i = 0; i < z.size(); ++i) z(i) = r.normal();
    const Eigen::RowVectorXd row = z * a;
    for (std::size_t j = 0; j < k; ++j) x[s * k + j] = static_cast<float>(row(Eigen::Index(j)) + 0.5);  // non-zero mean
  }
  return x;
}

/// ||(Wq - W) X^T||^2
double output_error(const std::vector<float>& w, const q::quantized_weights& qw, const std::vector<float>& x,
                    std::size_t n) {
  double e = 0;
  for (std::size_t s = 0; s < n; ++s)
    for (std::size_t r = 0; r < qw.rows; ++r) {
      double d = 0;
      for (std::size_t c = 0; c < qw.cols; ++c)
        d += (double(qw.value(r, c)) - double(w[r * qw.cols + c])) * double(x[s * qw.cols + c]);
      e += d * d;
    }
  return e;
}

}  // namespace

TEST_CASE("hessian_accumulator: H = X^T X and E[x], fed in any chunking") {
  ohq_test::rng r(41);
  const std::size_t n = 700, k = 13;
  const auto x = r.normals(n * k);
  q::hessian_accumulator once(k), pieces(k);
  once.add(x.data(), n, k);
  pieces.add(x.data(), 300, k);
  pieces.add(x.data() + 300 * k, 1, k);
  pieces.add(x.data() + 301 * k, n - 301, k);
  const Eigen::MatrixXd h = once.hessian();
  CHECK((h - pieces.hessian()).cwiseAbs().maxCoeff() < 1e-9);
  CHECK((h - h.transpose()).cwiseAbs().maxCoeff() == 0.0);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      double want = 0;
      for (std::size_t s = 0; s < n; ++s) want += double(x[s * k + i]) * double(x[s * k + j]);
      CHECK(h(Eigen::Index(i), Eigen::Index(j)) == doctest::Approx(want).epsilon(1e-12));
    }
  const auto mean = once.mean();
  double m0 = 0;
  for (std::size_t s = 0; s < n; ++s) m0 += x[s * k];
  CHECK(mean[0] == doctest::Approx(m0 / n).epsilon(1e-6));
  CHECK(once.count() == n);
}

TEST_CASE("GPTQ lowers the output error of round-to-nearest on correlated inputs, at every bit-width") {
  ohq_test::rng r(42);
  const std::size_t n = 2048, k = 96, rows = 24;
  const auto x = correlated_inputs(n, k, r);
  const auto w = r.normals(rows * k, 0.1);
  q::hessian_accumulator acc(k);
  acc.add(x.data(), n, k);
  const Eigen::MatrixXd h = acc.hessian();
  for (unsigned bits = 1; bits <= 8; ++bits) {
    for (bool act_order : {false, true}) {
      CAPTURE(bits);
      CAPTURE(act_order);
      q::weight_quant_options wo;
      wo.bits = bits;
      wo.clipping = q::weight_clipping::mse;
      const auto scales = q::choose_weight_scales(w, rows, k, wo);
      const auto rtn = q::quantize_weights_with_scales(w, rows, k, bits, scales);
      q::gptq_options go;
      go.act_order = act_order;
      go.block_size = 32;
      const auto g = q::gptq(w, rows, k, h, bits, scales, go);
      CHECK(g.scales == rtn.scales);
      const double e_rtn = output_error(w, rtn, x, n), e_gptq = output_error(w, g, x, n);
      INFO("W" << bits << std::string(act_order ? " act-order" : "") << ": GPTQ / RTN output error = " << e_gptq / e_rtn);
      CHECK(e_gptq < 0.8 * e_rtn);
    }
  }
}

TEST_CASE("GPTQ with a diagonal H is round-to-nearest exactly (no error to propagate)") {
  ohq_test::rng r(43);
  const std::size_t k = 70, rows = 9;
  const auto w = r.normals(rows * k, 0.3);
  Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(Eigen::Index(k), Eigen::Index(k));
  Eigen::MatrixXd diag = Eigen::MatrixXd::Zero(Eigen::Index(k), Eigen::Index(k));
  for (Eigen::Index i = 0; i < diag.rows(); ++i) diag(i, i) = r.uniform(0.1, 10.0);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (const Eigen::MatrixXd* h : {&identity, &diag})
      for (bool act_order : {false, true})
        for (std::size_t block : {1u, 16u, 128u}) {
          q::weight_quant_options wo;
          wo.bits = bits;
          const auto rtn = q::quantize_weights(w, rows, k, wo);
          q::gptq_options go;
          go.act_order = act_order;
          go.block_size = block;
          CHECK(q::gptq(w, rows, k, *h, wo, go).codes == rtn.codes);
        }
}

TEST_CASE("GPTQ: dead inputs, the block size, and clear errors") {
  ohq_test::rng r(44);
  const std::size_t n = 512, k = 40, rows = 6;
  auto x = correlated_inputs(n, k, r);
  for (std::size_t s = 0; s < n; ++s) x[s * k + 3] = x[s * k + 17] = 0.0f;  // two dead inputs
  const auto w = r.normals(rows * k, 0.1);
  q::hessian_accumulator acc(k);
  acc.add(x.data(), n, k);
  const Eigen::MatrixXd h = acc.hessian();
  CHECK(h(3, 3) == 0.0);
  q::weight_quant_options wo;
  wo.bits = 3;
  q::gptq_options go;
  go.block_size = 128;
  const auto a = q::gptq(w, rows, k, h, wo, go);
  go.block_size = 7;
  const auto b = q::gptq(w, rows, k, h, wo, go);
  for (std::size_t i = 0; i < rows; ++i) {
    CHECK(a.code(i, 3) == 0);  // dead inputs' weights are zeroed
    CHECK(a.code(i, 17) == 0);
  }
  // lazy block updates reorder floating-point sums only: (almost) the same codes
  std::size_t differ = 0;
  for (std::size_t i = 0; i < a.codes.size(); ++i) differ += a.codes[i] != b.codes[i];
  CHECK(differ <= 2);
  CHECK(output_error(w, a, x, n) < output_error(w, q::quantize_weights(w, rows, k, wo), x, n));

  auto bad_w = w;
  bad_w[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(q::try_gptq(bad_w, rows, k, h, wo).error().code() == ohq::errc::numerical);
  Eigen::MatrixXd bad_h = h;
  bad_h(1, 2) = std::numeric_limits<double>::infinity();
  CHECK(q::try_gptq(w, rows, k, bad_h, wo).error().code() == ohq::errc::numerical);
  CHECK(q::try_gptq(w, rows, k, Eigen::MatrixXd::Identity(3, 3), wo).error().code() == ohq::errc::invalid_argument);
  const Eigen::MatrixXd negative = -Eigen::MatrixXd::Identity(Eigen::Index(k), Eigen::Index(k));
  const auto neg = q::try_gptq(w, rows, k, negative, wo);
  REQUIRE_FALSE(neg.has_value());
  CHECK(neg.error().code() == ohq::errc::numerical);
  CHECK(neg.error().message().find("positive definite") != std::string::npos);
}

TEST_CASE("bias correction makes the mean output of the quantized layer equal the float layer's") {
  ohq_test::rng r(45);
  const std::size_t n = 1000, k = 30, rows = 5;
  const auto x = correlated_inputs(n, k, r);
  const auto w = r.normals(rows * k, 0.2);
  const std::vector<float> bias = {0.1f, -0.2f, 0.0f, 0.5f, 1.0f};
  q::hessian_accumulator acc(k);
  acc.add(x.data(), n, k);
  const auto mean = acc.mean();
  q::weight_quant_options wo;
  wo.bits = 2;
  const auto qw = q::quantize_weights(w, rows, k, wo);
  const auto corrected = q::correct_bias(w, qw, mean, bias);
  for (std::size_t o = 0; o < rows; ++o) {
    double float_mean = bias[o], quant_mean = corrected[o], uncorrected = bias[o];
    for (std::size_t c = 0; c < k; ++c) {
      float_mean += double(w[o * k + c]) * mean[c];
      quant_mean += double(qw.value(o, c)) * mean[c];
      uncorrected += double(qw.value(o, c)) * mean[c];
    }
    CHECK(quant_mean == doctest::Approx(float_mean).epsilon(1e-5));
    (void)uncorrected;
  }
  CHECK(q::correct_bias(w, qw, mean).size() == rows);  // no bias: starts from 0
  CHECK_FALSE(q::try_correct_bias(w, qw, std::vector<float>(k + 1)).has_value());
}

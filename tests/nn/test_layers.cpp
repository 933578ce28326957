// SPDX-License-Identifier: MIT
// The fp32 engine against naive loop implementations, layer by layer, on random weights and
// inputs with odd sizes, tails, strides, padding and groups. Agreement: 1e-5 relative to the
// magnitude of the summed terms.
#include <ohq/nn.hpp>

#include "../support/random.hpp"
#include "naive.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace ohq::nn;
using ohq::shape;
namespace naive = ohq::test::naive;

namespace {

constexpr double relative_tolerance = 1e-5;

void check_close(const float* got, const naive::values& ref) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < ref.value.size(); ++i) {
    const double scale = std::max(ref.magnitude[i], 1e-6);
    if (std::abs(double(got[i]) - ref.value[i]) > relative_tolerance * scale) {
      if (bad++ < 5) FAIL_CHECK("element " << i << ": got " << got[i] << ", naive " << ref.value[i]);
    }
  }
  CHECK(bad == 0);
}

/// Reference values of an element-wise function: tolerance relative to max(|value|, 1).
naive::values exact(const std::vector<double>& v) {
  naive::values r{v, std::vector<double>(v.size())};
  for (std::size_t i = 0; i < v.size(); ++i) r.magnitude[i] = std::max(std::abs(v[i]), 1.0);
  return r;
}

std::vector<float> to_vector(std::span<const float> s) { return {s.begin(), s.end()}; }

}  // namespace

template <std::size_t C, std::size_t H, std::size_t W, std::size_t O, std::size_t K, std::size_t S, std::size_t P,
          std::size_t G, bool Bias>
struct conv_case {
  static constexpr std::size_t c = C, h = H, w = W, o = O, k = K, s = S, p = P, g = G;
  static constexpr bool bias = Bias;
  using net = ohq::network<shape<C, H, W>, conv2d<O, K, S, P, G, Bias>>;
};

TEST_CASE_TEMPLATE("conv2d matches the naive convolution", T,
                   conv_case<3, 7, 9, 5, 3, 1, 1, 1, true>,      // odd sizes, padding
                   conv_case<4, 10, 10, 8, 3, 2, 1, 2, true>,    // stride 2, groups 2
                   conv_case<6, 9, 7, 6, 3, 1, 1, 6, false>,     // depthwise 3x3
                   conv_case<8, 8, 8, 8, 5, 2, 2, 8, true>,      // depthwise 5x5 stride 2
                   conv_case<7, 11, 5, 7, 3, 2, 0, 7, true>,     // depthwise, no padding, odd
                   conv_case<4, 6, 6, 8, 3, 1, 1, 4, true>,      // depthwise with multiplier 2
                   conv_case<5, 6, 6, 7, 1, 1, 0, 1, true>,      // pointwise (no im2col)
                   conv_case<4, 11, 13, 6, 1, 2, 0, 1, false>,   // 1x1 stride 2
                   conv_case<3, 5, 5, 4, 5, 1, 0, 1, true>,      // kernel = input
                   conv_case<6, 12, 12, 12, 3, 1, 1, 3, true>,   // grouped, 4 outputs per group
                   conv_case<2, 15, 17, 3, 7, 2, 3, 1, false>,   // 7x7 stride 2 pad 3 (resnet stem)
                   conv_case<1, 28, 28, 16, 3, 1, 1, 1, false>) {
  typename T::net net;
  ohq::test::randomize(net);
  constexpr std::size_t batch = 3;
  const auto x = ohq::test::random_vector(batch * T::c * T::h * T::w);
  const float* y = net.forward(x.data(), batch);
  auto& layer = net.template layer<0>();
  const auto ref = naive::conv2d(x, batch, T::c, T::h, T::w, to_vector(layer.weight()),
                                 T::bias ? to_vector(layer.bias()) : std::vector<float>{}, T::o, T::k, T::s, T::p,
                                 T::g);
  check_close(y, ref);
}

template <std::size_t I, std::size_t O, bool Bias>
struct dense_case {
  static constexpr std::size_t in = I, out = O;
  static constexpr bool bias = Bias;
  using net = ohq::network<shape<I>, dense<O, Bias>>;
};

TEST_CASE_TEMPLATE("dense matches the naive matrix product", T, dense_case<1, 1, true>, dense_case<7, 13, true>,
                   dense_case<33, 5, false>, dense_case<300, 17, true>, dense_case<784, 129, true>) {
  typename T::net net;
  ohq::test::randomize(net);
  for (std::size_t batch : {1u, 2u, 5u}) {
    const auto x = ohq::test::random_vector(batch * T::in);
    const float* y = net.forward(x.data(), batch);
    auto& layer = net.template layer<0>();
    check_close(y, naive::dense(x, batch, T::in, to_vector(layer.weight()),
                                T::bias ? to_vector(layer.bias()) : std::vector<float>{}, T::out));
  }
}

TEST_CASE("pooling matches the naive windows") {
  constexpr std::size_t n = 2, c = 3, h = 9, w = 11;
  const auto x = ohq::test::random_vector(n * c * h * w);
  {
    ohq::network<shape<c, h, w>, max_pool<3, 2, 1>> net;
    check_close(net.forward(x.data(), n), naive::pool(x, n, c, h, w, 3, 2, 1, true, true));
  }
  {
    ohq::network<shape<c, h, w>, max_pool<2>> net;  // floor mode drops the odd tail
    check_close(net.forward(x.data(), n), naive::pool(x, n, c, h, w, 2, 2, 0, true, true));
  }
  {
    ohq::network<shape<c, h, w>, avg_pool<3, 2, 1>> net;
    check_close(net.forward(x.data(), n), naive::pool(x, n, c, h, w, 3, 2, 1, false, true));
  }
  {
    ohq::network<shape<c, h, w>, avg_pool<3, 1, 1, false>> net;
    check_close(net.forward(x.data(), n), naive::pool(x, n, c, h, w, 3, 1, 1, false, false));
  }
  {
    ohq::network<shape<c, h, w>, global_avg_pool> net;
    naive::values ref{std::vector<double>(n * c), std::vector<double>(n * c)};
    for (std::size_t i = 0; i < n * c; ++i) {
      for (std::size_t j = 0; j < h * w; ++j) {
        ref.value[i] += x[i * h * w + j] / double(h * w);
        ref.magnitude[i] += std::abs(x[i * h * w + j]) / double(h * w);
      }
    }
    check_close(net.forward(x.data(), n), ref);
  }
}

TEST_CASE("activations follow PyTorch's definitions") {
  constexpr std::size_t n = 4, len = 37;
  auto x = ohq::test::random_vector(n * len, -8.0f, 8.0f);
  x[0] = -3.0f;
  x[1] = 3.0f;
  x[2] = 0.0f;
  x[3] = 6.0f;
  auto run = [&](auto net, auto f) {
    const float* y = net.forward(x.data(), n);
    std::vector<double> ref(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) ref[i] = f(double(x[i]));
    check_close(y, exact(ref));
  };
  auto clamp6 = [](double v) { return std::min(std::max(v, 0.0), 6.0); };
  run(ohq::network<shape<len>, relu>{}, [](double v) { return v > 0 ? v : 0.0; });
  run(ohq::network<shape<len>, relu6>{}, clamp6);
  run(ohq::network<shape<len>, hardswish>{}, [&](double v) { return v * clamp6(v + 3) / 6; });
  run(ohq::network<shape<len>, hardsigmoid>{}, [&](double v) { return clamp6(v + 3) / 6; });
  run(ohq::network<shape<len>, sigmoid>{}, [](double v) { return 1 / (1 + std::exp(-v)); });
  {
    ohq::network<shape<len>, softmax> net;
    const float* y = net.forward(x.data(), n);
    std::vector<double> ref(x.size());
    for (std::size_t b = 0; b < n; ++b) {
      double total = 0;
      for (std::size_t i = 0; i < len; ++i) total += std::exp(double(x[b * len + i]));
      for (std::size_t i = 0; i < len; ++i) ref[b * len + i] = std::exp(double(x[b * len + i])) / total;
    }
    check_close(y, exact(ref));
  }
  {
    ohq::network<shape<2, 3, 5>, flatten, relu> net;
    static_assert(decltype(net)::output_shape == shape<30>{});
    const float* y = net.forward(x.data(), n);
    for (std::size_t i = 0; i < n * 30; ++i) CHECK(y[i] == std::max(x[i], 0.0f));
  }
}

TEST_CASE("batch_norm computes gamma * (x - mean) / sqrt(var + eps) + beta, and folds exactly") {
  using net_t = ohq::network<shape<3, 6, 5>, conv2d<4, 3, 2, 1, 1, false>, batch_norm, relu>;
  net_t net;
  ohq::test::randomize(net);
  auto& bn = net.layer<1>();
  constexpr std::size_t n = 2;
  const auto x = ohq::test::random_vector(n * 3 * 6 * 5);
  const float* y = net.forward(x.data(), n);
  const auto conv_out = naive::conv2d(x, n, 3, 6, 5, to_vector(net.layer<0>().weight()), {}, 4, 3, 2, 1, 1);
  std::vector<double> ref(conv_out.value.size());
  const std::size_t plane = 3 * 3;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const std::size_t c = (i / plane) % 4;
    const double v = (conv_out.value[i] - bn.running_mean()[c]) / std::sqrt(double(bn.running_var()[c]) + 1e-5) *
                         bn.weight()[c] +
                     bn.bias()[c];
    ref[i] = v > 0 ? v : 0;
  }
  naive::values expected{ref, conv_out.magnitude};
  for (std::size_t i = 0; i < ref.size(); ++i) expected.magnitude[i] = conv_out.magnitude[i] * 4 + std::abs(ref[i]);
  check_close(y, expected);
  const std::vector<float> before(y, y + ref.size());

  net.fold_batch_norms();
  CHECK(bn.folded());
  const float* folded = net.forward(x.data(), n);
  for (std::size_t i = 0; i < ref.size(); ++i) CHECK(folded[i] == doctest::Approx(before[i]).epsilon(1e-5));
}

TEST_CASE("residual adds the body to the input, or to the projected shortcut") {
  constexpr std::size_t n = 2;
  const auto x = ohq::test::random_vector(n * 4 * 7 * 7);
  {
    ohq::network<shape<4, 7, 7>, residual<conv2d<4, 3, 1, 1>>> net;
    ohq::test::randomize(net);
    auto& conv = net.layer<0>().body().layer<0>();
    auto ref = naive::conv2d(x, n, 4, 7, 7, to_vector(conv.weight()), to_vector(conv.bias()), 4, 3, 1, 1, 1);
    for (std::size_t i = 0; i < ref.value.size(); ++i) {
      ref.value[i] += x[i];
      ref.magnitude[i] += std::abs(x[i]);
    }
    check_close(net.forward(x.data(), n), ref);
  }
  {
    ohq::network<shape<4, 7, 7>, residual<shortcut<conv2d<6, 1, 2>>, conv2d<6, 3, 2, 1>>> net;
    ohq::test::randomize(net);
    auto& body = net.layer<0>().body().layer<0>();
    auto& proj = net.layer<0>().projection().layer<0>();
    auto ref = naive::conv2d(x, n, 4, 7, 7, to_vector(body.weight()), to_vector(body.bias()), 6, 3, 2, 1, 1);
    const auto side = naive::conv2d(x, n, 4, 7, 7, to_vector(proj.weight()), to_vector(proj.bias()), 6, 1, 2, 0, 1);
    for (std::size_t i = 0; i < ref.value.size(); ++i) {
      ref.value[i] += side.value[i];
      ref.magnitude[i] += side.magnitude[i];
    }
    check_close(net.forward(x.data(), n), ref);
  }
}

TEST_CASE("squeeze_excite scales each channel by hardsigmoid(W2 relu(W1 mean(x) + b1) + b2)") {
  constexpr std::size_t n = 3, c = 24, h = 5, w = 3;
  using net_t = ohq::network<shape<c, h, w>, squeeze_excite<>>;
  static_assert(std::decay_t<decltype(std::declval<net_t&>().layer<0>())>::squeeze_channels == 8);
  net_t net;
  ohq::test::randomize(net);
  const auto x = ohq::test::random_vector(n * c * h * w);
  const float* y = net.forward(x.data(), n);
  auto& se = net.layer<0>();
  std::vector<float> pooled(n * c);
  for (std::size_t i = 0; i < n * c; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < h * w; ++j) s += x[i * h * w + j];
    pooled[i] = float(s / (h * w));
  }
  auto squeezed = naive::dense(pooled, n, c, to_vector(se.squeeze().weight()), to_vector(se.squeeze().bias()), 8);
  std::vector<float> hidden(n * 8);
  for (std::size_t i = 0; i < hidden.size(); ++i) hidden[i] = float(std::max(squeezed.value[i], 0.0));
  auto excited = naive::dense(hidden, n, 8, to_vector(se.excite().weight()), to_vector(se.excite().bias()), c);
  std::vector<double> ref(n * c * h * w);
  naive::values expected{ref, ref};
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const std::size_t nc = i / (h * w);
    const double gate = std::min(std::max(excited.value[nc] + 3, 0.0), 6.0) / 6;
    expected.value[i] = x[i] * gate;
    expected.magnitude[i] = std::abs(x[i]) * (1 + excited.magnitude[nc] + squeezed.magnitude[nc % 8]);
  }
  check_close(y, expected);
}

TEST_CASE("a batch gives the same outputs as its samples one by one") {
  using net_t = ohq::network<shape<2, 9, 9>, conv2d<6, 3, 2, 1, 1, false>, batch_norm, hardswish,
                             inverted_residual<6, 12, 6, 3, true, relu, 1>, global_avg_pool, dense<4>>;
  net_t net;
  ohq::test::randomize(net);
  net.fold_batch_norms();
  constexpr std::size_t n = 5, in = 2 * 9 * 9;
  const auto x = ohq::test::random_vector(n * in);
  const float* all = net.forward(x.data(), n);
  const std::vector<float> batched(all, all + n * 4);
  for (std::size_t b = 0; b < n; ++b) {
    const float* one = net.forward(x.data() + b * in, 1);
    for (std::size_t i = 0; i < 4; ++i) CHECK(one[i] == doctest::Approx(batched[b * 4 + i]).epsilon(1e-5));
  }
}

TEST_CASE("a wrongly shaped input view is an error naming both shapes") {
  ohq::network<shape<1, 8, 8>, conv2d<2, 3>, global_avg_pool, dense<3>> net;
  std::vector<float> x(64);
  auto r = net.try_forward(ohq::tensor_view<const float>(x.data(), {1, 1, 8, 7}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ohq::errc::shape_mismatch);
  CHECK(r.error().message().find("[1, 1, 8, 7]") != std::string::npos);
  CHECK(r.error().message().find("1, 8, 8") != std::string::npos);
  CHECK_THROWS_AS(net(ohq::tensor_view<const float>(x.data(), {64})), ohq::error);
  auto ok = net(ohq::tensor_view<const float>(x.data(), {1, 8, 8}));
  CHECK(ok.dim(0) == 1);
  CHECK(ok.dim(1) == 3);
}

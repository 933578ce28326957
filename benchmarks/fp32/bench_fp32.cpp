// SPDX-License-Identifier: MIT
// fp32 engine speed: whole example networks at batch 1 and 8, and the two conv paths (im2col +
// Eigen GEMM vs the direct depthwise loop) against the generic grouped path on the same layer.
// Reported as GMAC/s counters; compare ratios within one run, never absolute times across runs.
#include <ohq/ohq.hpp>

#include "examples/networks/fmnist.hpp"
#include "examples/networks/mobilenet_v3.hpp"
#include "examples/networks/resnet18.hpp"

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

namespace {

template <class Net>
std::unique_ptr<Net> make_net() {
  auto net = std::make_unique<Net>();
  std::mt19937 gen(1);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  net->for_each_layer([&](auto& layer) {
    layer.for_each_parameter([&](std::string_view name, std::span<float> v) {
      for (float& x : v) x = name == "running_var" ? 1.0f : dist(gen);
    });
  });
  net->fold_batch_norms();
  return net;
}

template <class Net>
void BM_network(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  auto net = make_net<Net>();
  net->reserve(batch);
  std::vector<float> x(batch * Net::input_shape_t::size, 0.5f);
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(x.data(), batch));
  state.counters["GMAC/s"] = benchmark::Counter(double(Net::macs()) * double(batch) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

using namespace ohq::nn;
// The same depthwise layer through the direct path and through grouped im2col + GEMM (a 2-per-group
// multiplier defeats the direct path), so the ratio shows what the direct path buys.
using depthwise_direct = ohq::network<ohq::shape<96, 28, 28>, depthwise_conv2d<3, 1, 1>>;
using depthwise_as_grouped = ohq::network<ohq::shape<96, 28, 28>, conv2d<192, 3, 1, 1, 96>>;
using conv3x3_56 = ohq::network<ohq::shape<64, 56, 56>, conv2d<64, 3, 1, 1, 1, false>>;
using pointwise_28 = ohq::network<ohq::shape<96, 28, 28>, conv2d<24, 1>>;

}  // namespace

BENCHMARK_TEMPLATE(BM_network, ohq::examples::fmnist_resnet)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_network, ohq::examples::fmnist_mobilenet)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_network, ohq::examples::fmnist_mlp)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_network, ohq::examples::resnet18)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_network, ohq::examples::mobilenet_v3_small)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_network, ohq::examples::mobilenet_v3_large)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_network, depthwise_direct)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_network, depthwise_as_grouped)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_network, conv3x3_56)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_network, pointwise_28)->Arg(1)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

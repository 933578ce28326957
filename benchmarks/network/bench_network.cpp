// SPDX-License-Identifier: MIT
// Whole networks at batch 1, end to end (input floats to dequantized logits): the fp32 forward
// pass, the kernel engine (nn/quantized/kernel_engine.hpp: dispatched SIMD kernels, bit-exact with
// the integer reference engine) at uniform W8A8 / W4A8 / W2A8, on 1 and 2 threads, and the integer
// reference engine itself for the small Fashion-MNIST networks. ImageNet-shaped networks get random
// weights (as bench_fp32) and are calibrated on two random inputs: the timing does not depend on
// the values. Compare ratios within one run (docs/kernels.md, "Whole networks").
#include <ohq/core/thread_pool.hpp>
#include <ohq/nn.hpp>

#include "benchmarks/network/quantized_setup.hpp"
#include "examples/networks/fmnist.hpp"
#include "examples/networks/mobilenet_v3.hpp"
#include "examples/networks/resnet18.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <type_traits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using ohq_bench::quantized_setup;

template <class Net>
void set_counters(benchmark::State& state) {
  state.counters["GMAC/s"] =
      benchmark::Counter(double(Net::macs()) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class Net>
void BM_fp32(benchmark::State& state) {
  auto& s = quantized_setup<Net>::get();
  s.net->reserve(1);
  for (auto _ : state) benchmark::DoNotOptimize(s.net->forward(s.inputs.data(), 1));
  set_counters<Net>(state);
}

/// The kernel engine at `Bits`, state.range(0) threads; state.range(1) = 1 (if given): 3x3
/// convolutions by im2col + GEMM only (no Winograd), the baseline of the Winograd rows.
template <class Net, unsigned Bits>
void BM_kernels(benchmark::State& state) {
  auto& s = quantized_setup<Net>::get();
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::unique_ptr<ohq::thread_pool> pool;
  if (threads > 1) pool = std::make_unique<ohq::thread_pool>(threads);
  ohq::nn::kernel_options o;
  o.threads = pool.get();
  const bool no_winograd = state.range(1) == 1;
  if (no_winograd) o.winograd = ohq::nn::winograd_use::never;
  auto kn = ohq::nn::kernel_network::try_prepare(s.quantized(Bits), o);
  if (!kn) {
    state.SkipWithError(kn.error().what().c_str());
    return;
  }
  state.SetLabel(std::string(ohq::kernels::to_string(kn->path())) + (no_winograd ? ", no winograd" : ""));
  for (auto _ : state) benchmark::DoNotOptimize(kn->run(s.inputs.data(), 1).data());
  set_counters<Net>(state);
}

/// Single runs of the kernel engine at `Bits` on one thread, as ONNX Runtime's side of the
/// comparison is timed (benchmarks/ort/ort_latency.js): registered with Iterations(1) and
/// Repetitions(40), so the aggregates (median, and the min and p10 statistics added below) are
/// over single runs, which a noisy host disturbs less than a mean. The engine is prepared once.
template <class Net, unsigned Bits>
void BM_latency(benchmark::State& state) {
  static auto kn = ohq::nn::kernel_network::try_prepare(quantized_setup<Net>::get().quantized(Bits), {});
  if (!kn) {
    state.SkipWithError(kn.error().what().c_str());
    return;
  }
  const auto& x = quantized_setup<Net>::get().inputs;
  (void)kn->run(x.data(), 1);  // warm: the timed run finds its scratch and weights where the previous left them
  for (auto _ : state) benchmark::DoNotOptimize(kn->run(x.data(), 1).data());
}

/// Order statistics of the repetitions' times, for BM_latency.
double quantile(const std::vector<double>& v, double q) {
  std::vector<double> sorted(v);
  std::sort(sorted.begin(), sorted.end());
  return sorted[std::min(sorted.size() - 1, std::size_t(q * double(sorted.size() - 1) + 0.5))];
}

/// The kernel engine at `Bits` on one thread with a clock read around every op: counters give the
/// milliseconds per run spent in each kind of op (kernel_network::method), e.g.
/// "conv 3x3 (winograd F(3x3,3x3))", and in quantizing the input / dequantizing the output ("io").
template <class Net, unsigned Bits>
void BM_op_split(benchmark::State& state) {
  auto& s = quantized_setup<Net>::get();
  ohq::nn::kernel_options o;
  o.profile = true;
  auto kn = ohq::nn::kernel_network::try_prepare(s.quantized(Bits), o);
  if (!kn) {
    state.SkipWithError(kn.error().what().c_str());
    return;
  }
  (void)kn->run(s.inputs.data(), 1);
  kn->reset_profile();
  for (auto _ : state) benchmark::DoNotOptimize(kn->run(s.inputs.data(), 1).data());
  std::map<std::string, double> ms;
  for (std::size_t i = 0; i < kn->op_seconds().size(); ++i) ms[kn->method(i)] += kn->op_seconds()[i];
  ms["io"] = kn->io_seconds();
  for (const auto& [kind, seconds] : ms) state.counters[kind] = 1e3 * seconds / double(kn->runs());
  state.SetLabel(std::string(ohq::kernels::to_string(kn->path())) + ", ms per run by kind of op");
}

template <class Net, unsigned Bits>
void BM_integer(benchmark::State& state) {
  auto& q = quantized_setup<Net>::get().quantized(Bits);
  const auto& x = quantized_setup<Net>::get().inputs;
  for (auto _ : state) benchmark::DoNotOptimize(q.run_integer(x.data(), 1).data());
  set_counters<Net>(state);
}

/// The activation layout decision (docs/kernels.md): one convolution as the engine runs it in NHWC
/// (1x1 stride 1: the GEMM reads the input in place; k x k: im2col copying runs of k * C bytes;
/// output layout {1, Cout}) against CHW (quant::im2col gathering byte by byte for every
/// convolution, 1x1 included; output layout {pixels, 1}). Args: C, H (= W), Cout, k, stride.
template <bool Nhwc>
void BM_conv_layout(benchmark::State& state) {
  const auto c = std::size_t(state.range(0)), hw = std::size_t(state.range(1)), cout = std::size_t(state.range(2));
  const auto k = std::size_t(state.range(3)), stride = std::size_t(state.range(4));
  const std::size_t pad = k / 2;
  const ohq::quant::conv2d_shape shape{c, hw, hw, cout, k, stride, pad, 1};
  const ohq::kernels::fp32::conv2d_geometry geo{c, hw,     hw,  cout, shape.out_height(), shape.out_width(),
                                                k, stride, pad, 1};
  const std::size_t pixels = shape.out_pixels(), kdim = shape.patch_size();
  std::mt19937 gen(3);
  ohq::quant::quantized_weights w;
  w.format = ohq::quant::weight_format_of(8);
  w.rows = cout;
  w.cols = kdim;
  w.codes.resize(cout * kdim);
  w.scales.assign(cout, 1.0f);
  for (auto& v : w.codes) v = static_cast<std::int8_t>(gen());
  ohq::quant::requant_params rq;
  rq.multiplier.assign(cout, 1 << 30);
  rq.shift.assign(cout, 45);
  rq.zero_point = 128;
  std::vector<std::int32_t> bias(cout, 0);
  std::vector<std::uint8_t> x(c * hw * hw), y(cout * pixels), col(pixels * kdim);
  for (auto& v : x) v = static_cast<std::uint8_t>(gen());
  const auto gemm = ohq::kernels::gemm_w8a8::prepare(w);
  const bool direct = Nhwc && k == 1 && stride == 1;
  for (auto _ : state) {
    if (direct) {
      gemm.run(x.data(), pixels, c, 128, bias.data(), rq, y.data(), ohq::quant::output_layout{1, cout});
    } else if (Nhwc) {
      ohq::nn::detail::im2col_nhwc(x.data(), geo, 0, 128, col.data());
      gemm.run(col.data(), pixels, kdim, 128, bias.data(), rq, y.data(), ohq::quant::output_layout{1, cout});
    } else {
      ohq::quant::im2col(x.data(), shape, 0, std::uint8_t{128}, col.data(), kdim);
      gemm.run(col.data(), pixels, kdim, 128, bias.data(), rq, y.data(), ohq::quant::output_layout{pixels, 1});
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] =
      benchmark::Counter(double(pixels * kdim * cout) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

using ohq::examples::fmnist_mlp;
using ohq::examples::fmnist_mobilenet;
using ohq::examples::fmnist_resnet;
using ohq::examples::mobilenet_v3_large;
using ohq::examples::mobilenet_v3_small;
using ohq::examples::resnet18;

}  // namespace

#define OHQ_NETWORK_BENCHMARKS(Net, unit)                                            \
  BENCHMARK_TEMPLATE(BM_fp32, Net)->Unit(unit);                                      \
  BENCHMARK_TEMPLATE(BM_kernels, Net, 8)->Args({1, 0})->Args({1, 1})->Args({2, 0})->Unit(unit)->UseRealTime(); \
  BENCHMARK_TEMPLATE(BM_kernels, Net, 4)->Args({1, 0})->Args({1, 1})->Unit(unit);                               \
  BENCHMARK_TEMPLATE(BM_kernels, Net, 2)->Args({1, 0})->Args({1, 1})->Unit(unit)

OHQ_NETWORK_BENCHMARKS(resnet18, benchmark::kMillisecond);
#define OHQ_LATENCY_BENCHMARK(Net, Bits)                                                          \
  BENCHMARK_TEMPLATE(BM_latency, Net, Bits)                                                       \
      ->Iterations(1)                                                                             \
      ->Repetitions(40)                                                                           \
      ->ReportAggregatesOnly(true)                                                                \
      ->ComputeStatistics("min", [](const std::vector<double>& v) { return quantile(v, 0.0); })  \
      ->ComputeStatistics("p10", [](const std::vector<double>& v) { return quantile(v, 0.1); })  \
      ->ComputeStatistics("p90", [](const std::vector<double>& v) { return quantile(v, 0.9); })  \
      ->Unit(benchmark::kMillisecond)
OHQ_LATENCY_BENCHMARK(resnet18, 8);
OHQ_LATENCY_BENCHMARK(resnet18, 4);
OHQ_LATENCY_BENCHMARK(resnet18, 2);
OHQ_LATENCY_BENCHMARK(mobilenet_v3_small, 8);
OHQ_LATENCY_BENCHMARK(mobilenet_v3_large, 8);
BENCHMARK_TEMPLATE(BM_op_split, resnet18, 8)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_op_split, mobilenet_v3_small, 8)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_op_split, mobilenet_v3_large, 8)->Unit(benchmark::kMillisecond);
OHQ_NETWORK_BENCHMARKS(mobilenet_v3_small, benchmark::kMillisecond);
OHQ_NETWORK_BENCHMARKS(mobilenet_v3_large, benchmark::kMillisecond);
OHQ_NETWORK_BENCHMARKS(fmnist_resnet, benchmark::kMicrosecond);
OHQ_NETWORK_BENCHMARKS(fmnist_mobilenet, benchmark::kMicrosecond);
OHQ_NETWORK_BENCHMARKS(fmnist_mlp, benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_integer, fmnist_resnet, 8)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_integer, fmnist_mobilenet, 8)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_integer, fmnist_mlp, 8)->Unit(benchmark::kMicrosecond);

// pointwise 96 -> 24 at 28x28 and 576 -> 96 at 7x7 (MobileNet), 3x3 64 -> 64 at 56x56 (ResNet), the 7x7/2 stem
#define OHQ_LAYOUT_ARGS \
  ->Args({96, 28, 24, 1, 1})->Args({576, 7, 96, 1, 1})->Args({64, 56, 64, 3, 1})->Args({3, 224, 64, 7, 2})
BENCHMARK_TEMPLATE(BM_conv_layout, true) OHQ_LAYOUT_ARGS->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_conv_layout, false) OHQ_LAYOUT_ARGS->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

// SPDX-License-Identifier: MIT
// ohq's integer path against oneDNN (Debian's libdnnl-dev 2.6) on one thread, batch 1: ResNet-18's
// 3x3 convs and its 7x7 stride-2 stem, MobileNetV3-Large depthwise and 1x1 layers, dense layers.
//
// Per shape, in this order: oneDNN u8 x s8 -> u8 with per-channel output scales (primitive
// created once, every operand in the layout oneDNN picks for it: format `any`, reordered once
// outside the timed loop), oneDNN fp32 on the same shape, then ohq: the layer as a one-layer
// network (random weights, calibrated, quantized W8A8) run by the kernel engine
// (nn/quantized/kernel_engine.hpp), which picks the method as it does inside a whole network
// (1x1: GEMM on the NHWC input in place; k x k: im2col + GEMM or Winograd; depthwise: the direct
// kernels; dense: GEMM with N = 1). The ohq row times the layer's op alone (kernel_options::profile),
// not the float input's quantization nor the output's dequantization. Counters: GOPS (2 * MACs per
// wall-clock second), peak (the fraction of this core's peak at the clock measured at startup by a
// chain of dependent adds: 128 int8 MACs/cycle with AVX-512 VNNI, else 32 int16 MACs/cycle via AVX2
// vpmaddwd, for the integer rows; 32 or 16 fp32 FMAs/cycle for fp32), and on the ohq row
// x_onednn_int8 / x_onednn_fp32: ohq's speed over oneDNN's from the same run (> 1: ohq is faster).
//
// oneDNN runs its own zero-point-free fast path (u8 activations with zero point 0, as after a
// ReLU); ohq subtracts a nonzero activation zero point at no cost in the loop. On AVX2 without
// VNNI oneDNN's int8 kernels use vpmaddubsw, which saturates int16 for large u8 x s8 pairs
// (not bit-exact); ohq's are exact.
#include <ohq/kernels.hpp>
#include <ohq/nn.hpp>
#include <ohq/quant.hpp>

#include "benchmarks/network/quantized_setup.hpp"

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct layer;
using bench_function = void (*)(benchmark::State&, const layer&);

/// One layer: a convolution (groups == in_channels: depthwise) or, with `dense`, y[M] = W[M][K] x[K];
/// `ohq` times it as a one-layer network of the same shape through the kernel engine.
struct layer {
  const char* name;
  ohq::quant::conv2d_shape conv;  // dense: in_channels = K, out_channels = M, 1x1 image
  bool dense;
  bench_function ohq;

  [[nodiscard]] double macs() const {
    const auto& g = conv;
    return double(g.out_channels) * double(g.out_pixels()) * double(g.patch_size());
  }
};

template <class Net>
void bench_ohq(benchmark::State& state, const layer& l);

template <std::size_t C, std::size_t HW, std::size_t Cout, std::size_t K, std::size_t S>
layer conv(const char* name) {
  using net = ohq::network<ohq::shape<C, HW, HW>, ohq::nn::conv2d<Cout, K, S, K / 2>>;
  return {name, {C, HW, HW, Cout, K, S, K / 2, 1}, false, &bench_ohq<net>};
}
template <std::size_t C, std::size_t HW, std::size_t K, std::size_t S>
layer depthwise(const char* name) {
  using net = ohq::network<ohq::shape<C, HW, HW>, ohq::nn::depthwise_conv2d<K, S, K / 2>>;
  return {name, {C, HW, HW, C, K, S, K / 2, C}, false, &bench_ohq<net>};
}
template <std::size_t K, std::size_t M>
layer dense(const char* name) {
  using net = ohq::network<ohq::shape<K>, ohq::nn::dense<M>>;
  return {name, {K, 1, 1, M, 1, 1, 0, 1}, true, &bench_ohq<net>};
}

const layer layers[] = {
    // ResNet-18, batch 1
    conv<3, 224, 64, 7, 2>("resnet18_stem_7x7s2_224x224x3_64"),
    conv<64, 56, 64, 3, 1>("resnet18_3x3_56x56x64"),
    conv<128, 28, 128, 3, 1>("resnet18_3x3_28x28x128"),
    conv<256, 14, 256, 3, 1>("resnet18_3x3_14x14x256"),
    conv<512, 7, 512, 3, 1>("resnet18_3x3_7x7x512"),
    // MobileNetV3-Large (torchvision): depthwise 3x3/5x5, then 1x1 expansions and projections
    depthwise<16, 112, 3, 1>("mnv3_dw3x3_112x112x16"),
    depthwise<64, 112, 3, 2>("mnv3_dw3x3s2_112x112x64"),
    depthwise<72, 56, 5, 2>("mnv3_dw5x5s2_56x56x72"),
    depthwise<672, 14, 5, 2>("mnv3_dw5x5s2_14x14x672"),
    conv<24, 56, 72, 1, 1>("mnv3_1x1_56x56_24_72"),
    conv<120, 28, 40, 1, 1>("mnv3_1x1_28x28_120_40"),
    conv<672, 14, 112, 1, 1>("mnv3_1x1_14x14_672_112"),
    conv<960, 7, 160, 1, 1>("mnv3_1x1_7x7_960_160"),
    // batch-1 dense layers: 1 x K x M
    dense<512, 1000>("dense_1x512x1000"),
    dense<1024, 1024>("dense_1x1024x1024"),
    dense<4096, 4096>("dense_1x4096x4096"),
    dense<8192, 8192>("dense_1x8192x8192"),
};

/// This core's clock in GHz while busy: a chain of dependent adds runs one per cycle (Google
/// Benchmark's figure is the nominal clock, well below the boost clock the kernels run at).
double measured_ghz() {
#if defined(__x86_64__)
  constexpr std::uint64_t rounds = 50'000'000;
  std::uint64_t x = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < rounds; ++i)
    asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                 "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                 : "+r"(x));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(8 * rounds) / seconds * 1e-9;
#else
  return double(benchmark::CPUInfo::Get().cycles_per_second) * 1e-9;
#endif
}
double core_ghz() {
  static const double ghz = measured_ghz();
  return ghz;
}

bool has_avx512_vnni() { return ohq::kernels::active_arch() == ohq::kernels::arch::avx512_vnni; }
// AVX-512 VNNI: 2 vpdpbusd zmm per cycle, 64 u8 x s8 MACs each; AVX2: 2 vpmaddwd ymm, 16 int16 MACs each
double int_macs_per_cycle() { return has_avx512_vnni() ? 128 : 32; }
// 2 vfmadd per cycle, 16 (zmm) or 8 (ymm) lanes each
double fp32_fmas_per_cycle() { return has_avx512_vnni() ? 32 : 16; }

/// Seconds per execution of "<layer>/int8" and "<layer>/fp32": the oneDNN rows run first per layer.
std::map<std::string, double>& onednn_seconds() {
  static std::map<std::string, double> m;
  return m;
}

template <class Body>
double time_loop(benchmark::State& state, Body&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    body();
    benchmark::ClobberMemory();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(state.iterations());
}

void set_counters(benchmark::State& state, const layer& l, double per_iter, double macs_per_cycle) {
  const double gops = 2.0 * l.macs() * 1e-9 / per_iter;
  state.counters["GOPS"] = gops;
  state.counters["peak"] = gops / (2.0 * macs_per_cycle * core_ghz());
}

template <class T>
void fill_random(dnnl::memory& m, std::mt19937& gen) {
  T* p = static_cast<T*>(m.get_data_handle());
  const std::size_t n = m.get_desc().get_size() / sizeof(T);
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (std::is_floating_point_v<T>)
      p[i] = std::uniform_real_distribution<T>(-1, 1)(gen);
    else
      p[i] = static_cast<T>(gen() % 128);  // small u8/s8 values: no saturation in oneDNN's AVX2 int8 path
  }
}

/// A oneDNN primitive with its operands in the layouts it chose, ready to execute.
struct onednn_layer {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
  std::string impl;

  /// User memory in a plain layout, random, reordered into `desc` (zero padding where blocked).
  template <class T>
  dnnl::memory operand(const dnnl::memory::desc& desc, const dnnl::memory::dims& dims, dt type, tag plain,
                       std::mt19937& gen) {
    dnnl::memory user({dims, type, plain}, eng);
    fill_random<T>(user, gen);
    dnnl::memory m(desc, eng);
    dnnl::reorder(user, m).execute(strm, user, m);
    strm.wait();
    return m;
  }

  onednn_layer(const layer& l, bool int8) {
    std::mt19937 gen(7);
    const auto& g = l.conv;
    const auto oc = dnnl::memory::dim(g.out_channels), ic = dnnl::memory::dim(g.in_channels);
    const dt src_t = int8 ? dt::u8 : dt::f32, wei_t = int8 ? dt::s8 : dt::f32, dst_t = int8 ? dt::u8 : dt::f32;
    dnnl::primitive_attr attr;
    if (int8) {
      std::vector<float> scales(g.out_channels);
      for (auto& s : scales) s = std::uniform_real_distribution<float>(1e-4f, 1e-3f)(gen);
      attr.set_output_scales(1 << 1, scales);  // per output channel (dimension 1 of dst)
    }
    const auto wei_init = [&](const dnnl::memory::desc& d, const dnnl::memory::dims& dims, tag plain) {
      return int8 ? operand<std::int8_t>(d, dims, wei_t, plain, gen) : operand<float>(d, dims, wei_t, plain, gen);
    };
    const auto src_init = [&](const dnnl::memory::desc& d, const dnnl::memory::dims& dims, tag plain) {
      return int8 ? operand<std::uint8_t>(d, dims, src_t, plain, gen) : operand<float>(d, dims, src_t, plain, gen);
    };
    if (l.dense) {
      const dnnl::memory::dims src_dims{1, ic}, wei_dims{ic, oc}, bia_dims{1, oc}, dst_dims{1, oc};
      dnnl::matmul::desc d({src_dims, src_t, tag::any}, {wei_dims, wei_t, tag::any}, {bia_dims, dt::f32, tag::ab},
                           {dst_dims, dst_t, tag::any});
      dnnl::matmul::primitive_desc pd(d, attr, eng);
      prim = dnnl::matmul(pd);
      impl = pd.impl_info_str();
      args[DNNL_ARG_SRC] = src_init(pd.src_desc(), src_dims, tag::ab);
      args[DNNL_ARG_WEIGHTS] = wei_init(pd.weights_desc(), wei_dims, tag::ab);
      args[DNNL_ARG_BIAS] = operand<float>(pd.bias_desc(), bia_dims, dt::f32, tag::ab, gen);
      args[DNNL_ARG_DST] = dnnl::memory(pd.dst_desc(), eng);
    } else {
      const auto k = dnnl::memory::dim(g.kernel), s = dnnl::memory::dim(g.stride), p = dnnl::memory::dim(g.padding);
      const auto groups = dnnl::memory::dim(g.groups);
      const dnnl::memory::dims src_dims{1, ic, dnnl::memory::dim(g.in_height), dnnl::memory::dim(g.in_width)};
      const dnnl::memory::dims dst_dims{1, oc, dnnl::memory::dim(g.out_height()), dnnl::memory::dim(g.out_width())};
      const dnnl::memory::dims wei_dims = groups == 1 ? dnnl::memory::dims{oc, ic, k, k}
                                                      : dnnl::memory::dims{groups, oc / groups, ic / groups, k, k};
      const dnnl::memory::dims bia_dims{oc};
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        {src_dims, src_t, tag::any}, {wei_dims, wei_t, tag::any},
                                        {bia_dims, dt::f32, tag::x}, {dst_dims, dst_t, tag::any}, {s, s}, {p, p},
                                        {p, p});
      dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
      prim = dnnl::convolution_forward(pd);
      impl = pd.impl_info_str();
      args[DNNL_ARG_SRC] = src_init(pd.src_desc(), src_dims, tag::nchw);
      args[DNNL_ARG_WEIGHTS] = wei_init(pd.weights_desc(), wei_dims, groups == 1 ? tag::oihw : tag::goihw);
      args[DNNL_ARG_BIAS] = operand<float>(pd.bias_desc(), bia_dims, dt::f32, tag::x, gen);
      args[DNNL_ARG_DST] = dnnl::memory(pd.dst_desc(), eng);
    }
  }

  void run() {
    prim.execute(strm, args);
    strm.wait();
  }
};

void bench_onednn(benchmark::State& state, const layer& l, bool int8) {
  onednn_layer o(l, int8);
  const double per_iter = time_loop(state, [&] { o.run(); });
  onednn_seconds()[std::string(l.name) + (int8 ? "/int8" : "/fp32")] = per_iter;
  set_counters(state, l, per_iter, int8 ? int_macs_per_cycle() : fp32_fmas_per_cycle());
  state.SetLabel(o.impl);
}

/// The layer as a one-layer W8A8 network through the kernel engine; the op's own time is measured.
template <class Net>
void bench_ohq(benchmark::State& state, const layer& l) {
  if (double(Net::macs()) != l.macs()) {
    state.SkipWithError("the one-layer network does not have the layer's shape");
    return;
  }
  auto& s = ohq_bench::quantized_setup<Net>::get();
  ohq::nn::kernel_options o;
  o.profile = true;
  auto kn = ohq::nn::kernel_network::try_prepare(s.quantized(8), o);
  if (!kn) {
    state.SkipWithError(kn.error().what().c_str());
    return;
  }
  (void)kn->run(s.inputs.data(), 1);  // warm
  kn->reset_profile();
  for (auto _ : state) benchmark::DoNotOptimize(kn->run(s.inputs.data(), 1).data());
  double op_seconds = 0;
  for (const double t : kn->op_seconds()) op_seconds += t;
  const double per_iter = op_seconds / double(kn->runs());
  set_counters(state, l, per_iter, int_macs_per_cycle());
  for (const char* kind : {"int8", "fp32"})
    if (auto it = onednn_seconds().find(std::string(l.name) + "/" + kind); it != onednn_seconds().end())
      state.counters[std::string("x_onednn_") + kind] = it->second / per_iter;
  state.SetLabel(kn->method(0));
}

}  // namespace

int main(int argc, char** argv) {
  omp_set_num_threads(1);  // one thread, like ohq (oneDNN's Debian build threads with OpenMP)
  std::fprintf(stderr, "CPU: %s\n", ohq::describe(ohq::cpu()).c_str());
  const std::string ohq_arch(ohq::kernels::to_string(ohq::kernels::active_arch()));
  std::fprintf(stderr, "clock: %.2f GHz (dependent adds)\n", core_ghz());
  for (const layer& l : layers) {
    const std::string base = std::string("onednn/") + l.name + "/";
    benchmark::RegisterBenchmark((base + "onednn_int8").c_str(), [&l](benchmark::State& st) { bench_onednn(st, l, true); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "onednn_fp32").c_str(), [&l](benchmark::State& st) { bench_onednn(st, l, false); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "ohq_" + ohq_arch).c_str(), [&l](benchmark::State& st) { l.ohq(st, l); })
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

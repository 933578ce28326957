// SPDX-License-Identifier: MIT
// ohq's integer path against oneDNN (Debian's libdnnl-dev 2.6) on one thread, batch 1: ResNet-18's
// 3x3 convs and its 7x7 stride-2 stem, MobileNetV3-Large depthwise and 1x1 layers, dense layers.
//
// Per shape, in this order: oneDNN u8 x s8 -> u8 with per-channel output scales (primitive
// created once, every operand in the layout oneDNN picks for it: format `any`, reordered once
// outside the timed loop), oneDNN fp32 on the same shape, then ohq: convolutions as
// quant::im2col + kernels::gemm_w8a8 per group (the dispatched path), dense layers as gemm_w8a8
// with N = 1. Counters: GOPS (2 * MACs per wall-clock second), peak (the fraction of this core's
// peak at the clock Google Benchmark reports: 32 int16 MACs/cycle via AVX2 vpmaddwd for the
// integer rows, 16 fp32 FMAs/cycle for fp32), and on the ohq row x_onednn_int8 / x_onednn_fp32:
// ohq's speed over oneDNN's from the same run (> 1: ohq is faster).
//
// oneDNN runs its own zero-point-free fast path (u8 activations with zero point 0, as after a
// ReLU); ohq subtracts a nonzero activation zero point at no cost in the loop. On AVX2 without
// VNNI oneDNN's int8 kernels use vpmaddubsw, which saturates int16 for large u8 x s8 pairs
// (not bit-exact); ohq's are exact.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

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

/// One layer: a convolution (groups == in_channels: depthwise) or, with `dense`, y[M] = W[M][K] x[K].
struct layer {
  const char* name;
  ohq::quant::conv2d_shape conv;  // dense: in_channels = K, out_channels = M, 1x1 image
  bool dense;

  [[nodiscard]] double macs() const {
    const auto& g = conv;
    return double(g.out_channels) * double(g.out_pixels()) * double(g.patch_size());
  }
};

constexpr ohq::quant::conv2d_shape conv(std::size_t c_in, std::size_t hw, std::size_t c_out, std::size_t k,
                                        std::size_t stride, std::size_t groups = 1) {
  return {c_in, hw, hw, c_out, k, stride, k / 2, groups};
}
constexpr ohq::quant::conv2d_shape depthwise(std::size_t c, std::size_t hw, std::size_t k, std::size_t stride) {
  return conv(c, hw, c, k, stride, c);
}
constexpr ohq::quant::conv2d_shape dense(std::size_t k, std::size_t m) { return conv(k, 1, m, 1, 1); }

const layer layers[] = {
    // ResNet-18, batch 1
    {"resnet18_stem_7x7s2_224x224x3_64", conv(3, 224, 64, 7, 2), false},
    {"resnet18_3x3_56x56x64", conv(64, 56, 64, 3, 1), false},
    {"resnet18_3x3_28x28x128", conv(128, 28, 128, 3, 1), false},
    {"resnet18_3x3_14x14x256", conv(256, 14, 256, 3, 1), false},
    {"resnet18_3x3_7x7x512", conv(512, 7, 512, 3, 1), false},
    // MobileNetV3-Large (torchvision): depthwise 3x3/5x5, then 1x1 expansions and projections
    {"mnv3_dw3x3_112x112x16", depthwise(16, 112, 3, 1), false},
    {"mnv3_dw3x3s2_112x112x64", depthwise(64, 112, 3, 2), false},
    {"mnv3_dw5x5s2_56x56x72", depthwise(72, 56, 5, 2), false},
    {"mnv3_dw5x5s2_14x14x672", depthwise(672, 14, 5, 2), false},
    {"mnv3_1x1_56x56_24_72", conv(24, 56, 72, 1, 1), false},
    {"mnv3_1x1_28x28_120_40", conv(120, 28, 40, 1, 1), false},
    {"mnv3_1x1_14x14_672_112", conv(672, 14, 112, 1, 1), false},
    {"mnv3_1x1_7x7_960_160", conv(960, 7, 160, 1, 1), false},
    // batch-1 dense layers: 1 x K x M
    {"dense_1x512x1000", dense(512, 1000), true},
    {"dense_1x1024x1024", dense(1024, 1024), true},
    {"dense_1x4096x4096", dense(4096, 4096), true},
    {"dense_1x8192x8192", dense(8192, 8192), true},
};

constexpr double int_macs_per_cycle = 32;  // AVX2: 2 vpmaddwd ymm per cycle, 16 int16 MACs each
constexpr double fp32_fmas_per_cycle = 16;  // AVX2: 2 vfmadd ymm per cycle, 8 lanes each

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
  const double ghz = double(benchmark::CPUInfo::Get().cycles_per_second) * 1e-9;
  state.counters["peak"] = gops / (2.0 * macs_per_cycle * ghz);
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
  set_counters(state, l, per_iter, int8 ? int_macs_per_cycle : fp32_fmas_per_cycle);
  state.SetLabel(o.impl);
}

/// ohq's path for the layer: im2col + gemm_w8a8 per group (one GEMM, N = 1, for dense layers).
struct ohq_layer {
  ohq::quant::conv2d_shape g;
  bool dense;
  std::vector<ohq::kernels::gemm_w8a8> gemms;  // one per group
  std::vector<std::uint8_t> x, col, y;
  std::vector<std::int32_t> bias;
  ohq::quant::requant_params rq;
  static constexpr std::int32_t x_zero_point = 3;

  explicit ohq_layer(const layer& l) : g(l.conv), dense(l.dense) {
    std::mt19937 gen(7);
    const std::size_t patch = g.patch_size(), cout_g = g.out_channels_per_group();
    ohq::quant::quantized_weights w{ohq::quant::weight_format_of(8), g.out_channels, patch,
                                    std::vector<std::int8_t>(g.out_channels * patch), std::vector<float>(g.out_channels, 1.0f)};
    for (auto& c : w.codes) c = static_cast<std::int8_t>(gen());
    for (std::size_t grp = 0; grp < g.groups; ++grp)
      gemms.push_back(ohq::kernels::gemm_w8a8::try_prepare(w, grp * cout_g, cout_g, ohq::kernels::active_arch()).value());
    x.resize(g.in_channels * g.in_height * g.in_width);
    for (auto& v : x) v = static_cast<std::uint8_t>(gen());
    col.resize(dense ? 0 : ohq::quant::conv2d_scratch_size(g));
    y.resize(g.out_channels * g.out_pixels());
    bias.resize(g.out_channels);
    for (auto& b : bias) b = static_cast<std::int32_t>(gen() % 20001) - 10000;
    rq = {std::vector<std::int32_t>(g.out_channels, 1 << 30), std::vector<std::int32_t>(g.out_channels, 45), 128, 0, 255};
  }

  void run() {
    if (dense) {
      gemms[0].run(x.data(), 1, g.in_channels, x_zero_point, bias.data(), rq, y.data(),
                   ohq::quant::output_layout{1, g.out_channels});
      return;
    }
    const std::size_t patch = g.patch_size(), pixels = g.out_pixels(), cout_g = g.out_channels_per_group();
    for (std::size_t grp = 0; grp < g.groups; ++grp) {
      ohq::quant::im2col(x.data(), g, grp, static_cast<std::uint8_t>(x_zero_point), col.data(), patch);
      gemms[grp].run(col.data(), pixels, patch, x_zero_point, bias.data(), rq, y.data() + grp * cout_g * pixels,
                     ohq::quant::output_layout{pixels, 1});
    }
  }
};

void bench_ohq(benchmark::State& state, const layer& l) {
  ohq_layer o(l);
  const double per_iter = time_loop(state, [&] { o.run(); });
  set_counters(state, l, per_iter, int_macs_per_cycle);
  for (const char* kind : {"int8", "fp32"})
    if (auto it = onednn_seconds().find(std::string(l.name) + "/" + kind); it != onednn_seconds().end())
      state.counters[std::string("x_onednn_") + kind] = it->second / per_iter;
  state.SetLabel(std::string(o.gemms[0].kernel().name) + (l.dense ? "" : ", after quant::im2col"));
}

}  // namespace

int main(int argc, char** argv) {
  omp_set_num_threads(1);  // one thread, like ohq (oneDNN's Debian build threads with OpenMP)
  std::fprintf(stderr, "CPU: %s\n", ohq::describe(ohq::cpu()).c_str());
  const std::string ohq_arch(ohq::kernels::to_string(ohq::kernels::active_arch()));
  for (const layer& l : layers) {
    const std::string base = std::string("onednn/") + l.name + "/";
    benchmark::RegisterBenchmark((base + "onednn_int8").c_str(), [&l](benchmark::State& st) { bench_onednn(st, l, true); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "onednn_fp32").c_str(), [&l](benchmark::State& st) { bench_onednn(st, l, false); })
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "ohq_" + ohq_arch).c_str(), [&l](benchmark::State& st) { bench_ohq(st, l); })
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

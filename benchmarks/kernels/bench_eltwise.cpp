// SPDX-License-Identifier: MIT
// Element-wise and pooling kernel speed (kernels/*/eltwise.hpp) per arch path on the tensors of
// ResNet-18 and MobileNetV3 at 224x224, batch 1, NHWC u8: residual adds, squeeze-excite channel
// scaling, the stem's max pool, global average pools (the head and the SE squeezes), an average
// pool, hardswish lookup tables, and quantizing the network's float input (3x224x224 CHW -> HWC
// u8 codes, and flat). Counters: ns_per_elem (output elements for add / scale / lookup / quantize,
// input elements for pools, per second of this thread's CPU time: the machine is shared) and x_ref,
// the speed-up over the scalar path (the reference loops the engine ran before) measured earlier in
// the same run; for quantize also x_old, the speed-up over the engine's old input path
// (quant::quantize_reference, then a CHW -> HWC transpose). Paths this CPU or build lacks are skipped.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using ohq::kernels::arch;
namespace q = ohq::quant;

enum class op { add, scale_channels, max_pool, avg_pool, global_avg_pool, lookup, quantize };

struct shape {
  const char* name;
  op kind;
  std::size_t height, width, channels;
  std::size_t kernel = 0, stride = 0, padding = 0;  // pools
};
const shape shapes[] = {
    {"add_resnet18_56x56x64", op::add, 56, 56, 64},
    {"add_resnet18_28x28x128", op::add, 28, 28, 128},
    {"add_resnet18_7x7x512", op::add, 7, 7, 512},
    {"add_mnv3l_28x28x40", op::add, 28, 28, 40},
    {"scale_mnv3l_28x28x120", op::scale_channels, 28, 28, 120},
    {"scale_mnv3l_14x14x672", op::scale_channels, 14, 14, 672},
    {"scale_mnv3s_56x56x16", op::scale_channels, 56, 56, 16},
    {"max_pool_resnet18_112x112x64_3x3s2", op::max_pool, 112, 112, 64, 3, 2, 1},
    {"avg_pool_14x14x256_3x3s1", op::avg_pool, 14, 14, 256, 3, 1, 1},
    {"global_pool_resnet18_7x7x512", op::global_avg_pool, 7, 7, 512},
    {"global_pool_mnv3l_7x7x960", op::global_avg_pool, 7, 7, 960},
    {"global_pool_mnv3l_28x28x120", op::global_avg_pool, 28, 28, 120},
    {"global_pool_mnv3s_56x56x16", op::global_avg_pool, 56, 56, 16},
    {"lookup_hardswish_mnv3l_112x112x16", op::lookup, 112, 112, 16},
    {"lookup_hardswish_mnv3l_56x56x72", op::lookup, 56, 56, 72},
    {"lookup_hardswish_mnv3l_14x14x672", op::lookup, 14, 14, 672},
    {"quantize_input_3x224x224_chw_to_hwc", op::quantize, 224, 224, 3},
    {"quantize_input_flat_150528", op::quantize, 1, 150528, 1},
};

/// Seconds per call of the scalar path measured earlier in this run, by shape.
std::map<std::string, double>& scalar_seconds() {
  static std::map<std::string, double> m;
  return m;
}
/// Seconds per call of the engine's old input path (quantize_reference, then the CHW -> HWC
/// transpose), by shape: the x_old baseline of the quantize kernels.
std::map<std::string, double>& old_seconds() {
  static std::map<std::string, double> m;
  return m;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// One op's operands and its call on an entry.
struct problem {
  std::vector<std::uint8_t> x, x2, y;
  std::vector<float> xf;  // quantize: the float input, CHW
  q::quant_params input_params{};
  std::vector<std::int32_t> multiplier, shift;
  q::lut8 table{};
  std::size_t elements = 0;  // counted by ns_per_elem
  std::function<void(problem&, const ohq::kernels::eltwise_kernel_entry&)> run;
};

problem make_problem(const shape& s) {
  std::mt19937 gen(11);
  problem made;
  const std::size_t pixels = s.height * s.width, n = pixels * s.channels;
  made.x.resize(n);
  for (auto& v : made.x) v = static_cast<std::uint8_t>(gen());
  const auto in = q::u8_params(0.05f, 120), other = q::u8_params(0.03f, 100), out = q::u8_params(0.06f, 110);
  made.elements = n;
  switch (s.kind) {
    case op::add: {
      made.x2 = made.x;
      std::shuffle(made.x2.begin(), made.x2.end(), gen);
      made.y.resize(n);
      const q::add_params a = q::make_add(in, other, out, q::fused_activation::relu);
      made.run = [a, n](problem& p, const ohq::kernels::eltwise_kernel_entry& e) {
        e.add({p.x.data(), p.x2.data(), p.y.data(), n, a.multiplier_a, a.multiplier_b, a.shift, a.zero_point_a,
               a.zero_point_b, a.zero_point, a.lo, a.hi});
      };
      break;
    }
    case op::scale_channels: {
      made.x2.resize(s.channels);
      for (auto& v : made.x2) v = static_cast<std::uint8_t>(gen());
      made.y.resize(n);
      const q::mul_params m = q::make_mul(in, q::u8_params(1.0f / 256, 0), out);
      made.run = [m, pixels, s](problem& p, const ohq::kernels::eltwise_kernel_entry& e) {
        e.scale_channels({p.x.data(), p.x2.data(), p.y.data(), pixels, s.channels, m.multiplier.multiplier,
                          m.multiplier.shift, m.zero_point_a, m.zero_point_b, m.zero_point, m.lo, m.hi});
      };
      break;
    }
    case op::max_pool:
    case op::avg_pool: {
      const std::size_t ho = (s.height + 2 * s.padding - s.kernel) / s.stride + 1;
      const std::size_t wo = (s.width + 2 * s.padding - s.kernel) / s.stride + 1;
      made.y.resize(ho * wo * s.channels);
      const q::avg_pool_params a = q::make_avg_pool(in, out, 1, s.kernel * s.kernel);
      for (const q::fixed_multiplier& f : a.multipliers) {
        made.multiplier.push_back(f.multiplier);
        made.shift.push_back(f.shift);
      }
      const bool is_max = s.kind == op::max_pool;
      made.run = [a, s, ho, wo, is_max](problem& p, const ohq::kernels::eltwise_kernel_entry& e) {
        ohq::kernels::pool_args args;
        args.x = p.x.data();
        args.height = s.height;
        args.width = s.width;
        args.channels = s.channels;
        args.kernel = s.kernel;
        args.stride = s.stride;
        args.padding = s.padding;
        args.out_height = ho;
        args.out_width = wo;
        args.y = p.y.data();
        args.count_include_pad = false;
        args.multiplier = p.multiplier.data();
        args.shift = p.shift.data();
        args.first_count = a.first_count;
        args.in_zero_point = a.in_zero_point;
        args.zero_point = a.zero_point;
        args.lo = a.lo;
        args.hi = a.hi;
        (is_max ? e.max_pool : e.avg_pool)(args);
      };
      break;
    }
    case op::global_avg_pool: {
      made.y.resize(s.channels);
      const q::avg_pool_params a = q::make_avg_pool(in, out, pixels, pixels);
      made.run = [a, pixels, s](problem& p, const ohq::kernels::eltwise_kernel_entry& e) {
        e.global_avg_pool({p.x.data(), pixels, s.channels, p.y.data(), a.multipliers[0].multiplier,
                           a.multipliers[0].shift, a.in_zero_point, a.zero_point, a.lo, a.hi});
      };
      break;
    }
    case op::lookup: {
      made.y.resize(n);
      made.table = q::make_lut(in, out, q::elementwise_op::hardswish);
      made.run = [n](problem& p, const ohq::kernels::eltwise_kernel_entry& e) { e.lookup({p.table.data(), p.x.data(), p.y.data(), n}); };
      break;
    }
    case op::quantize: {  // an ImageNet-normalised image and its calibrated parameters
      made.xf.resize(n);
      std::uniform_real_distribution<float> pixel(-2.1179f, 2.64f);
      for (auto& v : made.xf) v = pixel(gen);
      made.input_params = q::params_from_range(-2.1179, 2.64, q::activation_type::u8);
      made.y.resize(n);
      made.run = [pixels, s](problem& p, const ohq::kernels::eltwise_kernel_entry& e) {
        ohq::kernels::quantize_args a;
        a.x = p.xf.data();
        a.y = p.y.data();
        a.channels = s.channels;
        a.pixels = pixels;
        a.scale = p.input_params.scale;
        a.zero_point = p.input_params.zero_point;
        a.qmin = p.input_params.qmin;
        a.qmax = p.input_params.qmax;
        e.quantize(a);
      };
      break;
    }
  }
  return made;
}

void bench(benchmark::State& state, shape s, arch path) {
  problem p = make_problem(s);
  const ohq::kernels::eltwise_kernel_entry& e = *ohq::kernels::try_eltwise_kernel(path).value();
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    p.run(p, e);
    benchmark::ClobberMemory();
  }
  const double t = (thread_cpu_seconds() - t0) / double(state.iterations());
  state.counters["ns_per_elem"] = t * 1e9 / double(p.elements);
  if (path == arch::scalar) scalar_seconds()[s.name] = t;
  if (auto it = scalar_seconds().find(s.name); it != scalar_seconds().end()) state.counters["x_ref"] = it->second / t;
  if (auto it = old_seconds().find(s.name); it != old_seconds().end()) state.counters["x_old"] = it->second / t;
  state.SetLabel(e.name);
}

/// The engine's input path before the quantize kernels: quant::quantize_reference into a staging
/// buffer, then the CHW -> HWC transpose loop the engine had.
void bench_quantize_old(benchmark::State& state, shape s) {
  problem p = make_problem(s);
  const std::size_t pixels = s.height * s.width, n = pixels * s.channels;
  std::vector<std::uint8_t> staging(n);
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    q::quantize_reference(p.xf.data(), staging.data(), n, p.input_params);
    for (std::size_t c = 0; c < s.channels; ++c)
      for (std::size_t px = 0; px < pixels; ++px) p.y[px * s.channels + c] = staging[c * pixels + px];
    benchmark::ClobberMemory();
  }
  const double t = (thread_cpu_seconds() - t0) / double(state.iterations());
  state.counters["ns_per_elem"] = t * 1e9 / double(p.elements);
  old_seconds()[s.name] = t;
  state.SetLabel("quant::quantize_reference + CHW -> HWC loop");
}

}  // namespace

int main(int argc, char** argv) {
  std::fprintf(stderr, "CPU: %s\n", ohq::describe(ohq::cpu()).c_str());
  for (arch a : {arch::scalar, arch::avx2})  // avx512_vnni runs the AVX2 kernels
    if (const ohq::status st = ohq::kernels::check_arch(a); !st.ok())
      std::fprintf(stderr, "skipped %s: %s\n", std::string(ohq::kernels::to_string(a)).c_str(), st.message().c_str());
  for (const shape& s : shapes) {
    if (s.kind == op::quantize)  // the old input path first: the x_old baseline
      benchmark::RegisterBenchmark((std::string("eltwise/") + s.name + "/old_path").c_str(),
                                   [s](benchmark::State& st) { bench_quantize_old(st, s); })
          ->Unit(benchmark::kMicrosecond);
    for (arch a : {arch::scalar, arch::avx2}) {  // scalar first: the x_ref baseline
      if (!ohq::kernels::check_arch(a).ok()) continue;
      benchmark::RegisterBenchmark((std::string("eltwise/") + s.name + "/" + std::string(ohq::kernels::to_string(a))).c_str(),
                                   [s, a](benchmark::State& st) { bench(st, s, a); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

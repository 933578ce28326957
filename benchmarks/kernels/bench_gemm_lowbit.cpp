// SPDX-License-Identifier: MIT
// Low-bit GEMM speed (kernels::gemm at W8/W4/W2/W1) per arch path on conv-as-GEMM shapes (M = Cout,
// N = pixels, K = Cin * 9 or Cin for 1x1) and batch-1 dense layers up to 8192^2 (int8 weights 64 MiB,
// beyond L3). Counters: GOPS (2 * M * N * K per second of this thread's CPU time: the machine is
// shared, and CPU time stays meaningful when other jobs take the cores), x_w8a8 (speed-up over the W8A8
// kernel of the same path) and x_ref (over quant::gemm_reference), both measured earlier in the
// same run. Instances come from kernels/instances.hpp; paths this CPU or build lacks are skipped.
// Registered at start-up; bench_gemm_w8a8.cpp's main runs them.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using ohq::kernels::arch;

struct shape {
  const char* name;
  std::size_t m, n, k;  // out channels, columns (pixels or batch), depth
  bool conv;            // output [M][N] (conv) or [N][M] (dense)
};
const shape shapes[] = {
    {"conv56x56x64_3x3", 64, 3136, 576, true},    {"conv28x28x128_3x3", 128, 784, 1152, true},
    {"conv14x14x256_3x3", 256, 196, 2304, true},  {"conv7x7x512_3x3", 512, 49, 4608, true},
    {"conv1x1_M96_N784_K24", 96, 784, 24, true},  {"conv1x1_M576_N49_K96", 576, 49, 96, true},
    {"dense_1x512x1000", 1000, 1, 512, false},    {"dense_1x1024x1024", 1024, 1, 1024, false},
    {"dense_1x4096x4096", 4096, 1, 4096, false},  {"dense_1x8192x8192", 8192, 1, 8192, false},
};

/// Seconds per call measured earlier in this run, by "shape/path" (W8A8) and shape (reference).
std::map<std::string, double>& w8a8_seconds() {
  static std::map<std::string, double> m;
  return m;
}
std::map<std::string, double>& reference_seconds() {
  static std::map<std::string, double> m;
  return m;
}

struct problem {
  ohq::quant::quantized_weights w;
  std::vector<std::uint8_t> x;
  std::vector<std::int32_t> bias;
  ohq::quant::requant_params rq;
  std::vector<std::uint8_t> y;
  ohq::quant::output_layout layout;
};
problem make_problem(const shape& s, unsigned bits) {
  std::mt19937 gen(7);
  const auto format = ohq::quant::weight_format_of(bits);
  problem p{{format, s.m, s.k, std::vector<std::int8_t>(s.m * s.k), std::vector<float>(s.m, 1.0f)},
            std::vector<std::uint8_t>(s.n * s.k),
            std::vector<std::int32_t>(s.m),
            {std::vector<std::int32_t>(s.m, 1 << 30), std::vector<std::int32_t>(s.m, 50), 128, 0, 255},
            std::vector<std::uint8_t>(s.m * s.n),
            s.conv ? ohq::quant::output_layout{s.n, 1} : ohq::quant::output_layout{1, s.m}};
  std::uniform_int_distribution<int> code(format.code_min, format.code_max);
  for (auto& c : p.w.codes) {
    int v = code(gen);
    if (bits == 1 && v == 0) v = 1;
    c = static_cast<std::int8_t>(v);
  }
  for (auto& v : p.x) v = static_cast<std::uint8_t>(gen());
  for (auto& b : p.bias) b = static_cast<std::int32_t>(gen() % 20001) - 10000;
  return p;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// CPU seconds per call of f.
template <class F>
double time_loop(benchmark::State& state, F f) {
  const double t0 = thread_cpu_seconds();
  for (auto _ : state) {
    f();
    benchmark::ClobberMemory();
  }
  return (thread_cpu_seconds() - t0) / double(state.iterations());
}

void set_counters(benchmark::State& state, const shape& s, double per_iter, const std::string& w8a8_key) {
  state.counters["GOPS"] = 2.0 * double(s.m) * double(s.n) * double(s.k) * 1e-9 / per_iter;
  if (auto it = w8a8_seconds().find(w8a8_key); it != w8a8_seconds().end()) state.counters["x_w8a8"] = it->second / per_iter;
  if (auto it = reference_seconds().find(s.name); it != reference_seconds().end())
    state.counters["x_ref"] = it->second / per_iter;
}

void bench_reference(benchmark::State& state, shape s) {
  problem p = make_problem(s, 8);
  const double t = time_loop(state, [&] {
    ohq::quant::gemm_reference(p.x.data(), s.n, s.k, 3, p.w, 0, s.m, p.bias.data(), p.rq, p.y.data(), p.layout);
  });
  reference_seconds()[s.name] = t;
  set_counters(state, s, t, "");
  state.SetLabel("quant::gemm_reference");
}

void bench(benchmark::State& state, shape s, ohq::kernels::gemm_instance kernel) {
  problem p = make_problem(s, kernel.weight_bits);
  const auto g = ohq::kernels::gemm::prepare(p.w, 0, s.m, kernel);
  const double t = time_loop(state, [&] { g.run(p.x.data(), s.n, s.k, 3, p.bias.data(), p.rq, p.y.data(), p.layout); });
  const std::string key = std::string(s.name) + "/" + std::string(ohq::kernels::to_string(kernel.path));
  if (kernel.weight_bits == 8) w8a8_seconds()[key] = t;
  set_counters(state, s, t, key);
  state.SetLabel(g.kernel().name);
}

bool register_benchmarks() {
  for (const shape& s : shapes) {
    const std::string base = std::string("gemm_lowbit/") + s.name;
    benchmark::RegisterBenchmark((base + "/reference").c_str(), [s](benchmark::State& st) { bench_reference(st, s); })
        ->Unit(benchmark::kMicrosecond);
    for (arch a : ohq::kernels::all_archs)
      for (unsigned bits : ohq::kernels::gemm_storage_bits) {  // W8 first: the x_w8a8 baseline
        const auto line = ohq::kernels::resolve_gemm_instance(bits, a);
        if (!line || !ohq::kernels::check_arch(a).ok()) continue;
        const ohq::kernels::gemm_instance kernel{bits, a};
        benchmark::RegisterBenchmark((base + "/" + std::string(ohq::kernels::to_string(a)) + "/w" + std::to_string(bits)).c_str(),
                                     [s, kernel](benchmark::State& st) { bench(st, s, kernel); })
            ->Unit(benchmark::kMicrosecond);
      }
  }
  return true;
}
const bool registered = register_benchmarks();

}  // namespace

// SPDX-License-Identifier: MIT
// W8A8 GEMM speed per arch path on batch-1 dense layers and conv-as-GEMM shapes (ResNet-18's 3x3
// convs at batch 1). Counters: GOPS (2 * M * N * K int ops per wall-clock second), x_scalar and
// x_reference: the speed-up over the scalar path and over quant::gemm_reference measured in the
// same run (both run first per shape). Paths this CPU or build lacks are listed on stderr and not
// registered. Last per shape: the active path split over a thread_pool of 2 threads, with
// x_1thread, its speed-up over the same path on one thread. With --benchmark_repetitions each row
// also reports its fastest repetition (`_min`), the one least disturbed on a shared machine.
// Compare ratios within one run, never absolute times across runs.
#include <ohq/kernels.hpp>
#include <ohq/quant.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using ohq::kernels::arch;

struct shape {
  const char* name;
  std::size_t m, n, k;  // out channels, columns (batch or pixels), depth
  bool conv;            // output [M][N] (conv) or [N][M] (dense)
};
const shape shapes[] = {
    {"dense_1x512x1000", 1000, 1, 512, false},     {"dense_1x1024x1024", 1024, 1, 1024, false},
    {"dense_1x4096x4096", 4096, 1, 4096, false},   {"conv_M64_N3136_K576", 64, 3136, 576, true},
    {"conv_M128_N784_K1152", 128, 784, 1152, true}, {"conv_M256_N196_K2304", 256, 196, 2304, true},
    {"conv_M512_N49_K4608", 512, 49, 4608, true},
};

std::map<std::string, double>& scalar_seconds() {
  static std::map<std::string, double> m;
  return m;
}
std::map<std::string, double>& reference_seconds() {
  static std::map<std::string, double> m;
  return m;
}
std::map<std::string, double>& active_arch_seconds() {  // the one-thread time of the active path
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
problem make_problem(const shape& s) {
  std::mt19937 gen(7);
  problem p{{ohq::quant::weight_format_of(8), s.m, s.k, std::vector<std::int8_t>(s.m * s.k), std::vector<float>(s.m, 1.0f)},
            std::vector<std::uint8_t>(s.n * s.k),
            std::vector<std::int32_t>(s.m),
            {std::vector<std::int32_t>(s.m, 1 << 30), std::vector<std::int32_t>(s.m, 50), 128, 0, 255},
            std::vector<std::uint8_t>(s.m * s.n),
            s.conv ? ohq::quant::output_layout{s.n, 1} : ohq::quant::output_layout{1, s.m}};
  for (auto& c : p.w.codes) c = static_cast<std::int8_t>(gen());
  for (auto& v : p.x) v = static_cast<std::uint8_t>(gen());
  for (auto& b : p.bias) b = static_cast<std::int32_t>(gen() % 20001) - 10000;
  return p;
}

void set_counters(benchmark::State& state, const shape& s, double per_iter) {
  const double ops = 2.0 * double(s.m) * double(s.n) * double(s.k);
  state.counters["GOPS"] = ops * 1e-9 / per_iter;
  if (auto it = scalar_seconds().find(s.name); it != scalar_seconds().end()) state.counters["x_scalar"] = it->second / per_iter;
  if (auto it = reference_seconds().find(s.name); it != reference_seconds().end())
    state.counters["x_reference"] = it->second / per_iter;
}

/// quant::gemm_reference, the integer truth (not a dispatch path): the baseline of x_reference.
void bench_reference(benchmark::State& state, shape s) {
  problem p = make_problem(s);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    ohq::quant::gemm_reference(p.x.data(), s.n, s.k, 3, p.w, 0, s.m, p.bias.data(), p.rq, p.y.data(), p.layout);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  const double per_iter = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                          double(state.iterations());
  reference_seconds()[s.name] = per_iter;
  set_counters(state, s, per_iter);
  state.SetLabel("quant::gemm_reference");
}

void bench(benchmark::State& state, shape s, arch a) {
  problem p = make_problem(s);
  const auto g = ohq::kernels::gemm_w8a8::prepare(p.w, a);

  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    g.run(p.x.data(), s.n, s.k, 3, p.bias.data(), p.rq, p.y.data(), p.layout);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  const double per_iter = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                          double(state.iterations());
  if (a == arch::scalar) scalar_seconds()[s.name] = per_iter;
  if (a == ohq::kernels::active_arch()) active_arch_seconds()[s.name] = per_iter;
  set_counters(state, s, per_iter);
  state.SetLabel(g.kernel().name);
}

/// The active path split over `threads` threads (gemm_w8a8::run with a thread_pool).
void bench_threads(benchmark::State& state, shape s, std::size_t threads) {
  problem p = make_problem(s);
  const auto g = ohq::kernels::gemm_w8a8::prepare(p.w);
  ohq::thread_pool pool(threads);

  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    g.run(pool, p.x.data(), s.n, s.k, 3, p.bias.data(), p.rq, p.y.data(), p.layout);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  const double per_iter = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                          double(state.iterations());
  set_counters(state, s, per_iter);
  if (auto it = active_arch_seconds().find(s.name); it != active_arch_seconds().end())
    state.counters["x_1thread"] = it->second / per_iter;
  state.SetLabel(std::string(g.kernel().name) + " on " + std::to_string(threads) + " threads");
}

/// Microseconds, and the fastest repetition besides mean/median/stddev: on a shared machine the
/// minimum is the run least disturbed by other jobs (the 2-thread rows need both cores free).
void configure(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", [](const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::fprintf(stderr, "CPU: %s\n", ohq::describe(ohq::cpu()).c_str());
  for (const shape& s : shapes) {
    benchmark::RegisterBenchmark((std::string("gemm_w8a8/") + s.name + "/reference").c_str(),
                                 [s](benchmark::State& st) { bench_reference(st, s); })
        ->Apply(configure);
    for (arch a : ohq::kernels::all_archs) {
      if (const ohq::status st = ohq::kernels::check_arch(a); !st.ok()) {
        std::fprintf(stderr, "skipped %s/%s: %s\n", s.name, std::string(ohq::kernels::to_string(a)).c_str(),
                     st.message().c_str());
        continue;
      }
      benchmark::RegisterBenchmark((std::string("gemm_w8a8/") + s.name + "/" + std::string(ohq::kernels::to_string(a))).c_str(),
                                   [s, a](benchmark::State& st) { bench(st, s, a); })
          ->Apply(configure);
    }
    const std::size_t threads = 2;
    benchmark::RegisterBenchmark((std::string("gemm_w8a8/") + s.name + "/" +
                                  std::string(ohq::kernels::to_string(ohq::kernels::active_arch())) + "_" +
                                  std::to_string(threads) + "threads").c_str(),
                                 [s](benchmark::State& st) { bench_threads(st, s, threads); })
        ->Apply(configure);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

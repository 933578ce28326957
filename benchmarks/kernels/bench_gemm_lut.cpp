// SPDX-License-Identifier: MIT
// Table-lookup GEMM (1-, 2-, 3-bit weights, kernels/avx2/gemm_lut.hpp) against the AVX2 W8A8
// kernel running the same codes as int8, the AVX2 vpmaddubsw low-bit kernels (kernels::gemm: W1A8,
// W2A8, and W4A8 for 3-bit codes) and quant::gemm_reference, on batch-1 dense layers and
// conv-as-GEMM shapes. Counters: GOPS (2 * M * N * K int ops per wall-clock second), x_w8a8,
// x_lowbit and x_reference: the speed-up over those measured in the same run (they run first).
// Without AVX2 (CPU or build) only the reference runs. Compare ratios within one run.
#include <ohq/kernels.hpp>
#include <ohq/kernels/pack_lut.hpp>
#include <ohq/quant.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <map>
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
    {"dense_1x512x1000", 1000, 1, 512, false},   {"dense_1x1024x1024", 1024, 1, 1024, false},
    {"dense_1x4096x4096", 4096, 1, 4096, false}, {"dense_1x8192x8192", 8192, 1, 8192, false},
    {"conv_M64_N3136_K576", 64, 3136, 576, true}, {"conv_M512_N49_K4608", 512, 49, 4608, true},
};

std::map<std::string, double>& w8a8_seconds() {
  static std::map<std::string, double> m;
  return m;
}
/// The vpmaddubsw low-bit kernel's time per (shape, bits), the baseline of x_lowbit.
std::map<std::string, double>& lowbit_seconds() {
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
/// Random `bits`-bit codes over their full range (the W8A8 kernel and the reference run them as int8).
problem make_problem(const shape& s, unsigned bits) {
  std::mt19937 gen(7);
  const ohq::quant::weight_format f = ohq::quant::weight_format_of(bits);
  problem p{{f, s.m, s.k, std::vector<std::int8_t>(s.m * s.k), std::vector<float>(s.m, 1.0f)},
            std::vector<std::uint8_t>(s.n * s.k),
            std::vector<std::int32_t>(s.m),
            {std::vector<std::int32_t>(s.m, 1 << 30), std::vector<std::int32_t>(s.m, 44), 128, 0, 255},
            std::vector<std::uint8_t>(s.m * s.n),
            s.conv ? ohq::quant::output_layout{s.n, 1} : ohq::quant::output_layout{1, s.m}};
  for (auto& c : p.w.codes) {
    int v = int(gen() % unsigned(f.code_max - f.code_min + 1)) + f.code_min;
    if (bits == 1 && v == 0) v = 1;
    c = static_cast<std::int8_t>(v);
  }
  for (auto& v : p.x) v = static_cast<std::uint8_t>(gen());
  for (auto& b : p.bias) b = static_cast<std::int32_t>(gen() % 20001) - 10000;
  return p;
}

template <class Body>
double time_loop(benchmark::State& state, problem& p, Body&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    body();
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(state.iterations());
}

void set_counters(benchmark::State& state, const shape& s, double per_iter, unsigned bits = 0) {
  state.counters["GOPS"] = 2.0 * double(s.m) * double(s.n) * double(s.k) * 1e-9 / per_iter;
  if (auto it = lowbit_seconds().find(s.name + std::to_string(bits)); bits && it != lowbit_seconds().end())
    state.counters["x_lowbit"] = it->second / per_iter;
  if (auto it = w8a8_seconds().find(s.name); it != w8a8_seconds().end()) state.counters["x_w8a8"] = it->second / per_iter;
  if (auto it = reference_seconds().find(s.name); it != reference_seconds().end())
    state.counters["x_reference"] = it->second / per_iter;
}

/// quant::gemm_reference on 2-bit codes (its speed does not depend on the code width).
void bench_reference(benchmark::State& state, shape s) {
  problem p = make_problem(s, 2);
  const double t = time_loop(state, p, [&] {
    ohq::quant::gemm_reference(p.x.data(), s.n, s.k, 3, p.w, 0, s.m, p.bias.data(), p.rq, p.y.data(), p.layout);
  });
  reference_seconds()[s.name] = t;
  set_counters(state, s, t);
  state.SetLabel("quant::gemm_reference");
}

/// The AVX2 W8A8 kernel on 2-bit codes stored as int8 (what runs low-bit layers today).
void bench_w8a8(benchmark::State& state, shape s) {
  problem p = make_problem(s, 2);
  const auto g = ohq::kernels::gemm_w8a8::prepare(p.w, arch::avx2);
  const double t = time_loop(state, p, [&] { g.run(p.x.data(), s.n, s.k, 3, p.bias.data(), p.rq, p.y.data(), p.layout); });
  w8a8_seconds()[s.name] = t;
  set_counters(state, s, t);
  state.SetLabel(g.kernel().name);
}

/// The AVX2 low-bit family for these codes through the kernels::gemm facade (W1A8, W2A8; 3-bit
/// codes run on W4A8): the vpmaddubsw kernels, the alternative to table lookup.
void bench_lowbit(benchmark::State& state, shape s, unsigned bits) {
  problem p = make_problem(s, bits);
  const auto g = ohq::kernels::gemm::prepare(p.w, arch::avx2);
  const double t = time_loop(state, p, [&] { g.run(p.x.data(), s.n, s.k, 3, p.bias.data(), p.rq, p.y.data(), p.layout); });
  lowbit_seconds()[s.name + std::to_string(bits)] = t;
  set_counters(state, s, t);
  state.SetLabel(g.kernel().name);
}

void bench_lut(benchmark::State& state, shape s, unsigned bits) {
  problem p = make_problem(s, bits);
  const auto g = ohq::kernels::gemm::prepare(p.w, 0, s.m, {bits, arch::avx2, ohq::kernels::gemm_method::lut});
  const double t = time_loop(state, p, [&] { g.run(p.x.data(), s.n, s.k, 3, p.bias.data(), p.rq, p.y.data(), p.layout); });
  set_counters(state, s, t, bits);
  state.SetLabel(g.kernel().name);
}

}  // namespace

int main(int argc, char** argv) {
  std::fprintf(stderr, "CPU: %s\n", ohq::describe(ohq::cpu()).c_str());
  const bool avx2 = ohq::kernels::check_arch(arch::avx2).ok();
  if (!avx2) std::fprintf(stderr, "skipped the AVX2 kernels: %s\n", ohq::kernels::check_arch(arch::avx2).message().c_str());
  for (const shape& s : shapes) {
    const std::string base = std::string("gemm_lut/") + s.name;
    benchmark::RegisterBenchmark((base + "/reference").c_str(), [s](benchmark::State& st) { bench_reference(st, s); })
        ->Unit(benchmark::kMicrosecond);
    if (!avx2) continue;
    benchmark::RegisterBenchmark((base + "/avx2_w8a8").c_str(), [s](benchmark::State& st) { bench_w8a8(st, s); })
        ->Unit(benchmark::kMicrosecond);
    for (unsigned bits = 1; bits <= 3; ++bits) {
      if (!ohq::kernels::try_gemm_lut_kernel(bits, arch::avx2)) continue;
      benchmark::RegisterBenchmark((base + "/avx2_lowbit_w" + std::to_string(bits)).c_str(),
                                   [s, bits](benchmark::State& st) { bench_lowbit(st, s, bits); })
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark((base + "/avx2_lut_w" + std::to_string(bits)).c_str(),
                                   [s, bits](benchmark::State& st) { bench_lut(st, s, bits); })
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

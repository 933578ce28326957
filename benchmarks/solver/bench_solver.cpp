// SPDX-License-Identifier: MIT
// Solve times of the embedded solver on bit-allocation problems, and Pareto sweep times.
//   bench_solver --benchmark_filter=mckp        (per-class medians: add --benchmark_repetitions=9)
// The glpsol comparison on identical instances is tests/solver/oracle.py (see docs/solver.md).
#include <ohq/solver.hpp>

#include <benchmark/benchmark.h>

#include "../../tests/support/mckp_instances.hpp"

#include <cmath>
#include <random>

namespace {

using namespace ohq::solver;

// A realistic bit-width problem: per-layer sensitivity falling with bits, latency rising but not
// monotone in bits (kernel effects), memory = params x bits; budgets at `tight` of the range.
mckp_problem bitwidth(int layers, int nbits, int resources, double tight, unsigned seed) {
  static const double bits_all[8] = {2, 4, 8, 3, 6, 5, 1, 7};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.6, 1.4);
  std::lognormal_distribution<double> sens_d(0.0, 1.5);
  mckp_problem p;
  for (int l = 0; l < layers; ++l) {
    mckp_group g;
    const double sens = sens_d(rng);
    const double params = 64.0 * static_cast<double>(rng() % 2000 + 1);
    const double macs = params * static_cast<double>(rng() % 3000 + 16);
    for (int b = 0; b < nbits; ++b) {
      const double bits = bits_all[b];
      g.costs.push_back(std::round(sens * std::ldexp(1000.0, -static_cast<int>(bits)) * u(rng) * 1e4) / 1e4);
      std::vector<double> use = {std::round(macs * bits / 8 * u(rng) * 1e-2) / 1e4, params * bits,
                                 std::round(macs * bits * 1e-2) / 1e4};
      use.resize(static_cast<std::size_t>(resources));
      g.uses.push_back(use);
    }
    p.groups.push_back(g);
  }
  for (int r = 0; r < resources; ++r) {
    const auto [lo, hi] = ohq::test::use_range(p, static_cast<std::size_t>(r));
    p.budgets.push_back({"r" + std::to_string(r), -infinity, lo + (tight - 0.07 * r) * (hi - lo), std::nullopt, std::nullopt});
  }
  return p;
}


// Args: layers, choices, budgets. Eight instances (seeds) cycle so the time is a class average.
void BM_mckp_bitwidth(benchmark::State& state) {
  std::vector<mckp_problem> ps;
  for (unsigned s = 0; s < 8; ++s)
    ps.push_back(bitwidth(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                          static_cast<int>(state.range(2)), 0.3 + 0.05 * s, 100 + s));
  std::size_t k = 0, nodes = 0;
  for (auto _ : state) {
    const mckp_result r = solve_mckp(ps[k++ % ps.size()]);
    if (r.status != status::optimal) state.SkipWithError("not optimal");
    nodes += r.nodes;
    benchmark::DoNotOptimize(r.objective);
  }
  state.counters["nodes"] = benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_mckp_bitwidth)
    ->ArgNames({"layers", "choices", "budgets"})
    ->Args({20, 4, 1})->Args({20, 4, 2})->Args({60, 4, 2})->Args({60, 6, 3})
    ->Args({120, 4, 1})->Args({120, 8, 2})->Args({120, 8, 3})->Args({300, 8, 3})
    ->Unit(benchmark::kMillisecond);

// Uncorrelated random data; Args groups, choices, budgets, and the tightest budget in percent of
// the use range (eight instances from there up). Tight budgets on three uncorrelated resources
// are the hard case of this search (docs/solver.md, known limits).
void BM_mckp_random(benchmark::State& state) {
  std::vector<mckp_problem> ps;
  const double tight = static_cast<double>(state.range(3)) / 100.0;
  for (unsigned s = 0; s < 8; ++s)
    ps.push_back(ohq::test::uncorrelated_mckp(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                             static_cast<int>(state.range(2)), tight + (0.92 - tight) * s / 7.0, 200 + s));
  std::size_t k = 0;
  for (auto _ : state) {
    const mckp_result r = solve_mckp(ps[k++ % ps.size()]);
    if (r.status != status::optimal) state.SkipWithError("not optimal");
    benchmark::DoNotOptimize(r.objective);
  }
}
BENCHMARK(BM_mckp_random)
    ->ArgNames({"groups", "choices", "budgets", "tight%"})
    ->Args({20, 4, 1, 20})->Args({120, 8, 2, 36})->Args({300, 8, 1, 20})->Args({300, 8, 3, 52})
    ->Unit(benchmark::kMillisecond);

// The hard class of the MCKP search: uncorrelated costs and uses, three budgets all at tight% of
// their use range (25-35 %: tight, yet feasible). Args groups, choices, budgets, tight%, seed; one
// instance per benchmark, so the per-class median and maximum can be read off the seeds.
// Before the deepening search with the tail table (docs/solver.md) these took 0.3 s to > 20 s.
void BM_mckp_uncorrelated_tight(benchmark::State& state) {
  const mckp_problem p = ohq::test::uncorrelated_mckp(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                                     static_cast<int>(state.range(2)), static_cast<double>(state.range(3)) / 100.0,
                                     1000 + static_cast<unsigned>(state.range(4)));
  std::size_t nodes = 0;
  for (auto _ : state) {
    const mckp_result r = solve_mckp(p);
    if (r.status != status::optimal) state.SkipWithError("not optimal");
    nodes += r.nodes;
    benchmark::DoNotOptimize(r.objective);
  }
  state.counters["nodes"] = benchmark::Counter(static_cast<double>(nodes), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_mckp_uncorrelated_tight)
    ->ArgNames({"groups", "choices", "budgets", "tight%", "seed"})
    ->ArgsProduct({{300}, {8}, {3}, {25, 30, 35}, benchmark::CreateDenseRange(0, 7, 1)})
    ->Unit(benchmark::kMillisecond);

// The same bit-width problem routed through the MILP front end (detection + exact re-check).
void BM_milp_routed_bitwidth(benchmark::State& state) {
  const mckp_problem p = bitwidth(static_cast<int>(state.range(0)), 4, 2, 0.4, 7);
  milp_problem m;
  std::vector<std::vector<term>> rows(p.resources());
  for (const auto& g : p.groups) {
    std::vector<term> one;
    for (std::size_t c = 0; c < g.costs.size(); ++c) {
      const std::size_t v = m.add_variable("x", 0, 1, true, g.costs[c]);
      one.push_back({v, 1});
      for (std::size_t r = 0; r < p.resources(); ++r) rows[r].push_back({v, g.uses[c][r]});
    }
    m.add_constraint("one", one, row_op::eq, 1);
  }
  for (std::size_t r = 0; r < p.resources(); ++r) m.add_constraint("b", rows[r], row_op::le, p.budgets[r].hi);
  for (auto _ : state) {
    const milp_result r = solve_milp(m);
    if (r.status != status::optimal) state.SkipWithError("not optimal");
    benchmark::DoNotOptimize(r.objective);
  }
}
BENCHMARK(BM_milp_routed_bitwidth)->Arg(20)->Arg(120)->Unit(benchmark::kMillisecond);

// Pareto sweep of cost against latency: Args layers, choices, points.
void BM_pareto_sweep(benchmark::State& state) {
  mckp_problem p = bitwidth(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 2, 0.5, 42);
  p.budgets[1].hi = infinity;  // sweep latency alone; memory free
  double lo = 0, hi = 0;
  for (const auto& g : p.groups) {
    double a = 1e300, b = -1e300;
    for (const auto& x : g.uses) {
      a = std::min(a, x[0]);
      b = std::max(b, x[0]);
    }
    lo += a;
    hi += b;
  }
  const auto n = static_cast<std::size_t>(state.range(2));
  std::vector<double> budgets(n);
  for (std::size_t t = 0; t < n; ++t) budgets[t] = lo + (hi - lo) * static_cast<double>(t) / static_cast<double>(n - 1);
  std::size_t solves = 0;
  for (auto _ : state) {
    const pareto_result r = pareto_sweep(p, 0, budgets);
    solves += r.solves;
    benchmark::DoNotOptimize(r.points.data());
  }
  state.counters["solves"] = benchmark::Counter(static_cast<double>(solves), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_pareto_sweep)
    ->ArgNames({"layers", "choices", "points"})
    ->Args({21, 4, 100})->Args({300, 8, 100})
    ->Unit(benchmark::kMillisecond);

void BM_jeroslow(benchmark::State& state) {
  milp_problem p;
  p.sense = objective_sense::maximize;
  std::vector<term> t;
  const auto n = static_cast<std::size_t>(state.range(0));
  for (std::size_t j = 0; j < n; ++j) {
    p.add_variable("x", 0, 1, true, j == 0 ? 1 : 0);
    t.push_back({j, 2});
  }
  p.add_constraint("parity", t, row_op::eq, static_cast<double>(n));
  for (auto _ : state) benchmark::DoNotOptimize(solve_milp(p).status);
}
BENCHMARK(BM_jeroslow)->Arg(41)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

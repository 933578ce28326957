// SPDX-License-Identifier: MIT
// Pareto sweeps: every point equals an independent solve; the front is monotone and efficient.
#include <ohq/solver/pareto.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace ohq::solver;

namespace {

// A ResNet-like bit allocation: cost falls with bits, latency and memory rise (not monotone).
mckp_problem bitwidth_problem(std::mt19937& rng, int layers, int nbits) {
  const double bits[] = {2, 3, 4, 5, 6, 8, 1, 7};
  std::uniform_real_distribution<double> u(0.6, 1.4);
  mckp_problem p;
  for (int l = 0; l < layers; ++l) {
    mckp_group g;
    const double sens = std::exp(2 * u(rng)), macs = 1e6 * u(rng) * (l + 1);
    for (int b = 0; b < nbits; ++b) {
      g.costs.push_back(std::round(sens * std::ldexp(1000.0, -static_cast<int>(bits[b])) * u(rng) * 1e3) / 1e3);
      g.uses.push_back({std::round(macs * bits[b] / 8 * u(rng)) / 1e3, macs / 1e3 * bits[b]});
    }
    p.groups.push_back(g);
  }
  p.budgets = {{"latency", -infinity, infinity, std::nullopt, std::nullopt},
               {"memory", -infinity, infinity, std::nullopt, std::nullopt}};
  return p;
}

std::pair<double, double> use_range(const mckp_problem& p, std::size_t k) {
  double lo = 0, hi = 0;
  for (const auto& g : p.groups) {
    double a = 1e300, b = -1e300;
    for (const auto& u : g.uses) {
      a = std::min(a, u[k]);
      b = std::max(b, u[k]);
    }
    lo += a;
    hi += b;
  }
  return {lo, hi};
}

}  // namespace

TEST_CASE("pareto_sweep_points_equal_independent_solves") {
  std::mt19937 rng(21);
  for (int rep = 0; rep < 6; ++rep) {
    mckp_problem p = bitwidth_problem(rng, 21, 4);
    if (rep % 2) p.budgets[1].hi = 0.8 * use_range(p, 1).second;  // a second, fixed budget
    const auto [lo, hi] = use_range(p, 0);
    std::vector<double> budgets;
    for (int t = 0; t < 40; ++t) budgets.push_back(lo - 1 + (hi - lo + 2) * t / 39.0);
    const pareto_result sweep = pareto_sweep(p, 0, budgets);
    REQUIRE(sweep.points.size() == budgets.size());
    CHECK(sweep.solves <= budgets.size());
    double prev = infinity;
    for (std::size_t t = 0; t < budgets.size(); ++t) {
      mckp_problem q = p;
      q.budgets[0].hi = budgets[t];
      const mckp_result r = solve_mckp(q);
      const auto& pt = sweep.points[t];
      INFO("rep " << rep << " point " << t);
      REQUIRE(pt.status == r.status);
      if (r.status != status::optimal) continue;
      CHECK(pt.objective == doctest::Approx(r.objective).epsilon(1e-12));
      CHECK(pt.use <= budgets[t]);
      CHECK(verify_mckp(q, pt.choice).feasible);
      CHECK(pt.objective <= prev);  // more budget never costs more
      prev = pt.objective;
    }
  }
}

TEST_CASE("pareto_front_is_strictly_efficient") {
  std::mt19937 rng(22);
  const mckp_problem p = bitwidth_problem(rng, 12, 4);
  const auto [lo, hi] = use_range(p, 0);
  const pareto_result f = pareto_front(p, 0, lo, hi);
  REQUIRE(f.points.size() >= 2);
  for (std::size_t t = 1; t < f.points.size(); ++t) {
    CHECK(f.points[t].use < f.points[t - 1].use);
    CHECK(f.points[t].objective > f.points[t - 1].objective);
  }
  // Each front point is optimal at its budget, and its use fits it.
  for (const auto& pt : f.points) {
    mckp_problem q = p;
    q.budgets[0].hi = pt.budget;
    CHECK(verify_mckp(q, pt.choice).feasible);
    CHECK(solve_mckp(q).objective == doctest::Approx(pt.objective).epsilon(1e-12));
  }
  CHECK(f.points.back().use == doctest::Approx(lo));
}

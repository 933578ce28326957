// SPDX-License-Identifier: MIT
// Generated multiple-choice knapsack instances shared by the solver tests and benchmarks.
#pragma once

#include <ohq/solver/problem.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ohq::test {

/// [least, greatest] total use of resource r over all plans: the sums of each group's smallest
/// and largest use. Budgets are set at a fraction ("tightness") of this range.
inline std::pair<double, double> use_range(const ohq::solver::mckp_problem& p, std::size_t r) {
  double lo = 0, hi = 0;
  for (const auto& g : p.groups) {
    double least = std::numeric_limits<double>::infinity(), greatest = -least;
    for (const auto& use : g.uses) {
      least = std::min(least, use[r]);
      greatest = std::max(greatest, use[r]);
    }
    lo += least;
    hi += greatest;
  }
  return {lo, hi};
}

/// Costs in [0, 1000] and uses in [1, 100], four decimals, all independent; each budget (named
/// "r0", "r1", ...) at `tight` of its use range: the hard class of the MCKP search.
inline ohq::solver::mckp_problem uncorrelated_mckp(int groups, int choices, int resources, double tight,
                                                   unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  ohq::solver::mckp_problem p;
  for (int g = 0; g < groups; ++g) {
    ohq::solver::mckp_group grp;
    for (int c = 0; c < choices; ++c) {
      grp.costs.push_back(std::round(u(rng) * 1e7) / 1e4);
      std::vector<double> use;
      for (int r = 0; r < resources; ++r) use.push_back(std::round((1 + 99 * u(rng)) * 1e4) / 1e4);
      grp.uses.push_back(use);
    }
    p.groups.push_back(grp);
  }
  for (int r = 0; r < resources; ++r) {
    const auto [lo, hi] = use_range(p, static_cast<std::size_t>(r));
    ohq::solver::mckp_budget b;
    b.name = "r" + std::to_string(r);
    b.hi = lo + tight * (hi - lo);
    p.budgets.push_back(b);
  }
  return p;
}

}  // namespace ohq::test

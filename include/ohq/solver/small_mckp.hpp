// SPDX-License-Identifier: MIT
/// @file Defines `small_mckp`, a constexpr exact MCKP for small fixed-size problems (e.g. a
/// bit-width plan chosen at compile time).
#pragma once

#include <array>
#include <cstddef>

namespace ohq::solver {

/// A fixed-size MCKP: G groups of C choices, R upper budgets. Choices beyond a group's
/// `count` are ignored. Values are of type T (integers keep compile-time answers exact).
template <class T, std::size_t G, std::size_t C, std::size_t R>
struct small_mckp {
  std::array<std::size_t, G> count{};
  std::array<std::array<T, C>, G> cost{};
  std::array<std::array<std::array<T, R>, C>, G> use{};
  std::array<T, R> budget{};
};

/// The answer of `solve_small`: `feasible` false when no choice vector fits the budgets.
template <class T, std::size_t G>
struct small_mckp_result {
  bool feasible = false;
  T objective{};
  std::array<std::size_t, G> choice{};
};

/// Exact depth-first branch-and-bound; the bound adds each remaining group's cheapest choice
/// and each remaining group's smallest use per resource.
template <class T, std::size_t G, std::size_t C, std::size_t R>
constexpr small_mckp_result<T, G> solve_small(const small_mckp<T, G, C, R>& p) {
  small_mckp_result<T, G> best;
  std::array<T, G + 1> min_cost_suffix{};
  std::array<std::array<T, R>, G + 1> min_use_suffix{};
  for (std::size_t g = G; g-- > 0;) {
    T mc = p.cost[g][0];
    std::array<T, R> mu = p.use[g][0];
    for (std::size_t c = 1; c < p.count[g] && c < C; ++c) {
      if (p.cost[g][c] < mc) mc = p.cost[g][c];
      for (std::size_t r = 0; r < R; ++r)
        if (p.use[g][c][r] < mu[r]) mu[r] = p.use[g][c][r];
    }
    min_cost_suffix[g] = min_cost_suffix[g + 1] + mc;
    for (std::size_t r = 0; r < R; ++r) min_use_suffix[g][r] = min_use_suffix[g + 1][r] + mu[r];
  }
  std::array<std::size_t, G + 1> next{};
  std::array<std::size_t, G> pick{};
  std::array<T, G + 1> acc_cost{};
  std::array<std::array<T, R>, G + 1> acc_use{};
  std::size_t d = 0;
  for (;;) {
    if (d == G) {
      if (!best.feasible || acc_cost[G] < best.objective) {
        best.feasible = true;
        best.objective = acc_cost[G];
        best.choice = pick;
      }
      if (d == 0) break;
      --d;
      continue;
    }
    bool descended = false;
    while (next[d] < p.count[d] && next[d] < C) {
      const std::size_t c = next[d]++;
      const T nc = acc_cost[d] + p.cost[d][c];
      if (best.feasible && !(nc + min_cost_suffix[d + 1] < best.objective)) continue;
      bool ok = true;
      for (std::size_t r = 0; r < R; ++r) {
        acc_use[d + 1][r] = acc_use[d][r] + p.use[d][c][r];
        if (acc_use[d + 1][r] + min_use_suffix[d + 1][r] > p.budget[r]) ok = false;
      }
      if (!ok) continue;
      acc_cost[d + 1] = nc;
      pick[d] = c;
      ++d;
      if (d < G) next[d] = 0;
      descended = true;
      break;
    }
    if (descended) continue;
    if (d == 0) break;
    --d;
  }
  return best;
}

}  // namespace ohq::solver

// SPDX-License-Identifier: MIT
/// @file Defines `pareto_sweep` and `pareto_front`: optimal cost against one resource's budget.
///
/// Both walk budgets from large to small on one MCKP engine, so exact values and the LP columns
/// of the multiplier search are shared, and a solution whose use of the swept resource is below
/// the next budget answers that budget too without a search (it stays feasible, and a smaller
/// budget cannot lower the optimum).
#pragma once

#include <ohq/solver/mckp.hpp>
#include <ohq/solver/problem.hpp>
#include <ohq/solver/status.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

namespace ohq::solver {

/// One budget of a sweep and its optimum.
struct pareto_point {
  double budget = 0.0;              ///< the swept resource's upper budget
  solver::status status = solver::status::infeasible;
  double objective = 0.0;           ///< optimal total cost
  double use = 0.0;                 ///< the optimum's use of the swept resource (<= budget)
  std::vector<std::size_t> choice;  ///< one index per group
};

/// All points of a sweep, in the order of the budgets given.
struct pareto_result {
  std::vector<pareto_point> points;
  std::size_t solves = 0;  ///< searches actually run (the rest were answered by reuse)
  std::size_t nodes = 0;
  double seconds = 0.0;
};

/// Solves `p` for each upper budget in `budgets` on resource `resource` (the other budgets as
/// given in `p`). Each point is exact (same guarantees as `solve_mckp`).
inline pareto_result pareto_sweep(const mckp_problem& p, std::size_t resource, const std::vector<double>& budgets,
                                  const mckp_options& opt = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  pareto_result out;
  out.points.resize(budgets.size());
  if (resource >= p.resources() || !validate(p).empty()) {
    for (std::size_t t = 0; t < budgets.size(); ++t) {
      out.points[t].budget = budgets[t];
      out.points[t].status = status::invalid_input;
    }
    return out;
  }
  std::vector<std::size_t> idx(budgets.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return budgets[a] > budgets[b]; });
  detail::mckp_engine engine(p);
  std::vector<mckp_budget> bs = p.budgets;
  const pareto_point* last = nullptr;
  bool infeasible_below = false;
  for (const std::size_t t : idx) {
    pareto_point& pt = out.points[t];
    pt.budget = budgets[t];
    if (infeasible_below) {  // a larger budget was already infeasible
      pt.status = status::infeasible;
      continue;
    }
    if (last && last->status == status::optimal && last->use <= budgets[t] &&
        std::isfinite(p.budgets[resource].lo) == false) {
      // The previous optimum fits this budget too, and nothing cheaper exists with less room.
      // The use is compared exactly, as every feasibility decision is.
      const exact_number used = [&] {
        exact_number s;
        for (std::size_t g = 0; g < last->choice.size(); ++g) {
          const auto& grp = p.groups[g];
          const std::size_t c = last->choice[g];
          const bool has = c < grp.exact_uses.size() && resource < grp.exact_uses[c].size();
          s += has ? grp.exact_uses[c][resource] : exact_number::from_double(grp.uses[c][resource]);
        }
        return s;
      }();
      if (!(used > exact_number::from_double(budgets[t]))) {
        pt.status = last->status;
        pt.objective = last->objective;
        pt.use = last->use;
        pt.choice = last->choice;
        last = &pt;
        continue;
      }
    }
    bs[resource].hi = budgets[t];
    bs[resource].exact_hi = exact_number::from_double(budgets[t]);
    const mckp_result r = engine.solve(bs, opt, last && !last->choice.empty() ? &last->choice : nullptr);
    ++out.solves;
    out.nodes += r.nodes;
    pt.status = r.status;
    pt.objective = r.objective;
    pt.choice = r.choice;
    pt.use = r.has_solution() ? r.use[resource] : 0.0;
    if (r.status == status::infeasible) infeasible_below = true;
    last = &pt;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

/// The whole front on [lo, hi]: every distinct optimal cost as the budget of `resource` shrinks
/// from hi to lo, each with the least use that attains it. Stops after `max_points`.
inline pareto_result pareto_front(const mckp_problem& p, std::size_t resource, double lo, double hi,
                                  const mckp_options& opt = {}, std::size_t max_points = 100000) {
  const auto t0 = std::chrono::steady_clock::now();
  pareto_result out;
  if (resource >= p.resources() || !validate(p).empty()) return out;
  detail::mckp_engine engine(p);
  std::vector<mckp_budget> bs = p.budgets;
  double budget = hi;
  std::vector<std::size_t> warm;
  while (budget >= lo && out.points.size() < max_points) {
    bs[resource].hi = budget;
    bs[resource].exact_hi = exact_number::from_double(budget);
    const mckp_result r = engine.solve(bs, opt, warm.empty() ? nullptr : &warm);
    ++out.solves;
    out.nodes += r.nodes;
    if (!r.has_solution()) break;
    pareto_point pt;
    pt.budget = budget;
    pt.status = r.status;
    pt.objective = r.objective;
    pt.use = r.use[resource];
    pt.choice = r.choice;
    // Same cost with less use: the earlier point was only weakly efficient.
    if (!out.points.empty() && out.points.back().objective == pt.objective) out.points.pop_back();
    out.points.push_back(pt);
    if (r.status != status::optimal) break;
    // Next budget: the largest double strictly below the exact use of this point.
    const exact_number used = engine.exact_total_use(r.choice, resource);
    budget = used.to_double();
    while (!(exact_number::from_double(budget) < used)) budget = std::nextafter(budget, -infinity);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace ohq::solver

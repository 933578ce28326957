// SPDX-License-Identifier: MIT
/// @file Defines the exact re-checks of MILP and MCKP answers (rational arithmetic, no tolerance
/// on integer rows).
#pragma once

#include <ohq/solver/exact.hpp>
#include <ohq/solver/problem.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ohq::solver {

/// The verdict of an exact re-check.
struct verification {
  bool feasible = false;
  double objective = 0.0;          ///< exact objective rounded to double
  double max_violation = 0.0;      ///< worst relative violation on rows with continuous terms
  std::size_t violated_row = static_cast<std::size_t>(-1);  ///< first row failing, if any
};

namespace detail {

inline exact_number exact_coef(const constraint& c, std::size_t k) {
  return k < c.exact_coefs.size() ? c.exact_coefs[k] : exact_number::from_double(c.terms[k].coef);
}
inline exact_number exact_rhs(const constraint& c) {
  return c.exact_rhs ? *c.exact_rhs : exact_number::from_double(c.rhs);
}
inline exact_number exact_cost(const milp_problem& p, std::size_t j) {
  if (j < p.exact_objective.size()) return p.exact_objective[j];
  return exact_number::from_double(j < p.objective.size() ? p.objective[j] : 0.0);
}

}  // namespace detail

/// Re-checks x against p exactly. Bounds and rows whose variables are all integer must hold
/// exactly; rows or bounds involving continuous variables may miss by `tolerance` relative to
/// their magnitude (a floating-point vertex cannot be exact there).
inline verification verify_milp(const milp_problem& p, const std::vector<double>& x,
                                double tolerance = 1e-9) {
  verification v;
  const std::size_t n = p.variables.size();
  if (x.size() != n) return v;
  std::vector<exact_number> ex(n);
  for (std::size_t j = 0; j < n; ++j) {
    const auto& var = p.variables[j];
    if (!std::isfinite(x[j])) return v;
    if (var.integer && x[j] != std::floor(x[j])) return v;
    ex[j] = exact_number::from_double(x[j]);
    const exact_number lb = var.exact_lb ? *var.exact_lb : exact_number::from_double(var.lb);
    const exact_number ub = var.exact_ub ? *var.exact_ub : exact_number::from_double(var.ub);
    const double tol = var.integer ? 0.0 : tolerance;
    if (std::isfinite(var.lb) && ex[j] < lb) {
      const double miss = (lb - ex[j]).to_double() / std::max(1.0, std::fabs(var.lb));
      if (miss > tol) return v;
      v.max_violation = std::max(v.max_violation, miss);
    }
    if (std::isfinite(var.ub) && ex[j] > ub) {
      const double miss = (ex[j] - ub).to_double() / std::max(1.0, std::fabs(var.ub));
      if (miss > tol) return v;
      v.max_violation = std::max(v.max_violation, miss);
    }
  }
  for (std::size_t i = 0; i < p.constraints.size(); ++i) {
    const auto& c = p.constraints[i];
    exact_number act;
    bool all_integer = true;
    double mag = std::max(1.0, std::fabs(c.rhs));
    for (std::size_t k = 0; k < c.terms.size(); ++k) {
      const auto j = c.terms[k].var;
      if (!p.variables[j].integer) all_integer = false;
      if (x[j] == 0.0) continue;  // most 0/1 plans: skip the exact product
      act += detail::exact_coef(c, k) * ex[j];
      mag = std::max(mag, std::fabs(c.terms[k].coef * x[j]));
    }
    const exact_number diff = act - detail::exact_rhs(c);  // activity - rhs
    const int s = diff.sign();
    const bool bad = (c.op == row_op::le && s > 0) || (c.op == row_op::ge && s < 0) ||
                     (c.op == row_op::eq && s != 0);
    if (!bad) continue;
    const double miss = std::fabs(diff.to_double()) / mag;
    if (all_integer || miss > tolerance) {
      v.violated_row = i;
      return v;
    }
    v.max_violation = std::max(v.max_violation, miss);
  }
  exact_number obj;
  for (std::size_t j = 0; j < n; ++j)
    if (j < p.objective.size() && p.objective[j] != 0.0 && x[j] != 0.0) obj += detail::exact_cost(p, j) * ex[j];
  v.objective = obj.to_double();
  v.feasible = true;
  return v;
}

/// Re-checks a choice vector against an MCKP exactly (every budget must hold with no tolerance).
inline verification verify_mckp(const mckp_problem& p, const std::vector<std::size_t>& choice) {
  verification v;
  if (choice.size() != p.groups.size()) return v;
  const std::size_t r = p.resources();
  std::vector<exact_number> use(r);
  exact_number cost;
  for (std::size_t g = 0; g < p.groups.size(); ++g) {
    const auto& grp = p.groups[g];
    const std::size_t c = choice[g];
    if (c >= grp.costs.size()) return v;
    cost += c < grp.exact_costs.size() ? grp.exact_costs[c] : exact_number::from_double(grp.costs[c]);
    for (std::size_t k = 0; k < r; ++k) {
      const bool has_exact = c < grp.exact_uses.size() && k < grp.exact_uses[c].size();
      use[k] += has_exact ? grp.exact_uses[c][k] : exact_number::from_double(grp.uses[c][k]);
    }
  }
  for (std::size_t k = 0; k < r; ++k) {
    const auto& b = p.budgets[k];
    if (std::isfinite(b.hi) && use[k] > (b.exact_hi ? *b.exact_hi : exact_number::from_double(b.hi))) {
      v.violated_row = k;
      return v;
    }
    if (std::isfinite(b.lo) && use[k] < (b.exact_lo ? *b.exact_lo : exact_number::from_double(b.lo))) {
      v.violated_row = k;
      return v;
    }
  }
  v.objective = cost.to_double();
  v.feasible = true;
  return v;
}

}  // namespace ohq::solver

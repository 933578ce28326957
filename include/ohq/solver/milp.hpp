// SPDX-License-Identifier: MIT
/// @file Defines `solve_milp`: recognises multiple-choice structure and routes it to the MCKP
/// search, otherwise runs the general branch-and-bound.
///
/// A MILP is a multiple-choice knapsack when every variable is a non-negative integer, every
/// variable sits in exactly one row `sum x = 1` (a group), and every other row is either a tie
/// `a x_u - a x_v = 0` between groups (layers forced to the same choice) or an arbitrary linear
/// row, which becomes a resource budget. Tied groups are merged into one group whose choices
/// are the consistent combinations, so ties cost nothing in the search.
#pragma once

#include <ohq/solver/branch_and_bound.hpp>
#include <ohq/solver/exact.hpp>
#include <ohq/solver/mckp.hpp>
#include <ohq/solver/problem.hpp>
#include <ohq/solver/status.hpp>
#include <ohq/solver/verify.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <optional>
#include <vector>

namespace ohq::solver {
namespace detail {

/// An MCKP equivalent to a MILP, with the variables each (group, choice) sets to one.
struct mckp_mapping {
  mckp_problem problem;
  std::vector<std::vector<std::vector<std::size_t>>> ones;  // [group][choice] -> MILP variables
};

inline bool exactly_value(const std::optional<exact_number>& ex, double v, double want) {
  if (v != want) return false;
  return !ex || *ex == exact_number::from_double(want);
}

/// Finds multiple-choice structure; nullopt when the MILP does not have it (or has more than
/// `max_resources` budget rows after merging ties).
inline std::optional<mckp_mapping> detect_mckp(const milp_problem& p, std::size_t max_resources = 8,
                                               std::size_t max_combinations = 4096) {
  const std::size_t n = p.variables.size();
  if (n == 0) return std::nullopt;
  for (const auto& v : p.variables)
    if (!v.integer || !exactly_value(v.exact_lb, v.lb, 0.0) || !(v.ub >= 1.0)) return std::nullopt;
  std::vector<int> group_of(n, -1);
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::size_t> other_rows;
  for (std::size_t i = 0; i < p.constraints.size(); ++i) {
    const auto& c = p.constraints[i];
    bool gub = c.op == row_op::eq && exactly_value(c.exact_rhs, c.rhs, 1.0) && !c.terms.empty();
    for (std::size_t k = 0; k < c.terms.size() && gub; ++k) {
      const bool one = c.terms[k].coef == 1.0 &&
                       (k >= c.exact_coefs.size() || c.exact_coefs[k] == exact_number::from_integer(1));
      if (!one || group_of[c.terms[k].var] != -1) gub = false;
    }
    if (gub) {
      std::vector<std::size_t> vars;
      for (const auto& t : c.terms) vars.push_back(t.var);
      std::sort(vars.begin(), vars.end());
      if (std::adjacent_find(vars.begin(), vars.end()) != vars.end()) {
        other_rows.push_back(i);
        continue;
      }
      for (auto v : vars) group_of[v] = static_cast<int>(groups.size());
      groups.push_back(std::move(vars));
    } else {
      other_rows.push_back(i);
    }
  }
  for (std::size_t j = 0; j < n; ++j)
    if (group_of[j] < 0) return std::nullopt;
  // Ties: x_u - x_v = 0 (any common nonzero coefficient a, -a).
  struct tie {
    std::size_t u, v;
  };
  std::vector<tie> ties;
  std::vector<std::size_t> resource_rows;
  std::vector<std::size_t> parent(groups.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](std::size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (std::size_t i : other_rows) {
    const auto& c = p.constraints[i];
    const bool is_tie = c.op == row_op::eq && c.terms.size() == 2 && exactly_value(c.exact_rhs, c.rhs, 0.0) &&
                        c.terms[0].coef == -c.terms[1].coef && c.terms[0].coef != 0.0 &&
                        (c.exact_coefs.empty() || c.exact_coefs[0] == -c.exact_coefs[1]);
    if (is_tie) {
      ties.push_back({c.terms[0].var, c.terms[1].var});
      parent[find(static_cast<std::size_t>(group_of[c.terms[0].var]))] =
          find(static_cast<std::size_t>(group_of[c.terms[1].var]));
    } else {
      resource_rows.push_back(i);
    }
  }
  if (resource_rows.size() > max_resources) return std::nullopt;
  // Components of tied groups, enumerated into consistent combinations.
  std::vector<std::vector<std::size_t>> comps;
  {
    std::vector<int> comp_of(groups.size(), -1);
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::size_t r = find(g);
      if (comp_of[r] < 0) {
        comp_of[r] = static_cast<int>(comps.size());
        comps.emplace_back();
      }
      comps[static_cast<std::size_t>(comp_of[r])].push_back(g);
    }
  }
  std::vector<std::vector<std::size_t>> ties_of_comp(comps.size());
  {
    std::vector<int> comp_index(groups.size(), -1);
    for (std::size_t ci = 0; ci < comps.size(); ++ci)
      for (auto g : comps[ci]) comp_index[g] = static_cast<int>(ci);
    for (std::size_t t = 0; t < ties.size(); ++t)
      ties_of_comp[static_cast<std::size_t>(comp_index[static_cast<std::size_t>(group_of[ties[t].u])])].push_back(t);
  }
  const double sgn = p.sense == objective_sense::maximize ? -1.0 : 1.0;
  mckp_mapping map;
  auto& mp = map.problem;
  const std::size_t nr = resource_rows.size();
  // Per-variable resource coefficients (doubles and exact).
  std::vector<std::vector<double>> coef(n, std::vector<double>(nr, 0.0));
  std::vector<std::vector<exact_number>> ecoef(n, std::vector<exact_number>(nr));
  for (std::size_t r = 0; r < nr; ++r) {
    const auto& c = p.constraints[resource_rows[r]];
    for (std::size_t k = 0; k < c.terms.size(); ++k) {
      coef[c.terms[k].var][r] += c.terms[k].coef;
      ecoef[c.terms[k].var][r] += exact_coef(c, k);
    }
    mckp_budget b;
    b.name = c.name;
    const exact_number rhs = exact_rhs(c);
    if (c.op != row_op::ge) {
      b.hi = c.rhs;
      b.exact_hi = rhs;
    }
    if (c.op != row_op::le) {
      b.lo = c.rhs;
      b.exact_lo = rhs;
    }
    mp.budgets.push_back(std::move(b));
  }
  std::vector<std::size_t> chosen;
  for (std::size_t ci = 0; ci < comps.size(); ++ci) {
    const auto& comp = comps[ci];
    mckp_group grp;
    grp.name = p.constraints.empty() ? std::string() : std::string("group") + std::to_string(ci);
    std::vector<std::vector<std::size_t>> combos;
    chosen.assign(comp.size(), 0);
    // Depth-first enumeration of one variable per group, keeping ties consistent.
    auto consistent = [&](std::size_t upto) {
      for (auto t : ties_of_comp[ci]) {
        const std::size_t gu = static_cast<std::size_t>(group_of[ties[t].u]);
        const std::size_t gv = static_cast<std::size_t>(group_of[ties[t].v]);
        std::size_t pu = comp.size(), pv = comp.size();
        for (std::size_t q = 0; q < upto; ++q) {
          if (comp[q] == gu) pu = q;
          if (comp[q] == gv) pv = q;
        }
        if (pu == comp.size() || pv == comp.size()) continue;
        const bool su = groups[gu][chosen[pu]] == ties[t].u;
        const bool sv = groups[gv][chosen[pv]] == ties[t].v;
        if (su != sv) return false;
      }
      return true;
    };
    bool overflow = false;
    std::size_t level = 0;
    std::vector<std::size_t> nxt(comp.size() + 1, 0);
    while (!overflow) {
      if (level == comp.size()) {
        std::vector<std::size_t> vars;
        for (std::size_t q = 0; q < comp.size(); ++q) vars.push_back(groups[comp[q]][chosen[q]]);
        combos.push_back(std::move(vars));
        if (combos.size() > max_combinations) overflow = true;
        if (level == 0) break;
        --level;
        continue;
      }
      if (nxt[level] >= groups[comp[level]].size()) {
        nxt[level] = 0;
        if (level == 0) break;
        --level;
        continue;
      }
      chosen[level] = nxt[level]++;
      if (consistent(level + 1)) ++level;
    }
    if (overflow) return std::nullopt;
    if (combos.empty()) {
      // No consistent combination: the MILP is infeasible; an empty group says so.
      map.ones.emplace_back();
      mp.groups.push_back(std::move(grp));
      continue;
    }
    std::vector<std::vector<std::size_t>> ones;
    for (auto& vars : combos) {
      double c = 0;
      exact_number ec;
      std::vector<double> u(nr, 0.0);
      std::vector<exact_number> eu(nr);
      for (auto v : vars) {
        const double o = v < p.objective.size() ? p.objective[v] : 0.0;
        c += sgn * o;
        ec += sgn < 0 ? -exact_cost(p, v) : exact_cost(p, v);
        for (std::size_t r = 0; r < nr; ++r) {
          u[r] += coef[v][r];
          eu[r] += ecoef[v][r];
        }
      }
      grp.choice_names.push_back(std::to_string(grp.costs.size()));
      grp.costs.push_back(c);
      grp.uses.push_back(std::move(u));
      grp.exact_costs.push_back(std::move(ec));
      grp.exact_uses.push_back(std::move(eu));
      ones.push_back(std::move(vars));
    }
    map.ones.push_back(std::move(ones));
    mp.groups.push_back(std::move(grp));
  }
  return map;
}

}  // namespace detail

/// Solves a MILP: multiple-choice structure goes to the exact MCKP search (when
/// `opt.detect_mckp`), anything else to `branch_and_bound`. The answer is re-checked exactly.
inline milp_result solve_milp(const milp_problem& p, const milp_options& opt = {}) {
  if (opt.detect_mckp) {
    if (auto map = detail::detect_mckp(p)) {
      milp_result res;
      const auto& mp = map->problem;
      for (const auto& g : mp.groups)
        if (g.costs.empty()) {
          res.status = status::infeasible;
          return res;
        }
      mckp_options mo;
      mo.time_limit_seconds = opt.time_limit_seconds;
      mo.node_limit = opt.node_limit;
      mo.relative_gap = opt.relative_gap;
      const mckp_result r = solve_mckp(mp, mo);
      res.nodes = r.nodes;
      const double sgn = p.sense == objective_sense::maximize ? -1.0 : 1.0;
      if (r.status == status::infeasible) {
        res.status = status::infeasible;
        return res;
      }
      if (r.has_solution()) {
        std::vector<double> x(p.variables.size(), 0.0);
        for (std::size_t g = 0; g < r.choice.size(); ++g)
          for (auto v : map->ones[g][r.choice[g]]) x[v] = 1.0;
        const verification v = verify_milp(p, x);
        if (v.feasible) {
          res.status = r.status;
          res.x = std::move(x);
          res.objective = v.objective;
          res.exactly_verified = true;
          res.bound = sgn * r.bound;
          if (r.status == status::optimal) res.bound = res.objective;
          res.gap = r.gap;
          return res;
        }
        // Cannot happen (the mapping is exact); fall through to the general search.
      } else if (is_limit(r.status)) {
        res.status = r.status;
        res.bound = sgn * r.bound;
        return res;
      }
    }
  }
  return branch_and_bound(p, opt);
}

}  // namespace ohq::solver

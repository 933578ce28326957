// SPDX-License-Identifier: MIT
/// @file Defines `branch_and_bound` (the general MILP search) and `solve_lp`.
///
/// Best-bound node selection with depth-first dives: a dive keeps the tableau in place and
/// re-solves each child with the dual simplex after one bound change; a jump to the best open
/// node re-factorises the basis saved with it. Integer rows are tightened by their coefficients'
/// gcd (which alone settles Jeroslow-style parity problems), and every incumbent is re-checked in
/// exact arithmetic before it is accepted.
#pragma once

#include <ohq/solver/exact.hpp>
#include <ohq/solver/problem.hpp>
#include <ohq/solver/simplex.hpp>
#include <ohq/solver/status.hpp>
#include <ohq/solver/verify.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

namespace ohq::solver {
namespace detail {

inline constexpr double max_exact_int = 9007199254740992.0;  // 2^53

inline bool is_int_value(double v) { return std::isfinite(v) && v == std::floor(v) && std::fabs(v) < max_exact_int; }

inline std::int64_t gcd64(std::int64_t a, std::int64_t b) {
  a = a < 0 ? -a : a;
  b = b < 0 ? -b : b;
  while (b) {
    const std::int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

inline std::int64_t floor_mod(std::int64_t a, std::int64_t m) {
  const std::int64_t r = a % m;
  return r < 0 ? r + m : r;
}

// Modular inverse of a mod m (gcd(a, m) == 1, m <= 2^31 so products fit in 64 bits).
inline std::int64_t mod_inverse(std::int64_t a, std::int64_t m) {
  std::int64_t t = 0, nt = 1, r = m, nr = floor_mod(a, m);
  while (nr) {
    const std::int64_t q = r / nr;
    t -= q * nt;
    std::swap(t, nt);
    r -= q * nr;
    std::swap(r, nr);
  }
  return floor_mod(t, m);
}

/// A row whose variables are all integer with integer coefficients and an exactly integer rhs:
/// such rows admit gcd reasoning.
struct integral_row {
  std::size_t row = 0;
  std::vector<std::pair<std::size_t, std::int64_t>> terms;
  std::int64_t lo = std::numeric_limits<std::int64_t>::min();  // min() when -inf
  std::int64_t hi = std::numeric_limits<std::int64_t>::max();  // max() when +inf
  bool equality = false;
};

/// Collects integral rows and tightens their sides to multiples of the coefficient gcd.
inline std::vector<integral_row> integral_rows(const milp_problem& p) {
  std::vector<integral_row> out;
  for (std::size_t i = 0; i < p.constraints.size(); ++i) {
    const auto& c = p.constraints[i];
    integral_row r;
    r.row = i;
    bool ok = !c.terms.empty();
    for (std::size_t k = 0; k < c.terms.size() && ok; ++k) {
      const auto& t = c.terms[k];
      if (!p.variables[t.var].integer || !is_int_value(t.coef) || std::fabs(t.coef) > 2147483647.0) ok = false;
      else if (k < c.exact_coefs.size() && !(c.exact_coefs[k] == exact_number::from_double(t.coef))) ok = false;
      else if (t.coef != 0.0) r.terms.emplace_back(t.var, static_cast<std::int64_t>(t.coef));
    }
    if (!ok || r.terms.empty()) continue;
    // The rhs as an exact value; a fractional rhs is rounded inwards exactly.
    const exact_number rhs = detail::exact_rhs(c);
    if (!std::isfinite(c.rhs) || std::fabs(c.rhs) > 1e15) continue;
    const double fl = std::floor(c.rhs), ce = std::ceil(c.rhs);
    const bool rhs_exact_int = rhs == exact_number::from_double(c.rhs) && c.rhs == fl;
    // floor/ceil of the exact rhs: the double may have rounded across an integer only if it is one.
    std::int64_t rfloor = static_cast<std::int64_t>(fl), rceil = static_cast<std::int64_t>(ce);
    if (!rhs_exact_int) {
      if (rhs < exact_number::from_double(fl)) --rfloor;
      if (rhs > exact_number::from_double(ce)) ++rceil;
      if (rfloor >= rceil) rceil = rfloor + 1;  // exact rhs is not an integer
    }
    r.equality = c.op == row_op::eq;
    if (r.equality && !rhs_exact_int) {
      r.lo = 1;  // empty range: marks the row infeasible
      r.hi = 0;
    } else {
      if (c.op != row_op::ge) r.hi = rfloor;
      if (c.op != row_op::le) r.lo = rhs_exact_int ? rfloor : rceil;
    }
    std::int64_t g = 0;
    for (const auto& t : r.terms) g = gcd64(g, t.second);
    if (g > 1) {
      if (r.hi != std::numeric_limits<std::int64_t>::max()) r.hi = r.hi - floor_mod(r.hi, g);
      if (r.lo != std::numeric_limits<std::int64_t>::min()) {
        const std::int64_t m = floor_mod(r.lo, g);
        if (m) r.lo = r.lo + (g - m);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

/// Integer bounds tightened by congruences: in an integral equality row, sum a_k x_k = b, every
/// x_j satisfies a_j x_j = b (mod g_j) with g_j the gcd of the other coefficients. Returns false
/// when a domain becomes empty.
inline bool congruence_tighten(const std::vector<integral_row>& rows, std::vector<double>& lo,
                               std::vector<double>& up) {
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (const auto& r : rows) {
      if (r.lo > r.hi) return false;
      if (r.lo != r.hi) continue;
      const std::size_t k = r.terms.size();
      std::vector<std::int64_t> prefix(k + 1, 0), suffix(k + 1, 0);
      for (std::size_t t = 0; t < k; ++t) prefix[t + 1] = gcd64(prefix[t], r.terms[t].second);
      for (std::size_t t = k; t-- > 0;) suffix[t] = gcd64(suffix[t + 1], r.terms[t].second);
      if (r.lo % std::max<std::int64_t>(prefix[k], 1) != 0) return false;
      for (std::size_t t = 0; t < k; ++t) {
        const std::int64_t g = gcd64(prefix[t], suffix[t + 1]);
        if (g <= 1) continue;
        const std::size_t j = r.terms[t].first;
        const std::int64_t a = r.terms[t].second;
        const std::int64_t h = gcd64(a, g);
        const std::int64_t b = floor_mod(r.lo, g);
        if (b % h != 0) return false;
        const std::int64_t mod = g / h;
        if (mod <= 1) continue;
        const std::int64_t x0 = floor_mod((b / h) % mod * mod_inverse((a / h) % mod, mod), mod);
        if (std::isfinite(lo[j]) && std::fabs(lo[j]) < 1e15) {
          const auto l = static_cast<std::int64_t>(lo[j]);
          const std::int64_t nl = l + floor_mod(x0 - l, mod);
          if (static_cast<double>(nl) > lo[j]) {
            lo[j] = static_cast<double>(nl);
            changed = true;
          }
        }
        if (std::isfinite(up[j]) && std::fabs(up[j]) < 1e15) {
          const auto u = static_cast<std::int64_t>(up[j]);
          const std::int64_t nu = u - floor_mod(u - x0, mod);
          if (static_cast<double>(nu) < up[j]) {
            up[j] = static_cast<double>(nu);
            changed = true;
          }
        }
        if (lo[j] > up[j]) return false;
      }
    }
    if (!changed) break;
  }
  return true;
}

/// At a node: does some integral row admit no value given the current bounds?
inline bool integral_rows_infeasible(const std::vector<integral_row>& rows, const std::vector<double>& lo,
                                     const std::vector<double>& up) {
  for (const auto& r : rows) {
    if (r.lo > r.hi) return true;
    std::int64_t fixed = 0, g = 0;
    long double minact = 0, maxact = 0;
    for (const auto& [j, a] : r.terms) {
      if (lo[j] == up[j]) {
        fixed += a * static_cast<std::int64_t>(lo[j]);
      } else {
        g = gcd64(g, a);
      }
      minact += a > 0 ? a * static_cast<long double>(lo[j]) : a * static_cast<long double>(up[j]);
      maxact += a > 0 ? a * static_cast<long double>(up[j]) : a * static_cast<long double>(lo[j]);
    }
    const bool has_lo = r.lo != std::numeric_limits<std::int64_t>::min();
    const bool has_hi = r.hi != std::numeric_limits<std::int64_t>::max();
    if (has_hi && minact > static_cast<long double>(r.hi)) return true;
    if (has_lo && maxact < static_cast<long double>(r.lo)) return true;
    if (!has_lo || !has_hi) continue;
    if (std::fabs(minact) > 1e15 || std::fabs(maxact) > 1e15) continue;  // int64 range guard
    if (g == 0) {
      if (fixed < r.lo || fixed > r.hi) return true;
      continue;
    }
    // Some multiple of g must lie in [lo - fixed, hi - fixed].
    const std::int64_t l = r.lo - fixed, h = r.hi - fixed;
    const std::int64_t first = l + floor_mod(-l, g);
    if (first > h) return true;
  }
  return false;
}

struct bb_change {
  std::uint32_t var;
  double lo, up;
};

struct bb_node {
  double bound = -infinity;
  std::size_t depth = 0;
  std::vector<bb_change> changes;  // cumulative from the root; later entries win
  std::shared_ptr<const basis_snapshot> basis;
};

struct bb_node_order {
  bool operator()(const bb_node& a, const bb_node& b) const {
    if (a.bound != b.bound) return a.bound > b.bound;  // smallest bound on top
    return a.depth < b.depth;                          // then deepest
  }
};

inline double elapsed_seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace detail

/// Solves a MILP by LP-based branch-and-bound (no MCKP routing; see `solve_milp`).
inline milp_result branch_and_bound(const milp_problem& p, const milp_options& opt = {}) {
  using namespace detail;
  const auto t0 = std::chrono::steady_clock::now();
  milp_result res;
  const std::size_t n = p.variables.size();
  const double sgn = p.sense == objective_sense::maximize ? -1.0 : 1.0;
  const std::size_t m = p.constraints.size();
  if (m * (m + n) > opt.max_dense_entries || p.objective.size() > n) {
    res.status = status::invalid_input;  // too large for the dense tableau, or inconsistent sizes
    return res;
  }
  for (const auto& c : p.constraints)
    for (const auto& t : c.terms)
      if (t.var >= n || !std::isfinite(t.coef)) {
        res.status = status::invalid_input;
        return res;
      }

  // Root bounds: integer bounds rounded inwards, then gcd congruences.
  std::vector<double> root_lo(n), root_up(n);
  bool any_integer = false;
  for (std::size_t j = 0; j < n; ++j) {
    const auto& v = p.variables[j];
    root_lo[j] = v.lb;
    root_up[j] = v.ub;
    if (v.integer) {
      any_integer = true;
      root_lo[j] = std::ceil(v.lb);
      root_up[j] = std::floor(v.ub);
      if (v.exact_lb && std::isfinite(v.lb) && *v.exact_lb > exact_number::from_double(root_lo[j])) root_lo[j] += 1;
      if (v.exact_ub && std::isfinite(v.ub) && *v.exact_ub < exact_number::from_double(root_up[j])) root_up[j] -= 1;
    }
  }
  auto finish_infeasible = [&]() {
    res.status = status::infeasible;
    res.objective = 0.0;
    res.bound = 0.0;
    return res;
  };
  for (std::size_t j = 0; j < n; ++j)
    if (root_lo[j] > root_up[j]) return finish_infeasible();
  const std::vector<integral_row> irows = integral_rows(p);
  if (!congruence_tighten(irows, root_lo, root_up)) return finish_infeasible();
  if (integral_rows_infeasible(irows, root_lo, root_up)) return finish_infeasible();

  lp_data lp = to_lp_data(p);
  for (const auto& r : irows) {  // gcd-tightened sides
    if (r.lo != std::numeric_limits<std::int64_t>::min()) lp.row_lo[r.row] = static_cast<double>(r.lo);
    if (r.hi != std::numeric_limits<std::int64_t>::max()) lp.row_up[r.row] = static_cast<double>(r.hi);
  }
  lp.col_lo = root_lo;
  lp.col_up = root_up;
  simplex_settings ss;
  ss.feasibility_tolerance = opt.feasibility_tolerance;
  ss.optimality_tolerance = opt.optimality_tolerance;
  dense_simplex sx;
  sx.load(lp, ss);

  // The objective takes only integer values when every cost sits on an integer variable and is
  // an integer: then a node is pruned unless it can beat the incumbent by at least one.
  bool integral_objective = any_integer;
  for (std::size_t j = 0; j < n && integral_objective; ++j) {
    const double c = j < p.objective.size() ? p.objective[j] : 0.0;
    if (c != 0.0 && (!p.variables[j].integer || !is_int_value(c))) integral_objective = false;
    if (c != 0.0 && j < p.exact_objective.size() && !(p.exact_objective[j] == exact_number::from_double(c)))
      integral_objective = false;
  }

  double incumbent = infinity;  // minimisation form
  std::vector<double> best_x;
  auto cutoff = [&]() {
    if (incumbent == infinity) return infinity;
    if (integral_objective) return incumbent - 1.0 + std::max(1e-6, 1e-9 * std::fabs(incumbent));
    return incumbent - opt.relative_gap * std::max(1.0, std::fabs(incumbent));
  };

  std::priority_queue<bb_node, std::vector<bb_node>, bb_node_order> open;
  std::vector<double> cur_lo = root_lo, cur_up = root_up;
  std::vector<bb_change> applied;
  auto apply = [&](const std::vector<bb_change>& changes) {
    std::vector<double> want_lo, want_up;
    std::vector<std::uint32_t> touched;
    for (const auto& c : applied) touched.push_back(c.var);
    for (const auto& c : changes) touched.push_back(c.var);
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const auto v : touched) {
      double lo = root_lo[v], up = root_up[v];
      for (const auto& c : changes)
        if (c.var == v) {
          lo = c.lo;
          up = c.up;
        }
      if (lo != cur_lo[v] || up != cur_up[v]) {
        sx.set_col_bounds(v, lo, up);
        cur_lo[v] = lo;
        cur_up[v] = up;
      }
    }
    applied = changes;
  };

  status stop = status::optimal;
  bool numerical_trouble = false;
  std::optional<bb_node> dive = bb_node{};
  bool in_place = true;
  bool root = true;
  for (;;) {
    if (!dive) {
      if (open.empty()) break;
      if (open.top().bound >= cutoff()) {
        open = {};
        break;
      }
      dive = open.top();
      open.pop();
      in_place = false;
    }
    bb_node node = std::move(*dive);
    dive.reset();
    if (node.bound >= cutoff()) continue;
    if (res.nodes >= opt.node_limit || elapsed_seconds(t0) > opt.time_limit_seconds) {
      stop = res.nodes >= opt.node_limit ? status::node_limit : status::time_limit;
      open.push(std::move(node));
      break;
    }
    ++res.nodes;
    apply(node.changes);
    if (!in_place && node.basis) sx.restore_basis(*node.basis);
    if (integral_rows_infeasible(irows, cur_lo, cur_up)) continue;
    status st = root ? sx.solve_primal(opt.iteration_limit) : sx.solve(opt.iteration_limit);
    if (st == status::numerical_issue) {
      // Start this node again from the all-logical basis before giving up on it.
      sx.load(lp, ss);
      for (std::size_t j = 0; j < n; ++j) sx.set_col_bounds(j, cur_lo[j], cur_up[j]);
      st = sx.solve_primal(opt.iteration_limit);
      if (st == status::numerical_issue) {
        numerical_trouble = true;
        continue;
      }
    }
    if (st == status::iteration_limit) {
      stop = status::iteration_limit;
      open.push(std::move(node));
      break;
    }
    if (st == status::infeasible) {
      if (root) return finish_infeasible();
      continue;
    }
    if (st == status::unbounded) {
      if (!root) continue;  // cannot happen below a bounded root
      // LP unbounded: the MILP is unbounded if it has any integer point (rational data), else
      // infeasible. Look for one with a zero objective.
      if (!any_integer) {
        res.status = status::unbounded;
        return res;
      }
      milp_problem feas = p;
      std::fill(feas.objective.begin(), feas.objective.end(), 0.0);
      feas.exact_objective.clear();
      milp_options fo = opt;
      fo.detect_mckp = false;
      fo.time_limit_seconds = std::max(0.0, opt.time_limit_seconds - elapsed_seconds(t0));
      milp_result fr = branch_and_bound(feas, fo);
      res.nodes += fr.nodes;
      if (fr.status == status::optimal) {
        res.status = status::unbounded;
        res.x = fr.x;
      } else if (fr.status == status::infeasible) {
        res.status = status::infeasible;
      } else {
        res.status = fr.status;
      }
      return res;
    }
    root = false;
    const double obj = sx.objective();
    if (obj >= cutoff()) continue;
    // Most fractional integer variable.
    std::size_t branch = n;
    double best_frac = 0;
    std::vector<double> x = sx.primal_values();
    for (std::size_t j = 0; j < n; ++j) {
      if (!p.variables[j].integer) continue;
      const double f = x[j] - std::floor(x[j]);
      const double dist = std::min(f, 1.0 - f);
      if (dist > opt.integrality_tolerance * std::max(1.0, std::fabs(x[j])) && dist > best_frac) {
        best_frac = dist;
        branch = j;
      }
    }
    if (branch == n) {
      for (std::size_t j = 0; j < n; ++j) {
        if (p.variables[j].integer) x[j] = std::round(x[j]);
        x[j] = std::clamp(x[j], cur_lo[j], cur_up[j]);  // continuous values within 1e-9 of a bound
      }
      const verification v = verify_milp(p, x, 1e-7);
      if (v.feasible) {
        const double val = sgn * v.objective;
        if (val < incumbent) {
          incumbent = val;
          best_x = x;
        }
        continue;
      }
      if (v.violated_row >= p.constraints.size()) continue;
      // Integer point accepted by the LP tolerance but exactly infeasible: split an unfixed
      // integer variable of the violated row three ways (below, at, above its value) so the
      // row is eventually checked with all its variables fixed.
      const auto& row = p.constraints[v.violated_row];
      std::size_t pick = n;
      for (const auto& t : row.terms)
        if (p.variables[t.var].integer && cur_lo[t.var] < cur_up[t.var]) {
          pick = t.var;
          break;
        }
      if (pick == n) continue;  // every variable fixed: this node holds no feasible point
      const double val = x[pick];
      auto child = [&](double lo, double up) {
        if (lo > up) return;
        bb_node c;
        c.bound = obj;
        c.depth = node.depth + 1;
        c.changes = node.changes;
        c.changes.push_back({static_cast<std::uint32_t>(pick), lo, up});
        c.basis = std::make_shared<const basis_snapshot>(sx.save_basis());
        open.push(std::move(c));
      };
      child(cur_lo[pick], val - 1);
      child(val, val);
      child(val + 1, cur_up[pick]);
      continue;
    }
    // Branch: dive towards the nearer integer, keep the other child with this node's basis.
    auto basis = std::make_shared<const basis_snapshot>(sx.save_basis());
    const double xv = x[branch];
    bb_node down, up;
    down.bound = up.bound = obj;
    down.depth = up.depth = node.depth + 1;
    down.changes = node.changes;
    up.changes = std::move(node.changes);
    down.changes.push_back({static_cast<std::uint32_t>(branch), cur_lo[branch], std::floor(xv)});
    up.changes.push_back({static_cast<std::uint32_t>(branch), std::ceil(xv), cur_up[branch]});
    down.basis = up.basis = basis;
    const bool go_up = xv - std::floor(xv) >= 0.5;
    open.push(go_up ? std::move(down) : std::move(up));
    dive = go_up ? std::move(up) : std::move(down);
    in_place = true;
  }

  res.iterations = sx.iterations();
  double bound = incumbent;
  if (stop != status::optimal) {
    while (!open.empty()) {
      bound = std::min(bound, open.top().bound);
      open.pop();
    }
  }
  if (best_x.empty()) {
    if (stop == status::optimal) {
      res.status = numerical_trouble ? status::numerical_issue : status::infeasible;
      return res;
    }
    res.status = stop;
    res.bound = sgn * bound;
    return res;
  }
  const verification v = verify_milp(p, best_x, 1e-7);
  res.exactly_verified = v.feasible;
  res.x = std::move(best_x);
  res.objective = v.feasible ? v.objective : sgn * incumbent;
  res.status = stop == status::optimal && numerical_trouble ? status::numerical_issue : stop;
  if (res.status == status::optimal) bound = incumbent;
  res.bound = sgn * bound;
  res.gap = std::isfinite(bound) ? std::fabs(incumbent - bound) / std::max(1.0, std::fabs(incumbent)) : infinity;
  return res;
}

/// Solves the LP relaxation (integrality ignored) with the bounded primal simplex.
inline milp_result solve_lp(const milp_problem& p, const milp_options& opt = {}) {
  milp_problem relaxed = p;
  for (auto& v : relaxed.variables) v.integer = false;
  return branch_and_bound(relaxed, opt);
}

}  // namespace ohq::solver

// SPDX-License-Identifier: MIT
/// @file Defines `solve_mckp`, the exact multiple-choice knapsack search used for bit allocation.
///
/// Pick one choice per group (layer) minimising total cost under a few resource budgets. The
/// search is a depth-first branch-and-bound over groups:
///   * dominated choices are dropped (no worse in every budgeted resource and in cost);
///   * Lagrange multipliers for the budgets come from the LP relaxation, solved by column
///     generation over whole assignments (a master LP of 1 + R rows);
///   * those multipliers fold the budgets into one surrogate knapsack whose LP relaxation is
///     solved exactly by the lower convex hull of each group's (weight, cost) points, merged in
///     slope order; every suffix of the group order has its hull precomputed, so a node's bound
///     is one binary search;
///   * choices whose Lagrangian reduced cost exceeds the gap are fixed out, and identical groups
///     are explored in non-decreasing choice order (symmetry);
///   * when that search needs more than a few thousand nodes (uncorrelated data, several tight
///     budgets), iterative deepening on the gap takes over: only plans below L + tau are sought
///     (L the LP bound, tau doubling), and the groups with the cheapest deviations form a tail
///     whose candidate combinations are listed once, in a k-d tree over their uses, so each leaf
///     of the search over the other groups is completed by one query instead of a subtree;
///   * a candidate incumbent that is not clearly inside every budget in floating point is
///     re-checked in exact rational arithmetic, so no tolerance can admit an infeasible plan.
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
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace ohq::solver {

/// Checks shapes and values of an MCKP; returns an empty string when it is well formed, else a
/// sentence naming the first problem.
inline std::string validate(const mckp_problem& p) {
  const std::size_t r = p.resources();
  for (std::size_t k = 0; k < r; ++k) {
    const auto& b = p.budgets[k];
    if (std::isnan(b.lo) || std::isnan(b.hi) || b.lo == infinity || b.hi == -infinity)
      return std::string("budget ") + std::to_string(k) + " (" + b.name + ") has an invalid bound";
  }
  for (std::size_t g = 0; g < p.groups.size(); ++g) {
    const auto& grp = p.groups[g];
    const std::string where = std::string("group ") + std::to_string(g) + " (" + grp.name + ")";
    if (grp.costs.empty()) return where + " has no choices";
    if (grp.uses.size() != grp.costs.size()) return where + ": uses and costs differ in length";
    for (std::size_t c = 0; c < grp.costs.size(); ++c) {
      if (!std::isfinite(grp.costs[c])) return where + std::string(" choice ") + std::to_string(c) + ": cost is not finite";
      if (grp.uses[c].size() != r)
        return where + std::string(" choice ") + std::to_string(c) + std::string(": has ") + std::to_string(grp.uses[c].size()) +
               std::string(" uses for ") + std::to_string(r) + " resources";
      for (double u : grp.uses[c])
        if (!std::isfinite(u)) return where + std::string(" choice ") + std::to_string(c) + ": a use is not finite";
    }
  }
  return {};
}

namespace detail {

/// Node budget of the first, plain depth-first search before the deepening search with the tail
/// table takes over (see mckp_engine::deepening_search). Tests set it to 0 to drive the
/// deepening path on small problems.
inline thread_local std::size_t mckp_probe_nodes = 4000;
/// Most tail combinations the deepening search lists (tests make it small to exercise the split).
inline thread_local std::size_t mckp_tail_combinations = 8192;

/// The MCKP search; keeps exact values and LP columns between solves (Pareto sweeps reuse them).
class mckp_engine {
 public:
  explicit mckp_engine(const mckp_problem& p) : p_(p), r_(p.resources()) {}

  mckp_result solve(const std::vector<mckp_budget>& budgets, const mckp_options& opt,
                    const std::vector<std::size_t>* warm = nullptr) {
    t0_ = std::chrono::steady_clock::now();
    opt_ = opt;
    budgets_ = &budgets;
    mckp_result res;
    res.nodes = 0;
    const std::size_t ng = p_.groups.size();
    lo_.assign(r_, -infinity);
    hi_.assign(r_, infinity);
    for (std::size_t k = 0; k < r_; ++k) {
      lo_[k] = budgets[k].lo;
      hi_[k] = budgets[k].hi;
    }
    if (ng == 0) {
      res.status = feasible_exact_empty() ? status::optimal : status::infeasible;
      res.use.assign(r_, 0.0);
      return res;
    }
    // Floating-point margins: a comparison is only trusted when it clears the rounding error of
    // a sum of this magnitude by a wide factor; anything closer goes to the exact check.
    margin_.assign(r_, 0.0);
    for (std::size_t k = 0; k < r_; ++k) {
      double s = 0;
      for (const auto& g : p_.groups) {
        double m = 0;
        for (const auto& u : g.uses) m = std::max(m, std::fabs(u[k]));
        s += m;
      }
      if (std::isfinite(lo_[k])) s += std::fabs(lo_[k]);
      if (std::isfinite(hi_[k])) s += std::fabs(hi_[k]);
      margin_[k] = 1e-11 * s + 1e-300;
    }
    cost_scale_ = 0;
    for (const auto& g : p_.groups) {
      double m = 0;
      for (double c : g.costs) m = std::max(m, std::fabs(c));
      cost_scale_ += m;
    }

    build_candidates();
    // Quick infeasibility: the cheapest-in-resource choices already overrun a budget.
    for (std::size_t k = 0; k < r_; ++k) {
      double mn = 0, mx = 0;
      for (std::size_t g = 0; g < ng; ++g) {
        double a = infinity, b = -infinity;
        for (auto c : cand_[g]) {
          a = std::min(a, use(g, c, k));
          b = std::max(b, use(g, c, k));
        }
        mn += a;
        mx += b;
      }
      if (mn > hi_[k] + margin_[k] || mx < lo_[k] - margin_[k]) {
        res.status = status::infeasible;
        return res;
      }
    }

    compute_multipliers();
    // Incumbent: the warm start, then rounding of the surrogate LP, then 1-opt improvement.
    incumbent_ = infinity;
    best_.clear();
    if (warm && warm->size() == ng) try_incumbent(*warm);
    rounding_heuristic();

    deepening_search(res);
    if (res.status == status::infeasible || res.status == status::invalid_input) return res;
    if (best_.empty()) {
      res.status = res.status == status::optimal ? status::infeasible : res.status;
      return res;
    }
    const verification v = verify_mckp_with(best_);
    res.exactly_verified = v.feasible;
    res.choice = best_;
    res.objective = v.feasible ? v.objective : incumbent_;
    res.use.assign(r_, 0.0);
    for (std::size_t k = 0; k < r_; ++k) res.use[k] = exact_total_use(best_, k).to_double();
    if (res.status == status::optimal) {
      res.bound = res.objective;
      res.gap = 0;
    } else {
      res.bound = std::min(res.bound, res.objective);
      res.gap = std::fabs(res.objective - res.bound) / std::max(1.0, std::fabs(res.objective));
    }
    return res;
  }

  /// Exact total use of resource k by a choice vector.
  exact_number exact_total_use(const std::vector<std::size_t>& choice, std::size_t k) {
    exact_number s;
    for (std::size_t g = 0; g < choice.size(); ++g) s += exact_use(g, choice[g], k);
    return s;
  }

 private:
  double use(std::size_t g, std::size_t c, std::size_t k) const { return p_.groups[g].uses[c][k]; }
  double cost(std::size_t g, std::size_t c) const { return p_.groups[g].costs[c]; }

  const exact_number& exact_use(std::size_t g, std::size_t c, std::size_t k) {
    if (exact_use_.empty()) {
      exact_off_.assign(p_.groups.size() + 1, 0);
      for (std::size_t gi = 0; gi < p_.groups.size(); ++gi)
        exact_off_[gi + 1] = exact_off_[gi] + p_.groups[gi].costs.size() * r_;
      exact_use_.assign(exact_off_.back(), std::nullopt);
    }
    auto& slot = exact_use_[exact_off_[g] + c * r_ + k];
    if (!slot) {
      const auto& grp = p_.groups[g];
      const bool has = c < grp.exact_uses.size() && k < grp.exact_uses[c].size();
      slot = has ? grp.exact_uses[c][k] : exact_number::from_double(grp.uses[c][k]);
    }
    return *slot;
  }

  exact_number exact_budget(std::size_t k, bool upper) const {
    const auto& b = (*budgets_)[k];
    if (upper) return b.exact_hi ? *b.exact_hi : exact_number::from_double(b.hi);
    return b.exact_lo ? *b.exact_lo : exact_number::from_double(b.lo);
  }

  bool feasible_exact_empty() const {
    for (std::size_t k = 0; k < r_; ++k) {
      if (std::isfinite(hi_[k]) && exact_budget(k, true).sign() < 0) return false;
      if (std::isfinite(lo_[k]) && exact_budget(k, false).sign() > 0) return false;
    }
    return true;
  }

  verification verify_mckp_with(const std::vector<std::size_t>& choice) {
    verification v;
    exact_number c;
    for (std::size_t g = 0; g < choice.size(); ++g) {
      const auto& grp = p_.groups[g];
      c += choice[g] < grp.exact_costs.size() ? grp.exact_costs[choice[g]]
                                              : exact_number::from_double(grp.costs[choice[g]]);
    }
    if (!exactly_feasible(choice)) return v;
    v.feasible = true;
    v.objective = c.to_double();
    return v;
  }

  bool exactly_feasible(const std::vector<std::size_t>& choice) {
    for (std::size_t k = 0; k < r_; ++k) {
      if (!std::isfinite(hi_[k]) && !std::isfinite(lo_[k])) continue;
      exact_number s;
      for (std::size_t g = 0; g < choice.size(); ++g) s += exact_use(g, choice[g], k);
      if (std::isfinite(hi_[k]) && s > exact_budget(k, true)) return false;
      if (std::isfinite(lo_[k]) && s < exact_budget(k, false)) return false;
    }
    return true;
  }

  // 1 = clearly feasible, -1 = clearly infeasible, 0 = too close to call in floating point.
  int float_feasibility(const double* used) const {
    int verdict = 1;
    for (std::size_t k = 0; k < r_; ++k) {
      if (used[k] > hi_[k] + margin_[k] || used[k] < lo_[k] - margin_[k]) return -1;
      if (used[k] > hi_[k] - margin_[k] || used[k] < lo_[k] + margin_[k]) verdict = 0;
    }
    return verdict;
  }

  // Accepts a full assignment as incumbent if it is feasible (exactly) and better.
  bool try_incumbent(const std::vector<std::size_t>& choice) {
    std::vector<double> used(r_, 0.0);
    double c = 0;
    for (std::size_t g = 0; g < choice.size(); ++g) {
      if (choice[g] >= p_.groups[g].costs.size()) return false;
      c += cost(g, choice[g]);
      for (std::size_t k = 0; k < r_; ++k) used[k] += use(g, choice[g], k);
    }
    if (!(c < incumbent_)) return false;
    const int f = float_feasibility(used.data());
    if (f < 0) return false;
    if (f == 0 && !exactly_feasible(choice)) return false;
    incumbent_ = c;
    best_ = choice;
    return true;
  }

  // Dominance: b dominates a when it costs no more and uses no more of every resource that has
  // an upper budget (no less where a lower budget exists, equal where both do).
  void build_candidates() {
    const std::size_t ng = p_.groups.size();
    cand_.assign(ng, {});
    for (std::size_t g = 0; g < ng; ++g) {
      const std::size_t nc = p_.groups[g].costs.size();
      for (std::size_t a = 0; a < nc; ++a) {
        bool dominated = false;
        for (std::size_t b = 0; b < nc && !dominated; ++b) {
          if (a == b) continue;
          bool no_worse = cost(g, b) <= cost(g, a);
          bool strictly = cost(g, b) < cost(g, a);
          for (std::size_t k = 0; k < r_ && no_worse; ++k) {
            const bool up = std::isfinite(hi_[k]), dn = std::isfinite(lo_[k]);
            const double ub = use(g, b, k), ua = use(g, a, k);
            if (up && ub > ua) no_worse = false;
            if (dn && ub < ua) no_worse = false;
            if ((up && ub < ua) || (dn && ub > ua)) strictly = true;
          }
          // Identical choices: keep the lowest index.
          if (no_worse && (strictly || b < a)) dominated = true;
        }
        if (!dominated) cand_[g].push_back(a);
      }
    }
  }

  // ---------------------------------------------------------------- multipliers
  // Column generation on the LP relaxation: master over whole assignments (convexity row plus
  // one row per budget, with penalised slacks so it is always feasible).
  void compute_multipliers() {
    sigma_.assign(r_, 0.0);
    std::vector<std::size_t> active;
    for (std::size_t k = 0; k < r_; ++k)
      if (std::isfinite(lo_[k]) || std::isfinite(hi_[k])) active.push_back(k);
    if (active.empty()) return;
    const std::size_t ng = p_.groups.size();
    std::vector<double> rscale(r_, 1.0);
    for (std::size_t k : active) rscale[k] = std::max(margin_[k] / 1e-11, 1e-300);
    double spread = 1;
    for (std::size_t g = 0; g < ng; ++g) {
      double a = infinity, b = -infinity;
      for (auto c : cand_[g]) {
        a = std::min(a, cost(g, c));
        b = std::max(b, cost(g, c));
      }
      spread += b - a;
    }
    const double penalty = 100 * spread;
    double best_lag = -infinity;
    std::vector<double> best_sigma(r_, 0.0);
    // Seed columns: cheapest assignment and the least-use assignment per resource.
    auto add_column = [&](const std::vector<std::size_t>& ch) {
      column col;
      col.cost = 0;
      col.use.assign(r_, 0.0);
      for (std::size_t g = 0; g < ng; ++g) {
        col.cost += cost(g, ch[g]);
        for (std::size_t k = 0; k < r_; ++k) col.use[k] += use(g, ch[g], k);
      }
      columns_.push_back(std::move(col));
    };
    if (columns_.size() > 400) columns_.erase(columns_.begin(), columns_.end() - 200);
    std::vector<std::size_t> ch(ng);
    {
      std::vector<double> zero(r_, 0.0);
      price(zero, ch);
      add_column(ch);
      for (std::size_t k : active) {
        for (int s = -1; s <= 1; s += 2) {
          for (std::size_t g = 0; g < ng; ++g) {
            std::size_t best = cand_[g][0];
            for (auto c : cand_[g])
              if (s * use(g, c, k) < s * use(g, best, k) ||
                  (use(g, c, k) == use(g, best, k) && cost(g, c) < cost(g, best)))
                best = c;
            ch[g] = best;
          }
          add_column(ch);
        }
      }
    }
    const std::size_t m = 1 + active.size();
    for (int iter = 0; iter < 200; ++iter) {
      const std::size_t nk = columns_.size();
      lp_data lp;
      lp.rows = m;
      lp.cols = nk + 2 * active.size();
      lp.a.assign(lp.rows * lp.cols, 0.0);
      lp.col_lo.assign(lp.cols, 0.0);
      lp.col_up.assign(lp.cols, infinity);
      lp.cost.assign(lp.cols, 0.0);
      lp.row_lo.assign(m, 1.0);
      lp.row_up.assign(m, 1.0);
      for (std::size_t q = 0; q < nk; ++q) {
        lp.a[q] = 1.0;
        lp.cost[q] = columns_[q].cost;
        for (std::size_t t = 0; t < active.size(); ++t)
          lp.a[(1 + t) * lp.cols + q] = columns_[q].use[active[t]] / rscale[active[t]];
      }
      for (std::size_t t = 0; t < active.size(); ++t) {
        const std::size_t k = active[t];
        lp.row_lo[1 + t] = std::isfinite(lo_[k]) ? lo_[k] / rscale[k] : -infinity;
        lp.row_up[1 + t] = std::isfinite(hi_[k]) ? hi_[k] / rscale[k] : infinity;
        lp.a[(1 + t) * lp.cols + nk + 2 * t] = 1.0;
        lp.a[(1 + t) * lp.cols + nk + 2 * t + 1] = -1.0;
        lp.cost[nk + 2 * t] = lp.cost[nk + 2 * t + 1] = penalty;
      }
      dense_simplex sx;
      sx.load(lp);
      if (sx.solve_primal(100000) != status::optimal) break;
      const double y0 = sx.row_dual(0);
      std::vector<double> sig(r_, 0.0);
      for (std::size_t t = 0; t < active.size(); ++t) {
        const std::size_t k = active[t];
        sig[k] = -sx.row_dual(1 + t) / rscale[k];
        if (sig[k] > 0 && !std::isfinite(hi_[k])) sig[k] = 0;
        if (sig[k] < 0 && !std::isfinite(lo_[k])) sig[k] = 0;
      }
      const double val = price(sig, ch) - y0;
      // Lagrangian bound of these multipliers: keep the best; stop once it meets the master.
      const double lag = val + y0 - surrogate_capacity_of(sig);
      if (lag > best_lag) {
        best_lag = lag;
        best_sigma = sig;
      }
      const double z = sx.objective();
      if (val >= -1e-9 * std::max(1.0, std::fabs(z)) || z - best_lag <= 1e-7 * (std::fabs(z) + spread)) break;
      add_column(ch);
    }
    sigma_ = best_sigma;
  }

  // Best assignment for multipliers sig; returns sum of min (cost + sig.use).
  double price(const std::vector<double>& sig, std::vector<std::size_t>& ch) const {
    double total = 0;
    for (std::size_t g = 0; g < p_.groups.size(); ++g) {
      double best = infinity;
      for (auto c : cand_[g]) {
        double v = cost(g, c);
        for (std::size_t k = 0; k < r_; ++k) v += sig[k] * use(g, c, k);
        if (v < best) {
          best = v;
          ch[g] = c;
        }
      }
      total += best;
    }
    return total;
  }

  double weight(std::size_t g, std::size_t c) const {
    double w = 0;
    for (std::size_t k = 0; k < r_; ++k)
      if (sigma_[k] != 0.0) w += sigma_[k] * use(g, c, k);
    return w;
  }

  double surrogate_capacity() const { return surrogate_capacity_of(sigma_); }
  double surrogate_capacity_of(const std::vector<double>& sig) const {
    double s = 0;
    for (std::size_t k = 0; k < r_; ++k) {
      if (sig[k] > 0) s += sig[k] * hi_[k];
      if (sig[k] < 0) s += sig[k] * lo_[k];
    }
    return s;
  }

  // ---------------------------------------------------------------- heuristics
  void rounding_heuristic() {
    const std::size_t ng = p_.groups.size();
    // Greedy on the surrogate knapsack (the LP solution, rounded down): every group starts at
    // its lightest hull point and hull segments are bought in slope order while they fit.
    std::vector<std::size_t> ch(ng);
    struct seg_ref {
      double slope, dw;
      std::size_t g, to;
    };
    std::vector<seg_ref> segs;
    double cap = surrogate_capacity();
    for (std::size_t g = 0; g < ng; ++g) {
      std::vector<std::size_t> pts = cand_[g];
      std::sort(pts.begin(), pts.end(), [&](std::size_t a, std::size_t b) {
        return weight(g, a) < weight(g, b) || (weight(g, a) == weight(g, b) && cost(g, a) < cost(g, b));
      });
      std::vector<std::size_t> h;
      for (const std::size_t q : pts) {
        if (!h.empty() && cost(g, q) >= cost(g, h.back())) continue;
        while (h.size() >= 2) {
          const std::size_t o = h[h.size() - 2], a = h.back();
          const double cross = (weight(g, a) - weight(g, o)) * (cost(g, q) - cost(g, o)) -
                               (cost(g, a) - cost(g, o)) * (weight(g, q) - weight(g, o));
          if (cross <= 0) h.pop_back();
          else break;
        }
        h.push_back(q);
      }
      ch[g] = h.front();
      cap -= weight(g, h.front());
      for (std::size_t t = 1; t < h.size(); ++t) {
        const double dw = weight(g, h[t]) - weight(g, h[t - 1]);
        const double dc = cost(g, h[t]) - cost(g, h[t - 1]);
        segs.push_back({dw > 0 ? dc / dw : -infinity, dw, g, h[t]});
      }
    }
    std::stable_sort(segs.begin(), segs.end(), [](const seg_ref& a, const seg_ref& b) { return a.slope < b.slope; });
    std::vector<bool> stopped(ng, false);
    for (const auto& sg : segs) {
      if (stopped[sg.g]) continue;
      if (sg.dw <= cap) {
        cap -= sg.dw;
        ch[sg.g] = sg.to;
      } else {
        stopped[sg.g] = true;
      }
    }
    repair_and_improve(ch);
  }

  // Moves towards feasibility at the least cost per unit of violation removed, then takes any
  // single-group change that lowers the cost and stays clearly feasible.
  void repair_and_improve(std::vector<std::size_t> ch) {
    const std::size_t ng = p_.groups.size();
    std::vector<double> used(r_, 0.0);
    for (std::size_t g = 0; g < ng; ++g)
      for (std::size_t k = 0; k < r_; ++k) used[k] += use(g, ch[g], k);
    auto violation = [&](const std::vector<double>& u) {
      double v = 0;
      for (std::size_t k = 0; k < r_; ++k) {
        const double sc = margin_[k] / 1e-11;
        if (u[k] > hi_[k] - margin_[k]) v += (u[k] - hi_[k] + margin_[k]) / sc;
        if (u[k] < lo_[k] + margin_[k]) v += (lo_[k] + margin_[k] - u[k]) / sc;
      }
      return v;
    };
    std::vector<double> nu(r_);
    for (std::size_t step = 0; step < 4 * r_ + 16; ++step) {
      const double v0 = violation(used);
      if (v0 <= 0) break;
      double best = infinity;
      std::size_t bg = ng, bc = 0;
      for (std::size_t g = 0; g < ng; ++g)
        for (auto c : cand_[g]) {
          if (c == ch[g]) continue;
          for (std::size_t k = 0; k < r_; ++k) nu[k] = used[k] - use(g, ch[g], k) + use(g, c, k);
          const double dv = violation(nu) - v0;
          if (dv >= 0) continue;
          const double score = (cost(g, c) - cost(g, ch[g])) / -dv;
          if (score < best) {
            best = score;
            bg = g;
            bc = c;
          }
        }
      if (bg == ng) return;
      for (std::size_t k = 0; k < r_; ++k) used[k] += use(bg, bc, k) - use(bg, ch[bg], k);
      ch[bg] = bc;
    }
    if (violation(used) > 0) return;
    bool improved = true;
    for (int pass = 0; pass < 20 && improved; ++pass) {
      improved = false;
      for (std::size_t g = 0; g < ng; ++g)
        for (auto c : cand_[g]) {
          if (cost(g, c) >= cost(g, ch[g])) continue;
          for (std::size_t k = 0; k < r_; ++k) nu[k] = used[k] - use(g, ch[g], k) + use(g, c, k);
          if (violation(nu) > 0) continue;
          used = nu;
          ch[g] = c;
          improved = true;
        }
    }
    try_incumbent(ch);
  }

  // Local search on the incumbent over the free groups: the best single change, else the best
  // change of two groups at once, that lowers the cost and stays clearly inside every budget.
  void pair_exchange(const std::vector<std::vector<std::size_t>>& cands, const std::vector<std::size_t>& order) {
    std::vector<std::size_t> ch = best_;
    std::vector<double> used(r_, 0.0), nu(r_), nu2(r_);
    for (std::size_t g = 0; g < ch.size(); ++g)
      for (std::size_t k = 0; k < r_; ++k) used[k] += use(g, ch[g], k);
    auto inside = [&](const std::vector<double>& u) {
      for (std::size_t k = 0; k < r_; ++k)
        if (u[k] > hi_[k] - margin_[k] || u[k] < lo_[k] + margin_[k]) return false;
      return true;
    };
    struct move {
      std::size_t g, c;
    };
    std::vector<move> moves;
    for (const std::size_t g : order)
      for (const std::size_t c : cands[g]) moves.push_back({g, c});
    for (int pass = 0; pass < 50; ++pass) {
      double best_gain = 0;
      move m1{0, 0}, m2{0, 0};
      bool two = false;
      for (std::size_t a = 0; a < moves.size(); ++a) {
        const auto [g1, c1] = moves[a];
        if (c1 == ch[g1]) continue;
        const double d1 = cost(g1, c1) - cost(g1, ch[g1]);
        for (std::size_t k = 0; k < r_; ++k) nu[k] = used[k] - use(g1, ch[g1], k) + use(g1, c1, k);
        if (d1 < best_gain && inside(nu)) {
          best_gain = d1;
          m1 = moves[a];
          two = false;
        }
        for (std::size_t b = a + 1; b < moves.size(); ++b) {
          const auto [g2, c2] = moves[b];
          if (g2 == g1 || c2 == ch[g2]) continue;
          const double d2 = d1 + cost(g2, c2) - cost(g2, ch[g2]);
          if (!(d2 < best_gain)) continue;
          for (std::size_t k = 0; k < r_; ++k) nu2[k] = nu[k] - use(g2, ch[g2], k) + use(g2, c2, k);
          if (!inside(nu2)) continue;
          best_gain = d2;
          m1 = moves[a];
          m2 = moves[b];
          two = true;
        }
      }
      if (best_gain >= 0) break;
      for (std::size_t k = 0; k < r_; ++k) {
        used[k] += use(m1.g, m1.c, k) - use(m1.g, ch[m1.g], k);
        if (two) used[k] += use(m2.g, m2.c, k) - use(m2.g, ch[m2.g], k);
      }
      ch[m1.g] = m1.c;
      if (two) ch[m2.g] = m2.c;
    }
    try_incumbent(ch);
  }

  // ---------------------------------------------------------------- search
  double cutoff() const {
    const double lvl = level_;
    if (incumbent_ == infinity) return lvl;
    return std::min(lvl, incumbent_ - opt_.relative_gap * std::max(1.0, std::fabs(incumbent_)));
  }

  // The search proper. First the plain depth-first search from the heuristic incumbent, with a
  // small node budget: realistic problems end there. When the budget runs out, iterative
  // deepening on the gap (the core-problem idea) takes over: search only for plans cheaper than
  // L + tau, L the Lagrangian (LP) bound, with the tail table (see search). A plan found below
  // that level is optimal, since the search is exhaustive under it; none found proves the optimum
  // is at least L + tau, and tau grows. The work is then about that of a search that knew the
  // optimum from the start (reduced-cost fixing at the true gap), however poor the heuristic
  // incumbent was.
  void deepening_search(mckp_result& res) {
    level_ = infinity;
    use_tail_ = false;
    probe_hit_ = false;
    probe_budget_ = mckp_probe_nodes;
    search(res, 0);
    probe_budget_ = std::numeric_limits<std::size_t>::max();
    if (!probe_hit_) return;
    // The first search's root bound holds for plans below its cutoff, the incumbent.
    const double first_bound = std::min(res.bound, incumbent_);
    use_tail_ = true;
    const std::size_t ng = p_.groups.size();
    double lag = -surrogate_capacity();
    double step = infinity;
    double max_total = 0;
    for (std::size_t g = 0; g < ng; ++g) {
      double a = infinity, b = infinity;  // the two smallest Lagrangian costs of the group
      double top = -infinity;
      for (auto c : cand_[g]) {
        const double v = cost(g, c) + weight(g, c);
        top = std::max(top, cost(g, c));
        if (v < a) {
          b = a;
          a = v;
        } else if (v < b) {
          b = v;
        }
      }
      lag += a;
      max_total += top;
      if (b - a > 0) step = std::min(step, b - a);
    }
    double tau = std::isfinite(step) ? 2 * step : 1e-6 * (cost_scale_ + 1.0);
    if (incumbent_ < infinity) tau = std::max(tau, (incumbent_ - lag) / 16);
    tau = std::max(tau, 1e-9 * (cost_scale_ + std::fabs(lag) + 1.0));
    double proven = first_bound;
    std::size_t nodes = res.nodes;
    for (int rounds = 0;; ++rounds) {
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count() > opt_.time_limit_seconds) {
        res.status = status::time_limit;  // (the rounds' own checks come every 1024 nodes)
        res.bound = proven;
        break;
      }
      level_ = std::isfinite(lag) && std::isfinite(tau) && lag + tau < incumbent_ ? lag + tau : infinity;
      res.nodes = 0;
      search(res, nodes);
      const std::size_t round_nodes = res.nodes;
      nodes += round_nodes;
      res.nodes = nodes;
      if (res.status != status::optimal) {
        // A limit: the round's root bound holds for plans below its level only.
        res.bound = std::min(res.bound, level_);
        break;
      }
      if (level_ == infinity || incumbent_ < level_) break;
      proven = std::max(proven, level_);  // exhaustive below the level, nothing found
      // Cheap rounds grow the level fast; once the search gets expensive, slowly.
      tau *= round_nodes < 2000 ? 4 : 2;
      if (rounds >= 64 || lag + tau >= max_total) tau = infinity;  // no plan costs more
    }
    level_ = infinity;
    use_tail_ = false;
    if (res.status != status::optimal) res.bound = std::max(res.bound, proven);
  }

  void search(mckp_result& res, std::size_t nodes_before) {
    const std::size_t ng = p_.groups.size();
    // Lagrangian reduced costs for the multipliers.
    std::vector<double> lag_min(ng, infinity);
    for (std::size_t g = 0; g < ng; ++g)
      for (auto c : cand_[g]) lag_min[g] = std::min(lag_min[g], cost(g, c) + weight(g, c));
    double lag_bound = -surrogate_capacity();
    for (std::size_t g = 0; g < ng; ++g) lag_bound += lag_min[g];
    auto rc = [&](std::size_t g, std::size_t c) { return cost(g, c) + weight(g, c) - lag_min[g]; };
    const double lag_slack = 1e-12 * (cost_scale_ + std::fabs(lag_bound)) + 1e-300;

    // Reduced-cost fixing, candidate order by reduced cost; single-candidate groups become constants.
    std::vector<std::vector<std::size_t>> cands(ng);
    for (std::size_t g = 0; g < ng; ++g) {
      for (auto c : cand_[g])
        if (lag_bound + rc(g, c) - lag_slack < cutoff()) cands[g].push_back(c);
      std::stable_sort(cands[g].begin(), cands[g].end(),
                       [&](std::size_t a, std::size_t b) { return rc(g, a) < rc(g, b); });
      if (cands[g].empty()) {  // nothing beats the incumbent through this group
        finish_search(res, status::optimal, lag_bound);
        return;
      }
    }
    std::vector<std::size_t> fixed_choice(ng, 0);
    std::vector<std::size_t> order;
    double base_cost = 0;
    std::vector<double> base_use(r_, 0.0);
    double base_rc = 0;
    for (std::size_t g = 0; g < ng; ++g) {
      if (cands[g].size() == 1) {
        const std::size_t c = cands[g][0];
        fixed_choice[g] = c;
        base_cost += cost(g, c);
        base_rc += rc(g, c);
        for (std::size_t k = 0; k < r_; ++k) base_use[k] += use(g, c, k);
      } else {
        order.push_back(g);
      }
    }
    // Symmetry classes: groups whose candidate lists are identical in cost and every use.
    std::vector<std::size_t> cls(ng);
    std::iota(cls.begin(), cls.end(), 0);
    if (opt_.symmetry_breaking) {
      std::vector<std::size_t> sorted = order;
      auto key_less = [&](std::size_t a, std::size_t b) {
        if (cands[a].size() != cands[b].size()) return cands[a].size() < cands[b].size();
        for (std::size_t t = 0; t < cands[a].size(); ++t) {
          const std::size_t ca = cands[a][t], cb = cands[b][t];
          if (cost(a, ca) != cost(b, cb)) return cost(a, ca) < cost(b, cb);
          for (std::size_t k = 0; k < r_; ++k)
            if (use(a, ca, k) != use(b, cb, k)) return use(a, ca, k) < use(b, cb, k);
        }
        return false;
      };
      std::stable_sort(sorted.begin(), sorted.end(), key_less);
      for (std::size_t t = 1; t < sorted.size(); ++t)
        if (!key_less(sorted[t - 1], sorted[t]) && same_exact(sorted[t - 1], sorted[t], cands))
          cls[sorted[t]] = cls[sorted[t - 1]];
    }
    // Group order: largest surrogate-weight range first (decisions that move the budget most),
    // identical groups adjacent.
    std::vector<double> impact(ng, 0.0);
    for (std::size_t g : order) {
      double wmin = infinity, wmax = -infinity, cmin = infinity, cmax = -infinity;
      for (auto c : cands[g]) {
        wmin = std::min(wmin, weight(g, c));
        wmax = std::max(wmax, weight(g, c));
        cmin = std::min(cmin, cost(g, c));
        cmax = std::max(cmax, cost(g, c));
      }
      impact[g] = (wmax - wmin) + (cmax - cmin);
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (impact[cls[a]] != impact[cls[b]]) return impact[cls[a]] > impact[cls[b]];
      return cls[a] < cls[b];
    });
    // Tail table: the groups whose cheapest deviation from the Lagrangian choice costs least go
    // last, and every combination of their candidates that could still beat the cutoff (sum of
    // reduced costs below the gap) is listed once, by cost. A leaf of the depth-first search over
    // the other groups then takes the cheapest listed combination that fits its remaining
    // budgets. Cheap deviations are what multiply the depth-first search (it enumerates every
    // subset of them whose reduced costs fit the gap); the table enumerates them once.
    tail_cost_.clear();
    tail_use_.clear();
    tail_pick_.clear();
    tail_groups_.clear();
    std::size_t head = order.size();
    bool equality = false;
    for (std::size_t k = 0; k < r_; ++k) equality = equality || (std::isfinite(lo_[k]) && lo_[k] == hi_[k]);
    if (use_tail_ && !equality && order.size() >= 2) {
      std::vector<std::size_t> by_key = order;
      std::stable_sort(by_key.begin(), by_key.end(), [&](std::size_t a, std::size_t b) {
        const double ka = rc(a, cands[a][1]), kb = rc(b, cands[b][1]);
        if (ka != kb) return ka < kb;
        return cls[a] < cls[b];
      });
      const double room = cutoff() - lag_bound - base_rc + lag_slack;
      // Combinations in the order the groups are added (the last added goes first in the order).
      std::vector<double> t_cost(1, 0.0), t_rc(1, 0.0), t_use(r_, 0.0);
      std::vector<std::uint32_t> t_pick, t_first(1, 0);
      std::vector<double> n_cost, n_rc, n_use;
      std::vector<std::uint32_t> n_pick, n_first;
      std::size_t m = 0;
      for (const std::size_t g : by_key) {
        if (m + 1 >= order.size()) break;
        const bool same = m > 0 && cls[g] == cls[tail_groups_.back()];
        n_cost.clear();
        n_rc.clear();
        n_use.clear();
        n_pick.clear();
        n_first.clear();
        bool over = false;
        for (std::size_t q = 0; q < t_cost.size() && !over; ++q) {
          for (std::size_t t = 0; t < cands[g].size(); ++t) {
            if (same && t > t_first[q]) break;
            const std::size_t c = cands[g][t];
            const double nrc = t_rc[q] + rc(g, c);
            if (!(nrc < room)) break;  // candidates sorted by reduced cost
            n_cost.push_back(t_cost[q] + cost(g, c));
            n_rc.push_back(nrc);
            for (std::size_t k = 0; k < r_; ++k) n_use.push_back(t_use[q * r_ + k] + use(g, c, k));
            n_pick.insert(n_pick.end(), t_pick.begin() + static_cast<std::ptrdiff_t>(q * m),
                          t_pick.begin() + static_cast<std::ptrdiff_t>((q + 1) * m));
            n_pick.push_back(static_cast<std::uint32_t>(t));
            n_first.push_back(static_cast<std::uint32_t>(t));
          }
          over = n_cost.size() > mckp_tail_combinations;
        }
        if (over) break;
        t_cost.swap(n_cost);
        t_rc.swap(n_rc);
        t_use.swap(n_use);
        t_pick.swap(n_pick);
        t_first.swap(n_first);
        tail_groups_.push_back(g);
        ++m;
        if (t_cost.empty()) break;
      }
      if (m > 0) {
        std::vector<bool> in_tail(ng, false);
        for (const std::size_t g : tail_groups_) in_tail[g] = true;
        std::vector<std::size_t> reordered;
        // Head: costliest deviations first, so the depth-first search branches little near the
        // root and the subsets of cheap deviations it enumerates share long prefixes.
        for (std::size_t q = by_key.size(); q-- > 0;)
          if (!in_tail[by_key[q]]) reordered.push_back(by_key[q]);
        head = reordered.size();
        for (std::size_t q = m; q-- > 0;) reordered.push_back(tail_groups_[q]);
        order.swap(reordered);
        // A k-d tree over the uses (see tail_query); picks stored by tail position (order[head + j]).
        std::vector<std::size_t> idx(t_cost.size());
        std::iota(idx.begin(), idx.end(), std::size_t{0});
        kd_.clear();
        kd_lo_.clear();
        kd_hi_.clear();
        kd_build(idx, 0, idx.size(), t_cost, t_use);
        for (const std::size_t q : idx) {
          tail_cost_.push_back(t_cost[q]);
          for (std::size_t k = 0; k < r_; ++k) tail_use_.push_back(t_use[q * r_ + k]);
          for (std::size_t j = 0; j < m; ++j) tail_pick_.push_back(t_pick[q * m + (m - 1 - j)]);
        }
      }
    }
    const std::size_t depth = order.size();
    if (!best_.empty() && !use_tail_) pair_exchange(cands, order);  // once per solve: in the first search

    // Equality budgets: every total is an integer multiple of the data's common decimal/binary
    // unit, and the choices of the free groups can only move it by multiples of the gcd of their
    // differences. A target off that lattice is unreachable; this settles near-miss equalities
    // (and parity-like structure) without enumeration.
    std::vector<modular_row> mods;
    for (std::size_t k = 0; k < r_; ++k) {
      if (!(std::isfinite(lo_[k]) && lo_[k] == hi_[k])) continue;
      const exact_number elo = exact_budget(k, false), ehi = exact_budget(k, true);
      if (!(elo == ehi)) continue;
      int e2 = 0, e5 = 0;
      bool first = true;
      for (std::size_t g = 0; g < ng; ++g)
        for (auto c : cands[g]) {
          const exact_number& v = exact_use(g, c, k);
          if (v.is_zero()) continue;
          e2 = first ? v.exp2() : std::min(e2, v.exp2());
          e5 = first ? v.exp5() : std::min(e5, v.exp5());
          first = false;
        }
      const std::int64_t limit = (std::int64_t{1} << 62) / static_cast<std::int64_t>(ng + 2);
      modular_row m;
      m.val.assign(ng, {});
      bool ok = true;
      for (std::size_t g = 0; g < ng && ok; ++g) {
        m.val[g].assign(p_.groups[g].costs.size(), 0);
        for (auto c : cands[g]) ok = ok && exact_use(g, c, k).scaled_to_int64(e2, e5, m.val[g][c], limit);
      }
      if (!ok) continue;
      if (!ehi.scaled_to_int64(e2, e5, m.target, limit)) {
        // Off the unit lattice (or out of range): unreachable if it is a finer value in range.
        if (ehi.is_zero() || ehi.exp2() < e2 || ehi.exp5() < e5) {
          finish_search(res, status::optimal, infinity);
          return;
        }
        continue;
      }
      m.suf_ref.assign(depth + 1, 0);
      m.suf_gcd.assign(depth + 1, 0);
      for (std::size_t d = depth; d-- > 0;) {
        const std::size_t g = order[d];
        const std::int64_t ref = m.val[g][cands[g][0]];
        std::int64_t gg = m.suf_gcd[d + 1];
        for (auto c : cands[g]) gg = gcd_i64(gg, m.val[g][c] - ref);
        m.suf_ref[d] = m.suf_ref[d + 1] + ref;
        m.suf_gcd[d] = gg;
      }
      m.acc.assign(depth + 1, 0);
      for (std::size_t g = 0; g < ng; ++g)
        if (cands[g].size() == 1) m.acc[0] += m.val[g][cands[g][0]];
      if (!m.reachable(0, m.acc[0])) {
        finish_search(res, status::optimal, infinity);
        return;
      }
      mods.push_back(std::move(m));
    }

    // Per-depth suffix data: min/max use for budget pruning and the merged hull segments.
    std::vector<double> suf_min((depth + 1) * r_, 0.0), suf_max((depth + 1) * r_, 0.0);
    for (std::size_t d = depth; d-- > 0;) {
      const std::size_t g = order[d];
      for (std::size_t k = 0; k < r_; ++k) {
        double a = infinity, b = -infinity;
        for (auto c : cands[g]) {
          a = std::min(a, use(g, c, k));
          b = std::max(b, use(g, c, k));
        }
        suf_min[d * r_ + k] = suf_min[(d + 1) * r_ + k] + a;
        suf_max[d * r_ + k] = suf_max[(d + 1) * r_ + k] + b;
      }
    }
    // Surrogate bounds: the multiplier direction, and each budget on its own (which catches the
    // subtrees where one budget binds harder than the multipliers foresaw). A node's bound is
    // the largest of their LP values.
    std::vector<surrogate_bound> sur;
    sur.push_back(build_surrogate(sigma_, cands, order));
    for (std::size_t k = 0; k < r_; ++k) {
      std::vector<double> mu(r_, 0.0);
      if (std::isfinite(hi_[k])) {
        mu[k] = 1.0;
        sur.push_back(build_surrogate(mu, cands, order));
      }
      if (std::isfinite(lo_[k])) {
        mu[k] = -1.0;
        sur.push_back(build_surrogate(mu, cands, order));
      }
    }
    // Mixed directions: the multipliers with one budget's weight doubled or halved (skipped when
    // the suffix tables would be large: each direction costs depth x segments breakpoints).
    std::size_t cand_total = 0;
    for (const std::size_t g : order) cand_total += cands[g].size();
    const bool mixed = depth * cand_total <= 4'000'000;
    for (std::size_t k = 0; k < r_ && r_ > 1 && mixed; ++k) {
      if (sigma_[k] == 0.0) continue;
      for (const double f : {0.5, 2.0}) {
        std::vector<double> mu = sigma_;
        mu[k] *= f;
        sur.push_back(build_surrogate(mu, cands, order));
      }
    }
    const std::size_t ns = sur.size();
    std::vector<double> base_ws(ns, 0.0);
    for (std::size_t s = 0; s < ns; ++s)
      for (std::size_t g = 0; g < ng; ++g)
        if (cands[g].size() == 1) base_ws[s] += sur[s].w[g][cands[g][0]];
    const double bound_slack = 1e-12 * (cost_scale_ + 1.0);

    // Root bound.
    double root_bound = -infinity;
    for (std::size_t t = 0; t < ns; ++t) root_bound = std::max(root_bound, base_cost + sur[t].eval(0, base_ws[t]));
    root_bound = std::max(root_bound, lag_bound + base_rc);
    res.bound = root_bound;
    for (std::size_t k = 0; k < r_; ++k) {
      if (base_use[k] + suf_min[k] > hi_[k] + margin_[k] || base_use[k] + suf_max[k] < lo_[k] - margin_[k]) {
        finish_search(res, status::optimal, root_bound);
        return;
      }
    }
    if (root_bound - bound_slack >= cutoff()) {
      finish_search(res, status::optimal, root_bound);
      return;
    }

    // Iterative DFS. Level d chooses for group order[d]; its children are tried in order of
    // their bound (best first), so good plans turn up early and prune the rest.
    std::vector<std::size_t> pick(depth + 1, 0), kpos(depth + 1, 0);
    std::vector<std::vector<std::pair<double, std::size_t>>> kids(depth + 1);
    std::vector<double> acc_cost(depth + 1), acc_w((depth + 1) * ns), acc_rc(depth + 1), acc_use((depth + 1) * r_);
    acc_cost[0] = base_cost;
    for (std::size_t s = 0; s < ns; ++s) acc_w[s] = base_ws[s];
    acc_rc[0] = base_rc;
    for (std::size_t k = 0; k < r_; ++k) acc_use[k] = base_use[k];
    std::vector<std::size_t> choice = fixed_choice;
    std::size_t nodes = 0;
    status stop = status::optimal;
    std::vector<double> u1(r_);
    // Child (lvl, t) checks: budgets, lattice, surrogate bounds. Returns its bound, or infinity.
    auto child_bound = [&](std::size_t lvl, std::size_t t) -> double {
      const std::size_t g = order[lvl], c = cands[g][t];
      for (std::size_t k = 0; k < r_; ++k) {
        u1[k] = acc_use[lvl * r_ + k] + use(g, c, k);
        if (u1[k] + suf_min[(lvl + 1) * r_ + k] > hi_[k] + margin_[k] ||
            u1[k] + suf_max[(lvl + 1) * r_ + k] < lo_[k] - margin_[k])
          return infinity;
      }
      for (const auto& m : mods)
        if (!m.reachable(lvl + 1, m.acc[lvl] + m.val[g][c])) return infinity;
      const double ncost = acc_cost[lvl] + cost(g, c);
      double b = lag_bound + acc_rc[lvl] + rc(g, c);
      for (std::size_t s = 0; s < ns; ++s) b = std::max(b, ncost + sur[s].eval(lvl + 1, acc_w[lvl * ns + s] + sur[s].w[g][c]));
      return b;
    };
    auto expand = [&](std::size_t lvl) {
      kids[lvl].clear();
      kpos[lvl] = 0;
      const std::size_t g = order[lvl];
      const std::size_t start = lvl > 0 && cls[g] == cls[order[lvl - 1]] ? pick[lvl - 1] : 0;
      const double cut = cutoff() + bound_slack;
      for (std::size_t t = start; t < cands[g].size(); ++t) {
        // Candidates are sorted by reduced cost: once the Lagrangian bound fails, all later do.
        if (lag_bound + acc_rc[lvl] + rc(g, cands[g][t]) - lag_slack >= cutoff()) break;
        const double b = child_bound(lvl, t);
        if (b < cut) kids[lvl].push_back({b, t});
      }
      std::stable_sort(kids[lvl].begin(), kids[lvl].end(),
                       [](const auto& x, const auto& y) { return x.first < y.first; });
    };
    std::size_t d = 0;
    const std::size_t m = depth - head;
    std::vector<double> uu(r_);
    std::vector<std::size_t> kd_stack;
    if (head > 0) expand(0);
    for (;;) {
      if (d == head) {
        // Leaf of the head: the cheapest tail combination that fits (all of them when m = 0:
        // the one empty combination).
        const double* u = &acc_use[d * r_];
        for (std::size_t t = 0; t < head; ++t) choice[order[t]] = cands[order[t]][pick[t]];
        if (m == 0) {
          const int f = float_feasibility(u);
          if (f >= 0 && acc_cost[d] < incumbent_ && (f == 1 || exactly_feasible(choice))) {
            incumbent_ = acc_cost[d];
            best_ = choice;
          }
        } else {
          tail_query(acc_cost[d], u, order, cands, head, choice, uu, kd_stack);
        }
        if (d == 0) break;
        --d;
        continue;
      }
      bool descended = false;
      while (kpos[d] < kids[d].size()) {
        const auto [b, t] = kids[d][kpos[d]++];
        if (b >= cutoff() + bound_slack) {
          kpos[d] = kids[d].size();  // sorted by bound: the rest cannot win either
          break;
        }
        const std::size_t g = order[d], c = cands[g][t];
        for (std::size_t k = 0; k < r_; ++k) acc_use[(d + 1) * r_ + k] = acc_use[d * r_ + k] + use(g, c, k);
        for (auto& m : mods) m.acc[d + 1] = m.acc[d] + m.val[g][c];
        for (std::size_t s = 0; s < ns; ++s) acc_w[(d + 1) * ns + s] = acc_w[d * ns + s] + sur[s].w[g][c];
        acc_cost[d + 1] = acc_cost[d] + cost(g, c);
        acc_rc[d + 1] = acc_rc[d] + rc(g, c);
        pick[d] = t;
        ++d;
        if (d < head) expand(d);
        descended = true;
        break;
      }
      if (descended) {
        ++nodes;
        if (nodes_before + nodes >= opt_.node_limit) {
          stop = status::node_limit;
          break;
        }
        if (nodes >= probe_budget_) {
          stop = status::node_limit;
          probe_hit_ = true;
          break;
        }
        if ((nodes & 1023) == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count() > opt_.time_limit_seconds) {
          stop = status::time_limit;
          break;
        }
        continue;
      }
      if (d == 0) break;
      --d;
    }
    res.nodes += nodes;
    finish_search(res, stop, root_bound);
  }

  // k-d tree over the tail combinations' uses: each node has the bounding box of its uses and
  // its least cost; leaves hold up to 8 combinations. kd_build permutes idx into tree order.
  struct kd_node {
    std::size_t begin, end;
    std::size_t left, right;  // 0 for a leaf (the root is never a child)
    double min_cost;
  };

  std::size_t kd_build(std::vector<std::size_t>& idx, std::size_t b, std::size_t e, const std::vector<double>& tc,
                       const std::vector<double>& tu) {
    const std::size_t id = kd_.size();
    kd_.push_back({b, e, 0, 0, infinity});
    kd_lo_.resize(kd_lo_.size() + r_, infinity);
    kd_hi_.resize(kd_hi_.size() + r_, -infinity);
    double mc = infinity;
    for (std::size_t i = b; i < e; ++i) {
      const std::size_t q = idx[i];
      mc = std::min(mc, tc[q]);
      for (std::size_t k = 0; k < r_; ++k) {
        kd_lo_[id * r_ + k] = std::min(kd_lo_[id * r_ + k], tu[q * r_ + k]);
        kd_hi_[id * r_ + k] = std::max(kd_hi_[id * r_ + k], tu[q * r_ + k]);
      }
    }
    kd_[id].min_cost = mc;
    if (e - b <= 8) return id;
    std::size_t dim = 0;
    double spread = -1;
    for (std::size_t k = 0; k < r_; ++k) {
      const double sp = (kd_hi_[id * r_ + k] - kd_lo_[id * r_ + k]) / (margin_[k] / 1e-11);
      if (sp > spread) {
        spread = sp;
        dim = k;
      }
    }
    const std::size_t mid = b + (e - b) / 2;
    std::nth_element(idx.begin() + static_cast<std::ptrdiff_t>(b), idx.begin() + static_cast<std::ptrdiff_t>(mid),
                     idx.begin() + static_cast<std::ptrdiff_t>(e),
                     [&](std::size_t x, std::size_t y) { return tu[x * r_ + dim] < tu[y * r_ + dim]; });
    const std::size_t l = kd_build(idx, b, mid, tc, tu);
    const std::size_t rr = kd_build(idx, mid, e, tc, tu);
    kd_[id].left = l;
    kd_[id].right = rr;
    return id;
  }

  // The cheapest tail combination that completes a head leaf (fixed cost `base`, uses `u`)
  // into a plan cheaper than the incumbent and inside every budget: branch-and-bound over the
  // k-d tree (a subtree is skipped when its least cost cannot win or its box is clearly outside
  // a budget, judged with the same margins as float_feasibility, so nothing feasible is lost).
  void tail_query(double base, const double* u, const std::vector<std::size_t>& order,
                  const std::vector<std::vector<std::size_t>>& cands, std::size_t head, std::vector<std::size_t>& choice,
                  std::vector<double>& uu, std::vector<std::size_t>& stack) {
    const std::size_t m = order.size() - head;
    double limit = incumbent_ - base;  // a combination must cost less than this
    std::size_t found = tail_cost_.size();
    stack.clear();
    stack.push_back(0);
    while (!stack.empty()) {
      const std::size_t n = stack.back();
      stack.pop_back();
      const kd_node& nd = kd_[n];
      if (!(nd.min_cost < limit)) continue;
      bool out = false;
      for (std::size_t k = 0; k < r_ && !out; ++k)
        out = u[k] + kd_lo_[n * r_ + k] > hi_[k] + margin_[k] || u[k] + kd_hi_[n * r_ + k] < lo_[k] - margin_[k];
      if (out) continue;
      if (nd.left != 0) {
        // Cheaper child last, so it is searched first.
        if (kd_[nd.left].min_cost < kd_[nd.right].min_cost) {
          stack.push_back(nd.right);
          stack.push_back(nd.left);
        } else {
          stack.push_back(nd.left);
          stack.push_back(nd.right);
        }
        continue;
      }
      for (std::size_t q = nd.begin; q < nd.end; ++q) {
        if (!(tail_cost_[q] < limit)) continue;
        for (std::size_t k = 0; k < r_; ++k) uu[k] = u[k] + tail_use_[q * r_ + k];
        const int f = float_feasibility(uu.data());
        if (f < 0) continue;
        if (f == 0) {
          for (std::size_t j = 0; j < m; ++j) choice[order[head + j]] = cands[order[head + j]][tail_pick_[q * m + j]];
          if (!exactly_feasible(choice)) continue;
        }
        limit = tail_cost_[q];
        found = q;
      }
    }
    if (found == tail_cost_.size()) return;
    for (std::size_t j = 0; j < m; ++j) choice[order[head + j]] = cands[order[head + j]][tail_pick_[found * m + j]];
    incumbent_ = base + tail_cost_[found];
    best_ = choice;
  }

  void finish_search(mckp_result& res, status st, double bound) {
    res.status = st;
    res.bound = bound;
  }

  bool same_exact(std::size_t a, std::size_t b, const std::vector<std::vector<std::size_t>>& cands) {
    const auto& ga = p_.groups[a];
    const auto& gb = p_.groups[b];
    if (ga.exact_costs.empty() && gb.exact_costs.empty() && ga.exact_uses.empty() && gb.exact_uses.empty())
      return true;  // the doubles are the exact values and already compared equal
    for (std::size_t t = 0; t < cands[a].size(); ++t) {
      const std::size_t ca = cands[a][t], cb = cands[b][t];
      const exact_number xa = ca < ga.exact_costs.size() ? ga.exact_costs[ca] : exact_number::from_double(ga.costs[ca]);
      const exact_number xb = cb < gb.exact_costs.size() ? gb.exact_costs[cb] : exact_number::from_double(gb.costs[cb]);
      if (!(xa == xb)) return false;
      for (std::size_t k = 0; k < r_; ++k)
        if (!(exact_use(a, ca, k) == exact_use(b, cb, k))) return false;
    }
    return true;
  }

  static std::int64_t gcd_i64(std::int64_t a, std::int64_t b) {
    a = a < 0 ? -a : a;
    b = b < 0 ? -b : b;
    while (b) {
      const std::int64_t t = a % b;
      a = b;
      b = t;
    }
    return a;
  }

  // An equality budget in integer units (see search()).
  struct modular_row {
    std::int64_t target = 0;
    std::vector<std::vector<std::int64_t>> val;   // [group][choice]
    std::vector<std::int64_t> suf_ref, suf_gcd;   // per depth: sum of reference values, gcd of moves
    std::vector<std::int64_t> acc;                // per depth: fixed total
    bool reachable(std::size_t d, std::int64_t fixed) const {
      const std::int64_t rest = target - fixed - suf_ref[d];
      return suf_gcd[d] == 0 ? rest == 0 : rest % suf_gcd[d] == 0;
    }
  };

  struct segment {
    double dw, dc, slope;
  };

  // The LP relaxation of "one choice per group, sum of w <= capacity" for every suffix of the
  // group order, as cumulative breakpoints of the merged hull segments (see the file comment).
  struct surrogate_bound {
    std::vector<std::vector<double>> w;  // [group][choice] weight
    double capacity = 0, margin = 0;
    std::vector<double> left_w, left_c;  // per depth: sum of the leftmost hull points
    std::vector<std::size_t> off;
    std::vector<double> bw, bc;
    // LP value of the free suffix from depth d with `used` weight already fixed.
    double eval(std::size_t d, double used) const {
      // One margin of extra room keeps the bound conservative under rounding.
      const double room = capacity - used - left_w[d] + margin;
      if (room < 0) return infinity;
      const double* pw = &bw[off[d]];
      const double* pc = &bc[off[d]];
      const std::size_t cnt = off[d + 1] - off[d];
      const std::size_t t = static_cast<std::size_t>(std::upper_bound(pw, pw + cnt, room) - pw) - 1;
      double v = pc[t];
      if (t + 1 < cnt) v += (pc[t + 1] - pc[t]) * ((room - pw[t]) / (pw[t + 1] - pw[t]));
      return left_c[d] + v;
    }
  };

  surrogate_bound build_surrogate(const std::vector<double>& mu, const std::vector<std::vector<std::size_t>>& cands,
                                  const std::vector<std::size_t>& order) const {
    surrogate_bound sb;
    const std::size_t ng = p_.groups.size(), depth = order.size();
    sb.w.resize(ng);
    double scale = 0;
    for (std::size_t k = 0; k < r_; ++k) {
      if (mu[k] > 0) sb.capacity += mu[k] * hi_[k];
      if (mu[k] < 0) sb.capacity += mu[k] * lo_[k];
      scale += std::fabs(mu[k]) * (margin_[k] / 1e-11);
    }
    for (std::size_t g = 0; g < ng; ++g) {
      sb.w[g].assign(p_.groups[g].costs.size(), 0.0);
      for (auto c : cands[g]) {
        double v = 0;
        for (std::size_t k = 0; k < r_; ++k)
          if (mu[k] != 0.0) v += mu[k] * use(g, c, k);
        sb.w[g][c] = v;
      }
    }
    sb.margin = 1e-10 * scale + 1e-300;
    sb.left_w.assign(depth + 1, 0.0);
    sb.left_c.assign(depth + 1, 0.0);
    std::vector<std::vector<segment>> hulls(depth);
    for (std::size_t d = depth; d-- > 0;) {
      double lw, lc;
      hulls[d] = lower_hull(sb.w[order[d]], order[d], cands[order[d]], lw, lc);
      sb.left_w[d] = sb.left_w[d + 1] + lw;
      sb.left_c[d] = sb.left_c[d + 1] + lc;
    }
    std::vector<segment> cur, next;
    std::vector<std::vector<double>> ws(depth + 1), cs(depth + 1);
    ws[depth] = {0.0};
    cs[depth] = {0.0};
    for (std::size_t d = depth; d-- > 0;) {
      next.clear();
      std::merge(cur.begin(), cur.end(), hulls[d].begin(), hulls[d].end(), std::back_inserter(next),
                 [](const segment& a, const segment& b) { return a.slope < b.slope; });
      cur.swap(next);
      ws[d].assign(cur.size() + 1, 0.0);
      cs[d].assign(cur.size() + 1, 0.0);
      for (std::size_t t = 0; t < cur.size(); ++t) {
        ws[d][t + 1] = ws[d][t] + cur[t].dw;
        cs[d][t + 1] = cs[d][t] + cur[t].dc;
      }
    }
    sb.off.assign(depth + 2, 0);
    for (std::size_t d = 0; d <= depth; ++d) sb.off[d + 1] = sb.off[d] + ws[d].size();
    sb.bw.reserve(sb.off[depth + 1]);
    sb.bc.reserve(sb.off[depth + 1]);
    for (std::size_t d = 0; d <= depth; ++d) {
      sb.bw.insert(sb.bw.end(), ws[d].begin(), ws[d].end());
      sb.bc.insert(sb.bc.end(), cs[d].begin(), cs[d].end());
    }
    return sb;
  }
  struct column {
    double cost;
    std::vector<double> use;
  };

  // Lower-left convex hull of a group's (weight, cost) points: the part of the hull that an LP
  // minimising cost under a weight cap can use. Returns its segments (increasing slope, all
  // negative) and the leftmost point.
  std::vector<segment> lower_hull(const std::vector<double>& wg, std::size_t g, const std::vector<std::size_t>& cs,
                                  double& left_w, double& left_c) const {
    struct pt {
      double w, c;
    };
    std::vector<pt> pts;
    for (auto c : cs) pts.push_back({wg[c], cost(g, c)});
    std::sort(pts.begin(), pts.end(), [](const pt& a, const pt& b) { return a.w < b.w || (a.w == b.w && a.c < b.c); });
    std::vector<pt> h;
    for (const pt& q : pts) {
      if (!h.empty() && q.c >= h.back().c) continue;
      while (h.size() >= 2) {
        const pt& o = h[h.size() - 2];
        const pt& a = h.back();
        const double cross = (a.w - o.w) * (q.c - o.c) - (a.c - o.c) * (q.w - o.w);
        if (cross <= 0) h.pop_back();
        else break;
      }
      h.push_back(q);
    }
    left_w = h.front().w;
    left_c = h.front().c;
    std::vector<segment> segs;
    for (std::size_t t = 1; t < h.size(); ++t) {
      const double dw = h[t].w - h[t - 1].w, dc = h[t].c - h[t - 1].c;
      if (dw > 0 && dc < 0) segs.push_back({dw, dc, dc / dw});
    }
    return segs;
  }

  const mckp_problem& p_;
  std::size_t r_;
  mckp_options opt_;
  const std::vector<mckp_budget>* budgets_ = nullptr;
  std::chrono::steady_clock::time_point t0_;
  std::vector<double> lo_, hi_, margin_, sigma_;
  double cost_scale_ = 0;
  std::vector<std::vector<std::size_t>> cand_;
  std::vector<column> columns_;
  double incumbent_ = infinity;
  double level_ = infinity;  // artificial cutoff of the deepening search
  bool use_tail_ = false;      // the deepening rounds build the tail table
  bool probe_hit_ = false;     // the first (plain) search ran out of its node budget
  std::size_t probe_budget_ = std::numeric_limits<std::size_t>::max();
  std::vector<double> tail_cost_, tail_use_;         // tail combinations by cost, their uses
  std::vector<std::uint32_t> tail_pick_;             // [combination][tail position] candidate index
  std::vector<std::size_t> tail_groups_;
  std::vector<kd_node> kd_;
  std::vector<double> kd_lo_, kd_hi_;
  std::vector<std::size_t> best_;
  std::vector<std::optional<exact_number>> exact_use_;
  std::vector<std::size_t> exact_off_;
};

}  // namespace detail

/// Solves a multiple-choice knapsack exactly (see the file comment for the method).
inline mckp_result solve_mckp(const mckp_problem& p, const mckp_options& opt = {}) {
  if (!validate(p).empty()) {
    mckp_result r;
    r.status = status::invalid_input;
    return r;
  }
  detail::mckp_engine e(p);
  return e.solve(p.budgets, opt);
}

}  // namespace ohq::solver

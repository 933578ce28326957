// SPDX-License-Identifier: MIT
/// @file Defines the dense bounded-variable simplex (primal with composite phase 1, dual for re-solves).
///
/// Form: rows are `A x - r = 0` with one logical variable r_i per row carrying the row's range,
/// so every constraint kind (<=, >=, =, ranges) and every variable bound is a bound on some
/// variable. The tableau T = B^-1 [A | -I] is kept dense: the solver serves bit-allocation
/// problems of a few hundred rows, where a dense row operation is a tight vectorised loop.
#pragma once

#include <ohq/solver/problem.hpp>
#include <ohq/solver/status.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace ohq::solver {
namespace detail {

/// A dense LP in range form: minimise cost·x, row_lo <= A x <= row_up, col_lo <= x <= col_up.
struct lp_data {
  std::size_t rows = 0, cols = 0;
  std::vector<double> a;  ///< row-major rows × cols
  std::vector<double> col_lo, col_up, row_lo, row_up, cost;
};

/// A basis to warm-start from: which variable is basic in each row, and which nonbasic
/// variables sit at their upper bound.
struct basis_snapshot {
  std::vector<std::uint32_t> head;
  std::vector<bool> at_upper;
};

/// Rounds to the nearest power of two so scaling never perturbs a coefficient.
inline double pow2_round(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1.0;
  int e = 0;
  (void)std::frexp(v, &e);
  return std::ldexp(1.0, e - 1);
}

/// Tolerances and anti-cycling parameters of `dense_simplex`.
struct simplex_settings {
  double feasibility_tolerance = 1e-9;
  double optimality_tolerance = 1e-9;
  double pivot_tolerance = 1e-9;
  std::size_t degenerate_before_bland = 40;  ///< consecutive degenerate pivots before Bland's rule
  std::size_t refresh_every = 50;            ///< pivots between accuracy checks
};

/// Dense bounded-variable simplex on T = B^-1 [A | -I] (see the file comment).
class dense_simplex {
 public:

  dense_simplex() = default;

  /// Loads an LP, scales it by powers of two and starts from the all-logical basis.
  void load(const lp_data& lp, const simplex_settings& s = {}) {
    set_ = s;
    m_ = lp.rows;
    n_ = lp.cols;
    nt_ = n_ + m_;
    a_ = lp.a;
    compute_scaling(lp);
    lo_.assign(nt_, 0.0);
    up_.assign(nt_, 0.0);
    cost_.assign(nt_, 0.0);
    for (std::size_t j = 0; j < n_; ++j) {
      lo_[j] = lp.col_lo[j] / cs_[j];
      up_[j] = lp.col_up[j] / cs_[j];
      cost_[j] = lp.cost[j] * cs_[j];
    }
    double cmax = 0;
    for (std::size_t j = 0; j < n_; ++j) cmax = std::max(cmax, std::fabs(cost_[j]));
    obj_scale_ = cmax > 0 ? 1.0 / pow2_round(cmax) : 1.0;
    for (std::size_t j = 0; j < n_; ++j) cost_[j] *= obj_scale_;
    for (std::size_t i = 0; i < m_; ++i) {
      lo_[n_ + i] = lp.row_lo[i] * rs_[i];
      up_[n_ + i] = lp.row_up[i] * rs_[i];
    }
    head_.resize(m_);
    for (std::size_t i = 0; i < m_; ++i) head_[i] = static_cast<std::uint32_t>(n_ + i);
    x_.assign(nt_, 0.0);
    for (std::size_t j = 0; j < n_; ++j) x_[j] = initial_value(j);
    rebuild_from_head();
  }

  std::size_t rows() const noexcept { return m_; }
  std::size_t cols() const noexcept { return n_; }
  std::size_t iterations() const noexcept { return iterations_; }

  /// Changes a structural variable's bounds (original units). A nonbasic variable moves to the
  /// new bound; a basic one may become infeasible, which the dual simplex then repairs.
  void set_col_bounds(std::size_t j, double lo, double up) {
    const double nl = lo / cs_[j], nu = up / cs_[j];
    const bool was_upper = std::isfinite(up_[j]) && x_[j] == up_[j] && x_[j] != lo_[j];
    lo_[j] = nl;
    up_[j] = nu;
    if (pos_[j] < 0) {
      double nv;
      if (was_upper)
        nv = std::isfinite(nu) ? nu : (std::isfinite(nl) ? nl : 0.0);
      else
        nv = std::isfinite(nl) ? nl : (std::isfinite(nu) ? nu : 0.0);
      shift_nonbasic(j, nv);
    }
  }
  double col_lo(std::size_t j) const { return lo_[j] * cs_[j]; }
  double col_up(std::size_t j) const { return up_[j] * cs_[j]; }

  /// Primal simplex from the current basis: composite phase 1 then phase 2.
  status solve_primal(std::size_t iteration_limit) { return primal(iteration_limit); }

  /// Dual simplex when the basis is dual feasible (after bound changes), else the primal; the
  /// primal always finishes so tolerance drift never leaves a wrong status.
  status solve(std::size_t iteration_limit) {
    if (dual_feasible()) {
      const status s = dual(iteration_limit);
      if (s == status::infeasible || s == status::iteration_limit) {
        if (s == status::infeasible && confirm_dual_infeasible()) return s;
        if (s == status::iteration_limit && iterations_ >= iteration_limit) return s;
      }
    }
    return primal(iteration_limit);
  }

  /// The objective in original units (minimisation form).
  double objective() const {
    long double v = 0;
    for (std::size_t j = 0; j < n_; ++j) v += static_cast<long double>(cost_[j]) * x_[j];
    return static_cast<double>(v / obj_scale_);
  }
  /// The value of structural variable j in original units.
  double value(std::size_t j) const { return x_[j] * cs_[j]; }
  std::vector<double> primal_values() const {
    std::vector<double> v(n_);
    for (std::size_t j = 0; j < n_; ++j) v[j] = value(j);
    return v;
  }
  bool is_basic(std::size_t j) const { return pos_[j] >= 0; }
  /// The shadow price of row i (d objective / d row bound, original units) at the current basis.
  double row_dual(std::size_t i) {
    if (!costs_valid_) {
      compute_reduced_costs(cost_);
      costs_valid_ = true;
    }
    return d_[n_ + i] * rs_[i] / obj_scale_;
  }

  basis_snapshot save_basis() const {
    basis_snapshot b;
    b.head = head_;
    b.at_upper.assign(nt_, false);
    for (std::size_t j = 0; j < nt_; ++j)
      if (pos_[j] < 0 && std::isfinite(up_[j]) && x_[j] == up_[j] && up_[j] != lo_[j]) b.at_upper[j] = true;
    return b;
  }

  /// Re-factorises the given basis against the current bounds.
  void restore_basis(const basis_snapshot& b) {
    head_ = b.head;
    for (std::size_t j = 0; j < nt_; ++j) {
      if (b.at_upper[j] && std::isfinite(up_[j]))
        x_[j] = up_[j];
      else
        x_[j] = initial_value(j);
    }
    rebuild_from_head();
  }

 private:
  // ---------------------------------------------------------------- scaling
  void compute_scaling(const lp_data& lp) {
    rs_.assign(m_, 1.0);
    cs_.assign(n_, 1.0);
    // Geometric-mean passes, then row equilibration, all in powers of two (exact).
    for (int pass = 0; pass < 4; ++pass) {
      for (std::size_t i = 0; i < m_; ++i) {
        double mn = infinity, mx = 0;
        for (std::size_t j = 0; j < n_; ++j) {
          const double v = std::fabs(lp.a[i * n_ + j]) * rs_[i] * cs_[j];
          if (v > 0) {
            mn = std::min(mn, v);
            mx = std::max(mx, v);
          }
        }
        if (mx > 0) rs_[i] *= pow2_round(1.0 / std::sqrt(mn * mx));
      }
      for (std::size_t j = 0; j < n_; ++j) {
        double mn = infinity, mx = 0;
        for (std::size_t i = 0; i < m_; ++i) {
          const double v = std::fabs(lp.a[i * n_ + j]) * rs_[i] * cs_[j];
          if (v > 0) {
            mn = std::min(mn, v);
            mx = std::max(mx, v);
          }
        }
        if (mx > 0) cs_[j] *= pow2_round(1.0 / std::sqrt(mn * mx));
      }
    }
    for (std::size_t i = 0; i < m_; ++i) {
      double mx = 0;
      for (std::size_t j = 0; j < n_; ++j) mx = std::max(mx, std::fabs(lp.a[i * n_ + j]) * rs_[i] * cs_[j]);
      if (mx > 0) rs_[i] /= pow2_round(mx);
    }
    for (std::size_t i = 0; i < m_; ++i)
      for (std::size_t j = 0; j < n_; ++j) a_[i * n_ + j] = lp.a[i * n_ + j] * rs_[i] * cs_[j];
  }

  double initial_value(std::size_t j) const {
    if (std::isfinite(lo_[j])) return lo_[j];
    if (std::isfinite(up_[j])) return up_[j];
    return 0.0;  // a free nonbasic variable rests at zero
  }

  double ftol(std::size_t j, bool upper) const {
    const double b = upper ? up_[j] : lo_[j];
    return set_.feasibility_tolerance * std::max(1.0, std::fabs(b));
  }
  bool below(std::size_t j) const { return x_[j] < lo_[j] - ftol(j, false); }
  bool above(std::size_t j) const { return x_[j] > up_[j] + ftol(j, true); }

  // ---------------------------------------------------------------- factorisation
  // Gauss-Jordan on [A | -I] with the columns in head_, partial pivoting by rows; a column that
  // turns out dependent is replaced by a logical so the basis is always nonsingular.
  void rebuild_from_head() {
    tab_.assign(m_ * nt_, 0.0);
    for (std::size_t i = 0; i < m_; ++i) {
      std::copy(a_.begin() + static_cast<std::ptrdiff_t>(i * n_),
                a_.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_),
                tab_.begin() + static_cast<std::ptrdiff_t>(i * nt_));
      tab_[i * nt_ + n_ + i] = -1.0;
    }
    std::vector<std::uint32_t> wanted = head_;
    std::vector<int> row_of(m_, -1);
    std::vector<bool> row_done(m_, false);
    std::vector<std::uint32_t> new_head(m_, 0);
    std::vector<bool> used(nt_, false);
    // Logicals first: their columns are unit vectors, which keeps the elimination cheap and stable.
    std::stable_sort(wanted.begin(), wanted.end(), [&](std::uint32_t p, std::uint32_t q) {
      return (p >= n_) > (q >= n_);
    });
    for (const std::uint32_t col : wanted) {
      std::size_t best = m_;
      double bv = 0;
      double cmax = 0;
      for (std::size_t i = 0; i < m_; ++i) cmax = std::max(cmax, std::fabs(tab_[i * nt_ + col]));
      for (std::size_t i = 0; i < m_; ++i) {
        if (row_done[i]) continue;
        const double v = std::fabs(tab_[i * nt_ + col]);
        if (v > bv) {
          bv = v;
          best = i;
        }
      }
      if (best == m_ || bv <= 1e-11 * std::max(1.0, cmax)) continue;  // dependent: replaced below
      eliminate(best, col);
      row_done[best] = true;
      new_head[best] = col;
      used[col] = true;
    }
    for (std::size_t i = 0; i < m_; ++i) {
      if (row_done[i]) continue;
      // Pick the unused column with the largest entry in this row, preferring logicals.
      std::size_t best = nt_;
      double bv = 0;
      for (std::size_t k = 0; k < nt_; ++k) {
        const std::size_t col = (k + n_) % nt_;
        if (used[col]) continue;
        const double v = std::fabs(tab_[i * nt_ + col]);
        if (v > bv * 1.0000001) {
          bv = v;
          best = col;
        }
      }
      eliminate(i, best);
      row_done[i] = true;
      new_head[i] = static_cast<std::uint32_t>(best);
      used[best] = true;
    }
    head_ = new_head;
    pos_.assign(nt_, -1);
    for (std::size_t i = 0; i < m_; ++i) pos_[head_[i]] = static_cast<int>(i);
    // Nonbasic variables that used to be basic go to a bound.
    for (std::size_t j = 0; j < nt_; ++j) {
      if (pos_[j] >= 0) continue;
      if (x_[j] < lo_[j] || x_[j] > up_[j] || (!std::isfinite(x_[j]))) x_[j] = initial_value(j);
      if (x_[j] != lo_[j] && x_[j] != up_[j] && (std::isfinite(lo_[j]) || std::isfinite(up_[j])))
        x_[j] = std::isfinite(lo_[j]) ? lo_[j] : up_[j];
    }
    since_refresh_ = 0;
    recompute_basic_values();
    costs_valid_ = false;
  }

  void eliminate(std::size_t r, std::size_t col) {
    double* tr = &tab_[r * nt_];
    const double inv = 1.0 / tr[col];
    for (std::size_t k = 0; k < nt_; ++k) tr[k] *= inv;
    tr[col] = 1.0;
    for (std::size_t i = 0; i < m_; ++i) {
      if (i == r) continue;
      double* ti = &tab_[i * nt_];
      const double f = ti[col];
      if (f == 0.0) continue;
      for (std::size_t k = 0; k < nt_; ++k) ti[k] -= f * tr[k];
      ti[col] = 0.0;
    }
  }

  void recompute_basic_values() {
    for (std::size_t i = 0; i < m_; ++i) {
      const double* ti = &tab_[i * nt_];
      long double s = 0;
      for (std::size_t j = 0; j < nt_; ++j)
        if (pos_[j] < 0 && x_[j] != 0.0) s -= static_cast<long double>(ti[j]) * x_[j];
      x_[head_[i]] = static_cast<double>(s);
    }
  }

  // Max |A x_struct - x_logical| relative to the row's magnitude: detects tableau drift.
  double residual() const {
    double worst = 0;
    for (std::size_t i = 0; i < m_; ++i) {
      long double s = 0, mag = 1;
      for (std::size_t j = 0; j < n_; ++j) {
        const long double t = static_cast<long double>(a_[i * n_ + j]) * x_[j];
        s += t;
        mag = std::max(mag, std::fabs(t));
      }
      worst = std::max(worst, static_cast<double>(std::fabs(s - x_[n_ + i]) / mag));
    }
    return worst;
  }

  void shift_nonbasic(std::size_t j, double nv) {
    const double delta = nv - x_[j];
    if (delta == 0.0) return;
    for (std::size_t i = 0; i < m_; ++i) x_[head_[i]] -= tab_[i * nt_ + j] * delta;
    x_[j] = nv;
  }

  // ---------------------------------------------------------------- pricing data
  void compute_reduced_costs(const std::vector<double>& c) {
    d_.assign(nt_, 0.0);
    for (std::size_t j = 0; j < nt_; ++j) d_[j] = c[j];
    for (std::size_t i = 0; i < m_; ++i) {
      const double cb = c[head_[i]];
      if (cb == 0.0) continue;
      const double* ti = &tab_[i * nt_];
      for (std::size_t j = 0; j < nt_; ++j) d_[j] -= cb * ti[j];
    }
    for (std::size_t i = 0; i < m_; ++i) d_[head_[i]] = 0.0;
  }

  // Phase-1 costs: -1 below the lower bound, +1 above the upper; returns the infeasibility sum.
  double phase1_costs(std::vector<double>& c, std::size_t& count) const {
    c.assign(nt_, 0.0);
    double sum = 0;
    count = 0;
    for (std::size_t i = 0; i < m_; ++i) {
      const std::size_t k = head_[i];
      if (below(k)) {
        c[k] = -1.0;
        sum += lo_[k] - x_[k];
        ++count;
      } else if (above(k)) {
        c[k] = 1.0;
        sum += x_[k] - up_[k];
        ++count;
      }
    }
    return sum;
  }

  bool dual_feasible() {
    if (!costs_valid_) {
      compute_reduced_costs(cost_);
      costs_valid_ = true;
    }
    for (std::size_t j = 0; j < nt_; ++j) {
      if (pos_[j] >= 0) continue;
      if (x_[j] < up_[j] && d_[j] < -set_.optimality_tolerance) return false;
      if (x_[j] > lo_[j] && d_[j] > set_.optimality_tolerance) return false;
    }
    return true;
  }

  // Pivot on (r, j): T_r /= T_rj, eliminate column j elsewhere, update the reduced costs.
  void pivot(std::size_t r, std::size_t j) {
    eliminate(r, j);
    const double dj = d_[j];
    if (dj != 0.0) {
      const double* tr = &tab_[r * nt_];
      for (std::size_t k = 0; k < nt_; ++k) d_[k] -= dj * tr[k];
    }
    d_[j] = 0.0;
    const std::uint32_t leaving = head_[r];
    pos_[leaving] = -1;
    head_[r] = static_cast<std::uint32_t>(j);
    pos_[j] = static_cast<int>(r);
    ++iterations_;
    ++since_refresh_;
  }

  // Keeps the iterate accurate: recomputes basic values and, if the tableau drifted, refactors.
  void refresh_if_due() {
    if (since_refresh_ < set_.refresh_every) return;
    since_refresh_ = 0;
    if (residual() > 1e-10) {
      rebuild_from_head();
    } else {
      recompute_basic_values();
      costs_valid_ = false;
    }
  }

  // ---------------------------------------------------------------- primal simplex
  status primal(std::size_t iteration_limit) {
    std::vector<double> c1;
    std::size_t degenerate = 0;
    bool phase2_costs_current = false;
    int refactor_checks = 0;
    for (;;) {
      if (iterations_ >= iteration_limit) return status::iteration_limit;
      refresh_if_due();
      std::size_t nin = 0;
      const double infeas = phase1_costs(c1, nin);
      const bool phase1 = nin > 0;
      if (phase1) {
        compute_reduced_costs(c1);
        phase2_costs_current = false;
        costs_valid_ = false;
      } else if (!phase2_costs_current || !costs_valid_) {
        compute_reduced_costs(cost_);
        phase2_costs_current = true;
        costs_valid_ = true;
      }
      const bool bland = degenerate >= set_.degenerate_before_bland;
      // Pricing: Dantzig's largest |d_j| normally, Bland's smallest index when stalling.
      std::size_t enter = nt_;
      double best = 0;
      int dir = 0;
      const double otol = phase1 ? 1e-11 : set_.optimality_tolerance;
      for (std::size_t j = 0; j < nt_; ++j) {
        if (pos_[j] >= 0) continue;
        const double dj = d_[j];
        int dj_dir = 0;
        if (dj < -otol && x_[j] < up_[j]) dj_dir = 1;
        else if (dj > otol && x_[j] > lo_[j]) dj_dir = -1;
        if (dj_dir == 0) continue;
        if (bland) {
          enter = j;
          dir = dj_dir;
          break;
        }
        if (std::fabs(dj) > best) {
          best = std::fabs(dj);
          enter = j;
          dir = dj_dir;
        }
      }
      if (enter == nt_) {
        // Optimal for the current phase. Confirm on a fresh factorisation before concluding.
        if (residual() > 1e-10 && refactor_checks < 3) {
          ++refactor_checks;
          rebuild_from_head();
          continue;
        }
        if (phase1) return infeas > 0 ? status::infeasible : status::optimal;
        return status::optimal;
      }
      const std::size_t j = enter;
      // alpha_i: change of basic i per unit step of the entering variable in direction dir.
      double step = infinity;
      std::size_t leave_row = m_;
      bool leave_upper = false;
      const double flip = up_[j] - lo_[j];
      if (bland) {
        for (std::size_t i = 0; i < m_; ++i) {
          const double alpha = -tab_[i * nt_ + j] * dir;
          if (std::fabs(alpha) <= set_.pivot_tolerance) continue;
          double bound;
          bool upper;
          if (!ratio_bound(head_[i], alpha, bound, upper)) continue;
          const double t = std::max(0.0, (bound - x_[head_[i]]) / alpha);
          if (t < step || (t == step && leave_row < m_ && head_[i] < head_[leave_row])) {
            step = t;
            leave_row = i;
            leave_upper = upper;
          }
        }
      } else {
        // Harris two-pass: largest pivot among rows whose ratio fits the relaxed minimum.
        double relaxed = infinity;
        for (std::size_t i = 0; i < m_; ++i) {
          const double alpha = -tab_[i * nt_ + j] * dir;
          if (std::fabs(alpha) <= set_.pivot_tolerance) continue;
          double bound;
          bool upper;
          if (!ratio_bound(head_[i], alpha, bound, upper)) continue;
          const double tol = ftol(head_[i], upper);
          const double t = (bound - x_[head_[i]] + (alpha > 0 ? tol : -tol)) / alpha;
          relaxed = std::min(relaxed, t);
        }
        double best_alpha = 0;
        for (std::size_t i = 0; i < m_ && relaxed < infinity; ++i) {
          const double alpha = -tab_[i * nt_ + j] * dir;
          if (std::fabs(alpha) <= set_.pivot_tolerance) continue;
          double bound;
          bool upper;
          if (!ratio_bound(head_[i], alpha, bound, upper)) continue;
          const double t = (bound - x_[head_[i]]) / alpha;
          if (t <= relaxed && std::fabs(alpha) > best_alpha) {
            best_alpha = std::fabs(alpha);
            step = std::max(0.0, t);
            leave_row = i;
            leave_upper = upper;
          }
        }
      }
      if (std::isfinite(flip) && flip <= step) {
        // The entering variable reaches its other bound first: a bound flip, no pivot.
        const double nv = dir > 0 ? up_[j] : lo_[j];
        shift_nonbasic(j, nv);
        ++iterations_;
        degenerate = 0;
        continue;
      }
      if (leave_row == m_) {
        if (phase1) {  // cannot happen in exact arithmetic; refactor and retry
          if (refactor_checks++ < 3) {
            rebuild_from_head();
            continue;
          }
          return status::numerical_issue;
        }
        return status::unbounded;
      }
      degenerate = step <= 1e-12 ? degenerate + 1 : 0;
      // Move along the edge, then exchange.
      const double delta = step * dir;
      for (std::size_t i = 0; i < m_; ++i) {
        const double tij = tab_[i * nt_ + j];
        if (tij != 0.0) x_[head_[i]] -= tij * delta;
      }
      x_[j] += delta;
      const std::size_t leaving = head_[leave_row];
      pivot(leave_row, j);
      x_[leaving] = leave_upper ? up_[leaving] : lo_[leaving];
    }
  }

  // The bound a basic variable may reach moving with slope alpha; in phase 1 an infeasible
  // variable only blocks at the bound it violates (where it becomes feasible).
  bool ratio_bound(std::size_t k, double alpha, double& bound, bool& upper) const {
    if (below(k)) {
      if (alpha > 0) {
        bound = lo_[k];
        upper = false;
        return true;
      }
      return false;
    }
    if (above(k)) {
      if (alpha < 0) {
        bound = up_[k];
        upper = true;
        return true;
      }
      return false;
    }
    if (alpha > 0) {
      if (!std::isfinite(up_[k])) return false;
      bound = up_[k];
      upper = true;
      return true;
    }
    if (!std::isfinite(lo_[k])) return false;
    bound = lo_[k];
    upper = false;
    return true;
  }

  // ---------------------------------------------------------------- dual simplex
  status dual(std::size_t iteration_limit) {
    std::size_t stall = 0;
    double last_obj = -infinity;
    for (;;) {
      if (iterations_ >= iteration_limit) return status::iteration_limit;
      if (since_refresh_ >= set_.refresh_every) {
        refresh_if_due();
        if (!costs_valid_) {
          compute_reduced_costs(cost_);
          costs_valid_ = true;
        }
      }
      // Leaving row: the largest scaled infeasibility.
      std::size_t r = m_;
      double worst = 0;
      for (std::size_t i = 0; i < m_; ++i) {
        const std::size_t k = head_[i];
        double v = 0;
        if (below(k)) v = (lo_[k] - x_[k]) / std::max(1.0, std::fabs(lo_[k]));
        else if (above(k)) v = (x_[k] - up_[k]) / std::max(1.0, std::fabs(up_[k]));
        if (v > worst) {
          worst = v;
          r = i;
        }
      }
      if (r == m_) return status::optimal;
      const std::size_t k = head_[r];
      const bool raise = below(k);
      const double target = raise ? lo_[k] : up_[k];
      const double* tr = &tab_[r * nt_];
      // Entering: keep the reduced costs sign-feasible (Harris two-pass on the dual ratios).
      double relaxed = infinity;
      for (std::size_t j = 0; j < nt_; ++j) {
        if (pos_[j] >= 0) continue;
        const double t = raise ? -tr[j] : tr[j];  // > 0: increasing x_j moves x_k the right way
        if (std::fabs(t) <= set_.pivot_tolerance) continue;
        if (t > 0 && !(x_[j] < up_[j])) continue;
        if (t < 0 && !(x_[j] > lo_[j])) continue;
        const double ratio = (std::fabs(d_[j]) + set_.optimality_tolerance) / std::fabs(t);
        relaxed = std::min(relaxed, ratio);
      }
      if (relaxed == infinity) return status::infeasible;
      std::size_t enter = nt_;
      double best = 0;
      for (std::size_t j = 0; j < nt_; ++j) {
        if (pos_[j] >= 0) continue;
        const double t = raise ? -tr[j] : tr[j];
        if (std::fabs(t) <= set_.pivot_tolerance) continue;
        if (t > 0 && !(x_[j] < up_[j])) continue;
        if (t < 0 && !(x_[j] > lo_[j])) continue;
        if (std::fabs(d_[j]) / std::fabs(t) <= relaxed && std::fabs(t) > best) {
          best = std::fabs(t);
          enter = j;
        }
      }
      const double delta = (x_[k] - target) / tr[enter];
      for (std::size_t i = 0; i < m_; ++i) {
        const double tij = tab_[i * nt_ + enter];
        if (tij != 0.0) x_[head_[i]] -= tij * delta;
      }
      x_[enter] += delta;
      pivot(r, enter);
      x_[k] = target;
      const double obj = objective();
      if (obj <= last_obj + 1e-12 * std::max(1.0, std::fabs(obj))) {
        if (++stall > 200) return status::iteration_limit;  // dual stalling: let the primal finish
      } else {
        stall = 0;
      }
      last_obj = obj;
    }
  }

  // A dual ray proves infeasibility only if the factorisation is sound; re-check after refactoring.
  bool confirm_dual_infeasible() {
    if (residual() <= 1e-10) return true;
    rebuild_from_head();
    return false;
  }

  simplex_settings set_;
  std::size_t m_ = 0, n_ = 0, nt_ = 0;
  std::vector<double> a_;    // scaled A, rows × cols
  std::vector<double> rs_, cs_;
  double obj_scale_ = 1.0;
  std::vector<double> lo_, up_, cost_, x_, d_;
  std::vector<double> tab_;  // rows × (cols + rows)
  std::vector<std::uint32_t> head_;
  std::vector<int> pos_;
  std::size_t iterations_ = 0;
  std::size_t since_refresh_ = 0;
  bool costs_valid_ = false;
};

/// Converts a problem's rows to the dense range form (objective negated for maximisation).
inline lp_data to_lp_data(const milp_problem& p) {
  lp_data lp;
  lp.rows = p.constraints.size();
  lp.cols = p.variables.size();
  lp.a.assign(lp.rows * lp.cols, 0.0);
  lp.row_lo.assign(lp.rows, -infinity);
  lp.row_up.assign(lp.rows, infinity);
  for (std::size_t i = 0; i < lp.rows; ++i) {
    const auto& c = p.constraints[i];
    for (const auto& t : c.terms) lp.a[i * lp.cols + t.var] += t.coef;
    if (c.op != row_op::ge) lp.row_up[i] = c.rhs;
    if (c.op != row_op::le) lp.row_lo[i] = c.rhs;
  }
  lp.col_lo.resize(lp.cols);
  lp.col_up.resize(lp.cols);
  lp.cost.assign(lp.cols, 0.0);
  const double sgn = p.sense == objective_sense::maximize ? -1.0 : 1.0;
  for (std::size_t j = 0; j < lp.cols; ++j) {
    lp.col_lo[j] = p.variables[j].lb;
    lp.col_up[j] = p.variables[j].ub;
    if (j < p.objective.size()) lp.cost[j] = sgn * p.objective[j];
  }
  return lp;
}

}  // namespace detail
}  // namespace ohq::solver

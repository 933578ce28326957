// SPDX-License-Identifier: MIT
/// @file Defines the problem and result types: `milp_problem`, `mckp_problem` and their results.
#pragma once

#include <ohq/solver/exact.hpp>
#include <ohq/solver/status.hpp>

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace ohq::solver {

/// Positive infinity, the value of a missing bound.
inline constexpr double infinity = std::numeric_limits<double>::infinity();

/// Whether the objective is minimised or maximised.
enum class objective_sense { minimize, maximize };

/// The relation of a constraint row to its right-hand side.
enum class row_op { le, ge, eq };

/// A decision variable. Infinite bounds mean free in that direction.
struct variable {
  std::string name;
  double lb = 0.0;
  double ub = infinity;
  bool integer = false;
  /// Exact values of the bounds when they came from decimal text (otherwise the doubles are exact).
  std::optional<exact_number> exact_lb, exact_ub;
};

/// One nonzero coefficient of a row.
struct term {
  std::size_t var = 0;
  double coef = 0.0;
};

/// A linear constraint `sum(coef * x[var]) op rhs`.
struct constraint {
  std::string name;
  std::vector<term> terms;
  row_op op = row_op::le;
  double rhs = 0.0;
  /// Exact coefficients (same order as `terms`) and rhs when they came from decimal text.
  std::vector<exact_number> exact_coefs;
  std::optional<exact_number> exact_rhs;
};

/// A mixed-integer linear program.
struct milp_problem {
  objective_sense sense = objective_sense::minimize;
  std::vector<variable> variables;
  /// One coefficient per variable (missing entries are zero).
  std::vector<double> objective;
  std::vector<constraint> constraints;
  /// Exact objective coefficients when they came from decimal text (same length as `objective`).
  std::vector<exact_number> exact_objective;

  /// Adds a variable and returns its index.
  std::size_t add_variable(std::string name, double lb, double ub, bool integer, double cost = 0.0) {
    variables.push_back({std::move(name), lb, ub, integer, std::nullopt, std::nullopt});
    objective.resize(variables.size(), 0.0);
    objective.back() = cost;
    return variables.size() - 1;
  }
  /// Adds a row and returns its index.
  std::size_t add_constraint(std::string name, std::vector<term> terms, row_op op, double rhs) {
    constraints.push_back({std::move(name), std::move(terms), op, rhs, {}, std::nullopt});
    return constraints.size() - 1;
  }
};

/// Limits and tolerances for the LP and MILP solvers. Tolerances are relative (see docs/solver.md).
struct milp_options {
  double time_limit_seconds = infinity;
  std::size_t node_limit = std::numeric_limits<std::size_t>::max();
  std::size_t iteration_limit = 10'000'000;  ///< simplex pivots over the whole solve
  double feasibility_tolerance = 1e-9;       ///< row and bound violation, relative to magnitude
  double optimality_tolerance = 1e-9;        ///< reduced-cost sign, relative to the cost scale
  double integrality_tolerance = 1e-9;       ///< distance to the nearest integer
  double relative_gap = 1e-9;                ///< stop when (incumbent - bound) <= this * max(1,|incumbent|)
  bool detect_mckp = true;                   ///< route multiple-choice structure to the MCKP search
  std::size_t max_dense_entries = 40'000'000;  ///< rows x (rows + cols) cap of the dense tableau (320 MB)
};

/// The outcome of an LP or MILP solve.
struct milp_result {
  solver::status status = solver::status::numerical_issue;
  double objective = 0.0;      ///< of the incumbent, in the problem's own sense
  std::vector<double> x;       ///< the incumbent (empty when there is none)
  double bound = 0.0;          ///< best proven bound, in the problem's own sense
  double gap = 0.0;            ///< |objective - bound| / max(1, |objective|); 0 when optimal
  std::size_t nodes = 0;
  std::size_t iterations = 0;
  bool exactly_verified = false;  ///< the incumbent passed the exact rational re-check
  bool has_solution() const noexcept { return !x.empty(); }
};

/// One group (layer) of a multiple-choice knapsack: pick exactly one of its choices.
struct mckp_group {
  std::string name;
  std::vector<std::string> choice_names;
  std::vector<double> costs;              ///< one per choice
  std::vector<std::vector<double>> uses;  ///< uses[choice][resource]
  /// Exact values when they came from decimal text (same shapes as costs and uses, or empty).
  std::vector<exact_number> exact_costs;
  std::vector<std::vector<exact_number>> exact_uses;
};

/// A resource limit `lo <= sum of chosen uses <= hi` (use -inf/+inf for one-sided budgets).
struct mckp_budget {
  std::string name;
  double lo = -infinity;
  double hi = infinity;
  std::optional<exact_number> exact_lo, exact_hi;
};

/// Minimise the total cost picking exactly one choice per group under every budget.
struct mckp_problem {
  std::vector<mckp_group> groups;
  std::vector<mckp_budget> budgets;

  std::size_t resources() const noexcept { return budgets.size(); }
};

/// Limits for the MCKP search.
struct mckp_options {
  double time_limit_seconds = infinity;
  std::size_t node_limit = std::numeric_limits<std::size_t>::max();
  double relative_gap = 1e-9;  ///< prune when bound >= incumbent - this * max(1, |incumbent|)
  bool symmetry_breaking = true;
};

/// The outcome of an MCKP solve.
struct mckp_result {
  solver::status status = solver::status::numerical_issue;
  double objective = 0.0;
  std::vector<std::size_t> choice;  ///< one index per group (empty when there is none)
  std::vector<double> use;          ///< total use per resource of `choice`
  double bound = 0.0;
  double gap = 0.0;
  std::size_t nodes = 0;
  bool exactly_verified = false;
  bool has_solution() const noexcept { return !choice.empty(); }
};

}  // namespace ohq::solver

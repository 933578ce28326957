// SPDX-License-Identifier: MIT
/// @file Defines `ohq::solver::status`, the outcome of every solve (a result, never an error).
#pragma once

#include <string_view>

namespace ohq::solver {

/// How a solve ended. Limits still carry the best incumbent found and the proven gap.
enum class status {
  optimal,          ///< proven optimal (within the stated tolerances, re-checked exactly)
  infeasible,       ///< no point satisfies the constraints
  unbounded,        ///< the objective improves without bound over the feasible set
  iteration_limit,  ///< the simplex iteration limit was reached
  node_limit,       ///< the branch-and-bound node limit was reached
  time_limit,       ///< the wall-clock limit was reached
  numerical_issue,  ///< floating point trouble the solver could not repair
  invalid_input,    ///< the problem is malformed (sizes disagree, a value is NaN or infinite)
};

/// A stable name for a status.
constexpr std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::optimal: return "optimal";
    case status::infeasible: return "infeasible";
    case status::unbounded: return "unbounded";
    case status::iteration_limit: return "iteration_limit";
    case status::node_limit: return "node_limit";
    case status::time_limit: return "time_limit";
    case status::numerical_issue: return "numerical_issue";
    case status::invalid_input: return "invalid_input";
  }
  return "unknown";
}

/// True when the solve stopped on a limit rather than with a proof.
constexpr bool is_limit(status s) noexcept {
  return s == status::iteration_limit || s == status::node_limit || s == status::time_limit;
}

}  // namespace ohq::solver

// SPDX-License-Identifier: MIT
/// @file The standalone entry of ohq's solver: LP, MILP, multiple-choice knapsack, Pareto sweeps.
///
/// Standard library only; usable without the rest of ohq (`#include <ohq/solver.hpp>`).
#pragma once

#include <ohq/solver/status.hpp>
#include <ohq/solver/exact.hpp>
#include <ohq/solver/problem.hpp>
#include <ohq/solver/verify.hpp>
#include <ohq/solver/simplex.hpp>
#include <ohq/solver/branch_and_bound.hpp>
#include <ohq/solver/mckp.hpp>
#include <ohq/solver/milp.hpp>
#include <ohq/solver/pareto.hpp>
#include <ohq/solver/small_mckp.hpp>
#include <ohq/solver/json.hpp>

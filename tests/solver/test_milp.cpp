// SPDX-License-Identifier: MIT
// Branch-and-bound against exhaustive enumeration, parity problems, limits, MCKP routing.
#include <ohq/solver/branch_and_bound.hpp>
#include <ohq/solver/milp.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace ohq::solver;

namespace {

// Exhaustive optimum of a pure-integer MILP with small finite boxes (exact: integer data).
std::pair<bool, double> brute_force(const milp_problem& p) {
  const std::size_t n = p.variables.size();
  std::vector<double> x(n);
  for (std::size_t j = 0; j < n; ++j) x[j] = p.variables[j].lb;
  bool found = false;
  double best = 0;
  const double sgn = p.sense == objective_sense::maximize ? -1 : 1;
  for (;;) {
    bool ok = true;
    for (const auto& c : p.constraints) {
      double a = 0;
      for (const auto& t : c.terms) a += t.coef * x[t.var];
      if ((c.op == row_op::le && a > c.rhs) || (c.op == row_op::ge && a < c.rhs) || (c.op == row_op::eq && a != c.rhs)) ok = false;
    }
    if (ok) {
      double v = 0;
      for (std::size_t j = 0; j < n; ++j) v += p.objective[j] * x[j];
      if (!found || sgn * v < sgn * best) best = v;
      found = true;
    }
    std::size_t j = 0;
    while (j < n && x[j] == p.variables[j].ub) {
      x[j] = p.variables[j].lb;
      ++j;
    }
    if (j == n) break;
    x[j] += 1;
  }
  return {found, best};
}

milp_problem random_ip(std::mt19937& rng) {
  milp_problem p;
  p.sense = rng() % 2 ? objective_sense::maximize : objective_sense::minimize;
  const int n = 2 + static_cast<int>(rng() % 7);
  for (int j = 0; j < n; ++j) {
    const double lb = static_cast<double>(static_cast<int>(rng() % 3) - 1);
    p.add_variable(std::string("x") + std::to_string(j), lb, lb + static_cast<double>(rng() % 3 + 1), true,
                   static_cast<double>(static_cast<int>(rng() % 21) - 10));
  }
  const int m = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < m; ++i) {
    std::vector<term> t;
    for (int j = 0; j < n; ++j)
      if (rng() % 3) t.push_back({static_cast<std::size_t>(j), static_cast<double>(static_cast<int>(rng() % 13) - 6)});
    if (t.empty()) t.push_back({0, 1});
    const row_op op = rng() % 5 == 0 ? row_op::eq : (rng() % 2 ? row_op::le : row_op::ge);
    p.add_constraint("c", t, op, static_cast<double>(static_cast<int>(rng() % 15) - 5));
  }
  return p;
}

}  // namespace

TEST_CASE("milp_random_integer_programs_match_enumeration") {
  std::mt19937 rng(3);
  int feasible = 0;
  for (int rep = 0; rep < 300; ++rep) {
    const milp_problem p = random_ip(rng);
    const auto [found, best] = brute_force(p);
    const milp_result r = branch_and_bound(p);
    INFO("rep " << rep);
    if (!found) {
      CHECK(r.status == status::infeasible);
      continue;
    }
    ++feasible;
    REQUIRE(r.status == status::optimal);
    CHECK(r.objective == best);
    CHECK(r.exactly_verified);
  }
  CHECK(feasible > 100);
}

TEST_CASE("milp_jeroslow_parity_is_settled_at_the_root") {
  for (int n : {5, 21, 101}) {
    milp_problem p;
    p.sense = objective_sense::maximize;
    std::vector<term> t;
    for (int j = 0; j < n; ++j) {
      p.add_variable("x", 0, 1, true, j == 0 ? 1 : 0);
      t.push_back({static_cast<std::size_t>(j), 2});
    }
    p.add_constraint("parity", t, row_op::eq, n);
    const milp_result r = solve_milp(p);
    CHECK(r.status == status::infeasible);
    CHECK(r.nodes <= 1);
    // With a slack y: min y s.t. 2 sum x + y = n has optimum 1 (found by congruence on y).
    const std::size_t y = p.add_variable("y", 0, 1, true, 0);
    p.sense = objective_sense::minimize;
    std::fill(p.objective.begin(), p.objective.end(), 0.0);
    p.objective[y] = 1;
    p.constraints[0].terms.push_back({y, 1});
    const milp_result q = solve_milp(p);
    REQUIRE(q.status == status::optimal);
    CHECK(q.objective == 1);
    CHECK(q.nodes <= 2);
  }
}

TEST_CASE("milp_near_miss_equality_is_exactly_infeasible") {
  // x + y = 2 + 1e-12 with x, y integer: within every float tolerance, exactly infeasible.
  milp_problem p;
  p.add_variable("x", 0, 5, true, 1);
  p.add_variable("y", 0, 5, true, 1);
  p.add_constraint("e", {{0, 1}, {1, 1}}, row_op::eq, 2.000000000001);
  CHECK(branch_and_bound(p).status == status::infeasible);
  // Fractional coefficients (no gcd argument): the LP accepts x = y = 1 within tolerance, the
  // exact check rejects it and the three-way split proves infeasibility.
  milp_problem h;
  h.add_variable("x", 0, 5, true, 1);
  h.add_variable("y", 0, 5, true, 1);
  h.add_constraint("e", {{0, 0.5}, {1, 0.5}}, row_op::eq, 1.0000000000001);
  h.add_constraint("f", {{0, 1}, {1, -1}}, row_op::eq, 0);
  CHECK(branch_and_bound(h).status == status::infeasible);
  // Decimal data: 0.1x + 0.2y = 0.3 holds exactly for (1, 1) although 0.1 + 0.2 != 0.3 in doubles.
  milp_problem d;
  d.add_variable("x", 0, 1, true, -1);
  d.add_variable("y", 0, 1, true, -1);
  d.add_constraint("e", {{0, 0.1}, {1, 0.2}}, row_op::eq, 0.3);
  d.constraints[0].exact_coefs = {exact_number::from_decimal("0.1"), exact_number::from_decimal("0.2")};
  d.constraints[0].exact_rhs = exact_number::from_decimal("0.3");
  const milp_result r = branch_and_bound(d);
  REQUIRE(r.status == status::optimal);
  CHECK(r.objective == -2);
  // The same data as plain doubles: (1, 1) misses by one ulp, so only (0, 0)... is not feasible
  // either (0 != 0.3): the exact answer is infeasible.
  d.constraints[0].exact_coefs.clear();
  d.constraints[0].exact_rhs.reset();
  CHECK(branch_and_bound(d).status == status::infeasible);
}

TEST_CASE("milp_node_limit_returns_incumbent_and_gap") {
  std::mt19937 rng(5);
  milp_problem p;  // a knapsack with enough fractional structure to need several nodes
  p.sense = objective_sense::maximize;
  std::vector<term> t;
  for (int j = 0; j < 40; ++j) {
    p.add_variable("x", 0, 1, true, static_cast<double>(rng() % 100 + 50));
    t.push_back({static_cast<std::size_t>(j), static_cast<double>(rng() % 100 + 50)});
  }
  p.add_constraint("cap", t, row_op::le, 1000.5);
  milp_options o;
  o.node_limit = 3;
  const milp_result r = branch_and_bound(p, o);
  CHECK(r.status == status::node_limit);
  CHECK(r.nodes == 3);
  if (r.has_solution()) {
    CHECK(r.bound >= r.objective);
    CHECK(r.gap >= 0);
  }
  const milp_result full = branch_and_bound(p);
  REQUIRE(full.status == status::optimal);
  CHECK(full.objective <= r.bound + 1e-9);
  CHECK(full.gap == 0);
}

TEST_CASE("milp_unbounded_and_infeasible_integer") {
  milp_problem u;  // max a, a - b <= 1, a integer, b free: unbounded
  u.sense = objective_sense::maximize;
  u.add_variable("a", 0, infinity, true, 1);
  u.add_variable("b", -infinity, infinity, false, 0);
  u.add_constraint("c", {{0, 1}, {1, -1}}, row_op::le, 1);
  CHECK(solve_milp(u).status == status::unbounded);
  milp_problem v;  // unbounded LP but 2a - 2b = 1 has no integer point
  v.sense = objective_sense::maximize;
  v.add_variable("a", 0, infinity, true, 1);
  v.add_variable("b", 0, infinity, true, 0);
  v.add_constraint("c", {{0, 2}, {1, -2}}, row_op::eq, 1);
  CHECK(solve_milp(v).status == status::infeasible);
}

TEST_CASE("milp_mckp_detection_with_ties_matches_plain_branch_and_bound") {
  std::mt19937 rng(9);
  for (int rep = 0; rep < 40; ++rep) {
    milp_problem p;
    p.sense = rng() % 2 ? objective_sense::maximize : objective_sense::minimize;
    const int groups = 3 + static_cast<int>(rng() % 6), choices = 2 + static_cast<int>(rng() % 3);
    std::vector<term> budget, budget2;
    for (int g = 0; g < groups; ++g) {
      std::vector<term> one;
      for (int c = 0; c < choices; ++c) {
        const std::size_t v = p.add_variable("x", 0, 1, true, static_cast<double>(rng() % 50));
        one.push_back({v, 1});
        budget.push_back({v, static_cast<double>(rng() % 20 + 1)});
        budget2.push_back({v, static_cast<double>(rng() % 20 + 1)});
      }
      p.add_constraint("one", one, row_op::eq, 1);
    }
    p.add_constraint("b1", budget, row_op::le, static_cast<double>(groups * 10));
    p.add_constraint(rep % 3 ? "b2" : "b2eq", budget2, rep % 3 ? row_op::le : row_op::ge, static_cast<double>(groups * 9));
    // Tie groups 0 and 1 choice by choice.
    for (int c = 0; c < choices; ++c)
      p.add_constraint("tie", {{static_cast<std::size_t>(c), 1}, {static_cast<std::size_t>(choices + c), -1}}, row_op::eq, 0);
    REQUIRE(detail::detect_mckp(p).has_value());
    CHECK(detail::detect_mckp(p)->problem.groups.size() == static_cast<std::size_t>(groups - 1));
    milp_options plain;
    plain.detect_mckp = false;
    const milp_result a = solve_milp(p), b = solve_milp(p, plain);
    INFO("rep " << rep);
    REQUIRE(a.status == b.status);
    if (a.status == status::optimal) {
      CHECK(a.objective == b.objective);
      CHECK(a.exactly_verified);
    }
  }
}

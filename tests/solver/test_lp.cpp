// SPDX-License-Identifier: MIT
// The bounded simplex on cycling-prone, degenerate and badly scaled LPs, and every status.
#include <ohq/solver/branch_and_bound.hpp>
#include <ohq/solver/simplex.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace ohq::solver;

namespace {

// Beale's example cycles under Dantzig's rule with lowest-index ties.
milp_problem beale() {
  milp_problem p;
  for (int j = 0; j < 4; ++j) p.add_variable(std::string("x") + std::to_string(j), 0, infinity, false);
  p.objective = {-0.75, 20, -0.5, 6};
  p.add_constraint("r1", {{0, 0.25}, {1, -8}, {2, -1}, {3, 9}}, row_op::le, 0);
  p.add_constraint("r2", {{0, 0.5}, {1, -12}, {2, -0.5}, {3, 3}}, row_op::le, 0);
  p.add_constraint("r3", {{2, 1}}, row_op::le, 1);
  return p;
}

// Klee-Minty cube: 2^n vertices on Dantzig's path; optimum 5^n.
milp_problem klee_minty(int n) {
  milp_problem p;
  p.sense = objective_sense::maximize;
  for (int j = 0; j < n; ++j) p.add_variable(std::string("x") + std::to_string(j), 0, infinity, false, std::ldexp(1.0, n - 1 - j));
  for (int i = 0; i < n; ++i) {
    std::vector<term> t;
    for (int j = 0; j < i; ++j) t.push_back({static_cast<std::size_t>(j), std::ldexp(1.0, i - j + 1)});
    t.push_back({static_cast<std::size_t>(i), 1.0});
    p.add_constraint(std::string("km") + std::to_string(i), t, row_op::le, std::pow(5.0, i + 1));
  }
  return p;
}

detail::lp_data dense(const milp_problem& p) { return detail::to_lp_data(p); }

}  // namespace

TEST_CASE("lp_beale_terminates_under_every_pricing_mode") {
  for (std::size_t before_bland : {std::size_t{0}, std::size_t{40}, std::size_t{1000000}}) {
    detail::simplex_settings s;
    s.degenerate_before_bland = before_bland;
    detail::dense_simplex sx;
    sx.load(dense(beale()), s);
    CHECK(sx.solve_primal(10000) == status::optimal);
    CHECK(sx.objective() == doctest::Approx(-1.25).epsilon(1e-12));
    CHECK(sx.iterations() < 50);
  }
}

TEST_CASE("lp_kuhn_cycling_example") {
  milp_problem p;
  for (int j = 0; j < 4; ++j) p.add_variable(std::string("x") + std::to_string(j), 0, infinity, false);
  p.objective = {-2, -3, 1, 12};
  p.add_constraint("r1", {{0, -2}, {1, -9}, {2, 1}, {3, 9}}, row_op::le, 0);
  p.add_constraint("r2", {{0, 1.0 / 3}, {1, 1}, {2, -1.0 / 3}, {3, -2}}, row_op::le, 0);
  p.add_constraint("r3", {{0, 2}, {1, 3}, {2, -1}, {3, -12}}, row_op::le, 2);
  for (std::size_t before_bland : {std::size_t{0}, std::size_t{1000000}}) {
    detail::simplex_settings s;
    s.degenerate_before_bland = before_bland;
    detail::dense_simplex sx;
    sx.load(dense(p), s);
    CHECK(sx.solve_primal(10000) == status::optimal);
    CHECK(sx.objective() == doctest::Approx(-2.0).epsilon(1e-9));
  }
}

TEST_CASE("lp_klee_minty_exact_optimum") {
  for (int n = 2; n <= 16; ++n) {
    const milp_result r = solve_lp(klee_minty(n));
    REQUIRE(r.status == status::optimal);
    CHECK(r.objective == std::pow(5.0, n));
    CHECK(r.x[static_cast<std::size_t>(n - 1)] == std::pow(5.0, n));
  }
}

TEST_CASE("lp_statuses_and_free_variables") {
  milp_problem inf;
  inf.add_variable("a", 0, infinity, false, 1);
  inf.add_variable("b", 0, infinity, false, 1);
  inf.add_constraint("c1", {{0, 1}, {1, 1}}, row_op::ge, 3);
  inf.add_constraint("c2", {{0, 1}, {1, 1}}, row_op::le, 2.999999);
  CHECK(solve_lp(inf).status == status::infeasible);

  milp_problem unb;
  unb.sense = objective_sense::maximize;
  unb.add_variable("a", 0, infinity, false, 1);
  unb.add_variable("b", -infinity, infinity, false, 0);
  unb.add_constraint("c1", {{0, 1}, {1, -1}}, row_op::le, 1);
  CHECK(solve_lp(unb).status == status::unbounded);

  milp_problem fr;  // min x + y, x - y = 1, x + y >= -5, both free
  fr.add_variable("x", -infinity, infinity, false, 1);
  fr.add_variable("y", -infinity, infinity, false, 1);
  fr.add_constraint("e", {{0, 1}, {1, -1}}, row_op::eq, 1);
  fr.add_constraint("g", {{0, 1}, {1, 1}}, row_op::ge, -5);
  const milp_result r = solve_lp(fr);
  REQUIRE(r.status == status::optimal);
  CHECK(r.objective == doctest::Approx(-5));
  CHECK(r.x[0] == doctest::Approx(-2));
  CHECK(r.x[1] == doctest::Approx(-3));
  CHECK(r.exactly_verified);

  milp_problem empty_box;  // lb > ub
  empty_box.add_variable("x", 2, 1, false, 1);
  CHECK(solve_lp(empty_box).status == status::infeasible);
}

TEST_CASE("lp_random_degenerate_agrees_with_bland") {
  // Dantzig+Harris and pure Bland must reach the same optimum on degenerate random LPs.
  std::mt19937 rng(11);
  for (int rep = 0; rep < 60; ++rep) {
    const int n = 3 + static_cast<int>(rng() % 12), m = 3 + static_cast<int>(rng() % 12);
    milp_problem p;
    for (int j = 0; j < n; ++j)
      p.add_variable("x", 0, rng() % 2 ? 10.0 : infinity, false, static_cast<double>(static_cast<int>(rng() % 11) - 5));
    for (int i = 0; i < m; ++i) {
      std::vector<term> t;
      for (int j = 0; j < n; ++j)
        if (rng() % 10 < 6) t.push_back({static_cast<std::size_t>(j), static_cast<double>(static_cast<int>(rng() % 7) - 3)});
      p.add_constraint("d", t, row_op::le, rng() % 10 < 7 ? 0.0 : static_cast<double>(rng() % 5 + 1));
    }
    std::vector<term> box;
    for (int j = 0; j < n; ++j) box.push_back({static_cast<std::size_t>(j), 1.0});
    p.add_constraint("box", box, row_op::le, 20);
    detail::simplex_settings bland;
    bland.degenerate_before_bland = 0;
    detail::dense_simplex a, b;
    a.load(dense(p));
    b.load(dense(p), bland);
    const status sa = a.solve_primal(100000), sb = b.solve_primal(100000);
    REQUIRE(sa == status::optimal);
    REQUIRE(sb == status::optimal);
    CHECK(a.objective() == doctest::Approx(b.objective()).epsilon(1e-9));
  }
}

TEST_CASE("lp_dual_simplex_resolve_after_bound_change") {
  // max 5x + 4y s.t. 6x + 4y <= 24, x + 2y <= 6: optimum (3, 1.5); then x <= 2 -> (2, 2).
  milp_problem p;
  p.sense = objective_sense::maximize;
  p.add_variable("x", 0, infinity, false, 5);
  p.add_variable("y", 0, infinity, false, 4);
  p.add_constraint("a", {{0, 6}, {1, 4}}, row_op::le, 24);
  p.add_constraint("b", {{0, 1}, {1, 2}}, row_op::le, 6);
  detail::dense_simplex sx;
  sx.load(dense(p));
  REQUIRE(sx.solve_primal(100) == status::optimal);
  CHECK(-sx.objective() == doctest::Approx(21));
  const auto before = sx.iterations();
  sx.set_col_bounds(0, 0, 2);
  REQUIRE(sx.solve(100) == status::optimal);
  CHECK(-sx.objective() == doctest::Approx(18));
  CHECK(sx.value(0) == doctest::Approx(2));
  CHECK(sx.value(1) == doctest::Approx(2));
  CHECK(sx.iterations() - before <= 2);  // a warm dual step, not a restart
  sx.set_col_bounds(0, 5, infinity);  // infeasible with the rows
  CHECK(sx.solve(100) == status::infeasible);
}

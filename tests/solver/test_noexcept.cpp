// SPDX-License-Identifier: MIT
// Builds the whole solver with -fno-exceptions and checks that bad input is an error value.
#include <ohq/solver.hpp>

int main() {
  using namespace ohq::solver;
  const auto bad = parse_json("{\"groups\": [1, 2,]}");
  if (bad.ok() || bad.error.empty()) return 1;
  const auto doc = parse_json("{\"groups\": [{\"choices\": [{\"cost\": 1, \"use\": [2]}]}], \"resources\": [\"m\"], \"budgets\": [1]}");
  if (!doc.ok()) return 2;
  const auto inst = read_mckp(*doc.value);
  if (!inst.ok()) return 3;
  const mckp_result r = solve_mckp(*inst.value);
  return r.status == status::infeasible ? 0 : 4;
}

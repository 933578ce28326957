// SPDX-License-Identifier: MIT
// libFuzzer target: solver instances as ohq-solve reads them (solver/json.hpp parse_json, then
// read_mckp or read_milp) and solves them under small node, iteration and time limits. Every
// answer reported as optimal must pass the exact re-check (verify_mckp / verify_milp).
#include "fuzz_common.hpp"

#include <ohq/solver.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ohq::solver;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_json(text);
  if (!parsed.ok()) {
    if (parsed.error.empty()) ohq_fuzz::finding("parse_json failed without a message");
    return 0;
  }
  const json_value& doc = *parsed.value;
  if (!doc.is_object()) return 0;
  if (doc.find("groups") != nullptr) {
    auto inst = read_mckp(doc);
    if (!inst.ok()) {
      if (inst.error.empty()) ohq_fuzz::finding("read_mckp failed without a message");
      return 0;
    }
    const mckp_problem& p = *inst.value;
    if (!validate(p).empty()) return 0;  // ohq-solve stops here too
    mckp_options options;
    options.node_limit = 200;
    options.time_limit_seconds = 0.05;
    const mckp_result r = solve_mckp(p, options);
    if (r.status == status::optimal && r.has_solution() && !verify_mckp(p, r.choice).feasible)
      ohq_fuzz::finding("solve_mckp reports an optimum that fails verify_mckp");
    return 0;
  }
  auto inst = read_milp(doc);
  if (!inst.ok()) {
    if (inst.error.empty()) ohq_fuzz::finding("read_milp failed without a message");
    return 0;
  }
  const milp_problem& p = *inst.value;
  milp_options options;
  options.node_limit = 200;
  options.iteration_limit = 20'000;
  options.time_limit_seconds = 0.05;
  options.max_dense_entries = 1'000'000;
  for (const bool lp_only : {false, true}) {
    const milp_result r = lp_only ? solve_lp(p, options) : solve_milp(p, options);
    if (!lp_only && r.status == status::optimal && r.has_solution() && !verify_milp(p, r.x).feasible)
      ohq_fuzz::finding("solve_milp reports an optimum that fails verify_milp");
  }
  return 0;
}

// SPDX-License-Identifier: MIT
/// @file ohq-solve: solves an MCKP or MILP instance given as JSON and prints one JSON object.
///
/// Exit codes: 0 when a result was printed (whatever its status), 2 for unusable input
/// (unreadable file, malformed JSON, inconsistent instance, bad arguments).
#include <ohq/solver.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr const char* usage =
    "usage: ohq-solve mckp INSTANCE.json [options]\n"
    "       ohq-solve milp INSTANCE.json [options]\n"
    "       ohq-solve pareto INSTANCE.json --resource NAME [--points N | --front] [--lo X] [--hi Y]\n"
    "options:\n"
    "  --time-limit SECONDS   stop with status \"limit\" and the best incumbent\n"
    "  --node-limit N         the same for branch-and-bound nodes\n"
    "  --no-mckp              milp: skip multiple-choice detection (plain branch-and-bound)\n"
    "  --lp                   milp: solve the LP relaxation (integrality ignored)\n"
    "INSTANCE may be '-' for standard input.\n";

int fail(const std::string& msg) {
  std::cerr << "ohq-solve: " << msg << "\n";
  return 2;
}

std::string status_name(ohq::solver::status s) {
  using ohq::solver::status;
  switch (s) {
    case status::optimal: return "optimal";
    case status::infeasible: return "infeasible";
    case status::unbounded: return "unbounded";
    case status::numerical_issue: return "numerical_issue";
    case status::invalid_input: return "invalid_input";
    default: return "limit";
  }
}

bool read_all(const std::string& path, std::string& out) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    out = ss.str();
    return true;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return !f.bad();
}

bool parse_double(const char* s, double& v) {
  char* end = nullptr;
  v = std::strtod(s, &end);
  return end && *end == '\0' && end != s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ohq::solver;
  if (argc < 3) {
    std::cerr << usage;
    return 2;
  }
  const std::string mode = argv[1];
  const std::string path = argv[2];
  if (mode != "mckp" && mode != "milp" && mode != "pareto") return fail("unknown mode '" + mode + "'\n" + usage);
  double time_limit = infinity;
  double node_limit = -1;
  bool no_mckp = false, lp_only = false, front = false;
  std::string resource;
  double points = 100, lo = -infinity, hi = infinity;
  for (int a = 3; a < argc; ++a) {
    const std::string opt = argv[a];
    auto need = [&](double& v) {
      if (a + 1 >= argc || !parse_double(argv[a + 1], v)) return false;
      ++a;
      return true;
    };
    if (opt == "--time-limit") {
      if (!need(time_limit) || !(time_limit >= 0)) return fail("--time-limit needs a non-negative number of seconds");
    } else if (opt == "--node-limit") {
      if (!need(node_limit) || !(node_limit >= 0)) return fail("--node-limit needs a non-negative integer");
    } else if (opt == "--no-mckp") {
      no_mckp = true;
    } else if (opt == "--lp") {
      lp_only = true;
    } else if (opt == "--resource" && a + 1 < argc) {
      resource = argv[++a];
    } else if (opt == "--points") {
      if (!need(points) || !(points >= 1)) return fail("--points needs a positive integer");
    } else if (opt == "--front") {
      front = true;
    } else if (opt == "--lo") {
      if (!need(lo)) return fail("--lo needs a number");
    } else if (opt == "--hi") {
      if (!need(hi)) return fail("--hi needs a number");
    } else {
      return fail("unknown option '" + opt + "'\n" + usage);
    }
  }
  std::string text;
  if (!read_all(path, text)) return fail("cannot read '" + path + "'");
  const auto t0 = std::chrono::steady_clock::now();
  auto parsed = parse_json(text);
  if (!parsed.ok()) return fail(path + ": malformed JSON: " + parsed.error);
  const json_value& doc = *parsed.value;
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  std::ostringstream out;

  if (mode == "mckp" || mode == "pareto") {
    auto inst = read_mckp(doc);
    if (!inst.ok()) return fail(path + ": invalid mckp instance: " + inst.error);
    const mckp_problem& p = *inst.value;
    if (const std::string bad = validate(p); !bad.empty()) return fail(path + ": invalid mckp instance: " + bad);
    mckp_options mo;
    mo.time_limit_seconds = time_limit;
    if (node_limit >= 0) mo.node_limit = static_cast<std::size_t>(node_limit);
    if (mode == "mckp") {
      const mckp_result r = solve_mckp(p, mo);
      const double secs = seconds();
      out << "{\"status\": \"" << status_name(r.status) << "\", \"objective\": "
          << (r.has_solution() ? json_number(r.objective) : std::string(p.groups.empty() && r.status == status::optimal ? "0" : "null"))
          << ", \"solution\": ";
      if (r.has_solution() || (p.groups.empty() && r.status == status::optimal)) {
        out << "[";
        for (std::size_t g = 0; g < r.choice.size(); ++g) out << (g ? ", " : "") << r.choice[g];
        out << "]";
      } else {
        out << "null";
      }
      out << ", \"nodes\": " << r.nodes << ", \"seconds\": " << json_number(secs) << "}\n";
      std::cout << out.str();
      return r.status == status::optimal || r.status == status::infeasible || is_limit(r.status) ? 0 : 1;
    }
    // pareto
    std::size_t k = p.resources();
    for (std::size_t t = 0; t < p.resources(); ++t)
      if (p.budgets[t].name == resource) k = t;
    if (k == p.resources()) return fail("--resource must name one of the instance's resources");
    double mn = 0, mx = 0;
    for (const auto& g : p.groups) {
      double a = infinity, b = -infinity;
      for (const auto& u : g.uses) {
        a = std::min(a, u[k]);
        b = std::max(b, u[k]);
      }
      mn += a;
      mx += b;
    }
    if (std::isfinite(lo)) mn = lo;
    if (std::isfinite(hi)) mx = hi;
    pareto_result pr;
    if (front) {
      pr = pareto_front(p, k, mn, mx, mo);
    } else {
      const auto np = static_cast<std::size_t>(points);
      std::vector<double> budgets(np);
      for (std::size_t t = 0; t < np; ++t)
        budgets[t] = np == 1 ? mx : mn + (mx - mn) * static_cast<double>(t) / static_cast<double>(np - 1);
      pr = pareto_sweep(p, k, budgets, mo);
    }
    out << "{\"resource\": \"" << json_escape(p.budgets[k].name) << "\", \"solves\": " << pr.solves
        << ", \"nodes\": " << pr.nodes << ", \"seconds\": " << json_number(seconds()) << ", \"points\": [";
    for (std::size_t t = 0; t < pr.points.size(); ++t) {
      const auto& pt = pr.points[t];
      out << (t ? ",\n  " : "\n  ") << "{\"budget\": " << json_number(pt.budget) << ", \"status\": \""
          << status_name(pt.status) << "\", \"objective\": "
          << (pt.choice.empty() ? std::string("null") : json_number(pt.objective))
          << ", \"use\": " << (pt.choice.empty() ? std::string("null") : json_number(pt.use)) << "}";
    }
    out << "]}\n";
    std::cout << out.str();
    return 0;
  }

  auto inst = read_milp(doc);
  if (!inst.ok()) return fail(path + ": invalid milp instance: " + inst.error);
  const milp_problem& p = *inst.value;
  milp_options mo;
  mo.time_limit_seconds = time_limit;
  if (node_limit >= 0) mo.node_limit = static_cast<std::size_t>(node_limit);
  mo.detect_mckp = !no_mckp;
  const milp_result r = lp_only ? solve_lp(p, mo) : solve_milp(p, mo);
  if (r.status == status::invalid_input) {
    const std::size_t rows = p.constraints.size(), cols = p.variables.size();
    return fail(path + ": instance too large for the dense simplex (" + std::to_string(rows) + " rows x " +
                std::to_string(cols) + " columns; the limit is rows x (rows + columns) <= " +
                std::to_string(mo.max_dense_entries) + ")");
  }
  const double secs = seconds();
  const bool has = r.has_solution() && r.status != status::unbounded;
  out << "{\"status\": \"" << status_name(r.status) << "\", \"objective\": "
      << (has ? json_number(r.objective) : std::string("null")) << ", \"solution\": ";
  if (has) {
    out << "{";
    for (std::size_t j = 0; j < p.variables.size(); ++j)
      out << (j ? ", " : "") << "\"" << json_escape(p.variables[j].name) << "\": " << json_number(r.x[j]);
    out << "}";
  } else {
    out << "null";
  }
  out << ", \"nodes\": " << r.nodes << ", \"seconds\": " << json_number(secs) << "}\n";
  std::cout << out.str();
  return r.status == status::numerical_issue ? 1 : 0;
}

// SPDX-License-Identifier: MIT
// The JSON reader: strict syntax, limits, clear errors, and the two instance formats.
#include <ohq/solver/json.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace ohq::solver;

TEST_CASE("json_parses_strict_documents") {
  const auto r = parse_json(R"( {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "c": {}} )");
  REQUIRE(r.ok());
  const json_value& v = *r.value;
  REQUIRE(v.is_object());
  REQUIRE(v.find("a")->items.size() == 5);
  CHECK(v.find("a")->items[1].number == -2500);
  CHECK(v.find("a")->items[1].text == "-2.5e3");
  CHECK(v.find("b")->text == "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("c")->is_object());
  CHECK(v.find("zzz") == nullptr);
}

TEST_CASE("json_rejects_malformed_input_with_a_position") {
  const char* bad[] = {"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]",
                       "[NaN]", "[Infinity]", "[tru]", "\"abc", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"",
                       "[\"\x01\"]", "{\"a\":1,\"a\":2}", "[1] [2]", "[1e400]", "{1: 2}", "\"\xff\"", "\"\xc3\"",
                       "\"\xed\xa0\x80\"", "[\"\\u12\"]"};
  for (const char* s : bad) {
    const auto r = parse_json(s);
    INFO(s);
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("line") != std::string::npos);
  }
}

TEST_CASE("json_limits_bound_depth_and_size") {
  std::string deep(100000, '[');
  auto r = parse_json(deep);
  CHECK_FALSE(r.ok());
  CHECK(r.error.find("nesting") != std::string::npos);
  json_limits tight;
  tight.max_bytes = 10;
  CHECK_FALSE(parse_json("[1, 2, 3, 4, 5]", tight).ok());
  tight = {};
  tight.max_elements = 3;
  CHECK_FALSE(parse_json("[1, 2, 3, 4]", tight).ok());
  CHECK(parse_json("[[[[1]]]]").ok());
  CHECK(parse_json("\xEF\xBB\xBF[1]").ok());
}

TEST_CASE("json_limits_name_the_limit_hit") {
  // Each limit's error names the json_limits field, at its default value.
  const auto error = [](const std::string& text, const json_limits& lim = {}) {
    const auto r = parse_json(text, lim);
    CHECK_FALSE(r.ok());
    return r.error;
  };
  CHECK(error(std::string(66, '[') + std::string(66, ']')).find("deeper than 64 levels (json_limits::max_depth)") !=
        std::string::npos);
  CHECK(parse_json(std::string(65, '[') + std::string(65, ']')).ok());
  CHECK(error("\"" + std::string((1u << 20) + 1, 'a') + "\"").find("json_limits::max_string") != std::string::npos);
  CHECK(parse_json("\"" + std::string(1u << 20, 'a') + "\"").ok());
  CHECK(error("[1" + std::string(400, '0') + "]").find("longer than 400 characters (json_limits::max_number_chars)") !=
        std::string::npos);
  CHECK(parse_json("[1" + std::string(300, '0') + "]").ok());
  json_limits tight;
  tight.max_elements = 3;
  CHECK(error("[1, 2, 3]", tight).find("more than 3 values (json_limits::max_elements)") != std::string::npos);
  tight = {};
  tight.max_bytes = 4;
  CHECK(error("[1, 2]", tight).find("over the limit of 4 bytes (json_limits::max_bytes)") != std::string::npos);
  // An exponent far outside any model's range is refused by the exact reader, not expanded.
  const auto tiny = parse_json(R"({"groups": [{"choices": [{"cost": 1e-99999, "use": []}]}]})");
  REQUIRE(tiny.ok());
  const auto inst = read_mckp(*tiny.value);
  CHECK_FALSE(inst.ok());
  CHECK(inst.error.find("groups[0].choices[0].cost") != std::string::npos);
}

TEST_CASE("json_reads_mckp_instances_and_names_errors") {
  const auto ok = parse_json(R"({"groups": [{"name": "conv1", "choices": [{"name": "w4", "cost": 0.1, "use": [1.5, 2]},
                                                                          {"name": "w8", "cost": 0, "use": [3, 4]}]}],
                                 "resources": ["latency", "memory"], "budgets": [2, 10]})");
  REQUIRE(ok.ok());
  const auto inst = read_mckp(*ok.value);
  REQUIRE(inst.ok());
  const mckp_problem& p = *inst.value;
  CHECK(p.groups.size() == 1);
  CHECK(p.groups[0].choice_names[1] == "w8");
  CHECK(p.budgets[1].name == "memory");
  CHECK(p.budgets[0].hi == 2);
  CHECK(p.groups[0].exact_costs[0] == exact_number::from_decimal("0.1"));

  const std::pair<const char*, const char*> cases[] = {
      {R"([1])", "instance"},
      {R"({"resources": []})", "groups"},
      {R"({"groups": 3})", "groups"},
      {R"({"groups": [], "resources": ["a"], "budgets": []})", "budgets"},
      {R"({"groups": [{"choices": []}]})", "groups[0].choices"},
      {R"({"groups": [{"choices": [{"use": []}]}]})", "groups[0].choices[0]"},
      {R"({"groups": [{"choices": [{"cost": "1", "use": []}]}]})", "groups[0].choices[0].cost"},
      {R"({"groups": [{"choices": [{"cost": 1, "use": [1]}]}], "resources": ["a", "b"], "budgets": [1, 2]})",
       "groups[0].choices[0].use"},
      {R"({"groups": [{"choices": [{"cost": 1, "use": [true]}]}], "resources": ["a"], "budgets": [1]})",
       "groups[0].choices[0].use[0]"},
      {R"({"groups": [{"name": 5, "choices": [{"cost": 1}]}]})", "groups[0].name"},
      {R"({"groups": [], "resources": [7], "budgets": [1]})", "resources[0]"},
  };
  for (const auto& item : cases) {
    const char* text = item.first;
    const char* where = item.second;
    const auto doc = parse_json(text);
    REQUIRE(doc.ok());
    const auto r = read_mckp(*doc.value);
    INFO(text);
    CHECK_FALSE(r.ok());
    CHECK(r.error.find(where) != std::string::npos);
  }
}

TEST_CASE("json_reads_milp_instances_and_names_errors") {
  const auto ok = parse_json(R"({"sense": "max", "variables": [{"name": "x", "lb": null, "ub": 4, "integer": true},
                                                                {"name": "y", "lb": -1.5, "ub": null, "integer": false}],
                                 "objective": {"x": 1, "y": 0.25},
                                 "constraints": [{"name": "c", "coefs": {"x": 1, "y": 2}, "op": ">=", "rhs": -3}]})");
  REQUIRE(ok.ok());
  const auto inst = read_milp(*ok.value);
  REQUIRE(inst.ok());
  const milp_problem& p = *inst.value;
  CHECK(p.sense == objective_sense::maximize);
  CHECK(p.variables[0].lb == -infinity);
  CHECK(p.variables[1].ub == infinity);
  CHECK(p.variables[0].integer);
  CHECK(p.objective[1] == 0.25);
  CHECK(p.constraints[0].op == row_op::ge);
  CHECK(p.constraints[0].terms.size() == 2);

  const std::pair<const char*, const char*> cases[] = {
      {R"({"sense": "minimize", "variables": []})", "sense"},
      {R"({"variables": [{"name": "x"}, {"name": "x"}]})", "duplicate variable"},
      {R"({"variables": [{"lb": 0}]})", "variables[0].name"},
      {R"({"variables": [{"name": "x", "integer": 1}]})", "variables[0].integer"},
      {R"({"variables": [{"name": "x", "ub": "inf"}]})", "variables[0].ub"},
      {R"({"variables": [{"name": "x"}], "objective": {"y": 1}})", "unknown variable \"y\""},
      {R"({"variables": [{"name": "x"}], "constraints": [{"coefs": {"x": 1}, "op": "<", "rhs": 1}]})", "constraints[0].op"},
      {R"({"variables": [{"name": "x"}], "constraints": [{"coefs": {"z": 1}, "op": "<=", "rhs": 1}]})", "constraints[0].coefs"},
      {R"({"variables": [{"name": "x"}], "constraints": [{"coefs": {"x": 1}, "op": "<="}]})", "rhs"},
      {R"({"variables": [{"name": "x"}], "objective": [1]})", "objective"},
  };
  for (const auto& item : cases) {
    const char* text = item.first;
    const char* where = item.second;
    const auto doc = parse_json(text);
    REQUIRE(doc.ok());
    const auto r = read_milp(*doc.value);
    INFO(text);
    CHECK_FALSE(r.ok());
    CHECK(r.error.find(where) != std::string::npos);
  }
}

TEST_CASE("json_number_output_round_trips") {
  for (double v : {0.1, 1e-300, 123456789.125, -2.5, 3.0})
    CHECK(std::stod(json_number(v)) == v);
  CHECK(json_number(0.0) == "0");
  CHECK(json_escape("a\"b\n\x01") == "a\\\"b\\n\\u0001");
}

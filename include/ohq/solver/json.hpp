// SPDX-License-Identifier: MIT
/// @file Defines a small strict JSON reader (std only, no exceptions, depth and size limits)
/// and the readers of the `mckp` and `milp` instance formats.
///
/// Numbers keep their source text so the instance can be re-checked in exact decimal
/// arithmetic. Every error names where it is (line:column for syntax, a path like
/// `groups[3].choices[1].use` for content) and what is wrong.
#pragma once

#include <ohq/solver/exact.hpp>
#include <ohq/solver/problem.hpp>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace ohq::solver {

/// Limits that bound the reader's memory and recursion on hostile input. Hitting one is an
/// error naming the limit (e.g. "nesting deeper than 64 levels (json_limits::max_depth)").
struct json_limits {
  std::size_t max_bytes = 64u << 20;     ///< input size
  std::size_t max_depth = 64;            ///< nesting of arrays and objects (the parser recurses once per level)
  std::size_t max_string = 1u << 20;     ///< bytes of one decoded string
  std::size_t max_elements = 2'000'000;  ///< values in the whole document (about 128 bytes each)
  std::size_t max_number_chars = 400;    ///< characters of one number literal
};

/// A parsed JSON value. Objects keep member order; duplicate keys are rejected by the parser.
struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  double number = 0.0;
  std::string text;  ///< string contents, or a number's source text
  std::vector<json_value> items;
  std::vector<std::string> keys;     ///< object member names, in order
  std::vector<json_value> values;    ///< object member values, parallel to keys

  bool is_null() const noexcept { return type == kind::null; }
  bool is_number() const noexcept { return type == kind::number; }
  bool is_string() const noexcept { return type == kind::string; }
  bool is_bool() const noexcept { return type == kind::boolean; }
  bool is_array() const noexcept { return type == kind::array; }
  bool is_object() const noexcept { return type == kind::object; }
  /// The member named key, or nullptr.
  const json_value* find(std::string_view key) const {
    for (std::size_t k = 0; k < keys.size(); ++k)
      if (keys[k] == key) return &values[k];
    return nullptr;
  }
};

/// Either a value or an error message (never both).
template <class T>
struct parse_result {
  std::optional<T> value;
  std::string error;
  bool ok() const noexcept { return value.has_value(); }
};

namespace detail {

class json_parser {
 public:
  json_parser(std::string_view s, const json_limits& lim) : s_(s), lim_(lim) {}

  parse_result<json_value> run() {
    parse_result<json_value> out;
    if (s_.size() > lim_.max_bytes) {
      out.error = std::string("input is ") + std::to_string(s_.size()) + " bytes, over the limit of " +
                  std::to_string(lim_.max_bytes) + " bytes (json_limits::max_bytes)";
      return out;
    }
    // A UTF-8 byte order mark is tolerated.
    if (s_.size() >= 3 && s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    json_value v;
    skip_ws();
    if (!value(v, 0)) {
      out.error = where() + ": " + err_;
      return out;
    }
    skip_ws();
    if (pos_ != s_.size()) {
      out.error = where() + ": unexpected content after the JSON value";
      return out;
    }
    out.value = std::move(v);
    return out;
  }

 private:
  std::string where() const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return std::string("line ") + std::to_string(line) + std::string(", column ") + std::to_string(col);
  }
  bool fail(std::string msg) {
    err_ = std::move(msg);
    return false;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal (expected '" + std::string(word) + "')");
    pos_ += word.size();
    return true;
  }

  bool value(json_value& v, std::size_t depth) {
    if (depth > lim_.max_depth)
      return fail(std::string("nesting deeper than ") + std::to_string(lim_.max_depth) + " levels (json_limits::max_depth)");
    if (++elements_ > lim_.max_elements)
      return fail(std::string("more than ") + std::to_string(lim_.max_elements) + " values (json_limits::max_elements)");
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    const char c = s_[pos_];
    switch (c) {
      case 'n': v.type = json_value::kind::null; return literal("null");
      case 't': v.type = json_value::kind::boolean; v.boolean = true; return literal("true");
      case 'f': v.type = json_value::kind::boolean; v.boolean = false; return literal("false");
      case '"': v.type = json_value::kind::string; return string(v.text);
      case '[': return array(v, depth);
      case '{': return object(v, depth);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return number(v);
        return fail(std::string("unexpected character '") + printable(c) + "'");
    }
  }

  static std::string printable(char c) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      const char* hex = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      return std::string("\\x") + hex[u >> 4] + hex[u & 15];
    }
    return std::string(1, c);
  }

  bool number(json_value& v) {
    const std::size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && digit(s_[pos_])) return fail("invalid number (leading zero)");
    } else {
      while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("invalid number (no digit after '.')");
      while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !digit(s_[pos_])) return fail("invalid number (empty exponent)");
      while (pos_ < s_.size() && digit(s_[pos_])) ++pos_;
    }
    v.type = json_value::kind::number;
    if (pos_ - start > lim_.max_number_chars) {
      pos_ = start;
      return fail(std::string("number literal longer than ") + std::to_string(lim_.max_number_chars) +
                  " characters (json_limits::max_number_chars)");
    }
    v.text = std::string(s_.substr(start, pos_ - start));
    double d = 0;
    const auto r = std::from_chars(v.text.data(), v.text.data() + v.text.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
      // Underflow to zero is harmless; overflow is not a usable coefficient.
      bool big = false;
      const auto e = v.text.find_first_of("eE");
      if (e == std::string::npos || v.text[e + 1] != '-') big = true;
      if (big) {
        pos_ = start;
        return fail("number " + v.text + " is out of the range of a double");
      }
      d = 0.0;
    } else if (r.ec != std::errc() || r.ptr != v.text.data() + v.text.size()) {
      pos_ = start;
      return fail("invalid number");
    }
    v.number = d;
    return true;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool hex4(std::uint32_t& cp) {
    if (pos_ + 4 > s_.size()) return fail("truncated \\u escape");
    cp = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hexval(s_[pos_ + static_cast<std::size_t>(k)]);
      if (h < 0) return fail("invalid \\u escape");
      cp = cp * 16 + static_cast<std::uint32_t>(h);
    }
    pos_ += 4;
    return true;
  }
  static void utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // Validates one UTF-8 sequence starting at pos_ and appends it.
  bool utf8_passthrough(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1Fu; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) { len = 3; cp = b0 & 0x0Fu; }
    else if (b0 >= 0xF0 && b0 <= 0xF4) { len = 4; cp = b0 & 0x07u; }
    else return fail("invalid UTF-8 in string");
    if (pos_ + len > s_.size()) return fail("truncated UTF-8 sequence in string");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s_[pos_ + k]);
      if ((b & 0xC0) != 0x80) return fail("invalid UTF-8 in string");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return fail("invalid UTF-8 in string");
    out.append(s_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      if (out.size() > lim_.max_string)
        return fail(std::string("string longer than ") + std::to_string(lim_.max_string) + " bytes (json_limits::max_string)");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) return fail("unterminated escape");
        const char e = s_[pos_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!hex4(cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (s_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate in \\u escape");
              pos_ += 2;
              std::uint32_t lo = 0;
              if (!hex4(lo)) return false;
              if (lo < 0xDC00 || lo > 0xDFFF) return fail("unpaired surrogate in \\u escape");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return fail("unpaired surrogate in \\u escape");
            }
            utf8(out, cp);
            break;
          }
          default: --pos_; return fail(std::string("invalid escape '\\") + printable(e) + "'");
        }
        continue;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        if (!utf8_passthrough(out)) return false;
        continue;
      }
      out += c;
      ++pos_;
    }
  }

  bool array(json_value& v, std::size_t depth) {
    v.type = json_value::kind::array;
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      json_value item;
      skip_ws();
      if (!value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated array (expected ',' or ']')");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']' in array");
    }
  }

  bool object(json_value& v, std::size_t depth) {
    v.type = json_value::kind::object;
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    std::map<std::string, bool, std::less<>> seen;
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a string key in object");
      std::string key;
      const std::size_t key_pos = pos_;
      if (!string(key)) return false;
      if (!seen.emplace(key, true).second) {
        pos_ = key_pos;
        return fail("duplicate key \"" + key + "\" in object");
      }
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':' after object key");
      ++pos_;
      skip_ws();
      json_value item;
      if (!value(item, depth + 1)) return false;
      v.keys.push_back(std::move(key));
      v.values.push_back(std::move(item));
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated object (expected ',' or '}')");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}' in object");
    }
  }

  std::string_view s_;
  json_limits lim_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
  std::string err_;
};

inline const char* kind_name(json_value::kind k) {
  switch (k) {
    case json_value::kind::null: return "null";
    case json_value::kind::boolean: return "a boolean";
    case json_value::kind::number: return "a number";
    case json_value::kind::string: return "a string";
    case json_value::kind::array: return "an array";
    case json_value::kind::object: return "an object";
  }
  return "?";
}

// A number member's double and exact value, or an error naming the path.
inline bool read_number(const json_value& v, const std::string& path, double& d, exact_number& ex, std::string& err) {
  if (!v.is_number()) {
    err = path + ": expected a number, got " + kind_name(v.type);
    return false;
  }
  d = v.number;
  ex = exact_number::from_decimal(v.text);
  if (!ex.valid() || !std::isfinite(d)) {
    err = path + ": number " + v.text + " is out of range";
    return false;
  }
  return true;
}

}  // namespace detail

/// Parses JSON text (strict RFC 8259, plus a tolerated UTF-8 BOM).
inline parse_result<json_value> parse_json(std::string_view text, const json_limits& limits = {}) {
  return detail::json_parser(text, limits).run();
}

/// Reads the `mckp` instance format (see docs/solver.md) from parsed JSON.
inline parse_result<mckp_problem> read_mckp(const json_value& doc) {
  using namespace detail;
  parse_result<mckp_problem> out;
  std::string& err = out.error;
  if (!doc.is_object()) {
    err = "instance: expected an object, got " + std::string(kind_name(doc.type));
    return out;
  }
  const json_value* groups = doc.find("groups");
  const json_value* resources = doc.find("resources");
  const json_value* budgets = doc.find("budgets");
  if (!groups) {
    err = "instance: missing \"groups\"";
    return out;
  }
  if (!groups->is_array()) {
    err = "groups: expected an array, got " + std::string(kind_name(groups->type));
    return out;
  }
  mckp_problem p;
  std::size_t nres = 0;
  if (resources) {
    if (!resources->is_array()) {
      err = "resources: expected an array, got " + std::string(kind_name(resources->type));
      return out;
    }
    nres = resources->items.size();
    for (std::size_t k = 0; k < nres; ++k) {
      if (!resources->items[k].is_string()) {
        err = std::string("resources[") + std::to_string(k) + "]: expected a string, got " + kind_name(resources->items[k].type);
        return out;
      }
    }
  }
  const std::size_t nbud = budgets ? (budgets->is_array() ? budgets->items.size() : 0) : 0;
  if (budgets && !budgets->is_array()) {
    err = "budgets: expected an array, got " + std::string(kind_name(budgets->type));
    return out;
  }
  if (!resources) nres = nbud;
  if (nbud != nres) {
    err = std::string("budgets: ") + std::to_string(nbud) + std::string(" budgets for ") + std::to_string(nres) + " resources";
    return out;
  }
  for (std::size_t k = 0; k < nres; ++k) {
    mckp_budget b;
    b.name = resources ? resources->items[k].text : std::string("r") + std::to_string(k);
    exact_number ex;
    double d = 0;
    if (!read_number(budgets->items[k], std::string("budgets[") + std::to_string(k) + "]", d, ex, err)) return out;
    b.hi = d;
    b.exact_hi = ex;
    p.budgets.push_back(std::move(b));
  }
  for (std::size_t g = 0; g < groups->items.size(); ++g) {
    const json_value& gv = groups->items[g];
    const std::string gp = std::string("groups[") + std::to_string(g) + "]";
    if (!gv.is_object()) {
      err = gp + ": expected an object, got " + kind_name(gv.type);
      return out;
    }
    mckp_group grp;
    if (const json_value* name = gv.find("name")) {
      if (!name->is_string()) {
        err = gp + ".name: expected a string, got " + kind_name(name->type);
        return out;
      }
      grp.name = name->text;
    }
    const json_value* choices = gv.find("choices");
    if (!choices) {
      err = gp + ": missing \"choices\"";
      return out;
    }
    if (!choices->is_array()) {
      err = gp + ".choices: expected an array, got " + kind_name(choices->type);
      return out;
    }
    if (choices->items.empty()) {
      err = gp + ".choices: a group needs at least one choice";
      return out;
    }
    for (std::size_t c = 0; c < choices->items.size(); ++c) {
      const json_value& cv = choices->items[c];
      const std::string cp = gp + std::string(".choices[") + std::to_string(c) + "]";
      if (!cv.is_object()) {
        err = cp + ": expected an object, got " + kind_name(cv.type);
        return out;
      }
      std::string cname = std::to_string(c);
      if (const json_value* name = cv.find("name")) {
        if (!name->is_string()) {
          err = cp + ".name: expected a string, got " + kind_name(name->type);
          return out;
        }
        cname = name->text;
      }
      const json_value* cost = cv.find("cost");
      if (!cost) {
        err = cp + ": missing \"cost\"";
        return out;
      }
      double d = 0;
      exact_number ex;
      if (!read_number(*cost, cp + ".cost", d, ex, err)) return out;
      grp.costs.push_back(d);
      grp.exact_costs.push_back(ex);
      const json_value* use = cv.find("use");
      std::vector<double> u;
      std::vector<exact_number> eu;
      if (!use && nres > 0) {
        err = cp + ": missing \"use\"";
        return out;
      }
      if (use) {
        if (!use->is_array()) {
          err = cp + ".use: expected an array, got " + kind_name(use->type);
          return out;
        }
        if (use->items.size() != nres) {
          err = cp + std::string(".use: has ") + std::to_string(use->items.size()) + std::string(" numbers for ") + std::to_string(nres) +
                " resources";
          return out;
        }
        for (std::size_t k = 0; k < nres; ++k) {
          if (!read_number(use->items[k], cp + std::string(".use[") + std::to_string(k) + "]", d, ex, err)) return out;
          u.push_back(d);
          eu.push_back(ex);
        }
      }
      grp.choice_names.push_back(std::move(cname));
      grp.uses.push_back(std::move(u));
      grp.exact_uses.push_back(std::move(eu));
    }
    p.groups.push_back(std::move(grp));
  }
  out.value = std::move(p);
  return out;
}

/// Reads the `milp` instance format (see docs/solver.md) from parsed JSON.
inline parse_result<milp_problem> read_milp(const json_value& doc) {
  using namespace detail;
  parse_result<milp_problem> out;
  std::string& err = out.error;
  if (!doc.is_object()) {
    err = "instance: expected an object, got " + std::string(kind_name(doc.type));
    return out;
  }
  milp_problem p;
  if (const json_value* sense = doc.find("sense")) {
    if (!sense->is_string() || (sense->text != "min" && sense->text != "max")) {
      err = "sense: expected \"min\" or \"max\"";
      return out;
    }
    p.sense = sense->text == "max" ? objective_sense::maximize : objective_sense::minimize;
  }
  const json_value* vars = doc.find("variables");
  if (!vars) {
    err = "instance: missing \"variables\"";
    return out;
  }
  if (!vars->is_array()) {
    err = "variables: expected an array, got " + std::string(kind_name(vars->type));
    return out;
  }
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t j = 0; j < vars->items.size(); ++j) {
    const json_value& v = vars->items[j];
    const std::string vp = std::string("variables[") + std::to_string(j) + "]";
    if (!v.is_object()) {
      err = vp + ": expected an object, got " + kind_name(v.type);
      return out;
    }
    const json_value* name = v.find("name");
    if (!name || !name->is_string()) {
      err = vp + ".name: expected a string";
      return out;
    }
    if (!index.emplace(name->text, j).second) {
      err = vp + ".name: duplicate variable name \"" + name->text + "\"";
      return out;
    }
    variable var;
    var.name = name->text;
    var.lb = 0.0;
    var.ub = infinity;
    for (int side = 0; side < 2; ++side) {
      const char* key = side == 0 ? "lb" : "ub";
      const json_value* b = v.find(key);
      if (!b) continue;
      if (b->is_null()) {
        (side == 0 ? var.lb : var.ub) = side == 0 ? -infinity : infinity;
        continue;
      }
      double d = 0;
      exact_number ex;
      if (!read_number(*b, vp + "." + key, d, ex, err)) return out;
      (side == 0 ? var.lb : var.ub) = d;
      (side == 0 ? var.exact_lb : var.exact_ub) = ex;
    }
    if (const json_value* integer = v.find("integer")) {
      if (!integer->is_bool()) {
        err = vp + ".integer: expected true or false, got " + std::string(kind_name(integer->type));
        return out;
      }
      var.integer = integer->boolean;
    }
    p.variables.push_back(std::move(var));
  }
  const std::size_t n = p.variables.size();
  p.objective.assign(n, 0.0);
  p.exact_objective.assign(n, exact_number{});
  if (const json_value* obj = doc.find("objective")) {
    if (!obj->is_object()) {
      err = "objective: expected an object {name: coefficient}, got " + std::string(kind_name(obj->type));
      return out;
    }
    for (std::size_t m = 0; m < obj->keys.size(); ++m) {
      const std::string& key = obj->keys[m];
      const json_value& val = obj->values[m];
      const auto it = index.find(key);
      if (it == index.end()) {
        err = "objective: unknown variable \"" + key + "\"";
        return out;
      }
      double d = 0;
      exact_number ex;
      if (!read_number(val, "objective." + key, d, ex, err)) return out;
      p.objective[it->second] = d;
      p.exact_objective[it->second] = ex;
    }
  }
  if (const json_value* cons = doc.find("constraints")) {
    if (!cons->is_array()) {
      err = "constraints: expected an array, got " + std::string(kind_name(cons->type));
      return out;
    }
    for (std::size_t i = 0; i < cons->items.size(); ++i) {
      const json_value& c = cons->items[i];
      const std::string cp = std::string("constraints[") + std::to_string(i) + "]";
      if (!c.is_object()) {
        err = cp + ": expected an object, got " + kind_name(c.type);
        return out;
      }
      constraint row;
      if (const json_value* name = c.find("name")) {
        if (!name->is_string()) {
          err = cp + ".name: expected a string, got " + kind_name(name->type);
          return out;
        }
        row.name = name->text;
      }
      const json_value* op = c.find("op");
      if (!op || !op->is_string() || (op->text != "<=" && op->text != ">=" && op->text != "=")) {
        err = cp + ".op: expected \"<=\", \">=\" or \"=\"";
        return out;
      }
      row.op = op->text == "<=" ? row_op::le : (op->text == ">=" ? row_op::ge : row_op::eq);
      const json_value* rhs = c.find("rhs");
      if (!rhs) {
        err = cp + ": missing \"rhs\"";
        return out;
      }
      exact_number ex;
      if (!read_number(*rhs, cp + ".rhs", row.rhs, ex, err)) return out;
      row.exact_rhs = ex;
      const json_value* coefs = c.find("coefs");
      if (!coefs) {
        err = cp + ": missing \"coefs\"";
        return out;
      }
      if (!coefs->is_object()) {
        err = cp + ".coefs: expected an object {name: coefficient}, got " + std::string(kind_name(coefs->type));
        return out;
      }
      for (std::size_t m = 0; m < coefs->keys.size(); ++m) {
        const std::string& key = coefs->keys[m];
        const json_value& val = coefs->values[m];
        const auto it = index.find(key);
        if (it == index.end()) {
          err = cp + ".coefs: unknown variable \"" + key + "\"";
          return out;
        }
        double d = 0;
        if (!read_number(val, cp + ".coefs." + key, d, ex, err)) return out;
        row.terms.push_back({it->second, d});
        row.exact_coefs.push_back(ex);
      }
      p.constraints.push_back(std::move(row));
    }
  }
  out.value = std::move(p);
  return out;
}

/// Escapes a string for JSON output.
inline std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[(c >> 4) & 15];
          out += hex[c & 15];
        } else {
          out += c;
        }
    }
  }
  return out;
}

/// The shortest decimal text that reads back as exactly v (null for NaN or infinity).
inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == 0.0) return "0";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace ohq::solver

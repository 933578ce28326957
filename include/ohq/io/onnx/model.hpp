// SPDX-License-Identifier: MIT
/// @file Defines the in-memory ONNX model (`ohq::io::onnx::model` and its parts) and typed attribute lookups.
///
/// These are plain structs holding the subset of ONNX that ohq reads (see docs/io.md). They are
/// filled and validated by `try_read_model` (onnx/reader.hpp); nothing here parses bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <ohq/core/error.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ohq::io::onnx {

/// ONNX `TensorProto.DataType` (same numbering). Only `float32`, `int64` and `int32` tensors are
/// decoded; the others are named so that errors can say which type a file used.
enum class data_type : std::int32_t {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  string = 8,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  complex64 = 14,
  complex128 = 15,
  bfloat16 = 16,
};

/// The ONNX spelling of a data type ("FLOAT", "INT64", ...).
constexpr std::string_view to_string(data_type t) noexcept {
  switch (t) {
    case data_type::undefined:
      return "UNDEFINED";
    case data_type::float32:
      return "FLOAT";
    case data_type::uint8:
      return "UINT8";
    case data_type::int8:
      return "INT8";
    case data_type::uint16:
      return "UINT16";
    case data_type::int16:
      return "INT16";
    case data_type::int32:
      return "INT32";
    case data_type::int64:
      return "INT64";
    case data_type::string:
      return "STRING";
    case data_type::boolean:
      return "BOOL";
    case data_type::float16:
      return "FLOAT16";
    case data_type::float64:
      return "DOUBLE";
    case data_type::uint32:
      return "UINT32";
    case data_type::uint64:
      return "UINT64";
    case data_type::complex64:
      return "COMPLEX64";
    case data_type::complex128:
      return "COMPLEX128";
    case data_type::bfloat16:
      return "BFLOAT16";
  }
  return "unknown data type";
}

/// A dense tensor (an initializer or a `Constant`/attribute value).
struct tensor {
  std::string name;
  data_type type = data_type::undefined;
  /// Shape, outermost first; all non-negative. Empty for a scalar.
  std::vector<std::int64_t> dims;
  /// The values of a `float32` tensor, row-major; `element_count()` of them.
  std::vector<float> floats;
  /// The values of an `int64` or `int32` tensor (int32 widened), row-major.
  std::vector<std::int64_t> ints;

  /// The product of `dims` (1 for a scalar). The reader has checked it for overflow.
  [[nodiscard]] std::size_t element_count() const noexcept {
    std::size_t n = 1;
    for (std::int64_t d : dims) n *= static_cast<std::size_t>(d);
    return n;
  }
  [[nodiscard]] bool is_float() const noexcept { return type == data_type::float32; }
  [[nodiscard]] bool is_integer() const noexcept {
    return type == data_type::int64 || type == data_type::int32;
  }
};

/// ONNX `AttributeProto.AttributeType` (same numbering).
enum class attribute_type : std::int32_t {
  undefined = 0,
  floating = 1,         ///< FLOAT: `attribute::f`
  integer = 2,          ///< INT: `attribute::i`
  string = 3,           ///< STRING: `attribute::s`
  tensor = 4,           ///< TENSOR: `attribute::t`
  graph = 5,            ///< GRAPH: rejected by the reader
  floats = 6,           ///< FLOATS: `attribute::floats`
  ints = 7,             ///< INTS: `attribute::ints`
  strings = 8,          ///< STRINGS: `attribute::strings`
  tensors = 9,          ///< rejected
  graphs = 10,          ///< rejected
  sparse_tensor = 11,   ///< rejected
  sparse_tensors = 12,  ///< rejected
  type_proto = 13,      ///< rejected
  type_protos = 14,     ///< rejected
};

/// The ONNX spelling of an attribute type ("INT", "INTS", ...).
constexpr std::string_view to_string(attribute_type t) noexcept {
  switch (t) {
    case attribute_type::undefined:
      return "UNDEFINED";
    case attribute_type::floating:
      return "FLOAT";
    case attribute_type::integer:
      return "INT";
    case attribute_type::string:
      return "STRING";
    case attribute_type::tensor:
      return "TENSOR";
    case attribute_type::graph:
      return "GRAPH";
    case attribute_type::floats:
      return "FLOATS";
    case attribute_type::ints:
      return "INTS";
    case attribute_type::strings:
      return "STRINGS";
    case attribute_type::tensors:
      return "TENSORS";
    case attribute_type::graphs:
      return "GRAPHS";
    case attribute_type::sparse_tensor:
      return "SPARSE_TENSOR";
    case attribute_type::sparse_tensors:
      return "SPARSE_TENSORS";
    case attribute_type::type_proto:
      return "TYPE_PROTO";
    case attribute_type::type_protos:
      return "TYPE_PROTOS";
  }
  return "unknown attribute type";
}

/// A node attribute; only the member matching `type` is meaningful.
struct attribute {
  std::string name;
  attribute_type type = attribute_type::undefined;
  float f = 0.0F;
  std::int64_t i = 0;
  std::string s;
  std::optional<tensor> t;
  std::vector<float> floats;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strings;
};

/// An operator application. Empty names in `inputs`/`outputs` mark omitted optional arguments.
struct node {
  std::string name;
  std::string op_type;
  /// Operator domain; empty (or "ai.onnx") for the default ONNX domain.
  std::string domain;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<attribute> attributes;
};

/// One dimension of a declared shape: a value, a symbolic parameter ("N"), or unknown.
struct dimension {
  /// The size, or -1 when the dimension is symbolic or unknown.
  std::int64_t value = -1;
  /// The symbolic name (`dim_param`), if any.
  std::string param;
  [[nodiscard]] bool is_known() const noexcept { return value >= 0; }
};

/// A graph input, output or intermediate value with its declared type.
struct value_info {
  std::string name;
  /// Element type; `undefined` when the file gives no type.
  data_type elem_type = data_type::undefined;
  /// False when the file gives no shape at all (rank unknown).
  bool has_shape = false;
  std::vector<dimension> shape;
};

/// A computation graph. After `try_read_model` its nodes are in topological order.
struct graph {
  std::string name;
  std::vector<node> nodes;
  /// Initializers by name (names are unique).
  std::map<std::string, tensor, std::less<>> initializers;
  std::vector<value_info> inputs;
  std::vector<value_info> outputs;
  std::vector<value_info> value_infos;

  /// The initializer named `name`, or nullptr. (For names routed through `Identity` nodes see
  /// `resolve_initializer_aliases` in onnx/graph.hpp.)
  [[nodiscard]] const tensor* find_initializer(std::string_view name) const {
    auto it = initializers.find(name);
    return it == initializers.end() ? nullptr : &it->second;
  }
};

/// An operator-set import (`OperatorSetIdProto`).
struct opset {
  /// Empty (or "ai.onnx") for the default ONNX domain.
  std::string domain;
  std::int64_t version = 0;
};

/// A decoded, validated ONNX model.
struct model {
  std::int64_t ir_version = 0;
  std::vector<opset> opsets;
  std::string producer_name;
  std::string producer_version;
  graph g;

  /// The opset version of the default ONNX domain (validated to lie in 11..17), or 0 if absent.
  [[nodiscard]] std::int64_t opset_version() const noexcept {
    for (const opset& o : opsets) {
      if (o.domain.empty() || o.domain == "ai.onnx") return o.version;
    }
    return 0;
  }
};

// ---------------------------------------------------------------------------------------------
// Typed attribute lookups. A missing attribute yields the fallback (or, without one, an error);
// an attribute of the wrong type is always an error naming the node, the attribute and both types.

/// The attribute named `name`, or nullptr.
inline const attribute* find_attribute(const node& n, std::string_view name) noexcept {
  for (const attribute& a : n.attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

namespace detail {

/// A name from the file, made safe to print: at most 80 bytes, non-printables as '?'.
inline std::string printable(std::string_view s) {
  constexpr std::size_t max_len = 80;
  std::string out;
  for (std::size_t k = 0; k < s.size() && k < max_len; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '?';
  }
  if (s.size() > max_len) out += "...";
  return out;
}

inline status attribute_type_error(const node& n, const attribute& a, attribute_type wanted) {
  return make_status(errc::invalid_model, "onnx: node '", printable(n.name), "' (", printable(n.op_type),
                     "): attribute '", printable(a.name), "' is ", to_string(a.type), ", expected ",
                     to_string(wanted));
}

inline status attribute_missing_error(const node& n, std::string_view name) {
  return make_status(errc::invalid_model, "onnx: node '", printable(n.name), "' (", printable(n.op_type),
                     "): required attribute '", printable(name), "' is missing");
}

/// Shared body of the typed lookups: `Get` extracts the value of an attribute of type `Wanted`.
template <class T, class Get>
result<T> lookup_attribute(const node& n, std::string_view name, attribute_type wanted, const T* fallback,
                           Get get) {
  const attribute* a = find_attribute(n, name);
  if (a == nullptr) {
    if (fallback != nullptr) return *fallback;
    return attribute_missing_error(n, name);
  }
  if (a->type != wanted) return attribute_type_error(n, *a, wanted);
  return get(*a);
}

}  // namespace detail

/// An INT attribute, or `fallback` when absent.
inline result<std::int64_t> attr_int(const node& n, std::string_view name, std::int64_t fallback) {
  return detail::lookup_attribute<std::int64_t>(n, name, attribute_type::integer, &fallback,
                                                [](const attribute& a) { return a.i; });
}
/// A required INT attribute.
inline result<std::int64_t> attr_int(const node& n, std::string_view name) {
  return detail::lookup_attribute<std::int64_t>(n, name, attribute_type::integer, nullptr,
                                                [](const attribute& a) { return a.i; });
}
/// A FLOAT attribute, or `fallback` when absent.
inline result<float> attr_float(const node& n, std::string_view name, float fallback) {
  return detail::lookup_attribute<float>(n, name, attribute_type::floating, &fallback,
                                         [](const attribute& a) { return a.f; });
}
/// A required FLOAT attribute.
inline result<float> attr_float(const node& n, std::string_view name) {
  return detail::lookup_attribute<float>(n, name, attribute_type::floating, nullptr,
                                         [](const attribute& a) { return a.f; });
}
/// An INTS attribute, or `fallback` when absent.
inline result<std::vector<std::int64_t>> attr_ints(const node& n, std::string_view name,
                                                   std::vector<std::int64_t> fallback) {
  return detail::lookup_attribute<std::vector<std::int64_t>>(n, name, attribute_type::ints, &fallback,
                                                             [](const attribute& a) { return a.ints; });
}
/// A required INTS attribute.
inline result<std::vector<std::int64_t>> attr_ints(const node& n, std::string_view name) {
  return detail::lookup_attribute<std::vector<std::int64_t>>(n, name, attribute_type::ints, nullptr,
                                                             [](const attribute& a) { return a.ints; });
}
/// A FLOATS attribute, or `fallback` when absent.
inline result<std::vector<float>> attr_floats(const node& n, std::string_view name,
                                              std::vector<float> fallback) {
  return detail::lookup_attribute<std::vector<float>>(n, name, attribute_type::floats, &fallback,
                                                      [](const attribute& a) { return a.floats; });
}
/// A required FLOATS attribute.
inline result<std::vector<float>> attr_floats(const node& n, std::string_view name) {
  return detail::lookup_attribute<std::vector<float>>(n, name, attribute_type::floats, nullptr,
                                                      [](const attribute& a) { return a.floats; });
}
/// A STRING attribute, or `fallback` when absent.
inline result<std::string> attr_string(const node& n, std::string_view name, std::string fallback) {
  return detail::lookup_attribute<std::string>(n, name, attribute_type::string, &fallback,
                                               [](const attribute& a) { return a.s; });
}
/// A required STRING attribute.
inline result<std::string> attr_string(const node& n, std::string_view name) {
  return detail::lookup_attribute<std::string>(n, name, attribute_type::string, nullptr,
                                               [](const attribute& a) { return a.s; });
}
/// A required TENSOR attribute (e.g. `Constant`'s `value`); the pointer refers into `n`.
inline result<const tensor*> attr_tensor(const node& n, std::string_view name) {
  const attribute* a = find_attribute(n, name);
  if (a == nullptr) return detail::attribute_missing_error(n, name);
  if (a->type != attribute_type::tensor || !a->t) {
    return detail::attribute_type_error(n, *a, attribute_type::tensor);
  }
  return &*a->t;
}

}  // namespace ohq::io::onnx

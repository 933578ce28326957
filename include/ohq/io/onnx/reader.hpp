// SPDX-License-Identifier: MIT
/// @file Defines `ohq::io::onnx::try_read_model` / `try_load_model`: decoding and validating an ONNX file.
///
/// Decodes the subset of `onnx.proto` listed in docs/io.md into `onnx::model` with the bounds-checked
/// wire decoder of protobuf.hpp, then validates it (`validate`). Every error names the field path
/// (`graph.node[12].attribute[3]`), the node/attribute/tensor names on that path and, for decoding
/// errors, the byte offset. Resource bounds (`read_options`) cap the file size, the memory the
/// decoded model may take, the element count of one tensor and the message nesting depth; no
/// allocation is sized by a count read from the file before that count is checked against the bytes
/// that hold it.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <ohq/core/error.hpp>
#include <ohq/io/detail/no_throw.hpp>
#include <ohq/io/file.hpp>
#include <ohq/io/onnx/model.hpp>
#include <ohq/io/protobuf.hpp>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ohq::io::onnx {

/// Lowest opset of the default ONNX domain that ohq reads.
inline constexpr std::int64_t min_opset_version = 11;
/// Highest opset of the default ONNX domain that ohq reads.
inline constexpr std::int64_t max_opset_version = 17;
/// Lowest IR version (3 introduced `opset_import`).
inline constexpr std::int64_t min_ir_version = 3;

/// Resource bounds of the reader. Hitting one is an `errc::limit_exceeded` error naming it.
struct read_options {
  /// Largest input accepted, in bytes (protobuf itself caps a message at 2 GiB).
  std::size_t max_file_bytes = std::size_t{2} << 30;
  /// The decoded model may take at most (input size + this) bytes: every decoded string, array
  /// element and struct is charged as it is created. Raw tensor data decodes 1:1, so this slack
  /// only has to cover per-object overhead and varint-packed integers (up to 8 bytes per byte).
  std::size_t memory_slack_bytes = std::size_t{64} << 20;
  /// Largest element count of one tensor (product of its dims).
  std::uint64_t max_tensor_elements = std::uint64_t{1} << 31;
  /// Deepest nesting of messages (the subset read needs 7: model.graph.input.type.tensor_type.shape.dim).
  int max_nesting_depth = 16;
};

namespace detail {

using protobuf::field;
using protobuf::reader;
using protobuf::wire_type;

inline constexpr std::size_t no_index = static_cast<std::size_t>(-1);

/// One step of the field path of the message being decoded; lives on the stack of the decoder.
struct path {
  const path* parent = nullptr;
  std::string_view step;                ///< "graph", "node", ...; empty for the model itself
  std::size_t index = no_index;         ///< position in a repeated field
  std::string_view kind;                ///< label word: "node", "attribute", "tensor", "value"
  const std::string* label = nullptr;   ///< the object's name, read as decoding goes
  const std::string* label2 = nullptr;  ///< a node's op_type
};

/// "graph.node[12].attribute[3] [node 'conv1' (Conv), attribute 'pads']".
inline std::string format_path(const path* p) {
  std::vector<const path*> chain;
  for (; p != nullptr; p = p->parent) chain.push_back(p);
  std::string where;
  std::string labels;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const path& s = **it;
    if (s.step.empty()) continue;
    if (!where.empty()) where += '.';
    where += s.step;
    if (s.index != no_index) where += '[' + std::to_string(s.index) + ']';
    const bool named = s.label != nullptr && !s.label->empty();
    const bool typed = s.label2 != nullptr && !s.label2->empty();
    if (named || typed) {
      if (!labels.empty()) labels += ", ";
      labels += s.kind;
      if (named) labels += " '" + printable(*s.label) + "'";
      if (typed) labels += " (" + printable(*s.label2) + ")";
    }
  }
  if (where.empty()) where = "model";
  if (!labels.empty()) where += " [" + labels + "]";
  return where;
}

inline std::string format_dims(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (k == 8) {
      s += ", ...";
      break;
    }
    if (k != 0) s += ", ";
    s += std::to_string(dims[k]);
  }
  return s + "]";
}

/// Error at a path, with the byte offset when known.
template <class... Parts>
status error_at(errc code, const path& p, std::size_t offset, const Parts&... parts) {
  if (offset == no_index) return make_status(code, "onnx: ", format_path(&p), ": ", parts...);
  return make_status(code, "onnx: ", format_path(&p), ": ", parts..., " at byte offset ", offset);
}

/// Decoding state: options and the remaining memory budget.
class decoder {
 public:
  decoder(const read_options& opt, std::size_t input_size) : opt_(opt) {
    const std::size_t max = std::numeric_limits<std::size_t>::max();
    budget_ = input_size > max - opt.memory_slack_bytes ? max : input_size + opt.memory_slack_bytes;
    limit_ = budget_;
  }

  [[nodiscard]] const read_options& options() const noexcept { return opt_; }

  /// Prefixes a wire-level error with the path.
  static status wrap(status s, const path& p) {
    if (s.ok()) return s;
    return make_status(s.code(), "onnx: ", format_path(&p), ": ", s.message());
  }

  /// Charges `bytes` of decoded memory against the budget.
  status charge(const path& p, std::size_t offset, std::size_t bytes) {
    if (bytes > budget_) {
      return error_at(errc::limit_exceeded, p, offset, "decoded model exceeds the memory limit of ", limit_,
                      " bytes (input size + read_options::memory_slack_bytes)");
    }
    budget_ -= bytes;
    return {};
  }

  static status want(const field& f, wire_type t, const path& p, std::string_view name) {
    if (f.type == t) return {};
    return error_at(errc::parse_error, p, f.offset, "field ", f.number, " (", name, ") has wire type ",
                    protobuf::to_string(f.type), ", expected ", protobuf::to_string(t));
  }

  status read_string(const field& f, const path& p, std::string_view name, std::string& out) {
    OHQ_TRY_STATUS(want(f, wire_type::length_delimited, p, name));
    OHQ_TRY_STATUS(charge(p, f.offset, f.payload.size()));
    out.assign(f.as_string());
    return {};
  }

  status push_string(const field& f, const path& p, std::string_view name, std::vector<std::string>& out) {
    OHQ_TRY_STATUS(want(f, wire_type::length_delimited, p, name));
    OHQ_TRY_STATUS(charge(p, f.offset, sizeof(std::string) + f.payload.size()));
    out.emplace_back(f.as_string());
    return {};
  }

  static status read_int64(const field& f, const path& p, std::string_view name, std::int64_t& out) {
    OHQ_TRY_STATUS(want(f, wire_type::varint, p, name));
    out = f.as_int64();
    return {};
  }

  static status read_int32(const field& f, const path& p, std::string_view name, std::int32_t& out) {
    OHQ_TRY_STATUS(want(f, wire_type::varint, p, name));
    const std::int64_t v = f.as_int64();
    if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max()) {
      return error_at(errc::parse_error, p, f.offset, name, " = ", v, " does not fit in int32");
    }
    out = static_cast<std::int32_t>(v);
    return {};
  }

  static status read_float(const field& f, const path& p, std::string_view name, float& out) {
    OHQ_TRY_STATUS(want(f, wire_type::fixed32, p, name));
    out = f.as_float();
    return {};
  }

  /// A repeated float field, packed or not.
  status append_floats(const field& f, const path& p, std::string_view name, std::vector<float>& out) {
    if (f.type == wire_type::fixed32) {
      OHQ_TRY_STATUS(charge(p, f.offset, sizeof(float)));
      out.push_back(f.as_float());
      return {};
    }
    OHQ_TRY_STATUS(want_packed(f, wire_type::fixed32, p, name));
    const std::size_t count = f.payload.size() / 4;  // bounded by the bytes present
    OHQ_TRY_STATUS(charge(p, f.offset, count * sizeof(float)));
    if constexpr (std::endian::native == std::endian::little) {
      if (f.payload.size() % 4 == 0) {
        const std::size_t old = out.size();
        out.resize(old + count);
        if (count != 0) std::memcpy(out.data() + old, f.payload.data(), count * sizeof(float));
        return {};
      }
    }
    out.reserve(out.size() + count);
    return wrap(protobuf::for_each_packed_fixed32(f,
                                                  [&](std::uint32_t v) {
                                                    out.push_back(std::bit_cast<float>(v));
                                                    return status();
                                                  }),
                p);
  }

  /// A repeated int64 field, packed or not.
  status append_int64s(const field& f, const path& p, std::string_view name, std::vector<std::int64_t>& out) {
    if (f.type == wire_type::varint) {
      OHQ_TRY_STATUS(charge(p, f.offset, sizeof(std::int64_t)));
      out.push_back(f.as_int64());
      return {};
    }
    OHQ_TRY_STATUS(want_packed(f, wire_type::varint, p, name));
    std::size_t count = 0;
    OHQ_TRY_STATUS(wrap(protobuf::count_packed_varints(f, count), p));
    OHQ_TRY_STATUS(charge(p, f.offset, count * sizeof(std::int64_t)));
    out.reserve(out.size() + count);
    return wrap(protobuf::for_each_packed_varint(f,
                                                 [&](std::uint64_t v) {
                                                   out.push_back(static_cast<std::int64_t>(v));
                                                   return status();
                                                 }),
                p);
  }

  /// A repeated int32 field (packed or not), widened to int64; values must fit in int32.
  status append_int32s(const field& f, const path& p, std::string_view name, std::vector<std::int64_t>& out) {
    const std::size_t first = out.size();
    OHQ_TRY_STATUS(append_int64s(f, p, name, out));
    for (std::size_t k = first; k < out.size(); ++k) {
      if (out[k] < std::numeric_limits<std::int32_t>::min() ||
          out[k] > std::numeric_limits<std::int32_t>::max()) {
        return error_at(errc::parse_error, p, f.offset, name, " value ", out[k], " does not fit in int32");
      }
    }
    return {};
  }

  /// A reader over the sub-message in `f`, one level deeper than `parent`.
  static status enter(const field& f, const path& p, std::string_view name, const reader& parent,
                      reader& out) {
    OHQ_TRY_STATUS(want(f, wire_type::length_delimited, p, name));
    return wrap(parent.enter(f, out), p);
  }

 private:
  static status want_packed(const field& f, wire_type element, const path& p, std::string_view name) {
    if (f.type == wire_type::length_delimited) return {};
    return error_at(errc::parse_error, p, f.offset, "field ", f.number, " (", name, ") has wire type ",
                    protobuf::to_string(f.type), ", expected ", protobuf::to_string(element),
                    " or packed (length-delimited)");
  }

  const read_options& opt_;
  std::size_t budget_ = 0;
  std::size_t limit_ = 0;
};

/// Rejects a field that would need a feature ohq does not read.
template <class... Parts>
status unsupported_at(const path& p, const field& f, const Parts&... parts) {
  return error_at(errc::unsupported, p, f.offset, parts...);
}

inline std::size_t element_size(data_type t) noexcept { return t == data_type::int64 ? 8 : 4; }

/// Decodes little-endian raw_data into the tensor's value vector.
inline void decode_raw(tensor& t, std::span<const std::byte> raw) {
  const std::size_t n = raw.size() / element_size(t.type);
  if constexpr (std::endian::native == std::endian::little) {
    if (t.type == data_type::float32) {
      t.floats.resize(n);
      if (n != 0) std::memcpy(t.floats.data(), raw.data(), n * sizeof(float));
      return;
    }
    if (t.type == data_type::int64) {
      t.ints.resize(n);
      if (n != 0) std::memcpy(t.ints.data(), raw.data(), n * sizeof(std::int64_t));
      return;
    }
  }
  if (t.type == data_type::float32) {
    t.floats.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::uint32_t v = 0;
      for (int b = 0; b < 4; ++b) v |= static_cast<std::uint32_t>(raw[4 * k + b]) << (8 * b);
      t.floats[k] = std::bit_cast<float>(v);
    }
  } else if (t.type == data_type::int64) {
    t.ints.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::uint64_t v = 0;
      for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(raw[8 * k + b]) << (8 * b);
      t.ints[k] = static_cast<std::int64_t>(v);
    }
  } else {  // int32
    t.ints.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::uint32_t v = 0;
      for (int b = 0; b < 4; ++b) v |= static_cast<std::uint32_t>(raw[4 * k + b]) << (8 * b);
      t.ints[k] = static_cast<std::int32_t>(v);
    }
  }
}

inline status decode_tensor(decoder& d, reader r, tensor& t, const path& p) {
  std::int32_t type = 0;
  std::int32_t data_location = 0;
  bool has_raw = false;
  bool has_external = false;
  std::span<const std::byte> raw;
  std::size_t raw_offset = 0;
  std::vector<std::int64_t> int64_data;
  std::vector<std::int64_t> int32_data;
  const std::size_t start = r.offset();
  field f;
  while (!r.at_end()) {
    OHQ_TRY_STATUS(decoder::wrap(r.next(f), p));
    switch (f.number) {
      case 1:
        OHQ_TRY_STATUS(d.append_int64s(f, p, "dims", t.dims));
        break;
      case 2:
        OHQ_TRY_STATUS(decoder::read_int32(f, p, "data_type", type));
        break;
      case 3:
        return unsupported_at(p, f, "segmented tensors (TensorProto.segment) are not supported");
      case 4:
        OHQ_TRY_STATUS(d.append_floats(f, p, "float_data", t.floats));
        break;
      case 5:
        OHQ_TRY_STATUS(d.append_int32s(f, p, "int32_data", int32_data));
        break;
      case 6:
        return unsupported_at(p, f, "string tensors (string_data) are not supported");
      case 7:
        OHQ_TRY_STATUS(d.append_int64s(f, p, "int64_data", int64_data));
        break;
      case 8:
        OHQ_TRY_STATUS(d.read_string(f, p, "name", t.name));
        break;
      case 9:
        OHQ_TRY_STATUS(decoder::want(f, wire_type::length_delimited, p, "raw_data"));
        has_raw = true;
        raw = f.payload;
        raw_offset = f.offset;
        break;
      case 10:
        return unsupported_at(p, f,
                              "double_data is not supported (ohq reads FLOAT, INT64 and INT32 tensors)");
      case 11:
        return unsupported_at(p, f,
                              "uint64_data is not supported (ohq reads FLOAT, INT64 and INT32 tensors)");
      case 13:
        has_external = true;
        break;
      case 14:
        OHQ_TRY_STATUS(decoder::read_int32(f, p, "data_location", data_location));
        break;
      default:
        break;  // doc_string and unknown fields
    }
  }
  if (has_external || data_location == 1) {
    return error_at(
        errc::unsupported, p, start,
        "tensor data is stored in an external file (external_data / data_location = EXTERNAL); "
        "re-save the model with the weights embedded (onnx.save(model, path, save_as_external_data=False))");
  }
  t.type = static_cast<data_type>(type);
  if (t.type != data_type::float32 && t.type != data_type::int64 && t.type != data_type::int32) {
    return error_at(errc::unsupported, p, start, "data_type ", to_string(t.type), " (", type,
                    ") is not supported; ohq reads FLOAT, INT64 and INT32 tensors");
  }
  // Shape: non-negative, product without overflow and within the element limit.
  std::uint64_t count = 1;
  bool zero = false;
  for (std::size_t k = 0; k < t.dims.size(); ++k) {
    if (t.dims[k] < 0) {
      return error_at(errc::invalid_model, p, start, "negative dimension dims[", k, "] = ", t.dims[k],
                      " in dims ", format_dims(t.dims));
    }
    if (t.dims[k] == 0) zero = true;
  }
  if (zero) {
    count = 0;
  } else {
    for (std::int64_t dim : t.dims) {
      const auto u = static_cast<std::uint64_t>(dim);
      if (count > std::numeric_limits<std::uint64_t>::max() / u) {
        return error_at(errc::invalid_model, p, start, "the product of dims ", format_dims(t.dims),
                        " overflows 64 bits");
      }
      count *= u;
    }
  }
  if (count > d.options().max_tensor_elements) {
    return error_at(errc::limit_exceeded, p, start, "dims ", format_dims(t.dims), " give ", count,
                    " elements, more than the limit of ", d.options().max_tensor_elements,
                    " (read_options::max_tensor_elements)");
  }
  // Data: exactly one source, matching the type, with exactly `count` elements.
  const int sources =
      int{has_raw} + int{!t.floats.empty()} + int{!int64_data.empty()} + int{!int32_data.empty()};
  if (sources > 1) {
    return error_at(errc::invalid_model, p, start,
                    "tensor data is given in more than one field "
                    "(raw_data, float_data, int64_data, int32_data)");
  }
  const std::string_view type_name = to_string(t.type);
  if ((!t.floats.empty() && t.type != data_type::float32) ||
      (!int64_data.empty() && t.type != data_type::int64) ||
      (!int32_data.empty() && t.type != data_type::int32)) {
    const char* field_name = !t.floats.empty()     ? "float_data"
                             : !int64_data.empty() ? "int64_data"
                                                   : "int32_data";
    return error_at(errc::invalid_model, p, start, "a ", type_name, " tensor carries ", field_name);
  }
  std::uint64_t have = 0;
  if (has_raw) {
    const std::size_t es = element_size(t.type);
    if (raw.size() % es != 0) {
      return error_at(errc::invalid_model, p, raw_offset, "raw_data has ", raw.size(),
                      " bytes, not a multiple of ", es, " (the size of ", type_name, ")");
    }
    have = raw.size() / es;
  } else if (t.type == data_type::float32) {
    have = t.floats.size();
  } else if (t.type == data_type::int64) {
    have = int64_data.size();
  } else {
    have = int32_data.size();
  }
  if (have != count) {
    if (have == 0) {
      return error_at(errc::invalid_model, p, start, "tensor has no data but dims ", format_dims(t.dims),
                      " give ", count, " elements");
    }
    const char* source = has_raw                        ? "raw_data"
                         : t.type == data_type::float32 ? "float_data"
                         : t.type == data_type::int64   ? "int64_data"
                                                        : "int32_data";
    return error_at(errc::invalid_model, p, start, "tensor holds ", have, " elements (", source,
                    ") but dims ", format_dims(t.dims), " give ", count);
  }
  if (has_raw) {
    const std::size_t decoded_size = t.type == data_type::float32 ? sizeof(float) : sizeof(std::int64_t);
    OHQ_TRY_STATUS(d.charge(p, raw_offset, static_cast<std::size_t>(count) * decoded_size));
    decode_raw(t, raw);
  } else if (t.type == data_type::int64) {
    t.ints = std::move(int64_data);
  } else if (t.type == data_type::int32) {
    t.ints = std::move(int32_data);
  }
  return {};
}

inline status decode_attribute(decoder& d, reader r, attribute& a, const path& p) {
  std::int32_t type = 0;
  std::uint32_t seen = 0;  // bit k set when value field k was present (k < 32)
  field f;
  while (!r.at_end()) {
    OHQ_TRY_STATUS(decoder::wrap(r.next(f), p));
    if (f.number < 32) seen |= std::uint32_t{1} << f.number;
    switch (f.number) {
      case 1:
        OHQ_TRY_STATUS(d.read_string(f, p, "name", a.name));
        break;
      case 2:
        OHQ_TRY_STATUS(decoder::read_float(f, p, "f", a.f));
        break;
      case 3:
        OHQ_TRY_STATUS(decoder::read_int64(f, p, "i", a.i));
        break;
      case 4:
        OHQ_TRY_STATUS(d.read_string(f, p, "s", a.s));
        break;
      case 5: {
        reader sub;
        OHQ_TRY_STATUS(decoder::enter(f, p, "t", r, sub));
        OHQ_TRY_STATUS(d.charge(p, f.offset, sizeof(tensor)));
        a.t.emplace();
        const path tp{&p, "t", no_index, "tensor", &a.t->name, nullptr};
        OHQ_TRY_STATUS(decode_tensor(d, sub, *a.t, tp));
        break;
      }
      case 6:
      case 11:
        return unsupported_at(p, f,
                              "subgraph attributes (GRAPH/GRAPHS, the bodies of If, Loop and Scan) are not "
                              "supported");
      case 7:
        OHQ_TRY_STATUS(d.append_floats(f, p, "floats", a.floats));
        break;
      case 8:
        OHQ_TRY_STATUS(d.append_int64s(f, p, "ints", a.ints));
        break;
      case 9:
        OHQ_TRY_STATUS(d.push_string(f, p, "strings", a.strings));
        break;
      case 10:
        return unsupported_at(p, f, "TENSORS attributes are not supported");
      case 14:
      case 15:
        return unsupported_at(p, f, "TYPE_PROTO attributes are not supported");
      case 20:
        OHQ_TRY_STATUS(decoder::read_int32(f, p, "type", type));
        break;
      case 21:
        return unsupported_at(p, f, "attribute references (ref_attr_name) are only valid inside functions");
      case 22:
      case 23:
        return unsupported_at(p, f, "sparse tensor attributes are not supported");
      default:
        break;  // doc_string and unknown fields
    }
  }
  if (a.name.empty()) return error_at(errc::invalid_model, p, r.offset(), "attribute has no name");
  if (type == 0) {
    // Files older than IR 2 carry no type: infer it from the one value field present.
    constexpr std::pair<std::uint32_t, attribute_type> by_field[] = {
        {2, attribute_type::floating}, {3, attribute_type::integer}, {4, attribute_type::string},
        {5, attribute_type::tensor},   {7, attribute_type::floats},  {8, attribute_type::ints},
        {9, attribute_type::strings}};
    int found = 0;
    for (const auto& [number, t] : by_field) {
      if ((seen & (std::uint32_t{1} << number)) != 0) {
        a.type = t;
        ++found;
      }
    }
    if (found != 1) {
      return error_at(errc::invalid_model, p, no_index, "attribute has no type and ",
                      found == 0 ? "no value" : "several values");
    }
    return {};
  }
  a.type = static_cast<attribute_type>(type);
  switch (a.type) {
    case attribute_type::floating:
    case attribute_type::integer:
    case attribute_type::string:
    case attribute_type::floats:
    case attribute_type::ints:
    case attribute_type::strings:
      return {};
    case attribute_type::tensor:
      if (!a.t) return error_at(errc::invalid_model, p, no_index, "TENSOR attribute has no tensor (field t)");
      return {};
    case attribute_type::graph:
    case attribute_type::graphs:
      return error_at(
          errc::unsupported, p, no_index,
          "subgraph attributes (GRAPH/GRAPHS, the bodies of If, Loop and Scan) are not supported");
    case attribute_type::tensors:
    case attribute_type::sparse_tensor:
    case attribute_type::sparse_tensors:
    case attribute_type::type_proto:
    case attribute_type::type_protos:
      return error_at(errc::unsupported, p, no_index, to_string(a.type), " attributes are not supported");
    case attribute_type::undefined:
      break;
  }
  return error_at(errc::invalid_model, p, no_index, "unknown attribute type ", type);
}

inline status decode_node(decoder& d, reader r, node& n, const path& p) {
  field f;
  while (!r.at_end()) {
    OHQ_TRY_STATUS(decoder::wrap(r.next(f), p));
    switch (f.number) {
      case 1:
        OHQ_TRY_STATUS(d.push_string(f, p, "input", n.inputs));
        break;
      case 2:
        OHQ_TRY_STATUS(d.push_string(f, p, "output", n.outputs));
        break;
      case 3:
        OHQ_TRY_STATUS(d.read_string(f, p, "name", n.name));
        break;
      case 4:
        OHQ_TRY_STATUS(d.read_string(f, p, "op_type", n.op_type));
        break;
      case 5: {
        reader sub;
        OHQ_TRY_STATUS(decoder::enter(f, p, "attribute", r, sub));
        OHQ_TRY_STATUS(d.charge(p, f.offset, sizeof(attribute)));
        attribute& a = n.attributes.emplace_back();
        const path ap{&p, "attribute", n.attributes.size() - 1, "attribute", &a.name, nullptr};
        OHQ_TRY_STATUS(decode_attribute(d, sub, a, ap));
        break;
      }
      case 7:
        OHQ_TRY_STATUS(d.read_string(f, p, "domain", n.domain));
        break;
      default:
        break;  // doc_string, overload and unknown fields
    }
  }
  if (n.op_type.empty()) return error_at(errc::invalid_model, p, r.offset(), "node has no op_type");
  return {};
}

inline status decode_value_info(decoder& d, reader r, value_info& v, const path& p) {
  field f;
  while (!r.at_end()) {
    OHQ_TRY_STATUS(decoder::wrap(r.next(f), p));
    if (f.number == 1) {
      OHQ_TRY_STATUS(d.read_string(f, p, "name", v.name));
    } else if (f.number == 2) {  // TypeProto
      reader type_r;
      const path tp{&p, "type", no_index, {}, nullptr, nullptr};
      OHQ_TRY_STATUS(decoder::enter(f, p, "type", r, type_r));
      field tf;
      while (!type_r.at_end()) {
        OHQ_TRY_STATUS(decoder::wrap(type_r.next(tf), tp));
        if (tf.number == 4 || tf.number == 5 || tf.number == 8 || tf.number == 9) {
          const char* kind = tf.number == 4   ? "a sequence"
                             : tf.number == 5 ? "a map"
                             : tf.number == 8 ? "a sparse tensor"
                                              : "an optional";
          return unsupported_at(tp, tf, "value has ", kind, " type; only dense tensors are supported");
        }
        if (tf.number != 1) continue;  // denotation and unknown fields
        reader tensor_r;
        const path ttp{&tp, "tensor_type", no_index, {}, nullptr, nullptr};
        OHQ_TRY_STATUS(decoder::enter(tf, tp, "tensor_type", type_r, tensor_r));
        field sf;
        while (!tensor_r.at_end()) {
          OHQ_TRY_STATUS(decoder::wrap(tensor_r.next(sf), ttp));
          if (sf.number == 1) {
            std::int32_t et = 0;
            OHQ_TRY_STATUS(decoder::read_int32(sf, ttp, "elem_type", et));
            v.elem_type = static_cast<data_type>(et);
          } else if (sf.number == 2) {  // TensorShapeProto
            reader shape_r;
            const path sp{&ttp, "shape", no_index, {}, nullptr, nullptr};
            OHQ_TRY_STATUS(decoder::enter(sf, ttp, "shape", tensor_r, shape_r));
            v.has_shape = true;
            field df;
            while (!shape_r.at_end()) {
              OHQ_TRY_STATUS(decoder::wrap(shape_r.next(df), sp));
              if (df.number != 1) continue;
              reader dim_r;
              const path dp{&sp, "dim", v.shape.size(), {}, nullptr, nullptr};
              OHQ_TRY_STATUS(decoder::enter(df, sp, "dim", shape_r, dim_r));
              OHQ_TRY_STATUS(d.charge(sp, df.offset, sizeof(dimension)));
              dimension& dim = v.shape.emplace_back();
              field xf;
              while (!dim_r.at_end()) {
                OHQ_TRY_STATUS(decoder::wrap(dim_r.next(xf), dp));
                if (xf.number == 1) {
                  OHQ_TRY_STATUS(decoder::read_int64(xf, dp, "dim_value", dim.value));
                  if (dim.value < 0) {
                    return error_at(errc::invalid_model, dp, xf.offset, "negative dimension ", dim.value);
                  }
                  dim.param.clear();
                } else if (xf.number == 2) {
                  OHQ_TRY_STATUS(d.read_string(xf, dp, "dim_param", dim.param));
                  dim.value = -1;
                }
              }
            }
          }
        }
      }
    }
  }
  if (v.name.empty()) return error_at(errc::invalid_model, p, r.offset(), "value has no name");
  return {};
}

inline status decode_graph(decoder& d, reader r, graph& g, const path& p) {
  std::size_t initializer_count = 0;
  field f;
  const auto value_list = [&](std::vector<value_info>& list, std::string_view name) -> status {
    reader sub;
    OHQ_TRY_STATUS(decoder::enter(f, p, name, r, sub));
    OHQ_TRY_STATUS(d.charge(p, f.offset, sizeof(value_info)));
    value_info& v = list.emplace_back();
    const path vp{&p, name, list.size() - 1, "value", &v.name, nullptr};
    return decode_value_info(d, sub, v, vp);
  };
  while (!r.at_end()) {
    OHQ_TRY_STATUS(decoder::wrap(r.next(f), p));
    switch (f.number) {
      case 1: {
        reader sub;
        OHQ_TRY_STATUS(decoder::enter(f, p, "node", r, sub));
        OHQ_TRY_STATUS(d.charge(p, f.offset, sizeof(node)));
        node& n = g.nodes.emplace_back();
        const path np{&p, "node", g.nodes.size() - 1, "node", &n.name, &n.op_type};
        OHQ_TRY_STATUS(decode_node(d, sub, n, np));
        break;
      }
      case 2:
        OHQ_TRY_STATUS(d.read_string(f, p, "name", g.name));
        break;
      case 5: {
        reader sub;
        OHQ_TRY_STATUS(decoder::enter(f, p, "initializer", r, sub));
        OHQ_TRY_STATUS(d.charge(p, f.offset, sizeof(tensor) + 64));  // + map node overhead
        tensor t;
        const path tp{&p, "initializer", initializer_count++, "tensor", &t.name, nullptr};
        OHQ_TRY_STATUS(decode_tensor(d, sub, t, tp));
        if (t.name.empty()) return error_at(errc::invalid_model, tp, f.offset, "initializer has no name");
        if (g.initializers.count(t.name) != 0) {
          return error_at(errc::invalid_model, tp, f.offset, "duplicate initializer name '",
                          printable(t.name), "'");
        }
        std::string key = t.name;
        g.initializers.emplace(std::move(key), std::move(t));
        break;
      }
      case 11:
        OHQ_TRY_STATUS(value_list(g.inputs, "input"));
        break;
      case 12:
        OHQ_TRY_STATUS(value_list(g.outputs, "output"));
        break;
      case 13:
        OHQ_TRY_STATUS(value_list(g.value_infos, "value_info"));
        break;
      case 15:
        return unsupported_at(p, f, "sparse initializers are not supported");
      default:
        break;  // doc_string, quantization_annotation and unknown fields
    }
  }
  return {};
}

inline status decode_model(decoder& d, reader r, model& m) {
  const path p{};
  bool has_graph = false;
  field f;
  while (!r.at_end()) {
    OHQ_TRY_STATUS(decoder::wrap(r.next(f), p));
    switch (f.number) {
      case 1:
        OHQ_TRY_STATUS(decoder::read_int64(f, p, "ir_version", m.ir_version));
        break;
      case 2:
        OHQ_TRY_STATUS(d.read_string(f, p, "producer_name", m.producer_name));
        break;
      case 3:
        OHQ_TRY_STATUS(d.read_string(f, p, "producer_version", m.producer_version));
        break;
      case 7: {
        if (has_graph) return error_at(errc::invalid_model, p, f.offset, "more than one graph field");
        has_graph = true;
        reader sub;
        const path gp{&p, "graph", no_index, {}, nullptr, nullptr};
        OHQ_TRY_STATUS(decoder::enter(f, p, "graph", r, sub));
        OHQ_TRY_STATUS(decode_graph(d, sub, m.g, gp));
        break;
      }
      case 8: {
        reader sub;
        const path op{&p, "opset_import", m.opsets.size(), {}, nullptr, nullptr};
        OHQ_TRY_STATUS(decoder::enter(f, p, "opset_import", r, sub));
        OHQ_TRY_STATUS(d.charge(p, f.offset, sizeof(opset)));
        opset& o = m.opsets.emplace_back();
        field of;
        while (!sub.at_end()) {
          OHQ_TRY_STATUS(decoder::wrap(sub.next(of), op));
          if (of.number == 1) OHQ_TRY_STATUS(d.read_string(of, op, "domain", o.domain));
          if (of.number == 2) OHQ_TRY_STATUS(decoder::read_int64(of, op, "version", o.version));
        }
        break;
      }
      default:
        break;  // domain, model_version, doc_string, metadata, training_info, functions, unknown
    }
  }
  if (!has_graph) return error_at(errc::invalid_model, p, no_index, "no graph (field 7)");
  return {};
}

inline bool is_default_domain(std::string_view domain) noexcept {
  return domain.empty() || domain == "ai.onnx";
}

}  // namespace detail

/// Checks a decoded model: IR version, opsets (default domain in 11..17, known domains), and a
/// well-formed graph (named inputs, unique value names, nodes in topological order reading only
/// graph inputs, initializers and outputs of earlier nodes, graph outputs produced). Tensor shapes
/// and data sizes are checked while decoding. `try_read_model` calls this; call it again after
/// editing a model.
inline status validate(const model& m) {
  using detail::error_at;
  using detail::no_index;
  using detail::path;
  using detail::printable;
  const path root{};
  if (m.ir_version < min_ir_version) {
    return error_at(errc::invalid_model, root, no_index, "ir_version ", m.ir_version,
                    m.ir_version == 0 ? " (missing)" : "", " is older than ", min_ir_version,
                    "; this is not an ONNX model ohq can read");
  }
  bool has_default = false;
  std::unordered_set<std::string_view> domains;  // "" stands for the default domain
  domains.reserve(m.opsets.size());
  for (std::size_t k = 0; k < m.opsets.size(); ++k) {
    const opset& o = m.opsets[k];
    const path op{&root, "opset_import", k, {}, nullptr, nullptr};
    const std::string_view key = detail::is_default_domain(o.domain) ? std::string_view{} : std::string_view{o.domain};
    if (!domains.insert(key).second) {
      return error_at(errc::invalid_model, op, no_index, "domain '", printable(o.domain), "' is imported twice");
    }
    if (detail::is_default_domain(o.domain)) {
      has_default = true;
      if (o.version < min_opset_version || o.version > max_opset_version) {
        return error_at(errc::unsupported, op, no_index, "opset ", o.version,
                        " of the default ONNX domain is not supported; ohq reads opsets ", min_opset_version,
                        " to ", max_opset_version, " (re-export with e.g. opset_version=13)");
      }
    }
  }
  if (!has_default) {
    return error_at(errc::invalid_model, root, no_index,
                    "no opset_import for the default ONNX domain (need an opset in ", min_opset_version, "..",
                    max_opset_version, ")");
  }

  const graph& g = m.g;
  const path gp{&root, "graph", no_index, {}, nullptr, nullptr};
  // Where each value comes from: -1 graph input, -2 initializer, k >= 0 node k.
  std::unordered_map<std::string_view, std::int64_t> defined;
  defined.reserve(g.initializers.size() + g.inputs.size() + g.nodes.size());
  for (const auto& [name, t] : g.initializers) defined.emplace(name, -2);
  // Duplicate checks use hash sets: a file of many inputs, outputs or attributes stays linear.
  std::unordered_set<std::string_view> names;
  names.reserve(g.inputs.size());
  for (std::size_t k = 0; k < g.inputs.size(); ++k) {
    const value_info& v = g.inputs[k];
    const path vp{&gp, "input", k, "value", &v.name, nullptr};
    if (!names.insert(v.name).second)
      return error_at(errc::invalid_model, vp, no_index, "duplicate graph input name");
    defined.emplace(v.name, -1);  // keeps -2 when the input has an initializer (a default value)
  }
  // All producers, so that a read-before-write can be told apart from an unknown name.
  std::unordered_map<std::string_view, std::size_t> producer;
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    for (const std::string& out : g.nodes[k].outputs) {
      if (!out.empty()) producer.emplace(out, k);
    }
  }
  const auto describe = [&](std::int64_t source) -> std::string {
    if (source == -1) return "a graph input";
    if (source == -2) return "an initializer";
    const auto k = static_cast<std::size_t>(source);
    return "the output of graph.node[" + std::to_string(k) + "] '" + printable(g.nodes[k].name) + "'";
  };
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    const node& n = g.nodes[k];
    const path np{&gp, "node", k, "node", &n.name, &n.op_type};
    if (!detail::is_default_domain(n.domain)) {
      if (domains.count(n.domain) == 0) {
        return error_at(errc::invalid_model, np, no_index, "domain '", printable(n.domain),
                        "' has no opset_import entry");
      }
    }
    names.clear();
    for (const attribute& a : n.attributes) {
      if (!names.insert(a.name).second) {
        return error_at(errc::invalid_model, np, no_index, "attribute '", printable(a.name), "' is given twice");
      }
    }
    for (const std::string& in : n.inputs) {
      if (in.empty() || defined.count(in) != 0) continue;
      auto later = producer.find(in);
      if (later != producer.end() && later->second >= k) {
        return error_at(
            errc::invalid_model, np, no_index, "input '", printable(in), "' is produced by graph.node[",
            later->second, "] '", printable(g.nodes[later->second].name),
            "', which does not come earlier: the graph has a cycle or is not topologically sorted");
      }
      return error_at(errc::invalid_model, np, no_index, "input '", printable(in),
                      "' is not a graph input, an initializer, or the output of any node");
    }
    for (const std::string& out : n.outputs) {
      if (out.empty()) continue;
      auto [it, inserted] = defined.emplace(out, static_cast<std::int64_t>(k));
      if (!inserted) {
        return error_at(errc::invalid_model, np, no_index, "duplicate output name '", printable(out),
                        "': already ", describe(it->second));
      }
    }
  }
  if (g.outputs.empty()) return error_at(errc::invalid_model, gp, no_index, "no outputs");
  names.clear();
  for (std::size_t k = 0; k < g.outputs.size(); ++k) {
    const value_info& v = g.outputs[k];
    const path vp{&gp, "output", k, "value", &v.name, nullptr};
    if (defined.count(v.name) == 0) {
      return error_at(errc::invalid_model, vp, no_index,
                      "graph output is not produced by any node, input or initializer");
    }
    if (!names.insert(v.name).second)
      return error_at(errc::invalid_model, vp, no_index, "duplicate graph output name");
  }
  return {};
}

/// Decodes and validates an ONNX model held in memory. Never throws.
inline result<model> try_read_model(std::span<const std::byte> bytes, const read_options& options = {}) {
  return io::detail::no_throw([&]() -> result<model> {
    if (bytes.empty()) return make_status(errc::parse_error, "onnx: the input is empty (0 bytes)");
    if (bytes.size() > options.max_file_bytes) {
      return make_status(errc::limit_exceeded, "onnx: the input has ", bytes.size(),
                         " bytes, more than the limit of ", options.max_file_bytes,
                         " (read_options::max_file_bytes)");
    }
    if (bytes.size() >= 4 && bytes[0] == std::byte{'P'} && bytes[1] == std::byte{'K'} &&
        bytes[2] == std::byte{3} && bytes[3] == std::byte{4}) {
      return make_status(
          errc::parse_error,
          "onnx: the input is a zip archive (a PyTorch checkpoint?), not an ONNX protobuf file");
    }
    detail::decoder d(options, bytes.size());
    model m;
    OHQ_TRY_STATUS(detail::decode_model(d, protobuf::reader(bytes, 0, 0, options.max_nesting_depth), m));
    OHQ_TRY_STATUS(validate(m));
    return m;
  });
}

/// Reads, decodes and validates the ONNX file at `path`; errors name the file. Never throws.
inline result<model> try_load_model(const std::filesystem::path& path, const read_options& options = {}) {
  return io::detail::no_throw([&]() -> result<model> {
    auto bytes = try_read_file(path, options.max_file_bytes);
    if (!bytes) return make_status(bytes.error().code(), "onnx: ", bytes.error().message());
    auto m = try_read_model(*bytes, options);
    if (m) return m;
    std::string message = m.error().message();
    constexpr std::string_view prefix = "onnx: ";
    if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
    return make_status(m.error().code(), "onnx: '", path.native(), "': ", message);
  });
}

#ifndef OHQ_NO_EXCEPTIONS
/// `try_read_model(bytes, options).value()`: throws `ohq::error` on a bad model.
inline model read_model(std::span<const std::byte> bytes, const read_options& options = {}) {
  return try_read_model(bytes, options).value();
}
/// `try_load_model(path, options).value()`: throws `ohq::error` on a bad or unreadable file.
inline model load_model(const std::filesystem::path& path, const read_options& options = {}) {
  return try_load_model(path, options).value();
}
#endif

}  // namespace ohq::io::onnx

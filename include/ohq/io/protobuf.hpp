// SPDX-License-Identifier: MIT
/// @file Defines `ohq::io::protobuf::reader`, a bounds-checked decoder of the protobuf wire format.
///
/// No protobuf dependency: the reader walks the tag/value stream of one message over a byte span.
/// Every length is checked against the bytes that remain before it is used, varints are at most
/// 10 bytes and must fit in 64 bits, group wire types (3, 4) and the invalid wire types (6, 7) are
/// rejected, and entering a nested message counts against a depth limit. Unknown fields need no
/// special handling: `next()` consumes any field of a valid wire type and the caller ignores it.
/// All errors are `errc::parse_error` and name the absolute byte offset.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ohq/core/error.hpp>
#include <span>
#include <string_view>

namespace ohq::io::protobuf {

/// The six wire types of the encoding; only 0, 1, 2 and 5 are accepted.
enum class wire_type : std::uint8_t {
  varint = 0,
  fixed64 = 1,
  length_delimited = 2,
  start_group = 3,  ///< deprecated groups: rejected
  end_group = 4,    ///< deprecated groups: rejected
  fixed32 = 5,
};

/// The wire type's name as used in error messages.
constexpr std::string_view to_string(wire_type t) noexcept {
  switch (t) {
    case wire_type::varint:
      return "varint";
    case wire_type::fixed64:
      return "fixed64";
    case wire_type::length_delimited:
      return "length-delimited";
    case wire_type::start_group:
      return "start-group";
    case wire_type::end_group:
      return "end-group";
    case wire_type::fixed32:
      return "fixed32";
  }
  return "invalid";
}

/// A varint takes at most this many bytes (64 bits, 7 per byte).
inline constexpr int max_varint_bytes = 10;
/// The largest field number protobuf allows (2^29 - 1).
inline constexpr std::uint32_t max_field_number = (std::uint32_t{1} << 29) - 1;
/// Nesting depth a reader allows by default (messages inside messages).
inline constexpr int default_max_depth = 32;

/// One decoded field: its number, wire type and value.
struct field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  /// The value of a varint, fixed32 or fixed64 field (fixed values in their little-endian bits).
  std::uint64_t scalar = 0;
  /// The payload of a length-delimited field (a view into the decoded buffer).
  std::span<const std::byte> payload;
  /// Absolute byte offset of the field's tag.
  std::size_t offset = 0;
  /// Absolute byte offset of the value (for length-delimited: of the payload, after the length).
  std::size_t payload_offset = 0;

  /// A fixed32 value read as an IEEE float.
  [[nodiscard]] float as_float() const noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(scalar));
  }
  /// A varint read as a two's-complement int64 (protobuf int64/int32 encoding).
  [[nodiscard]] std::int64_t as_int64() const noexcept { return static_cast<std::int64_t>(scalar); }
  /// A length-delimited payload read as text (bytes, not validated as UTF-8).
  [[nodiscard]] std::string_view as_string() const noexcept {
    return {reinterpret_cast<const char*>(payload.data()), payload.size()};
  }
};

/// A forward-only cursor over one message. Copying a reader is cheap (a span and three integers).
class reader {
 public:
  reader() = default;
  /// Reads `data`; `base_offset` is the absolute offset of `data[0]` (for error messages) and
  /// `depth` the nesting level of this message.
  explicit reader(std::span<const std::byte> data, std::size_t base_offset = 0, int depth = 0,
                  int max_depth = default_max_depth) noexcept
      : data_(data), base_(base_offset), depth_(depth), max_depth_(max_depth) {}

  /// True when every byte of the message was consumed.
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= data_.size(); }
  /// Absolute byte offset of the cursor.
  [[nodiscard]] std::size_t offset() const noexcept { return base_ + pos_; }
  /// Bytes left in this message.
  [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
  /// Nesting level of this message (0 for the outermost).
  [[nodiscard]] int depth() const noexcept { return depth_; }

  /// Reads a base-128 varint of at most 10 bytes whose value fits in 64 bits.
  status read_varint(std::uint64_t& out) {
    std::uint64_t value = 0;
    const std::size_t start = pos_;
    for (int i = 0; i < max_varint_bytes; ++i) {
      if (pos_ >= data_.size()) {
        return fail(start, "varint runs past the end of the message");
      }
      const auto byte = static_cast<std::uint8_t>(data_[pos_++]);
      if (i == max_varint_bytes - 1 && byte > 1) {
        // The 10th byte carries bit 63 only; anything else overflows 64 bits (or continues).
        return fail(start, "varint overflows 64 bits (10th byte is ", static_cast<unsigned>(byte), ")");
      }
      value |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * i);
      if ((byte & 0x80) == 0) {
        out = value;
        return {};
      }
    }
    return fail(start, "varint is longer than 10 bytes");  // unreachable: the 10th byte is <= 1
  }

  /// Reads 4 little-endian bytes.
  status read_fixed32(std::uint32_t& out) {
    if (remaining() < 4) return fail(pos_, "fixed32 value runs past the end of the message");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(data_[pos_ + i]) << (8 * i);
    pos_ += 4;
    out = v;
    return {};
  }

  /// Reads 8 little-endian bytes.
  status read_fixed64(std::uint64_t& out) {
    if (remaining() < 8) return fail(pos_, "fixed64 value runs past the end of the message");
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += 8;
    out = v;
    return {};
  }

  /// Reads the next field (tag and value). Fields of every valid wire type are consumed whole, so
  /// a caller skips an unknown field by ignoring it.
  status next(field& out) {
    const std::size_t tag_pos = pos_;
    std::uint64_t tag = 0;
    OHQ_TRY_STATUS(read_varint(tag));
    if (tag > 0xFFFFFFFFu) return fail(tag_pos, "field tag ", tag, " does not fit in 32 bits");
    const auto number = static_cast<std::uint32_t>(tag >> 3);
    const auto type = static_cast<std::uint8_t>(tag & 7);
    if (number == 0) return fail(tag_pos, "field number 0 is invalid");
    out.number = number;
    out.type = static_cast<wire_type>(type);
    out.scalar = 0;
    out.payload = {};
    out.offset = base_ + tag_pos;
    out.payload_offset = base_ + pos_;
    switch (out.type) {
      case wire_type::varint:
        return read_varint(out.scalar);
      case wire_type::fixed64:
        return read_fixed64(out.scalar);
      case wire_type::fixed32: {
        std::uint32_t v = 0;
        OHQ_TRY_STATUS(read_fixed32(v));
        out.scalar = v;
        return {};
      }
      case wire_type::length_delimited: {
        std::uint64_t length = 0;
        const std::size_t len_pos = pos_;
        OHQ_TRY_STATUS(read_varint(length));
        if (length > remaining()) {
          return fail(len_pos, "field ", number, " claims ", length, " bytes but only ", remaining(),
                      " remain in the message (length past the end)");
        }
        out.payload_offset = base_ + pos_;
        out.payload = data_.subspan(pos_, static_cast<std::size_t>(length));
        pos_ += static_cast<std::size_t>(length);
        return {};
      }
      case wire_type::start_group:
      case wire_type::end_group:
        return fail(tag_pos, "field ", number, " uses the group wire type ", static_cast<unsigned>(type),
                    ", which is not supported");
    }
    return fail(tag_pos, "field ", number, " has invalid wire type ", static_cast<unsigned>(type));
  }

  /// A reader over a length-delimited field's payload, one nesting level deeper.
  status enter(const field& f, reader& out) const {
    if (f.type != wire_type::length_delimited) {
      return fail_abs(f.offset, "field ", f.number, " is not a message (wire type ", to_string(f.type), ")");
    }
    if (depth_ + 1 > max_depth_) {
      return fail_abs(f.offset, "messages nested deeper than the limit of ", max_depth_, " levels");
    }
    out = reader(f.payload, f.payload_offset, depth_ + 1, max_depth_);
    return {};
  }

 private:
  template <class... Parts>
  status fail(std::size_t local_pos, const Parts&... parts) const {
    return fail_abs(base_ + local_pos, parts...);
  }
  template <class... Parts>
  static status fail_abs(std::size_t abs_pos, const Parts&... parts) {
    return make_status(errc::parse_error, parts..., " at byte offset ", abs_pos);
  }

  std::span<const std::byte> data_;
  std::size_t pos_ = 0;
  std::size_t base_ = 0;
  int depth_ = 0;
  int max_depth_ = default_max_depth;
};

/// The number of varints in a packed payload, checking that the last one is terminated. Lets a
/// caller check the decoded size against a budget before allocating.
inline status count_packed_varints(const field& f, std::size_t& count) {
  std::size_t n = 0;
  for (std::byte b : f.payload) {
    if ((static_cast<std::uint8_t>(b) & 0x80) == 0) ++n;
  }
  if (!f.payload.empty() && (static_cast<std::uint8_t>(f.payload.back()) & 0x80) != 0) {
    return make_status(errc::parse_error, "packed field ", f.number, " ends inside a varint at byte offset ",
                       f.payload_offset + f.payload.size());
  }
  count = n;
  return {};
}

/// Calls `fn(std::uint64_t)` for every varint of a packed payload; stops at the first error.
template <class Fn>
status for_each_packed_varint(const field& f, Fn&& fn) {
  reader r(f.payload, f.payload_offset);
  while (!r.at_end()) {
    std::uint64_t v = 0;
    OHQ_TRY_STATUS(r.read_varint(v));
    OHQ_TRY_STATUS(fn(v));
  }
  return {};
}

/// Calls `fn(std::uint32_t)` for every 4-byte value of a packed payload.
template <class Fn>
status for_each_packed_fixed32(const field& f, Fn&& fn) {
  if (f.payload.size() % 4 != 0) {
    return make_status(errc::parse_error, "packed fixed32 field ", f.number, " has ", f.payload.size(),
                       " bytes, not a multiple of 4, at byte offset ", f.payload_offset);
  }
  reader r(f.payload, f.payload_offset);
  while (!r.at_end()) {
    std::uint32_t v = 0;
    OHQ_TRY_STATUS(r.read_fixed32(v));
    OHQ_TRY_STATUS(fn(v));
  }
  return {};
}

}  // namespace ohq::io::protobuf

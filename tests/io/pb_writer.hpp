// SPDX-License-Identifier: MIT
/// @file A tiny protobuf encoder used only by the tests to hand-build messages.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ohq_test {

/// Builds protobuf bytes field by field.
class pb_writer {
 public:
  pb_writer& raw_varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<std::byte>(v));
    return *this;
  }
  pb_writer& tag(std::uint32_t number, unsigned wire) {
    return raw_varint((std::uint64_t{number} << 3) | wire);
  }
  pb_writer& varint(std::uint32_t number, std::uint64_t v) { return tag(number, 0).raw_varint(v); }
  pb_writer& sint(std::uint32_t number, std::int64_t v) {
    return varint(number, static_cast<std::uint64_t>(v));
  }
  pb_writer& fixed32(std::uint32_t number, std::uint32_t v) {
    tag(number, 5);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::byte>(v >> (8 * i)));
    return *this;
  }
  pb_writer& f32(std::uint32_t number, float v) { return fixed32(number, std::bit_cast<std::uint32_t>(v)); }
  pb_writer& fixed64(std::uint32_t number, std::uint64_t v) {
    tag(number, 1);
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<std::byte>(v >> (8 * i)));
    return *this;
  }
  pb_writer& bytes(std::uint32_t number, std::span<const std::byte> payload) {
    tag(number, 2).raw_varint(payload.size());
    bytes_.insert(bytes_.end(), payload.begin(), payload.end());
    return *this;
  }
  pb_writer& str(std::uint32_t number, std::string_view s) {
    return bytes(number, std::as_bytes(std::span<const char>(s.data(), s.size())));
  }
  pb_writer& message(std::uint32_t number, const pb_writer& m) { return bytes(number, m.data()); }
  pb_writer& packed_floats(std::uint32_t number, std::span<const float> values) {
    pb_writer p;
    for (float v : values) {
      const auto u = std::bit_cast<std::uint32_t>(v);
      for (int i = 0; i < 4; ++i) p.bytes_.push_back(static_cast<std::byte>(u >> (8 * i)));
    }
    return bytes(number, p.data());
  }
  pb_writer& packed_varints(std::uint32_t number, std::span<const std::int64_t> values) {
    pb_writer p;
    for (std::int64_t v : values) p.raw_varint(static_cast<std::uint64_t>(v));
    return bytes(number, p.data());
  }
  pb_writer& append(std::span<const std::byte> b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }

  [[nodiscard]] std::span<const std::byte> data() const { return bytes_; }
  [[nodiscard]] const std::vector<std::byte>& vec() const { return bytes_; }

 private:
  std::vector<std::byte> bytes_;
};

}  // namespace ohq_test

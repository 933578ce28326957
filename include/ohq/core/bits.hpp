// SPDX-License-Identifier: MIT
/// @file Defines `ohq::bits_set<B...>`, the compile-time list of candidate weight bit-widths.
#pragma once

#include <array>
#include <cstddef>

namespace ohq {

/// The candidate weight bit-widths a network's quantizable layers may be assigned, ascending.
template <unsigned... Bits>
struct bits_set {
  static_assert(sizeof...(Bits) >= 1, "ohq: a bits_set needs at least one bit-width");
  static_assert(((Bits >= 1 && Bits <= 8) && ...), "ohq: weight bit-widths must be between 1 and 8");
  static constexpr std::size_t size = sizeof...(Bits);
  static constexpr std::array<unsigned, size> values{Bits...};
  static constexpr bool ascending = [] {
    for (std::size_t i = 1; i < size; ++i)
      if (values[i - 1] >= values[i]) return false;
    return true;
  }();
  static_assert(ascending, "ohq: list a bits_set's widths once each, in ascending order");
  static constexpr bool contains(unsigned b) {
    for (unsigned v : values)
      if (v == b) return true;
    return false;
  }
};

template <class T>
inline constexpr bool is_bits_set_v = false;
template <unsigned... Bits>
inline constexpr bool is_bits_set_v<bits_set<Bits...>> = true;

}  // namespace ohq

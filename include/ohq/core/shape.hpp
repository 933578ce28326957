// SPDX-License-Identifier: MIT
/// @file Defines `ohq::shape<Dims...>`, the compile-time shape of one sample (batch excluded).
#pragma once

#include <array>
#include <cstddef>
#include <ostream>
#include <string>

namespace ohq {

/// The shape of one sample: `shape<C, H, W>` for feature maps, `shape<N>` for flat vectors.
/// The batch dimension is a run-time argument and never part of the type.
template <std::size_t... Dims>
struct shape {
  static_assert(sizeof...(Dims) >= 1, "ohq: a shape needs at least one dimension");
  static_assert(((Dims > 0) && ...), "ohq: every dimension of a shape must be positive");

  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::array<std::size_t, rank> dims{Dims...};
  /// Number of elements of one sample.
  static constexpr std::size_t size = (Dims * ...);

  /// Dimension i (0-based).
  static constexpr std::size_t dim(std::size_t i) { return dims[i]; }
  /// "(16, 28, 28)".
  static std::string str() {
    std::string out = "(";
    for (std::size_t i = 0; i < rank; ++i) {
      if (i) out += ", ";
      out += std::to_string(dims[i]);
    }
    return out + ")";
  }

  template <std::size_t... Other>
  constexpr bool operator==(shape<Other...>) const noexcept {
    if constexpr (sizeof...(Other) != rank) {
      return false;
    } else {
      return ((Dims == Other) && ...);
    }
  }
  friend std::ostream& operator<<(std::ostream& out, shape) { return out << str(); }
};

template <class T>
inline constexpr bool is_shape_v = false;
template <std::size_t... Dims>
inline constexpr bool is_shape_v<shape<Dims...>> = true;

/// Shape of a feature map: channels, height, width.
template <class S>
concept feature_map_shape = is_shape_v<S> && S::rank == 3;
/// Shape of a flat vector.
template <class S>
concept flat_shape = is_shape_v<S> && S::rank == 1;

}  // namespace ohq

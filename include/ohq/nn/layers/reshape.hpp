// SPDX-License-Identifier: MIT
/// @file Defines `flatten` and `softmax`.
#pragma once

#include <ohq/core/shape.hpp>
#include <ohq/kernels/fp32/eltwise.hpp>
#include <ohq/nn/leaf.hpp>

#include <cstddef>
#include <string>

namespace ohq::nn {
namespace detail {

template <class In, class Path>
class flatten_instance : public leaf_layer<flatten_instance<In, Path>, In, shape<In::size>, Path> {
 public:
  static constexpr layer_kind kind = layer_kind::reshape;
  static constexpr std::uint64_t params = 0, macs = 0;
  static std::string name() { return "flatten"; }
  /// Row-major NCHW is already flat: flatten is a view and owns no buffer.
  void reserve(std::size_t) {}
  const float* forward(const float* in, std::size_t, workspace&) { return in; }
};

template <class In, class Path>
class softmax_instance {
  static_assert(detail::require<false, layer_needs_input_rank<Path, value<1>, In>>());
};

template <std::size_t N, class Path>
class softmax_instance<shape<N>, Path> : public leaf_layer<softmax_instance<shape<N>, Path>, shape<N>, shape<N>, Path> {
 public:
  static constexpr layer_kind kind = layer_kind::softmax;
  static constexpr std::uint64_t params = 0, macs = 0;
  static std::string name() { return "softmax"; }
  const float* forward(const float* in, std::size_t batch, workspace&) {
    kernels::fp32::softmax(in, this->output_.data(), batch, N);
    return this->output_.data();
  }
};

}  // namespace detail

/// (C, H, W) -> (C*H*W) in row-major order; a no-op on flat inputs.
struct flatten {
  template <class In, class Path>
  using instance = detail::flatten_instance<In, Path>;
};

/// Softmax over a flat input.
struct softmax {
  template <class In, class Path>
  using instance = detail::softmax_instance<In, Path>;
};

}  // namespace ohq::nn

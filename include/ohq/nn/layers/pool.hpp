// SPDX-License-Identifier: MIT
/// @file Defines the pooling layers `max_pool`, `avg_pool` and `global_avg_pool`.
#pragma once

#include <ohq/core/shape.hpp>
#include <ohq/kernels/fp32/pool.hpp>
#include <ohq/nn/leaf.hpp>

#include <cstddef>
#include <string>

namespace ohq::nn {
namespace detail {

enum class pool_op { max, average };

template <pool_op Op, std::size_t K, std::size_t S, std::size_t P, bool CountIncludePad, class In, class Path>
class pool_instance {
  static_assert(detail::require<false, layer_needs_input_rank<Path, value<3>, In>>());
};

template <pool_op Op, std::size_t K, std::size_t S, std::size_t P, bool CountIncludePad, std::size_t C,
          std::size_t H, std::size_t W, class Path>
class pool_instance<Op, K, S, P, CountIncludePad, shape<C, H, W>, Path>
    : public leaf_layer<pool_instance<Op, K, S, P, CountIncludePad, shape<C, H, W>, Path>, shape<C, H, W>,
                        shape<C, (H + 2 * P >= K ? (H + 2 * P - K) / S + 1 : 1),
                              (W + 2 * P >= K ? (W + 2 * P - K) / S + 1 : 1)>,
                        Path> {
  static_assert(detail::require<(H + 2 * P >= K && W + 2 * P >= K),
                                window_larger_than_padded_input<Path, shape<C, H, W>, value<K>>>());
  static_assert(2 * P <= K, "ohq: pooling padding must be at most half the window (as in PyTorch)");

 public:
  static constexpr layer_kind kind = layer_kind::pool;
  static constexpr std::uint64_t params = 0, macs = 0;
  static constexpr bool is_max = Op == pool_op::max;
  static constexpr std::size_t kernel = K, stride = S, padding = P;
  static constexpr bool count_include_pad = CountIncludePad;
  static constexpr kernels::fp32::pool_geometry geometry{
      C, H, W, (H + 2 * P - K) / S + 1, (W + 2 * P - K) / S + 1, K, S, P};

  static std::string name() {
    return std::string(Op == pool_op::max ? "max_pool " : "avg_pool ") + std::to_string(K) + "x" +
           std::to_string(K) + " s" + std::to_string(S) + " p" + std::to_string(P);
  }

  const float* forward(const float* in, std::size_t batch, workspace&) {
    constexpr std::size_t out_size = C * geometry.out_height * geometry.out_width;
    for (std::size_t n = 0; n < batch; ++n) {
      if constexpr (Op == pool_op::max)
        kernels::fp32::max_pool(geometry, in + n * C * H * W, this->output_.data() + n * out_size);
      else
        kernels::fp32::avg_pool(geometry, CountIncludePad, in + n * C * H * W, this->output_.data() + n * out_size);
    }
    return this->output_.data();
  }
};

template <class In, class Path>
class global_avg_pool_instance {
  static_assert(detail::require<false, layer_needs_input_rank<Path, value<3>, In>>());
};

template <std::size_t C, std::size_t H, std::size_t W, class Path>
class global_avg_pool_instance<shape<C, H, W>, Path>
    : public leaf_layer<global_avg_pool_instance<shape<C, H, W>, Path>, shape<C, H, W>, shape<C>, Path> {
 public:
  static constexpr layer_kind kind = layer_kind::pool;
  static constexpr std::uint64_t params = 0, macs = 0;
  static std::string name() { return "global_avg_pool"; }

  const float* forward(const float* in, std::size_t batch, workspace&) {
    for (std::size_t n = 0; n < batch; ++n)
      kernels::fp32::global_avg_pool(C, H * W, in + n * C * H * W, this->output_.data() + n * C);
    return this->output_.data();
  }
};

}  // namespace detail

/// Max pooling over `K`x`K` windows with stride `S` (default `K`) and padding `P`.
template <std::size_t K, std::size_t S = K, std::size_t P = 0>
struct max_pool {
  static_assert(K > 0 && S > 0, "ohq: max_pool needs a positive window and stride");
  template <class In, class Path>
  using instance = detail::pool_instance<detail::pool_op::max, K, S, P, true, In, Path>;
};

/// Average pooling; `CountIncludePad` as PyTorch's `count_include_pad` (default true).
template <std::size_t K, std::size_t S = K, std::size_t P = 0, bool CountIncludePad = true>
struct avg_pool {
  static_assert(K > 0 && S > 0, "ohq: avg_pool needs a positive window and stride");
  template <class In, class Path>
  using instance = detail::pool_instance<detail::pool_op::average, K, S, P, CountIncludePad, In, Path>;
};

/// Mean over each channel's plane: (C, H, W) -> (C), i.e. AdaptiveAvgPool2d(1) then flatten.
struct global_avg_pool {
  template <class In, class Path>
  using instance = detail::global_avg_pool_instance<In, Path>;
};

}  // namespace ohq::nn

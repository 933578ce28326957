// SPDX-License-Identifier: MIT
/// @file Defines the scalar depthwise convolution kernel (NHWC, any kernel size, stride and
/// padding): the portable path of the dispatch table, plain loops with int32 accumulators.
#pragma once

#include <ohq/kernels/depthwise_types.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ohq::kernels::scalar {

inline void run_depthwise(const depthwise_args& a) noexcept {
  const std::size_t c_count = a.channels, k = a.kernel;
  // wrapping (unsigned) sums: the true accumulator fits int32 (the reference's precondition), so
  // the sum mod 2^32 is it even when a partial sum would not fit
  thread_local std::vector<std::uint32_t> acc;
  acc.resize(c_count);
  for (std::size_t oy = a.row_begin; oy < a.row_end; ++oy)
    for (std::size_t ox = 0; ox < a.out_width; ++ox) {
      for (std::size_t c = 0; c < c_count; ++c) acc[c] = a.bias ? static_cast<std::uint32_t>(a.bias[c]) : 0u;
      for (std::size_t ky = 0; ky < k; ++ky) {
        const std::ptrdiff_t iy = std::ptrdiff_t(oy * a.stride + ky) - std::ptrdiff_t(a.padding);
        if (iy < 0 || iy >= std::ptrdiff_t(a.height)) continue;  // padding: real 0
        for (std::size_t kx = 0; kx < k; ++kx) {
          const std::ptrdiff_t ix = std::ptrdiff_t(ox * a.stride + kx) - std::ptrdiff_t(a.padding);
          if (ix < 0 || ix >= std::ptrdiff_t(a.width)) continue;
          const std::uint8_t* xp = a.x + (std::size_t(iy) * a.width + std::size_t(ix)) * c_count;
          const std::int8_t* wp = a.weights + (ky * k + kx) * c_count;
          for (std::size_t c = 0; c < c_count; ++c)
            acc[c] += static_cast<std::uint32_t>((std::int32_t(xp[c]) - a.x_zero_point) * wp[c]);
        }
      }
      std::uint8_t* yp = a.y + (oy * a.out_width + ox) * a.y_pixel_stride;
      for (std::size_t c = 0; c < c_count; ++c)
        yp[c] = static_cast<std::uint8_t>(quant::requantize(static_cast<std::int32_t>(acc[c]),
                                                            quant::fixed_multiplier{a.multiplier[c], a.shift[c]},
                                                            a.zero_point, a.lo, a.hi));
    }
}

inline const depthwise_kernel_entry* depthwise_entry() noexcept {
  static constexpr depthwise_kernel_entry entry{"scalar depthwise", &run_depthwise};
  return &entry;
}

}  // namespace ohq::kernels::scalar

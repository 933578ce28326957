// SPDX-License-Identifier: MIT
/// @file Defines the plain-data interface between the depthwise convolution kernels of every arch
/// and the dispatch table: the argument block and the kernel entry.
///
/// POD only, like w8a8_types.hpp: the per-arch translation units include it with arch flags.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ohq::kernels {

/// One sample of a depthwise convolution (groups == in channels == out channels) in NHWC:
///
///   y[(oy * out_width + ox) * y_pixel_stride + c] = clamp(zero_point + round_half_up(acc * m[c] / 2^shift[c]), lo, hi)
///   acc = bias[c] + sum_{ky,kx inside the image} (x[(iy * width + ix) * channels + c] - x_zero_point) * w[(ky * k +
///   kx) * channels + c]
///
/// with iy = oy * stride - padding + ky (floor mode, zero padding = taps outside the image skipped,
/// i.e. real 0): quant::conv2d_reference with groups = channels, bit for bit (its precondition too:
/// every accumulator fits int32).
struct depthwise_args {
  const std::uint8_t* x = nullptr;  ///< [height][width][channels] u8 codes
  std::size_t height = 0, width = 0, channels = 0;
  std::size_t kernel = 3, stride = 1, padding = 0;
  std::size_t out_height = 0, out_width = 0;
  std::int32_t x_zero_point = 0;
  const std::int8_t* weights = nullptr;      ///< [kernel * kernel][channels] (tap-major)
  const std::int32_t* bias = nullptr;        ///< [channels] or null (zero)
  const std::int32_t* multiplier = nullptr;  ///< [channels]
  const std::int32_t* shift = nullptr;       ///< [channels], 1..62
  std::int32_t zero_point = 0;               ///< output zero point
  std::int32_t lo = 0;                       ///< clamp bounds (fused ReLU/ReLU6 narrow them)
  std::int32_t hi = 255;
  std::uint8_t* y = nullptr;       ///< [out_height][out_width] pixels of y_pixel_stride bytes, u8 or s8
  std::size_t y_pixel_stride = 0;  ///< >= channels
  std::size_t row_begin = 0;       ///< output rows [row_begin, row_end) only (threads split rows)
  std::size_t row_end = 0;
};

/// One depthwise kernel of the dispatch table.
struct depthwise_kernel_entry {
  const char* name;  ///< e.g. "avx2 depthwise (vpmaddwd, 16 channels)"
  void (*run)(const depthwise_args&) noexcept;
};

}  // namespace ohq::kernels

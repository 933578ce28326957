// SPDX-License-Identifier: MIT
/// @file Defines the plain-data interface between the element-wise and pooling kernels of every
/// arch ("eltwise": residual add, squeeze-excite channel scaling, max / average / global average
/// pooling, 256-entry lookup tables, quantizing the float input) and the dispatch table: the
/// argument blocks and the entry.
///
/// POD only, like w8a8_types.hpp: the per-arch translation units include it with arch flags.
/// Every operand but quantize's float input is u8 codes (the kernel engine's activations): codes, zero points and clamp
/// bounds lie in [0, 255] with lo <= hi, and multipliers are quant::fixed_multiplier's (m in
/// [0, 2^31), shift in [1, 62]).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ohq::kernels {

/// The residual add over n elements, quant::add_reference bit for bit:
///   y[i] = clamp(zero_point + floor(((a[i] - zero_point_a) * multiplier_a + (b[i] - zero_point_b) * multiplier_b
///                                    + 2^(shift-1)) / 2^shift), lo, hi)
/// y may be a or b (element-wise in place); fields as quant::add_params.
struct eltwise_add_args {
  const std::uint8_t* a = nullptr;
  const std::uint8_t* b = nullptr;
  std::uint8_t* y = nullptr;
  std::size_t n = 0;
  std::int32_t multiplier_a = 0, multiplier_b = 0, shift = 1;
  std::int32_t zero_point_a = 0, zero_point_b = 0;
  std::int32_t zero_point = 0, lo = 0, hi = 255;  ///< output
};

/// Squeeze-excite gating of one NHWC sample, quant::mul_codes per element:
///   y[p * channels + c] = clamp(zero_point + round_half_up((x[p * channels + c] - x_zero_point) * (gate[c] -
///                               gate_zero_point) * multiplier / 2^shift), lo, hi)
/// y must not overlap x (kernels may recompute a channel block).
struct scale_channels_args {
  const std::uint8_t* x = nullptr;     ///< [pixels][channels]
  const std::uint8_t* gate = nullptr;  ///< [channels]
  std::uint8_t* y = nullptr;           ///< [pixels][channels]
  std::size_t pixels = 0, channels = 0;
  std::int32_t multiplier = 0, shift = 1;
  std::int32_t x_zero_point = 0, gate_zero_point = 0;
  std::int32_t zero_point = 0, lo = 0, hi = 255;  ///< output
};

/// Max or average pooling of one NHWC sample, floor mode, windows of kernel x kernel pixels at
/// (oy * stride - padding, ox * stride - padding); pixels outside the image are skipped (max:
/// they never win; a window with none inside gives 0, the smallest code). Max pooling reads only
/// the geometry. Average pooling, as quant::avg_pool2d_reference:
///   y = clamp(zero_point + round_half_up(sum_inside (x - in_zero_point) * m[n] / 2^shift[n]), lo, hi)
/// with n = kernel * kernel (count_include_pad) or the number of inside pixels, and
/// m[n] = multiplier[n - first_count] (every such n must be covered). y must not overlap x.
struct pool_args {
  const std::uint8_t* x = nullptr;  ///< [height][width][channels]
  std::size_t height = 0, width = 0, channels = 0;
  std::size_t kernel = 2, stride = 2, padding = 0;
  std::size_t out_height = 0, out_width = 0;
  std::uint8_t* y = nullptr;  ///< [out_height][out_width][channels]
  bool count_include_pad = true;
  const std::int32_t* multiplier = nullptr;  ///< [window counts], see above
  const std::int32_t* shift = nullptr;
  std::size_t first_count = 1;
  std::int32_t in_zero_point = 0;
  std::int32_t zero_point = 0, lo = 0, hi = 255;  ///< output
};

/// Global average pooling of one NHWC sample, quant::global_avg_pool_reference:
///   y[c] = clamp(zero_point + round_half_up(sum_p (x[p * channels + c] - in_zero_point) * multiplier / 2^shift), lo, hi)
/// (pixels * 255 must fit int32).
struct global_pool_args {
  const std::uint8_t* x = nullptr;  ///< [pixels][channels]
  std::size_t pixels = 0, channels = 0;
  std::uint8_t* y = nullptr;  ///< [channels]
  std::int32_t multiplier = 0, shift = 1;
  std::int32_t in_zero_point = 0;
  std::int32_t zero_point = 0, lo = 0, hi = 255;  ///< output
};

/// y[i] = table[x[i]] over n bytes (quant::apply_lut); y may be x.
struct lookup_args {
  const std::uint8_t* table = nullptr;  ///< 256 entries (quant::lut8)
  const std::uint8_t* x = nullptr;
  std::uint8_t* y = nullptr;
  std::size_t n = 0;
};

/// Quantizes a network's CHW float input into HWC u8 codes (the layout change fused in):
///   y[p * channels + c] = store_code<u8>(quant::quantize(x[c * pixels + p], {scale, zero_point, qmin, qmax}))
/// bit for bit for every float: the quotient in double, round half up, clamp to [qmin, qmax],
/// NaN -> zero_point (unclamped, as quant::quantize), +-Inf and huge values saturating; codes are
/// stored as their low byte (static_cast<std::uint8_t>, as quant::store_code), so the engine's
/// [0, 255] ranges are plain u8. channels == 1 or pixels == 1 is a plain element-wise quantize.
/// Fields as quant::quant_params (qmin <= qmax; codes within int32 with qmax < 2^31 - 1). x and y
/// must not overlap.
struct quantize_args {
  const float* x = nullptr;  ///< [channels][pixels] (CHW)
  std::uint8_t* y = nullptr;  ///< [pixels][channels] (HWC)
  std::size_t channels = 1, pixels = 0;
  float scale = 1.0f;
  std::int32_t zero_point = 0, qmin = 0, qmax = 255;
};

/// The element-wise and pooling kernels of one arch in the dispatch table.
struct eltwise_kernel_entry {
  const char* name;  ///< e.g. "avx2 eltwise"
  void (*add)(const eltwise_add_args&) noexcept;
  void (*scale_channels)(const scale_channels_args&) noexcept;
  void (*max_pool)(const pool_args&) noexcept;
  void (*avg_pool)(const pool_args&) noexcept;
  void (*global_avg_pool)(const global_pool_args&) noexcept;
  void (*lookup)(const lookup_args&) noexcept;
  void (*quantize)(const quantize_args&) noexcept;
};

}  // namespace ohq::kernels

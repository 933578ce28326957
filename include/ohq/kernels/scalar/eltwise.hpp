// SPDX-License-Identifier: MIT
/// @file Defines the scalar element-wise and pooling kernels (NHWC, u8 codes): the portable path of
/// the dispatch table and the truth for the SIMD ones, plain loops over the references' per-element
/// functions (quant::add_codes, mul_codes, requantize, apply_lut, quantize), channels innermost.
#pragma once

#include <ohq/kernels/eltwise_types.hpp>
#include <ohq/quant/lut.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ohq::kernels::scalar {

inline void run_add(const eltwise_add_args& a) noexcept {
  quant::add_params p;
  p.multiplier_a = a.multiplier_a;
  p.multiplier_b = a.multiplier_b;
  p.shift = a.shift;
  p.zero_point_a = a.zero_point_a;
  p.zero_point_b = a.zero_point_b;
  p.zero_point = a.zero_point;
  p.lo = a.lo;
  p.hi = a.hi;
  quant::add_reference(a.a, a.b, a.y, a.n, p);
}

inline void run_scale_channels(const scale_channels_args& a) noexcept {
  const quant::mul_params p{{a.multiplier, a.shift}, a.x_zero_point, a.gate_zero_point, a.zero_point, a.lo, a.hi};
  const std::size_t c_count = a.channels;
  for (std::size_t px = 0; px < a.pixels; ++px) {
    const std::uint8_t* x = a.x + px * c_count;
    std::uint8_t* y = a.y + px * c_count;
    for (std::size_t c = 0; c < c_count; ++c) y[c] = static_cast<std::uint8_t>(quant::mul_codes(x[c], a.gate[c], p));
  }
}

/// f(input pixel index) for every pixel of window (oy, ox) inside the image.
template <class F>
void for_window(const pool_args& a, std::size_t oy, std::size_t ox, F&& f) {
  for (std::size_t ky = 0; ky < a.kernel; ++ky) {
    const std::ptrdiff_t iy = std::ptrdiff_t(oy * a.stride + ky) - std::ptrdiff_t(a.padding);
    if (iy < 0 || iy >= std::ptrdiff_t(a.height)) continue;
    for (std::size_t kx = 0; kx < a.kernel; ++kx) {
      const std::ptrdiff_t ix = std::ptrdiff_t(ox * a.stride + kx) - std::ptrdiff_t(a.padding);
      if (ix < 0 || ix >= std::ptrdiff_t(a.width)) continue;
      f(std::size_t(iy) * a.width + std::size_t(ix));
    }
  }
}

inline void run_max_pool(const pool_args& a) noexcept {
  const std::size_t c_count = a.channels;
  for (std::size_t oy = 0; oy < a.out_height; ++oy)
    for (std::size_t ox = 0; ox < a.out_width; ++ox) {
      std::uint8_t* out = a.y + (oy * a.out_width + ox) * c_count;
      std::fill(out, out + c_count, std::uint8_t{0});  // the reference starts from the smallest code
      for_window(a, oy, ox, [&](const std::size_t pixel) {
        const std::uint8_t* in = a.x + pixel * c_count;
        for (std::size_t c = 0; c < c_count; ++c) out[c] = std::max(out[c], in[c]);
      });
    }
}

inline void run_avg_pool(const pool_args& a) noexcept {
  const std::size_t c_count = a.channels;
  thread_local std::vector<std::int32_t> sums;
  sums.resize(c_count);
  for (std::size_t oy = 0; oy < a.out_height; ++oy)
    for (std::size_t ox = 0; ox < a.out_width; ++ox) {
      std::fill(sums.begin(), sums.end(), 0);
      std::size_t inside = 0;
      for_window(a, oy, ox, [&](const std::size_t pixel) {
        const std::uint8_t* in = a.x + pixel * c_count;
        for (std::size_t c = 0; c < c_count; ++c) sums[c] += in[c];
        ++inside;
      });
      const std::size_t i = (a.count_include_pad ? a.kernel * a.kernel : inside) - a.first_count;
      const quant::fixed_multiplier m{a.multiplier[i], a.shift[i]};
      const std::int32_t centre = std::int32_t(inside) * a.in_zero_point;  // sum of (x - z_in) over the inside
      std::uint8_t* out = a.y + (oy * a.out_width + ox) * c_count;
      for (std::size_t c = 0; c < c_count; ++c)
        out[c] = static_cast<std::uint8_t>(quant::requantize(sums[c] - centre, m, a.zero_point, a.lo, a.hi));
    }
}

inline void run_global_avg_pool(const global_pool_args& a) noexcept {
  const std::size_t c_count = a.channels;
  thread_local std::vector<std::int32_t> sums;
  sums.assign(c_count, 0);
  for (std::size_t px = 0; px < a.pixels; ++px)
    for (std::size_t c = 0; c < c_count; ++c) sums[c] += a.x[px * c_count + c];
  const quant::fixed_multiplier m{a.multiplier, a.shift};
  const std::int32_t centre = std::int32_t(a.pixels) * a.in_zero_point;
  for (std::size_t c = 0; c < c_count; ++c)
    a.y[c] = static_cast<std::uint8_t>(quant::requantize(sums[c] - centre, m, a.zero_point, a.lo, a.hi));
}

inline void run_lookup(const lookup_args& a) noexcept {
  quant::lut8 table;
  std::memcpy(table.data(), a.table, table.size());
  quant::apply_lut(table, a.x, a.y, a.n);
}

/// quant::quantize per element, written transposed (CHW -> HWC).
inline void run_quantize(const quantize_args& a) noexcept {
  const quant::quant_params p{a.scale, a.zero_point, a.qmin, a.qmax};
  const std::size_t c_count = a.channels;
  for (std::size_t c = 0; c < c_count; ++c) {
    const float* x = a.x + c * a.pixels;
    for (std::size_t px = 0; px < a.pixels; ++px)
      a.y[px * c_count + c] = quant::store_code<std::uint8_t>(quant::quantize(x[px], p));
  }
}

inline const eltwise_kernel_entry* eltwise_entry() noexcept {
  static constexpr eltwise_kernel_entry entry{"scalar eltwise",  &run_add,        &run_scale_channels,
                                              &run_max_pool,     &run_avg_pool,   &run_global_avg_pool,
                                              &run_lookup,       &run_quantize};
  return &entry;
}

}  // namespace ohq::kernels::scalar

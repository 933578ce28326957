// SPDX-License-Identifier: MIT
/// @file Defines `winograd_conv`, the facade of the Winograd F(2x2, 3x3) convolution kernels:
/// 3x3 stride-1 convolutions with groups = 1 (ResNet's), NHWC, exact (kernels/winograd_types.hpp
/// has the arithmetic). Prepare transforms and packs the weights once (U = G' g G'^T, int16) and
/// checks that 4 * every accumulator fits int32; run computes quant::conv2d_reference's output bit
/// for bit with 4 multiplies per output and input channel instead of 9.
///
/// Why it pays on CPUs without VNNI: there exact W8A8 is bound by vpmaddwd (16 int16 products per
/// instruction, docs/kernels.md), and Winograd's transformed inputs and weights are int16 anyway,
/// so the same instruction does 2.25x less work per output. The price: weights take 16 int16 per
/// 3x3 filter (3.6x the int8 bytes), and the input and output transforms (a few adds per value).
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/error.hpp>
#include <ohq/core/thread_pool.hpp>
#include <ohq/kernels/dispatch.hpp>
#include <ohq/kernels/winograd_types.hpp>
#include <ohq/quant/requantize.hpp>
#include <ohq/quant/weights.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace ohq::kernels {

/// Output tiles (2x2 pixels each) of an out_height x out_width map.
constexpr std::size_t winograd_tiles(std::size_t out_height, std::size_t out_width) noexcept {
  return ((out_height + 1) / 2) * ((out_width + 1) / 2);
}

/// ok when `w` (a 3x3 convolution of `channels` input channels, columns ordered (c, ky, kx)) runs
/// exactly by Winograd: 4 * 255 * sum |w| of every row fits int32 (true for any 8-bit row of up to
/// 1800 channels); errc::unsupported naming the row when not, shape_mismatch for other shapes.
inline status check_winograd(const quant::quantized_weights& w, std::size_t channels) {
  if (channels == 0 || w.cols != channels * 9 || w.codes.size() != w.rows * w.cols)
    return make_status(errc::shape_mismatch, "Winograd F(2x2,3x3) needs 3x3 weights of ", channels,
                       " channels; got ", w.rows, "x", w.cols, " (", w.codes.size(), " codes)");
  for (std::size_t r = 0; r < w.rows; ++r) {
    std::int64_t abs_sum = 0;
    for (std::size_t k = 0; k < w.cols; ++k) abs_sum += std::abs(std::int32_t(w.codes[r * w.cols + k]));
    if (4 * 255 * abs_sum > std::int64_t{0x7fffffff})
      return make_status(errc::unsupported, "Winograd F(2x2,3x3): 4x the accumulators of output channel ", r,
                         " could overflow int32 (sum |w| = ", abs_sum, ")");
  }
  return {};
}

/// A 3x3 stride-1 convolution (groups = 1) prepared for the Winograd kernel of one arch path.
class winograd_conv {
 public:
  /// Packs `w` (3x3 weights of `channels` channels, columns ordered (c, ky, kx) as
  /// quant::quantized_weights stores them; all rows: groups = 1) for path `a`. Errors: check_winograd's.
  static result<winograd_conv> try_prepare(const quant::quantized_weights& w, std::size_t channels, arch a) {
    if (auto s = check_winograd(w, channels); !s.ok()) return s;
    const std::size_t row_count = w.rows;
    auto k = try_winograd_kernel(a);
    if (!k) return k.error();
    winograd_conv c;
    c.kernel_ = *k;
    c.channels_ = channels;
    c.out_channels_ = row_count;
    c.out_blocks_ = (row_count + winograd_out_block - 1) / winograd_out_block;
    c.channel_pairs_ = (channels + 1) / 2;
    c.packed_.resize(16 * c.out_blocks_ * c.channel_pairs_ * 2 * winograd_out_block);  // zero-filled
    for (std::size_t o = 0; o < row_count; ++o)
      for (std::size_t ch = 0; ch < channels; ++ch) {
        const std::int8_t* g = w.codes.data() + o * w.cols + ch * 9;
        std::int32_t u[16];
        transform_filter(g, u);
        const std::size_t ob = o / winograd_out_block, col = o % winograd_out_block;
        for (std::size_t xi = 0; xi < 16; ++xi)
          c.packed_[(((xi * c.out_blocks_ + ob) * c.channel_pairs_ + ch / 2) * winograd_out_block + col) * 2 + ch % 2] =
              static_cast<std::int16_t>(u[xi]);
      }
    return c;
  }
  /// The argument block of one sample: x [height][width][channels] with zero point x_zero_point,
  /// padding on every side (height, width + 2 * padding >= 3), output pixels of y_pixel_stride
  /// bytes (every tile: tile_end set).
  [[nodiscard]] winograd_args args(const std::uint8_t* x, std::size_t height, std::size_t width, std::size_t padding,
                                   std::int32_t x_zero_point, const std::int32_t* bias, const quant::requant_params& rq,
                                   std::uint8_t* y, std::size_t y_pixel_stride) const noexcept {
    winograd_args a;
    a.x = x;
    a.height = height;
    a.width = width;
    a.channels = channels_;
    a.padding = padding;
    a.out_height = height + 2 * padding - 2;
    a.out_width = width + 2 * padding - 2;
    a.x_zero_point = x_zero_point;
    a.weights = packed_.data();
    a.out_channels = out_channels_;
    a.out_blocks = out_blocks_;
    a.channel_pairs = channel_pairs_;
    a.bias = bias;
    a.multiplier = rq.multiplier.data();
    a.shift = rq.shift.data();
    a.zero_point = rq.zero_point;
    a.lo = rq.lo;
    a.hi = rq.hi;
    a.y = y;
    a.y_pixel_stride = y_pixel_stride;
    a.tile_end = winograd_tiles(a.out_height, a.out_width);
    return a;
  }

  /// Runs the tiles of `a` on this thread, with this thread's scratch (sized on its first use).
  void run(winograd_args a) const {
    thread_local std::vector<std::int16_t> scratch;
    scratch.resize(scratch_elems(a.tile_end - a.tile_begin));
    a.scratch = scratch.data();
    a.scratch_elems = scratch.size();
    kernel_->run(a);
  }
  /// Runs the tiles of `a` split into `tasks` even ranges over `pool` (bit-identical to run(a)).
  void run(thread_pool& pool, std::size_t tasks, const winograd_args& a) const {
    const std::size_t tiles = a.tile_end - a.tile_begin;
    tasks = std::max<std::size_t>(1, std::min(tasks, tiles));
    pool.parallel_for(tasks, [&](std::size_t t) {
      winograd_args part = a;
      part.tile_begin = a.tile_begin + tiles * t / tasks;
      part.tile_end = a.tile_begin + tiles * (t + 1) / tasks;
      run(part);
    });
  }

  [[nodiscard]] const char* kernel_name() const noexcept { return kernel_->name; }
  [[nodiscard]] std::size_t channels() const noexcept { return channels_; }
  [[nodiscard]] std::size_t out_channels() const noexcept { return out_channels_; }
  /// int16 of scratch per thread for `tiles` tiles: ~192 KB of transformed inputs per chunk of
  /// tiles (they stay in L2 next to a block of weights), at least 8 tiles' worth; all the tiles
  /// (rounded up to 24) when that is at most twice as much, since every chunk streams all the
  /// weights once (8 MB at 512 channels).
  [[nodiscard]] std::size_t scratch_elems(std::size_t tiles) const noexcept {
    const std::size_t per_tile = 16 * ((channels_ + 15) / 16 * 16) + 2 * 16 * winograd_out_block;  // V and M
    const std::size_t chunk = std::max<std::size_t>(8, 96 * 1024 / per_tile);
    return per_tile * (tiles <= 2 * chunk ? std::max<std::size_t>(8, (tiles + 23) / 24 * 24) : chunk);
  }
  /// Bytes of packed weights.
  [[nodiscard]] std::size_t weight_bytes() const noexcept { return packed_.size() * sizeof(std::int16_t); }

  /// U = G' g G'^T (row-major 4x4) of one 3x3 filter g (row-major), G' = 2 G = [2 0 0; 1 1 1; 1 -1 1; 0 0 2].
  static void transform_filter(const std::int8_t* g, std::int32_t (&u)[16]) noexcept {
    std::int32_t t[12];  // G' g: 4 x 3
    for (std::size_t j = 0; j < 3; ++j) {
      const std::int32_t g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
      t[j] = 2 * g0;
      t[3 + j] = g0 + g1 + g2;
      t[6 + j] = g0 - g1 + g2;
      t[9 + j] = 2 * g2;
    }
    for (std::size_t i = 0; i < 4; ++i) {  // (G' g) G'^T
      const std::int32_t a0 = t[3 * i], a1 = t[3 * i + 1], a2 = t[3 * i + 2];
      u[4 * i + 0] = 2 * a0;
      u[4 * i + 1] = a0 + a1 + a2;
      u[4 * i + 2] = a0 - a1 + a2;
      u[4 * i + 3] = 2 * a2;
    }
  }

 private:
  winograd_conv() = default;
  const winograd_kernel_entry* kernel_ = nullptr;
  std::size_t channels_ = 0, out_channels_ = 0, out_blocks_ = 0, channel_pairs_ = 0;
  aligned_buffer<std::int16_t> packed_;
};

}  // namespace ohq::kernels

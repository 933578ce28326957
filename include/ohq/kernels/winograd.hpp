// SPDX-License-Identifier: MIT
/// @file Defines `winograd_conv`, the facade of the Winograd convolution kernels: 3x3
/// convolutions with groups = 1 (ResNet's), NHWC, exact (kernels/winograd_types.hpp has the
/// arithmetic): stride 1 by F(2x2, 3x3) or F(3x3, 3x3), stride 2 by f2x2_stride2. Prepare
/// transforms and packs the weights once (U = G' g G'^T, int16) and checks that scale * every
/// accumulator fits int32; run computes quant::conv2d_reference's output bit for bit with 4
/// (F(2x2)), 2.8 (F(3x3)) or 6.25 (stride 2) multiplies per output and input channel instead of 9.
///
/// Why it pays on CPUs without VNNI: there exact W8A8 is bound by vpmaddwd (16 int16 products per
/// instruction, docs/kernels.md), and Winograd's transformed inputs and weights are int16 anyway,
/// so the same instruction does 2.25x (3.24x) less work per output. The price: weights take 16 (25)
/// int16 per 3x3 filter, 3.6x (5.6x) the int8 bytes, and the input and output transforms (a few
/// adds per value).
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

/// The side m of `tile`'s m x m output tiles.
constexpr std::size_t winograd_tile_side(winograd_tile tile) noexcept { return tile == winograd_tile::f3x3 ? 3 : 2; }
/// The convolution stride `tile` computes.
constexpr std::size_t winograd_stride(winograd_tile tile) noexcept {
  return tile == winograd_tile::f2x2_stride2 ? 2 : 1;
}

/// Output tiles (m x m pixels each) of an out_height x out_width map.
constexpr std::size_t winograd_tiles(std::size_t out_height, std::size_t out_width,
                                     winograd_tile tile = winograd_tile::f2x2) noexcept {
  const std::size_t m = winograd_tile_side(tile);
  return ((out_height + m - 1) / m) * ((out_width + m - 1) / m);
}

/// "F(2x2,3x3)", "F(3x3,3x3)" or "F(2x2,3x3) stride 2".
constexpr const char* to_string(winograd_tile tile) noexcept {
  return tile == winograd_tile::f3x3           ? "F(3x3,3x3)"
         : tile == winograd_tile::f2x2_stride2 ? "F(2x2,3x3) stride 2"
                                               : "F(2x2,3x3)";
}

/// ok when `w` (a 3x3 convolution of `channels` input channels, columns ordered (c, ky, kx)) runs
/// exactly by Winograd with `tile`: scale * 255 * sum |w| of every row fits int32 (scale 4 for
/// F(2x2): any 8-bit row of up to 1827 channels; 36 for F(3x3): up to 203; 1 for stride 2: up to
/// 7310); errc::unsupported naming the row when not, shape_mismatch for other shapes.
inline status check_winograd(const quant::quantized_weights& w, std::size_t channels,
                             winograd_tile tile = winograd_tile::f2x2) {
  if (channels == 0 || w.cols != channels * 9 || w.codes.size() != w.rows * w.cols)
    return make_status(errc::shape_mismatch, "Winograd ", to_string(tile), " needs 3x3 weights of ", channels,
                       " channels; got ", w.rows, "x", w.cols, " (", w.codes.size(), " codes)");
  const std::int64_t scale =
      with_winograd_tile(tile, [](auto t) { return winograd_transform<decltype(t)::value>::scale; });
  for (std::size_t r = 0; r < w.rows; ++r) {
    std::int64_t abs_sum = 0;
    for (std::size_t k = 0; k < w.cols; ++k) abs_sum += std::abs(std::int32_t(w.codes[r * w.cols + k]));
    if (scale * 255 * abs_sum > std::int64_t{0x7fffffff})
      return make_status(errc::unsupported, "Winograd ", to_string(tile), ": ", scale,
                         "x the accumulators of output channel ", r, " could overflow int32 (sum |w| = ", abs_sum,
                         ")");
  }
  return {};
}

/// A 3x3 stride-1 convolution (groups = 1) prepared for the Winograd kernel of one arch path.
class winograd_conv {
 public:
  /// Packs `w` (3x3 weights of `channels` channels, columns ordered (c, ky, kx) as
  /// quant::quantized_weights stores them; all rows: groups = 1) for path `a` and output tiles
  /// `tile`. Errors: check_winograd's.
  static result<winograd_conv> try_prepare(const quant::quantized_weights& w, std::size_t channels, arch a,
                                           winograd_tile tile = winograd_tile::f2x2) {
    if (auto s = check_winograd(w, channels, tile); !s.ok()) return s;
    const std::size_t row_count = w.rows;
    auto k = try_winograd_kernel(a);
    if (!k) return k.error();
    winograd_conv c;
    c.kernel_ = *k;
    c.tile_ = tile;
    c.channels_ = channels;
    c.out_channels_ = row_count;
    c.out_blocks_ = (row_count + winograd_out_block - 1) / winograd_out_block;
    c.channel_pairs_ = (channels + 1) / 2;
    const std::size_t positions = winograd_positions(tile);
    c.packed_.resize(positions * c.out_blocks_ * c.channel_pairs_ * 2 * winograd_out_block);  // zero-filled
    for (std::size_t o = 0; o < row_count; ++o)
      for (std::size_t ch = 0; ch < channels; ++ch) {
        const std::int8_t* g = w.codes.data() + o * w.cols + ch * 9;
        std::int32_t u[25];
        with_winograd_tile(tile, [&](auto t) { transform_filter<decltype(t)::value>(g, u); });
        const std::size_t ob = o / winograd_out_block, col = o % winograd_out_block;
        for (std::size_t xi = 0; xi < positions; ++xi)
          c.packed_[(((xi * c.out_blocks_ + ob) * c.channel_pairs_ + ch / 2) * winograd_out_block + col) * 2 + ch % 2] =
              static_cast<std::int16_t>(u[xi]);
      }
    return c;
  }
  /// The argument block of one sample: x [height][width][channels] with zero point x_zero_point,
  /// padding on every side (height, width + 2 * padding >= 3), output pixels of y_pixel_stride
  /// bytes (every tile: tile_end set); the stride is the tile's.
  [[nodiscard]] winograd_args args(const std::uint8_t* x, std::size_t height, std::size_t width, std::size_t padding,
                                   std::int32_t x_zero_point, const std::int32_t* bias, const quant::requant_params& rq,
                                   std::uint8_t* y, std::size_t y_pixel_stride) const noexcept {
    winograd_args a;
    a.x = x;
    a.height = height;
    a.width = width;
    a.channels = channels_;
    a.padding = padding;
    const std::size_t stride = winograd_stride(tile_);
    a.out_height = (height + 2 * padding - 3) / stride + 1;
    a.out_width = (width + 2 * padding - 3) / stride + 1;
    a.x_zero_point = x_zero_point;
    a.tile = tile_;
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
    a.tile_end = winograd_tiles(a.out_height, a.out_width, tile_);
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
  [[nodiscard]] winograd_tile tile() const noexcept { return tile_; }
  [[nodiscard]] std::size_t channels() const noexcept { return channels_; }
  [[nodiscard]] std::size_t out_channels() const noexcept { return out_channels_; }
  /// int16 of scratch per thread for `tiles` tiles: ~192 KB of transformed inputs per chunk of
  /// tiles (they stay in L2 next to a block of weights), at least 6 tiles; all the tiles when that
  /// is at most twice as much, since every chunk streams all the weights once (8 MB at 512 channels
  /// for F(2x2)); plus 6 tiles' worth for the rows of the last register block.
  [[nodiscard]] std::size_t scratch_elems(std::size_t tiles) const noexcept {
    const std::size_t positions = winograd_positions(tile_);
    const std::size_t per_tile = positions * ((channels_ + 15) / 16 * 16 + 2 * winograd_out_block);  // V and M
    const std::size_t chunk = std::max<std::size_t>(6, 96 * 1024 / per_tile / 6 * 6);
    const std::size_t rows = tiles <= 2 * chunk ? std::max<std::size_t>(6, (tiles + 5) / 6 * 6) : chunk;
    return per_tile * (rows + 6);
  }
  /// Bytes of packed weights.
  [[nodiscard]] std::size_t weight_bytes() const noexcept { return packed_.size() * sizeof(std::int16_t); }

  /// U = G' g G'^T (row-major alpha x alpha) of one 3x3 filter g (row-major) for tile T.
  template <winograd_tile T>
  static void transform_filter(const std::int8_t* g, std::int32_t* u) noexcept {
    using tr = winograd_transform<T>;
    std::int32_t t[tr::alpha * 3];  // G' g
    for (std::size_t i = 0; i < tr::alpha; ++i)
      for (std::size_t j = 0; j < 3; ++j)
        t[3 * i + j] = tr::g[i][0] * g[j] + tr::g[i][1] * g[3 + j] + tr::g[i][2] * g[6 + j];
    for (std::size_t i = 0; i < tr::alpha; ++i)  // (G' g) G'^T
      for (std::size_t j = 0; j < tr::alpha; ++j)
        u[tr::alpha * i + j] = t[3 * i] * tr::g[j][0] + t[3 * i + 1] * tr::g[j][1] + t[3 * i + 2] * tr::g[j][2];
  }

 private:
  winograd_conv() = default;
  const winograd_kernel_entry* kernel_ = nullptr;
  winograd_tile tile_ = winograd_tile::f2x2;
  std::size_t channels_ = 0, out_channels_ = 0, out_blocks_ = 0, channel_pairs_ = 0;
  aligned_buffer<std::int16_t> packed_;
};

}  // namespace ohq::kernels

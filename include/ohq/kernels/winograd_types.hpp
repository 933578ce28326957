// SPDX-License-Identifier: MIT
/// @file Defines the plain-data interface between the Winograd convolution kernels of every arch
/// and the dispatch table: the two tile sizes and their integer transforms, the argument block,
/// the packed weight layout and the entry.
///
/// POD only, like w8a8_types.hpp: the per-arch translation units include it with arch flags.
///
/// The arithmetic (kernels/winograd.hpp packs the weights and checks eligibility), exact in int32,
/// for F(m x m, 3x3) with m = 2 or 3 (alpha = m + 2): for every m x m block of outputs, d is the
/// alpha x alpha input patch minus the input zero point (0 outside the image), V = B^T d B (int16),
/// U = G' g G'^T with G' = c G the integer-scaled filter transform (int16, precomputed), M = sum
/// over channels of U (.) V (int32, wrapping), and A^T M A = c^2 * the m x m block of accumulators
/// sum (x - zx) * w. Every step is an integer sum with wrapping int32 arithmetic, so A^T M A equals
/// c^2 * acc mod 2^32; when |c^2 * acc| < 2^31 (check_winograd checks it per output channel at
/// prepare time) it is c^2 * acc exactly, and an arithmetic shift by the power of two in c^2 then
/// a multiply by the inverse of its odd part mod 2^32 recover acc, bit for bit the direct
/// convolution's. Multiplies per output and channel: 16 / 4 = 4 for F(2x2), 25 / 9 = 2.8 for F(3x3),
/// instead of 9.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ohq::kernels {

/// Output channels per packed weight block (two AVX2 registers of int32 sums).
inline constexpr std::size_t winograd_out_block = 16;

/// The output tile of a Winograd kernel: F(m x m, 3x3) computes m x m outputs from an
/// (m + 2) x (m + 2) input patch. F(3x3) does 1.44x fewer multiplies than F(2x2) but is exact only
/// for rows with 36 * 255 * sum |w| < 2^31 (any 8-bit row of up to 203 channels), F(2x2) while
/// 4 * 255 * sum |w| < 2^31 (up to 1827 channels). f2x2_stride2 is the stride-2 convolution's:
/// 2 x 2 outputs from a 5 x 5 patch with 25 multiplies instead of 36 (per axis, the even taps
/// w0, w2 on the even inputs by F(2, 2), the odd tap w1 on the odd inputs directly), no scale.
enum class winograd_tile : std::uint8_t { f2x2 = 2, f3x3 = 3, f2x2_stride2 = 4 };

/// The integer transforms of one tile: alpha x alpha input transform B^T (alpha = the patch's
/// side), alpha x 3 filter transform G' = c G, m x alpha output transform A^T, output tiles of
/// m x m pixels at `stride`; A^T M A = scale * acc, scale = c^2 = 2^scale_shift * odd with
/// odd * odd_inverse = 1 mod 2^32. F(2x2) and F(3x3) from the interpolation points 0, 1, -1 (, 2)
/// and infinity.
template <winograd_tile T>
struct winograd_transform;

template <>
struct winograd_transform<winograd_tile::f2x2> {
  static constexpr std::size_t m = 2, stride = 1, alpha = 4, positions = 16;
  static constexpr std::int32_t bt[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr std::int32_t g[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
  static constexpr std::int32_t at[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static constexpr std::int64_t scale = 4;
  static constexpr unsigned scale_shift = 2;
  static constexpr std::uint32_t odd_inverse = 1;
};

template <>
struct winograd_transform<winograd_tile::f3x3> {
  static constexpr std::size_t m = 3, stride = 1, alpha = 5, positions = 25;
  static constexpr std::int32_t bt[5][5] = {
      {2, -1, -2, 1, 0}, {0, 2, 1, -1, 0}, {0, -2, 3, -1, 0}, {0, -1, 0, 1, 0}, {0, 2, -1, -2, 1}};
  static constexpr std::int32_t g[5][3] = {{3, 0, 0}, {3, 3, 3}, {1, -1, 1}, {1, 2, 4}, {0, 0, 6}};
  static constexpr std::int32_t at[3][5] = {{1, 1, 1, 1, 0}, {0, 1, -1, 2, 0}, {0, 1, 1, 4, 1}};
  static constexpr std::int64_t scale = 36;
  static constexpr unsigned scale_shift = 2;
  static constexpr std::uint32_t odd_inverse = 0x38E38E39u;  // 9 * 0x38E38E39 = 2^33 + 1
};

/// Per axis: y0 = w0 x0 + w1 x1 + w2 x2, y1 = w0 x2 + w1 x3 + w2 x4 as
/// (x0 - x2) w0 + x2 (w0 + w2) + x1 w1 and x2 (w0 + w2) + (x4 - x2) w2 + x3 w1.
template <>
struct winograd_transform<winograd_tile::f2x2_stride2> {
  static constexpr std::size_t m = 2, stride = 2, alpha = 5, positions = 25;
  static constexpr std::int32_t bt[5][5] = {
      {1, 0, -1, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, -1, 0, 1}, {0, 1, 0, 0, 0}, {0, 0, 0, 1, 0}};
  static constexpr std::int32_t g[5][3] = {{1, 0, 0}, {1, 0, 1}, {0, 0, 1}, {0, 1, 0}, {0, 1, 0}};
  static constexpr std::int32_t at[2][5] = {{1, 1, 0, 1, 0}, {0, 1, 1, 0, 1}};
  static constexpr std::int64_t scale = 1;
  static constexpr unsigned scale_shift = 0;
  static constexpr std::uint32_t odd_inverse = 1;
};

/// Calls f(std::integral_constant<winograd_tile, tile>{}): one switch for every per-tile dispatch.
template <class F>
constexpr decltype(auto) with_winograd_tile(winograd_tile tile, F&& f) {
  switch (tile) {
    case winograd_tile::f3x3:
      return f(std::integral_constant<winograd_tile, winograd_tile::f3x3>{});
    case winograd_tile::f2x2_stride2:
      return f(std::integral_constant<winograd_tile, winograd_tile::f2x2_stride2>{});
    case winograd_tile::f2x2:
      break;
  }
  return f(std::integral_constant<winograd_tile, winograd_tile::f2x2>{});
}

/// Positions (alpha^2) of the transforms of `tile`.
constexpr std::size_t winograd_positions(winograd_tile tile) noexcept {
  return with_winograd_tile(tile, [](auto t) { return winograd_transform<decltype(t)::value>::positions; });
}

/// One sample of a 3x3 convolution (stride 1, or 2 for f2x2_stride2) with groups = 1, NHWC,
/// quant::conv2d_reference bit for bit:
///   y[(oy * out_width + ox) * y_pixel_stride + o] = requantize(bias[o] + sum_{c,ky,kx inside} (x[iy][ix][c] - x_zero_point) * w[o][c][ky][kx])
/// with iy = oy * stride - padding + ky, ix = ox * stride - padding + kx (taps outside the image
/// are real 0).
/// Output tiles of m x m pixels are numbered t = ty * ceil(out_width / m) + tx; a call computes
/// tiles [tile_begin, tile_end) (threads split them).
struct winograd_args {
  const std::uint8_t* x = nullptr;  ///< [height][width][channels] u8 codes
  std::size_t height = 0, width = 0, channels = 0, padding = 1;
  std::size_t out_height = 0, out_width = 0;  ///< (height + 2 * padding - 3) / stride + 1, alike
  std::int32_t x_zero_point = 0;
  winograd_tile tile = winograd_tile::f2x2;  ///< the transforms, output tile and stride
  /// U packed as [alpha^2 positions][out_blocks][channel_pairs][winograd_out_block][2] int16: position
  /// xi = alpha * i + j of the alpha x alpha transform, output channels in blocks of 16, channels in pairs
  /// (c = 2p, 2p + 1) interleaved for vpmaddwd; zeros past out_channels and channels.
  const std::int16_t* weights = nullptr;
  std::size_t out_channels = 0;
  std::size_t out_blocks = 0;     ///< ceil(out_channels / 16)
  std::size_t channel_pairs = 0;  ///< ceil(channels / 2)
  const std::int32_t* bias = nullptr;        ///< [out_channels] or null (zero)
  const std::int32_t* multiplier = nullptr;  ///< [out_channels]
  const std::int32_t* shift = nullptr;       ///< [out_channels], 1..62
  std::int32_t zero_point = 0;               ///< output zero point
  std::int32_t lo = 0;                       ///< clamp bounds (fused ReLU/ReLU6 narrow them)
  std::int32_t hi = 255;
  std::uint8_t* y = nullptr;       ///< [out_height][out_width] pixels of y_pixel_stride bytes
  std::size_t y_pixel_stride = 0;  ///< >= out_channels
  std::size_t tile_begin = 0, tile_end = 0;
  /// The kernel's scratch for transformed inputs and products, at least 12 tiles' worth of
  /// alpha^2 * (round_up(channels, 16) + 32) int16 each; more lets it transform more tiles per chunk.
  /// The caller gives each thread its own (32-byte aligned).
  std::int16_t* scratch = nullptr;
  std::size_t scratch_elems = 0;
};

/// One Winograd kernel of the dispatch table.
struct winograd_kernel_entry {
  const char* name;  ///< e.g. "avx2 winograd F(2x2|3x3, 3x3) (vpmaddwd, 6 tiles x 16 channels)"
  void (*run)(const winograd_args&) noexcept;
};

}  // namespace ohq::kernels

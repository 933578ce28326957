// SPDX-License-Identifier: MIT
/// @file Defines the plain-data interface between the Winograd F(2x2, 3x3) convolution kernels of
/// every arch and the dispatch table: the argument block, the packed weight layout and the entry.
///
/// POD only, like w8a8_types.hpp: the per-arch translation units include it with arch flags.
///
/// The arithmetic (kernels/winograd.hpp packs the weights and checks eligibility), exact in int32:
/// for every 2x2 block of outputs, d is the 4x4 input patch minus the input zero point (0 outside
/// the image), V = B^T d B (|V| <= 4 * 255, int16), U = G' g G'^T with G' = 2 G (|U| <= 9 * 128,
/// int16, precomputed), M = sum over channels of U (.) V (int32, wrapping), and A^T M A = 4 * the
/// 2x2 block of accumulators sum (x - zx) * w. Every step is an integer sum with wrapping int32
/// arithmetic, so A^T M A equals 4 * acc mod 2^32; when |4 * acc| < 2^31 (check_winograd checks it
/// per output channel at prepare time) it is 4 * acc exactly and >> 2 recovers acc, bit for bit
/// the direct convolution's. Multiplies per output: 16 / 4 = 4 per channel instead of 9 (2.25x fewer).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ohq::kernels {

/// Output channels per packed weight block (two AVX2 registers of int32 sums).
inline constexpr std::size_t winograd_out_block = 16;

/// One sample of a 3x3 stride-1 convolution with groups = 1, NHWC, quant::conv2d_reference bit for bit:
///   y[(oy * out_width + ox) * y_pixel_stride + o] = requantize(bias[o] + sum_{c,ky,kx inside} (x[iy][ix][c] - x_zero_point) * w[o][c][ky][kx])
/// with iy = oy - padding + ky, ix = ox - padding + kx (taps outside the image are real 0).
/// Output tiles of 2x2 pixels are numbered t = ty * ceil(out_width / 2) + tx; a call computes
/// tiles [tile_begin, tile_end) (threads split them).
struct winograd_args {
  const std::uint8_t* x = nullptr;  ///< [height][width][channels] u8 codes
  std::size_t height = 0, width = 0, channels = 0, padding = 1;
  std::size_t out_height = 0, out_width = 0;  ///< height + 2 * padding - 2, width + 2 * padding - 2
  std::int32_t x_zero_point = 0;
  /// U packed as [16 positions][out_blocks][channel_pairs][winograd_out_block][2] int16: position
  /// xi = 4 * i + j of the 4x4 transform, output channels in blocks of 16, channels in pairs
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
  /// The kernel's scratch for transformed inputs and products, at least 8 tiles' worth of
  /// 16 * round_up(channels, 16) + 512 int16 each; more lets it transform more tiles per chunk.
  /// The caller gives each thread its own (32-byte aligned).
  std::int16_t* scratch = nullptr;
  std::size_t scratch_elems = 0;
};

/// One Winograd kernel of the dispatch table.
struct winograd_kernel_entry {
  const char* name;  ///< e.g. "avx2 winograd F(2x2,3x3) (vpmaddwd, 6 tiles x 16 channels)"
  void (*run)(const winograd_args&) noexcept;
};

}  // namespace ohq::kernels

// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 Winograd convolution kernels of every winograd_tile (exact; the
/// arithmetic is in kernels/winograd_types.hpp). A no-op unless the including TU is compiled with
/// AVX2 and FMA.
///
/// Per chunk of tiles (its transformed inputs sized to stay in L2 next to one block of weights):
///   1. input transform: 16 channels per register, the alpha x alpha patch widened to int16 minus
///      the zero point, B^T d B by int16 adds and shifts (|V| <= 9180), stored V[xi][tile][channel];
///   2. for each block of 16 output channels and each group of 6 (5, 4) tiles, alpha^2 small GEMMs
///      (one per position xi, K = channels): a 32-bit broadcast of a tile's channel pair times the
///      pair-interleaved weights by vpmaddwd, 6 x 2 int32 accumulators, as the W8A8 kernel's loop
///      but without its widening;
///   3. output transform A^T M A by int32 adds and shifts, the exact division by the transforms'
///      scale, then the W8A8 GEMM's requantization (requantize8) and 8-byte stores.
#pragma once

#if defined(__AVX2__) && defined(__FMA__)

#include <ohq/kernels/avx2/gemm_w8a8.hpp>
#include <ohq/kernels/winograd_types.hpp>

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ohq::kernels::avx2 {

struct winograd {
  static constexpr std::size_t mr = 6;          ///< most tiles per register block (also 5 or 4)
  static constexpr std::size_t block = 16;      ///< channels per input-transform register

  static std::size_t round_up(std::size_t n, std::size_t m) noexcept { return (n + m - 1) / m * m; }

  /// out = B^T in along one axis of tile T (in, out: alpha int16 registers each).
  template <winograd_tile T>
  static void input_1d(const __m256i* in, __m256i* out) noexcept {
    const auto add = [](__m256i x, __m256i y) noexcept { return _mm256_add_epi16(x, y); };
    const auto sub = [](__m256i x, __m256i y) noexcept { return _mm256_sub_epi16(x, y); };
    if constexpr (T == winograd_tile::f2x2) {  // B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
      out[0] = sub(in[0], in[2]);
      out[1] = add(in[1], in[2]);
      out[2] = sub(in[2], in[1]);
      out[3] = sub(in[1], in[3]);
    } else if constexpr (T == winograd_tile::f2x2_stride2) {  // even inputs by F(2, 2), odd ones as they are
      out[0] = sub(in[0], in[2]);
      out[1] = in[2];
      out[2] = sub(in[4], in[2]);
      out[3] = in[1];
      out[4] = in[3];
    } else {  // B^T = [2 -1 -2 1 0; 0 2 1 -1 0; 0 -2 3 -1 0; 0 -1 0 1 0; 0 2 -1 -2 1]
      const __m256i s = sub(in[1], in[3]);                       // d1 - d3
      const __m256i e = _mm256_slli_epi16(sub(in[2], in[1]), 1);  // 2 (d2 - d1)
      out[0] = sub(_mm256_slli_epi16(sub(in[0], in[2]), 1), s);
      out[1] = add(add(in[1], in[2]), s);
      out[2] = add(e, sub(in[2], in[3]));
      out[3] = sub(in[3], in[1]);
      out[4] = add(sub(_mm256_slli_epi16(s, 1), in[2]), in[4]);
    }
  }

  /// out = A^T in along one axis of tile T (in: alpha int32 registers, out: m), wrapping.
  template <winograd_tile T>
  static void output_1d(const __m256i* in, __m256i* out) noexcept {
    const auto add = [](__m256i x, __m256i y) noexcept { return _mm256_add_epi32(x, y); };
    const auto sub = [](__m256i x, __m256i y) noexcept { return _mm256_sub_epi32(x, y); };
    if constexpr (T == winograd_tile::f2x2) {  // A^T = [1 1 1 0; 0 1 -1 -1]
      out[0] = add(add(in[0], in[1]), in[2]);
      out[1] = sub(sub(in[1], in[2]), in[3]);
    } else if constexpr (T == winograd_tile::f2x2_stride2) {  // A^T = [1 1 0 1 0; 0 1 1 0 1]
      out[0] = add(add(in[0], in[1]), in[3]);
      out[1] = add(add(in[1], in[2]), in[4]);
    } else {  // A^T = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 1]
      const __m256i p = add(in[1], in[2]);
      out[0] = add(add(in[0], p), in[3]);
      out[1] = add(sub(in[1], in[2]), _mm256_slli_epi32(in[3], 1));
      out[2] = add(add(p, _mm256_slli_epi32(in[3], 2)), in[4]);
    }
  }

  /// V of tiles [t0, t1) into v ([positions][tile_stride][cs] int16, tile t at row t - t0).
  template <winograd_tile T>
  static void transform_inputs(const winograd_args& a, std::size_t t0, std::size_t t1, std::size_t cs,
                               std::size_t tile_stride, std::int16_t* v) noexcept {
    using tr = winograd_transform<T>;
    constexpr std::size_t n = tr::alpha, positions = n * n, M = tr::m, step = M * tr::stride;
    const std::size_t tiles_w = (a.out_width + M - 1) / M, c_count = a.channels;
    const std::size_t xi_stride = tile_stride * cs;
    const __m256i zp16 = _mm256_set1_epi16(static_cast<std::int16_t>(a.x_zero_point));
    for (std::size_t t = t0; t < t1; ++t) {
      const std::size_t ty = t / tiles_w, tx = t % tiles_w;
      const std::ptrdiff_t iy0 = std::ptrdiff_t(step * ty) - std::ptrdiff_t(a.padding);
      const std::ptrdiff_t ix0 = std::ptrdiff_t(step * tx) - std::ptrdiff_t(a.padding);
      const std::uint8_t* src[positions];  // the patch's pixels, null outside the image
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(i), ix = ix0 + std::ptrdiff_t(j);
          const bool inside = iy >= 0 && iy < std::ptrdiff_t(a.height) && ix >= 0 && ix < std::ptrdiff_t(a.width);
          src[n * i + j] = inside ? a.x + (std::size_t(iy) * a.width + std::size_t(ix)) * c_count : nullptr;
        }
      std::int16_t* vt = v + (t - t0) * cs;
      for (std::size_t c0 = 0; c0 < cs; c0 += block) {
        const std::size_t cnt = c0 >= c_count ? 0 : (c_count - c0 < block ? c_count - c0 : block);
        __m256i d[positions];
        for (std::size_t p = 0; p < positions; ++p) {
          if (src[p] == nullptr || cnt == 0) {
            d[p] = _mm256_setzero_si256();
          } else if (cnt == block) {
            d[p] = _mm256_sub_epi16(
                _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[p] + c0))), zp16);
          } else {  // channel tail: lanes past cnt meet zero weights
            alignas(16) std::uint8_t buf[block] = {};
            std::memcpy(buf, src[p] + c0, cnt);
            d[p] = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(buf))), zp16);
          }
        }
        __m256i r[positions];  // B^T d, column by column
        for (std::size_t j = 0; j < n; ++j) {
          __m256i col[n], out[n];
          for (std::size_t i = 0; i < n; ++i) col[i] = d[n * i + j];
          input_1d<T>(col, out);
          for (std::size_t i = 0; i < n; ++i) r[n * i + j] = out[i];
        }
        for (std::size_t i = 0; i < n; ++i) {  // (B^T d) B, row by row
          __m256i out[n];
          input_1d<T>(r + n * i, out);
          std::int16_t* row = vt + c0 + n * i * xi_stride;
          for (std::size_t j = 0; j < n; ++j)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + j * xi_stride), out[j]);
        }
      }
    }
  }

  /// m[r][0..16) = sum_p v[r][2p, 2p+1] . u[p][0..16)[2] for the Rows (6, 5 or 4) tiles of one
  /// position; rows past Rows are named but unused (the compiler drops them). `next` (or null): the
  /// weights of the next position, fetched a line per step so they arrive from L3/DRAM while this
  /// one's are multiplied (a small map's weights are used by few tiles: the stream is the bound).
  template <std::size_t Rows>
  static void multiply(const std::int16_t* v, std::size_t cs, const std::int16_t* u, std::size_t kp,
                       const std::int16_t* next, std::int32_t* m) noexcept {
    static_assert(Rows >= 4 && Rows <= 6);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const std::int16_t *v0 = v, *v1 = v + cs, *v2 = v + 2 * cs, *v3 = v + 3 * cs, *v4 = v + 4 * cs, *v5 = v + 5 * cs;
    for (std::size_t p = 0; p < kp; ++p, u += 2 * winograd_out_block) {
      if (next) _mm_prefetch(reinterpret_cast<const char*>(next + p * 2 * winograd_out_block), _MM_HINT_T0);
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(u + 16));
      std::int32_t pair;
#define OHQ_AVX2_WINOGRAD_ROW(vr, lo, hi)                          \
  std::memcpy(&pair, vr + 2 * p, 4);                               \
  {                                                                \
    const __m256i b = _mm256_set1_epi32(pair);                     \
    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(b, w0));           \
    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(b, w1));           \
  }
      OHQ_AVX2_WINOGRAD_ROW(v0, c00, c01)
      OHQ_AVX2_WINOGRAD_ROW(v1, c10, c11)
      OHQ_AVX2_WINOGRAD_ROW(v2, c20, c21)
      OHQ_AVX2_WINOGRAD_ROW(v3, c30, c31)
      if constexpr (Rows >= 5) {
        OHQ_AVX2_WINOGRAD_ROW(v4, c40, c41)
      }
      if constexpr (Rows == 6) {
        OHQ_AVX2_WINOGRAD_ROW(v5, c50, c51)
      }
#undef OHQ_AVX2_WINOGRAD_ROW
    }
    __m256i* out = reinterpret_cast<__m256i*>(m);
    _mm256_storeu_si256(out + 0, c00);
    _mm256_storeu_si256(out + 1, c01);
    _mm256_storeu_si256(out + 2, c10);
    _mm256_storeu_si256(out + 3, c11);
    _mm256_storeu_si256(out + 4, c20);
    _mm256_storeu_si256(out + 5, c21);
    _mm256_storeu_si256(out + 6, c30);
    _mm256_storeu_si256(out + 7, c31);
    if constexpr (Rows >= 5) {
      _mm256_storeu_si256(out + 8, c40);
      _mm256_storeu_si256(out + 9, c41);
    }
    if constexpr (Rows == 6) {
      _mm256_storeu_si256(out + 10, c50);
      _mm256_storeu_si256(out + 11, c51);
    }
  }

  /// The register block (6, 5 or 4 tiles) that runs n tiles in the fewest instructions: each block
  /// step costs ~2 per tile plus ~3 shared (weight loads, loop).
  static std::size_t block_rows(std::size_t n) noexcept {
    std::size_t best = mr, best_cost = ~std::size_t{0};
    for (std::size_t rows = mr; rows >= 4; --rows) {
      const std::size_t cost = (n + rows - 1) / rows * (2 * rows + 3);
      if (cost < best_cost) best = rows, best_cost = cost;
    }
    return best;
  }

  /// Requantization operands of output channels [o0, o0 + 8) (fewer at the tail; the rest neutral).
  static requant8 channel_requant(const winograd_args& a, std::size_t o0) noexcept {
    std::int32_t bias[8] = {}, zeros[8] = {}, m[8] = {}, s[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const std::size_t n = o0 >= a.out_channels ? 0 : (a.out_channels - o0 < 8 ? a.out_channels - o0 : 8);
    if (a.bias) std::memcpy(bias, a.bias + o0, n * 4);
    std::memcpy(m, a.multiplier + o0, n * 4);
    std::memcpy(s, a.shift + o0, n * 4);
    return make_requant8(bias, zeros, m, s, 0, a.zero_point, a.lo, a.hi);
  }

  /// A^T M A of one tile's 8 output channels (m: [positions] of 8 int32 lanes, position stride
  /// `stride` int32), unscaled, requantized and stored into the tile's pixels inside the output.
  template <winograd_tile T>
  static void output_tile(const winograd_args& a, const std::int32_t* m, std::size_t stride, std::size_t tile,
                          std::size_t o0, const requant8& rq) noexcept {
    using tr = winograd_transform<T>;
    constexpr std::size_t n = tr::alpha, M = tr::m;
    __m256i t[M * n];  // A^T M, column by column
    for (std::size_t j = 0; j < n; ++j) {
      __m256i col[n], out[M];
      for (std::size_t i = 0; i < n; ++i)
        col[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + (n * i + j) * stride));
      output_1d<T>(col, out);
      for (std::size_t i = 0; i < M; ++i) t[n * i + j] = out[i];
    }
    const std::size_t tiles_w = (a.out_width + M - 1) / M, ty = tile / tiles_w, tx = tile % tiles_w;
    const std::size_t count = a.out_channels - o0 < 8 ? a.out_channels - o0 : 8;
    const __m256i odd_inverse = _mm256_set1_epi32(static_cast<std::int32_t>(tr::odd_inverse));
    for (std::size_t i = 0; i < M; ++i) {
      const std::size_t oy = M * ty + i;
      if (oy >= a.out_height) break;
      __m256i y[M];
      output_1d<T>(t + n * i, y);
      for (std::size_t j = 0; j < M; ++j) {
        const std::size_t ox = M * tx + j;
        if (ox >= a.out_width) break;
        // scale * acc exactly (check_winograd): the arithmetic shift and the odd part's inverse recover acc
        __m256i acc = tr::scale_shift ? _mm256_srai_epi32(y[j], tr::scale_shift) : y[j];
        if constexpr (tr::odd_inverse != 1) acc = _mm256_mullo_epi32(acc, odd_inverse);
        const std::uint64_t bytes = low_bytes8(requantize8(acc, rq));
        std::uint8_t* out = a.y + (oy * a.out_width + ox) * a.y_pixel_stride + o0;
        if (count == 8)
          std::memcpy(out, &bytes, 8);
        else
          for (std::size_t r = 0; r < count; ++r) out[r] = static_cast<std::uint8_t>(bytes >> (8 * r));
      }
    }
  }

  template <winograd_tile T>
  static void run_tiles(const winograd_args& a) noexcept {
    constexpr std::size_t positions = winograd_transform<T>::positions;
    const std::size_t kp = a.channel_pairs, cs = round_up(2 * kp, block);
    // per tile: V (positions x cs int16) and M (positions x 16 int32); the buffers hold chunk + mr
    // rows per position, for the last register block's rows past the chunk (winograd_args::scratch)
    const std::size_t per_tile = positions * (cs + 2 * winograd_out_block);
    const std::size_t fit = a.scratch_elems / per_tile;
    const std::size_t chunk = fit >= 2 * mr ? (fit - mr) / mr * mr : mr, tile_stride = chunk + mr;
    std::int16_t* v = a.scratch;
    std::int32_t* m = reinterpret_cast<std::int32_t*>(a.scratch + positions * tile_stride * cs);  // [xi][tile][16]
    const std::size_t m_stride = tile_stride * winograd_out_block;                               // per position
    for (std::size_t t0 = a.tile_begin; t0 < a.tile_end; t0 += chunk) {
      const std::size_t t1 = a.tile_end - t0 < chunk ? a.tile_end : t0 + chunk, n = t1 - t0;
      const std::size_t rows = block_rows(n), np = round_up(n, rows);
      transform_inputs<T>(a, t0, t1, cs, tile_stride, v);
      for (std::size_t xi = 0; xi < positions; ++xi)  // rows of the last register block past the chunk's tiles
        std::memset(v + (xi * tile_stride + n) * cs, 0, (np - n) * cs * sizeof(std::int16_t));
      for (std::size_t ob = 0; ob < a.out_blocks; ++ob) {
        const std::size_t o0 = ob * winograd_out_block;
        const std::int16_t* u = a.weights + ob * kp * 2 * winograd_out_block;
        const std::size_t u_stride = a.out_blocks * kp * 2 * winograd_out_block;  // per position
        // position-major: one position's weights (kp x 64 bytes) stay in L1 across the chunk's
        // tiles; the first register block fetches the next position's (or next block's first)
        for (std::size_t xi = 0; xi < positions; ++xi) {
          const std::int16_t* ub = u + xi * u_stride;
          const std::int16_t* next = xi + 1 < positions        ? ub + u_stride
                                     : ob + 1 < a.out_blocks ? a.weights + (ob + 1) * kp * 2 * winograd_out_block
                                                             : nullptr;
          for (std::size_t r0 = 0; r0 < np; r0 += rows) {
            const std::int16_t* vb = v + (xi * tile_stride + r0) * cs;
            const std::int16_t* pf = r0 == 0 ? next : nullptr;
            std::int32_t* mb = m + xi * m_stride + r0 * winograd_out_block;
            if (rows == 6)
              multiply<6>(vb, cs, ub, kp, pf, mb);
            else if (rows == 5)
              multiply<5>(vb, cs, ub, kp, pf, mb);
            else
              multiply<4>(vb, cs, ub, kp, pf, mb);
          }
        }
        const requant8 rq0 = channel_requant(a, o0), rq1 = channel_requant(a, o0 + 8);
        for (std::size_t r = 0; r < n; ++r) {
          const std::int32_t* mt = m + r * winograd_out_block;
          output_tile<T>(a, mt, m_stride, t0 + r, o0, rq0);
          if (o0 + 8 < a.out_channels) output_tile<T>(a, mt + 8, m_stride, t0 + r, o0 + 8, rq1);
        }
      }
    }
  }

  static void run(const winograd_args& a) noexcept {
    with_winograd_tile(a.tile, [&](auto tile) { run_tiles<decltype(tile)::value>(a); });
  }
};

inline void run_winograd(const winograd_args& a) noexcept { winograd::run(a); }

}  // namespace ohq::kernels::avx2

/// The AVX2 Winograd entry (see kernels/dispatch.hpp): weak, defined by every AVX2 TU including this.
extern "C" __attribute__((weak)) const ohq::kernels::winograd_kernel_entry* ohq_kernels_avx2_winograd() noexcept {
  static constexpr ohq::kernels::winograd_kernel_entry entry{
      "avx2 winograd F(2x2|3x3, 3x3), stride 1|2 (vpmaddwd, 6, 5 or 4 tiles x 16 channels)",
      &ohq::kernels::avx2::run_winograd};
  return &entry;
}

#endif  // __AVX2__ && __FMA__

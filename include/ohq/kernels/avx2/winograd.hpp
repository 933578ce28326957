// SPDX-License-Identifier: MIT
/// @file Defines the AVX2 Winograd F(2x2, 3x3) convolution kernel (exact; the arithmetic is in
/// kernels/winograd_types.hpp). A no-op unless the including TU is compiled with AVX2 and FMA.
///
/// Per chunk of tiles (its transformed inputs sized to stay in L2 next to one block of weights):
///   1. input transform: 16 channels per register, the 4x4 patch widened to int16 minus the zero
///      point, B^T d B by int16 adds (|V| <= 1020), stored V[xi][tile][channel];
///   2. for each block of 16 output channels and each group of 6 tiles, 16 small GEMMs (one per
///      position xi, K = channels): a 32-bit broadcast of a tile's channel pair times the pair-
///      interleaved weights by vpmaddwd, 6 x 2 int32 accumulators, as the W8A8 kernel's loop but
///      without its widening;
///   3. output transform A^T M A by int32 adds, >> 2, then the W8A8 GEMM's requantization
///      (requantize8) and 8-byte stores.
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
  static constexpr std::size_t mr = 6;          ///< tiles per register block
  static constexpr std::size_t block = 16;      ///< channels per input-transform register

  static std::size_t round_up(std::size_t n, std::size_t m) noexcept { return (n + m - 1) / m * m; }

  /// V of tiles [t0, t1) into v ([16][tile_stride][cs] int16, tile t at row t - t0).
  static void transform_inputs(const winograd_args& a, std::size_t t0, std::size_t t1, std::size_t cs,
                               std::size_t tile_stride, std::int16_t* v) noexcept {
    const std::size_t tiles_w = (a.out_width + 1) / 2, c_count = a.channels;
    const __m256i zp16 = _mm256_set1_epi16(static_cast<std::int16_t>(a.x_zero_point));
    for (std::size_t t = t0; t < t1; ++t) {
      const std::size_t ty = t / tiles_w, tx = t % tiles_w;
      const std::ptrdiff_t iy0 = std::ptrdiff_t(2 * ty) - std::ptrdiff_t(a.padding);
      const std::ptrdiff_t ix0 = std::ptrdiff_t(2 * tx) - std::ptrdiff_t(a.padding);
      const std::uint8_t* src[16];  // the patch's pixels, null outside the image
      for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 4; ++j) {
          const std::ptrdiff_t iy = iy0 + std::ptrdiff_t(i), ix = ix0 + std::ptrdiff_t(j);
          const bool inside = iy >= 0 && iy < std::ptrdiff_t(a.height) && ix >= 0 && ix < std::ptrdiff_t(a.width);
          src[4 * i + j] = inside ? a.x + (std::size_t(iy) * a.width + std::size_t(ix)) * c_count : nullptr;
        }
      std::int16_t* vt = v + (t - t0) * cs;
      for (std::size_t c0 = 0; c0 < cs; c0 += block) {
        const std::size_t cnt = c0 >= c_count ? 0 : (c_count - c0 < block ? c_count - c0 : block);
        __m256i d[16];
        for (std::size_t p = 0; p < 16; ++p) {
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
        __m256i r[16];  // B^T d
        for (std::size_t j = 0; j < 4; ++j) {
          r[0 + j] = _mm256_sub_epi16(d[0 + j], d[8 + j]);
          r[4 + j] = _mm256_add_epi16(d[4 + j], d[8 + j]);
          r[8 + j] = _mm256_sub_epi16(d[8 + j], d[4 + j]);
          r[12 + j] = _mm256_sub_epi16(d[4 + j], d[12 + j]);
        }
        for (std::size_t i = 0; i < 4; ++i) {  // (B^T d) B
          const __m256i q0 = r[4 * i], q1 = r[4 * i + 1], q2 = r[4 * i + 2], q3 = r[4 * i + 3];
          std::int16_t* row = vt + c0;
          const std::size_t xi_stride = tile_stride * cs;
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + (4 * i + 0) * xi_stride), _mm256_sub_epi16(q0, q2));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + (4 * i + 1) * xi_stride), _mm256_add_epi16(q1, q2));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + (4 * i + 2) * xi_stride), _mm256_sub_epi16(q2, q1));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + (4 * i + 3) * xi_stride), _mm256_sub_epi16(q1, q3));
        }
      }
    }
  }

  /// m[r][0..16) = sum_p v[r][2p, 2p+1] . u[p][0..16)[2] for the Rows (6 or 4) tiles of one
  /// position; rows past Rows are named but unused (the compiler drops them).
  template <std::size_t Rows>
  static void multiply(const std::int16_t* v, std::size_t cs, const std::int16_t* u, std::size_t kp,
                       std::int32_t* m) noexcept {
    static_assert(Rows == 6 || Rows == 4);
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const std::int16_t *v0 = v, *v1 = v + cs, *v2 = v + 2 * cs, *v3 = v + 3 * cs, *v4 = v + 4 * cs, *v5 = v + 5 * cs;
    for (std::size_t p = 0; p < kp; ++p, u += 2 * winograd_out_block) {
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
      if constexpr (Rows == 6) {
        OHQ_AVX2_WINOGRAD_ROW(v4, c40, c41)
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
    if constexpr (Rows == 6) {
      _mm256_storeu_si256(out + 8, c40);
      _mm256_storeu_si256(out + 9, c41);
      _mm256_storeu_si256(out + 10, c50);
      _mm256_storeu_si256(out + 11, c51);
    }
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

  /// A^T M A of one tile's 8 output channels (m: [16 positions] of 8 int32 lanes, position stride
  /// `stride` int32), requantized and stored into the tile's pixels inside the output.
  static void output_tile(const winograd_args& a, const std::int32_t* m, std::size_t stride, std::size_t tile,
                          std::size_t o0, const requant8& rq) noexcept {
    __m256i q[16];
    for (std::size_t xi = 0; xi < 16; ++xi) q[xi] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + xi * stride));
    __m256i t[8];  // A^T M
    for (std::size_t j = 0; j < 4; ++j) {
      t[j] = _mm256_add_epi32(_mm256_add_epi32(q[j], q[4 + j]), q[8 + j]);
      t[4 + j] = _mm256_sub_epi32(_mm256_sub_epi32(q[4 + j], q[8 + j]), q[12 + j]);
    }
    const std::size_t tiles_w = (a.out_width + 1) / 2, ty = tile / tiles_w, tx = tile % tiles_w;
    const std::size_t n = a.out_channels - o0 < 8 ? a.out_channels - o0 : 8;
    for (std::size_t i = 0; i < 2; ++i) {
      const std::size_t oy = 2 * ty + i;
      if (oy >= a.out_height) break;
      const __m256i y0 = _mm256_add_epi32(_mm256_add_epi32(t[4 * i], t[4 * i + 1]), t[4 * i + 2]);
      const __m256i y1 = _mm256_sub_epi32(_mm256_sub_epi32(t[4 * i + 1], t[4 * i + 2]), t[4 * i + 3]);
      for (std::size_t j = 0; j < 2; ++j) {
        const std::size_t ox = 2 * tx + j;
        if (ox >= a.out_width) break;
        // 4 * acc exactly (check_winograd): the arithmetic shift recovers acc
        const std::uint64_t bytes = low_bytes8(requantize8(_mm256_srai_epi32(j ? y1 : y0, 2), rq));
        std::uint8_t* y = a.y + (oy * a.out_width + ox) * a.y_pixel_stride + o0;
        if (n == 8)
          std::memcpy(y, &bytes, 8);
        else
          for (std::size_t r = 0; r < n; ++r) y[r] = static_cast<std::uint8_t>(bytes >> (8 * r));
      }
    }
  }

  static void run(const winograd_args& a) noexcept {
    const std::size_t kp = a.channel_pairs, cs = round_up(2 * kp, block);
    // per tile: V (16 x cs int16) and M (16 x 16 int32); chunk >= mr (winograd_args::scratch)
    const std::size_t per_tile = 16 * cs + 2 * 16 * winograd_out_block;
    std::size_t chunk = a.scratch_elems / per_tile / mr * mr;
    if (chunk < mr) chunk = mr;
    std::int16_t* v = a.scratch;
    std::int32_t* m = reinterpret_cast<std::int32_t*>(a.scratch + 16 * chunk * cs);  // [position][tile][16]
    const std::size_t m_stride = chunk * winograd_out_block;                          // per position
    for (std::size_t t0 = a.tile_begin; t0 < a.tile_end; t0 += chunk) {
      const std::size_t t1 = a.tile_end - t0 < chunk ? a.tile_end : t0 + chunk, n = t1 - t0;
      // register blocks of 6 tiles, or of 4 where that wastes fewer rows (16 tiles of a 7x7 map: 16, not 18)
      const bool by4 = round_up(n, 4) < round_up(n, mr);
      const std::size_t rows = by4 ? 4 : mr, np = round_up(n, rows);
      transform_inputs(a, t0, t1, cs, chunk, v);
      for (std::size_t xi = 0; xi < 16; ++xi)  // rows of the last register block past the chunk's tiles
        std::memset(v + (xi * chunk + n) * cs, 0, (np - n) * cs * sizeof(std::int16_t));
      for (std::size_t ob = 0; ob < a.out_blocks; ++ob) {
        const std::size_t o0 = ob * winograd_out_block;
        const std::int16_t* u = a.weights + ob * kp * 2 * winograd_out_block;
        const std::size_t u_stride = a.out_blocks * kp * 2 * winograd_out_block;  // per position
        // position-major: one position's weights (kp x 64 bytes) stay in L1 across the chunk's tiles
        for (std::size_t xi = 0; xi < 16; ++xi)
          for (std::size_t r0 = 0; r0 < np; r0 += rows) {
            std::int32_t* mr0 = m + xi * m_stride + r0 * winograd_out_block;
            if (by4)
              multiply<4>(v + (xi * chunk + r0) * cs, cs, u + xi * u_stride, kp, mr0);
            else
              multiply<mr>(v + (xi * chunk + r0) * cs, cs, u + xi * u_stride, kp, mr0);
          }
        const requant8 rq0 = channel_requant(a, o0), rq1 = channel_requant(a, o0 + 8);
        for (std::size_t r = 0; r < n; ++r) {
          const std::int32_t* mt = m + r * winograd_out_block;
          output_tile(a, mt, m_stride, t0 + r, o0, rq0);
          if (o0 + 8 < a.out_channels) output_tile(a, mt + 8, m_stride, t0 + r, o0 + 8, rq1);
        }
      }
    }
  }
};

inline void run_winograd(const winograd_args& a) noexcept { winograd::run(a); }

}  // namespace ohq::kernels::avx2

/// The AVX2 Winograd entry (see kernels/dispatch.hpp): weak, defined by every AVX2 TU including this.
extern "C" __attribute__((weak)) const ohq::kernels::winograd_kernel_entry* ohq_kernels_avx2_winograd() noexcept {
  static constexpr ohq::kernels::winograd_kernel_entry entry{
      "avx2 winograd F(2x2,3x3) (vpmaddwd, 6 or 4 tiles x 16 channels)", &ohq::kernels::avx2::run_winograd};
  return &entry;
}

#endif  // __AVX2__ && __FMA__

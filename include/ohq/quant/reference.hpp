// SPDX-License-Identifier: MIT
/// @file Defines the scalar reference operations on quantized tensors: GEMM/dense, im2col and
/// convolution with a fused requantization, max/average pooling, residual add and lookup tables.
///
/// These are the bit-exact truth that every SIMD kernel is tested against: plain loops, 64-bit
/// intermediates, no cleverness. Layout NCHW for one sample; weights [Cout][Cin/G][k][k].
#pragma once

#include <ohq/config.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/lut.hpp>
#include <ohq/quant/packing.hpp>
#include <ohq/quant/requantize.hpp>
#include <ohq/quant/weights.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace ohq::quant {

namespace detail {
template <class T>
inline constexpr bool is_code_type_v = std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t>;

inline std::int32_t narrow_accumulator(std::int64_t acc) noexcept {
  // The int32 accumulation precondition (see accumulation_fits_int32); kernels wrap instead.
  OHQ_ASSERT(acc >= std::numeric_limits<std::int32_t>::min() && acc <= std::numeric_limits<std::int32_t>::max());
  return static_cast<std::int32_t>(acc);
}
}  // namespace detail

/// bias + sum_{k<K} (x[k] - x_zero_point) * w[r][k]: the int32 accumulator of output channel r.
template <class In>
std::int32_t accumulate(const In* x, std::int32_t x_zero_point, const quantized_weights& w, std::size_t r,
                        std::int32_t bias = 0) noexcept {
  static_assert(detail::is_code_type_v<In>, "ohq: quantized activations are std::uint8_t or std::int8_t");
  std::int64_t acc = bias;
  const std::int8_t* wr = w.codes.data() + r * w.cols;
  if (x_zero_point < -128 || x_zero_point > 255) {  // (x - z) may not fit int16: the plain form
    for (std::size_t k = 0; k < w.cols; ++k) acc += std::int64_t(std::int32_t(x[k]) - x_zero_point) * wr[k];
    return detail::narrow_accumulator(acc);
  }
  // The same sum, exactly: |x - z| <= 383 and |w| <= 128 make every product fit int16 x int16 ->
  // int32 with |product| < 2^16, so 2^15 of them cannot overflow an int32 partial sum. Written so
  // compilers emit multiply-add instructions: the engine runs whole test sets through this loop.
  constexpr std::size_t block = std::size_t{1} << 15;
  for (std::size_t k0 = 0; k0 < w.cols; k0 += block) {
    const std::size_t k1 = std::min(w.cols, k0 + block);
    std::int32_t partial = 0;
    for (std::size_t k = k0; k < k1; ++k)
      partial += std::int32_t(std::int16_t(std::int32_t(x[k]) - x_zero_point)) * std::int32_t(std::int16_t(wr[k]));
    acc += partial;
  }
  return detail::narrow_accumulator(acc);
}

/// The same from packed weights, through the kernels' decomposition:
/// bias + multiplier * sum_{k<K_pad} x[k] u[r][k] - offset * sum_{k<K} x[k] - x_zero_point * row_sum[r].
/// Reads x[k] for k < K only (padding fields are 0, so their products vanish).
template <class In>
std::int32_t accumulate(const In* x, std::int32_t x_zero_point, const packed_weights& w, std::size_t r,
                        std::int32_t bias = 0) noexcept {
  static_assert(detail::is_code_type_v<In>, "ohq: quantized activations are std::uint8_t or std::int8_t");
  std::int64_t dot = 0, xsum = 0;
  for (std::size_t k = 0; k < w.cols; ++k) {
    dot += std::int64_t(x[k]) * w.field(r, k);
    xsum += x[k];
  }
  const std::int64_t acc = std::int64_t(bias) + std::int64_t(w.format.multiplier) * dot -
                           std::int64_t(w.format.offset) * xsum - std::int64_t(x_zero_point) * w.row_sums[r];
  return detail::narrow_accumulator(acc);
}

/// Where output (channel r, column i) of a GEMM goes: y[r * channel_stride + i * column_stride].
/// Dense layers use {1, rows} ([batch][out]); convolutions {pixels, 1} ([Cout][Ho*Wo]).
struct output_layout {
  std::size_t channel_stride = 1;
  std::size_t column_stride = 1;
};

/// y[r][i] = requantize(bias[r] + sum_k (x[i][k] - x_zero_point) * w[r][k], channel r) for the
/// rows [row_begin, row_begin + row_count) of w and n activation vectors x[i] = x + i * ldx.
/// `bias` may be null (zero). `Weights` is quantized_weights or packed_weights.
template <class In, class Out, class Weights>
void gemm_reference(const In* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point, const Weights& w,
                    std::size_t row_begin, std::size_t row_count, const std::int32_t* bias, const requant_params& rq,
                    Out* y, output_layout layout) noexcept {
  static_assert(detail::is_code_type_v<Out>, "ohq: requantized outputs are std::uint8_t or std::int8_t");
  OHQ_ASSERT(row_begin + row_count <= w.rows && rq.channels() >= row_begin + row_count && ldx >= w.cols);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < row_count; ++j) {
      const std::size_t r = row_begin + j;
      const std::int32_t acc = accumulate(x + i * ldx, x_zero_point, w, r, bias ? bias[r] : 0);
      y[j * layout.channel_stride + i * layout.column_stride] = store_code<Out>(requantize(acc, rq, r));
    }
}

/// A dense layer on a batch: y[b][r] for x [batch][K] (K = w.cols).
template <class In, class Out, class Weights>
void dense_reference(const In* x, std::size_t batch, std::int32_t x_zero_point, const Weights& w,
                     const std::int32_t* bias, const requant_params& rq, Out* y) noexcept {
  gemm_reference(x, batch, w.cols, x_zero_point, w, 0, w.rows, bias, rq, y, output_layout{1, w.rows});
}

/// The geometry of a 2-D convolution of one sample (floor mode, symmetric zero padding).
struct conv2d_shape {
  std::size_t in_channels = 1, in_height = 1, in_width = 1;
  std::size_t out_channels = 1;
  std::size_t kernel = 1, stride = 1, padding = 0, groups = 1;

  [[nodiscard]] constexpr std::size_t out_height() const noexcept { return (in_height + 2 * padding - kernel) / stride + 1; }
  [[nodiscard]] constexpr std::size_t out_width() const noexcept { return (in_width + 2 * padding - kernel) / stride + 1; }
  [[nodiscard]] constexpr std::size_t out_pixels() const noexcept { return out_height() * out_width(); }
  [[nodiscard]] constexpr std::size_t in_channels_per_group() const noexcept { return in_channels / groups; }
  [[nodiscard]] constexpr std::size_t out_channels_per_group() const noexcept { return out_channels / groups; }
  /// K of the GEMM: Cin/G * k * k.
  [[nodiscard]] constexpr std::size_t patch_size() const noexcept { return in_channels_per_group() * kernel * kernel; }
  [[nodiscard]] constexpr bool valid() const noexcept {
    return in_channels && in_height && in_width && out_channels && kernel && stride && groups &&
           in_channels % groups == 0 && out_channels % groups == 0 && in_height + 2 * padding >= kernel &&
           in_width + 2 * padding >= kernel;
  }
};

/// im2col of group `group` of one sample x [C][H][W], patch-major for dot products along K:
/// col[p * ld + (c * k + ky) * k + kx] = x[group * C/G + c][oy*S - P + ky][ox*S - P + kx], p = oy * Wo + ox,
/// with `pad_value` (the input zero point: real 0) outside the image, and 0 for the K-padding
/// columns [patch_size, ld) (what packed_weights expects there).
template <class In>
void im2col(const In* x, const conv2d_shape& g, std::size_t group, In pad_value, In* col, std::size_t ld) noexcept {
  static_assert(detail::is_code_type_v<In>, "ohq: quantized activations are std::uint8_t or std::int8_t");
  const std::size_t cg = g.in_channels_per_group(), k = g.kernel, patch = g.patch_size();
  const std::size_t ho = g.out_height(), wo = g.out_width();
  OHQ_ASSERT(ld >= patch);
  for (std::size_t oy = 0; oy < ho; ++oy)
    for (std::size_t ox = 0; ox < wo; ++ox) {
      In* dst = col + (oy * wo + ox) * ld;
      for (std::size_t c = 0; c < cg; ++c) {
        const In* plane = x + (group * cg + c) * g.in_height * g.in_width;
        for (std::size_t ky = 0; ky < k; ++ky)
          for (std::size_t kx = 0; kx < k; ++kx) {
            // signed arithmetic: the window may start above/left of the image
            const std::ptrdiff_t iy = std::ptrdiff_t(oy * g.stride + ky) - std::ptrdiff_t(g.padding);
            const std::ptrdiff_t ix = std::ptrdiff_t(ox * g.stride + kx) - std::ptrdiff_t(g.padding);
            const bool inside = iy >= 0 && ix >= 0 && iy < std::ptrdiff_t(g.in_height) && ix < std::ptrdiff_t(g.in_width);
            dst[(c * k + ky) * k + kx] = inside ? plane[std::size_t(iy) * g.in_width + std::size_t(ix)] : pad_value;
          }
      }
      std::fill(dst + patch, dst + ld, In{0});
    }
}

/// Elements of scratch `conv2d_reference` needs: one group's im2col matrix.
constexpr std::size_t conv2d_scratch_size(const conv2d_shape& g) noexcept { return g.out_pixels() * g.patch_size(); }

/// A quantized convolution of one sample: y [Cout][Ho][Wo] from x [C][H][W], weights with
/// rows = Cout and cols = patch_size (group grp uses rows [grp * Cout/G, (grp + 1) * Cout/G)),
/// int32 bias (may be null) and per-channel requantization. scratch: conv2d_scratch_size(g).
template <class In, class Out, class Weights>
void conv2d_reference(const In* x, const conv2d_shape& g, std::int32_t x_zero_point, const Weights& w,
                      const std::int32_t* bias, const requant_params& rq, Out* y, In* scratch) noexcept {
  OHQ_ASSERT(g.valid() && w.rows == g.out_channels && w.cols == g.patch_size());
  const std::size_t patch = g.patch_size(), pixels = g.out_pixels(), cout_g = g.out_channels_per_group();
  for (std::size_t grp = 0; grp < g.groups; ++grp) {
    im2col(x, g, grp, static_cast<In>(x_zero_point), scratch, patch);
    gemm_reference(scratch, pixels, patch, x_zero_point, w, grp * cout_g, cout_g, bias, rq, y + grp * cout_g * pixels,
                   output_layout{pixels, 1});
  }
}

/// Max pooling on codes (the order of codes is the order of reals, so the max commutes with
/// dequantization; the output keeps the input's parameters). Padded positions are ignored
/// (PyTorch pads with -inf). x [C][H][W] -> y [C][Ho][Wo], floor mode.
template <class T>
void max_pool2d_reference(const T* x, std::size_t channels, std::size_t height, std::size_t width, std::size_t kernel,
                          std::size_t stride, std::size_t padding, T* y) noexcept {
  static_assert(detail::is_code_type_v<T>, "ohq: quantized activations are std::uint8_t or std::int8_t");
  const std::size_t ho = (height + 2 * padding - kernel) / stride + 1, wo = (width + 2 * padding - kernel) / stride + 1;
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t oy = 0; oy < ho; ++oy)
      for (std::size_t ox = 0; ox < wo; ++ox) {
        T best = std::numeric_limits<T>::min();
        for (std::size_t ky = 0; ky < kernel; ++ky)
          for (std::size_t kx = 0; kx < kernel; ++kx) {
            const std::ptrdiff_t iy = std::ptrdiff_t(oy * stride + ky) - std::ptrdiff_t(padding);
            const std::ptrdiff_t ix = std::ptrdiff_t(ox * stride + kx) - std::ptrdiff_t(padding);
            if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(height) || ix >= std::ptrdiff_t(width)) continue;
            best = std::max(best, x[(c * height + std::size_t(iy)) * width + std::size_t(ix)]);
          }
        y[(c * ho + oy) * wo + ox] = best;
      }
}

/// Average pooling of x [C][H][W] -> y [C][Ho][Wo]: per window the int32 sum of (x - z_in), then
/// one requantization with M_n = s_in / (s_out * n), n = k*k (count_include_pad: padded inputs
/// are real 0, i.e. contribute x - z_in = 0) or the number of inputs inside the image.
/// `p` must hold multipliers for every such n (try_make_avg_pool(in, out, 1, k*k)).
template <class In, class Out>
void avg_pool2d_reference(const In* x, std::size_t channels, std::size_t height, std::size_t width, std::size_t kernel,
                          std::size_t stride, std::size_t padding, bool count_include_pad, const avg_pool_params& p,
                          Out* y) noexcept {
  static_assert(detail::is_code_type_v<In> && detail::is_code_type_v<Out>, "ohq: 8-bit codes in and out");
  const std::size_t ho = (height + 2 * padding - kernel) / stride + 1, wo = (width + 2 * padding - kernel) / stride + 1;
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t oy = 0; oy < ho; ++oy)
      for (std::size_t ox = 0; ox < wo; ++ox) {
        std::int64_t sum = 0;
        std::size_t inside = 0;
        for (std::size_t ky = 0; ky < kernel; ++ky)
          for (std::size_t kx = 0; kx < kernel; ++kx) {
            const std::ptrdiff_t iy = std::ptrdiff_t(oy * stride + ky) - std::ptrdiff_t(padding);
            const std::ptrdiff_t ix = std::ptrdiff_t(ox * stride + kx) - std::ptrdiff_t(padding);
            if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(height) || ix >= std::ptrdiff_t(width)) continue;
            sum += std::int32_t(x[(c * height + std::size_t(iy)) * width + std::size_t(ix)]) - p.in_zero_point;
            ++inside;
          }
        const std::size_t n = count_include_pad ? kernel * kernel : inside;
        y[(c * ho + oy) * wo + ox] =
            store_code<Out>(requantize(detail::narrow_accumulator(sum), p.for_count(n), p.zero_point, p.lo, p.hi));
      }
}

/// Global average pooling of x [C][HW] -> y [C]: y_c = requantize(sum_i (x_ci - z_in)) with
/// M = s_in / (s_out * HW) (p from try_make_avg_pool(in, out, HW, HW)).
template <class In, class Out>
void global_avg_pool_reference(const In* x, std::size_t channels, std::size_t pixels, const avg_pool_params& p,
                               Out* y) noexcept {
  static_assert(detail::is_code_type_v<In> && detail::is_code_type_v<Out>, "ohq: 8-bit codes in and out");
  const fixed_multiplier m = p.for_count(pixels);
  for (std::size_t c = 0; c < channels; ++c) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < pixels; ++i) sum += std::int32_t(x[c * pixels + i]) - p.in_zero_point;
    y[c] = store_code<Out>(requantize(detail::narrow_accumulator(sum), m, p.zero_point, p.lo, p.hi));
  }
}

/// The residual add y[i] = add_codes(a[i], b[i]) over n elements.
template <class In, class Out>
void add_reference(const In* a, const In* b, Out* y, std::size_t n, const add_params& p) noexcept {
  static_assert(detail::is_code_type_v<In> && detail::is_code_type_v<Out>, "ohq: 8-bit codes in and out");
  for (std::size_t i = 0; i < n; ++i) y[i] = store_code<Out>(add_codes(a[i], b[i], p));
}

/// The element-wise multiply y[i] = mul_codes(a[i], b[i]) over n elements.
template <class In, class Out>
void mul_reference(const In* a, const In* b, Out* y, std::size_t n, const mul_params& p) noexcept {
  static_assert(detail::is_code_type_v<In> && detail::is_code_type_v<Out>, "ohq: 8-bit codes in and out");
  for (std::size_t i = 0; i < n; ++i) y[i] = store_code<Out>(mul_codes(a[i], b[i], p));
}

/// Squeeze-excite gating: y[c][i] = mul_codes(x[c][i], gate[c]) for x [channels][pixels].
template <class In, class Out>
void scale_channels_reference(const In* x, const In* gate, Out* y, std::size_t channels, std::size_t pixels,
                              const mul_params& p) noexcept {
  static_assert(detail::is_code_type_v<In> && detail::is_code_type_v<Out>, "ohq: 8-bit codes in and out");
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t i = 0; i < pixels; ++i) y[c * pixels + i] = store_code<Out>(mul_codes(x[c * pixels + i], gate[c], p));
}

/// Requantizes int32 accumulators acc [channels][n] (bias already added) to y [channels][n].
template <class Out>
void requantize_reference(const std::int32_t* acc, std::size_t channels, std::size_t n, const requant_params& rq,
                          Out* y) noexcept {
  static_assert(detail::is_code_type_v<Out>, "ohq: requantized outputs are std::uint8_t or std::int8_t");
  for (std::size_t c = 0; c < channels; ++c)
    for (std::size_t i = 0; i < n; ++i) y[c * n + i] = store_code<Out>(requantize(acc[c * n + i], rq, c));
}

/// Quantizes n floats into codes of type T with parameters p (the network's input).
template <class T>
void quantize_reference(const float* x, T* q, std::size_t n, const quant_params& p) noexcept {
  static_assert(detail::is_code_type_v<T>, "ohq: quantized activations are std::uint8_t or std::int8_t");
  for (std::size_t i = 0; i < n; ++i) q[i] = store_code<T>(quantize(x[i], p));
}
/// Dequantizes n codes (the network's output, e.g. logits).
template <class T>
void dequantize_reference(const T* q, float* x, std::size_t n, const quant_params& p) noexcept {
  static_assert(detail::is_code_type_v<T>, "ohq: quantized activations are std::uint8_t or std::int8_t");
  for (std::size_t i = 0; i < n; ++i) x[i] = dequantize(q[i], p);
}

}  // namespace ohq::quant

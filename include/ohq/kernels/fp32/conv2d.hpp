// SPDX-License-Identifier: MIT
/// @file Defines the fp32 convolution kernels: im2col + Eigen GEMM, and a direct depthwise path.
///
/// These are the accuracy reference of the float engine, not the speed path of quantized
/// inference. Layout is NCHW, weights [Cout][Cin/groups][K][K] (ONNX/PyTorch order).
#pragma once

#include <ohq/config.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>

namespace ohq::kernels::fp32 {

/// Everything that fixes the arithmetic of one 2-D convolution, for one sample.
struct conv2d_geometry {
  std::size_t in_channels, in_height, in_width;
  std::size_t out_channels, out_height, out_width;
  std::size_t kernel, stride, padding, groups;

  [[nodiscard]] constexpr std::size_t in_channels_per_group() const { return in_channels / groups; }
  [[nodiscard]] constexpr std::size_t out_channels_per_group() const { return out_channels / groups; }
  /// Rows of one group's im2col matrix (= the GEMM's K).
  [[nodiscard]] constexpr std::size_t patch_size() const {
    return in_channels_per_group() * kernel * kernel;
  }
  [[nodiscard]] constexpr std::size_t out_pixels() const { return out_height * out_width; }
  /// A 1x1, stride-1, unpadded convolution reads its input as the GEMM operand directly.
  [[nodiscard]] constexpr bool is_pointwise() const {
    return kernel == 1 && stride == 1 && padding == 0;
  }
  /// One filter per channel: the direct depthwise path applies.
  [[nodiscard]] constexpr bool is_depthwise() const {
    return groups > 1 && groups == in_channels && groups == out_channels;
  }
  /// Floats of scratch one sample needs (the im2col matrix of one group).
  [[nodiscard]] constexpr std::size_t scratch_floats() const {
    return (is_pointwise() || is_depthwise()) ? 0 : patch_size() * out_pixels();
  }
};

/// Output columns ox whose input column ox*stride - padding + k lies inside [0, width).
struct valid_range {
  std::size_t begin, end;
};
inline constexpr valid_range valid_outputs(std::size_t out_size, std::size_t in_size, std::size_t stride,
                                           std::size_t padding, std::size_t k) {
  // ox*stride + k >= padding  and  ox*stride + k < in_size + padding
  const std::size_t lo = k >= padding ? 0 : (padding - k + stride - 1) / stride;
  const std::size_t limit = in_size + padding;  // exclusive bound on ox*stride + k
  std::size_t hi = limit > k ? (limit - k + stride - 1) / stride : 0;
  hi = std::min(hi, out_size);
  return {std::min(lo, hi), hi};
}

/// col[(c*K + ky)*K + kx][oy*Wo + ox] = in[c][oy*S - P + ky][ox*S - P + kx] (0 outside).
inline void im2col(const float* OHQ_RESTRICT in, std::size_t channels, const conv2d_geometry& g,
                   float* OHQ_RESTRICT col) {
  const std::size_t k = g.kernel, s = g.stride, p = g.padding;
  const std::size_t ho = g.out_height, wo = g.out_width, h = g.in_height, w = g.in_width;
  for (std::size_t c = 0; c < channels; ++c) {
    const float* plane = in + c * h * w;
    for (std::size_t ky = 0; ky < k; ++ky) {
      const valid_range rows = valid_outputs(ho, h, s, p, ky);
      for (std::size_t kx = 0; kx < k; ++kx) {
        const valid_range cols = valid_outputs(wo, w, s, p, kx);
        float* dst = col + ((c * k + ky) * k + kx) * ho * wo;
        std::fill(dst, dst + rows.begin * wo, 0.0f);
        for (std::size_t oy = rows.begin; oy < rows.end; ++oy) {
          float* row = dst + oy * wo;
          const float* src = plane + (oy * s + ky - p) * w;
          std::fill(row, row + cols.begin, 0.0f);
          for (std::size_t ox = cols.begin; ox < cols.end; ++ox) row[ox] = src[ox * s + kx - p];
          std::fill(row + cols.end, row + wo, 0.0f);
        }
        std::fill(dst + rows.end * wo, dst + ho * wo, 0.0f);
      }
    }
  }
}

using row_major_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<row_major_matrix, Eigen::Unaligned>;
using const_matrix_map = Eigen::Map<const row_major_matrix, Eigen::Unaligned>;

/// Direct depthwise convolution (one KxK filter per channel) of one sample.
inline void depthwise_conv2d(const conv2d_geometry& g, const float* OHQ_RESTRICT in,
                             const float* OHQ_RESTRICT weight, const float* OHQ_RESTRICT bias,
                             float* OHQ_RESTRICT out) {
  const std::size_t k = g.kernel, s = g.stride, p = g.padding;
  const std::size_t ho = g.out_height, wo = g.out_width, h = g.in_height, w = g.in_width;
  for (std::size_t c = 0; c < g.in_channels; ++c) {
    const float* plane = in + c * h * w;
    const float* filter = weight + c * k * k;
    float* dst = out + c * ho * wo;
    std::fill(dst, dst + ho * wo, bias[c]);
    for (std::size_t ky = 0; ky < k; ++ky) {
      const valid_range rows = valid_outputs(ho, h, s, p, ky);
      for (std::size_t kx = 0; kx < k; ++kx) {
        const valid_range cols = valid_outputs(wo, w, s, p, kx);
        const float wk = filter[ky * k + kx];
        for (std::size_t oy = rows.begin; oy < rows.end; ++oy) {
          const float* src = plane + (oy * s + ky - p) * w;
          float* row = dst + oy * wo;
          // invariant: ox*s + kx >= p on [cols.begin, cols.end), so the index never wraps
          if (s == 1) {
            for (std::size_t ox = cols.begin; ox < cols.end; ++ox) row[ox] += wk * src[ox + kx - p];
          } else {
            for (std::size_t ox = cols.begin; ox < cols.end; ++ox) row[ox] += wk * src[ox * s + kx - p];
          }
        }
      }
    }
  }
}

/// Convolution of one sample. `scratch` holds at least g.scratch_floats() floats.
inline void conv2d(const conv2d_geometry& g, const float* in, const float* weight, const float* bias,
                   float* out, float* scratch) {
  if (g.is_depthwise() && g.out_channels == g.in_channels) {
    depthwise_conv2d(g, in, weight, bias, out);
    return;
  }
  const std::size_t cin_g = g.in_channels_per_group(), cout_g = g.out_channels_per_group();
  const std::size_t patch = g.patch_size(), pixels = g.out_pixels();
  for (std::size_t grp = 0; grp < g.groups; ++grp) {
    const float* group_in = in + grp * cin_g * g.in_height * g.in_width;
    const float* col = group_in;
    if (!g.is_pointwise()) {
      im2col(group_in, cin_g, g, scratch);
      col = scratch;
    }
    const_matrix_map w(weight + grp * cout_g * patch, static_cast<Eigen::Index>(cout_g),
                       static_cast<Eigen::Index>(patch));
    const_matrix_map x(col, static_cast<Eigen::Index>(patch), static_cast<Eigen::Index>(pixels));
    matrix_map y(out + grp * cout_g * pixels, static_cast<Eigen::Index>(cout_g),
                 static_cast<Eigen::Index>(pixels));
    y.noalias() = w * x;
    for (std::size_t o = 0; o < cout_g; ++o) y.row(static_cast<Eigen::Index>(o)).array() += bias[grp * cout_g + o];
  }
}

/// out[n][o] = bias[o] + sum_i in[n][i] * weight[o][i], for a whole batch in one GEMM.
inline void dense(const float* in, std::size_t batch, std::size_t in_features, std::size_t out_features,
                  const float* weight, const float* bias, float* out) {
  const_matrix_map x(in, static_cast<Eigen::Index>(batch), static_cast<Eigen::Index>(in_features));
  const_matrix_map w(weight, static_cast<Eigen::Index>(out_features), static_cast<Eigen::Index>(in_features));
  matrix_map y(out, static_cast<Eigen::Index>(batch), static_cast<Eigen::Index>(out_features));
  y.noalias() = x * w.transpose();
  Eigen::Map<const Eigen::RowVectorXf> b(bias, static_cast<Eigen::Index>(out_features));
  y.rowwise() += b;
}

}  // namespace ohq::kernels::fp32

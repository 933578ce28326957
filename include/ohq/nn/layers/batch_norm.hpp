// SPDX-License-Identifier: MIT
/// @file Defines `batch_norm` (inference form), folded into a preceding conv2d/dense when possible.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/shape.hpp>
#include <ohq/nn/leaf.hpp>

#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace ohq::nn {
namespace detail {

template <class In, class Path>
class batch_norm_instance : public leaf_layer<batch_norm_instance<In, Path>, In, In, Path> {
 public:
  static constexpr std::size_t channels = In::dims[0];
  static constexpr std::size_t plane = In::size / channels;
  static constexpr layer_kind kind = layer_kind::batch_norm;
  /// weight and bias, as torchvision counts them (running statistics are buffers, not parameters).
  static constexpr std::uint64_t params = 2 * channels, macs = 0;

  batch_norm_instance() : gamma_(channels), beta_(channels), mean_(channels), var_(channels) {
    gamma_.fill(1.0f);
    var_.fill(1.0f);
  }
  static std::string name() { return "batch_norm"; }

  std::span<float> weight() { return gamma_.span(); }
  std::span<float> bias() { return beta_.span(); }
  std::span<float> running_mean() { return mean_.span(); }
  std::span<float> running_var() { return var_.span(); }
  float& epsilon() { return epsilon_; }
  [[nodiscard]] bool folded() const { return folded_; }

  template <class F>
  void for_each_parameter(F&& f) {
    f(std::string_view("weight"), weight());
    f(std::string_view("bias"), bias());
    f(std::string_view("running_mean"), running_mean());
    f(std::string_view("running_var"), running_var());
  }

  /// The per-channel affine map this layer computes: y = scale * x + shift.
  void scale_shift(std::span<float> scale, std::span<float> shift) const {
    for (std::size_t c = 0; c < channels; ++c) {
      scale[c] = gamma_[c] / std::sqrt(var_[c] + epsilon_);
      shift[c] = beta_[c] - mean_[c] * scale[c];
    }
  }

  /// Moves this layer's affine map into `target` (a conv2d or dense producing In); from then on
  /// this layer passes its input through.
  template <class Target>
  void fold_into(Target& target) {
    aligned_buffer<float> scale(channels), shift(channels);
    scale_shift(scale, shift);
    target.fold_scale_shift(scale, shift);
    folded_ = true;
  }

  /// Records that the model file already folded this batch norm into the preceding layer (as
  /// PyTorch's ONNX exporter does): from now on the layer passes its input through.
  void mark_folded() { folded_ = true; }

  void reserve(std::size_t batch) {
    if (!folded_) this->output_.resize(batch * In::size);
  }

  const float* forward(const float* in, std::size_t batch, workspace&) {
    if (folded_) return in;
    float* out = this->output_.data();
    for (std::size_t n = 0; n < batch; ++n) {
      for (std::size_t c = 0; c < channels; ++c) {
        const float scale = gamma_[c] / std::sqrt(var_[c] + epsilon_);
        const float shift = beta_[c] - mean_[c] * scale;
        const float* x = in + (n * channels + c) * plane;
        float* y = out + (n * channels + c) * plane;
        for (std::size_t i = 0; i < plane; ++i) y[i] = x[i] * scale + shift;
      }
    }
    return out;
  }

 private:
  aligned_buffer<float> gamma_, beta_, mean_, var_;
  float epsilon_ = 1e-5f;
  bool folded_ = false;
};

}  // namespace detail

/// Batch normalization with running statistics (PyTorch BatchNorm2d/1d in eval mode).
struct batch_norm {
  template <class In, class Path>
  using instance = detail::batch_norm_instance<In, Path>;
};

}  // namespace ohq::nn

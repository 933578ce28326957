// SPDX-License-Identifier: MIT
/// @file Defines `ohq::tensor_view<T>`, a non-owning dense row-major view of up to 4 dimensions.
#pragma once

#include <ohq/config.hpp>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <type_traits>

namespace ohq {

/// A non-owning view of a dense, row-major (NCHW for feature maps) array. The first dimension is
/// the batch when a view holds network activations.
template <class T>
class tensor_view {
 public:
  static constexpr std::size_t max_rank = 4;

  tensor_view() = default;
  tensor_view(T* data, std::initializer_list<std::size_t> dims) : data_(data) {
    OHQ_ASSERT(dims.size() >= 1 && dims.size() <= max_rank);
    for (std::size_t d : dims) dims_[rank_++] = d;
  }
  template <std::size_t N>
  tensor_view(T* data, const std::array<std::size_t, N>& dims) : data_(data), rank_(N) {
    static_assert(N >= 1 && N <= max_rank, "ohq: tensor_view supports ranks 1 to 4");
    for (std::size_t i = 0; i < N; ++i) dims_[i] = dims[i];
  }
  /// A view of const T from a view of T.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  tensor_view(const tensor_view<U>& other)  // NOLINT: implicit like span's
      : data_(other.data()), rank_(other.rank()) {
    for (std::size_t i = 0; i < rank_; ++i) dims_[i] = other.dim(i);
  }

  [[nodiscard]] T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t rank() const noexcept { return rank_; }
  [[nodiscard]] std::size_t dim(std::size_t i) const noexcept { return i < rank_ ? dims_[i] : 1; }
  [[nodiscard]] std::size_t size() const noexcept {
    if (!rank_) return 0;
    std::size_t n = 1;
    for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
  }
  [[nodiscard]] std::span<T> span() const noexcept { return {data_, size()}; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }
  /// Element (n, c, h, w) of a rank-4 view.
  T& operator()(std::size_t n, std::size_t c, std::size_t h, std::size_t w) const noexcept {
    OHQ_ASSERT(rank_ == 4);
    return data_[((n * dims_[1] + c) * dims_[2] + h) * dims_[3] + w];
  }
  /// Element (n, i) of a rank-2 view.
  T& operator()(std::size_t n, std::size_t i) const noexcept {
    OHQ_ASSERT(rank_ == 2);
    return data_[n * dims_[1] + i];
  }
  /// "[2, 16, 28, 28]".
  [[nodiscard]] std::string shape_string() const {
    std::string out = "[";
    for (std::size_t i = 0; i < rank_; ++i) {
      if (i) out += ", ";
      out += std::to_string(dims_[i]);
    }
    return out + "]";
  }

 private:
  T* data_ = nullptr;
  std::array<std::size_t, max_rank> dims_{};
  std::size_t rank_ = 0;
};

}  // namespace ohq

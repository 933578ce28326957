// SPDX-License-Identifier: MIT
/// @file Defines `ohq::aligned_buffer<T>`, an owning 64-byte aligned array that allocates only on resize.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace ohq {

/// Cache-line (and zmm) alignment of every buffer ohq owns.
inline constexpr std::size_t buffer_alignment = 64;

/// An owning, 64-byte aligned, zero-initialised array of trivially copyable T. It never shrinks:
/// `resize` to a smaller size keeps the storage, so set-up sizes it once and inference never
/// allocates.
template <class T>
class aligned_buffer {
  static_assert(std::is_trivially_copyable_v<T>, "ohq: aligned_buffer holds trivially copyable types");

 public:
  aligned_buffer() = default;
  explicit aligned_buffer(std::size_t n) { resize(n); }
  aligned_buffer(const aligned_buffer& other) { assign(other.data(), other.size()); }
  aligned_buffer(aligned_buffer&& other) noexcept { swap(other); }
  aligned_buffer& operator=(const aligned_buffer& other) {
    if (this != &other) assign(other.data(), other.size());
    return *this;
  }
  aligned_buffer& operator=(aligned_buffer&& other) noexcept {
    aligned_buffer(std::move(other)).swap(*this);
    return *this;
  }
  ~aligned_buffer() { release(); }

  /// Sets the size to n; allocates only when n exceeds the capacity. New elements are zero.
  void resize(std::size_t n) {
    if (n > capacity_) {
      T* fresh = static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{buffer_alignment}));
      if (size_) std::memcpy(fresh, data_, size_ * sizeof(T));
      std::memset(static_cast<void*>(fresh + size_), 0, (n - size_) * sizeof(T));
      release();
      data_ = fresh;
      capacity_ = n;
    } else if (n > size_) {
      std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
    }
    size_ = n;
  }
  void assign(const T* src, std::size_t n) {
    resize(n);
    if (n) std::memcpy(data_, src, n * sizeof(T));
  }
  void fill(const T& value) { std::fill(data_, data_ + size_, value); }

  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] const T* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  operator std::span<T>() noexcept { return {data_, size_}; }              // NOLINT: view by design
  operator std::span<const T>() const noexcept { return {data_, size_}; }  // NOLINT: view by design
  [[nodiscard]] std::span<T> span() noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_, size_}; }

  void swap(aligned_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }

 private:
  void release() noexcept {
    if (data_) ::operator delete(data_, std::align_val_t{buffer_alignment});
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ohq

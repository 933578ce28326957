// SPDX-License-Identifier: MIT
/// @file Defines `gemm_w8a8`: weight codes of any width (1..8 bits) as int8, packed once for one arch's kernel,
/// then y = requantize(bias + (x - x_zero_point) * w) on u8 activations through the dispatch
/// table: the same semantics as quant::gemm_reference, bit for bit.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/error.hpp>
#include <ohq/core/thread_pool.hpp>
#include <ohq/kernels/dispatch.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>
#include <ohq/quant/weights.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace ohq::kernels {

namespace detail {
constexpr std::size_t ceil_div(std::size_t a, std::size_t b) noexcept { return (a + b - 1) / b; }
}  // namespace detail

/// Packs rows [row_begin, row_begin + row_count) of [rows][cols] int8 codes into the layout of
/// w8a8_types.hpp with tile height mr: out[((t * k4 + g) * mr + rr) * 4 + kk] = w[t*mr + rr][4g + kk],
/// zero outside the matrix. `out` must hold packed_w8a8_size(row_count, cols, mr) bytes.
constexpr std::size_t packed_w8a8_size(std::size_t rows, std::size_t cols, std::size_t mr) noexcept {
  return (rows + mr - 1) / mr * mr * ((cols + 3) / 4 * 4);
}
inline void pack_w8a8(const std::int8_t* codes, std::size_t cols, std::size_t row_begin, std::size_t row_count,
                      std::size_t mr, std::int8_t* out) noexcept {
  const std::size_t k4 = (cols + 3) / 4, tiles = (row_count + mr - 1) / mr;
  for (std::size_t t = 0; t < tiles; ++t)
    for (std::size_t g = 0; g < k4; ++g)
      for (std::size_t rr = 0; rr < mr; ++rr)
        for (std::size_t kk = 0; kk < 4; ++kk) {
          const std::size_t j = t * mr + rr, k = 4 * g + kk;
          out[((t * k4 + g) * mr + rr) * 4 + kk] = (j < row_count && k < cols) ? codes[(row_begin + j) * cols + k] : 0;
        }
}

/// The kernels' argument block for one call of a prepared GEMM: its packed weights and row sums
/// (rows [row_begin, row_begin + rows) of a layer with K = cols), the caller's n activation columns,
/// bias (null: zero), requantization parameters of the whole layer and output layout.
template <class Out>
w8a8_gemm_args make_gemm_args(const void* packed, const std::int32_t* row_sums, std::size_t row_begin, std::size_t rows,
                              std::size_t cols, const std::uint8_t* x, std::size_t n, std::size_t ldx,
                              std::int32_t x_zero_point, const std::int32_t* bias, const quant::requant_params& rq,
                              Out* y, quant::output_layout layout) noexcept {
  static_assert(std::is_same_v<Out, std::uint8_t> || std::is_same_v<Out, std::int8_t>,
                "ohq: requantized outputs are std::uint8_t or std::int8_t");
  OHQ_ASSERT(ldx >= cols && rq.channels() >= row_begin + rows);
  w8a8_gemm_args a;
  a.x = x;
  a.n = n;
  a.ldx = ldx;
  a.x_zero_point = x_zero_point;
  a.packed = static_cast<const std::int8_t*>(packed);
  a.row_sums = row_sums;
  a.rows = rows;
  a.cols = cols;
  a.bias = bias ? bias + row_begin : nullptr;
  a.multiplier = rq.multiplier.data() + row_begin;
  a.shift = rq.shift.data() + row_begin;
  a.zero_point = rq.zero_point;
  a.lo = rq.lo;
  a.hi = rq.hi;
  a.y = reinterpret_cast<std::uint8_t*>(y);
  a.channel_stride = layout.channel_stride;
  a.column_stride = layout.column_stride;
  return a;
}

/// Runs the GEMM `whole` (any kernel reading the packed-tile layout: tile height mr, nr columns
/// per register tile, `tile_bytes` per row tile) as parts `run_part(args)` over the threads of
/// `pool`: column blocks (multiples of nr) when there are enough columns (convolutions: each block
/// widens only its own activation columns), else row tiles (multiples of mr: batch-1 dense layers,
/// each part streaming its own rows of the weights); about 4 parts per thread, handed out one at a
/// time, which evens out threads a busy machine slows down. Every output belongs to exactly one
/// part, computed with the single-thread arithmetic: bit-identical to run_part(whole).
template <class RunPart>
void split_gemm(thread_pool& pool, const w8a8_gemm_args& whole, std::size_t mr, std::size_t nr, std::size_t tile_bytes,
                const RunPart& run_part) {
  if (pool.size() == 1 || whole.n == 0) return run_part(whole);
  using detail::ceil_div;
  const std::size_t parts = pool.size() * 4;
  if (whole.n >= 2 * nr * pool.size()) {
    const std::size_t block = ceil_div(ceil_div(whole.n, parts), nr) * nr;  // columns per part
    pool.parallel_for(ceil_div(whole.n, block), [&](std::size_t t) {
      w8a8_gemm_args a = whole;
      const std::size_t i0 = t * block;
      a.x += i0 * whole.ldx;
      a.n = std::min(block, whole.n - i0);
      a.y += i0 * whole.column_stride;
      run_part(a);
    });
  } else {
    const std::size_t tiles = ceil_div(whole.rows, mr);
    const std::size_t block = ceil_div(tiles, std::min(tiles, parts)) * mr;  // rows per part
    pool.parallel_for(ceil_div(whole.rows, block), [&](std::size_t t) {
      w8a8_gemm_args a = whole;
      const std::size_t j0 = t * block;
      a.rows = std::min(block, whole.rows - j0);
      a.packed += j0 / mr * tile_bytes;
      a.row_sums += j0;
      if (a.bias) a.bias += j0;
      a.multiplier += j0;
      a.shift += j0;
      a.y += j0 * whole.channel_stride;
      run_part(a);
    });
  }
}

/// A prepared W8A8 GEMM: weights packed for one arch path, ready to run any number of times.
class gemm_w8a8 {
 public:
  /// Packs rows [row_begin, row_begin + row_count) of `w` for path `a`.
  /// Codes of fewer than 8 bits run as int8 (no speed gain: the low-bit families do that).
  /// Errors: a path this CPU or build lacks (unsupported_cpu), an empty or out-of-range row range
  /// (invalid_argument).
  static result<gemm_w8a8> try_prepare(const quant::quantized_weights& w, std::size_t row_begin,
                                       std::size_t row_count, arch a) {
    auto kernel = try_gemm_w8a8_kernel(a);
    if (!kernel) return kernel.error();
    if (w.rows == 0 || w.cols == 0 || w.codes.size() != w.rows * w.cols)
      return make_status(errc::invalid_argument, "gemm_w8a8: weights ", w.rows, "x", w.cols, " with ",
                         w.codes.size(), " codes");
    if (row_count == 0 || row_begin > w.rows || row_count > w.rows - row_begin)
      return make_status(errc::invalid_argument, "gemm_w8a8: rows [", row_begin, ", ", row_begin + row_count,
                         ") outside the ", w.rows, " rows of the weights");
    gemm_w8a8 g;
    g.kernel_ = *kernel;
    g.arch_ = a;
    g.row_begin_ = row_begin;
    g.rows_ = row_count;
    g.cols_ = w.cols;
    g.packed_.resize(packed_w8a8_size(row_count, w.cols, g.kernel_->mr));
    pack_w8a8(w.codes.data(), w.cols, row_begin, row_count, g.kernel_->mr, g.packed_.data());
    g.row_sums_.resize(row_count);
    for (std::size_t j = 0; j < row_count; ++j) g.row_sums_[j] = w.row_sum(row_begin + j);
    return g;
  }
  /// All rows, path `a`.
  static result<gemm_w8a8> try_prepare(const quant::quantized_weights& w, arch a) {
    return try_prepare(w, 0, w.rows, a);
  }
  /// All rows, the active path (try_active_arch()).
  static result<gemm_w8a8> try_prepare(const quant::quantized_weights& w) {
    auto a = try_active_arch();
    if (!a) return a.error();
    return try_prepare(w, 0, w.rows, *a);
  }
#ifndef OHQ_NO_EXCEPTIONS
  static gemm_w8a8 prepare(const quant::quantized_weights& w, arch a) { return try_prepare(w, a).value(); }
  static gemm_w8a8 prepare(const quant::quantized_weights& w) { return try_prepare(w).value(); }
#endif

  /// y[j * channel_stride + i * column_stride] = requantize(bias[r] + sum_k (x[i][k] - x_zero_point) * w[r][k], rq, r)
  /// for r = row_begin + j, j < rows(), i < n, x[i] = x + i * ldx: quant::gemm_reference's semantics
  /// (its precondition too: every accumulator fits int32). `bias` may be null.
  template <class Out>
  void run(const std::uint8_t* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point, const std::int32_t* bias,
           const quant::requant_params& rq, Out* y, quant::output_layout layout) const {
    if (n == 0) return;
    call_kernel(args(x, n, ldx, x_zero_point, bias, rq, y, layout));
  }

  /// The same, split over the threads of `pool` by split_gemm: bit-identical to run() for any pool
  /// size. Like run(), the first call on a thread sizes that thread's kernel scratch (a failed
  /// allocation inside a task terminates).
  template <class Out>
  void run(thread_pool& pool, const std::uint8_t* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point,
           const std::int32_t* bias, const quant::requant_params& rq, Out* y, quant::output_layout layout) const {
    if (n == 0) return;
    split_gemm(pool, args(x, n, ldx, x_zero_point, bias, rq, y, layout), kernel_->mr, kernel_->nr,
               kernel_->mr * (detail::ceil_div(cols_, 4) * 4), [this](const w8a8_gemm_args& a) { call_kernel(a); });
  }

  /// run() on implicit im2col columns (gemm_windows), one thread; only where kernel().windows.
  template <class Out>
  void run_windows(const std::uint8_t* x, std::size_t n, std::size_t ldx, gemm_windows windows,
                   std::int32_t x_zero_point, const std::int32_t* bias, const quant::requant_params& rq, Out* y,
                   quant::output_layout layout) const {
    OHQ_ASSERT(kernel_ != nullptr && kernel_->windows && windows.runs > 0 && cols_ % windows.runs == 0 &&
               cols_ / windows.runs % 4 == 0);
    if (n == 0) return;
    w8a8_gemm_args a = args(x, n, ldx, x_zero_point, bias, rq, y, layout);
    a.windows = windows;
    call_kernel(a);
  }

  [[nodiscard]] arch path() const noexcept { return arch_; }
  [[nodiscard]] const w8a8_kernel_entry& kernel() const noexcept { return *kernel_; }
  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
  [[nodiscard]] std::size_t row_begin() const noexcept { return row_begin_; }
  /// Bytes of packed weights.
  [[nodiscard]] std::size_t packed_bytes() const noexcept { return packed_.size(); }

 private:

  gemm_w8a8() = default;

  template <class Out>
  w8a8_gemm_args args(const std::uint8_t* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point,
                      const std::int32_t* bias, const quant::requant_params& rq, Out* y,
                      quant::output_layout layout) const {
    OHQ_ASSERT(kernel_ != nullptr);
    return make_gemm_args(packed_.data(), row_sums_.data(), row_begin_, rows_, cols_, x, n, ldx, x_zero_point, bias, rq, y,
                          layout);
  }

  /// Runs the kernel on `a` with this thread's scratch (allocated once per thread and K).
  void call_kernel(w8a8_gemm_args a) const {
    if (kernel_->scratch_columns) {
      thread_local std::vector<std::int16_t> scratch;
      scratch.resize(kernel_->scratch_columns * (detail::ceil_div(cols_, 4) * 4));
      a.scratch = scratch.data();
    }
    kernel_->run(a);
  }
  const w8a8_kernel_entry* kernel_ = nullptr;
  arch arch_ = arch::scalar;
  std::size_t row_begin_ = 0, rows_ = 0, cols_ = 0;
  aligned_buffer<std::int8_t> packed_;
  std::vector<std::int32_t> row_sums_;
};

}  // namespace ohq::kernels

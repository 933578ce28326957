// SPDX-License-Identifier: MIT
/// @file Defines `gemm`, the GEMM facade: packs a layer's weights once for the kernel family that
/// fits their bit-width (8..5 bits: W8A8; 4 and 3: W4A8; 2: W2A8; 1: W1A8; any on W8A8 for rows of
/// fewer than 128 inputs) on one arch path, or
/// for an explicitly named instance of kernels/instances.hpp (so a profiler can time each
/// candidate), then runs y = requantize(bias + (x - x_zero_point) * w) with exactly
/// gemm_w8a8::run's signature and quant::gemm_reference's semantics, bit for bit.
#pragma once

#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/error.hpp>
#include <ohq/core/thread_pool.hpp>
#include <ohq/kernels/dispatch.hpp>
#include <ohq/kernels/gemm_lowbit_types.hpp>
#include <ohq/kernels/gemm_w8a8.hpp>
#include <ohq/kernels/instances.hpp>
#include <ohq/kernels/pack_lowbit.hpp>
#include <ohq/kernels/pack_lut.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>
#include <ohq/quant/weights.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

namespace ohq::kernels {

/// The storage width of the family that runs b-bit weight codes (b in 1..8): 8..5 -> 8 (W8A8),
/// 4 and 3 -> 4 (3-bit codes fit 4-bit fields), 2 -> 2, 1 -> 1.
constexpr unsigned gemm_storage_bits_for(unsigned weight_bits) noexcept {
  return weight_bits >= 5 ? 8u : weight_bits >= 3 ? 4u : weight_bits;
}

/// Inputs per output (K) below which the facade runs low-bit codes on the W8A8 kernel: the low-bit
/// families need long rows to pay for their panels and int16 flushes. Measured on AVX2 with
/// MobileNetV3-Large's 1x1 convolutions at W4A8: K = 16..120 ran at 0.82-1.0x the W8A8 kernel's
/// speed, K >= 160 at 1.05-1.24x (docs/kernels.md). A profiler that times both keeps the faster.
inline constexpr std::size_t lowbit_min_cols = 128;

/// The storage width `gemm::try_prepare(w, ..., arch)` packs b-bit codes of rows of `cols` inputs
/// for: gemm_storage_bits_for(b), or 8 (the W8A8 kernel) when cols < lowbit_min_cols.
constexpr unsigned gemm_default_storage_bits(unsigned weight_bits, std::size_t cols) noexcept {
  return cols < lowbit_min_cols ? 8u : gemm_storage_bits_for(weight_bits);
}

/// The instance that runs `storage_bits`-bit storage on path `a`: its own line of gemm_instances,
/// or on avx512_vnni the avx2 line when the family has no AVX-512 kernel (every AVX-512 CPU has
/// AVX2); nullopt when neither exists.
constexpr std::optional<gemm_instance> resolve_gemm_instance(unsigned storage_bits, arch a,
                                                             gemm_method method = gemm_method::dot) noexcept {
  for (const gemm_instance& line : gemm_instances)
    if (line.weight_bits == storage_bits && line.path == a && line.method == method) return line;
  if (a == arch::avx512_vnni) return resolve_gemm_instance(storage_bits, arch::avx2, method);
  return std::nullopt;
}
static_assert(resolve_gemm_instance(4, arch::avx512_vnni)->path == arch::avx512_vnni &&
              resolve_gemm_instance(3, arch::avx512_vnni, gemm_method::lut)->path == arch::avx2);

/// What a prepared gemm runs: the kernel's name and geometry, whichever family it belongs to.
struct gemm_kernel_info {
  const char* name = "";
  unsigned weight_bits = 8;  ///< storage width of the family (8, 4, 2, 1)
  arch path = arch::scalar;  ///< the path whose code runs (avx2 for low-bit families on avx512_vnni)
  std::size_t mr = 0, nr = 0;
};

/// The low-bit kernel for `storage_bits` (4, 2, 1) on path `a` from table `t` (the fallback of
/// fill_gemm_lowbit applied), or errc::unsupported_cpu when `a` cannot run on CPU `f` or the
/// program lacks the kernel.
inline result<const gemm_kernel_entry*> try_gemm_lowbit_kernel(unsigned storage_bits, arch a,
                                                              const cpu_features& f = cpu(),
                                                              const kernel_table& t = kernels()) {
  if (storage_bits != 4 && storage_bits != 2 && storage_bits != 1)
    return make_status(errc::invalid_argument, "no low-bit GEMM family stores ", storage_bits, "-bit fields");
  if (auto s = check_arch(a, f); !s.ok()) return s;
  const gemm_kernel_entry* k = t.gemm_lowbit[storage_bits - 1][std::size_t(a)];
  if (k == nullptr)
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a), "' has no w", storage_bits,
                       "a8 GEMM kernel in this program");
  return k;
}

/// The table-lookup kernel for `bits`-bit codes (1..3) on path `a` from table `t`, or
/// errc::unsupported_cpu when `a` cannot run on CPU `f` or the program lacks the kernel.
inline result<const w8a8_kernel_entry*> try_gemm_lut_kernel(unsigned bits, arch a, const cpu_features& f = cpu(),
                                                            const kernel_table& t = kernels()) {
  if (bits < 1 || bits > 3) return make_status(errc::invalid_argument, "no table-lookup GEMM for ", bits, "-bit codes");
  if (auto s = check_arch(a, f); !s.ok()) return s;
  const w8a8_kernel_entry* k = t.gemm_lut[bits - 1][std::size_t(a)];
  if (k == nullptr)
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a), "' has no w", bits,
                       "a8 table-lookup GEMM kernel in this program");
  return k;
}

/// A prepared GEMM of any weight bit-width: weights packed for one kernel, ready to run any number
/// of times.
class gemm {
 public:
  /// Packs rows [row_begin, row_begin + row_count) of `w` for the family of w.format.bits on path `a`
  /// (the W8A8 kernel for rows shorter than lowbit_min_cols: gemm_default_storage_bits).
  /// Errors: a path this CPU or build lacks (unsupported_cpu), an empty or out-of-range row range
  /// or a code outside the format's range (invalid_argument).
  static result<gemm> try_prepare(const quant::quantized_weights& w, std::size_t row_begin, std::size_t row_count,
                                  arch a) {
    return try_prepare(w, row_begin, row_count, gemm_instance{gemm_default_storage_bits(w.format.bits, w.cols), a});
  }
  /// The same for an explicit kernel instance (e.g. 4-bit codes on the W8A8 kernel, to time both).
  /// An instance whose storage cannot hold the codes is invalid_argument.
  static result<gemm> try_prepare(const quant::quantized_weights& w, std::size_t row_begin, std::size_t row_count,
                                  gemm_instance kernel) {
    if (kernel.weight_bits == 8) {
      auto w8 = gemm_w8a8::try_prepare(w, row_begin, row_count, kernel.path);
      if (!w8) return w8.error();
      gemm g;
      g.info_ = {w8->kernel().name, 8, kernel.path, w8->kernel().mr, w8->kernel().nr};
      g.path_ = kernel.path;
      g.row_begin_ = row_begin;
      g.rows_ = row_count;
      g.cols_ = w.cols;
      g.w8a8_.emplace(std::move(*w8));
      return g;
    }
    if (w.rows == 0 || w.cols == 0 || w.codes.size() != w.rows * w.cols)
      return make_status(errc::invalid_argument, "gemm: weights ", w.rows, "x", w.cols, " with ", w.codes.size(),
                         " codes");
    if (row_count == 0 || row_begin > w.rows || row_count > w.rows - row_begin)
      return make_status(errc::invalid_argument, "gemm: rows [", row_begin, ", ", row_begin + row_count,
                         ") outside the ", w.rows, " rows of the weights");
    gemm g;
    g.path_ = kernel.path;
    g.method_ = kernel.method;
    g.row_begin_ = row_begin;
    g.rows_ = row_count;
    g.cols_ = w.cols;
    if (auto s = g.take_row_sums(w, kernel.weight_bits); !s.ok()) return s;
    const arch code_path = kernel.path == arch::avx512_vnni ? arch::avx2 : kernel.path;
    if (kernel.method == gemm_method::lut) {
      auto entry = try_gemm_lut_kernel(kernel.weight_bits, kernel.path);
      if (!entry) return entry.error();
      const w8a8_kernel_entry& e = **entry;
      g.info_ = {e.name, kernel.weight_bits, code_path, e.mr, e.nr};
      g.run_kernel_ = e.run;
      g.scratch_int16_ = e.scratch_columns * ((w.cols + 3) / 4 * 4);
      g.tile_bytes_ = packed_lut_size(e.mr, w.cols, kernel.weight_bits, e.mr);
      g.packed_.resize(packed_lut_size(row_count, w.cols, kernel.weight_bits, e.mr));
      pack_lut(w.codes.data(), w.cols, row_begin, row_count, kernel.weight_bits, e.mr, g.packed_.data());
      return g;
    }
    auto entry = try_gemm_lowbit_kernel(kernel.weight_bits, kernel.path);
    if (!entry) return entry.error();
    const gemm_kernel_entry& e = **entry;
    g.info_ = {e.name, e.weight_bits, code_path, e.mr, e.nr};
    g.run_kernel_ = e.run;
    g.windows_ = e.windows;
    // scratch_lines * (round_up(K, 64) + 64) bytes
    g.scratch_int16_ = e.scratch_lines * (quant::padded_cols(w.cols) + 64) / 2;
    g.tile_bytes_ = packed_lowbit_size(e.mr, w.cols, e.weight_bits, e.mr);
    g.packed_.resize(packed_lowbit_size(row_count, w.cols, e.weight_bits, e.mr));  // zero-filled
    pack_lowbit(w.codes.data(), w.cols, row_begin, row_count, e.weight_bits, e.mr, g.packed_.data());
    return g;
  }
  /// All rows, path `a`.
  static result<gemm> try_prepare(const quant::quantized_weights& w, arch a) { return try_prepare(w, 0, w.rows, a); }
  /// All rows, the active path (try_active_arch()).
  static result<gemm> try_prepare(const quant::quantized_weights& w) {
    auto a = try_active_arch();
    if (!a) return a.error();
    return try_prepare(w, 0, w.rows, *a);
  }
#ifndef OHQ_NO_EXCEPTIONS
  static gemm prepare(const quant::quantized_weights& w, arch a) { return try_prepare(w, a).value(); }
  static gemm prepare(const quant::quantized_weights& w) { return try_prepare(w).value(); }
  static gemm prepare(const quant::quantized_weights& w, std::size_t row_begin, std::size_t row_count,
                      gemm_instance kernel) {
    return try_prepare(w, row_begin, row_count, kernel).value();
  }
#endif

  /// y[j * channel_stride + i * column_stride] = requantize(bias[r] + sum_k (x[i][k] - x_zero_point) * w[r][k], rq, r)
  /// for r = row_begin + j, j < rows(), i < n, x[i] = x + i * ldx: quant::gemm_reference's semantics
  /// (its precondition too: every accumulator fits int32). `bias` may be null.
  template <class Out>
  void run(const std::uint8_t* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point, const std::int32_t* bias,
           const quant::requant_params& rq, Out* y, quant::output_layout layout) const {
    if (w8a8_) return w8a8_->run(x, n, ldx, x_zero_point, bias, rq, y, layout);
    if (n == 0) return;
    call_kernel(args(x, n, ldx, x_zero_point, bias, rq, y, layout));
  }

  /// The same, split over the threads of `pool` by split_gemm: bit-identical to run() for any pool.
  template <class Out>
  void run(thread_pool& pool, const std::uint8_t* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point,
           const std::int32_t* bias, const quant::requant_params& rq, Out* y, quant::output_layout layout) const {
    if (w8a8_) return w8a8_->run(pool, x, n, ldx, x_zero_point, bias, rq, y, layout);
    if (n == 0) return;
    split_gemm(pool, args(x, n, ldx, x_zero_point, bias, rq, y, layout), info_.mr, info_.nr, tile_bytes_,
               [this](const w8a8_gemm_args& a) { call_kernel(a); });
  }

  /// Whether run_windows() can run with runs of `run_bytes`: a kernel that reads implicit im2col
  /// columns, the runs whole k-groups (W8A8: 4) or panels (low-bit: 16 / storage bits).
  [[nodiscard]] bool supports_windows(std::size_t run_bytes) const noexcept {
    if (w8a8_) return w8a8_->kernel().windows && run_bytes % 4 == 0;
    return windows_ && run_bytes % (16 / info_.weight_bits) == 0;
  }
  /// run() on implicit im2col columns (gemm_windows), one thread; only where supports_windows().
  template <class Out>
  void run_windows(const std::uint8_t* x, std::size_t n, std::size_t ldx, gemm_windows windows,
                   std::int32_t x_zero_point, const std::int32_t* bias, const quant::requant_params& rq, Out* y,
                   quant::output_layout layout) const {
    OHQ_ASSERT(windows.runs > 0 && cols_ % windows.runs == 0 && supports_windows(cols_ / windows.runs));
    if (w8a8_) return w8a8_->run_windows(x, n, ldx, windows, x_zero_point, bias, rq, y, layout);
    if (n == 0) return;
    w8a8_gemm_args a = args(x, n, ldx, x_zero_point, bias, rq, y, layout);
    a.windows = windows;
    call_kernel(a);
  }

  /// The path asked for (avx512_vnni stays avx512_vnni even where it runs an avx2 kernel).
  [[nodiscard]] arch path() const noexcept { return path_; }
  /// The kernel that runs: name, family storage width, the path whose code it is, tile.
  [[nodiscard]] const gemm_kernel_info& kernel() const noexcept { return info_; }
  /// The kernel instance (family storage width, path asked for, method).
  [[nodiscard]] gemm_instance instance() const noexcept { return {info_.weight_bits, path_, method_}; }
  [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
  [[nodiscard]] std::size_t row_begin() const noexcept { return row_begin_; }
  /// Bytes of packed weights.
  [[nodiscard]] std::size_t packed_bytes() const noexcept {
    return w8a8_ ? w8a8_->packed_bytes() : packed_.size();
  }

 private:
  gemm() = default;

  /// The low-bit / table-lookup kernel's argument block (make_gemm_args, like gemm_w8a8's).
  template <class Out>
  w8a8_gemm_args args(const std::uint8_t* x, std::size_t n, std::size_t ldx, std::int32_t x_zero_point,
                      const std::int32_t* bias, const quant::requant_params& rq, Out* y,
                      quant::output_layout layout) const {
    OHQ_ASSERT(run_kernel_ != nullptr);
    return make_gemm_args(packed_.data(), row_sums_.data(), row_begin_, rows_, cols_, x, n, ldx, x_zero_point, bias, rq, y,
                          layout);
  }

  /// row_sums_ = sum_k w[r][k] of the rows, after checking every code fits `storage_bits`-bit
  /// fields (the 1-bit formats have no zero code).
  status take_row_sums(const quant::quantized_weights& w, unsigned storage_bits) {
    const quant::weight_format storage = quant::weight_format_of(storage_bits);
    row_sums_.resize(rows_);
    for (std::size_t j = 0; j < rows_; ++j) {
      std::int32_t sum = 0;
      for (std::size_t k = 0; k < w.cols; ++k) {
        const std::int32_t c = w.code(row_begin_ + j, k);
        if (c < storage.code_min || c > storage.code_max || (storage_bits == 1 && c == 0))
          return make_status(errc::invalid_argument, "gemm: weight code ", c, " at [", row_begin_ + j, "][", k,
                             "] does not fit the ", storage_bits, "-bit kernel (", w.format.bits, "-bit weights)");
        sum += c;
      }
      row_sums_[j] = sum;
    }
    return {};
  }

  /// Runs the kernel on `a` with this thread's scratch (allocated once per thread and size).
  void call_kernel(w8a8_gemm_args a) const {
    if (scratch_int16_) {
      thread_local std::vector<std::int16_t> scratch;
      if (scratch.size() < scratch_int16_) scratch.resize(scratch_int16_);
      a.scratch = scratch.data();
    }
    run_kernel_(a);
  }

  gemm_kernel_info info_;
  arch path_ = arch::scalar;
  gemm_method method_ = gemm_method::dot;
  std::size_t row_begin_ = 0, rows_ = 0, cols_ = 0;
  std::optional<gemm_w8a8> w8a8_;  // the W8A8 family, or a low-bit / table-lookup kernel:
  void (*run_kernel_)(const w8a8_gemm_args&) noexcept = nullptr;
  std::size_t scratch_int16_ = 0;  ///< int16 elements of scratch the kernel needs per thread
  bool windows_ = false;           ///< the low-bit kernel reads gemm_windows
  std::size_t tile_bytes_ = 0;     ///< packed bytes of one row tile (mr rows)
  aligned_buffer<std::uint8_t> packed_;
  std::vector<std::int32_t> row_sums_;
};

}  // namespace ohq::kernels

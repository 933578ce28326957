// SPDX-License-Identifier: MIT
/// @file Defines `kernel_network`: a quantized_network run through the dispatched integer kernels
/// (the W8A8 GEMM for convolutions and dense layers, the direct depthwise kernels, the eltwise kernels
/// for adds, channel scaling, pooling and lookup tables), bit-exact with its integer reference
/// engine (`quantized_network::run_integer`) for every value.
///
/// 3x3 stride-1 convolutions with groups = 1 run by Winograd F(2x2, 3x3) where
/// `kernel_options::winograd` says so (kernels/winograd.hpp: exact, so bit-identical either way).
///
/// Every op is prepared once (weights packed per group for the chosen arch, buffers sized); `run`
/// then does no allocation for a batch it has seen. Activations are stored NHWC internally
/// (docs/kernels.md, "Whole networks": measured against CHW): a 1x1 stride-1 convolution is then a
/// GEMM on its input as it lies, a k x k convolution's im2col copies contiguous runs of k * C
/// bytes, the depthwise kernels vectorise over channels, and every GEMM writes its output with
/// layout {channel_stride = 1, column_stride = Cout}. Weights are permuted once to match (patches
/// ordered (ky, kx, c); a dense layer reading a spatial value has its columns ordered (y, x, c)).
/// `codes(v)` converts back to the reference's [batch][C][H][W].
///
/// Float ops (`kernel_options::float_ops`): a convolution or dense layer listed there runs in fp32
/// with the network's original float weights and bias (`quant_op::weight` / `bias`), on one thread:
/// y = quantize(act(op_fp32(dequantize(x)))), x the input value's codes dequantized with its
/// parameters (to CHW floats), act the fused ReLU/ReLU6, quantize exact with the output value's
/// parameters. Every other op stays bit-exact with the integer reference given its inputs (values
/// computed after a float op generally differ from run_integer's, since their inputs do).
#pragma once

#include <ohq/core/error.hpp>
#include <ohq/core/thread_pool.hpp>
#include <ohq/kernels/dispatch.hpp>
#include <ohq/kernels/gemm.hpp>
#include <ohq/kernels/winograd.hpp>
#include <ohq/nn/quantized/engine.hpp>
#include <ohq/nn/quantized/graph.hpp>
#include <ohq/quant/lut.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/requantize.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace ohq::nn {

/// The GEMM every convolution and dense layer runs through: the facade picks the kernel family of
/// the layer's weight bit-width (W8A8, W4A8, W2A8, W1A8) on the arch path.
using prepared_gemm = kernels::gemm;

/// When the kernel engine runs a 3x3 convolution (stride 1 or 2, groups 1) by Winograd.
enum class winograd_use : std::uint8_t {
  /// Where it was measured faster on AVX2 (docs/kernels.md, "Winograd"), never on the AVX-512 VNNI
  /// path (its GEMMs multiply int8 at 4x the AVX2 rate; the Winograd kernels are AVX2 int16: on
  /// ResNet-18's 3x3 layers im2col + vpdpbusd GEMM won, bench_onednn). Stride 1: weights on the
  /// W8A8 kernel (5..8 bits, or rows of fewer than kernels::lowbit_min_cols inputs) always, low-bit
  /// weights on outputs of at least winograd_min_pixels(storage bits) pixels (on 7x7 maps the
  /// low-bit GEMMs tie or win). Stride 2: weights on the W8A8 kernel (the low-bit GEMMs beat it),
  /// at least winograd_stride2_min_pixels outputs and winograd_stride2_min_channels inputs.
  automatic,
  always,  ///< every eligible convolution
  never,   ///< im2col + GEMM everywhere
};
/// Output pixels from which `winograd_use::automatic` runs stride-1 convolutions whose weights run
/// on the GEMM family of `storage_bits` (kernels::gemm_default_storage_bits) by Winograd: W8A8
/// always; W4A8, W2A8 and W1A8 from 14 x 14 (ResNet-18's shapes on AVX2, bench_conv3x3: F(3x3)
/// beats the low-bit GEMMs on 14x14..56x56 maps, F(2x2) ties W4A8 and loses to W2A8 on 7x7).
constexpr std::size_t winograd_min_pixels(unsigned storage_bits) noexcept {
  return storage_bits == 8 ? 0 : 14 * 14;
}
/// Output pixels from which the kernel engine, left to choose the Winograd tile, tries F(3x3, 3x3)
/// before F(2x2, 3x3): on 7 x 7 maps its 25 int16 per filter make the weight stream 1.56x longer
/// and its 3x3 tiles waste 40% of the outputs (bench_conv3x3).
inline constexpr std::size_t winograd_f3x3_min_pixels = 14 * 14;
/// Output pixels and input channels from which `winograd_use::automatic` runs 3x3 stride-2
/// convolutions by Winograd. ResNet-18's 14x14x256 -> 7x7x512 took 1.03 ms so (6.5 MB of int16
/// weights for 16 tiles) and 0.87 ms by im2col + W8A8 GEMM; its larger two gained 1.1-1.25x
/// (in-network). On 56x56 inputs it lost 0.56-0.59x with 3 and 8 channels (MobileNetV3's RGB stem:
/// a 16-channel register transforms 3), won 1.13x with 16 and 1.37x with 32.
inline constexpr std::size_t winograd_stride2_min_pixels = 14 * 14;
inline constexpr std::size_t winograd_stride2_min_channels = 16;

/// How a kernel_network is prepared.
struct kernel_options {
  /// The kernels' arch path; empty: kernels::try_active_arch().
  std::optional<kernels::arch> arch;
  /// Threads to split each GEMM (prepared_gemm::run(pool, ...): column blocks, or row tiles for
  /// batch-1 dense layers) and each depthwise convolution (output rows) over; null: the calling
  /// thread only. Must outlive the network.
  thread_pool* threads = nullptr;
  /// Multiply-adds below which an op is not split over threads (waking a worker and joining it
  /// costs microseconds; 2^18 is ~10 us of kernel time). Tests set 1 to split everything.
  std::size_t min_task_macs = std::size_t{1} << 18;
  /// Time every op in run() (per op, accumulated; see op_seconds()).
  bool profile = false;
  /// Which 3x3 stride-1 and stride-2 convolutions (groups 1) run by Winograd (kernels/winograd.hpp,
  /// exact: bit-identical either way) instead of im2col + GEMM.
  winograd_use winograd = winograd_use::automatic;
  /// The tile of the stride-1 ones that do (stride 2 has one: f2x2_stride2). Empty: F(3x3, 3x3)
  /// on outputs of at least winograd_f3x3_min_pixels pixels where its rows run exactly
  /// (check_winograd), else F(2x2, 3x3). Set (f2x2 or f3x3): that tile only (rows that could
  /// overflow it run by im2col + GEMM).
  std::optional<kernels::winograd_tile> winograd_stride1_tile;
  /// Ops (indices into the graph's ops) to run in fp32 with the network's float weights instead of
  /// the integer kernels: convolutions (grouped and depthwise too) and dense layers only.
  std::vector<std::size_t> float_ops;
};

namespace detail {

/// y[c][p] = x[p][c] for `channels` channels of `pixels` pixels (HWC -> CHW; the way in is the
/// eltwise quantize kernel's).
template <class T>
void hwc_to_chw(const T* x, std::size_t channels, std::size_t pixels, T* y) noexcept {
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t c = 0; c < channels; ++c) y[c * pixels + p] = x[p * channels + c];
}

/// dst[0, n) = src[0, n) for the short runs of im2col (k * C bytes: 21 for a 7x7 RGB stem),
/// where a memcpy call costs more than the copy: fixed-size moves, the last one overlapping.
inline void copy_run(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  if (n >= 16) {
    for (std::size_t i = 0; i + 16 < n; i += 16) std::memcpy(dst + i, src + i, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else {
    for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

/// Rows [p0, p1) of the im2col matrix of one group of one NHWC sample, written from col:
/// col[(p - p0) * K + (ky * k + kx) * Cg + c] = x[iy][ix][group * Cg + c] for output pixel
/// p = oy * Wo + ox, the input zero point (real 0) outside the image. With one group a window row
/// of k pixels is one contiguous run of k * C bytes.
inline void im2col_nhwc(const std::uint8_t* x, const kernels::fp32::conv2d_geometry& g, std::size_t group,
                        std::uint8_t pad_value, std::uint8_t* col, std::size_t p0, std::size_t p1) noexcept {
  const std::size_t c = g.in_channels, cg = g.in_channels_per_group(), k = g.kernel, kdim = g.patch_size();
  for (std::size_t p = p0; p < p1; ++p) {
    const std::size_t oy = p / g.out_width, ox = p % g.out_width;
    std::uint8_t* dst = col + (p - p0) * kdim;
    const std::ptrdiff_t ix0 = std::ptrdiff_t(ox * g.stride) - std::ptrdiff_t(g.padding);
    const bool row_inside = ix0 >= 0 && std::size_t(ix0) + k <= g.in_width;
    for (std::size_t ky = 0; ky < k; ++ky, dst += k * cg) {
      const std::ptrdiff_t iy = std::ptrdiff_t(oy * g.stride + ky) - std::ptrdiff_t(g.padding);
      if (iy < 0 || iy >= std::ptrdiff_t(g.in_height)) {
        std::memset(dst, pad_value, k * cg);
        continue;
      }
      const std::uint8_t* src_row = x + std::size_t(iy) * g.in_width * c + group * cg;
      if (row_inside && cg == c) {
        copy_run(dst, src_row + std::size_t(ix0) * c, k * c);
        continue;
      }
      for (std::size_t kx = 0; kx < k; ++kx) {
        const std::ptrdiff_t ix = ix0 + std::ptrdiff_t(kx);
        if (ix < 0 || ix >= std::ptrdiff_t(g.in_width))
          std::memset(dst + kx * cg, pad_value, cg);
        else
          copy_run(dst + kx * cg, src_row + std::size_t(ix) * c, cg);
      }
    }
  }
}
/// The whole im2col matrix (all out_pixels() rows).
inline void im2col_nhwc(const std::uint8_t* x, const kernels::fp32::conv2d_geometry& g, std::size_t group,
                        std::uint8_t pad_value, std::uint8_t* col) noexcept {
  im2col_nhwc(x, g, group, pad_value, col, 0, g.out_pixels());
}

}  // namespace detail

/// A quantized_network prepared for the dispatched kernels. Keeps a pointer to it (and through
/// it to its graph): both must outlive this object.
class kernel_network {
 public:
  /// Prepares every op of `q` for the arch of `o` (default: the active one). Errors: an arch this
  /// CPU or build lacks, or an op the engine cannot run (the message names the layer).
  static result<kernel_network> try_prepare(const quantized_network& q, kernel_options o = {}) {
    kernel_network k;
    k.q_ = &q;
    k.options_ = o;
    if (o.arch) {
      if (auto s = kernels::check_arch(*o.arch); !s.ok()) return s;
      k.arch_ = *o.arch;
    } else {
      auto a = kernels::try_active_arch();
      if (!a) return a.error();
      k.arch_ = *a;
    }
    auto dw = kernels::try_depthwise_kernel(k.arch_);
    if (!dw) return dw.error();
    k.depthwise_ = *dw;
    auto ew = kernels::try_eltwise_kernel(k.arch_);
    if (!ew) return ew.error();
    k.eltwise_ = *ew;
    if (o.winograd_stride1_tile && kernels::winograd_stride(*o.winograd_stride1_tile) != 1)
      return make_status(errc::invalid_argument, "winograd_stride1_tile: ", kernels::to_string(*o.winograd_stride1_tile),
                         " computes a stride-2 convolution; stride-1 tiles are F(2x2,3x3) and F(3x3,3x3)");
    const quant_graph& g = q.graph();
    std::vector<bool> in_float(g.ops.size(), false);
    for (const std::size_t i : o.float_ops) {
      if (i >= g.ops.size())
        return make_status(errc::invalid_argument, "float_ops: op ", i, " is past the end (the network has ",
                           g.ops.size(), " ops)");
      if (!g.ops[i].has_weights())
        return make_status(errc::invalid_argument, "float_ops: op ", i, " (layer ", g.ops[i].path, ", ", g.ops[i].label,
                           ") is ", kind_name(g.ops[i].kind), "; only convolutions and dense layers run in float");
      in_float[i] = true;
    }
    k.ops_.reserve(g.ops.size());
    for (std::size_t i = 0; i < g.ops.size(); ++i) {
      auto p = k.prepare_op(g.ops[i], q.op(i), !in_float[i]);
      if (p && in_float[i]) p = k.prepare_float(g.ops[i], std::move(*p));
      if (!p)
        return make_status(p.error().code(), "layer ", g.ops[i].path, " (", g.ops[i].label, "): ", p.error().message());
      k.ops_.push_back(std::move(*p));
    }
    k.buffers_.resize(g.values.size());
    k.chw_.resize(g.values.size());
    k.op_seconds_.assign(g.ops.size(), 0.0);
    return k;
  }
#ifndef OHQ_NO_EXCEPTIONS
  /// `try_prepare(q, o).value()`.
  static kernel_network prepare(const quantized_network& q, kernel_options o = {}) { return try_prepare(q, o).value(); }
#endif

  /// Runs `batch` samples ([batch][input size] floats, CHW each) and returns the dequantized output
  /// ([batch][outputs], softmax applied when the network ends with one) exactly as
  /// quantized_network::run_integer does; valid until the next run.
  std::span<const float> run(const float* input, std::size_t batch) {
    const quant_graph& g = q_->graph();
    for (std::size_t v = 0; v < g.values.size(); ++v) buffers_[v].resize(batch * g.values[v].size());
    for (auto& c : chw_) c.clear();
    const auto started = clock::now();
    {  // the input: quantized as the reference does (quant::quantize bit for bit), written NHWC
      const quant_value& iv = g.values[0];
      const quant::quant_params& ip = q_->params(0);
      kernels::quantize_args a;
      a.scale = ip.scale;
      a.zero_point = ip.zero_point;
      a.qmin = ip.qmin;
      a.qmax = ip.qmax;
      if (spatial(iv)) {
        a.channels = iv.channels;
        a.pixels = iv.height * iv.width;
        for (std::size_t n = 0; n < batch; ++n) {
          a.x = input + n * iv.size();
          a.y = buffers_[0].data() + n * iv.size();
          eltwise_->quantize(a);
        }
      } else {  // flat: the whole batch element-wise
        a.x = input;
        a.y = buffers_[0].data();
        a.channels = 1;
        a.pixels = buffers_[0].size();
        eltwise_->quantize(a);
      }
    }
    io_seconds_ += seconds_since(started);
    for (std::size_t i = 0; i < g.ops.size(); ++i) {
      const auto op_started = options_.profile ? clock::now() : clock::time_point{};
      run_op(g.ops[i], q_->op(i), ops_[i], batch);
      if (options_.profile) op_seconds_[i] += seconds_since(op_started);
    }
    const auto out_started = clock::now();
    const std::size_t out = g.output, n = g.values[out].size();
    const std::span<const std::uint8_t> codes = codes_chw(out);
    output_.resize(batch * n);
    quant::dequantize_reference(codes.data(), output_.data(), batch * n, q_->params(out));
    if (g.final_softmax) kernels::fp32::softmax(output_.data(), output_.data(), batch, n);
    io_seconds_ += seconds_since(out_started);
    ++runs_;
    return output_;
  }

  /// The codes of a value after the last run, in the reference's layout [batch][C][H][W].
  [[nodiscard]] std::span<const std::uint8_t> codes(std::size_t value) { return codes_chw(value); }

  [[nodiscard]] kernels::arch path() const noexcept { return arch_; }
  [[nodiscard]] const quantized_network& network() const noexcept { return *q_; }
  /// How op i runs, e.g. "conv 1x1 (gemm)", "conv (im2col + gemm)", "depthwise", "dense (gemm)",
  /// "conv (fp32)", "dense (fp32)".
  [[nodiscard]] const char* method(std::size_t op) const { return ops_.at(op).method; }
  /// Seconds spent in each op over the runs since the last reset (kernel_options::profile).
  [[nodiscard]] std::span<const double> op_seconds() const noexcept { return op_seconds_; }
  /// Seconds spent quantizing the input and dequantizing the output (always measured).
  [[nodiscard]] double io_seconds() const noexcept { return io_seconds_; }
  [[nodiscard]] std::size_t runs() const noexcept { return runs_; }
  void reset_profile() noexcept {
    std::fill(op_seconds_.begin(), op_seconds_.end(), 0.0);
    io_seconds_ = 0;
    runs_ = 0;
  }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }
  static bool spatial(const quant_value& v) noexcept { return v.channels > 1 && v.height * v.width > 1; }

  enum class method_kind : std::uint8_t { gemm_direct, gemm_im2col, winograd, dense, depthwise, fp32, other };

  static const char* kind_name(quant_op_kind k) noexcept {
    switch (k) {
      case quant_op_kind::conv2d: return "a convolution";
      case quant_op_kind::dense: return "a dense layer";
      case quant_op_kind::max_pool: return "a max pool";
      case quant_op_kind::avg_pool: return "an average pool";
      case quant_op_kind::global_avg_pool: return "a global average pool";
      case quant_op_kind::add: return "an add";
      case quant_op_kind::scale_channels: return "a channel scaling";
      case quant_op_kind::elementwise: return "a lookup table";
      case quant_op_kind::softmax: return "a softmax";
    }
    return "an unknown op";
  }

  struct prepared_op {
    method_kind kind = method_kind::other;
    const char* method = "";
    std::vector<prepared_gemm> gemms;            ///< one per group
    /// gemm_im2col on one thread through implicit im2col (kernels::gemm_windows) on the input
    /// padded with its zero point: no patch copies (the kernel reads k runs of k * C bytes).
    bool windows = false;
    std::optional<kernels::winograd_conv> winograd;  ///< method_kind::winograd
    std::size_t macs = 0;                        ///< per sample: whether to split it over threads
    std::vector<std::int8_t> depthwise_weights;  ///< [k * k][C]
    std::vector<std::int32_t> pool_multiplier, pool_shift;  ///< average pooling: per window count
    std::vector<float> dequantized;              ///< float ops: dequantize(code) for every code 0..255
    quant::quant_params out_params{};            ///< float ops: the output's parameters
    float inv_scale = 1;                         ///< float ops: 1 / out scale, for a first guess
    /// Float ops: threshold[k] (k = 1..255) is the smallest float x with quantize(x, out) >= k;
    /// threshold[0] = -inf, threshold[256] = +inf. quantize is monotone, so quantize(x) is the
    /// k with threshold[k] <= x < threshold[k + 1].
    std::vector<float> threshold;
  };

  kernel_network() = default;

  std::size_t thread_count() const noexcept {
    return options_.threads ? std::max<std::size_t>(1, options_.threads->size()) : 1;
  }

  /// Tasks to split `macs` multiply-adds into: up to one per thread, none below options.min_task_macs.
  std::size_t task_count(std::size_t macs) const noexcept {
    return std::clamp<std::size_t>(macs / std::max<std::size_t>(1, options_.min_task_macs), 1, thread_count());
  }

  /// Checks op's shapes and prepares how it runs; `pack` false (a float op): the integer weights
  /// are checked but not packed.
  result<prepared_op> prepare_op(const quant_op& op, const quantized_op& qo, bool pack) const {
    const quant_graph& g = q_->graph();
    const quant_value& iv = g.values[op.inputs[0]];
    const quant_value& ov = g.values[op.output];
    prepared_op p;
    switch (op.kind) {
      case quant_op_kind::conv2d:
      case quant_op_kind::dense: {
        const auto& geo = op.geometry;
        const quant::quantized_weights& w = qo.weights;
        if (w.rows != geo.out_channels || w.cols != geo.patch_size() || w.codes.size() != w.rows * w.cols ||
            qo.bias.size() != w.rows || qo.requant.channels() != w.rows)
          return make_status(errc::invalid_argument, "weights ", w.rows, "x", w.cols, " (", w.codes.size(), " codes, ",
                             qo.bias.size(), " biases, ", qo.requant.channels(),
                             " multipliers) do not match the layer's ", geo.out_channels, " outputs of ",
                             geo.patch_size(), " inputs");
        if (op.kind == quant_op_kind::dense) {
          if (geo.patch_size() != iv.size() || geo.out_channels != ov.size())
            return make_status(errc::shape_mismatch, "a dense layer of ", geo.patch_size(), " -> ", geo.out_channels,
                               " reads ", iv.size(), " values and writes ", ov.size());
          p.kind = method_kind::dense;
          p.method = "dense (gemm)";
          p.macs = w.rows * w.cols;
          if (!pack) return p;
          // the input is flat in NHWC order: columns (c, y, x) -> (y, x, c)
          auto gemm =
              prepared_gemm::try_prepare(spatial(iv) ? permuted(w, iv.channels, iv.height * iv.width) : w, arch_);
          if (!gemm) return gemm.error();
          p.gemms.push_back(std::move(*gemm));
          return p;
        }
        if (geo.in_channels != iv.channels || geo.in_height != iv.height || geo.in_width != iv.width ||
            geo.out_channels != ov.channels || geo.out_height != ov.height || geo.out_width != ov.width ||
            geo.groups == 0 || geo.in_channels % geo.groups || geo.out_channels % geo.groups)
          return make_status(errc::shape_mismatch, "convolution geometry ", geo.in_channels, "x", geo.in_height, "x",
                             geo.in_width, " -> ", geo.out_channels, "x", geo.out_height, "x", geo.out_width,
                             " (groups ", geo.groups, ") does not match its values ", iv.channels, "x", iv.height, "x",
                             iv.width, " -> ", ov.channels, "x", ov.height, "x", ov.width);
        p.macs = geo.out_channels_per_group() * w.cols * geo.out_pixels();
        if (geo.groups == geo.in_channels && geo.groups == geo.out_channels) {
          p.kind = method_kind::depthwise;
          p.method = "depthwise";
          const std::size_t taps = geo.kernel * geo.kernel, c = geo.in_channels;
          p.depthwise_weights.resize(taps * c);
          for (std::size_t ch = 0; ch < c; ++ch)
            for (std::size_t t = 0; t < taps; ++t) p.depthwise_weights[t * c + ch] = w.codes[ch * taps + t];
          return p;
        }
        if (!pack) return p;
        if (use_winograd(geo, w)) {
          // the larger tile first where it may pay; rows whose scaled accumulators could overflow
          // int32 (errc::unsupported) fall back to the smaller tile, then to im2col + GEMM below
          for (const kernels::winograd_tile tile : winograd_tiles_to_try(geo)) {
            auto conv = kernels::winograd_conv::try_prepare(w, geo.in_channels, arch_, tile);
            if (conv) {
              p.kind = method_kind::winograd;
              p.method = tile == kernels::winograd_tile::f3x3           ? "conv 3x3 (winograd F(3x3,3x3))"
                         : tile == kernels::winograd_tile::f2x2_stride2 ? "conv 3x3 (winograd F(2x2,3x3) stride 2)"
                                                                        : "conv 3x3 (winograd F(2x2,3x3))";
              p.winograd = std::move(*conv);
              return p;
            }
            if (conv.error().code() != errc::unsupported) return conv.error();
          }
        }
        const bool direct = geo.is_pointwise() && geo.groups == 1;
        p.kind = direct ? method_kind::gemm_direct : method_kind::gemm_im2col;
        p.method = direct ? "conv 1x1 (gemm)" : "conv (im2col + gemm)";
        // patches in (ky, kx, c) order, as im2col_nhwc writes them
        const quant::quantized_weights wp =
            geo.kernel > 1 ? permuted(w, geo.in_channels_per_group(), geo.kernel * geo.kernel) : w;
        const std::size_t cout_g = geo.out_channels_per_group();
        for (std::size_t grp = 0; grp < geo.groups; ++grp) {
          auto gemm = prepared_gemm::try_prepare(wp, grp * cout_g, cout_g, arch_);
          if (!gemm) return gemm.error();
          p.gemms.push_back(std::move(*gemm));
        }
        p.windows = !direct && geo.groups == 1 && p.gemms[0].supports_windows(geo.kernel * geo.in_channels);
        if (p.windows) p.method = "conv (implicit im2col + gemm)";
        return p;
      }
      case quant_op_kind::max_pool:
      case quant_op_kind::avg_pool:
        if (op.pool.channels != iv.channels || op.pool.in_height != iv.height || op.pool.in_width != iv.width ||
            op.pool.out_height != ov.height || op.pool.out_width != ov.width || op.pool.kernel == 0 ||
            op.pool.stride == 0)
          return make_status(errc::shape_mismatch, "pooling geometry does not match its values");
        p.method = op.kind == quant_op_kind::max_pool ? "max pool" : "avg pool";
        if (op.kind == quant_op_kind::avg_pool) {
          // the kernels index the multipliers by window count: every count must be covered
          const std::size_t taps = op.pool.kernel * op.pool.kernel, fewest = op.count_include_pad ? taps : 1;
          const quant::avg_pool_params& pp = qo.pool;
          if (pp.first_count > fewest || pp.first_count + pp.multipliers.size() <= taps ||
              (!op.count_include_pad && op.pool.padding >= op.pool.kernel))
            return make_status(errc::invalid_argument, "average pooling multipliers for window counts ", pp.first_count,
                               "..", pp.first_count + pp.multipliers.size() - 1, " do not cover ", fewest, "..", taps,
                               " (padding ", op.pool.padding, ", kernel ", op.pool.kernel, ")");
          for (const quant::fixed_multiplier& f : pp.multipliers) {
            p.pool_multiplier.push_back(f.multiplier);
            p.pool_shift.push_back(f.shift);
          }
        }
        return p;
      case quant_op_kind::global_avg_pool:
        if (ov.size() != iv.channels)
          return make_status(errc::shape_mismatch, "global pooling of ", iv.channels, " channels writes ", ov.size(),
                             " values");
        p.method = "global avg pool";
        if (const std::size_t pixels = iv.height * iv.width;
            pixels < qo.pool.first_count || pixels - qo.pool.first_count >= qo.pool.multipliers.size())
          return make_status(errc::invalid_argument, "global average pooling of ", pixels,
                             " pixels has no multiplier for that count");
        return p;
      case quant_op_kind::add:
        if (g.values[op.inputs[1]].size() != iv.size() || ov.size() != iv.size())
          return make_status(errc::shape_mismatch, "an add of ", iv.size(), " and ", g.values[op.inputs[1]].size(),
                             " values into ", ov.size());
        p.method = "add";
        return p;
      case quant_op_kind::scale_channels:
        if (g.values[op.inputs[1]].size() != iv.channels || ov.size() != iv.size())
          return make_status(errc::shape_mismatch, "channel scaling of ", iv.channels, " channels by a gate of ",
                             g.values[op.inputs[1]].size());
        p.method = "scale channels";
        return p;
      case quant_op_kind::elementwise:
        p.method = "lookup table";
        return p;
      case quant_op_kind::softmax:
        if (&op != &g.ops.back())
          return make_status(errc::unsupported, "softmax runs only as the network's last operation");
        p.method = "softmax (float)";
        return p;
    }
    return make_status(errc::unsupported, "the kernel engine has no kernel for op kind ", int(op.kind));
  }

  /// Whether convolution `geo` with weights `w` should run by Winograd (kernel_options::winograd);
  /// winograd_conv::try_prepare then checks that its rows run exactly.
  bool use_winograd(const kernels::fp32::conv2d_geometry& geo, const quant::quantized_weights& w) const {
    if (options_.winograd == winograd_use::never || geo.kernel != 3 || geo.stride > 2 || geo.groups != 1)
      return false;
    if (options_.winograd == winograd_use::always) return true;
    if (arch_ == kernels::arch::avx512_vnni) return false;
    const unsigned storage_bits = kernels::gemm_default_storage_bits(w.format.bits, w.cols);
    if (geo.stride == 2)
      return storage_bits == 8 && geo.out_pixels() >= winograd_stride2_min_pixels &&
             geo.in_channels >= winograd_stride2_min_channels;
    return geo.out_pixels() >= winograd_min_pixels(storage_bits);
  }

  /// The Winograd tiles to try for convolution `geo`, in order (kernel_options::winograd_stride1_tile).
  std::vector<kernels::winograd_tile> winograd_tiles_to_try(const kernels::fp32::conv2d_geometry& geo) const {
    if (geo.stride == 2) return {kernels::winograd_tile::f2x2_stride2};
    if (options_.winograd_stride1_tile) return {*options_.winograd_stride1_tile};
    if (geo.out_pixels() >= winograd_f3x3_min_pixels)
      return {kernels::winograd_tile::f3x3, kernels::winograd_tile::f2x2};
    return {kernels::winograd_tile::f2x2};
  }

  /// Turns a prepared conv/dense op (shapes checked) into a float one: the integer weights are
  /// dropped, the float weights checked and the float scratch sized.
  result<prepared_op> prepare_float(const quant_op& op, prepared_op p) {
    const auto& geo = op.geometry;
    if (op.weight.size() != geo.out_channels * geo.patch_size() || op.bias.size() != geo.out_channels)
      return make_status(errc::invalid_argument, "float weights (", op.weight.size(), " weights, ", op.bias.size(),
                         " biases) do not match the layer's ", geo.out_channels, " outputs of ", geo.patch_size(),
                         " inputs");
    prepared_op f;
    f.kind = method_kind::fp32;
    f.method = op.kind == quant_op_kind::dense ? "dense (fp32)" : "conv (fp32)";
    f.macs = p.macs;
    const quant::quant_params& ip = q_->params(op.inputs[0]);
    f.dequantized.resize(256);
    for (std::size_t c = 0; c < 256; ++c) f.dequantized[c] = quant::dequantize(static_cast<std::int32_t>(c), ip);
    if (op.kind == quant_op_kind::conv2d) float_scratch_.resize(std::max(float_scratch_.size(), geo.scratch_floats()));
    f.out_params = q_->params(op.output);
    if (f.out_params.qmin != 0 || f.out_params.qmax != 255)
      return make_status(errc::unsupported, "float ops write u8 codes; the output's range is ", f.out_params.qmin, "..",
                         f.out_params.qmax);
    f.inv_scale = 1.0f / f.out_params.scale;
    f.threshold.assign(257, 0.0f);
    f.threshold[0] = -std::numeric_limits<float>::infinity();
    f.threshold[256] = std::numeric_limits<float>::infinity();
    // floats ordered as integers: bisect for the first one quantizing to >= k
    auto to_ordered = [](float v) {
      const auto b = std::bit_cast<std::int32_t>(v);
      return b < 0 ? std::int64_t(std::numeric_limits<std::int32_t>::min()) - b : std::int64_t(b);
    };
    auto from_ordered = [](std::int64_t o) {
      const std::int64_t b = o < 0 ? std::int64_t(std::numeric_limits<std::int32_t>::min()) - o : o;
      return std::bit_cast<float>(static_cast<std::int32_t>(b));
    };
    const std::int64_t lowest = to_ordered(-std::numeric_limits<float>::infinity());
    const std::int64_t highest = to_ordered(std::numeric_limits<float>::infinity());
    for (std::int32_t k = 1; k < 256; ++k) {
      std::int64_t lo = lowest, hi = highest;  // quantize(lo) < k <= quantize(hi) (hi: 255)
      while (hi - lo > 1) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        (quant::quantize(from_ordered(mid), f.out_params) >= k ? hi : lo) = mid;
      }
      f.threshold[std::size_t(k)] = from_ordered(hi);
    }
    return f;
  }

  /// quantize(v, p.out_params), exactly: a guess in float, corrected against the thresholds.
  static std::uint8_t quantize_fast(float v, const prepared_op& p) noexcept {
    if (v != v) return static_cast<std::uint8_t>(p.out_params.zero_point);
    const float guess = std::clamp(v * p.inv_scale + float(p.out_params.zero_point) + 0.5f, 0.0f, 255.0f);
    auto k = static_cast<std::size_t>(guess);
    const float* t = p.threshold.data();
    while (k < 255 && v >= t[k + 1]) ++k;
    while (v < t[k]) --k;
    return static_cast<std::uint8_t>(k);
  }

  /// A float op (see the file comment): dequantize the NHWC input to CHW floats, run the fp32
  /// kernel with the network's weights and the fused activation, quantize back to NHWC codes.
  void run_float(const quant_op& op, const prepared_op& p, std::size_t batch) {
    const quant_graph& g = q_->graph();
    const quant_value& iv = g.values[op.inputs[0]];
    const quant_value& ov = g.values[op.output];
    const std::uint8_t* x = buffers_[op.inputs[0]].data();
    std::uint8_t* y = buffers_[op.output].data();
    // NHWC codes -> CHW floats through the 256-entry table, in blocks of pixels that stay in L1
    float_in_.resize(batch * iv.size());
    const std::size_t in_pixels = spatial(iv) ? iv.height * iv.width : 1, in_c = iv.size() / in_pixels;
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t p0 = 0; p0 < in_pixels; p0 += float_block)
        for (std::size_t c = 0; c < in_c; ++c)
          for (std::size_t px = p0; px < std::min(in_pixels, p0 + float_block); ++px)
            float_in_[n * iv.size() + c * in_pixels + px] = p.dequantized[x[n * iv.size() + px * in_c + c]];
    float_out_.resize(batch * ov.size());
    if (op.kind == quant_op_kind::dense) {
      kernels::fp32::dense(float_in_.data(), batch, iv.size(), ov.size(), op.weight.data(), op.bias.data(),
                           float_out_.data());
    } else {
      for (std::size_t n = 0; n < batch; ++n)
        kernels::fp32::conv2d(op.geometry, float_in_.data() + n * iv.size(), op.weight.data(), op.bias.data(),
                              float_out_.data() + n * ov.size(), float_scratch_.data());
    }
    apply_fused_activation(op.fused, float_out_.data(), float_out_.size());
    // CHW floats -> NHWC codes (exact quantize), in blocks of pixels
    const std::size_t out_pixels = spatial(ov) ? ov.height * ov.width : 1, out_c = ov.size() / out_pixels;
    for (std::size_t n = 0; n < batch; ++n)
      for (std::size_t p0 = 0; p0 < out_pixels; p0 += float_block)
        for (std::size_t c = 0; c < out_c; ++c)
          for (std::size_t px = p0; px < std::min(out_pixels, p0 + float_block); ++px)
            y[n * ov.size() + px * out_c + c] = quantize_fast(float_out_[n * ov.size() + c * out_pixels + px], p);
  }

  /// w with each row's columns reordered from (c, t) to (t, c) for c < channels, t < taps: column
  /// c * taps + t moves to t * channels + c (row sums, scales and format are unchanged).
  static quant::quantized_weights permuted(const quant::quantized_weights& w, std::size_t channels, std::size_t taps) {
    quant::quantized_weights out = w;
    for (std::size_t r = 0; r < w.rows; ++r) {
      const std::int8_t* src = w.codes.data() + r * w.cols;
      std::int8_t* dst = out.codes.data() + r * w.cols;
      for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t t = 0; t < taps; ++t) dst[t * channels + c] = src[c * taps + t];
    }
    return out;
  }
  /// Runs a (group's) GEMM on columns x[i] = x + i * ldx, writing NHWC rows of y_pixel_stride
  /// bytes at y; over the thread pool when the work is worth it (bit-identical either way).
  void run_gemm(const prepared_gemm& gemm, std::size_t macs, const std::uint8_t* x, std::size_t n, std::size_t ldx,
                std::int32_t zx, const quantized_op& qo, std::uint8_t* y, std::size_t y_pixel_stride) const {
    const quant::output_layout layout{1, y_pixel_stride};
    if (task_count(macs) > 1)
      gemm.run(*options_.threads, x, n, ldx, zx, qo.bias.data(), qo.requant, y, layout);
    else
      gemm.run(x, n, ldx, zx, qo.bias.data(), qo.requant, y, layout);
  }

  /// A convolution of one sample through implicit im2col: the input copied into scratch_ with a
  /// border of zero-point codes wide enough for every window, then one GEMM reading each patch as
  /// kernel-rows runs of kernel * C bytes.
  void run_windows(const kernels::fp32::conv2d_geometry& geo, const std::uint8_t* x, std::int32_t zx,
                   const quantized_op& qo, const prepared_op& p, std::uint8_t* y) {
    const std::size_t c = geo.in_channels, k = geo.kernel, s = geo.stride, pad = geo.padding;
    const std::size_t hp = (geo.out_height - 1) * s + k, wp = (geo.out_width - 1) * s + k;
    scratch_.resize(hp * wp * c);
    const auto z = static_cast<std::uint8_t>(zx);
    // input columns [0, inside) land at padded columns pad.. (windows may not reach the last ones)
    const std::size_t inside = pad < wp ? std::min(geo.in_width, wp - pad) : 0;
    for (std::size_t py = 0; py < hp; ++py) {
      std::uint8_t* row = scratch_.data() + py * wp * c;
      const std::size_t iy = py - pad;  // wraps for py < pad: then >= in_height
      if (py < pad || iy >= geo.in_height || inside == 0) {
        std::memset(row, z, wp * c);
        continue;
      }
      std::memset(row, z, pad * c);
      std::memcpy(row + pad * c, x + iy * geo.in_width * c, inside * c);
      std::memset(row + (pad + inside) * c, z, (wp - pad - inside) * c);
    }
    const kernels::gemm_windows windows{k, geo.out_width, s * wp * c, wp * c};
    p.gemms[0].run_windows(scratch_.data(), geo.out_pixels(), s * c, windows, zx, qo.bias.data(), qo.requant, y,
                           quant::output_layout{1, geo.out_channels});
  }

  void run_op(const quant_op& op, const quantized_op& qo, const prepared_op& p, std::size_t batch) {
    const quant_graph& g = q_->graph();
    const quant_value& iv = g.values[op.inputs[0]];
    const quant_value& ov = g.values[op.output];
    const std::uint8_t* x = buffers_[op.inputs[0]].data();
    std::uint8_t* y = buffers_[op.output].data();
    const std::int32_t zx = q_->params(op.inputs[0]).zero_point;
    const auto& geo = op.geometry;
    if (p.kind == method_kind::fp32) {
      run_float(op, p, batch);
      return;
    }
    switch (op.kind) {
      case quant_op_kind::dense:
        run_gemm(p.gemms[0], p.macs * batch, x, batch, iv.size(), zx, qo, y, ov.size());
        return;
      case quant_op_kind::conv2d: {
        const std::size_t pixels = geo.out_pixels(), cout = geo.out_channels;
        if (p.kind == method_kind::gemm_direct) {  // the input is the GEMM operand: one call for the batch
          run_gemm(p.gemms[0], p.macs * batch, x, batch * pixels, geo.in_channels, zx, qo, y, cout);
          return;
        }
        if (p.kind == method_kind::depthwise) {
          for (std::size_t n = 0; n < batch; ++n) run_depthwise(geo, x + n * iv.size(), zx, qo, p, y + n * ov.size());
          return;
        }
        if (p.kind == method_kind::winograd) {
          const std::size_t tasks = task_count(p.macs);
          for (std::size_t n = 0; n < batch; ++n) {
            const kernels::winograd_args a = p.winograd->args(x + n * iv.size(), geo.in_height, geo.in_width,
                                                              geo.padding, zx, qo.bias.data(), qo.requant,
                                                              y + n * ov.size(), cout);
            if (tasks > 1)
              p.winograd->run(*options_.threads, tasks, a);
            else
              p.winograd->run(a);
          }
          return;
        }
        if (p.windows && task_count(p.macs) <= 1) {
          for (std::size_t n = 0; n < batch; ++n) run_windows(geo, x + n * iv.size(), zx, qo, p, y + n * ov.size());
          return;
        }
        // One thread: im2col and GEMM in chunks of pixels whose patches stay in L2 between the two
        // (the whole matrix of a 56x56 layer is 1.8 MB). Threads split one GEMM over the whole matrix.
        const std::size_t kdim = geo.patch_size(), cout_g = geo.out_channels_per_group();
        const std::size_t chunk = task_count(p.macs) > 1
                                      ? pixels
                                      : std::min(pixels, std::max<std::size_t>(im2col_chunk_bytes / kdim / 24, 1) * 24);
        scratch_.resize(chunk * kdim);
        for (std::size_t n = 0; n < batch; ++n)
          for (std::size_t grp = 0; grp < geo.groups; ++grp)
            for (std::size_t p0 = 0; p0 < pixels; p0 += chunk) {
              const std::size_t p1 = std::min(pixels, p0 + chunk);
              detail::im2col_nhwc(x + n * iv.size(), geo, grp, static_cast<std::uint8_t>(zx), scratch_.data(), p0, p1);
              run_gemm(p.gemms[grp], p.macs * (p1 - p0) / pixels, scratch_.data(), p1 - p0, kdim, zx, qo,
                       y + n * ov.size() + p0 * cout + grp * cout_g, cout);
            }
        return;
      }
      case quant_op_kind::max_pool:
      case quant_op_kind::avg_pool: {
        kernels::pool_args a = pool_args_of(op, qo, p, iv);
        for (std::size_t n = 0; n < batch; ++n) {
          a.x = x + n * iv.size();
          a.y = y + n * ov.size();
          (op.kind == quant_op_kind::max_pool ? eltwise_->max_pool : eltwise_->avg_pool)(a);
        }
        return;
      }
      case quant_op_kind::global_avg_pool: {
        const quant::avg_pool_params& pp = qo.pool;
        const std::size_t pixels = iv.height * iv.width;
        const quant::fixed_multiplier m = pp.for_count(pixels);
        kernels::global_pool_args a{nullptr, pixels, iv.channels, nullptr, m.multiplier, m.shift,
                                    pp.in_zero_point, pp.zero_point, pp.lo, pp.hi};
        for (std::size_t n = 0; n < batch; ++n) {
          a.x = x + n * iv.size();
          a.y = y + n * ov.size();
          eltwise_->global_avg_pool(a);
        }
        return;
      }
      case quant_op_kind::add: {  // element-wise: the layout does not matter
        const quant::add_params& ap = qo.add;
        eltwise_->add({x, buffers_[op.inputs[1]].data(), y, batch * ov.size(), ap.multiplier_a, ap.multiplier_b, ap.shift,
                       ap.zero_point_a, ap.zero_point_b, ap.zero_point, ap.lo, ap.hi});
        return;
      }
      case quant_op_kind::scale_channels: {
        const std::uint8_t* gate = buffers_[op.inputs[1]].data();
        const quant::mul_params& mp = qo.mul;
        kernels::scale_channels_args a{nullptr, nullptr, nullptr, iv.height * iv.width, iv.channels,
                                       mp.multiplier.multiplier, mp.multiplier.shift, mp.zero_point_a, mp.zero_point_b,
                                       mp.zero_point, mp.lo, mp.hi};
        for (std::size_t n = 0; n < batch; ++n) {
          a.x = x + n * iv.size();
          a.gate = gate + n * iv.channels;
          a.y = y + n * iv.size();
          eltwise_->scale_channels(a);
        }
        return;
      }
      case quant_op_kind::elementwise:
        eltwise_->lookup({qo.table.data(), x, y, batch * ov.size()});
        return;
      case quant_op_kind::softmax:
        return;  // in float on the dequantized output
    }
  }

  void run_depthwise(const kernels::fp32::conv2d_geometry& geo, const std::uint8_t* x, std::int32_t zx,
                     const quantized_op& qo, const prepared_op& p, std::uint8_t* y) const {
    kernels::depthwise_args a;
    a.x = x;
    a.height = geo.in_height;
    a.width = geo.in_width;
    a.channels = geo.in_channels;
    a.kernel = geo.kernel;
    a.stride = geo.stride;
    a.padding = geo.padding;
    a.out_height = geo.out_height;
    a.out_width = geo.out_width;
    a.x_zero_point = zx;
    a.weights = p.depthwise_weights.data();
    a.bias = qo.bias.data();
    a.multiplier = qo.requant.multiplier.data();
    a.shift = qo.requant.shift.data();
    a.zero_point = qo.requant.zero_point;
    a.lo = qo.requant.lo;
    a.hi = qo.requant.hi;
    a.y = y;
    a.y_pixel_stride = geo.out_channels;
    const std::size_t tasks =
        std::min(task_count(geo.out_pixels() * geo.out_channels * geo.kernel * geo.kernel), geo.out_height);
    auto rows = [&](std::size_t t) {  // output rows split evenly: each task writes its own
      kernels::depthwise_args part = a;
      part.row_begin = geo.out_height * t / tasks;
      part.row_end = geo.out_height * (t + 1) / tasks;
      depthwise_->run(part);
    };
    if (tasks > 1)
      options_.threads->parallel_for(tasks, rows);
    else
      rows(0);
  }

  /// The eltwise kernels' arguments of a pooling op (all but x and y, set per sample).
  static kernels::pool_args pool_args_of(const quant_op& op, const quantized_op& qo, const prepared_op& p,
                                         const quant_value& iv) noexcept {
    const auto& pg = op.pool;
    kernels::pool_args a;
    a.height = iv.height;
    a.width = iv.width;
    a.channels = iv.channels;
    a.kernel = pg.kernel;
    a.stride = pg.stride;
    a.padding = pg.padding;
    a.out_height = pg.out_height;
    a.out_width = pg.out_width;
    if (op.kind == quant_op_kind::avg_pool) {
      const quant::avg_pool_params& pp = qo.pool;
      a.count_include_pad = op.count_include_pad;
      a.multiplier = p.pool_multiplier.data();
      a.shift = p.pool_shift.data();
      a.first_count = pp.first_count;
      a.in_zero_point = pp.in_zero_point;
      a.zero_point = pp.zero_point;
      a.lo = pp.lo;
      a.hi = pp.hi;
    }
    return a;
  }

  std::span<const std::uint8_t> codes_chw(std::size_t value) {
    const quant_value& v = q_->graph().values.at(value);
    const std::vector<std::uint8_t>& nhwc = buffers_[value];
    if (!spatial(v)) return nhwc;
    std::vector<std::uint8_t>& chw = chw_[value];
    if (chw.size() != nhwc.size()) {
      chw.resize(nhwc.size());
      for (std::size_t n = 0; n < nhwc.size() / v.size(); ++n)
        detail::hwc_to_chw(nhwc.data() + n * v.size(), v.channels, v.height * v.width, chw.data() + n * v.size());
    }
    return chw;
  }

  const quantized_network* q_ = nullptr;
  kernel_options options_;
  kernels::arch arch_ = kernels::arch::scalar;
  const kernels::depthwise_kernel_entry* depthwise_ = nullptr;
  const kernels::eltwise_kernel_entry* eltwise_ = nullptr;
  std::vector<prepared_op> ops_;
  std::vector<std::vector<std::uint8_t>> buffers_;  ///< per value, NHWC [batch][H][W][C]
  std::vector<std::vector<std::uint8_t>> chw_;      ///< per value, converted for codes() on demand
  /// Bytes of im2col rows per GEMM call on one thread (a multiple of 24 pixels: whole column blocks
  /// of every kernel's tile width).
  static constexpr std::size_t im2col_chunk_bytes = 64 * 1024;
  std::vector<std::uint8_t> scratch_;
  std::vector<float> float_in_, float_out_, float_scratch_;  ///< float ops: CHW input, output, im2col
  static constexpr std::size_t float_block = 64;  ///< pixels per block of a float op's layout change
  std::vector<float> output_;
  std::vector<double> op_seconds_;
  double io_seconds_ = 0;
  std::size_t runs_ = 0;
};

}  // namespace ohq::nn

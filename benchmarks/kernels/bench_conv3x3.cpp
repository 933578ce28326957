// SPDX-License-Identifier: MIT
// ResNet-18's 3x3 convolutions at batch 1 (NHWC, padding 1; stride 1 and 2) two ways, per arch path:
// im2col + the GEMM facade (as the kernel engine runs them: L2-sized chunks of pixels; W8A8, and
// W4A8 / W2A8 through the low-bit families) and Winograd (kernels/winograd.hpp, any weight bits:
// its transformed weights are int16): F(2x2, 3x3) and F(3x3, 3x3) at stride 1 (F(3x3) refuses
// the 512-channel layer, whose uniform random 8-bit rows could overflow), F(2x2, 3x3) stride 2.
// Counters: GOPS (2 * direct MACs per second, the same work for both) and x_im2col_w8 (the W8A8
// im2col time on the same path in this run / this time).
#include <ohq/kernels.hpp>
#include <ohq/nn.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using ohq::kernels::arch;

struct shape {
  const char* name;
  std::size_t channels, side, out_channels, stride;  ///< side: the input's
  [[nodiscard]] std::size_t out_side() const { return (side - 1) / stride + 1; }
  [[nodiscard]] std::size_t out_pixels() const { return out_side() * out_side(); }
};
const shape shapes[] = {{"conv3x3_56x56x64", 64, 56, 64, 1},        {"conv3x3_28x28x128", 128, 28, 128, 1},
                        {"conv3x3_14x14x256", 256, 14, 256, 1},     {"conv3x3_7x7x512", 512, 7, 512, 1},
                        {"conv3x3_s2_56x56x64", 64, 56, 128, 2},    {"conv3x3_s2_28x28x128", 128, 28, 256, 2},
                        {"conv3x3_s2_14x14x256", 256, 14, 512, 2}};

std::map<std::string, double>& im2col_w8_seconds() {
  static std::map<std::string, double> m;
  return m;
}

struct problem {
  ohq::quant::quantized_weights w, w_nhwc;  // columns (c, ky, kx) and (ky, kx, c)
  std::vector<std::uint8_t> x, y;
  std::vector<std::int32_t> bias;
  ohq::quant::requant_params rq;
  ohq::kernels::fp32::conv2d_geometry geo;
};
problem make_problem(const shape& s, unsigned bits) {
  std::mt19937 gen(7);
  problem p;
  const std::size_t k = s.channels * 9;
  p.w.format = ohq::quant::weight_format_of(bits);
  p.w.rows = s.out_channels;
  p.w.cols = k;
  p.w.codes.resize(s.out_channels * k);
  p.w.scales.assign(s.out_channels, 1.0f);
  std::uniform_int_distribution<int> code(p.w.format.code_min, p.w.format.code_max);
  for (auto& c : p.w.codes) c = static_cast<std::int8_t>(bits == 1 ? (gen() % 2 ? 1 : -1) : code(gen));
  p.w_nhwc = p.w;
  for (std::size_t r = 0; r < s.out_channels; ++r)
    for (std::size_t c = 0; c < s.channels; ++c)
      for (std::size_t t = 0; t < 9; ++t) p.w_nhwc.codes[r * k + t * s.channels + c] = p.w.codes[r * k + c * 9 + t];
  p.x.resize(s.side * s.side * s.channels);
  for (auto& v : p.x) v = static_cast<std::uint8_t>(gen());
  p.y.resize(s.out_pixels() * s.out_channels);
  p.bias.resize(s.out_channels);
  for (auto& b : p.bias) b = static_cast<std::int32_t>(gen() % 20001) - 10000;
  p.rq = {std::vector<std::int32_t>(s.out_channels, 1 << 30), std::vector<std::int32_t>(s.out_channels, 50), 128, 0, 255};
  p.geo = {s.channels, s.side, s.side, s.out_channels, s.out_side(), s.out_side(), 3, s.stride, 1, 1};
  return p;
}

template <class Body>
double time_loop(benchmark::State& state, Body&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    body();
    benchmark::ClobberMemory();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(state.iterations());
}

void set_counters(benchmark::State& state, const shape& s, arch a, double per_iter) {
  state.counters["GOPS"] = 2.0 * double(s.out_pixels() * s.channels * 9 * s.out_channels) * 1e-9 / per_iter;
  const std::string key = std::string(s.name) + "/" + std::string(ohq::kernels::to_string(a));
  if (auto it = im2col_w8_seconds().find(key); it != im2col_w8_seconds().end())
    state.counters["x_im2col_w8"] = it->second / per_iter;
}

/// im2col in chunks of pixels + the GEMM facade's default kernel for `bits`, as the engine runs it.
void bench_im2col(benchmark::State& state, shape s, unsigned bits, arch a) {
  problem p = make_problem(s, bits);
  auto g = ohq::kernels::gemm::try_prepare(p.w_nhwc, a);
  if (!g) {
    state.SkipWithError(g.error().what().c_str());
    return;
  }
  const std::size_t pixels = s.out_pixels(), kdim = s.channels * 9;
  const std::size_t chunk = std::min(pixels, std::max<std::size_t>(64 * 1024 / kdim / 24, 1) * 24);
  std::vector<std::uint8_t> col(chunk * kdim);
  const double per_iter = time_loop(state, [&] {
    for (std::size_t p0 = 0; p0 < pixels; p0 += chunk) {
      const std::size_t p1 = std::min(pixels, p0 + chunk);
      ohq::nn::detail::im2col_nhwc(p.x.data(), p.geo, 0, 128, col.data(), p0, p1);
      g->run(col.data(), p1 - p0, kdim, 128, p.bias.data(), p.rq, p.y.data() + p0 * s.out_channels,
             ohq::quant::output_layout{1, s.out_channels});
    }
    benchmark::DoNotOptimize(p.y.data());
  });
  if (bits == 8) im2col_w8_seconds()[std::string(s.name) + "/" + std::string(ohq::kernels::to_string(a))] = per_iter;
  set_counters(state, s, a, per_iter);
  state.SetLabel(g->kernel().name);
}

void bench_winograd(benchmark::State& state, shape s, unsigned bits, arch a, ohq::kernels::winograd_tile tile) {
  problem p = make_problem(s, bits);
  auto conv = ohq::kernels::winograd_conv::try_prepare(p.w, s.channels, a, tile);
  if (!conv) {
    state.SkipWithError(conv.error().what().c_str());
    return;
  }
  const auto args = conv->args(p.x.data(), s.side, s.side, 1, 128, p.bias.data(), p.rq, p.y.data(), s.out_channels);
  const double per_iter = time_loop(state, [&] {
    conv->run(args);
    benchmark::DoNotOptimize(p.y.data());
  });
  set_counters(state, s, a, per_iter);
  state.SetLabel(conv->kernel_name());
}

void configure(benchmark::internal::Benchmark* b) { b->Unit(benchmark::kMicrosecond); }

const int registered = [] {
  for (arch a : ohq::kernels::all_archs) {
    if (!ohq::kernels::check_arch(a).ok()) continue;
    const std::string path(ohq::kernels::to_string(a));
    for (const shape& s : shapes) {
      for (unsigned bits : {8u, 4u, 2u})
        configure(benchmark::RegisterBenchmark(
            (std::string("im2col_gemm/") + s.name + "/w" + std::to_string(bits) + "a8/" + path).c_str(), bench_im2col, s,
            bits, a));
      using ohq::kernels::winograd_tile;
      for (const auto tile : {winograd_tile::f2x2, winograd_tile::f3x3, winograd_tile::f2x2_stride2}) {
        if (ohq::kernels::winograd_stride(tile) != s.stride) continue;
        const char* prefix = tile == winograd_tile::f2x2   ? "winograd_f2/"
                             : tile == winograd_tile::f3x3 ? "winograd_f3/"
                                                           : "winograd_f2s2/";
        configure(benchmark::RegisterBenchmark((prefix + std::string(s.name) + "/w8a8/" + path).c_str(),
                                               bench_winograd, s, 8u, a, tile));
      }
    }
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();

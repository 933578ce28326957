// SPDX-License-Identifier: MIT
// Naive loop implementations of every float layer: the independent oracle of the float engine.
// Each returns, per output, the value (double accumulation) and the sum of |terms|, so
// comparisons can be relative to the magnitude of what was summed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace ohq::test::naive {

struct values {
  std::vector<double> value;
  std::vector<double> magnitude;  // sum of |terms| that made each value
};

/// in [N][C][H][W], weight [O][C/G][K][K], bias [O] (may be empty).
inline values conv2d(const std::vector<float>& in, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                     const std::vector<float>& weight, const std::vector<float>& bias, std::size_t o, std::size_t k,
                     std::size_t s, std::size_t p, std::size_t g) {
  const std::size_t ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  const std::size_t cg = c / g, og = o / g;
  values r{std::vector<double>(n * o * ho * wo), std::vector<double>(n * o * ho * wo)};
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t oc = 0; oc < o; ++oc)
      for (std::size_t y = 0; y < ho; ++y)
        for (std::size_t x = 0; x < wo; ++x) {
          double acc = bias.empty() ? 0.0 : bias[oc], mag = std::abs(acc);
          const std::size_t group = oc / og;
          for (std::size_t ic = 0; ic < cg; ++ic)
            for (std::size_t ky = 0; ky < k; ++ky)
              for (std::size_t kx = 0; kx < k; ++kx) {
                const long iy = long(y * s + ky) - long(p), ix = long(x * s + kx) - long(p);
                if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
                const double t = double(weight[((oc * cg + ic) * k + ky) * k + kx]) *
                                 in[((b * c + group * cg + ic) * h + std::size_t(iy)) * w + std::size_t(ix)];
                acc += t;
                mag += std::abs(t);
              }
          const std::size_t idx = ((b * o + oc) * ho + y) * wo + x;
          r.value[idx] = acc;
          r.magnitude[idx] = mag;
        }
  return r;
}

inline values dense(const std::vector<float>& in, std::size_t n, std::size_t i, const std::vector<float>& weight,
                    const std::vector<float>& bias, std::size_t o) {
  values r{std::vector<double>(n * o), std::vector<double>(n * o)};
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t oc = 0; oc < o; ++oc) {
      double acc = bias.empty() ? 0.0 : bias[oc], mag = std::abs(acc);
      for (std::size_t ic = 0; ic < i; ++ic) {
        const double t = double(weight[oc * i + ic]) * in[b * i + ic];
        acc += t;
        mag += std::abs(t);
      }
      r.value[b * o + oc] = acc;
      r.magnitude[b * o + oc] = mag;
    }
  return r;
}

/// Max or average pooling; average counts padding when count_include_pad.
inline values pool(const std::vector<float>& in, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                   std::size_t k, std::size_t s, std::size_t p, bool is_max, bool count_include_pad) {
  const std::size_t ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  values r{std::vector<double>(n * c * ho * wo), std::vector<double>(n * c * ho * wo)};
  for (std::size_t b = 0; b < n; ++b)
    for (std::size_t ch = 0; ch < c; ++ch)
      for (std::size_t y = 0; y < ho; ++y)
        for (std::size_t x = 0; x < wo; ++x) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0, mag = 0;
          std::size_t count = 0;
          for (std::size_t ky = 0; ky < k; ++ky)
            for (std::size_t kx = 0; kx < k; ++kx) {
              const long iy = long(y * s + ky) - long(p), ix = long(x * s + kx) - long(p);
              if (iy < 0 || ix < 0 || iy >= long(h) || ix >= long(w)) continue;
              const double v = in[((b * c + ch) * h + std::size_t(iy)) * w + std::size_t(ix)];
              best = std::max(best, v);
              sum += v;
              mag += std::abs(v);
              ++count;
            }
          const std::size_t idx = ((b * c + ch) * ho + y) * wo + x;
          const double div = double(count_include_pad ? k * k : count);
          r.value[idx] = is_max ? best : sum / div;
          r.magnitude[idx] = is_max ? std::abs(best) : mag / div;
        }
  return r;
}

}  // namespace ohq::test::naive

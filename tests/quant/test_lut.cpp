// SPDX-License-Identifier: MIT
// Lookup tables against the float definitions evaluated in long double.
#include <ohq/quant/lut.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace q = ohq::quant;

namespace {

long double reference(q::elementwise_op op, long double x) {
  const auto relu6 = [](long double v) { return std::min(std::max(v, 0.0L), 6.0L); };
  switch (op) {
    case q::elementwise_op::identity: return x;
    case q::elementwise_op::relu: return std::max(x, 0.0L);
    case q::elementwise_op::relu6: return relu6(x);
    case q::elementwise_op::hardsigmoid: return relu6(x + 3) / 6;
    case q::elementwise_op::hardswish: return x * relu6(x + 3) / 6;
    case q::elementwise_op::sigmoid: return 1 / (1 + std::exp(-x));
    case q::elementwise_op::tanh: return std::tanh(x);
  }
  return x;
}

}  // namespace

TEST_CASE("lookup tables equal quantize(f(dequantize(q))) of the float definition, for every input code") {
  const q::quant_params ins[] = {q::u8_params(0.05f, 128), q::u8_params(0.0235f, 0), q::u8_params(0.1f, 200),
                                 q::s8_params(0.047f), q::u8_params(6.0f / 255, 127)};
  const q::quant_params outs[] = {q::u8_params(1.0f / 255, 0), q::u8_params(0.03f, 20), q::s8_params(0.02f),
                                  q::u8_params(0.05f, 128)};
  const q::elementwise_op ops[] = {q::elementwise_op::identity, q::elementwise_op::relu,    q::elementwise_op::relu6,
                                   q::elementwise_op::hardsigmoid, q::elementwise_op::hardswish, q::elementwise_op::sigmoid,
                                   q::elementwise_op::tanh};
  int near_ties = 0;
  for (const auto& in : ins)
    for (const auto& out : outs)
      for (auto op : ops) {
        const q::lut8 t = q::make_lut(in, out, op);
        for (int byte = 0; byte < 256; ++byte) {
          const std::int32_t code = q::code_of_byte(std::uint8_t(byte), in);
          const long double x = static_cast<long double>(in.scale) * (code - in.zero_point);
          const long double v = reference(op, x) / static_cast<long double>(out.scale) + out.zero_point;
          const auto want = static_cast<std::int32_t>(std::clamp(std::floor(v + 0.5L), static_cast<long double>(out.qmin),
                                                                 static_cast<long double>(out.qmax)));
          const std::int32_t got = q::code_of_byte(t[std::size_t(byte)], out);
          if (got != want) {
            // only where double and long double disagree about a tie
            CHECK(std::fabs(v - std::floor(v) - 0.5L) < 1e-9L);
            ++near_ties;
          }
        }
      }
  CHECK(near_ties <= 8);
}

TEST_CASE("hardsigmoid/hardswish tables: known values, and s8 tables index by the raw byte") {
  const q::quant_params in = q::u8_params(0.1f, 100);  // x in [-10, 15.5]
  const q::quant_params unit = q::u8_params(1.0f / 255, 0);
  const q::lut8 hs = q::make_lut(in, unit, q::elementwise_op::hardsigmoid);
  CHECK(hs[100] == 127);  // x = 0 -> 0.5 / float(1/255) = 127.4999925 -> 127
  CHECK(hs[0] == 0);      // x = -10
  CHECK(hs[70] == 0);     // x = -3
  CHECK(hs[130] == 255);  // x = 3
  CHECK(hs[255] == 255);
  const q::lut8 hw = q::make_lut(in, q::u8_params(0.1f, 100), q::elementwise_op::hardswish);
  CHECK(hw[100] == 100);  // 0
  CHECK(hw[150] == 150);  // x = 5 -> 5
  CHECK(hw[90] == 97);    // x = -1 -> -1 * 2 / 6 = -1/3 -> -3.33 codes -> -3
  const q::quant_params s8in = q::s8_params(0.05f);
  const q::lut8 r = q::make_lut(s8in, s8in, q::elementwise_op::relu);
  CHECK(r[0x80] == 0);     // -128 -> 0
  CHECK(r[0xFF] == 0);     // -1 -> 0
  CHECK(r[0x7F] == 0x7F);  // 127 stays
  std::vector<std::int8_t> x = {-128, -1, 0, 5, 127};
  std::vector<std::int8_t> y(x.size());
  q::apply_lut(r, x.data(), y.data(), x.size());
  CHECK(y == std::vector<std::int8_t>{0, 0, 0, 5, 127});
}

// SPDX-License-Identifier: MIT
// The OHQ_NO_EXCEPTIONS configuration: every quant/ header compiles with -fno-exceptions and the
// try_ spellings report errors as results.
#include <ohq/quant.hpp>

#include <cstdio>
#include <limits>
#include <vector>

int main() {
  namespace q = ohq::quant;
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("FAILED: %s\n", what);
      ++failures;
    }
  };
  const std::vector<float> w = {0.5f, -1.0f, std::numeric_limits<float>::quiet_NaN(), 0.25f};
  expect(q::try_quantize_weights(w, 2, 2).error().code() == ohq::errc::numerical, "NaN weights are an error");
  const std::vector<float> good = {0.5f, -1.0f, 0.75f, 0.25f};
  auto qw = q::try_quantize_weights(good, 2, 2);
  expect(qw.has_value(), "weights quantize");
  auto packed = q::try_pack(*qw);
  expect(packed.has_value() && q::unpack(*packed).codes == qw->codes, "pack round trip");
  expect(!q::try_make_multiplier(-1.0).has_value(), "negative multiplier rejected");
  auto rq = q::try_make_requant(0.1f, qw->scales, q::u8_params(0.05f, 0), q::fused_activation::relu);
  expect(rq.has_value(), "requant params");
  q::tensor_stats st;
  st.add(good);
  expect(q::try_calibrate(st, q::calibration_method::entropy, q::activation_type::u8).has_value(), "calibrate");
  q::hessian_accumulator acc(2);
  acc.add(good.data(), 2, 2);
  expect(q::try_gptq(good, 2, 2, acc.hessian(), q::weight_quant_options{}).has_value(), "gptq");
  std::printf("%s\n", failures ? "quant no-exceptions: FAILED" : "quant no-exceptions: ok");
  return failures ? 1 : 0;
}

// SPDX-License-Identifier: MIT
// Built with -fno-exceptions -DOHQ_NO_EXCEPTIONS: errors are values, nothing throws, and the
// throwing spellings do not exist (see tests/compile_fail/no_exceptions_value.cpp).
#include <ohq/ohq.hpp>

#include <cstdio>
#include <vector>

#ifndef OHQ_NO_EXCEPTIONS
#error "this test must be built with OHQ_NO_EXCEPTIONS"
#endif

using namespace ohq::nn;
using net_t = ohq::network<ohq::shape<1, 8, 8>, conv2d<4, 3, 1, 1>, relu, global_avg_pool, dense<3>>;

static int failures = 0;
static void check(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}

int main() {
  net_t net;
  std::vector<float> x(2 * 64, 1.0f);
  auto good = net.try_forward(ohq::tensor_view<const float>(x.data(), {2, 1, 8, 8}));
  check(good.has_value(), "a well-shaped input runs");
  if (good) check(good->dim(0) == 2 && good->dim(1) == 3, "output is [2, 3]");

  auto bad = net.try_forward(ohq::tensor_view<const float>(x.data(), {2, 1, 8, 7}));
  check(!bad.has_value(), "a mis-shaped input is an error value");
  check(bad.error().code() == ohq::errc::shape_mismatch, "the error is a shape mismatch");
  std::printf("error as reported: %s\n", bad.error().what().c_str());
  std::printf("no-exceptions checks: %s\n", failures == 0 ? "all good" : "FAILURES");
  return failures == 0 ? 0 : 1;
}

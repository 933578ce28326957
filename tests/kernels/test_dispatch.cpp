// SPDX-License-Identifier: MIT
// Arch dispatch: parsing, selection from CPU features, overrides, and clear errors.
#include <ohq/kernels.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

using namespace ohq::kernels;

TEST_SUITE("dispatch") {
  TEST_CASE("arch names parse and print") {
    for (arch a : all_archs) CHECK(*try_parse_arch(to_string(a)) == a);
    CHECK(*try_parse_arch("avx512_vnni") == arch::avx512_vnni);
    auto bad = try_parse_arch("sse");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code() == ohq::errc::invalid_argument);
    CHECK(bad.error().message().find("sse") != std::string::npos);
  }

  TEST_CASE("selection follows the CPU features and names what is missing") {
    ohq::cpu_features none;  // a CPU without AVX: only scalar
    CHECK(best_arch(none) == arch::scalar);
    CHECK(check_arch(arch::scalar, none).ok());
    for (arch a : {arch::avx2, arch::avx512_vnni}) {
      const ohq::status s = check_arch(a, none);
      CHECK(s.code() == ohq::errc::unsupported_cpu);
      CHECK(s.message().find(std::string(to_string(a))) != std::string::npos);
      auto sel = try_select_arch(std::string(to_string(a)).c_str(), none);
      REQUIRE_FALSE(sel);
      CHECK(sel.error().code() == ohq::errc::unsupported_cpu);
      CHECK(sel.error().message().find("OHQ_ARCH") != std::string::npos);
    }
    CHECK(try_select_arch("", none).value() == arch::scalar);
    CHECK(try_select_arch(nullptr, none).value() == arch::scalar);
    CHECK(try_select_arch("bogus", none).error().code() == ohq::errc::invalid_argument);

    ohq::cpu_features haswell;
    haswell.avx = haswell.avx2 = haswell.fma = true;
    CHECK(best_arch(haswell) == (built(arch::avx2) ? arch::avx2 : arch::scalar));
    CHECK(check_arch(arch::avx512_vnni, haswell).code() == ohq::errc::unsupported_cpu);
  }

  TEST_CASE("set_arch refuses what this CPU or build lacks and keeps the selection") {
    MESSAGE("CPU: " << ohq::describe(ohq::cpu()));
    for (arch a : all_archs)
      MESSAGE("arch " << to_string(a) << ": built " << built(a) << ", CPU " << cpu_supports(a) << " -> "
                      << (check_arch(a).ok() ? "available" : check_arch(a).message()));
    const auto before = try_active_arch();
    for (arch a : all_archs) {
      const ohq::status s = try_set_arch(a);
      CHECK(s.ok() == check_arch(a).ok());
      if (s.ok()) {
        CHECK(try_active_arch().value() == a);
        CHECK(gemm_w8a8::try_prepare(ohq::quant::quantized_weights{ohq::quant::weight_format_of(8), 1, 1, {1}, {1.0f}})
                  ->path() == a);
      } else {
        CHECK(s.code() == ohq::errc::unsupported_cpu);
        auto k = try_gemm_w8a8_kernel(a);
        REQUIRE_FALSE(k);
        CHECK(k.error().code() == ohq::errc::unsupported_cpu);
      }
    }
    reset_arch();
    if (before) CHECK(try_active_arch().value() == *before);
  }

  TEST_CASE("OHQ_ARCH and the automatic choice") {
    reset_arch();
    const char* expect = std::getenv("OHQ_EXPECT_ARCH");
    const auto active = try_active_arch();
    MESSAGE("OHQ_ARCH=" << std::string(std::getenv("OHQ_ARCH") ? std::getenv("OHQ_ARCH") : "(unset)") << " -> "
                        << (active ? std::string(to_string(*active)) : active.error().what()));
    if (expect == nullptr) {
      if (std::getenv("OHQ_ARCH") == nullptr) CHECK(active.value() == best_arch());
    } else if (std::string(expect) == "error") {
      REQUIRE_FALSE(active);
      CHECK((active.error().code() == ohq::errc::invalid_argument ||
             active.error().code() == ohq::errc::unsupported_cpu));
    } else {
      REQUIRE(active);
      CHECK(to_string(*active) == std::string(expect));
    }
    reset_arch();
  }

  TEST_CASE("row ranges are checked; low-bit codes run as int8") {
    ohq::quant::quantized_weights w{ohq::quant::weight_format_of(4), 2, 3, {1, 2, 3, 4, 5, 6}, {1.0f, 1.0f}};
    CHECK(gemm_w8a8::try_prepare(w, arch::scalar).has_value());
    CHECK(gemm_w8a8::try_prepare(w, 1, 2, arch::scalar).error().code() == ohq::errc::invalid_argument);
    CHECK(gemm_w8a8::try_prepare(w, 0, 0, arch::scalar).error().code() == ohq::errc::invalid_argument);
    CHECK(gemm_w8a8::try_prepare(w, 1, 1, arch::scalar).has_value());
  }
}

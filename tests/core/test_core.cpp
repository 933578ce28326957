// SPDX-License-Identifier: MIT
#include <ohq/core.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <string>

using ohq::shape;

static_assert(shape<3, 224, 224>::rank == 3);
static_assert(shape<3, 224, 224>::size == 3 * 224 * 224);
static_assert(shape<10>::rank == 1 && shape<10>::size == 10);
static_assert(shape<1, 2, 3>{} == shape<1, 2, 3>{});
static_assert(!(shape<1, 2, 3>{} == shape<1, 3, 2>{}));
static_assert(!(shape<6>{} == shape<1, 2, 3>{}));
static_assert(ohq::feature_map_shape<shape<1, 2, 3>> && !ohq::feature_map_shape<shape<6>>);
static_assert(ohq::bits_set<2, 4, 8>::contains(4) && !ohq::bits_set<2, 4, 8>::contains(3));

TEST_CASE("shape prints its dimensions") {
  CHECK(shape<16, 28, 28>::str() == "(16, 28, 28)");
  CHECK(shape<10>::str() == "(10)");
}

TEST_CASE("aligned_buffer is 64-byte aligned, zero-filled, and never shrinks its storage") {
  ohq::aligned_buffer<float> b(13);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
  for (float v : b) CHECK(v == 0.0f);
  b[12] = 3.0f;
  const float* before = b.data();
  b.resize(5);
  CHECK(b.data() == before);
  CHECK(b.capacity() == 13);
  b.resize(13);
  CHECK(b[12] == 0.0f);  // regrown elements are zero again
  b.resize(100);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
  ohq::aligned_buffer<float> copy = b;
  CHECK(copy.size() == 100);
  ohq::aligned_buffer<float> moved = std::move(copy);
  CHECK(moved.size() == 100);
  CHECK(copy.size() == 0);
}

TEST_CASE("tensor_view indexes NCHW row-major") {
  float data[2 * 3 * 4 * 5];
  for (int i = 0; i < 120; ++i) data[i] = float(i);
  ohq::tensor_view<float> v(data, {2, 3, 4, 5});
  CHECK(v.size() == 120);
  CHECK(v(1, 2, 3, 4) == 119.0f);
  CHECK(v(0, 1, 0, 0) == 20.0f);
  CHECK(v.shape_string() == "[2, 3, 4, 5]");
  ohq::tensor_view<const float> c = v;
  CHECK(c.dim(1) == 3);
}

namespace {
ohq::result<int> parse_positive(int x) {
  if (x <= 0) return ohq::make_status(ohq::errc::invalid_argument, "expected a positive number, got ", x);
  return x;
}
ohq::status chain(int x) {
  OHQ_TRY_STATUS(parse_positive(x).error());
  return {};
}
}  // namespace

TEST_CASE("result carries a value or a status naming what is wrong") {
  auto good = parse_positive(3);
  REQUIRE(good.has_value());
  CHECK(*good == 3);
  CHECK(good.error().ok());
  auto bad = parse_positive(-2);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == ohq::errc::invalid_argument);
  CHECK(bad.error().what() == "invalid argument: expected a positive number, got -2");
  CHECK_THROWS_AS(bad.value(), ohq::error);
  try {
    (void)bad.value();
  } catch (const ohq::error& e) {
    CHECK(e.code() == ohq::errc::invalid_argument);
    CHECK(std::string(e.what()).find("got -2") != std::string::npos);
  }
  CHECK(chain(5).ok());
  CHECK(chain(0).code() == ohq::errc::invalid_argument);
}

TEST_CASE("CPU feature detection is consistent with itself and with /proc/cpuinfo") {
  const ohq::cpu_features& f = ohq::cpu();
  // Implications the SDM guarantees once the OS checks are applied.
  if (f.avx2) CHECK(f.avx);
  if (f.avx512bw || f.avx512vl || f.avx512vnni || f.avx512vbmi) CHECK(f.avx512f);
  if (f.avx512f) CHECK(f.avx2);
  const std::string text = ohq::describe(f);
  MESSAGE(text);
#if defined(__x86_64__) && defined(__linux__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  if (!flags.empty()) {
    auto has = [&](const char* name) { return flags.find(std::string(" ") + name + " ") != std::string::npos; };
    CHECK(f.sse42 == has("sse4_2"));
    CHECK(f.avx2 == has("avx2"));
    CHECK(f.fma == has("fma"));
    CHECK(f.avx512f == has("avx512f"));
    CHECK(f.avx512bw == has("avx512bw"));
    CHECK(f.avx512vl == has("avx512vl"));
    CHECK(f.avx512vnni == has("avx512_vnni"));
    CHECK(f.avx512vbmi == has("avx512vbmi"));
    CHECK(f.avx512vpopcntdq == has("avx512_vpopcntdq"));
    CHECK(f.avx512bf16 == has("avx512_bf16"));
    CHECK(f.avx_vnni == has("avx_vnni"));
  }
#endif
}

// SPDX-License-Identifier: MIT
// Packed weight layouts (byte-level golden tests) and exact pack/unpack round trips.
#include <ohq/quant/packing.hpp>

#include <doctest/doctest.h>

#include "common.hpp"

#include <cstdint>
#include <vector>

namespace q = ohq::quant;

namespace {

q::quantized_weights make(unsigned bits, std::size_t rows, std::size_t cols, const std::vector<std::int8_t>& codes) {
  q::quantized_weights w;
  w.format = q::weight_format_of(bits);
  w.rows = rows;
  w.cols = cols;
  w.codes = codes;
  w.scales.assign(rows, 0.5f);
  return w;
}

q::quantized_weights random_codes(unsigned bits, std::size_t rows, std::size_t cols, ohq_test::rng& r) {
  const q::weight_format f = q::weight_format_of(bits);
  std::vector<std::int8_t> c(rows * cols);
  for (auto& v : c) v = static_cast<std::int8_t>(bits == 1 ? (r.integer(0, 1) ? 1 : -1) : r.integer(f.code_min, f.code_max));
  auto w = make(bits, rows, cols, c);
  for (auto& s : w.scales) s = static_cast<float>(r.uniform(0.01, 1.0));
  return w;
}

}  // namespace

TEST_CASE("block sizes and padding") {
  CHECK(q::padded_cols(1) == 64);
  CHECK(q::padded_cols(64) == 64);
  CHECK(q::padded_cols(65) == 128);
  for (unsigned b = 1; b <= 8; ++b) {
    const auto p = q::pack(make(b, 2, 65, std::vector<std::int8_t>(130, 1)));
    CHECK(p.cols_padded == 128);
    CHECK(p.row_bytes == 2 * q::block_bytes(p.format.storage_bits));
    CHECK(p.data.size() == 2 * p.row_bytes);
  }
}

TEST_CASE("4-bit layout: byte j = u[j] | u[j + 32] << 4, u = w + 8") {
  // codes {-8, 7, 0} -> u {0, 15, 8}
  auto p = q::pack(make(4, 1, 3, {-8, 7, 0}));
  REQUIRE(p.row_bytes == 32);
  std::vector<std::uint8_t> want(32, 0);
  want[1] = 0x0F;
  want[2] = 0x08;
  CHECK(std::vector<std::uint8_t>(p.data.begin(), p.data.end()) == want);
  // u = 1 for k < 32, u = 2 for k >= 32 -> every byte 0x21
  std::vector<std::int8_t> c(64);
  for (std::size_t k = 0; k < 64; ++k) c[k] = static_cast<std::int8_t>((k < 32 ? 1 : 2) - 8);
  p = q::pack(make(4, 1, 64, c));
  for (std::uint8_t byte : p.data) CHECK(byte == 0x21);
  CHECK(p.row_sums[0] == 32 * -7 + 32 * -6);
  CHECK(p.field_sums[0] == 32 * 1 + 32 * 2);
}

TEST_CASE("2-bit layout: byte j = u[j] | u[j+16] << 2 | u[j+32] << 4 | u[j+48] << 6, u = w + 2") {
  std::vector<std::int8_t> c(64);
  for (std::size_t k = 0; k < 64; ++k) c[k] = static_cast<std::int8_t>(int(k / 16) - 2);  // u = k / 16
  const auto p = q::pack(make(2, 1, 64, c));
  REQUIRE(p.row_bytes == 16);
  for (std::uint8_t byte : p.data) CHECK(byte == 0xE4);  // 0b11'10'01'00
}

TEST_CASE("1-bit layout: bit f of byte j = code j + 8f is +1") {
  std::vector<std::int8_t> c(64, -1);
  c[0] = c[9] = c[63] = 1;
  const auto p = q::pack(make(1, 1, 64, c));
  REQUIRE(p.row_bytes == 8);
  const std::vector<std::uint8_t> want = {0x01, 0x02, 0, 0, 0, 0, 0, 0x80};
  CHECK(std::vector<std::uint8_t>(p.data.begin(), p.data.end()) == want);
  CHECK(p.row_sums[0] == 3 - 61);
  CHECK(p.field_sums[0] == 3);
}

TEST_CASE("3-bit layout: a 2-bit plane of u & 3 (16 bytes), then a 1-bit plane of u >> 2 (8 bytes)") {
  std::vector<std::int8_t> c(64, 0);  // u = 4: low 0, high 1
  c[0] = 1;                            // u = 5: low 1, high 1
  c[17] = -4;                          // u = 0: low 0, high 0 -> byte 1 of the 2-bit plane field 1; high bit 17 = byte 1 bit 2
  const auto p = q::pack(make(3, 1, 64, c));
  REQUIRE(p.row_bytes == 24);
  std::vector<std::uint8_t> want(24, 0);
  want[0] = 0x01;
  for (std::size_t j = 16; j < 24; ++j) want[j] = 0xFF;
  want[16 + 1] = static_cast<std::uint8_t>(0xFF & ~(1u << 2));
  CHECK(std::vector<std::uint8_t>(p.data.begin(), p.data.end()) == want);
}

TEST_CASE("8-bit layout: byte k = the int8 code; rows follow each other") {
  const auto p = q::pack(make(8, 2, 3, {-128, 127, -1, 5, 0, 64}));
  REQUIRE(p.row_bytes == 64);
  CHECK(p.data[0] == 0x80);
  CHECK(p.data[1] == 0x7F);
  CHECK(p.data[2] == 0xFF);
  CHECK(p.data[3] == 0);  // padding
  CHECK(p.data[64] == 5);
  CHECK(p.data[66] == 64);
  CHECK(p.row_sums == std::vector<std::int32_t>{-2, 69});
  CHECK(reinterpret_cast<std::uintptr_t>(p.data.data()) % 64 == 0);
}

TEST_CASE("pack and unpack are exact inverses at every bit-width, on odd sizes") {
  ohq_test::rng r(11);
  for (unsigned b = 1; b <= 8; ++b)
    for (std::size_t rows : {1u, 3u, 7u})
      for (std::size_t cols : {1u, 2u, 31u, 63u, 64u, 65u, 100u, 129u, 200u, 455u}) {
        CAPTURE(b);
        CAPTURE(rows);
        CAPTURE(cols);
        const auto w = random_codes(b, rows, cols, r);
        const auto p = q::pack(w);
        const auto back = q::unpack(p);
        CHECK(back.codes == w.codes);
        CHECK(back.scales == w.scales);
        CHECK(back.format.bits == b);
        for (std::size_t i = 0; i < rows; ++i) {
          CHECK(p.row_sums[i] == w.row_sum(i));
          std::int32_t fs = 0;
          for (std::size_t k = 0; k < cols; ++k) {
            fs += p.field(i, k);
            CHECK(p.value(i, k) == w.code(i, k));
          }
          CHECK(p.field_sums[i] == fs);
          for (std::size_t k = cols; k < p.cols_padded; ++k) CHECK(p.field(i, k) == 0);  // padding fields are 0
        }
      }
}

TEST_CASE("pack rejects codes outside the format; fold_zero_point") {
  CHECK(q::try_pack(make(4, 1, 2, {8, 0})).error().code() == ohq::errc::invalid_argument);
  CHECK(q::try_pack(make(1, 1, 2, {0, 1})).error().code() == ohq::errc::invalid_argument);
  CHECK(q::try_pack(make(2, 1, 2, {-3, 1})).error().code() == ohq::errc::invalid_argument);
  const auto folded = q::try_fold_zero_point(std::vector<std::int32_t>{10, -5}, std::vector<std::int32_t>{3, -2}, 7);
  REQUIRE(folded.has_value());
  CHECK(*folded == std::vector<std::int32_t>{10 - 21, -5 + 14});
  CHECK_FALSE(q::try_fold_zero_point(std::vector<std::int32_t>{2147483000}, std::vector<std::int32_t>{-1000}, 255)
                  .has_value());
}

// SPDX-License-Identifier: MIT
// Tests of the protobuf wire decoder (ohq/io/protobuf.hpp) on hand-built bytes.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <ohq/io/protobuf.hpp>
#include <string>
#include <vector>

#include "pb_writer.hpp"

using ohq::io::protobuf::field;
using ohq::io::protobuf::reader;
using ohq::io::protobuf::wire_type;
using ohq_test::pb_writer;

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// Recursively enters field 1 of every message; returns the first error.
ohq::status walk(reader r) {
  field f;
  while (!r.at_end()) {
    OHQ_TRY_STATUS(r.next(f));
    if (f.type == wire_type::length_delimited && f.number == 1) {
      reader sub;
      OHQ_TRY_STATUS(r.enter(f, sub));
      OHQ_TRY_STATUS(walk(sub));
    }
  }
  return {};
}

}  // namespace

TEST_CASE("protobuf varint round trip") {
  const std::uint64_t values[] = {
      0,     1,           127,        128,        300,        16383,
      16384, 0xFFFFFFFFu, 1ULL << 32, 1ULL << 56, 1ULL << 63, std::numeric_limits<std::uint64_t>::max()};
  for (std::uint64_t v : values) {
    pb_writer w;
    w.raw_varint(v);
    reader r(w.data());
    std::uint64_t out = 1234;
    REQUIRE(r.read_varint(out).ok());
    CHECK(out == v);
    CHECK(r.at_end());
  }
  // The maximum takes exactly 10 bytes.
  pb_writer w;
  w.raw_varint(std::numeric_limits<std::uint64_t>::max());
  CHECK(w.data().size() == 10);
  // Non-canonical (padded) encodings are valid protobuf.
  auto padded = bytes_of({0x81, 0x80, 0x80, 0x00});
  reader r(padded);
  std::uint64_t out = 0;
  REQUIRE(r.read_varint(out).ok());
  CHECK(out == 1);
}

TEST_CASE("protobuf varint errors") {
  std::uint64_t out = 0;
  {
    auto b = bytes_of({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02});
    reader r(b);
    const auto s = r.read_varint(out);
    REQUIRE(!s.ok());
    CHECK(s.code() == ohq::errc::parse_error);
    CHECK(contains(s.message(), "overflows 64 bits"));
    CHECK(contains(s.message(), "byte offset 0"));
  }
  {
    auto b = bytes_of({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
    reader r(b);
    CHECK(!r.read_varint(out).ok());
  }
  {
    auto b = bytes_of({0x05, 0x80, 0x80});
    reader r(b, 100);
    REQUIRE(r.read_varint(out).ok());
    const auto s = r.read_varint(out);
    REQUIRE(!s.ok());
    CHECK(contains(s.message(), "runs past the end"));
    CHECK(contains(s.message(), "byte offset 101"));  // absolute offsets include the base
  }
  {
    reader r(std::span<const std::byte>{});
    CHECK(!r.read_varint(out).ok());
  }
}

TEST_CASE("protobuf fields of every wire type, unknown fields skipped") {
  pb_writer inner;
  inner.varint(1, 42).str(2, "hi");
  pb_writer w;
  w.varint(1, 150)
      .fixed64(2, 0x0102030405060708ULL)
      .str(3, "testing")
      .f32(4, 1.5F)
      .message(5, inner)
      .varint(536870911, 7);  // largest field number
  reader r(w.data());
  field f;
  REQUIRE(r.next(f).ok());
  CHECK(f.number == 1);
  CHECK(f.type == wire_type::varint);
  CHECK(f.scalar == 150);
  CHECK(f.offset == 0);
  REQUIRE(r.next(f).ok());
  CHECK(f.number == 2);
  CHECK(f.type == wire_type::fixed64);
  CHECK(f.scalar == 0x0102030405060708ULL);
  REQUIRE(r.next(f).ok());
  CHECK(f.type == wire_type::length_delimited);
  CHECK(f.as_string() == "testing");
  REQUIRE(r.next(f).ok());
  CHECK(f.type == wire_type::fixed32);
  CHECK(f.as_float() == 1.5F);
  REQUIRE(r.next(f).ok());
  CHECK(f.number == 5);
  reader sub;
  REQUIRE(r.enter(f, sub).ok());
  CHECK(sub.depth() == 1);
  CHECK(sub.offset() == f.payload_offset);
  field g;
  REQUIRE(sub.next(g).ok());
  CHECK(g.scalar == 42);
  REQUIRE(sub.next(g).ok());
  CHECK(g.as_string() == "hi");
  CHECK(sub.at_end());
  REQUIRE(r.next(f).ok());
  CHECK(f.number == ohq::io::protobuf::max_field_number);
  CHECK(f.scalar == 7);
  CHECK(r.at_end());
  // Negative int64 (10-byte two's complement) decodes back.
  pb_writer n;
  n.sint(1, -3);
  reader rn(n.data());
  REQUIRE(rn.next(f).ok());
  CHECK(f.as_int64() == -3);
}

TEST_CASE("protobuf rejects groups, invalid wire types, field 0 and oversized tags") {
  const auto check_error = [](std::vector<std::byte> b, const std::string& part) {
    reader r(b);
    field f;
    const auto s = r.next(f);
    REQUIRE(!s.ok());
    CHECK(s.code() == ohq::errc::parse_error);
    INFO(s.message());
    CHECK(contains(s.message(), part));
  };
  check_error(bytes_of({(1 << 3) | 3}), "group wire type 3");
  check_error(bytes_of({(1 << 3) | 4}), "group wire type 4");
  check_error(bytes_of({(1 << 3) | 6, 0}), "invalid wire type 6");
  check_error(bytes_of({(1 << 3) | 7, 0}), "invalid wire type 7");
  check_error(bytes_of({0x00, 0x01}), "field number 0");
  pb_writer big;
  big.raw_varint(1ULL << 35);
  check_error(big.vec(), "does not fit in 32 bits");
  check_error(bytes_of({(1 << 3) | 5, 1, 2, 3}), "fixed32 value runs past the end");
  check_error(bytes_of({(1 << 3) | 1, 1, 2, 3, 4, 5, 6, 7}), "fixed64 value runs past the end");
}

TEST_CASE("protobuf lengths are checked against the enclosing message") {
  {
    auto b = bytes_of({(2 << 3) | 2, 5, 'a', 'b'});
    reader r(b);
    field f;
    const auto s = r.next(f);
    REQUIRE(!s.ok());
    CHECK(contains(s.message(), "claims 5 bytes but only 2 remain"));
  }
  {
    pb_writer huge;
    huge.tag(2, 2).raw_varint(std::numeric_limits<std::uint64_t>::max());
    reader r(huge.data());
    field f;
    CHECK(!r.next(f).ok());
  }
  {
    // The sub-message claims 3 bytes but its parent field holds only 2; the parent's remaining bytes
    // (after the sub-message) must not be readable from inside it.
    pb_writer w;
    auto inner = bytes_of({(1 << 3) | 2, 3, 'x'});
    w.bytes(1, std::span<const std::byte>(inner).first(2)).str(2, "yyyy");
    reader r(w.data());
    field f;
    REQUIRE(r.next(f).ok());
    reader sub;
    REQUIRE(r.enter(f, sub).ok());
    field g;
    CHECK(!sub.next(g).ok());
  }
}

TEST_CASE("protobuf nesting depth limit") {
  const auto nested = [](int levels) {
    pb_writer w;
    w.varint(2, 1);
    for (int k = 0; k < levels; ++k) {
      pb_writer outer;
      outer.message(1, w);
      w = outer;
    }
    return w;
  };
  {
    auto w = nested(ohq::io::protobuf::default_max_depth);
    CHECK(walk(reader(w.data())).ok());
  }
  {
    auto w = nested(ohq::io::protobuf::default_max_depth + 1);
    const auto s = walk(reader(w.data()));
    REQUIRE(!s.ok());
    CHECK(contains(s.message(), "nested deeper than the limit of 32"));
  }
  {
    auto w = nested(5);
    CHECK(!walk(reader(w.data(), 0, 0, 4)).ok());
    CHECK(walk(reader(w.data(), 0, 0, 5)).ok());
  }
  {
    pb_writer w;
    w.varint(1, 3);
    reader r(w.data());
    field f;
    REQUIRE(r.next(f).ok());
    reader sub;
    CHECK(!r.enter(f, sub).ok());  // not a message
  }
}

TEST_CASE("protobuf packed helpers") {
  const std::int64_t ints[] = {0, 1, -1, 300, std::numeric_limits<std::int64_t>::min()};
  pb_writer w;
  w.packed_varints(1, ints);
  reader r(w.data());
  field f;
  REQUIRE(r.next(f).ok());
  std::size_t count = 0;
  REQUIRE(ohq::io::protobuf::count_packed_varints(f, count).ok());
  CHECK(count == 5);
  std::vector<std::int64_t> out;
  REQUIRE(ohq::io::protobuf::for_each_packed_varint(f, [&](std::uint64_t v) {
            out.push_back(static_cast<std::int64_t>(v));
            return ohq::status();
          }).ok());
  CHECK(out == std::vector<std::int64_t>(std::begin(ints), std::end(ints)));

  auto unterminated = bytes_of({(1 << 3) | 2, 2, 0x01, 0x80});
  reader ru(unterminated);
  REQUIRE(ru.next(f).ok());
  CHECK(!ohq::io::protobuf::count_packed_varints(f, count).ok());
  CHECK(!ohq::io::protobuf::for_each_packed_varint(f, [](std::uint64_t) { return ohq::status(); }).ok());

  const float floats[] = {1.0F, -2.5F, 0.0F};
  pb_writer wf;
  wf.packed_floats(4, floats);
  reader rf(wf.data());
  REQUIRE(rf.next(f).ok());
  std::vector<float> got;
  REQUIRE(ohq::io::protobuf::for_each_packed_fixed32(f, [&](std::uint32_t v) {
            got.push_back(std::bit_cast<float>(v));
            return ohq::status();
          }).ok());
  CHECK(got == std::vector<float>(std::begin(floats), std::end(floats)));

  auto bad = bytes_of({(4 << 3) | 2, 5, 0, 0, 0, 0, 0});
  reader rb(bad);
  REQUIRE(rb.next(f).ok());
  const auto s = ohq::io::protobuf::for_each_packed_fixed32(f, [](std::uint32_t) { return ohq::status(); });
  REQUIRE(!s.ok());
  CHECK(contains(s.message(), "not a multiple of 4"));
}

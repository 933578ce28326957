// SPDX-License-Identifier: MIT
// Shared by the libFuzzer targets of tests/fuzz: what counts as a finding besides a crash.
#pragma once

#include <ohq/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace ohq_fuzz {

inline std::span<const std::byte> bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

/// A broken invariant: print it and abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void finding(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "ohq fuzz finding: %.*s%s%.*s\n", static_cast<int>(what.size()), what.data(),
               detail.empty() ? "" : ": ", static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// An error from an in-memory reader must carry a message and one of the codes it documents.
/// `errc::io_error` cannot come from bytes in memory: io::detail::no_throw turns an escaping
/// exception (a bug, e.g. std::out_of_range) into it, so it is a finding here.
inline void check_error(const ohq::status& s, std::initializer_list<ohq::errc> allowed, std::string_view where) {
  if (s.ok()) finding(where, "an error result holds no error");
  if (s.message().empty()) finding(where, "an error without a message");
  for (ohq::errc e : allowed)
    if (s.code() == e) return;
  finding(where, std::string("unexpected error code '") + std::string(ohq::to_string(s.code())) + "': " + s.message());
}

}  // namespace ohq_fuzz

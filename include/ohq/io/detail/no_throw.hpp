// SPDX-License-Identifier: MIT
/// @file Defines `ohq::io::detail::no_throw`, which turns an escaping exception into an error result.
#pragma once

#include <ohq/core/error.hpp>

#ifndef OHQ_NO_EXCEPTIONS
#include <exception>
#include <new>
#endif

namespace ohq::io::detail {

/// Calls `fn()` (returning `status` or `result<T>`) and, when exceptions are enabled, converts an
/// escaping `std::bad_alloc` or other exception into an error, so the `try_` readers never throw.
template <class Fn>
auto no_throw(Fn&& fn) -> decltype(fn()) {
#ifndef OHQ_NO_EXCEPTIONS
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return status(errc::limit_exceeded, "out of memory while reading");
  } catch (const std::exception& e) {
    return status(errc::io_error, e.what());
  } catch (...) {
    return status(errc::io_error, "unknown exception while reading");
  }
#else
  return fn();
#endif
}

}  // namespace ohq::io::detail

// SPDX-License-Identifier: MIT
/// @file Defines ohq's error channel: `errc`, `status`, `result<T>` and (with exceptions) `ohq::error`.
///
/// Every fallible public operation has a `try_` spelling returning `result<T>` that never throws.
/// The plain spelling returns `try_x(...).value()`, which throws `ohq::error`. Under
/// OHQ_NO_EXCEPTIONS the throwing spellings (and `result::value()`) are not declared, so misuse is
/// a compile error pointing to the `try_` form rather than a crash at run time.
#pragma once

#include <ohq/config.hpp>

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#ifndef OHQ_NO_EXCEPTIONS
#include <stdexcept>
#endif

namespace ohq {

/// What kind of thing went wrong (CUTLASS `Status`-style).
enum class errc {
  ok = 0,
  invalid_argument,  ///< a caller passed something out of range
  invalid_model,     ///< a model file is malformed or describes an unsupported graph
  shape_mismatch,    ///< a tensor's shape differs from what the network type expects
  io_error,          ///< a file could not be opened, read or written
  parse_error,       ///< a text or binary format could not be decoded
  limit_exceeded,    ///< an input exceeds a stated resource bound
  unsupported_cpu,   ///< the CPU lacks the instructions a requested path needs
  infeasible,        ///< a budget no plan can meet
  unsupported,       ///< a valid request ohq does not implement
  numerical,         ///< NaN/Inf or another numerical failure
};

/// A stable, human-readable name of an error code.
constexpr std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid argument";
    case errc::invalid_model: return "invalid model";
    case errc::shape_mismatch: return "shape mismatch";
    case errc::io_error: return "I/O error";
    case errc::parse_error: return "parse error";
    case errc::limit_exceeded: return "limit exceeded";
    case errc::unsupported_cpu: return "unsupported CPU";
    case errc::infeasible: return "infeasible";
    case errc::unsupported: return "unsupported";
    case errc::numerical: return "numerical error";
  }
  return "unknown error";
}

/// An error code with a message naming what is wrong (file, layer, field). `ok()` when no error.
class status {
 public:
  status() = default;
  status(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] errc code() const noexcept { return code_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  /// "shape mismatch: layer 3 (conv2d) ..." — the form printed by tools.
  [[nodiscard]] std::string what() const {
    return std::string(to_string(code_)) + ": " + message_;
  }

 private:
  errc code_ = errc::ok;
  std::string message_;
};

/// Builds a message from streamable parts: `make_status(errc::io_error, "cannot open ", path)`.
template <class... Parts>
status make_status(errc code, const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return status(code, out.str());
}

#ifndef OHQ_NO_EXCEPTIONS
/// The exception thrown by the plain (non-`try_`) spellings.
class error : public std::runtime_error {
 public:
  explicit error(const status& s) : std::runtime_error(s.what()), code_(s.code()) {}
  error(errc code, const std::string& message) : error(status(code, message)) {}
  [[nodiscard]] errc code() const noexcept { return code_; }

 private:
  errc code_;
};

/// Throws `s` as an `ohq::error` unless it is ok.
inline void throw_if_error(const status& s) {
  if (!s.ok()) throw error(s);
}
#endif

/// Either a value or a non-ok status (a small C++20 stand-in for std::expected).
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, status>, "ohq: result<status> is meaningless");

 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(status s) : state_(std::in_place_index<1>, std::move(s)) {      // NOLINT: implicit by design
    OHQ_ASSERT(!std::get<1>(state_).ok() && "ohq: a result built from a status must hold an error");
  }

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; precondition has_value().
  T& operator*() & noexcept { return *std::get_if<0>(&state_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&state_)); }
  T* operator->() noexcept { return std::get_if<0>(&state_); }
  const T* operator->() const noexcept { return std::get_if<0>(&state_); }

  /// The error; an ok status when there is a value.
  [[nodiscard]] status error() const {
    if (has_value()) return status();
    return std::get<1>(state_);
  }

#ifndef OHQ_NO_EXCEPTIONS
  /// The value, or throws `ohq::error`.
  T& value() & {
    if (!has_value()) throw ohq::error(std::get<1>(state_));
    return std::get<0>(state_);
  }
  const T& value() const& {
    if (!has_value()) throw ohq::error(std::get<1>(state_));
    return std::get<0>(state_);
  }
  T&& value() && {
    if (!has_value()) throw ohq::error(std::get<1>(state_));
    return std::move(std::get<0>(state_));
  }
#endif

 private:
  std::variant<T, status> state_;
};

}  // namespace ohq

/// Propagates a non-ok status or failed result out of a function returning status or result<U>.
#define OHQ_TRY_STATUS(expr)                  \
  do {                                        \
    auto ohq_try_status_ = (expr);            \
    if (!ohq_try_status_.ok()) return ohq_try_status_; \
  } while (false)

// SPDX-License-Identifier: MIT
/// @file Every OHQ_* configuration macro, in one place (standard library only).
#pragma once

#define OHQ_VERSION_MAJOR 0
#define OHQ_VERSION_MINOR 1
#define OHQ_VERSION_PATCH 0

// Exceptions are the default error channel; define OHQ_NO_EXCEPTIONS (or build with
// -fno-exceptions) to get only the result<T>-returning try_* spellings.
#if !defined(OHQ_NO_EXCEPTIONS) && !(defined(__cpp_exceptions) || defined(__EXCEPTIONS))
#define OHQ_NO_EXCEPTIONS
#endif

#if defined(OHQ_DEBUG) || !defined(NDEBUG)
#include <cassert>
#define OHQ_ASSERT(cond) assert(cond)
#else
#define OHQ_ASSERT(cond) ((void)0)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define OHQ_ALWAYS_INLINE inline __attribute__((always_inline))
#define OHQ_RESTRICT __restrict__
#else
#define OHQ_ALWAYS_INLINE inline
#define OHQ_RESTRICT
#endif

// SPDX-License-Identifier: MIT
/// @file The entry header of core/: shapes, tensor views, aligned buffers, errors, CPU features, a thread pool.
#pragma once

#include <ohq/config.hpp>
#include <ohq/core/aligned_buffer.hpp>
#include <ohq/core/cpu_features.hpp>
#include <ohq/core/error.hpp>
#include <ohq/core/shape.hpp>
#include <ohq/core/tensor_view.hpp>
#include <ohq/core/bits.hpp>
#include <ohq/core/thread_pool.hpp>

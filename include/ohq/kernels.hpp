// SPDX-License-Identifier: MIT
/// @file The entry header of kernels/ (integer part): the W8A8 GEMM kernels of every arch the
/// including TU is compiled for plus scalar, and run-time arch dispatch. docs/kernels.md.
///
/// The arch headers are empty unless the TU is compiled for their instruction set, so this header
/// is safe (and intrinsic-free) in a baseline build; see cmake/OhqKernels.cmake for multi-arch binaries.
#pragma once

#include <ohq/config.hpp>
#include <ohq/kernels/w8a8_types.hpp>
#include <ohq/kernels/scalar/gemm_w8a8.hpp>
#include <ohq/kernels/avx2/gemm_w8a8.hpp>
#include <ohq/kernels/avx512/gemm_w8a8.hpp>
#include <ohq/kernels/dispatch.hpp>
#include <ohq/kernels/gemm_w8a8.hpp>
#include <ohq/kernels/gemm.hpp>
#include <ohq/kernels/pack_lut.hpp>
#include <ohq/kernels/winograd.hpp>

// SPDX-License-Identifier: MIT
/// @file The entry header of quant/: number formats, requantization, lookup tables, packing,
/// the scalar integer reference operations, calibration and GPTQ-style rounding.
///
/// Depends on core/ and Eigen only. Formulas and design choices: docs/quantization.md.
#pragma once

#include <ohq/config.hpp>
#include <ohq/quant/format.hpp>
#include <ohq/quant/weights.hpp>
#include <ohq/quant/requantize.hpp>
#include <ohq/quant/lut.hpp>
#include <ohq/quant/packing.hpp>
#include <ohq/quant/reference.hpp>
#include <ohq/quant/histogram.hpp>
#include <ohq/quant/calibrate.hpp>
#include <ohq/quant/gptq.hpp>

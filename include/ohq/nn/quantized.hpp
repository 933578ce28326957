// SPDX-License-Identifier: MIT
/// @file Includes quantization of whole networks: lowering to a quant_graph, the calibration
/// pass, the integer reference engine with its fake-quant twin, and the kernel engine (the same
/// integer results through the dispatched SIMD kernels).
#pragma once

#include <ohq/nn/quantized/graph.hpp>
#include <ohq/nn/quantized/calibration.hpp>
#include <ohq/nn/quantized/engine.hpp>
#include <ohq/nn/quantized/kernel_engine.hpp>

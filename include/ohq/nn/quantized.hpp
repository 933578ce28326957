// SPDX-License-Identifier: MIT
/// @file Includes quantization of whole networks: lowering to a quant_graph, the calibration
/// pass, and the integer reference engine with its fake-quant twin.
#pragma once

#include <ohq/nn/quantized/graph.hpp>
#include <ohq/nn/quantized/calibration.hpp>
#include <ohq/nn/quantized/engine.hpp>

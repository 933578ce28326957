// SPDX-License-Identifier: MIT
/// @file Includes the ONNX reader: the model structs, the decoder/validator and the graph helpers.
#pragma once

#include <ohq/io/onnx/graph.hpp>
#include <ohq/io/onnx/model.hpp>
#include <ohq/io/onnx/reader.hpp>

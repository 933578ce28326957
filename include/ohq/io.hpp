// SPDX-License-Identifier: MIT
/// @file The entry header of io/: file readers (protobuf, ONNX, IDX), ONNX import onto network types, code generation.
#pragma once

#include <ohq/io/file.hpp>
#include <ohq/io/idx.hpp>
#include <ohq/io/onnx.hpp>
#include <ohq/io/protobuf.hpp>
#include <ohq/io/onnx/import.hpp>
#include <ohq/io/onnx/bind.hpp>
#include <ohq/io/codegen.hpp>

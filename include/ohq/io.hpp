// SPDX-License-Identifier: MIT
/// @file Includes ohq's file readers: the protobuf wire decoder, the ONNX model reader and the IDX reader.
#pragma once

#include <ohq/io/file.hpp>
#include <ohq/io/idx.hpp>
#include <ohq/io/onnx.hpp>
#include <ohq/io/protobuf.hpp>

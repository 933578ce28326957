// SPDX-License-Identifier: MIT
/// @file The entry header of nn/: compile-time typed layers, combinators and `ohq::network`.
#pragma once

#include <ohq/core.hpp>
#include <ohq/nn/layers/activation.hpp>
#include <ohq/nn/layers/batch_norm.hpp>
#include <ohq/nn/layers/conv2d.hpp>
#include <ohq/nn/layers/dense.hpp>
#include <ohq/nn/layers/pool.hpp>
#include <ohq/nn/layers/reshape.hpp>
#include <ohq/nn/combinators/residual.hpp>
#include <ohq/nn/combinators/sequence.hpp>
#include <ohq/nn/combinators/squeeze_excite.hpp>
#include <ohq/nn/network.hpp>
#include <ohq/nn/blocks.hpp>
#include <ohq/nn/quantized.hpp>

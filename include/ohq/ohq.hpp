// SPDX-License-Identifier: MIT
/// @file The one include of ohq: every part, in dependency order.
#pragma once

#include <ohq/config.hpp>
#include <ohq/core.hpp>
#include <ohq/quant.hpp>
#include <ohq/kernels.hpp>
#include <ohq/nn.hpp>
#include <ohq/io.hpp>
#include <ohq/solver.hpp>

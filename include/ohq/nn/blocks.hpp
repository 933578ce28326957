// SPDX-License-Identifier: MIT
/// @file Defines the standard building blocks as layer aliases: torchvision's ResNet BasicBlock
/// and MobileNetV3 InvertedResidual, each expanding to plain conv2d/batch_norm/... layers.
#pragma once

#include <ohq/nn/combinators/residual.hpp>
#include <ohq/nn/combinators/sequence.hpp>
#include <ohq/nn/combinators/squeeze_excite.hpp>
#include <ohq/nn/layers/activation.hpp>
#include <ohq/nn/layers/batch_norm.hpp>
#include <ohq/nn/layers/conv2d.hpp>

#include <cstddef>
#include <type_traits>

namespace ohq::nn {
namespace detail {

template <class... Lists>
struct concat_lists;
template <class... A>
struct concat_lists<type_list<A...>> {
  using type = type_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat_lists<type_list<A...>, type_list<B...>, Rest...> {
  using type = typename concat_lists<type_list<A..., B...>, Rest...>::type;
};

template <template <class...> class Combinator, class List>
struct apply_list;
template <template <class...> class Combinator, class... Ts>
struct apply_list<Combinator, type_list<Ts...>> {
  using type = Combinator<Ts...>;
};

}  // namespace detail

/// torchvision's ResNet BasicBlock from `In` to `Out` channels with stride `S`: two 3x3 conv +
/// batch_norm, a 1x1 projection when the shape changes, and the ReLU after the add.
template <std::size_t In, std::size_t Out, std::size_t S = 1>
using basic_block = sequential<
    std::conditional_t<(S == 1 && In == Out),
                       residual<conv2d<Out, 3, S, 1, 1, false>, batch_norm, relu, conv2d<Out, 3, 1, 1, 1, false>,
                                batch_norm>,
                       residual<shortcut<conv2d<Out, 1, S, 0, 1, false>, batch_norm>, conv2d<Out, 3, S, 1, 1, false>,
                                batch_norm, relu, conv2d<Out, 3, 1, 1, 1, false>, batch_norm>>,
    relu>;

/// torchvision's MobileNetV3 InvertedResidual (dilation 1): [1x1 expand + BN + Act] (only when
/// `Expanded != In`), KxK depthwise stride S + BN + Act, [squeeze_excite<>] when `SE`, 1x1
/// project + BN; a residual add when S == 1 and In == Out.
template <std::size_t In, std::size_t Expanded, std::size_t Out, std::size_t K, bool SE, class Act,
          std::size_t S>
struct inverted_residual {
  using expand = std::conditional_t<Expanded != In, detail::type_list<conv2d<Expanded, 1, 1, 0, 1, false>, batch_norm, Act>,
                                    detail::type_list<>>;
  using depthwise = detail::type_list<depthwise_conv2d<K, S, (K - 1) / 2, false>, batch_norm, Act>;
  using excite = std::conditional_t<SE, detail::type_list<squeeze_excite<>>, detail::type_list<>>;
  using project = detail::type_list<conv2d<Out, 1, 1, 0, 1, false>, batch_norm>;
  using layers = typename detail::concat_lists<expand, depthwise, excite, project>::type;
  using block = std::conditional_t<(S == 1 && In == Out), typename detail::apply_list<residual, layers>::type,
                                   typename detail::apply_list<sequential, layers>::type>;

  template <class InShape, class Path>
  using instance = typename block::template instance<InShape, Path>;
};

}  // namespace ohq::nn

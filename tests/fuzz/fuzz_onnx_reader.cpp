// SPDX-License-Identifier: MIT
// libFuzzer target: ONNX protobuf decoding + validation (onnx/reader.hpp) and the graph helpers
// (onnx/graph.hpp) on every model that decodes.
#include "fuzz_common.hpp"

#include <ohq/io/onnx/graph.hpp>
#include <ohq/io/onnx/reader.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ohq::io::onnx;
  using ohq::errc;
  auto m = try_read_model(ohq_fuzz::bytes(data, size));
  if (!m) {
    ohq_fuzz::check_error(m.error(), {errc::parse_error, errc::invalid_model, errc::limit_exceeded, errc::unsupported},
                          "try_read_model");
    return 0;
  }
  // A validated graph is sorted: topological_order keeps the file's order (docs/io.md).
  auto order = topological_order(m->g);
  if (!order) ohq_fuzz::finding("topological_order failed on a validated graph", order.error().message());
  for (std::size_t k = 0; k < order->size(); ++k)
    if ((*order)[k] != k) ohq_fuzz::finding("topological_order reorders a validated graph");
  const graph_index index(m->g);
  for (const node& n : m->g.nodes)
    for (const std::string& out : n.outputs)
      if (!out.empty() && index.producer(out) == graph_index::none) ohq_fuzz::finding("graph_index misses a producer");
  // Removing initializer aliases keeps the graph valid.
  model copy = *m;
  resolve_initializer_aliases(copy.g);
  if (auto s = validate(copy); !s.ok())
    ohq_fuzz::finding("resolve_initializer_aliases left an invalid graph", s.message());
  return 0;
}

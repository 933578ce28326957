// SPDX-License-Identifier: MIT
/// @file Defines graph helpers over `onnx::graph`: topological order, producer/consumer index, and
/// resolution of `Identity` nodes that alias initializers.
#pragma once

#include <cstddef>
#include <functional>
#include <ohq/core/error.hpp>
#include <ohq/io/onnx/model.hpp>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ohq::io::onnx {

/// The node indices of `g` in a topological order; among the nodes ready at a step the one first
/// in the file comes first, so a validated graph (already sorted) yields 0, 1, ..., n-1. Fails
/// with `errc::invalid_model` naming a node when an input is unknown or the graph has a cycle.
inline result<std::vector<std::size_t>> topological_order(const graph& g) {
  std::unordered_set<std::string_view> available;
  for (const auto& [name, t] : g.initializers) available.insert(name);
  for (const value_info& v : g.inputs) available.insert(v.name);
  std::unordered_map<std::string_view, std::vector<std::size_t>> waiting;  // value -> nodes reading it
  std::unordered_set<std::string_view> produced;
  for (const node& n : g.nodes) {
    for (const std::string& out : n.outputs) produced.insert(out);
  }
  std::vector<std::size_t> missing(g.nodes.size(), 0);  // distinct inputs not yet available
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    std::unordered_set<std::string_view> seen;
    for (const std::string& in : g.nodes[k].inputs) {
      if (in.empty() || available.count(in) != 0 || !seen.insert(in).second) continue;
      if (produced.count(in) == 0) {
        return make_status(errc::invalid_model, "onnx: graph.node[", k, "] '",
                           detail::printable(g.nodes[k].name), "' (", detail::printable(g.nodes[k].op_type),
                           "): input '", detail::printable(in),
                           "' is not a graph input, an initializer, or the output of any node");
      }
      waiting[in].push_back(k);
      ++missing[k];
    }
    if (missing[k] == 0) ready.push(k);
  }
  std::vector<std::size_t> order;
  order.reserve(g.nodes.size());
  while (!ready.empty()) {
    const std::size_t k = ready.top();
    ready.pop();
    order.push_back(k);
    for (const std::string& out : g.nodes[k].outputs) {
      if (out.empty() || !available.insert(out).second) continue;
      auto it = waiting.find(out);
      if (it == waiting.end()) continue;
      for (std::size_t j : it->second) {
        if (--missing[j] == 0) ready.push(j);
      }
    }
  }
  if (order.size() != g.nodes.size()) {
    for (std::size_t k = 0; k < g.nodes.size(); ++k) {
      if (missing[k] != 0) {
        return make_status(errc::invalid_model, "onnx: graph.node[", k, "] '",
                           detail::printable(g.nodes[k].name), "' (", detail::printable(g.nodes[k].op_type),
                           ") is on a cycle or depends on one");
      }
    }
  }
  return order;
}

/// Rewires `Identity` nodes whose input is an initializer (directly or through a chain of such
/// Identities): every node input naming such an Identity's output is renamed to the initializer,
/// and the Identity is removed unless its output is a graph output. The torch 1.13 exporter routes
/// identical folded biases through such nodes. Returns the number of nodes removed. The graph stays
/// valid and topologically ordered; node indices after the first removed node shift.
inline std::size_t resolve_initializer_aliases(graph& g) {
  std::unordered_map<std::string, std::string> alias;  // Identity output -> initializer name
  std::unordered_set<std::string_view> graph_outputs;
  for (const value_info& v : g.outputs) graph_outputs.insert(v.name);
  std::vector<bool> remove(g.nodes.size(), false);
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    node& n = g.nodes[k];
    for (std::string& in : n.inputs) {
      auto it = alias.find(in);
      if (it != alias.end()) in = it->second;
    }
    if (n.op_type != "Identity" || !(n.domain.empty() || n.domain == "ai.onnx") || n.inputs.size() != 1 ||
        n.outputs.size() != 1 || n.outputs[0].empty()) {
      continue;
    }
    if (g.initializers.count(n.inputs[0]) == 0) continue;
    alias.emplace(n.outputs[0], n.inputs[0]);
    remove[k] = graph_outputs.count(n.outputs[0]) == 0;
  }
  std::size_t kept = 0;
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    if (remove[k]) continue;
    if (kept != k) g.nodes[kept] = std::move(g.nodes[k]);
    ++kept;
  }
  const std::size_t removed = g.nodes.size() - kept;
  g.nodes.resize(kept);
  return removed;
}

/// Who produces and who reads each value of a graph. Holds views into `g`: the graph must outlive
/// the index and must not be modified while it is used.
class graph_index {
 public:
  /// Sentinel for "no producing node" (graph inputs, initializers, unknown names).
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  explicit graph_index(const graph& g) {
    for (std::size_t k = 0; k < g.nodes.size(); ++k) {
      for (const std::string& out : g.nodes[k].outputs) {
        if (!out.empty()) producer_.emplace(out, k);
      }
      for (const std::string& in : g.nodes[k].inputs) {
        if (in.empty()) continue;
        std::vector<std::size_t>& users = consumers_[in];
        if (users.empty() || users.back() != k) users.push_back(k);
      }
    }
  }

  /// Index of the node whose output is `value`, or `none`.
  [[nodiscard]] std::size_t producer(std::string_view value) const {
    auto it = producer_.find(value);
    return it == producer_.end() ? none : it->second;
  }

  /// Indices of the nodes reading `value` (each once, in graph order).
  [[nodiscard]] std::span<const std::size_t> consumers(std::string_view value) const {
    auto it = consumers_.find(value);
    if (it == consumers_.end()) return {};
    return it->second;
  }

 private:
  std::unordered_map<std::string_view, std::size_t> producer_;
  std::unordered_map<std::string_view, std::vector<std::size_t>> consumers_;
};

}  // namespace ohq::io::onnx

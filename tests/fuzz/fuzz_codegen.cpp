// SPDX-License-Identifier: MIT
// libFuzzer target: ohq-codegen's path, ONNX bytes -> import -> generate_model_header. Names come
// from the file, so the header must not let them change its structure: names are replaced by "x"
// and the header generated again must have the same lines, and no comment may end in a backslash
// (which would splice the next line into it).
#include "fuzz_common.hpp"

#include <ohq/io/codegen.hpp>
#include <ohq/io/onnx/import.hpp>
#include <ohq/io/onnx/reader.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

void rename(std::vector<ohq::io::onnx::imported_layer>& layers) {
  for (auto& l : layers) {
    l.node = "x";
    rename(l.body);
    rename(l.shortcut);
  }
}

std::size_t weights(const std::vector<ohq::io::onnx::imported_layer>& layers) {
  std::size_t n = 0;
  for (const auto& l : layers) n += l.weight.size() + l.bias.size() + 4 * l.gamma.size() + weights(l.body) + weights(l.shortcut);
  return n;
}

void check_text(const std::string& header) {
  for (std::size_t k = 0; k < header.size(); ++k) {
    const auto c = static_cast<unsigned char>(header[k]);
    if (c == '\n') {
      if (k > 0 && header[k - 1] == '\\') ohq_fuzz::finding("codegen: a line ends in a backslash");
      continue;
    }
    if (c < 0x20 || c >= 0x7F) ohq_fuzz::finding("codegen: the header holds a control or non-ASCII byte");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ohq::io;
  auto m = onnx::try_read_model(ohq_fuzz::bytes(data, size));
  if (!m) return 0;
  auto imported = onnx::try_import_layers(m->g);
  if (!imported) return 0;
  codegen_options options;
  options.name = "fuzzed";
  options.source = "fuzzed.onnx";
  options.embed_weights = weights(imported->layers) <= 20'000;  // big arrays only cost time
  const std::string header = generate_model_header(*imported, options);
  check_text(header);
  auto renamed = *imported;
  rename(renamed.layers);
  const std::string plain = generate_model_header(renamed, options);
  if (std::count(header.begin(), header.end(), '\n') != std::count(plain.begin(), plain.end(), '\n'))
    ohq_fuzz::finding("codegen: node names change the header's line structure");
  return 0;
}

// SPDX-License-Identifier: MIT
// The command-line program of one model, built by ohq_add_model(<target> <model.onnx>):
//   <target> describe                          the layer table of the compile-time type
//   <target> eval --images IDX --labels IDX [--limit N] [--batch N] [--model PATH]
//                                              fp32 accuracy; last line "accuracy: 0.XXXX (c/t)"
// OHQ_MODEL_HEADER (the generated header), OHQ_MODEL_NAME (its type) and, unless the weights are
// embedded, OHQ_MODEL_ONNX (the default model path) are set by ohq_add_model.
#include OHQ_MODEL_HEADER

#include <ohq/io/idx.hpp>
#include <ohq/io/onnx/bind.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#define OHQ_CONCAT_INNER(a, b) a##b
#define OHQ_CONCAT(a, b) OHQ_CONCAT_INNER(a, b)

namespace {

using model_t = ohq::models::OHQ_MODEL_NAME;
using info_t = ohq::models::OHQ_CONCAT(OHQ_MODEL_NAME, _info);
constexpr const char* program = OHQ_MODEL_PROGRAM;

int usage(const std::string& why) {
  std::cerr << program << ": " << why << "\n"
            << "usage: " << program << " describe\n"
            << "       " << program << " eval --images IDX --labels IDX [--limit N] [--batch N] [--model PATH]\n";
  return 2;
}

bool parse_count(std::string_view text, std::size_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out > 0;
}

/// The network with its weights: embedded in the program, or read from the ONNX file.
template <class Info>
ohq::result<std::unique_ptr<model_t>> load_model([[maybe_unused]] const std::filesystem::path& path) {
  auto net = std::make_unique<model_t>();
  if constexpr (Info::embedded_weights) {
    Info::load_embedded_weights(*net);
  } else {
    auto model = ohq::io::onnx::try_load_model(path);
    if (!model) return model.error();
    auto imported = ohq::io::onnx::try_import_layers(model->g);
    if (!imported) return ohq::status(imported.error().code(), path.string() + ": " + imported.error().message());
    if (auto s = ohq::try_bind_onnx(*net, *imported); !s.ok())
      return ohq::status(s.code(), path.string() + ": " + s.message());
  }
  return net;
}

int eval(int argc, char** argv) {
  std::filesystem::path images_path, labels_path;
  std::filesystem::path model_path = OHQ_MODEL_ONNX;
  std::size_t limit = static_cast<std::size_t>(-1), batch = 100;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--images" && has_value) {
      images_path = argv[++i];
    } else if (arg == "--labels" && has_value) {
      labels_path = argv[++i];
    } else if (arg == "--model" && has_value) {
      model_path = argv[++i];
    } else if (arg == "--limit" && has_value) {
      if (!parse_count(argv[++i], limit)) return usage("--limit needs a positive count");
    } else if (arg == "--batch" && has_value) {
      if (!parse_count(argv[++i], batch) || batch > 4096) return usage("--batch needs a count from 1 to 4096");
    } else {
      return usage("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (images_path.empty() || labels_path.empty()) return usage("eval needs --images and --labels");

  using in_t = model_t::input_shape_t;
  if (in_t::dims[0] != 1) {
    std::cerr << program << ": IDX files hold grayscale images; this model takes " << in_t::dims[0] << " channels\n";
    return 1;
  }
  ohq::io::idx_options options;
  options.limit = limit;
  auto images = ohq::io::try_load_idx_images(images_path, options);
  if (!images) {
    std::cerr << program << ": " << images.error().what() << "\n";
    return 1;
  }
  auto labels = ohq::io::try_load_idx_labels(labels_path, options);
  if (!labels) {
    std::cerr << program << ": " << labels.error().what() << "\n";
    return 1;
  }
  if (images->rows != in_t::dims[1] || images->cols != in_t::dims[2]) {
    std::cerr << program << ": " << images_path.string() << " holds " << images->rows << "x" << images->cols
              << " images; the model takes " << in_t::dims[1] << "x" << in_t::dims[2] << "\n";
    return 1;
  }
  if (labels->count() != images->count) {
    std::cerr << program << ": " << images->count << " images but " << labels->count() << " labels\n";
    return 1;
  }
  for (auto label : labels->labels)
    if (label >= model_t::output_shape_t::size) {
      std::cerr << program << ": label " << int(label) << " is out of range for " << model_t::output_shape_t::size
                << " classes\n";
      return 1;
    }
  auto net = load_model<info_t>(model_path);
  if (!net) {
    std::cerr << program << ": " << net.error().what() << "\n";
    return 1;
  }
  model_t& model = **net;
  const float mean = info_t::mean[0], inv_std = 1.0f / info_t::stddev[0];
  constexpr std::size_t classes = model_t::output_shape_t::size;
  model.reserve(std::min(batch, images->count));
  std::vector<float> x(batch * in_t::size);
  std::size_t correct = 0;
  for (std::size_t start = 0; start < images->count; start += batch) {
    const std::size_t n = std::min(batch, images->count - start);
    for (std::size_t i = 0; i < n * in_t::size; ++i)
      x[i] = (float(images->pixels[start * in_t::size + i]) / 255.0f - mean) * inv_std;
    const float* logits = model.forward(x.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = logits + i * classes;
      const auto predicted = static_cast<std::size_t>(std::max_element(row, row + classes) - row);
      correct += predicted == labels->labels[start + i];
    }
  }
  std::cout << "model: " << info_t::source << (info_t::embedded_weights ? " (embedded weights)" : "") << ", fp32\n";
  if (info_t::fp32_test_accuracy >= 0) std::cout << "accuracy at export: " << info_t::fp32_test_accuracy << "\n";
  char line[96];
  std::snprintf(line, sizeof line, "accuracy: %.4f (%zu/%zu)", double(correct) / double(images->count), correct,
                images->count);
  std::cout << line << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("no command given");
  const std::string_view command = argv[1];
  if (command == "describe") {
    model_t::print_layer_table(std::cout);
    return 0;
  }
  if (command == "eval") return eval(argc - 2, argv + 2);
  if (command == "-h" || command == "--help") {
    usage("runs " + std::string(info_t::source));
    return 0;
  }
  return usage("unknown command '" + std::string(command) + "'");
}

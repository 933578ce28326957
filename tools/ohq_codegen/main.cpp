// SPDX-License-Identifier: MIT
// ohq-codegen model.onnx -o model.hpp [--name NAME] [--embed-weights] [--sidecar model.json]
// Writes a header with the compile-time network type of an ONNX model (and optionally its
// weights). The input normalisation comes from the export sidecar (model.json beside the model).
#include <ohq/io/codegen.hpp>
#include <ohq/io/onnx/import.hpp>
#include <ohq/io/onnx/reader.hpp>
#include <ohq/solver/json.hpp>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {

int usage(const char* why) {
  std::cerr << "ohq-codegen: " << why << "\n"
            << "usage: ohq-codegen MODEL.onnx -o OUT.hpp [--name NAME] [--embed-weights] [--sidecar MODEL.json]\n";
  return 2;
}

bool valid_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

/// Reads mean/std and the fp32 accuracy from the sidecar; false with a message on a bad file.
bool read_sidecar(const std::filesystem::path& path, ohq::io::codegen_options& options, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path.string();
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = ohq::solver::parse_json(text.str());
  if (!doc.ok()) {
    error = path.string() + ": " + doc.error;
    return false;
  }
  auto numbers = [&](const ohq::solver::json_value* v, std::vector<float>& out, const char* what) {
    if (!v || !v->is_array() || v->items.empty() || v->items.size() > 16) {
      error = path.string() + ": normalization." + what + " must be an array of 1 to 16 numbers";
      return false;
    }
    out.clear();
    for (const auto& item : v->items) {
      if (!item.is_number()) {
        error = path.string() + ": normalization." + what + " must hold numbers";
        return false;
      }
      out.push_back(static_cast<float>(item.number));
    }
    return true;
  };
  const auto* norm = doc.value->find("normalization");
  if (!norm || !norm->is_object()) {
    error = path.string() + ": no \"normalization\" object";
    return false;
  }
  if (!numbers(norm->find("mean"), options.mean, "mean") || !numbers(norm->find("std"), options.stddev, "std"))
    return false;
  for (float s : options.stddev)
    if (!(s > 0.0f)) {
      error = path.string() + ": normalization.std must be positive";
      return false;
    }
  if (const auto* acc = doc.value->find("fp32_test_accuracy"); acc && acc->is_number())
    options.fp32_test_accuracy = acc->number;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path model, output, sidecar;
  ohq::io::codegen_options options;
  bool named = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (arg == "-o" || arg == "--output") {
      const char* v = value("-o");
      if (!v) return usage("-o needs a file name");
      output = v;
    } else if (arg == "--name") {
      const char* v = value("--name");
      if (!v) return usage("--name needs an identifier");
      options.name = v;
      named = true;
    } else if (arg == "--sidecar") {
      const char* v = value("--sidecar");
      if (!v) return usage("--sidecar needs a file name");
      sidecar = v;
    } else if (arg == "--embed-weights") {
      options.embed_weights = true;
    } else if (arg == "-h" || arg == "--help") {
      usage("writes the compile-time network type of an ONNX model");
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage(("unknown option " + arg).c_str());
    } else if (model.empty()) {
      model = arg;
    } else {
      return usage("more than one model given");
    }
  }
  if (model.empty()) return usage("no model given");
  if (output.empty()) return usage("no output given (-o OUT.hpp)");
  if (!named) {
    options.name = model.stem().string();
    for (char& c : options.name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  if (!valid_identifier(options.name)) return usage(("'" + options.name + "' is not a C++ identifier").c_str());
  options.source = model.filename().string();

  auto onnx = ohq::io::onnx::try_load_model(model);
  if (!onnx) {
    std::cerr << "ohq-codegen: " << onnx.error().what() << "\n";
    return 1;
  }
  auto imported = ohq::io::onnx::try_import_layers(onnx->g);
  if (!imported) {
    std::cerr << "ohq-codegen: " << model.string() << ": " << imported.error().what() << "\n";
    return 1;
  }
  if (sidecar.empty()) {
    auto guess = model;
    guess.replace_extension(".json");
    if (std::filesystem::exists(guess)) sidecar = guess;
  }
  if (!sidecar.empty()) {
    std::string error;
    if (!read_sidecar(sidecar, options, error)) {
      std::cerr << "ohq-codegen: " << error << "\n";
      return 1;
    }
  } else {
    std::cerr << "ohq-codegen: warning: no sidecar " << model.stem().string()
              << ".json beside the model; inputs will be pixel / 255 (mean 0, std 1)\n";
  }

  if (options.mean.size() != 1 && options.mean.size() != imported->input_shape[0]) {
    std::cerr << "ohq-codegen: the sidecar has " << options.mean.size() << " means for " << imported->input_shape[0]
              << " input channels\n";
    return 1;
  }
  const std::string text = ohq::io::generate_model_header(*imported, options);
  std::ofstream out(output, std::ios::binary);
  if (!out || !(out << text) || !out.flush()) {
    std::cerr << "ohq-codegen: cannot write " << output.string() << "\n";
    return 1;
  }
  return 0;
}

// SPDX-License-Identifier: MIT
/// @file Defines `ohq::io::generate_model_header`: C++ source for the compile-time network type of an
/// imported ONNX graph, optionally with its weights embedded (for apps that read no file at run time).
#pragma once

#include <ohq/io/onnx/import.hpp>

#include <cstddef>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace ohq::io {

/// What goes into a generated model header besides the type.
struct codegen_options {
  std::string name = "model";              ///< C++ identifier of the network type
  std::string source = "model.onnx";       ///< shown in the banner
  bool embed_weights = false;              ///< also emit the weights and `load_embedded_weights`
  std::vector<float> mean{0.0f}, stddev{1.0f};  ///< input normalisation: x = (pixel / 255 - mean) / std
  double fp32_test_accuracy = -1.0;        ///< from the export sidecar, when known
};

namespace detail {

inline std::string spell_float(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a floating literal
  return s + "f";
}

/// Text from a file for a `//` comment of the generated code: printable ASCII without backslashes
/// (a newline would end the comment, a trailing backslash would splice the next line into it).
inline std::string comment_text(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7F && c != '\\') ? c : '?';
  }
  return out;
}

/// `s` as the body of a C++ string literal (quotes, backslashes and other bytes escaped).
inline std::string string_literal_body(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7F) {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
      out += "\"\"";  // ends the escape: "\x41" "b" is not "\x41b"
    } else {
      out += c;
    }
  }
  return out;
}

inline const char* activation_type(onnx::layer_op op) {
  switch (op) {
    case onnx::layer_op::relu: return "relu";
    case onnx::layer_op::relu6: return "relu6";
    case onnx::layer_op::hardswish: return "hardswish";
    case onnx::layer_op::hardsigmoid: return "hardsigmoid";
    case onnx::layer_op::sigmoid: return "sigmoid";
    default: return nullptr;
  }
}

/// The layer spec of one imported layer, e.g. "conv2d<16, 3, 1, 1, 1, true>".
inline std::string layer_spec(const onnx::imported_layer& l, int indent);

inline std::string layer_list(const std::vector<onnx::imported_layer>& layers, int indent) {
  std::string out;
  const std::string pad(std::size_t(indent), ' ');
  for (std::size_t i = 0; i < layers.size(); ++i) {
    out += pad + layer_spec(layers[i], indent);
    if (i + 1 < layers.size()) out += ",";
    out += "  // " + comment_text(layers[i].node) + "\n";
  }
  return out;
}

inline std::string layer_spec(const onnx::imported_layer& l, int indent) {
  using onnx::layer_op;
  const auto n = [](std::size_t v) { return std::to_string(v); };
  switch (l.op) {
    case layer_op::conv2d:
      return "conv2d<" + n(l.out) + ", " + n(l.kernel) + ", " + n(l.stride) + ", " + n(l.padding) + ", " + n(l.groups) +
             (l.has_bias ? ", true>" : ", false>");
    case layer_op::dense: return "dense<" + n(l.out) + (l.has_bias ? ", true>" : ", false>");
    case layer_op::batch_norm: return "batch_norm";
    case layer_op::max_pool: return "max_pool<" + n(l.kernel) + ", " + n(l.stride) + ", " + n(l.padding) + ">";
    case layer_op::avg_pool:
      return "avg_pool<" + n(l.kernel) + ", " + n(l.stride) + ", " + n(l.padding) +
             (l.count_include_pad ? ", true>" : ", false>");
    case layer_op::global_avg_pool: return "global_avg_pool";
    case layer_op::flatten: return "flatten";
    case layer_op::softmax: return "softmax";
    case layer_op::squeeze_excite:
      return "squeeze_excite<" + n(l.body[0].out) + ", " + activation_type(l.body[1].op) + ", " +
             activation_type(l.body[3].op) + ">";
    case layer_op::residual: {
      const std::string pad(std::size_t(indent + 4), ' ');
      std::string out = "residual<\n";
      if (!l.shortcut.empty()) out += pad + "shortcut<\n" + layer_list(l.shortcut, indent + 8) + pad + ">,\n";
      return out + layer_list(l.body, indent + 4) + std::string(std::size_t(indent), ' ') + ">";
    }
    default: return activation_type(l.op);
  }
}

/// Appends the parameter arrays of `layers` in the order `for_each_layer`/`for_each_parameter`
/// visit them (residual: body then shortcut; squeeze-excite: squeeze then excite).
inline void collect_parameters(const std::vector<onnx::imported_layer>& layers,
                               std::vector<const std::vector<float>*>& params, std::vector<float>& epsilons) {
  using onnx::layer_op;
  for (const auto& l : layers) {
    switch (l.op) {
      case layer_op::conv2d:
      case layer_op::dense:
        params.push_back(&l.weight);
        if (l.has_bias) params.push_back(&l.bias);
        break;
      case layer_op::batch_norm:
        params.insert(params.end(), {&l.gamma, &l.beta, &l.mean, &l.var});
        epsilons.push_back(l.epsilon);
        break;
      case layer_op::residual:
        collect_parameters(l.body, params, epsilons);
        collect_parameters(l.shortcut, params, epsilons);
        break;
      case layer_op::squeeze_excite:
        for (const auto* fc : {&l.body[0], &l.body[2]}) {
          params.push_back(&fc->weight);
          params.push_back(&fc->bias);
        }
        break;
      default: break;
    }
  }
}

inline std::string float_array(const std::vector<float>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += (i % 8 == 0) ? ",\n    " : ", ";
    out += spell_float(values[i]);
  }
  return out + "}";
}

}  // namespace detail

/// The header text: `using <name> = ohq::network<...>;`, a `<name>_info` struct with the input
/// normalisation, and with `embed_weights` the weights plus `load_embedded_weights(<name>&)`.
inline std::string generate_model_header(const onnx::imported_network& net, const codegen_options& options) {
  std::ostringstream out;
  const std::string& name = options.name;
  out << "// Generated by ohq-codegen from " << detail::comment_text(options.source) << ": DO NOT EDIT.\n"
      << "// SPDX-License-Identifier: MIT\n#pragma once\n\n#include <ohq/nn.hpp>\n\n"
      << "#include <algorithm>\n#include <array>\n#include <cstddef>\n#include <span>\n#include <string_view>\n\n"
      << "namespace ohq::models {\n\nusing namespace ohq::nn;\n\n// clang-format off\nusing " << name
      << " = ohq::network<ohq::shape<" << net.input_shape[0] << ", " << net.input_shape[1] << ", "
      << net.input_shape[2] << ">,\n"
      << detail::layer_list(net.layers, 4) << ">;\n// clang-format on\n\n";
  out << "/// Facts about " << name << " that the type does not carry.\nstruct " << name << "_info {\n"
      << "  static constexpr std::string_view source = \"" << detail::string_literal_body(options.source) << "\";\n"
      << "  /// Input normalisation: x = (pixel / 255 - mean[c]) / std[c].\n"
      << "  static constexpr std::array<float, " << options.mean.size() << "> mean" << detail::float_array(options.mean)
      << ";\n  static constexpr std::array<float, " << options.stddev.size() << "> stddev"
      << detail::float_array(options.stddev) << ";\n"
      << "  /// fp32 accuracy on the 10,000 test images, measured at export (negative: unknown).\n"
      << "  static constexpr double fp32_test_accuracy = " << options.fp32_test_accuracy << ";\n"
      << "  static constexpr bool embedded_weights = " << (options.embed_weights ? "true" : "false") << ";\n";
  if (options.embed_weights)
    out << "  /// Fills a network with the weights compiled into this header (defined below).\n"
        << "  static void load_embedded_weights(" << name << "& net);\n";
  out << "};\n";
  if (options.embed_weights) {
    std::vector<const std::vector<float>*> params;
    std::vector<float> epsilons;
    detail::collect_parameters(net.layers, params, epsilons);
    out << "\nnamespace " << name << "_weights {\n";
    for (std::size_t i = 0; i < params.size(); ++i)
      out << "inline constexpr float p" << i << "[" << std::max<std::size_t>(params[i]->size(), 1) << "] = "
          << detail::float_array(*params[i]) << ";\n";
    out << "inline constexpr const float* all[] = {";
    for (std::size_t i = 0; i < params.size(); ++i) out << (i ? ", " : "") << "p" << i;
    out << "};\ninline constexpr std::size_t sizes[] = {";
    for (std::size_t i = 0; i < params.size(); ++i) out << (i ? ", " : "") << params[i]->size();
    out << "};\ninline constexpr float batch_norm_epsilons[] = {";
    for (std::size_t i = 0; i < epsilons.size(); ++i) out << (i ? ", " : "") << detail::spell_float(epsilons[i]);
    if (epsilons.empty()) out << "0.0f";
    out << "};\n}  // namespace " << name << "_weights\n\n"
        << "/// Fills `net` with the embedded weights and folds its batch norms: no file needed.\n"
        << "inline void load_embedded_weights(" << name << "& net) {\n"
        << "  std::size_t param = 0, norm = 0;\n"
        << "  net.for_each_layer([&](auto& layer) {\n"
        << "    layer.for_each_parameter([&](std::string_view, std::span<float> dst) {\n"
        << "      std::copy_n(" << name << "_weights::all[param], " << name << "_weights::sizes[param], dst.data());\n"
        << "      ++param;\n    });\n"
        << "    if constexpr (requires { layer.epsilon(); }) layer.epsilon() = " << name
        << "_weights::batch_norm_epsilons[norm++];\n"
        << "  });\n  net.fold_batch_norms();\n}\n"
        << "inline void " << name << "_info::load_embedded_weights(" << name << "& net) { ohq::models::load_embedded_weights(net); }\n";
  }
  out << "\n}  // namespace ohq::models\n";
  return out.str();
}

}  // namespace ohq::io

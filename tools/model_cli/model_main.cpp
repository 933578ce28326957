// SPDX-License-Identifier: MIT
// The command-line program of one model, built by ohq_add_model(<target> <model.onnx>):
//   <target> describe                          the layer table of the compile-time type
//   <target> eval --images IDX --labels IDX [--limit N] [--batch N] [--model PATH] [--quant wBaA8 ...]
//                                              fp32 or quantized accuracy; last line "accuracy: 0.XXXX (c/t)"
//   <target> quant-table --images IDX --labels IDX [--calib-images IDX] ...
//                                              accuracy of every (bits, calibration, rounding)
//   <target> bench [--quant fp32|wBa8] [--engine kernels|integer] [--threads N] [--repeats R] ...
//                                              end-to-end batch-1 latency (median, min, p10-p90)
// OHQ_MODEL_HEADER (the generated header), OHQ_MODEL_NAME (its type) and, unless the weights are
// embedded, OHQ_MODEL_ONNX (the default model path) are set by ohq_add_model.
#include OHQ_MODEL_HEADER

#include <ohq/core/thread_pool.hpp>
#include <ohq/io/idx.hpp>
#include <ohq/io/onnx/bind.hpp>
#include <ohq/nn/quantized.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <random>
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
            << "       " << program << " eval --images IDX --labels IDX [--limit N] [--batch N] [--model PATH]\n"
            << "              [--quant fp32|wBaA8] [--calib-images IDX] [--calib-count N]\n"
            << "              [--calibration minmax|percentile|mse|entropy] [--rounding nearest|gptq]\n"
            << "              [--bias-correction] [--engine integer|fake]\n"
            << "       " << program << " quant-table --images IDX --labels IDX [--calib-images IDX] [--calib-count N]\n"
            << "              [--limit N] [--bits 8,4,3,2] [--calibrations LIST] [--roundings nearest,gptq,nearest+bc,...]\n"
            << "              [--engine integer|fake|both] [--model PATH]\n"
            << "       " << program << " bench [--quant fp32|wBa8] [--engine kernels|integer] [--threads N]\n"
            << "              [--repeats R] [--warmup W] [--calib-images IDX] [--calib-count N] [--model PATH]\n"
            << "  --quant wBaA8 quantizes every weight to B bits (1..8) and every activation to 8 bits and runs\n"
            << "  the integer reference engine; calibration uses the first --calib-count (256) images of\n"
            << "  --calib-images (default: the --images file).\n"
            << "  bench times batch-1 inference end to end (input floats to dequantized logits) R (50) times\n"
            << "  after W (10) warm-up runs and prints the median, min and p10-p90 spread. --quant wBa8\n"
            << "  (default w8a8) runs the kernel engine (dispatched SIMD kernels; --engine integer: the\n"
            << "  reference loops), calibrated on --calib-count (256) images of --calib-images, or on 8\n"
            << "  synthetic inputs without a file; --quant fp32 times the float forward pass.\n";
  return 2;
}

bool parse_count(std::string_view text, std::size_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out > 0;
}

/// "w4a8" -> 4; 0 when malformed (activations are 8-bit only).
unsigned parse_quant_spec(std::string_view text) {
  if (text.size() < 4 || (text[0] != 'w' && text[0] != 'W')) return 0;
  const std::size_t a = text.find_first_of("aA");
  if (a == std::string_view::npos || text.substr(a + 1) != "8") return 0;
  std::size_t bits = 0;
  if (!parse_count(text.substr(1, a - 1), bits) || bits > 8) return 0;
  return unsigned(bits);
}

/// Splits "a,b,c".
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    out.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
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

using in_t = model_t::input_shape_t;
constexpr std::size_t classes = model_t::output_shape_t::size;

/// Images normalised as the model was trained, [count][input], and their labels.
struct dataset {
  std::vector<float> x;
  std::vector<std::uint8_t> labels;
  std::size_t count = 0;
};

ohq::result<std::vector<float>> load_images(const std::filesystem::path& path, std::size_t limit) {
  if (in_t::dims[0] != 1)
    return ohq::make_status(ohq::errc::unsupported, "IDX files hold grayscale images; this model takes ", in_t::dims[0],
                            " channels");
  ohq::io::idx_options options;
  options.limit = limit;
  auto images = ohq::io::try_load_idx_images(path, options);
  if (!images) return images.error();
  if (images->rows != in_t::dims[1] || images->cols != in_t::dims[2])
    return ohq::make_status(ohq::errc::shape_mismatch, path.string(), " holds ", images->rows, "x", images->cols,
                            " images; the model takes ", in_t::dims[1], "x", in_t::dims[2]);
  const float mean = info_t::mean[0], inv_std = 1.0f / info_t::stddev[0];
  std::vector<float> x(images->count * in_t::size);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (float(images->pixels[i]) / 255.0f - mean) * inv_std;
  return x;
}

ohq::result<dataset> load_dataset(const std::filesystem::path& images_path, const std::filesystem::path& labels_path,
                                  std::size_t limit) {
  dataset d;
  auto x = load_images(images_path, limit);
  if (!x) return x.error();
  d.x = std::move(*x);
  d.count = d.x.size() / in_t::size;
  ohq::io::idx_options options;
  options.limit = limit;
  auto labels = ohq::io::try_load_idx_labels(labels_path, options);
  if (!labels) return labels.error();
  if (labels->count() != d.count)
    return ohq::make_status(ohq::errc::shape_mismatch, d.count, " images but ", labels->count(), " labels");
  for (auto label : labels->labels)
    if (label >= classes)
      return ohq::make_status(ohq::errc::invalid_argument, "label ", int(label), " is out of range for ", classes,
                              " classes");
  d.labels = std::move(labels->labels);
  return d;
}

/// Top-1 class of run(x, n) -> logits [n][classes] for every image of the dataset.
template <class Run>
std::vector<std::uint8_t> predict(const dataset& d, std::size_t batch, Run&& run) {
  std::vector<std::uint8_t> out(d.count);
  for (std::size_t start = 0; start < d.count; start += batch) {
    const std::size_t n = std::min(batch, d.count - start);
    const float* logits = run(d.x.data() + start * in_t::size, n);
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = logits + i * classes;
      out[start + i] = static_cast<std::uint8_t>(std::max_element(row, row + classes) - row);
    }
  }
  return out;
}

std::size_t count_correct(const dataset& d, const std::vector<std::uint8_t>& predicted) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < d.count; ++i) correct += predicted[i] == d.labels[i];
  return correct;
}

void print_accuracy(std::size_t correct, std::size_t total) {
  char line[96];
  std::snprintf(line, sizeof line, "accuracy: %.4f (%zu/%zu)", double(correct) / double(total), correct, total);
  std::cout << line << std::endl;
}

/// Options shared by eval and quant-table.
struct common_options {
  std::filesystem::path images, labels, calib_images, model = OHQ_MODEL_ONNX;
  std::size_t limit = static_cast<std::size_t>(-1), batch = 100, calib_count = 256;
  bool integer_engine = true;
  bool both_engines = false;  ///< quant-table: run both and count argmax disagreements
};

/// Parses one shared option at argv[i]; returns 1 if consumed, 0 if not shared, -1 on a bad value.
int parse_common(int argc, char** argv, int& i, common_options& o, std::string& why) {
  const std::string_view arg = argv[i];
  const bool has_value = i + 1 < argc;
  if (!has_value) return 0;
  if (arg == "--images") o.images = argv[++i];
  else if (arg == "--labels") o.labels = argv[++i];
  else if (arg == "--model") o.model = argv[++i];
  else if (arg == "--calib-images") o.calib_images = argv[++i];
  else if (arg == "--limit") {
    if (!parse_count(argv[++i], o.limit)) return why = "--limit needs a positive count", -1;
  } else if (arg == "--batch") {
    if (!parse_count(argv[++i], o.batch) || o.batch > 4096) return why = "--batch needs a count from 1 to 4096", -1;
  } else if (arg == "--calib-count") {
    if (!parse_count(argv[++i], o.calib_count) || o.calib_count > 100000)
      return why = "--calib-count needs a count from 1 to 100000", -1;
  } else if (arg == "--engine") {
    const std::string_view e = argv[++i];
    if (e != "integer" && e != "fake" && e != "both") return why = "--engine is integer, fake or both", -1;
    o.integer_engine = e != "fake";
    o.both_engines = e == "both";
  } else {
    return 0;
  }
  return 1;
}

/// The loaded model and data of a command, or an exit code.
struct session {
  std::unique_ptr<model_t> net;
  dataset test;
  std::vector<float> calibration;  ///< [count][input]
};

int fail(const std::string& what) {
  std::cerr << program << ": " << what << "\n";
  return 1;
}

int open_session(const common_options& o, bool quantized, session& s) {
  auto test = load_dataset(o.images, o.labels, o.limit);
  if (!test) return fail(test.error().what());
  s.test = std::move(*test);
  auto net = load_model<info_t>(o.model);
  if (!net) return fail(net.error().what());
  s.net = std::move(*net);
  if (quantized) {
    const auto& path = o.calib_images.empty() ? o.images : o.calib_images;
    if (o.calib_images.empty())
      std::cerr << program << ": note: no --calib-images; calibrating on the first " << o.calib_count << " images of "
                << path.string() << "\n";
    auto x = load_images(path, o.calib_count);
    if (!x) return fail(x.error().what());
    s.calibration = std::move(*x);
  }
  return 0;
}

std::string describe_quant(unsigned bits, ohq::quant::calibration_method c, ohq::nn::weight_rounding r,
                           std::size_t calib_count, bool bias_correction, bool integer) {
  return "W" + std::to_string(bits) + "A8, calibration " + std::string(to_string(c)) + " on " +
         std::to_string(calib_count) + " images, rounding " + std::string(to_string(r)) +
         (bias_correction ? " + bias correction" : "") +
         (integer ? ", integer reference engine" : ", fake-quant (float) engine");
}

int eval(int argc, char** argv) {
  common_options o;
  unsigned bits = 0;  // 0: fp32
  ohq::nn::quantization_options q;
  for (int i = 0; i < argc; ++i) {
    std::string why;
    const int shared = parse_common(argc, argv, i, o, why);
    if (shared < 0) return usage(why);
    if (shared > 0) continue;
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--quant" && has_value) {
      const std::string_view spec = argv[++i];
      bits = spec == "fp32" ? 0 : parse_quant_spec(spec);
      if (spec != "fp32" && bits == 0) return usage("--quant is fp32 or wBa8 with B from 1 to 8 (e.g. w4a8)");
    } else if (arg == "--calibration" && has_value) {
      auto m = ohq::quant::try_parse_calibration_method(argv[++i]);
      if (!m) return usage(m.error().message());
      q.calibration = *m;
    } else if (arg == "--rounding" && has_value) {
      auto r = ohq::nn::try_parse_weight_rounding(argv[++i]);
      if (!r) return usage(r.error().message());
      q.rounding = *r;
    } else if (arg == "--bias-correction") {
      q.bias_correction = true;
    } else {
      return usage("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (o.images.empty() || o.labels.empty()) return usage("eval needs --images and --labels");
  session s;
  if (int rc = open_session(o, bits != 0, s)) return rc;
  model_t& model = *s.net;

  std::cout << "model: " << info_t::source << (info_t::embedded_weights ? " (embedded weights)" : "") << ", ";
  std::size_t correct = 0;
  if (bits == 0) {
    std::cout << "fp32\n";
    model.reserve(std::min(o.batch, s.test.count));
    correct = count_correct(s.test, predict(s.test, o.batch, [&](const float* x, std::size_t n) { return model.forward(x, n); }));
  } else {
    q.bits = bits;
    std::cout << describe_quant(bits, q.calibration, q.rounding, s.calibration.size() / in_t::size, q.bias_correction,
                                o.integer_engine)
              << "\n";
    auto graph = ohq::nn::try_lower(model);
    if (!graph) return fail(graph.error().what());
    ohq::nn::calibration_settings cs;
    cs.layer_inputs = q.needs_layer_inputs();
    auto record = ohq::nn::try_calibrate(*graph, s.calibration, s.calibration.size() / in_t::size, cs);
    if (!record) return fail(record.error().what());
    auto qnet = ohq::nn::quantized_network::try_build(*graph, *record, q);
    if (!qnet) return fail(qnet.error().what());
    correct = count_correct(s.test, predict(s.test, o.batch, [&](const float* x, std::size_t n) {
                              return (o.integer_engine ? qnet->run_integer(x, n) : qnet->run_fake_quant(x, n)).data();
                            }));
  }
  if (info_t::fp32_test_accuracy >= 0) std::cout << "fp32 accuracy at export: " << info_t::fp32_test_accuracy << "\n";
  print_accuracy(correct, s.test.count);
  return 0;
}

/// Every (bits, calibration, rounding) combination on one calibration pass; one table row each.
int quant_table(int argc, char** argv) {
  common_options o;
  std::vector<unsigned> bit_list{8, 4, 3, 2};
  std::vector<ohq::quant::calibration_method> methods{ohq::quant::calibration_method::minmax,
                                                      ohq::quant::calibration_method::percentile,
                                                      ohq::quant::calibration_method::mse,
                                                      ohq::quant::calibration_method::entropy};
  struct rounding_choice {
    ohq::nn::weight_rounding rounding;
    bool bias_correction;
  };
  std::vector<rounding_choice> roundings{{ohq::nn::weight_rounding::nearest, false},
                                         {ohq::nn::weight_rounding::gptq, false}};
  for (int i = 0; i < argc; ++i) {
    std::string why;
    const int shared = parse_common(argc, argv, i, o, why);
    if (shared < 0) return usage(why);
    if (shared > 0) continue;
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage("unknown or incomplete argument '" + std::string(arg) + "'");
    if (arg == "--bits") {
      bit_list.clear();
      for (auto item : split_list(argv[++i])) {
        std::size_t b = 0;
        if (!parse_count(item, b) || b > 8) return usage("--bits lists bit-widths from 1 to 8, e.g. 8,4,2");
        bit_list.push_back(unsigned(b));
      }
    } else if (arg == "--calibrations") {
      methods.clear();
      for (auto item : split_list(argv[++i])) {
        auto m = ohq::quant::try_parse_calibration_method(item);
        if (!m) return usage(m.error().message());
        methods.push_back(*m);
      }
    } else if (arg == "--roundings") {
      roundings.clear();
      for (auto item : split_list(argv[++i])) {  // "nearest", "gptq", "nearest+bc", "gptq+bc"
        const bool bc = item.ends_with("+bc");
        if (bc) item.remove_suffix(3);
        auto r = ohq::nn::try_parse_weight_rounding(item);
        if (!r) return usage(r.error().message() + " (a +bc suffix adds bias correction)");
        roundings.push_back({*r, bc});
      }
    } else {
      return usage("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (o.images.empty() || o.labels.empty()) return usage("quant-table needs --images and --labels");
  if (bit_list.empty() || methods.empty() || roundings.empty()) return usage("empty --bits/--calibrations/--roundings");
  session s;
  if (int rc = open_session(o, true, s)) return rc;
  model_t& model = *s.net;
  model.reserve(std::min(o.batch, s.test.count));
  const std::size_t fp32_correct =
      count_correct(s.test, predict(s.test, o.batch, [&](const float* x, std::size_t n) { return model.forward(x, n); }));
  auto graph = ohq::nn::try_lower(model);
  if (!graph) return fail(graph.error().what());
  ohq::nn::calibration_settings cs;
  for (const auto& r : roundings) cs.layer_inputs |= r.rounding == ohq::nn::weight_rounding::gptq || r.bias_correction;
  const std::size_t calib_count = s.calibration.size() / in_t::size;
  auto record = ohq::nn::try_calibrate(*graph, s.calibration, calib_count, cs);
  if (!record) return fail(record.error().what());

  std::cout << "model: " << info_t::source << "; " << s.test.count << " test images; calibration on " << calib_count
            << " images; " << (o.integer_engine ? "integer reference engine" : "fake-quant engine") << "\n";
  char line[160];
  std::snprintf(line, sizeof line, "%-6s %-11s %-10s %9s %9s", "bits", "calibration", "rounding", "accuracy", "vs fp32");
  std::cout << line << "\n";
  std::snprintf(line, sizeof line, "%-6s %-11s %-10s %9.4f %9s", "fp32", "-", "-", double(fp32_correct) / double(s.test.count), "");
  std::cout << line << std::endl;
  for (unsigned bits : bit_list)
    for (auto method : methods)
      for (const auto& [rounding, bias_correction] : roundings) {
        ohq::nn::quantization_options q;
        q.bits = bits;
        q.calibration = method;
        q.rounding = rounding;
        q.bias_correction = bias_correction;
        auto qnet = ohq::nn::quantized_network::try_build(*graph, *record, q);
        if (!qnet) return fail(qnet.error().what());
        const auto predicted = predict(s.test, o.batch, [&](const float* x, std::size_t n) {
          return (o.integer_engine ? qnet->run_integer(x, n) : qnet->run_fake_quant(x, n)).data();
        });
        const std::size_t correct = count_correct(s.test, predicted);
        const double acc = double(correct) / double(s.test.count);
        std::string agreement;
        if (o.both_engines) {
          const auto fake = predict(s.test, o.batch,
                                    [&](const float* x, std::size_t n) { return qnet->run_fake_quant(x, n).data(); });
          std::size_t differ = 0;
          for (std::size_t i = 0; i < s.test.count; ++i) differ += fake[i] != predicted[i];
          agreement = "   fake-quant argmax differs on " + std::to_string(differ);
        }
        const std::string rounding_name = std::string(to_string(rounding)) + (bias_correction ? "+bc" : "");
        std::snprintf(line, sizeof line, "W%uA8   %-11s %-10s %9.4f %+8.2f", bits, std::string(to_string(method)).c_str(),
                      rounding_name.c_str(), acc,
                      100.0 * (acc - double(fp32_correct) / double(s.test.count)));
        std::cout << line << agreement << std::endl;
      }
  return 0;
}

/// Latency statistics of one series of runs, in milliseconds.
struct latency_summary {
  double median = 0, min = 0, p10 = 0, p90 = 0;
};
latency_summary summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, std::size_t(q * double(ms.size() - 1) + 0.5))]; };
  return {at(0.5), ms.front(), at(0.1), at(0.9)};
}

/// Times `run()` `repeats` times after `warmup` runs; milliseconds per run.
template <class Run>
std::vector<double> time_runs(std::size_t warmup, std::size_t repeats, Run&& run) {
  for (std::size_t i = 0; i < warmup; ++i) run();
  std::vector<double> ms(repeats);
  for (auto& t : ms) {
    const auto start = std::chrono::steady_clock::now();
    run();
    t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  return ms;
}

/// Prints the kernel engine's time per kind of op over its profiled runs.
void print_op_split(const ohq::nn::kernel_network& kn) {
  std::map<std::string, double> per_kind;
  for (std::size_t i = 0; i < kn.op_seconds().size(); ++i) per_kind[kn.method(i)] += kn.op_seconds()[i];
  per_kind["quantize input, dequantize output"] += kn.io_seconds();
  double total = 0;
  for (const auto& entry : per_kind) total += entry.second;
  std::cout << "time per kind of op (mean of " << kn.runs() << " profiled runs):\n";
  char line[128];
  for (const auto& [kind, seconds] : per_kind) {
    std::snprintf(line, sizeof line, "  %-36s %9.3f ms %6.1f %%", kind.c_str(), 1e3 * seconds / double(kn.runs()),
                  100.0 * seconds / total);
    std::cout << line << "\n";
  }
}

/// End-to-end batch-1 latency of the fp32 forward pass, the kernel engine or the integer reference engine.
int bench(int argc, char** argv) {
  unsigned bits = 8;  // 0: fp32
  bool kernel_engine = true;
  std::size_t threads = 1, repeats = 50, warmup = 10, calib_count = 256;
  std::filesystem::path calib_images, model_path = OHQ_MODEL_ONNX;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage("unknown or incomplete argument '" + std::string(arg) + "'");
    const std::string_view value = argv[++i];
    if (arg == "--quant") {
      bits = value == "fp32" ? 0 : parse_quant_spec(value);
      if (value != "fp32" && bits == 0) return usage("--quant is fp32 or wBa8 with B from 1 to 8 (e.g. w4a8)");
    } else if (arg == "--engine") {
      if (value != "kernels" && value != "integer") return usage("bench --engine is kernels or integer");
      kernel_engine = value == "kernels";
    } else if (arg == "--threads") {
      if (!parse_count(value, threads) || threads > 256) return usage("--threads needs a count from 1 to 256");
    } else if (arg == "--repeats") {
      if (!parse_count(value, repeats) || repeats > 1000000) return usage("--repeats needs a count from 1 to 1000000");
    } else if (arg == "--warmup") {
      if (value == "0") warmup = 0;
      else if (!parse_count(value, warmup) || warmup > 1000000) return usage("--warmup needs a count from 0 to 1000000");
    } else if (arg == "--calib-images") {
      calib_images = value;
    } else if (arg == "--calib-count") {
      if (!parse_count(value, calib_count) || calib_count > 100000)
        return usage("--calib-count needs a count from 1 to 100000");
    } else if (arg == "--model") {
      model_path = value;
    } else {
      return usage("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (threads > 1 && !(bits != 0 && kernel_engine))
    return usage("--threads applies to the kernel engine only (--quant wBa8 --engine kernels)");
  auto loaded = load_model<info_t>(model_path);
  if (!loaded) return fail(loaded.error().what());
  model_t& model = **loaded;

  // calibration inputs, the first of which is the timed input: images from a file, or synthetic
  std::vector<float> calibration;
  std::string calib_note;
  if (!calib_images.empty()) {
    auto x = load_images(calib_images, calib_count);
    if (!x) return fail(x.error().what());
    calibration = std::move(*x);
    calib_note = std::to_string(calibration.size() / in_t::size) + " images of " + calib_images.string();
  } else {
    constexpr std::size_t synthetic = 8;
    calibration.resize(synthetic * in_t::size);
    std::mt19937 gen(1);
    std::normal_distribution<float> normal(0.0f, 1.0f);  // like normalised pixels
    for (float& v : calibration) v = normal(gen);
    calib_note = std::to_string(synthetic) +
                 " synthetic inputs (N(0, 1) noise: fine for timing, not for accuracy; --calib-images for real data)";
  }
  const float* input = calibration.data();

  std::cout << "model: " << info_t::source << (info_t::embedded_weights ? " (embedded weights)" : "") << "\n";
  std::vector<double> ms;
  if (bits == 0) {
    std::cout << "engine: fp32 forward, 1 thread\n";
    model.reserve(1);
    ms = time_runs(warmup, repeats, [&] { (void)model.forward(input, 1); });
  } else {
    auto graph = ohq::nn::try_lower(model);
    if (!graph) return fail(graph.error().what());
    auto record = ohq::nn::try_calibrate(*graph, calibration, calibration.size() / in_t::size);
    if (!record) return fail(record.error().what());
    ohq::nn::quantization_options q;
    q.bits = bits;
    auto qnet = ohq::nn::quantized_network::try_build(*graph, *record, q);
    if (!qnet) return fail(qnet.error().what());
    std::cout << "quantization: W" << bits << "A8, calibration minmax on " << calib_note << "\n";
    if (!kernel_engine) {
      std::cout << "engine: integer reference (scalar loops), 1 thread\n";
      ms = time_runs(warmup, repeats, [&] { (void)qnet->run_integer(input, 1); });
    } else {
      std::unique_ptr<ohq::thread_pool> pool;
      if (threads > 1) pool = std::make_unique<ohq::thread_pool>(threads);
      ohq::nn::kernel_options ko;
      ko.threads = pool.get();
      auto kn = ohq::nn::kernel_network::try_prepare(*qnet, ko);
      if (!kn) return fail(kn.error().what());
      std::cout << "engine: kernels, arch " << ohq::kernels::to_string(kn->path()) << ", " << threads
                << (threads == 1 ? " thread\n" : " threads\n");
      ms = time_runs(warmup, repeats, [&] { (void)kn->run(input, 1); });
      // the split per kind of op comes from separate runs with a clock read around every op
      ko.profile = true;
      auto profiled = ohq::nn::kernel_network::try_prepare(*qnet, ko);
      if (!profiled) return fail(profiled.error().what());
      (void)time_runs(warmup, 0, [&] { (void)profiled->run(input, 1); });
      profiled->reset_profile();
      (void)time_runs(0, repeats, [&] { (void)profiled->run(input, 1); });
      print_op_split(*profiled);
    }
  }
  const latency_summary l = summarize(ms);
  char line[200];
  std::snprintf(line, sizeof line,
                "batch-1 latency over %zu runs (%zu warm-up): median %.3f ms, min %.3f ms, p10-p90 %.3f-%.3f ms",
                repeats, warmup, l.median, l.min, l.p10, l.p90);
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
  if (command == "quant-table") return quant_table(argc - 2, argv + 2);
  if (command == "bench") return bench(argc - 2, argv + 2);
  if (command == "-h" || command == "--help") {
    usage("runs " + std::string(info_t::source));
    return 0;
  }
  return usage("unknown command '" + std::string(command) + "'");
}

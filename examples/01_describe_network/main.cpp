// SPDX-License-Identifier: MIT
// Describes the example networks (their compile-time layer tables) and runs each fp32 forward
// pass with deterministic random weights, timing it on this CPU.
#include <ohq/ohq.hpp>

#include "examples/networks/fmnist.hpp"
#include "examples/networks/mobilenet_v3.hpp"
#include "examples/networks/resnet18.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <string_view>
#include <vector>

template <class Net>
void describe_and_run(std::string_view name, int repeats) {
  std::cout << "\n== " << name << " ==\n";
  Net::print_layer_table(std::cout);

  auto net = std::make_unique<Net>();  // activations of large networks do not belong on the stack
  std::mt19937 gen(7);
  net->for_each_layer([&gen](auto& layer) {
    layer.for_each_parameter([&gen](std::string_view param, std::span<float> values) {
      // He-style scale keeps activations bounded through deep stacks.
      const float scale = param == "weight" ? std::sqrt(2.0f / float(std::max<std::size_t>(values.size() / 16, 1))) : 0.1f;
      std::normal_distribution<float> dist(0.0f, param == "running_var" ? 0.0f : scale);
      for (float& v : values) v = param == "running_var" ? 1.0f : dist(gen);
    });
  });
  net->fold_batch_norms();
  std::vector<float> x(Net::input_shape_t::size);
  std::uniform_real_distribution<float> pixel(-1.0f, 1.0f);
  for (float& v : x) v = pixel(gen);

  std::vector<double> times;
  const float* y = nullptr;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    y = net->forward(x.data(), 1);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const std::size_t classes = Net::output_shape_t::size;
  const auto top = std::max_element(y, y + classes) - y;
  std::cout << "fp32 forward, batch 1: median " << std::fixed << std::setprecision(3) << times[times.size() / 2]
            << " ms over " << repeats << " runs (" << std::setprecision(1)
            << double(Net::macs()) / (times[times.size() / 2] * 1e6) << " GMAC/s); argmax " << top << " of "
            << classes << " logits\n";
}

int main() {
  std::cout << "ohq " << OHQ_VERSION_MAJOR << '.' << OHQ_VERSION_MINOR << '.' << OHQ_VERSION_PATCH
            << " on " << ohq::describe(ohq::cpu()) << '\n';
  describe_and_run<ohq::examples::fmnist_resnet>("fmnist_resnet (small ResNet, 1x28x28)", 50);
  describe_and_run<ohq::examples::fmnist_mobilenet>("fmnist_mobilenet (small MobileNetV3, 1x28x28)", 50);
  describe_and_run<ohq::examples::fmnist_mlp>("fmnist_mlp (784-1024-1024-10)", 50);
  describe_and_run<ohq::examples::resnet18>("resnet18 (torchvision topology, 3x224x224)", 5);
  describe_and_run<ohq::examples::mobilenet_v3_small>("mobilenet_v3_small (torchvision topology)", 10);
  describe_and_run<ohq::examples::mobilenet_v3_large>("mobilenet_v3_large (torchvision topology)", 10);
  return 0;
}

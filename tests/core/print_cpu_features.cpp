// SPDX-License-Identifier: MIT
// Prints what CPU feature detection found; the test passes when detection runs.
#include <ohq/core.hpp>

#include <iostream>

int main() {
  std::cout << ohq::describe(ohq::cpu()) << '\n';
  return 0;
}

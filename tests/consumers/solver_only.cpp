// SPDX-License-Identifier: MIT
// The solver stands alone: this program sees only ohq::solver (standard library, no Eigen).
#if __has_include(<ohq/solver.hpp>)
#include <ohq/solver.hpp>
#endif
int main() { return 0; }

// SPDX-License-Identifier: MIT
// After set-up (reserve), inference allocates nothing: counted with a replaced operator new.
#include "examples/networks/fmnist.hpp"

#include "../support/random.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

namespace {
std::atomic<long> allocations{0};
}

void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  ++allocations;
  const std::size_t align = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that these free() calls pair with the malloc/aligned_alloc above.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

TEST_CASE_TEMPLATE("forward passes allocate nothing after reserve", Net, ohq::examples::fmnist_resnet,
                   ohq::examples::fmnist_mobilenet, ohq::examples::fmnist_mlp) {
  auto net = std::make_unique<Net>();
  ohq::test::randomize(*net);
  net->fold_batch_norms();
  net->reserve(8);
  const auto x = ohq::test::random_vector(8 * Net::input_shape_t::size);
  const long before = allocations.load();
  for (std::size_t batch : {1u, 8u, 3u}) (void)net->forward(x.data(), batch);
  (void)(*net)(ohq::tensor_view<const float>(x.data(), {8, 1, 28, 28}));
  CHECK(allocations.load() == before);
}

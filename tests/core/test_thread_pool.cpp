// SPDX-License-Identifier: MIT
#include <ohq/core/thread_pool.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

namespace {
// Every task in [0, tasks) ran exactly once (a task run twice or never leaves a count != 1).
void check_each_task_once(ohq::thread_pool& pool, std::size_t tasks) {
  std::vector<std::atomic<int>> runs(tasks);
  pool.parallel_for(tasks, [&](std::size_t t) { runs[t].fetch_add(1, std::memory_order_relaxed); });
  std::size_t once = 0;
  for (auto& r : runs) once += r.load() == 1;
  CHECK(once == tasks);
}
}  // namespace

TEST_CASE("thread_pool runs every task exactly once for any task count") {
  for (std::size_t threads : {1u, 2u, 3u, 8u}) {
    CAPTURE(threads);
    ohq::thread_pool pool(threads);
    CHECK(pool.size() == threads);
    for (std::size_t tasks : {0u, 1u, 2u, 3u, 7u, 64u, 1000u, 100000u}) {
      CAPTURE(tasks);
      check_each_task_once(pool, tasks);
    }
  }
}

TEST_CASE("thread_pool of 0 threads is one thread: tasks run in the caller") {
  ohq::thread_pool pool(0);
  CHECK(pool.size() == 1);
  const auto caller = std::this_thread::get_id();
  bool all_in_caller = true;
  pool.parallel_for(10, [&](std::size_t) { all_in_caller = all_in_caller && std::this_thread::get_id() == caller; });
  CHECK(all_in_caller);
}

TEST_CASE("thread_pool: repeated calls see each other's results (the call is a full barrier)") {
  ohq::thread_pool pool(3);
  std::vector<long> data(257, 0);  // plain, non-atomic: each call's writes must be visible to the next
  for (int round = 0; round < 2000; ++round)
    pool.parallel_for(data.size(), [&](std::size_t t) { data[t] += static_cast<long>(t) + 1; });
  bool all = true;
  for (std::size_t t = 0; t < data.size(); ++t) all = all && data[t] == 2000 * (static_cast<long>(t) + 1);
  CHECK(all);
}

TEST_CASE("thread_pool uses its workers when there is enough work") {
  ohq::thread_pool pool(2);
  // Tasks that wait for the other thread: only finish if two threads run them concurrently.
  std::atomic<int> arrived{0};
  pool.parallel_for(2, [&](std::size_t) {
    arrived.fetch_add(1);
    while (arrived.load() < 2) std::this_thread::yield();
  });
  CHECK(arrived.load() == 2);
}

TEST_CASE("thread_pool: sleeping workers wake for the next call, and destruction joins them") {
  for (int pools = 0; pools < 20; ++pools) {
    ohq::thread_pool pool(4);
    check_each_task_once(pool, 50);
    if (pools % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the spin: asleep
    check_each_task_once(pool, 50);
  }
  ohq::thread_pool unused(4);  // destroyed without ever running anything
  CHECK(unused.size() == 4);
}

TEST_CASE("thread_pool serializes calls from several threads") {
  ohq::thread_pool pool(2);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round)
        pool.parallel_for(10, [&](std::size_t t) { total.fetch_add(static_cast<long>(t), std::memory_order_relaxed); });
    });
  for (auto& t : callers) t.join();
  CHECK(total.load() == 3 * 200 * 45);
}

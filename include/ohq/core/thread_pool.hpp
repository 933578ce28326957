// SPDX-License-Identifier: MIT
/// @file Defines `ohq::thread_pool`: a small fixed pool of std::threads running `parallel_for`
/// (task indices handed out one at a time, the calling thread working too).
///
/// Made for inference loops that split one layer into a few dozen tasks many times per second:
/// a call allocates nothing (the job is a function pointer and a pointer to the caller's
/// callable), idle workers spin briefly for the next call and then sleep on a condition variable,
/// and a call waits only for tasks that were started: on a busy machine a worker that is not
/// scheduled in time leaves its share to the others instead of stalling the call.
#pragma once

#include <ohq/config.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace ohq {

/// A fixed pool of `size()` threads: the caller of `parallel_for` plus `size() - 1` workers.
///
/// `parallel_for(tasks, f)` calls `f(task)` exactly once for every task in [0, tasks), spread
/// over the workers and the calling thread, and returns when all calls have returned (their
/// effects are then visible to the caller). Which thread runs which task, and in which order, is
/// unspecified, so bit-exact results need tasks that write disjoint outputs and do not depend on
/// each other.
///
/// Rules:
/// - `f` must not throw: an exception leaving `f` calls std::terminate (the task trampoline is
///   noexcept), since the other threads could not be stopped in a defined state anyway.
/// - Calls from several threads are serialized (one job at a time); `f` must not call
///   `parallel_for` on the same pool (it would deadlock).
/// - Destruction joins the workers; it must not race with a running `parallel_for`.
class thread_pool {
 public:
  /// A pool of `threads` threads in total (>= 1; 0 is taken as 1): `threads - 1` workers are
  /// started here. One thread means no workers: parallel_for runs the tasks in the caller.
  explicit thread_pool(std::size_t threads) : size_(threads == 0 ? 1 : threads) {
    workers_.reserve(size_ - 1);
    for (std::size_t w = 1; w < size_; ++w) workers_.emplace_back([this] { work(); });
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;
  ~thread_pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_.store(true, std::memory_order_relaxed);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  /// Threads that run tasks: the workers plus the calling thread.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Calls f(task) for every task in [0, tasks) across the pool; returns when all are done.
  template <class F>
  void parallel_for(std::size_t tasks, F&& f) {
    static_assert(std::is_invocable_v<F&, std::size_t>, "ohq: parallel_for calls f(std::size_t task)");
    if (tasks == 0) return;
    if (workers_.empty() || tasks == 1) {  // nothing to share: no synchronisation at all
      for (std::size_t t = 0; t < tasks; ++t) f(t);
      return;
    }
    std::lock_guard call(call_mutex_);
    // No worker touches job_ now: the previous job's tasks have all finished, and a worker reads
    // job_ only after claiming a task of the job that is live.
    job_ = job{&invoke<std::remove_reference_t<F>>, const_cast<void*>(static_cast<const void*>(std::addressof(f)))};
    unfinished_.store(tasks, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      // release: whoever claims one of these tasks (acquire) sees job_
      unclaimed_.store(tasks, std::memory_order_release);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks();
    wait_until_finished();
  }

 private:
  struct job {
    void (*run)(void* f, std::size_t task) noexcept = nullptr;
    void* f = nullptr;
  };

  // noexcept: a throwing task terminates (documented on the class)
  template <class F>
  static void invoke(void* f, std::size_t task) noexcept {
    (*static_cast<F*>(f))(task);
  }

  // Loads of an atomic before blocking on a condition variable: long enough to catch the next
  // call of a layer-by-layer loop (microseconds), short enough not to burn a shared core.
  static constexpr int spin_iterations = 1 << 14;

  /// Claims tasks (counting down) until none is left, running each. A claim that succeeds belongs
  /// to the live job: that job cannot finish, and job_ cannot change, before the task is done.
  /// Threads that come late (a worker woken after the caller did everything) claim nothing and
  /// never touch job_, so the caller never waits for a thread that did not start.
  void run_tasks() noexcept {
    std::size_t left = unclaimed_.load(std::memory_order_relaxed);
    while (left != 0) {
      if (!unclaimed_.compare_exchange_weak(left, left - 1, std::memory_order_acquire, std::memory_order_relaxed))
        continue;  // `left` was reloaded
      job_.run(job_.f, left - 1);
      // acq_rel: the caller that sees 0 sees every write of the tasks; notified under the mutex
      // so a caller between checking and sleeping cannot miss it
      if (unfinished_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard lock(mutex_);
        done_.notify_one();
      }
      left = unclaimed_.load(std::memory_order_relaxed);
    }
  }

  void wait_until_finished() {
    for (int i = 0; i < spin_iterations; ++i)
      if (unfinished_.load(std::memory_order_acquire) == 0) return;
    std::unique_lock lock(mutex_);
    done_.wait(lock, [this] { return unfinished_.load(std::memory_order_acquire) == 0; });
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      std::uint64_t current = generation_.load(std::memory_order_acquire);
      for (int i = 0; current == seen && i < spin_iterations && !stopping_.load(std::memory_order_relaxed); ++i)
        current = generation_.load(std::memory_order_acquire);
      if (current == seen) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] {
          return generation_.load(std::memory_order_acquire) != seen || stopping_.load(std::memory_order_relaxed);
        });
        if (stopping_.load(std::memory_order_relaxed)) return;
        current = generation_.load(std::memory_order_acquire);
      }
      seen = current;
      run_tasks();
    }
  }

  std::size_t size_;
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;       // guards sleeping: wake_ (workers) and done_ (the caller)
  std::condition_variable wake_, done_;
  job job_;                                   // the live job; see run_tasks
  std::atomic<std::uint64_t> generation_{0};  // bumped per job: wakes the workers
  std::atomic<std::size_t> unclaimed_{0};     // tasks nobody has started: the next claim runs task unclaimed_ - 1
  std::atomic<std::size_t> unfinished_{0};    // tasks not yet returned
  std::atomic<bool> stopping_{false};
};

}  // namespace ohq

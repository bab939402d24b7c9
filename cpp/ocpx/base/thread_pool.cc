// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {

ThreadPool::ThreadPool(size_t num_threads) {
  num_threads = std::max<size_t>(num_threads, 1);
  threads_.reserve(num_threads);
  for (size_t i = 0; i < num_threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

ThreadPool::~ThreadPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) t.join();
}

void ThreadPool::Schedule(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(fn));
}

void ThreadPool::WorkerLoop() {
  while (true) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ThreadPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stopping_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping and drained
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

ThreadPool* ThreadPool::Default() {
  static ThreadPool* pool =
      new ThreadPool(std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

namespace {

// Shared by the caller and its helper tasks.  Helpers may start after the
// caller has returned (the pool may be busy), so they hold the state by
// shared_ptr and it owns a copy of the callable.
struct ParallelForState {
  ParallelForState(size_t n, std::function<absl::Status(size_t)> f)
      : n(n), fn(std::move(f)), statuses(n) {}
  const size_t n;
  const std::function<absl::Status(size_t)> fn;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<absl::Status> statuses;
  absl::Mutex mu;
  size_t done ABSL_GUARDED_BY(mu) = 0;

  void Work() {
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      if (!failed.load(std::memory_order_relaxed)) {
        absl::Status s = fn(i);
        if (!s.ok()) {
          statuses[i] = std::move(s);
          failed.store(true);
        }
      }
      absl::MutexLock lock(&mu);
      ++done;
    }
  }
};

}  // namespace

absl::Status ParallelFor(ThreadPool* pool, size_t n,
                         const std::function<absl::Status(size_t)>& fn,
                         size_t max_parallelism) {
  if (n == 0) return absl::OkStatus();
  if (n == 1 || pool == nullptr || max_parallelism == 1) {
    for (size_t i = 0; i < n; ++i) OCPX_RETURN_IF_ERROR(fn(i));
    return absl::OkStatus();
  }
  auto state = std::make_shared<ParallelForState>(n, fn);
  size_t par =
      max_parallelism == 0 ? pool->num_threads() + 1 : max_parallelism;
  size_t helpers = std::min(n - 1, par - 1);
  for (size_t h = 0; h < helpers; ++h) {
    pool->Schedule([state] { state->Work(); });
  }
  state->Work();
  {
    // Every index has been claimed; wait for the ones still running.  Helpers
    // that start later find nothing to do.
    absl::MutexLock lock(&state->mu);
    state->mu.Await(absl::Condition(
        +[](ParallelForState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
          return s->done == s->n;
        },
        state.get()));
  }
  for (auto& s : state->statuses) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace ocpx

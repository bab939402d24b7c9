// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal {

namespace {
// The pool whose worker the current thread is (null elsewhere).
thread_local const ThreadPool* current_pool = nullptr;
}  // namespace

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

bool ThreadPool::RunsOnWorker() const { return current_pool == this; }

void ThreadPool::WorkerLoop() {
  current_pool = this;
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
    // A task must not take the process down: tasks report errors through
    // their own channel (ParallelFor converts exceptions to a Status), so an
    // exception reaching this point has nowhere to go and is dropped.
    try {
      fn();
    } catch (...) {
    }
  }
}

ThreadPool* ThreadPool::Default() {
  static ThreadPool* pool =
      new ThreadPool(std::max(1u, std::thread::hardware_concurrency()));
  return pool;
}

namespace {

// Runs `fn(i)`, turning any C++ exception into a Status so that none crosses
// a thread or Status boundary.
absl::Status CallCatching(const std::function<absl::Status(size_t)>& fn,
                          size_t i) {
  try {
    return fn(i);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory in parallel task ", i));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("parallel task ", i, " threw: ", e.what()));
  } catch (...) {
    return absl::InternalError(
        absl::StrCat("parallel task ", i, " threw a non-standard exception"));
  }
}

// Shared by the caller and its helper tasks.  Helpers may start after the
// caller has returned (the pool may be busy), so they hold the state by
// shared_ptr and it owns a copy of the callable.
struct ParallelForState {
  ParallelForState(size_t n, std::function<absl::Status(size_t)> f)
      : n(n), fn(std::move(f)) {}
  const size_t n;
  const std::function<absl::Status(size_t)> fn;
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  size_t done ABSL_GUARDED_BY(mu) = 0;
  // The error with the lowest index (memory does not grow with `n`).
  size_t error_index ABSL_GUARDED_BY(mu) = 0;
  absl::Status error ABSL_GUARDED_BY(mu);

  void Work() {
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      size_t finished = 1;
      if (!failed.load(std::memory_order_relaxed)) {
        absl::Status s = CallCatching(fn, i);
        if (!s.ok()) {
          absl::MutexLock lock(&mu);
          if (error.ok() || i < error_index) {
            error = std::move(s);
            error_index = i;
          }
          failed.store(true);
        }
      }
      if (failed.load(std::memory_order_relaxed)) {
        // Claim every index not started yet at once: after an error they are
        // skipped, and a huge `n` must not be walked one by one.
        const size_t rest = next.exchange(n);
        if (rest < n) finished += n - rest;
      }
      absl::MutexLock lock(&mu);
      done += finished;
    }
  }
};

}  // namespace

absl::Status ParallelFor(ThreadPool* pool, size_t n,
                         const std::function<absl::Status(size_t)>& fn,
                         size_t max_parallelism, CallerRole caller) {
  if (n == 0) return absl::OkStatus();
  const bool waits =
      caller == CallerRole::kWaits && pool != nullptr && !pool->RunsOnWorker();
  if (!waits && (n == 1 || pool == nullptr || max_parallelism == 1)) {
    for (size_t i = 0; i < n; ++i) OCPX_RETURN_IF_ERROR(CallCatching(fn, i));
    return absl::OkStatus();
  }
  std::shared_ptr<ParallelForState> state;
  try {
    state = std::make_shared<ParallelForState>(n, fn);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory starting ", n, " parallel tasks"));
  }
  size_t helpers;
  if (waits) {
    helpers = std::min(
        n, max_parallelism == 0 ? pool->num_threads() : max_parallelism);
  } else {
    const size_t par =
        max_parallelism == 0 ? pool->num_threads() + 1 : max_parallelism;
    helpers = std::min(n - 1, par - 1);
  }
  size_t queued = 0;
  try {
    for (; queued < helpers; ++queued) {
      pool->Schedule([state] { state->Work(); });
    }
  } catch (...) {
    // Fewer helpers (e.g. out of memory for the queue): the caller and the
    // helpers already queued still do all the work.
  }
  // A waiting caller works only if not even one helper could be queued.
  if (!waits || queued == 0) state->Work();
  {
    // Every index has been claimed; wait for the ones still running.  Helpers
    // that start later find nothing to do.
    absl::MutexLock lock(&state->mu);
    state->mu.Await(absl::Condition(
        +[](ParallelForState* s)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) { return s->done == s->n; },
        state.get()));
  }
  absl::MutexLock lock(&state->mu);
  return state->error;
}

}  // namespace internal
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_THREAD_POOL_H_
#define OCPX_BASE_THREAD_POOL_H_

/// \file
/// A small fixed-size thread pool and a blocking `ParallelFor` over it.

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace ocpx {
namespace internal {

/// Runs scheduled closures on `num_threads` worker threads.  Thread-safe.
/// The destructor runs every closure already scheduled, then joins.
class ThreadPool {
 public:
  explicit ThreadPool(size_t num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Queues `fn` to run on some worker thread.
  void Schedule(std::function<void()> fn);

  size_t num_threads() const { return threads_.size(); }

  /// Whether the calling thread is one of this pool's workers.
  bool RunsOnWorker() const;

  /// A process-wide pool with `std::thread::hardware_concurrency()` threads
  /// (at least 1), created on first use and never destroyed.
  static ThreadPool* Default();

 private:
  void WorkerLoop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

/// Whether the thread calling `ParallelFor` runs calls itself (`kWorks`) or
/// only waits while the pool's workers run them (`kWaits`).
enum class CallerRole { kWorks, kWaits };

/// `kWaits` for work on at least `kCallerWaitsMinBytes` bytes, `kWorks` below:
/// a small job costs less done by the caller than handed to a worker, and
/// the per-thread state it builds is small.
inline constexpr double kCallerWaitsMinBytes = 1 << 20;
inline CallerRole CallerRoleForBytes(double bytes) {
  return bytes >= kCallerWaitsMinBytes ? CallerRole::kWaits
                                       : CallerRole::kWorks;
}

/// Calls `fn(i)` for every i in [0, n), on up to `max_parallelism` threads
/// (0 means the pool's size plus the caller), and blocks until all calls have
/// returned.  With `CallerRole::kWorks` (the default) the calling thread
/// takes part, so this makes progress (and cannot deadlock) even when called
/// from inside a pool task or when the pool is saturated.  `pool` may be
/// null: then everything runs on the caller.  Returns the first non-OK status
/// in index order; after an error, calls that have not started yet are
/// skipped.
///
/// With `CallerRole::kWaits`, a caller that is not one of the pool's workers
/// runs no call itself: the calls run on the pool's threads (on up to
/// `max_parallelism` of them; 0 means all), and the caller waits.  Per-thread
/// state the calls build and keep (compression contexts, reused encoding
/// buffers) then exists once per worker, not once more per thread that calls
/// in.  From a worker (a nested call) the caller takes part as with
/// `kWorks`, so nesting cannot deadlock.
///
/// Example:
///
///   OCPX_RETURN_IF_ERROR(ParallelFor(ThreadPool::Default(), chunks.size(),
///                                    encode_chunk, 0, CallerRole::kWaits));
absl::Status ParallelFor(ThreadPool* pool, size_t n,
                         const std::function<absl::Status(size_t)>& fn,
                         size_t max_parallelism = 0,
                         CallerRole caller = CallerRole::kWorks);

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_THREAD_POOL_H_

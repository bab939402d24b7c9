// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/thread_pool.h"

#include <atomic>
#include <chrono>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

TEST(ThreadPoolTest, ParallelForVisitsEveryIndexOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  ASSERT_TRUE(ParallelFor(&pool, hits.size(), [&](size_t i) {
                hits[i]++;
                return absl::OkStatus();
              }).ok());
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPoolTest, ReturnsFirstErrorInIndexOrder) {
  ThreadPool pool(2);
  absl::Status s = ParallelFor(&pool, 10, [](size_t i) {
    return i == 7 ? absl::DataLossError("seven") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
}

TEST(ThreadPoolTest, NestedParallelForDoesNotDeadlock) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  ASSERT_TRUE(ParallelFor(&pool, 8, [&](size_t) {
                return ParallelFor(&pool, 8, [&](size_t) {
                  total++;
                  return absl::OkStatus();
                });
              }).ok());
  EXPECT_EQ(total.load(), 64);
}

TEST(ThreadPoolTest, WaitingCallerRunsNothingItself) {
  ThreadPool pool(2);
  const std::thread::id caller = std::this_thread::get_id();
  for (size_t n : {size_t{1}, size_t{2}, size_t{50}}) {
    absl::Mutex mu;
    std::vector<std::thread::id> ran_on;
    ASSERT_TRUE(ParallelFor(
                    &pool, n,
                    [&](size_t) {
                      EXPECT_TRUE(pool.RunsOnWorker());
                      absl::MutexLock lock(&mu);
                      ran_on.push_back(std::this_thread::get_id());
                      return absl::OkStatus();
                    },
                    0, CallerRole::kWaits)
                    .ok());
    ASSERT_EQ(ran_on.size(), n);
    for (const auto& id : ran_on) EXPECT_NE(id, caller);
  }
  EXPECT_FALSE(pool.RunsOnWorker());
  // With kWorks the caller takes part (a single call runs on it).
  std::thread::id ran_on;
  ASSERT_TRUE(ParallelFor(&pool, 1, [&](size_t) {
                ran_on = std::this_thread::get_id();
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(ran_on, caller);
}

TEST(ThreadPoolTest, WaitingCallerKeepsTheParallelismLimit) {
  ThreadPool pool(4);
  std::atomic<int> running{0}, most{0};
  ASSERT_TRUE(ParallelFor(
                  &pool, 40,
                  [&](size_t) {
                    const int now = ++running;
                    int seen = most.load();
                    while (now > seen &&
                           !most.compare_exchange_weak(seen, now)) {
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    --running;
                    return absl::OkStatus();
                  },
                  2, CallerRole::kWaits)
                  .ok());
  EXPECT_LE(most.load(), 2);
}

TEST(ThreadPoolTest, NestedWaitingCallsDoNotDeadlock) {
  ThreadPool pool(1);  // the one worker runs the outer call and the nested
  std::atomic<int> total{0};
  ASSERT_TRUE(ParallelFor(
                  &pool, 4,
                  [&](size_t) {
                    return ParallelFor(
                        &pool, 4,
                        [&](size_t) {
                          total++;
                          return absl::OkStatus();
                        },
                        0, CallerRole::kWaits);
                  },
                  0, CallerRole::kWaits)
                  .ok());
  EXPECT_EQ(total.load(), 16);
}

TEST(ThreadPoolTest, NullPoolRunsInline) {
  int sum = 0;
  ASSERT_TRUE(ParallelFor(nullptr, 4, [&](size_t i) {
                sum += static_cast<int>(i);
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(sum, 6);
}

TEST(ThreadPoolTest, ExceptionsBecomeStatusOnEveryThread) {
  ThreadPool pool(3);
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> started{0};
    absl::Status s = ParallelFor(&pool, 64, [&](size_t i) -> absl::Status {
      started++;
      if (i % 5 == 3) throw std::runtime_error("boom");
      if (i % 7 == 2) throw std::bad_alloc();
      return absl::OkStatus();
    });
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(s.code() == absl::StatusCode::kInternal ||
                s.code() == absl::StatusCode::kResourceExhausted)
        << s;
  }
  // The pool still works afterwards.
  EXPECT_TRUE(
      ParallelFor(&pool, 10, [](size_t) { return absl::OkStatus(); }).ok());
}

TEST(ThreadPoolTest, InlinePathCatchesToo) {
  absl::Status s = ParallelFor(nullptr, 3, [](size_t i) -> absl::Status {
    if (i == 1) throw std::runtime_error("inline");
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_NE(s.message().find("inline"), absl::string_view::npos);
}

TEST(ThreadPoolTest, HugeCountStopsSoonAfterAnError) {
  ThreadPool pool(2);
  std::atomic<size_t> calls{0};
  absl::Status s = ParallelFor(&pool, size_t{1} << 40, [&](size_t i) {
    calls++;
    return i >= 10 ? absl::NotFoundError("missing") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_LT(calls.load(), 1000u);
}

TEST(ThreadPoolTest, TaskExceptionDoesNotKillWorker) {
  ThreadPool pool(1);
  pool.Schedule([] { throw std::runtime_error("dropped"); });
  EXPECT_TRUE(
      ParallelFor(&pool, 4, [](size_t) { return absl::OkStatus(); }).ok());
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/thread_pool.h"

#include <atomic>
#include <new>
#include <stdexcept>
#include <vector>

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

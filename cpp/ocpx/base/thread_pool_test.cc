// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/thread_pool.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"

namespace ocpx {
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

}  // namespace
}  // namespace ocpx

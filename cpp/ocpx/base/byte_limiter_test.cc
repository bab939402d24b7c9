// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/byte_limiter.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

// Waits (bounded) until `pred()` holds.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 2000; ++i) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return pred();
}

TEST(ByteLimiterTest, UnlimitedNeverWaitsButCounts) {
  ByteLimiter limiter(std::nullopt);
  EXPECT_FALSE(limiter.max_bytes().has_value());
  limiter.Reserve(uint64_t{1} << 40);
  EXPECT_TRUE(limiter.TryReserve(uint64_t{1} << 40));
  EXPECT_EQ(limiter.in_use(), uint64_t{1} << 41);
  EXPECT_TRUE(limiter.Release(uint64_t{1} << 41).ok());
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_EQ(limiter.peak(), uint64_t{1} << 41);
  limiter.ResetPeak();
  EXPECT_EQ(limiter.peak(), 0u);
}

TEST(ByteLimiterTest, TryReserveAndRelease) {
  ByteLimiter limiter(100);
  EXPECT_TRUE(limiter.TryReserve(60));
  EXPECT_TRUE(limiter.TryReserve(40));  // exactly the limit fits
  EXPECT_FALSE(limiter.TryReserve(1));
  EXPECT_TRUE(limiter.TryReserve(0));
  EXPECT_TRUE(limiter.Release(40).ok());
  EXPECT_TRUE(limiter.TryReserve(30));
  EXPECT_EQ(limiter.in_use(), 90u);
  EXPECT_EQ(limiter.peak(), 100u);
  EXPECT_EQ(limiter.Release(91).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(limiter.in_use(), 90u);
  EXPECT_TRUE(limiter.Release(90).ok());
}

TEST(ByteLimiterTest, DeadlineExceeded) {
  ByteLimiter limiter(10);
  limiter.Reserve(8);
  absl::Time start = absl::Now();
  absl::Status s = limiter.ReserveFor(5, absl::Milliseconds(50));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
  EXPECT_EQ(limiter.in_use(), 8u);
  EXPECT_EQ(limiter.num_waiting(), 0u);
  EXPECT_TRUE(limiter.ReserveFor(2, absl::Milliseconds(50)).ok());
  // A deadline in the past still succeeds when the bytes fit at once.
  EXPECT_TRUE(limiter.Release(10).ok());
  EXPECT_TRUE(limiter.ReserveUntil(10, absl::InfinitePast()).ok());
}

TEST(ByteLimiterTest, TimedOutWaiterUnblocksThoseBehindIt) {
  ByteLimiter limiter(10);
  limiter.Reserve(5);
  std::atomic<bool> small_done{false};
  // A large waiter times out; a small one queued behind it must then proceed.
  std::thread large([&] {
    EXPECT_EQ(limiter.ReserveFor(8, absl::Milliseconds(100)).code(),
              absl::StatusCode::kDeadlineExceeded);
  });
  ASSERT_TRUE(Eventually([&] { return limiter.num_waiting() == 1; }));
  std::thread small([&] {
    limiter.Reserve(3);
    small_done = true;
  });
  large.join();
  small.join();
  EXPECT_TRUE(small_done);
  EXPECT_EQ(limiter.in_use(), 8u);
}

TEST(ByteLimiterTest, InterruptStopsTheWait) {
  ByteLimiter limiter(10);
  limiter.Reserve(10);
  std::atomic<int> calls{0};
  absl::Status s = limiter.ReserveUntil(
      1, absl::InfiniteFuture(),
      [&]() -> absl::Status {
        return ++calls >= 3 ? absl::CancelledError("stop") : absl::OkStatus();
      },
      absl::Milliseconds(5));
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(limiter.num_waiting(), 0u);
  EXPECT_EQ(limiter.in_use(), 10u);
}

TEST(ByteLimiterTest, OversizeRequestProceedsAlone) {
  ByteLimiter limiter(100);
  limiter.Reserve(10);
  std::atomic<bool> big_done{false};
  std::thread big([&] {
    limiter.Reserve(250);
    big_done = true;
  });
  ASSERT_TRUE(Eventually([&] { return limiter.num_waiting() == 1; }));
  EXPECT_FALSE(big_done);
  // Small requests queue behind the waiting big one (FIFO).
  EXPECT_FALSE(limiter.TryReserve(1));
  EXPECT_TRUE(limiter.Release(10).ok());
  big.join();
  EXPECT_TRUE(big_done);
  EXPECT_EQ(limiter.in_use(), 250u);
  EXPECT_FALSE(limiter.TryReserve(1));  // nothing else while it runs
  EXPECT_TRUE(limiter.Release(250).ok());
  EXPECT_EQ(limiter.peak(), 250u);
}

TEST(ByteLimiterTest, ZeroLimitRunsEverythingAlone) {
  ByteLimiter limiter(0);
  EXPECT_TRUE(limiter.TryReserve(5));
  EXPECT_FALSE(limiter.TryReserve(1));
  EXPECT_TRUE(limiter.Release(5).ok());
  EXPECT_TRUE(limiter.TryReserve(1));
}

TEST(ByteLimiterTest, LargeRequestIsNotStarvedBySmallOnes) {
  ByteLimiter limiter(100);
  std::atomic<bool> stop{false};
  std::atomic<bool> big_done{false};
  // Four threads keep the limiter busy with small overlapping requests.
  std::vector<std::thread> small;
  for (int t = 0; t < 4; ++t) {
    small.emplace_back([&] {
      while (!stop) {
        ByteReservation r(&limiter, 30);
        absl::SleepFor(absl::Microseconds(200));
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(10));
  std::thread big([&] {
    EXPECT_TRUE(limiter.ReserveFor(100, absl::Seconds(10)).ok());
    big_done = true;
    EXPECT_TRUE(limiter.Release(100).ok());
  });
  big.join();
  stop = true;
  for (auto& t : small) t.join();
  EXPECT_TRUE(big_done);
  EXPECT_LE(limiter.peak(), 100u);
  EXPECT_EQ(limiter.in_use(), 0u);
}

TEST(ByteLimiterTest, ConcurrentPeakStaysWithinLimit) {
  ByteLimiter limiter(1000);
  std::vector<std::thread> threads;
  std::atomic<uint64_t> total{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const uint64_t n = 50 + 97 * ((t + i) % 7);  // 50 .. 632
        ByteReservation r(&limiter, n);
        EXPECT_LE(limiter.in_use(), 1000u);
        total += n;
        if (i % 16 == 0) absl::SleepFor(absl::Microseconds(50));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(limiter.peak(), 1000u);
  EXPECT_GT(limiter.peak(), 632u);  // there was real concurrency
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_GT(total.load(), 0u);
}

TEST(ByteReservationTest, RaiiAndMove) {
  ByteLimiter limiter(100);
  {
    ByteReservation a(&limiter, 40);
    EXPECT_EQ(a.bytes(), 40u);
    EXPECT_EQ(limiter.in_use(), 40u);
    ByteReservation b = std::move(a);
    EXPECT_EQ(a.bytes(), 0u);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(limiter.in_use(), 40u);
    ByteReservation c(&limiter, 10);
    c = std::move(b);  // releases c's 10
    EXPECT_EQ(limiter.in_use(), 40u);
    c.Release();
    c.Release();
    EXPECT_EQ(limiter.in_use(), 0u);
    ASSERT_TRUE(limiter.ReserveFor(7, absl::Seconds(1)).ok());
    ByteReservation d = ByteReservation::Adopt(&limiter, 7);
    EXPECT_EQ(limiter.in_use(), 7u);
  }
  EXPECT_EQ(limiter.in_use(), 0u);
  ByteReservation none(nullptr, 12345);
  EXPECT_EQ(none.bytes(), 0u);
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

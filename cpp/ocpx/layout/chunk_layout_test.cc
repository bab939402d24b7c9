// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/layout/chunk_layout.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_layout {
namespace {

using ::testing::ElementsAre;

// Worked examples of docs/format.md, "Chunk shapes and replicas": float32,
// write (64,48,10) of a global (256,96,10) array.
const std::vector<int64_t> kGlobal = {256, 96, 10};
const std::vector<int64_t> kWrite = {64, 48, 10};

TEST(ChooseChunkShapeTest, NoTargetIsWriteShape) {
  EXPECT_THAT(*ChooseChunkShape(kGlobal, kWrite, 4, std::nullopt),
              ElementsAre(64, 48, 10));
}

TEST(ChooseChunkShapeTest, Target16384) {
  // 4096 elements: 64->32, 48->24, 32->16 => 3840.
  EXPECT_THAT(*ChooseChunkShape(kGlobal, kWrite, 4, 16384),
              ElementsAre(16, 24, 10));
}

TEST(ChooseChunkShapeTest, Target1000) {
  EXPECT_THAT(*ChooseChunkShape(kGlobal, kWrite, 4, 1000),
              ElementsAre(4, 6, 10));
}

TEST(ChooseChunkShapeTest, ShardAxesWithTarget) {
  const int axes2[] = {2};
  EXPECT_THAT(*ChooseChunkShape(kGlobal, kWrite, 4, 16384, axes2),
              ElementsAre(64, 48, 1));
  const int axes0[] = {0};
  EXPECT_THAT(*ChooseChunkShape(kGlobal, kWrite, 4, 8192, axes0),
              ElementsAre(1, 48, 10));
}

TEST(ChooseChunkShapeTest, ShardAxesWithoutTarget) {
  const int axes1[] = {1};
  EXPECT_THAT(*ChooseChunkShape(kGlobal, kWrite, 4, std::nullopt, axes1),
              ElementsAre(64, 1, 10));
}

TEST(ChooseChunkShapeTest, ZeroExtentsCountAsOne) {
  EXPECT_THAT(*ChooseChunkShape({0, 8}, {0, 8}, 4, std::nullopt),
              ElementsAre(1, 8));
}

TEST(ChooseChunkShapeTest, UnshardedDimsAreSplitLast) {
  // Fully replicated array: nothing is sharded, so every dim becomes
  // eligible once the sharded ones cannot shrink.
  EXPECT_THAT(*ChooseChunkShape({8, 6}, {8, 6}, 1, 12), ElementsAre(4, 3));
}

TEST(ChooseChunkShapeTest, Errors) {
  EXPECT_FALSE(ChooseChunkShape({1, 2}, {1}, 4, std::nullopt).ok());
  EXPECT_FALSE(ChooseChunkShape({4}, {4}, 4, 3).ok());
  const int bad[] = {3};
  EXPECT_FALSE(ChooseChunkShape({4}, {4}, 4, 64, bad).ok());
}

TEST(ClampChunkByteSizeTest, Section34) {
  const int64_t kGiB2 = int64_t{2} << 30;
  // Unlimited target keeps the user value.
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(123, 0, {10}, 4), 123);
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(std::nullopt, 0, {10}, 4), std::nullopt);
  // No user value: only big slices get the file size as target.
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(std::nullopt, kGiB2, {1024}, 4),
            std::nullopt);
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(std::nullopt, 100, {26}, 4), 100);
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(std::nullopt, 104, {26}, 4),
            std::nullopt);
  // User value: min of both.
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(500, 100, {1}, 4), 100);
  EXPECT_EQ(ClampChunkByteSizeForOcdbt(50, 100, {1}, 4), 50);
}

}  // namespace
}  // namespace internal_layout
}  // namespace ocpx

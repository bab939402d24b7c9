// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/layout/replica_slices.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_layout {
namespace {

using ::testing::ElementsAre;
using V = std::vector<int64_t>;

// The addressable shards of one process for an 8-device mesh (4, 2) with axes
// ("x", "y"), device d at mesh position (d / 2, d % 2).  `origin_fn` and
// `replica_fn` give each device's shard origin and replica id.
template <typename OriginFn, typename ReplicaFn>
std::vector<ShardBox> Mesh42(const V& shard_shape, OriginFn origin_fn,
                             ReplicaFn replica_fn) {
  std::vector<ShardBox> shards;
  for (int d = 0; d < 8; ++d) {
    shards.push_back(
        {origin_fn(d / 2, d % 2), shard_shape, replica_fn(d / 2, d % 2)});
  }
  return shards;
}

TEST(ReplicaSlicesTest, FullyShardedHasNoReplicas) {
  // P("x", "y"), (64, 16): shards (16, 8), one replica.
  auto shards = Mesh42(
      {16, 8},
      [](int x, int y) {
        return V{16 * x, 8 * y};
      },
      [](int, int) { return 0; });
  auto plan = ComputeReplicaSlices({64, 16}, 4, shards, 1);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->local_shape, ElementsAre(16, 8));
  EXPECT_FALSE(plan->replica_parallel);
  ASSERT_EQ(plan->slices.size(), 8u);
  for (size_t s = 0; s < 8; ++s) {
    EXPECT_EQ(plan->slices[s].shard_index, s);
    EXPECT_THAT(plan->slices[s].origin_in_shard, ElementsAre(0, 0));
    EXPECT_THAT(plan->slices[s].shape, ElementsAre(16, 8));
    EXPECT_EQ(plan->slices[s].global_origin, shards[s].origin);
  }
}

TEST(ReplicaSlicesTest, FullyReplicatedSplitsAcrossEightReplicas) {
  // P(), bf16 (16,): 8 replicas, axis 0 -> (2,).
  std::vector<ShardBox> shards;
  for (int d = 0; d < 8; ++d) shards.push_back({{0}, {16}, d});
  auto plan = ComputeReplicaSlices({16}, 2, shards, 8);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->local_shape, ElementsAre(2));
  EXPECT_TRUE(plan->replica_parallel);
  EXPECT_EQ(plan->axis, 0);
  EXPECT_EQ(plan->num_replicas, 8);
  ASSERT_EQ(plan->slices.size(), 8u);
  for (int d = 0; d < 8; ++d) {
    EXPECT_EQ(plan->slices[d].shard_index, static_cast<size_t>(d));
    EXPECT_THAT(plan->slices[d].origin_in_shard, ElementsAre(2 * d));
    EXPECT_THAT(plan->slices[d].global_origin, ElementsAre(2 * d));
    EXPECT_THAT(plan->slices[d].shape, ElementsAre(2));
  }
}

TEST(ReplicaSlicesTest, ShardedOnXReplicatedOnY) {
  // P("x"), (1024, 512): shards (256, 512), 2 replicas -> (128, 512).
  auto shards = Mesh42(
      {256, 512},
      [](int x, int) {
        return V{256 * x, 0};
      },
      [](int, int y) { return y; });
  auto plan = ComputeReplicaSlices({1024, 512}, 4, shards, 2);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->local_shape, ElementsAre(128, 512));
  EXPECT_EQ(plan->axis, 0);
  ASSERT_EQ(plan->slices.size(), 8u);
  for (int d = 0; d < 8; ++d) {
    const int x = d / 2, y = d % 2;
    EXPECT_THAT(plan->slices[d].origin_in_shard, ElementsAre(128 * y, 0));
    EXPECT_THAT(plan->slices[d].global_origin,
                ElementsAre(256 * x + 128 * y, 0));
  }
}

TEST(ReplicaSlicesTest, ReplicatedOnXShardedOnY) {
  // P(None, "y"), (8, 4): shards (8, 2), 4 replicas -> (2, 2).
  auto shards = Mesh42(
      {8, 2},
      [](int, int y) {
        return V{0, 2 * y};
      },
      [](int x, int) { return x; });
  auto plan = ComputeReplicaSlices({8, 4}, 4, shards, 4);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->local_shape, ElementsAre(2, 2));
  ASSERT_EQ(plan->slices.size(), 8u);
  for (int d = 0; d < 8; ++d) {
    const int x = d / 2, y = d % 2;
    EXPECT_THAT(plan->slices[d].global_origin, ElementsAre(2 * x, 2 * y));
    EXPECT_THAT(plan->slices[d].origin_in_shard, ElementsAre(2 * x, 0));
  }
}

TEST(ReplicaSlicesTest, TwoProcessesSplitReplicatedArray) {
  // Mesh (2, 4) over two processes, P() (64, 32): 8 replicas -> (8, 32);
  // process 0 holds replicas 0..3 (rows 0..31), process 1 replicas 4..7.
  for (int p = 0; p < 2; ++p) {
    std::vector<ShardBox> shards;
    for (int d = 0; d < 4; ++d) shards.push_back({{0, 0}, {64, 32}, 4 * p + d});
    auto plan = ComputeReplicaSlices({64, 32}, 4, shards, 8);
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_THAT(plan->local_shape, ElementsAre(8, 32));
    ASSERT_EQ(plan->slices.size(), 4u);
    for (int d = 0; d < 4; ++d) {
      EXPECT_THAT(plan->slices[d].global_origin,
                  ElementsAre(32 * p + 8 * d, 0));
    }
  }
}

std::vector<ShardBox> Replicated8() {
  std::vector<ShardBox> shards;
  for (int d = 0; d < 8; ++d) shards.push_back({{0, 0}, {16, 6}, d});
  return shards;
}

TEST(ReplicaSlicesTest, MaxReplicasCapsTheSplit) {
  ReplicaSliceOptions o;
  o.max_replicas = 2;
  auto plan = ComputeReplicaSlices({16, 6}, 4, Replicated8(), 8, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->local_shape, ElementsAre(8, 6));
  EXPECT_EQ(plan->num_replicas, 2);
  ASSERT_EQ(plan->slices.size(), 2u);  // replicas >= 2 write nothing
  EXPECT_THAT(plan->slices[1].global_origin, ElementsAre(8, 0));
}

TEST(ReplicaSlicesTest, FirstDivisibleAxis) {
  std::vector<ShardBox> shards;
  for (int d = 0; d < 3; ++d) shards.push_back({{0, 0}, {4, 9}, d});
  auto plan = ComputeReplicaSlices({4, 9}, 1, shards, 3);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->axis, 1);
  EXPECT_THAT(plan->local_shape, ElementsAre(4, 3));
  EXPECT_THAT(plan->slices[2].origin_in_shard, ElementsAre(0, 6));
}

TEST(ReplicaSlicesTest, FallsBackToSingleReplica) {
  // Too small a slice.
  ReplicaSliceOptions o;
  o.min_slice_bytes = 16 * 6 * 4 / 8 + 1;
  auto plan = ComputeReplicaSlices({16, 6}, 4, Replicated8(), 8, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->replica_parallel);
  EXPECT_THAT(plan->local_shape, ElementsAre(16, 6));
  ASSERT_EQ(plan->slices.size(), 1u);
  EXPECT_EQ(plan->slices[0].shard_index, 0u);
  o.min_slice_bytes -= 1;  // exactly the slice size is enough
  EXPECT_TRUE(
      ComputeReplicaSlices({16, 6}, 4, Replicated8(), 8, o)->replica_parallel);

  // No axis divisible by 8 -> replica 0 writes.
  std::vector<ShardBox> odd;
  for (int d = 0; d < 8; ++d) odd.push_back({{0}, {7}, 7 - d});
  plan = ComputeReplicaSlices({7}, 4, odd, 8);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->replica_parallel);
  ASSERT_EQ(plan->slices.size(), 1u);
  EXPECT_EQ(plan->slices[0].shard_index, 7u);

  // Disabled; target replica 3.
  o = {};
  o.use_replica_parallel = false;
  o.replica_id = 3;
  plan = ComputeReplicaSlices({16, 6}, 4, Replicated8(), 8, o);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->slices.size(), 1u);
  EXPECT_EQ(plan->slices[0].shard_index, 3u);

  // primary_host=None: the first shard's replica id, never replica-parallel.
  o = {};
  o.replica_id = std::nullopt;
  auto shards = Replicated8();
  std::swap(shards[0], shards[5]);
  plan = ComputeReplicaSlices({16, 6}, 4, shards, 8, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->replica_parallel);
  ASSERT_EQ(plan->slices.size(), 1u);
  EXPECT_EQ(plan->slices[0].shard_index, 0u);

  // Empty shard.
  std::vector<ShardBox> empty;
  for (int d = 0; d < 2; ++d) empty.push_back({{0, 0}, {0, 4}, d});
  plan = ComputeReplicaSlices({0, 4}, 4, empty, 2);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->replica_parallel);
  EXPECT_THAT(plan->local_shape, ElementsAre(0, 4));
}

TEST(ReplicaSlicesTest, SingleReplicaProcessMayWriteNothing) {
  // This process holds only replica 1 of every shard: writes nothing, but
  // local_shape is still the shard shape.
  ReplicaSliceOptions o;
  o.use_replica_parallel = false;
  std::vector<ShardBox> shards = {{{0, 0}, {4, 4}, 1}, {{4, 0}, {4, 4}, 1}};
  auto plan = ComputeReplicaSlices({8, 4}, 4, shards, 2, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->slices.empty());
  EXPECT_THAT(plan->local_shape, ElementsAre(4, 4));
}

TEST(ReplicaSlicesTest, PinnedHostSafeToSliceRule) {
  ReplicaSliceOptions o;
  o.pinned_host_transfer = true;
  // Rank 1: never sliced.
  std::vector<ShardBox> r1;
  for (int d = 0; d < 2; ++d) r1.push_back({{0}, {4096}, d});
  EXPECT_FALSE(ComputeReplicaSlices({4096}, 4, r1, 2, o)->replica_parallel);
  // (16, 128): 2048 elements, last dim 128 -> sliced.
  std::vector<ShardBox> ok;
  for (int d = 0; d < 2; ++d) ok.push_back({{0, 0}, {16, 128}, d});
  EXPECT_TRUE(ComputeReplicaSlices({16, 128}, 4, ok, 2, o)->replica_parallel);
  // (32, 64): last dim not a multiple of 128 -> not sliced.
  std::vector<ShardBox> bad;
  for (int d = 0; d < 2; ++d) bad.push_back({{0, 0}, {32, 64}, d});
  EXPECT_FALSE(ComputeReplicaSlices({32, 64}, 4, bad, 2, o)->replica_parallel);
  o.pinned_host_transfer = false;
  EXPECT_TRUE(ComputeReplicaSlices({32, 64}, 4, bad, 2, o)->replica_parallel);
}

TEST(ReplicaSlicesTest, InvalidInputs) {
  EXPECT_FALSE(ComputeReplicaSlices({4}, 4, {}, 1).ok());
  std::vector<ShardBox> s = {{{0}, {4}, 0}};
  EXPECT_FALSE(ComputeReplicaSlices({4}, 4, s, 0).ok());
  EXPECT_FALSE(ComputeReplicaSlices({4}, 0, s, 1).ok());
  EXPECT_FALSE(ComputeReplicaSlices({4, 1}, 4, s, 1).ok());
  EXPECT_FALSE(ComputeReplicaSlices({3}, 4, s, 1).ok());
  ReplicaSliceOptions o;
  o.max_replicas = 0;
  EXPECT_FALSE(ComputeReplicaSlices({4}, 4, s, 1, o).ok());
  std::vector<ShardBox> uneven = {{{0}, {4}, 0}, {{0}, {2}, 1}};
  EXPECT_FALSE(ComputeReplicaSlices({4}, 4, uneven, 2).ok());
}

}  // namespace
}  // namespace internal_layout
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/layout/replica_slices.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ocpx {
namespace internal_layout {
namespace {

int64_t Product(absl::Span<const int64_t> v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

absl::Status CheckShards(absl::Span<const int64_t> global_shape,
                         absl::Span<const ShardBox> shards) {
  for (size_t s = 0; s < shards.size(); ++s) {
    const ShardBox& b = shards[s];
    if (b.origin.size() != global_shape.size() ||
        b.shape.size() != global_shape.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard ", s, " has rank (origin ", b.origin.size(), ", shape ",
          b.shape.size(), "), array has rank ", global_shape.size()));
    }
    for (size_t i = 0; i < global_shape.size(); ++i) {
      if (b.origin[i] < 0 || b.shape[i] < 0 || b.origin[i] > global_shape[i] ||
          b.shape[i] > global_shape[i] - b.origin[i]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "shard ", s, " box origin [", absl::StrJoin(b.origin, ","),
            "] shape [", absl::StrJoin(b.shape, ","),
            "] lies outside the array shape [",
            absl::StrJoin(global_shape, ","), "]"));
      }
    }
    if (b.replica_id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard ", s, " has negative replica id ", b.replica_id));
    }
  }
  return absl::OkStatus();
}

ReplicaSlice WholeShard(size_t index, const ShardBox& shard) {
  ReplicaSlice r;
  r.shard_index = index;
  r.origin_in_shard.assign(shard.shape.size(), 0);
  r.shape = shard.shape;
  r.global_origin = shard.origin;
  return r;
}

// Replica-parallel slicing (docs/format.md, "Chunk shapes and replicas");
// nullopt when replica-parallel does not apply.
absl::StatusOr<std::optional<ReplicaSlicePlan>> MaybeReplicaParallel(
    size_t itemsize, absl::Span<const ShardBox> shards, int64_t replica_count,
    const ReplicaSliceOptions& options) {
  const std::vector<int64_t>& shape0 = shards[0].shape;
  int64_t r = replica_count;
  if (options.max_replicas.has_value()) {
    r = std::min(r, *options.max_replicas);
  }
  if (Product(shape0) == 0 || r <= 1) return std::nullopt;
  int axis = -1;
  for (size_t i = 0; i < shape0.size(); ++i) {
    if (shape0[i] % r == 0) {
      axis = static_cast<int>(i);
      break;
    }
  }
  if (axis < 0) return std::nullopt;
  std::vector<int64_t> local_shape = shape0;
  local_shape[axis] /= r;
  const uint64_t slice_bytes =
      static_cast<uint64_t>(Product(local_shape)) * itemsize;
  if (slice_bytes < options.min_slice_bytes) return std::nullopt;

  ReplicaSlicePlan plan;
  plan.replica_parallel = true;
  plan.axis = axis;
  plan.num_replicas = r;
  const int64_t size = local_shape[axis];
  for (size_t s = 0; s < shards.size(); ++s) {
    const ShardBox& shard = shards[s];
    if (shard.shape != shape0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replica-parallel slicing needs equal shard shapes: shard ", s,
          " has shape [", absl::StrJoin(shard.shape, ","), "], shard 0 [",
          absl::StrJoin(shape0, ","), "]"));
    }
    if (shard.replica_id >= r) continue;
    ReplicaSlice slice;
    slice.shard_index = s;
    slice.origin_in_shard.assign(shape0.size(), 0);
    slice.origin_in_shard[axis] = shard.replica_id * size;
    slice.shape = local_shape;
    slice.global_origin = shard.origin;
    slice.global_origin[axis] += slice.origin_in_shard[axis];
    plan.slices.push_back(std::move(slice));
  }
  plan.local_shape = std::move(local_shape);
  return plan;
}

}  // namespace

absl::StatusOr<ReplicaSlicePlan> ComputeReplicaSlices(
    absl::Span<const int64_t> global_shape, size_t itemsize,
    absl::Span<const ShardBox> shards, int64_t replica_count,
    const ReplicaSliceOptions& options) {
  if (shards.empty()) {
    return absl::InvalidArgumentError("no addressable shards");
  }
  if (itemsize < 1) {
    return absl::InvalidArgumentError("itemsize must be at least 1");
  }
  if (replica_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("replica_count must be at least 1, got ", replica_count));
  }
  if (options.max_replicas.has_value() && *options.max_replicas < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_replicas must be at least 1, got ", *options.max_replicas));
  }
  if (auto s = CheckShards(global_shape, shards); !s.ok()) return s;

  const std::vector<int64_t>& shape0 = shards[0].shape;
  // Orbax's "safe to slice" rule for pinned_host arrays.
  const bool safe_to_slice =
      !options.pinned_host_transfer ||
      (global_shape.size() >= 2 && Product(shape0) % 1024 == 0 &&
       shape0.back() % 128 == 0);
  if (options.use_replica_parallel && safe_to_slice &&
      options.replica_id.has_value()) {
    absl::StatusOr<std::optional<ReplicaSlicePlan>> plan =
        MaybeReplicaParallel(itemsize, shards, replica_count, options);
    if (!plan.ok()) return plan.status();
    if (plan->has_value()) return **std::move(plan);
  }

  ReplicaSlicePlan plan;
  plan.local_shape = shape0;
  const int64_t target = options.replica_id.value_or(shards[0].replica_id);
  for (size_t s = 0; s < shards.size(); ++s) {
    if (shards[s].replica_id == target) {
      plan.slices.push_back(WholeShard(s, shards[s]));
    }
  }
  return plan;
}

}  // namespace internal_layout
}  // namespace ocpx

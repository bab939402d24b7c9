// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_LAYOUT_REPLICA_SLICES_H_
#define OCPX_LAYOUT_REPLICA_SLICES_H_

/// \file
/// Which parts of its addressable shards a process writes for one array, as
/// Orbax 0.12.8 decides it (`replica_slices.get_replica_slices`): either each
/// shard of one replica whole ("single replica"), or, with replica-parallel
/// saving, an equal slice of every replicated shard from each of the first R
/// replicas, so replicated data is written cooperatively.  A pure function
/// of the sharding geometry: no devices, no data.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ocpx {
namespace internal_layout {

/// One addressable shard of a process: the box `[origin, origin + shape)` of
/// the global array it holds, and JAX's `shard.replica_id`.
struct ShardBox {
  std::vector<int64_t> origin;
  std::vector<int64_t> shape;
  int64_t replica_id = 0;
};

struct ReplicaSliceOptions {
  /// Orbax's `use_replica_parallel` (default True unless JAX_PLATFORMS names
  /// gpu/cuda; that default is the caller's business).
  bool use_replica_parallel = true;
  /// `min_slice_bytes_for_replica_parallel` (None -> 0): replica-parallel is
  /// used only if one slice has at least this many bytes.
  uint64_t min_slice_bytes = 0;
  /// `max_replicas_for_replica_parallel` (None -> no cap).
  std::optional<int64_t> max_replicas;
  /// The replica that writes in single-replica mode (Orbax's handler passes
  /// 0).  `std::nullopt` is Orbax's `primary_host=None` (local
  /// checkpointing): the replica id of the first addressable shard, and no
  /// replica-parallel (Orbax raises ValueError for that combination; here
  /// replica-parallel is simply not attempted).
  std::optional<int64_t> replica_id = 0;
  /// The array lives in (or is transferred through) `pinned_host` memory.
  /// Then slicing is only attempted if rank >= 2, the shard's element count
  /// is a multiple of 1024 and its last dimension a multiple of 128.
  bool pinned_host_transfer = false;
};

/// A box this process writes: part (or all) of addressable shard
/// `shard_index`.
struct ReplicaSlice {
  size_t shard_index = 0;
  /// The box relative to the shard's origin ...
  std::vector<int64_t> origin_in_shard;
  std::vector<int64_t> shape;
  /// ... and in global array coordinates.
  std::vector<int64_t> global_origin;
};

struct ReplicaSlicePlan {
  /// Orbax's `local_shape`, recorded as the array's `write_shape`.  The same
  /// on every process, whether or not this one writes anything.
  std::vector<int64_t> local_shape;
  /// The boxes to write, in addressable-shard order (possibly none).
  std::vector<ReplicaSlice> slices;
  /// Whether replica-parallel slicing applied; then `axis` is the sliced
  /// dimension and `num_replicas` the R that slices were split across.
  bool replica_parallel = false;
  int axis = -1;
  int64_t num_replicas = 1;
};

/// Computes the plan for an array of `global_shape` (elements of `itemsize`
/// bytes) whose `shards` are this process's addressable shards (in JAX's
/// `addressable_shards` order) and whose sharding maps `replica_count`
/// devices to each index.
///
/// Replica-parallel (docs/format.md, "Chunk shapes and replicas"), if enabled,
/// allowed for pinned host and `replica_id` is set: `R = min(replica_count,
/// max_replicas)`; gives up if the first shard is empty, `R <= 1`, no dimension
/// of the first shard's shape is divisible by R, or a slice (`local_shape`) has
/// fewer than `min_slice_bytes` bytes.  Otherwise `local_shape` is the shard
/// shape with the first divisible axis divided by R, and each shard with
/// `replica_id < R` writes slice number `replica_id` of that axis.
///
/// Otherwise (step 2): every shard whose replica id equals the target (the
/// option, or the first shard's when it is nullopt) is written whole;
/// `local_shape` is the first shard's shape.
///
/// InvalidArgument if `shards` is empty, ranks disagree, a box lies outside
/// the array, `itemsize` or `replica_count` is < 1, `max_replicas` < 1, or
/// (replica-parallel) shards differ in shape.
absl::StatusOr<ReplicaSlicePlan> ComputeReplicaSlices(
    absl::Span<const int64_t> global_shape, size_t itemsize,
    absl::Span<const ShardBox> shards, int64_t replica_count,
    const ReplicaSliceOptions& options = {});

}  // namespace internal_layout
}  // namespace ocpx

#endif  // OCPX_LAYOUT_REPLICA_SLICES_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_LAYOUT_CHUNK_LAYOUT_H_
#define OCPX_LAYOUT_CHUNK_LAYOUT_H_

/// \file
/// Orbax's choice of the zarr chunk shape for an array (docs/format.md,
/// "Chunk shapes and replicas"), so that a checkpoint we write has the same
/// chunking Orbax would pick.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ocpx {
namespace internal_layout {

/// Chooses the chunk shape for writing `write_shape`-sized slices of an array
/// of `global_shape` (Orbax `subchunking.choose_chunk_shape`):
///
///  * zero extents of `write_shape` count as 1;
///  * without `target_byte_size` and `shard_axes`, the chunk is `write_shape`;
///  * every axis in `shard_axes` is first reduced to 1;
///  * then, while the chunk holds more than `target_byte_size / itemsize`
///    elements, the largest "sharded" dimension (global != write extent, or
///    already reduced; ties go to the lowest index) steps down to its next
///    smaller divisor of the write extent; if none is > 1, every dimension
///    counts as sharded.
///
/// The result always divides `write_shape` (after the zero-to-one rule).
/// InvalidArgument if the ranks differ, a shard axis is out of range, or
/// `target_byte_size < itemsize`.
absl::StatusOr<std::vector<int64_t>> ChooseChunkShape(
    absl::Span<const int64_t> global_shape,
    absl::Span<const int64_t> write_shape, size_t itemsize,
    std::optional<int64_t> target_byte_size,
    absl::Span<const int> shard_axes = {});

/// The chunk byte size target to use when writing through OCDBT
/// (docs/format.md, "Chunk shapes and replicas"):
///  * `target_data_file_size == 0` (unlimited): `chunk_byte_size` unchanged;
///  * no `chunk_byte_size`: `target_data_file_size` if the slice
///    (`prod(write_shape) * itemsize`) is larger than it, else none;
///  * otherwise `min(chunk_byte_size, target_data_file_size)`.
/// Without OCDBT, just pass `chunk_byte_size` to ChooseChunkShape.
std::optional<int64_t> ClampChunkByteSizeForOcdbt(
    std::optional<int64_t> chunk_byte_size, int64_t target_data_file_size,
    absl::Span<const int64_t> write_shape, size_t itemsize);

}  // namespace internal_layout
}  // namespace ocpx

#endif  // OCPX_LAYOUT_CHUNK_LAYOUT_H_

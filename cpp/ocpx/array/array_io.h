// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_ARRAY_IO_H_
#define OCPX_ARRAY_ARRAY_IO_H_

/// \file
/// Reading and writing boxes of a zarr v3 array stored under `param_path` in
/// a ChunkStore: `param_path/zarr.json` and `param_path/<chunk key>`.
/// Chunks are encoded/decoded in parallel on a thread pool.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cpp/ocpx/array/chunk_store.h"
#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/base/byte_limiter.h"
#include "cpp/ocpx/base/thread_pool.h"

namespace ocpx {
namespace internal_zarr {

struct WriteRegionOptions {
  /// Store chunks (and inner chunks) even if they equal the fill value, as
  /// Orbax does (`store_data_equal_to_fill_value=true`).  When false, such
  /// chunks are deleted instead, like TensorStore's default.
  bool store_fill_value_chunks = false;
  /// Pool for encoding; null means `ThreadPool::Default()`.
  internal::ThreadPool* pool = nullptr;
  /// Max chunks in flight (0 = pool size + 1).
  size_t max_parallelism = 0;
  /// If set, bounds the bytes in flight: each chunk reserves its decoded size
  /// (twice that if it is staged, i.e. gathered into a buffer or merged with
  /// the stored chunk) before it is gathered/encoded, and releases it once
  /// the encoded value has been handed to the store.  Not owned.
  internal::ByteLimiter* limiter = nullptr;
};

struct ReadRegionOptions {
  /// If true, a missing chunk is a NotFound error naming its key (Orbax's
  /// `raise_array_data_missing_error`); otherwise it reads as fill value.
  bool fail_on_missing_chunks = false;
  internal::ThreadPool* pool = nullptr;
  size_t max_parallelism = 0;
  /// If set, bounds the bytes in flight: each chunk reserves its decoded size
  /// (twice that if it is decoded into a staging buffer rather than straight
  /// into `out`) while it is read, decoded and copied out.  Not owned.
  internal::ByteLimiter* limiter = nullptr;
};

/// `param_path + "/" + key`, or `key` if `param_path` is empty (a trailing
/// '/' of `param_path` is ignored).
std::string JoinKey(absl::string_view param_path, absl::string_view key);

/// Writes `param_path/zarr.json`, or `param_path/.zarray` for a zarr v2
/// array (TensorStore's exact bytes in both cases).  A non-empty
/// `metadata_key` names the file instead (TensorStore's `metadata_key`
/// option, Orbax's `TypeHandler(metadata_key=...)`); it must pass
/// `ValidateMetadataKey`.
absl::Status WriteArrayMetadata(ChunkStore& store, absl::string_view param_path,
                                const ArrayMetadata& metadata,
                                absl::string_view metadata_key = {});

/// OK if `key` can name an array's metadata file: one non-empty path
/// component, not "." or "..", and not a name a chunk key could take ("c",
/// or digits joined by '.', as zarr v2 chunk keys are).  InvalidArgument
/// naming the key otherwise.
absl::Status ValidateMetadataKey(absl::string_view key);

/// Parses array metadata stored under a custom key: zarr v3 (`zarr.json`
/// content) or zarr v2 (`.zarray` content), told apart by `zarr_format`.
absl::StatusOr<ArrayMetadata> ParseAnyArrayMetadata(absl::string_view text);

/// Reads and parses `param_path/zarr.json`; NotFound if it does not exist,
/// InvalidArgument (naming the key and field) if it is invalid.
absl::StatusOr<ArrayMetadata> ReadArrayMetadata(ChunkStore& store,
                                                absl::string_view param_path);

/// Writes the box `[origin, origin + shape)` of the array from `data`
/// (C-contiguous, native byte order, `ItemSize(dtype)` bytes per element).
/// Chunks fully covered (within the array bounds) are encoded directly;
/// partially covered ones are read, merged and re-encoded.  Chunks beyond the
/// array edge are padded with the fill value.  The box must lie within the
/// array.  Does not write zarr.json.
absl::Status WriteRegion(ChunkStore& store, absl::string_view param_path,
                         const ArrayMetadata& metadata,
                         absl::Span<const int64_t> origin,
                         absl::Span<const int64_t> shape, const void* data,
                         const WriteRegionOptions& options = {});

/// Reads the box `[origin, origin + shape)` into `out` (C-contiguous).  Only
/// chunks intersecting the box are read and decoded.  Errors name the key of
/// the offending chunk (DataLoss for corrupt data).
absl::Status ReadRegion(ChunkStore& store, absl::string_view param_path,
                        const ArrayMetadata& metadata,
                        absl::Span<const int64_t> origin,
                        absl::Span<const int64_t> shape, void* out,
                        const ReadRegionOptions& options = {});

/// One box of a `ReadRegions` call: `[origin, origin + shape)` read into
/// `out` (C-contiguous).
struct ReadBox {
  absl::Span<const int64_t> origin;
  absl::Span<const int64_t> shape;
  void* out = nullptr;
};

/// Reads several boxes of one array (e.g. every device's box of a sharded
/// array) with each chunk read and decoded once, however many boxes it
/// intersects: the chunk is decoded straight into a box that holds all of
/// it contiguously (or into a staging buffer, freed as soon as it is copied
/// out) and copied from there into every other box that needs part of it.
/// Boxes may overlap (e.g. replicas).  Errors as `ReadRegion`.
absl::Status ReadRegions(ChunkStore& store, absl::string_view param_path,
                         const ArrayMetadata& metadata,
                         absl::Span<const ReadBox> boxes,
                         const ReadRegionOptions& options = {});

}  // namespace internal_zarr
}  // namespace ocpx

#endif  // OCPX_ARRAY_ARRAY_IO_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_CHECKPOINT_ARRAY_STORE_H_
#define OCPX_CHECKPOINT_ARRAY_STORE_H_

/// \file
/// The arrays of one checkpointable directory (e.g. `<ckpt>/state`), as
/// Orbax stores them: zarr v3 (or v2, read-only) arrays named by param name,
/// inside the directory's merged OCDBT database, or (without OCDBT) as plain
/// per-param directories.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cpp/ocpx/array/array_io.h"
#include "cpp/ocpx/array/chunk_store.h"
#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/base/byte_limiter.h"
#include "cpp/ocpx/kvstore/ocdbt_reader.h"
#include "cpp/ocpx/kvstore/ocdbt_writer.h"

namespace ocpx {
namespace internal_checkpoint {

/// Read access to the arrays of a checkpointable directory.  Thread-safe.
class CheckpointArrayReader {
 public:
  /// Opens `directory`.  With `use_ocdbt`, the database rooted there must
  /// exist (NotFound naming `manifest.ocdbt` otherwise).
  /// `extra_metadata_keys` are further names of array metadata files (the
  /// `metadata_key` of Orbax TypeHandlers), tried in order before
  /// `zarr.json` and `.zarray`; each must pass `ValidateMetadataKey`.
  static absl::StatusOr<std::unique_ptr<CheckpointArrayReader>> Open(
      std::string directory, bool use_ocdbt,
      std::vector<std::string> extra_metadata_keys = {});

  const std::string& directory() const { return directory_; }

  /// The metadata of `param` (`<param>/<extra key>` for the first extra key
  /// stored, else `<param>/zarr.json`, else `<param>/.zarray`), cached.
  /// NotFound naming the param if none exists.
  absl::StatusOr<internal_zarr::ArrayMetadata> Metadata(
      const std::string& param);

  /// As `Metadata`, but the cached entry itself, shared and not copied (for
  /// callers touching thousands of arrays).
  absl::StatusOr<std::shared_ptr<const internal_zarr::ArrayMetadata>>
  MetadataRef(const std::string& param);

  /// Reads the box `[origin, origin + shape)` of `param` into `out`
  /// (C-contiguous, native order).  With `fail_on_missing_chunks`, a missing
  /// chunk is NotFound.  Errors name the directory, param and chunk key.
  /// With a `limiter`, the chunks being read and decoded hold reservations
  /// of their decoded size (see `ReadRegionOptions::limiter`); the caller
  /// keeps it alive for the call.
  absl::Status Read(const std::string& param, absl::Span<const int64_t> origin,
                    absl::Span<const int64_t> shape, void* out,
                    bool fail_on_missing_chunks,
                    internal::ByteLimiter* limiter = nullptr);

  /// Reads several boxes of `param` at once (each into its `out`): every
  /// chunk is read and decoded once, however many boxes need it (see
  /// `ReadRegions`).  Otherwise as `Read`.
  absl::Status ReadBoxes(const std::string& param,
                         absl::Span<const internal_zarr::ReadBox> boxes,
                         bool fail_on_missing_chunks,
                         internal::ByteLimiter* limiter = nullptr);

  /// The param names of every stored array, sorted.
  absl::StatusOr<std::vector<std::string>> ListParams();

 private:
  CheckpointArrayReader() = default;
  absl::Status Annotate(const absl::Status& s, const std::string& param) const;

  std::string directory_;
  std::vector<std::string> extra_metadata_keys_;
  std::shared_ptr<const internal_ocdbt::OcdbtReader> ocdbt_;
  std::unique_ptr<internal_zarr::ChunkStore> store_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string,
                      std::shared_ptr<const internal_zarr::ArrayMetadata>>
      metadata_ ABSL_GUARDED_BY(mu_);
};

/// Options for `CheckpointArrayWriter`.
struct CheckpointArrayWriterOptions {
  /// Store arrays in an OCDBT database at the writer's directory.
  bool use_ocdbt = true;
  /// OCDBT data files roll over at this size (0 = unlimited).
  uint64_t target_data_file_size = uint64_t{1} << 31;
  /// If set, shared by every `Write` of this writer (and whoever else holds
  /// it): chunks being gathered and encoded hold reservations of their
  /// decoded size until the store has their encoded value (see
  /// `WriteRegionOptions::limiter`).  Null: unlimited.
  std::shared_ptr<internal::ByteLimiter> limiter;
  /// `Commit` fsyncs what it wrote (see `OcdbtWriteOptions::sync`).
  bool sync = true;
};

/// Writes arrays into one process's database (e.g. `<dir>/ocdbt.process_0`)
/// or, without OCDBT, into plain per-param directories.  `WriteMetadata` and
/// `Write` may be called concurrently; `Commit` publishes everything at once
/// (OCDBT) and must be called last.
class CheckpointArrayWriter {
 public:
  static absl::StatusOr<std::unique_ptr<CheckpointArrayWriter>> Open(
      std::string directory, const CheckpointArrayWriterOptions& options);
  ~CheckpointArrayWriter();

  /// Writes `param`'s metadata as `zarr.json` (`.zarray` for zarr v2), or
  /// under `metadata_key` if non-empty (see `WriteArrayMetadata`).
  absl::Status WriteMetadata(const std::string& param,
                             const internal_zarr::ArrayMetadata& metadata,
                             absl::string_view metadata_key = {});
  /// Writes a box of `param` (chunks stored even if equal to the fill value,
  /// as Orbax does), within the options' byte limit.
  absl::Status Write(const std::string& param,
                     const internal_zarr::ArrayMetadata& metadata,
                     absl::Span<const int64_t> origin,
                     absl::Span<const int64_t> shape, const void* data);
  /// One box for `WriteMany`.
  struct WriteRequest {
    std::string param;
    const internal_zarr::ArrayMetadata* metadata = nullptr;  // not owned
    std::vector<int64_t> origin;
    std::vector<int64_t> shape;
    const void* data = nullptr;  // C order, `shape`; not owned
  };
  /// Writes every box as `Write` does, several at once on the default
  /// thread pool (and each box's chunks in parallel), so that many small
  /// arrays cost one call instead of one each.  Returns the first error in
  /// request order; after an error, boxes not started yet are skipped.
  absl::Status WriteMany(absl::Span<const WriteRequest> requests);
  /// `WriteMetadata` for every (param, metadata, metadata_key), in parallel.
  struct MetadataRequest {
    std::string param;
    internal_zarr::ArrayMetadata metadata;
    std::string metadata_key;  // empty: the standard name
  };
  absl::Status WriteMetadataMany(absl::Span<const MetadataRequest> requests);
  /// Commits the OCDBT generation (no-op without OCDBT).
  absl::Status Commit();

 private:
  CheckpointArrayWriter() = default;

  std::string directory_;
  std::unique_ptr<internal_ocdbt::OcdbtTransaction> txn_;
  std::unique_ptr<internal_zarr::ChunkStore> store_;
  std::shared_ptr<internal::ByteLimiter> limiter_;
  bool committed_ = false;
};

}  // namespace internal_checkpoint
}  // namespace ocpx

#endif  // OCPX_CHECKPOINT_ARRAY_STORE_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_CHECKPOINT_OCDBT_CHUNK_STORE_H_
#define OCPX_CHECKPOINT_OCDBT_CHUNK_STORE_H_

/// \file
/// `ChunkStore` adapters that let the zarr array code read from an OCDBT
/// snapshot and write into an OCDBT transaction.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cpp/ocpx/array/chunk_store.h"
#include "cpp/ocpx/kvstore/ocdbt_reader.h"
#include "cpp/ocpx/kvstore/ocdbt_writer.h"

namespace ocpx {
namespace internal_checkpoint {

/// Reads keys from one generation of an OCDBT database.  Writes fail.
class OcdbtReadChunkStore : public internal_zarr::ChunkStore {
 public:
  explicit OcdbtReadChunkStore(
      std::shared_ptr<const internal_ocdbt::OcdbtReader> reader)
      : reader_(std::move(reader)) {}

  absl::StatusOr<std::optional<std::string>> Read(
      const std::string& key) override;
  absl::Status Write(const std::string& key, std::string value) override;
  absl::Status Delete(const std::string& key) override;
  bool SupportsValueRanges() const override { return true; }
  absl::StatusOr<std::optional<ValueRange>> OpenValue(
      const std::string& key) override;

  const internal_ocdbt::OcdbtReader& reader() const { return *reader_; }

 private:
  std::shared_ptr<const internal_ocdbt::OcdbtReader> reader_;
};

/// Writes keys into a pending OCDBT transaction (values larger than the
/// inline limit go to data files at once).  Reads see the transaction's own
/// pending writes over the database it started from, so partial-chunk
/// writes merge (read-modify-write) correctly.
class OcdbtWriteChunkStore : public internal_zarr::ChunkStore {
 public:
  explicit OcdbtWriteChunkStore(internal_ocdbt::OcdbtTransaction* txn)
      : txn_(txn) {}

  absl::StatusOr<std::optional<std::string>> Read(
      const std::string& key) override;
  absl::Status Write(const std::string& key, std::string value) override;
  /// Writes `value` to a data file (or inlines a copy) without copying it
  /// first.
  absl::Status WriteCopy(const std::string& key,
                         absl::string_view value) override;
  absl::Status Delete(const std::string& key) override;
  /// Writes each piece to a data file as it comes (`PutStreamed`).
  absl::Status WriteStreamed(const std::string& key,
                             const Producer& produce) override;
  bool SupportsStreamedWrites() const override { return true; }

 private:
  internal_ocdbt::OcdbtTransaction* txn_;
};

}  // namespace internal_checkpoint
}  // namespace ocpx

#endif  // OCPX_CHECKPOINT_OCDBT_CHUNK_STORE_H_

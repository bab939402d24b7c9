// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/checkpoint/ocdbt_chunk_store.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace ocpx {
namespace internal_checkpoint {

using ::ocpx::internal_ocdbt::LeafNodeEntry;
using ::ocpx::internal_zarr::ChunkStore;

absl::StatusOr<std::optional<std::string>> OcdbtReadChunkStore::Read(
    const std::string& key) {
  return reader_->Get(key);
}

absl::StatusOr<std::optional<ChunkStore::ValueRange>>
OcdbtReadChunkStore::OpenValue(const std::string& key) {
  absl::StatusOr<std::optional<LeafNodeEntry>> entry = reader_->GetEntry(key);
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) return std::nullopt;
  ValueRange range;
  range.size =
      (*entry)->indirect ? (*entry)->ref.length : (*entry)->inline_value.size();
  range.read_at = [reader = reader_, e = **std::move(entry)](
                      uint64_t offset, absl::Span<char> out) {
    return reader->ReadValueRange(e, offset, out);
  };
  return range;
}

absl::Status OcdbtReadChunkStore::Write(const std::string& key, std::string) {
  return absl::FailedPreconditionError(
      absl::StrCat(reader_->path(), ": read-only store; cannot write ", key));
}

absl::Status OcdbtReadChunkStore::Delete(const std::string& key) {
  return absl::FailedPreconditionError(
      absl::StrCat(reader_->path(), ": read-only store; cannot delete ", key));
}

absl::StatusOr<std::optional<std::string>> OcdbtWriteChunkStore::Read(
    const std::string& key) {
  // Read-your-writes: partial-chunk writes merge with pending values.
  return txn_->Get(key);
}

absl::Status OcdbtWriteChunkStore::Write(const std::string& key,
                                         std::string value) {
  return txn_->Put(key, value);
}

absl::Status OcdbtWriteChunkStore::WriteCopy(const std::string& key,
                                             absl::string_view value) {
  return txn_->Put(key, value);
}

absl::Status OcdbtWriteChunkStore::WriteStreamed(const std::string& key,
                                                 const Producer& produce) {
  return txn_->PutStreamed(key, produce);
}

absl::Status OcdbtWriteChunkStore::Delete(const std::string& key) {
  return txn_->Delete(key);
}

}  // namespace internal_checkpoint
}  // namespace ocpx

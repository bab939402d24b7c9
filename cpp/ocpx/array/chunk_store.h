// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_CHUNK_STORE_H_
#define OCPX_ARRAY_CHUNK_STORE_H_

/// \file
/// The minimal key-value interface the zarr array code reads and writes
/// through, plus a directory-backed and an in-memory implementation.  An
/// OCDBT-backed adapter lives with the OCDBT code.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace ocpx {
namespace internal_zarr {

/// A flat key -> value store.  Keys are '/'-separated relative paths such as
/// `params.w/zarr.json` or `params.w/c/0/1`.  All methods are thread-safe and
/// may be called concurrently.
class ChunkStore {
 public:
  virtual ~ChunkStore() = default;

  /// The value of `key`, or nullopt if it does not exist.
  virtual absl::StatusOr<std::optional<std::string>> Read(
      const std::string& key) = 0;

  /// Creates or replaces `key`.
  virtual absl::Status Write(const std::string& key, std::string value) = 0;

  /// Removes `key`; OK if it does not exist.
  virtual absl::Status Delete(const std::string& key) = 0;

  /// Creates or replaces `key` with the bytes of `value`, which stays the
  /// caller's (a buffer it reuses).  The default copies them into `Write`;
  /// stores that copy or write the bytes anyway override it.
  virtual absl::Status WriteCopy(const std::string& key,
                                 absl::string_view value) {
    return Write(key, std::string(value));
  }

  /// Hands the pieces of a value to the store, in order.
  using PieceSink = std::function<absl::Status(absl::string_view piece)>;
  /// Produces a value piece by piece into the sink it is given.
  using Producer = std::function<absl::Status(const PieceSink& sink)>;

  /// Creates or replaces `key` with the value `produce` hands to its sink,
  /// piece by piece.  Stores that can (`SupportsStreamedWrites()`) write the
  /// pieces as they come, never holding the value whole; the default gathers
  /// them and calls `Write`.  The key is set only if `produce` and every
  /// write succeed; after an error, bytes already written may remain in the
  /// store's files, unreferenced.
  virtual absl::Status WriteStreamed(const std::string& key,
                                     const Producer& produce);

  /// True if `WriteStreamed` writes pieces as they come.
  virtual bool SupportsStreamedWrites() const { return false; }

  /// A stored value read piece by piece: `read_at(offset, out)` fills `out`
  /// with the bytes at `offset` (OutOfRange beyond `size`).
  struct ValueRange {
    uint64_t size = 0;
    std::function<absl::Status(uint64_t offset, absl::Span<char> out)> read_at;
  };

  /// True if `OpenValue` is implemented (values can be streamed rather than
  /// read whole).
  virtual bool SupportsValueRanges() const { return false; }

  /// The value of `key` as a `ValueRange`, or nullopt if it does not exist.
  /// Unimplemented unless `SupportsValueRanges()`.
  virtual absl::StatusOr<std::optional<ValueRange>> OpenValue(
      const std::string& key) {
    return absl::UnimplementedError(
        absl::StrCat("ranged reads of \"", key, "\" are not supported"));
  }
};

/// Stores key `a/c/0/1` as the file `root/a/c/0/1` (TensorStore's `file`
/// kvstore layout).  Writes go to a temporary file in the same directory that
/// is then renamed over the key, so readers never see partial values.  With
/// `sync` (the default, as TensorStore's `file_io_sync`), the temporary file
/// is fsynced before the rename and its directory after it, and every
/// directory `Write` creates is made durable by fsyncing its parent: a value
/// is on disk when `Write` returns.
/// Keys must be relative and must not contain empty, "." or ".." components.
class FileChunkStore : public ChunkStore {
 public:
  explicit FileChunkStore(std::string root, bool sync = true);

  absl::StatusOr<std::optional<std::string>> Read(
      const std::string& key) override;
  absl::Status Write(const std::string& key, std::string value) override;
  absl::Status Delete(const std::string& key) override;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  bool sync_;
};

/// An in-memory store (tests, staging).
class MemoryChunkStore : public ChunkStore {
 public:
  absl::StatusOr<std::optional<std::string>> Read(
      const std::string& key) override;
  absl::Status Write(const std::string& key, std::string value) override;
  absl::Status Delete(const std::string& key) override;

  /// A copy of the current contents.
  absl::flat_hash_map<std::string, std::string> Contents() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> values_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal_zarr
}  // namespace ocpx

#endif  // OCPX_ARRAY_CHUNK_STORE_H_

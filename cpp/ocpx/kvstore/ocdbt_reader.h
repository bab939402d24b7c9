// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_KVSTORE_OCDBT_READER_H_
#define OCPX_KVSTORE_OCDBT_READER_H_

/// \file
/// Read access to an OCDBT database directory (TensorStore/Orbax format):
/// point lookups, streamed ordered range listing, and older generations.
/// Data files are read with pread through a cache of open descriptors;
/// decoded B+tree nodes are kept in a small LRU cache.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cpp/ocpx/format/btree_node.h"
#include "cpp/ocpx/format/manifest.h"
#include "cpp/ocpx/format/version_tree.h"
#include "cpp/ocpx/kvstore/internal/file_io.h"

namespace ocpx {
namespace internal_ocdbt {

/// A half-open key range `[inclusive_min, exclusive_max)`; an empty
/// `exclusive_max` means unbounded.
struct KeyRange {
  std::string inclusive_min;
  std::string exclusive_max;

  /// All keys starting with `prefix`.
  static KeyRange Prefix(absl::string_view prefix);
  bool Contains(absl::string_view key) const {
    return key >= inclusive_min &&
           (exclusive_max.empty() || key < exclusive_max);
  }
};

/// Options for `OcdbtReader::Open`.
struct OcdbtReadOptions {
  /// Generation to read; latest if unset.
  std::optional<uint64_t> generation;
  /// Budget of the decoded-node cache (approximate bytes).
  size_t node_cache_bytes = size_t{64} << 20;
};

/// An opened, immutable snapshot of one generation of a database.  All
/// methods are thread-safe.
class OcdbtReader {
 public:
  /// Opens the database in directory `path`.  NotFound if it has no
  /// manifest or the generation does not exist; DataLoss if corrupt.
  static absl::StatusOr<std::shared_ptr<const OcdbtReader>> Open(
      std::string path, const OcdbtReadOptions& options = {});

  /// Reads only the latest manifest (resolving the numbered kind).  NotFound
  /// if the directory holds no database.
  static absl::StatusOr<Manifest> ReadLatestManifest(const std::string& path);

  const std::string& path() const { return path_; }
  /// The latest manifest (even when an older generation was selected).
  const Manifest& manifest() const { return manifest_; }
  const Config& config() const { return manifest_.config; }
  /// The selected version.
  const VersionEntry& version() const { return version_; }
  uint64_t generation() const { return version_.generation; }
  uint64_t num_keys() const { return version_.statistics.num_keys; }

  /// The value of `key`, or nullopt if absent.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const;

  /// The leaf entry of `key` (value inline or as a reference resolved
  /// relative to the database root), or nullopt if absent.  `entry.key` is
  /// the full key.
  absl::StatusOr<std::optional<LeafNodeEntry>> GetEntry(
      absl::string_view key) const;

  /// Reads the value of a leaf entry.
  absl::StatusOr<std::string> ReadValue(const LeafNodeEntry& entry) const;

  /// Reads `out.size()` bytes at `offset` of a leaf entry's value into `out`
  /// (OutOfRange if that is beyond the value's end).
  absl::Status ReadValueRange(const LeafNodeEntry& entry, uint64_t offset,
                              absl::Span<char> out) const;

  /// Called in key order with the full key and the leaf entry (references
  /// resolved relative to the database root; `entry.key` is NOT the full
  /// key).  Returning an error stops the walk and is passed through;
  /// returning `Cancelled` stops it with OK.
  using EntryCallback =
      std::function<absl::Status(absl::string_view key, const LeafNodeEntry&)>;

  /// Streams the entries in `range` without materialising the listing.
  absl::Status ListEntries(const KeyRange& range,
                           const EntryCallback& callback) const;

  /// Streams `(key, value)` pairs in `range`, reading each value.
  absl::Status List(const KeyRange& range,
                    const std::function<absl::Status(absl::string_view key,
                                                     absl::string_view value)>&
                        callback) const;

  /// Reads a version-tree node referenced from the manifest or another
  /// version node (file ids resolved relative to the root).
  absl::StatusOr<VersionTreeNode> ReadVersionNode(
      const VersionNodeReference& ref) const;

  /// Every generation still reachable, oldest first.
  absl::StatusOr<std::vector<VersionEntry>> ListVersions() const;

 private:
  OcdbtReader(std::string path, size_t cache_bytes)
      : path_(std::move(path)), cache_bytes_(cache_bytes) {}

  absl::StatusOr<std::shared_ptr<const BtreeNode>> LoadNode(
      const IndirectDataReference& ref, uint8_t expected_height) const;
  absl::StatusOr<VersionEntry> FindVersion(uint64_t generation) const;
  absl::Status CollectVersions(const VersionNodeReference& ref,
                               std::vector<VersionEntry>* out) const;
  absl::StatusOr<bool> Visit(const IndirectDataReference& ref, uint8_t height,
                             const std::string& prefix,
                             absl::string_view lower_bound,
                             const KeyRange& range,
                             const EntryCallback& callback) const;

  std::string path_;
  Manifest manifest_;
  VersionEntry version_;
  mutable internal_kvstore::ReadFileCache files_;

  const size_t cache_bytes_;
  mutable absl::Mutex cache_mu_;
  mutable size_t cache_used_ ABSL_GUARDED_BY(cache_mu_) = 0;
  struct CachedNode {
    std::string key;
    std::shared_ptr<const BtreeNode> node;
    size_t charge;
  };
  mutable std::list<CachedNode> cache_lru_ ABSL_GUARDED_BY(cache_mu_);
  mutable absl::flat_hash_map<std::string, decltype(cache_lru_)::iterator>
      cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_KVSTORE_OCDBT_READER_H_

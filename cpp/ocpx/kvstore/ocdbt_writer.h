// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_KVSTORE_OCDBT_WRITER_H_
#define OCPX_KVSTORE_OCDBT_WRITER_H_

/// \file
/// Writing OCDBT databases: a multi-threaded transaction that commits a batch
/// of puts and deletes as one new generation, and the Orbax-style merge of
/// per-process databases into a parent database.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cpp/ocpx/format/btree_node.h"
#include "cpp/ocpx/format/config.h"
#include "cpp/ocpx/format/data_file_table.h"
#include "cpp/ocpx/kvstore/internal/file_io.h"
#include "cpp/ocpx/kvstore/ocdbt_reader.h"

namespace ocpx {
namespace internal_ocdbt {

/// Writer options.  The config fields apply only when creating a database;
/// an existing database keeps its config (uuid included).  Defaults are
/// TensorStore's defaults.
struct OcdbtWriteOptions {
  uint32_t max_inline_value_bytes = 100;
  uint32_t max_decoded_node_bytes = 8388608;
  uint8_t version_tree_arity_log2 = 4;
  CompressionOptions compression;  // zstd, level 0 (= 3)
  ManifestKind manifest_kind = ManifestKind::kSingle;
  /// Random if unset.
  std::optional<std::array<uint8_t, 16>> uuid;
  /// Write the data files of streamed values (`PutStreamed`) with
  /// `O_DIRECT`, past the page cache, where the file system takes it.
  bool direct_io = true;
  /// Roll to a new data file once this many bytes are written (0 = never).
  uint64_t target_data_file_size = uint64_t{1} << 31;
  /// Keep every generation reachable through version-tree nodes
  /// (docs/format.md, "Version tree"); if false, only the current leaf block of
  /// versions is kept (docs/format.md, "Version tree").
  bool keep_version_history = true;
  /// `Commit` fsyncs the data files, the manifest and their directories
  /// before it returns.  false: the manifest is still published atomically
  /// (temp file + rename) but nothing is synced; the caller makes the
  /// database durable itself (ocpx's save fsyncs its whole temporary
  /// checkpoint directory, concurrently, before renaming it into place).
  bool sync = true;

  /// The config Orbax uses for its databases: inline <= 1024 bytes, 100 MB
  /// nodes, zstd, arity 16, single manifest, random uuid.
  static OcdbtWriteOptions Orbax();
};

/// One pending generation of a database.  `Put`/`Delete`/`PutReference` may
/// be called concurrently from many threads; values longer than
/// `max_inline_value_bytes` are written to a data file immediately, so only
/// keys, inline values and references stay in memory.  `Commit` (not
/// concurrently with mutations) writes the new B+tree, the version tree and
/// finally the manifest (atomically).  Optimistic concurrency: the manifest
/// is published under an exclusive `flock` on the database directory after
/// checking that the latest generation is still the one the transaction
/// started from, so of several transactions on one base generation the first
/// to commit wins and the others fail with `Aborted` (nothing of theirs
/// becomes visible; their data files are left unreferenced).  Writers that
/// do not take the lock (other libraries) are not coordinated.
class OcdbtTransaction {
 public:
  /// Starts a transaction on the database in `path` (created, with its
  /// directories, if it does not exist yet).
  static absl::StatusOr<std::unique_ptr<OcdbtTransaction>> Begin(
      std::string path, const OcdbtWriteOptions& options = {});
  ~OcdbtTransaction();

  /// The config in effect (the existing database's, or the new one).
  const Config& config() const { return config_; }
  /// Generation the transaction is based on (0 for a new database).
  uint64_t base_generation() const { return base_generation_; }

  /// Sets `key` to `value` (the last call for a key wins).
  absl::Status Put(absl::string_view key, absl::string_view value);
  /// Deletes `key` (no-op if absent).
  absl::Status Delete(absl::string_view key);
  /// Hands the pieces of a value to the transaction, in order.
  using PieceSink = std::function<absl::Status(absl::string_view piece)>;

  /// Sets `key` to the value `produce` hands to its sink piece by piece,
  /// writing each piece to a data file as it comes (the value is never held
  /// whole).  The data file is this call's alone until it returns, so
  /// several streamed puts run in parallel, each appending to its own file;
  /// the files are reused by later streamed puts.  If `produce` or a write
  /// fails, the key is left unchanged (the bytes written stay in the data
  /// file, unreferenced).
  absl::Status PutStreamed(
      absl::string_view key,
      const std::function<absl::Status(const PieceSink& sink)>& produce);

  /// Sets `key` to bytes already stored in a data file; `ref.file` is
  /// relative to this database's root (may point into subdirectories).
  absl::Status PutReference(absl::string_view key,
                            const IndirectDataReference& ref);

  /// Read-your-writes lookup: the value `key` has in this transaction (its
  /// pending put or delete), else in the base generation.  Thread-safe.
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key);

  /// Writes everything and publishes the new generation; returns it.  The
  /// transaction cannot be used afterwards.
  absl::StatusOr<uint64_t> Commit();

  /// `Commit` of a transaction whose whole content is `entries`: full keys
  /// in strictly increasing order, inline values within the config's
  /// `max_inline_value_bytes`, references relative to this database's root.
  /// Skips the per-key bookkeeping of `Put` (a merge hands over thousands of
  /// entries at once).  Fails with `FailedPrecondition` if the base
  /// generation has keys or other mutations are pending, and with
  /// `InvalidArgument` for entries that break the above.
  absl::StatusOr<uint64_t> CommitSorted(std::vector<LeafNodeEntry> entries);

 private:
  struct Mutation {
    bool is_delete = false;
    LeafNodeEntry entry;  // key unused
  };
  struct DataFile {
    DataFileId id;
    std::unique_ptr<internal_kvstore::WritableFile> file;
    // Streamed puts' files, with `direct_io` where supported.
    std::unique_ptr<internal_kvstore::DirectAppender> direct;
    uint64_t size = 0;
    // Shared files (`Reserve`): bytes before this offset had their
    // writeback started (many small values add up to large ranges).
    uint64_t writeback_from = 0;
  };
  /// Streamed puts start their writeback in steps of this many bytes.
  static constexpr uint64_t kStreamWritebackBytes = uint64_t{8} << 20;

  OcdbtTransaction() = default;
  absl::Status Record(absl::string_view key, Mutation m);
  /// Whether the base generation has any key.
  bool BaseHasKeys() const {
    return base_ != nullptr && !base_->version().root.IsMissing();
  }
  /// Steps 2-4 of `Commit`: the B+tree of `entries`, the version tree and
  /// the manifest.
  absl::StatusOr<uint64_t> CommitEntries(std::vector<LeafNodeEntry> entries);
  /// Reserves `n` bytes in the current data file (rolling if needed).
  absl::StatusOr<std::pair<DataFile*, uint64_t>> Reserve(uint64_t n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<IndirectDataReference> WriteBlob(absl::string_view data);
  /// Creates a data file (added to `files_`).
  absl::StatusOr<DataFile*> NewDataFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string path_;
  OcdbtWriteOptions options_;
  Config config_;
  std::shared_ptr<const OcdbtReader> base_;  // null for a new database
  uint64_t base_generation_ = 0;
  bool new_database_ = false;

  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // A commit has begun: puts fail (their keys would miss the new tree).
  bool committing_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<DataFile>> files_ ABSL_GUARDED_BY(mu_);
  // The file `Reserve` appends to (shared by concurrent puts).
  DataFile* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Files of streamed puts not in use by one now (each is used by one
  // streamed put at a time; `size` of a file in use belongs to its user).
  std::vector<DataFile*> stream_idle_ ABSL_GUARDED_BY(mu_);
  // A node map: growing it moves pointers, not the entries (a flat map of
  // thousands of puts held two copies of its table at each rehash).
  absl::node_hash_map<std::string, Mutation> mutations_ ABSL_GUARDED_BY(mu_);
};

/// Commits `puts` and `deletes` to the database in `path` as one generation.
absl::StatusOr<uint64_t> OcdbtCommit(
    const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& puts,
    const std::vector<std::string>& deletes,
    const OcdbtWriteOptions& options = {});

/// Merges the latest generation of each child database `parent/<subdir>`
/// into the database in `parent` as one new generation (what Orbax does with
/// `ocdbt.process_<i>/` at finalize).  Out-of-line values are referenced in
/// place (base path `<subdir>/`), inline values copied; the children's key
/// sets may interleave but must be disjoint (InvalidArgument naming the key
/// otherwise).  Returns the parent's new generation.
absl::StatusOr<uint64_t> OcdbtMerge(
    const std::string& parent, const std::vector<std::string>& child_subdirs,
    const OcdbtWriteOptions& options = OcdbtWriteOptions::Orbax());

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_KVSTORE_OCDBT_WRITER_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_READER_CHECKPOINT_LAYOUT_H_
#define OCPX_READER_CHECKPOINT_LAYOUT_H_

/// \file
/// Internal: the one implementation of layout recognition and checkpointable
/// resolution (docs/format.md, "Checkpoint layout"): v1 (`orbax.checkpoint`
/// + `_CHECKPOINT_METADATA`), v0 composite and v0 flat checkpoints, the
/// reserved names, `state` first, and the AUTO rules.
///
/// It asks a `FileSource` about files relative to the checkpoint directory,
/// so the same rules run on local directories (`LocalFileSource`, used by
/// the public `CheckpointReader`) and on object stores (the Python API
/// implements a source over TensorStore kvstores).
///
/// Status codes say what went wrong, for the Python API to raise Orbax's
/// types: NotFound (the path does not exist), FailedPrecondition (it is not
/// a directory), Aborted (the checkpointable is being deleted) and
/// InvalidArgument (not a checkpoint of a known layout, or it does not hold
/// the requested PyTree).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ocpx/checkpoint_reader.h"

namespace ocpx {
namespace internal_reader {

/// What a path is.
enum class FileKind { kMissing, kFile, kDirectory };

/// Read access to a checkpoint directory.  `rel` is relative to the
/// checkpoint directory: "" is the directory itself, "a/b" a descendant and
/// "../x" a sibling (a parent's file).
class FileSource {
 public:
  virtual ~FileSource() = default;
  /// What `rel` is.
  virtual absl::StatusOr<FileKind> Stat(absl::string_view rel) const = 0;
  /// Whether `rel` is a symbolic link (false where there are none).
  virtual absl::StatusOr<bool> IsSymlink(absl::string_view rel) const = 0;
  /// The names of the subdirectories of directory `rel`.
  virtual absl::StatusOr<std::vector<std::string>> ListDirectories(
      absl::string_view rel) const = 0;
  /// The checkpoint directory, for messages.
  virtual std::string Describe() const = 0;
};

/// A FileSource over a local directory.
class LocalFileSource : public FileSource {
 public:
  explicit LocalFileSource(std::string root) : root_(std::move(root)) {}
  absl::StatusOr<FileKind> Stat(absl::string_view rel) const override;
  absl::StatusOr<bool> IsSymlink(absl::string_view rel) const override;
  absl::StatusOr<std::vector<std::string>> ListDirectories(
      absl::string_view rel) const override;
  std::string Describe() const override { return root_; }

 private:
  std::string Path(absl::string_view rel) const;
  std::string root_;
};

/// How a resolution is asked for.
struct LayoutOptions {
  /// "AUTO", a checkpointable name, or nullopt for a v0 flat PyTree at the
  /// checkpoint root (`checkpointable_name=None`).
  std::optional<std::string> checkpointable = "AUTO";
  /// An explicit name must hold `_METADATA`, as Orbax requires (`ocp.load`).
  /// False: any subdirectory (or, for the root, any stored arrays) will do,
  /// for tools that read PyTrees whose `_METADATA` was lost (`ocpx verify`).
  bool explicit_needs_metadata = true;
  /// The checkpointable an unfinished `delete` is removing: AUTO skips it,
  /// naming it is Aborted.
  std::optional<std::string> pending_deletion;
  /// Object stores have no atomic rename: a checkpoint (or its parent) is
  /// committed once it holds `commit_success.txt`.
  bool uses_commit_file = false;
};

/// The outcome of a resolution.
struct Resolution {
  CheckpointLayout layout = CheckpointLayout::kV1;
  /// The PyTree's subdirectory, or nullopt for a flat PyTree at the root.
  std::optional<std::string> checkpointable;
};

/// Checks that the source is a finalized checkpoint and returns whether it
/// has the v1 layout (else v0).
absl::StatusOr<bool> CheckCheckpointDir(const FileSource& src,
                                        bool uses_commit_file);

/// Whether the source is a finalized checkpoint of either layout (a v1
/// directory that lost `_CHECKPOINT_METADATA` but is a valid v0 one
/// counts); errors only for failed reads.
absl::StatusOr<bool> IsOrbaxCheckpoint(const FileSource& src,
                                       bool uses_commit_file);

/// The checkpointables: subdirectories other than the reserved names
/// (`metrics`, `AUTO`, `_CHECKPOINT_DELETION`), temporary directories and
/// `pending_deletion`; `state` first, then sorted.
absl::StatusOr<std::vector<std::string>> CheckpointableNames(
    const FileSource& src, const std::optional<std::string>& pending_deletion);

/// The checkpointables that hold a PyTree: `_METADATA`, or the stored
/// arrays of one whose `_METADATA` was lost (in `CheckpointableNames`
/// order, without the v0 data directories `d`, `array_metadatas`,
/// `ocdbt.process_*`).
absl::StatusOr<std::vector<std::string>> PytreeCheckpointableNames(
    const FileSource& src, const std::optional<std::string>& pending_deletion);

/// Resolves the PyTree to read (see `LayoutOptions`).  AUTO picks `state`,
/// then the other checkpointables in order, holding `_METADATA`; then (v0) a
/// flat PyTree at the root, with `_METADATA` or stored arrays; then a
/// checkpointable whose `_METADATA` was lost but whose arrays remain.
absl::StatusOr<Resolution> ResolveCheckpoint(const FileSource& src,
                                             const LayoutOptions& options);

}  // namespace internal_reader
}  // namespace ocpx

#endif  // OCPX_READER_CHECKPOINT_LAYOUT_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/reader/checkpoint_layout.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_reader {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::ErrnoStatus;
using ::ocpx::internal::ErrorCodeStatus;

namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kCheckpointMetadataFile = "_CHECKPOINT_METADATA";
constexpr absl::string_view kIndicatorFile = "orbax.checkpoint";
constexpr absl::string_view kPytreeMetadataFile = "_METADATA";
constexpr absl::string_view kCommitFile = "commit_success.txt";
constexpr absl::string_view kTmpSuffix = ".orbax-checkpoint-tmp";
constexpr absl::string_view kAuto = "AUTO";
constexpr absl::string_view kState = "state";

bool IsReserved(absl::string_view name) {
  return name == "metrics" || name == kAuto || name == "_CHECKPOINT_DELETION";
}

std::string Join(absl::string_view dir, absl::string_view name) {
  return dir.empty() ? std::string(name) : absl::StrCat(dir, "/", name);
}

absl::StatusOr<bool> Exists(const FileSource& src, absl::string_view rel) {
  OCPX_ASSIGN_OR_RETURN(FileKind k, src.Stat(rel));
  return k != FileKind::kMissing;
}

absl::StatusOr<bool> IsFile(const FileSource& src, absl::string_view rel) {
  OCPX_ASSIGN_OR_RETURN(FileKind k, src.Stat(rel));
  return k == FileKind::kFile;
}

// Whether directory `dir` stores arrays: an OCDBT manifest or per-process
// databases (a PyTree whose `_METADATA` was lost).
absl::StatusOr<bool> HasArrayData(const FileSource& src,
                                  absl::string_view dir) {
  OCPX_ASSIGN_OR_RETURN(bool manifest,
                        Exists(src, Join(dir, "manifest.ocdbt")));
  if (manifest) return true;
  OCPX_ASSIGN_OR_RETURN(auto children, src.ListDirectories(dir));
  return std::any_of(children.begin(), children.end(), [](const auto& c) {
    return absl::StartsWith(c, "ocdbt.process_");
  });
}

// Why the source is not a v1 checkpoint root ("" if it is one).
absl::StatusOr<std::string> V1Problem(const FileSource& src) {
  OCPX_ASSIGN_OR_RETURN(bool meta, Exists(src, kCheckpointMetadataFile));
  if (!meta) {
    return absl::StrCat("it has the '", kIndicatorFile,
                        "' indicator file but is missing the checkpoint "
                        "metadata file '",
                        kCheckpointMetadataFile, "'");
  }
  OCPX_ASSIGN_OR_RETURN(bool indicator, Exists(src, kIndicatorFile));
  if (!indicator) {
    return absl::StrCat("it is missing the indicator file '", kIndicatorFile,
                        "'");
  }
  return std::string();
}

// Why the source is not a v0 checkpoint root ("" if it is one).
absl::StatusOr<std::string> V0Problem(const FileSource& src) {
  OCPX_ASSIGN_OR_RETURN(
      bool in_checkpoint,
      Exists(src, absl::StrCat("../", kCheckpointMetadataFile)));
  if (in_checkpoint) {
    return std::string(
        "it appears to be a subdirectory of an Orbax checkpoint; load from "
        "its parent directory instead");
  }
  OCPX_ASSIGN_OR_RETURN(bool step_meta, Exists(src, kCheckpointMetadataFile));
  OCPX_ASSIGN_OR_RETURN(bool tree_meta, Exists(src, kPytreeMetadataFile));
  if (step_meta || tree_meta) return std::string();
  OCPX_ASSIGN_OR_RETURN(auto children, src.ListDirectories(""));
  std::sort(children.begin(), children.end());
  std::vector<std::string> steps;
  for (const std::string& c : children) {
    OCPX_ASSIGN_OR_RETURN(bool is_step,
                          Exists(src, Join(c, kCheckpointMetadataFile)));
    if (is_step) steps.push_back(absl::StrCat("'", c, "'"));
  }
  if (!steps.empty()) {
    return absl::StrCat(
        "it is a root directory holding several checkpoints; load one of its "
        "checkpoint subdirectories [",
        absl::StrJoin(steps, ", "), "] instead");
  }
  return std::string();
}

absl::Status NotAPytree(const FileSource& src, bool v1, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("Failed to interpret path ", src.Describe(), " as a ",
                   v1 ? "V1" : "V0", " Orbax PyTree: ", why));
}

}  // namespace

std::string LocalFileSource::Path(absl::string_view rel) const {
  if (rel.empty()) return root_;
  if (absl::ConsumePrefix(&rel, "../")) {
    fs::path p = fs::path(root_).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();  // a trailing '/'
    return (p.parent_path() / std::string(rel)).string();
  }
  return (fs::path(root_) / std::string(rel)).string();
}

absl::StatusOr<FileKind> LocalFileSource::Stat(absl::string_view rel) const {
  std::error_code ec;
  const fs::file_status st = fs::status(Path(rel), ec);
  if (ec && ec != std::errc::no_such_file_or_directory &&
      ec != std::errc::not_a_directory) {
    return ErrorCodeStatus(ec, "stat", Path(rel));
  }
  if (!fs::exists(st)) return FileKind::kMissing;
  return fs::is_directory(st) ? FileKind::kDirectory : FileKind::kFile;
}

absl::StatusOr<bool> LocalFileSource::IsSymlink(absl::string_view rel) const {
  std::error_code ec;
  return fs::is_symlink(fs::symlink_status(Path(rel), ec));
}

absl::StatusOr<std::vector<std::string>> LocalFileSource::ListDirectories(
    absl::string_view rel) const {
  std::vector<std::string> out;
  std::error_code ec;
  const std::string dir = Path(rel);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      out.push_back(it->path().filename().string());
    }
  }
  if (ec) return ErrorCodeStatus(ec, "list", dir);
  return out;
}

namespace {

// The checks common to both layouts: an existing, committed directory.
absl::Status CheckDirectory(const FileSource& src, bool uses_commit_file) {
  const std::string path = src.Describe();
  OCPX_ASSIGN_OR_RETURN(FileKind kind, src.Stat(""));
  if (kind == FileKind::kMissing) {
    return absl::NotFoundError(
        absl::StrCat("Checkpoint path ", path, " does not exist."));
  }
  if (kind != FileKind::kDirectory) {
    return absl::FailedPreconditionError(
        absl::StrCat("Checkpoint path ", path, " is not a directory."));
  }
  OCPX_ASSIGN_OR_RETURN(bool symlink, src.IsSymlink(""));
  std::string name = fs::path(path).lexically_normal().string();
  while (!name.empty() && name.back() == '/') name.pop_back();
  name = fs::path(name).filename().string();
  if (absl::StrContains(name, kTmpSuffix) && !symlink) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Found incomplete checkpoint at ", path,
        ": it is a temporary directory of a save that never committed."));
  }
  if (uses_commit_file) {
    OCPX_ASSIGN_OR_RETURN(bool here, IsFile(src, kCommitFile));
    OCPX_ASSIGN_OR_RETURN(bool parent,
                          IsFile(src, absl::StrCat("../", kCommitFile)));
    if (!here && !parent) {
      return absl::InvalidArgumentError(
          absl::StrCat("Found incomplete checkpoint at ", path,
                       ": it was never committed (no ", kCommitFile,
                       "); its save was interrupted or is still running."));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> IsOrbaxCheckpoint(const FileSource& src,
                                       bool uses_commit_file) {
  absl::Status s = CheckDirectory(src, uses_commit_file);
  if (absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
      absl::IsInvalidArgument(s)) {
    return false;
  }
  OCPX_RETURN_IF_ERROR(s);
  OCPX_ASSIGN_OR_RETURN(std::string v1, V1Problem(src));
  if (v1.empty()) return true;
  OCPX_ASSIGN_OR_RETURN(std::string v0, V0Problem(src));
  return v0.empty();
}

absl::StatusOr<bool> CheckCheckpointDir(const FileSource& src,
                                        bool uses_commit_file) {
  OCPX_RETURN_IF_ERROR(CheckDirectory(src, uses_commit_file));
  const std::string path = src.Describe();
  OCPX_ASSIGN_OR_RETURN(bool v1, Exists(src, kIndicatorFile));
  std::string problem;
  if (v1) {
    OCPX_ASSIGN_OR_RETURN(problem, V1Problem(src));
  } else {
    OCPX_ASSIGN_OR_RETURN(problem, V0Problem(src));
  }
  if (!problem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Could not recognize the checkpoint at ", path,
                     " as a valid Orbax checkpoint: ", problem,
                     ". To load a checkpoint in another layout, set "
                     "`ctx.checkpoint_layout`."));
  }
  return v1;
}

absl::StatusOr<std::vector<std::string>> CheckpointableNames(
    const FileSource& src, const std::optional<std::string>& pending_deletion) {
  OCPX_ASSIGN_OR_RETURN(auto children, src.ListDirectories(""));
  std::vector<std::string> names;
  for (std::string& c : children) {
    if (IsReserved(c) || c == pending_deletion) continue;
    if (absl::StrContains(c, kTmpSuffix)) {
      OCPX_ASSIGN_OR_RETURN(bool symlink, src.IsSymlink(c));
      if (!symlink) continue;
    }
    names.push_back(std::move(c));
  }
  std::sort(names.begin(), names.end());
  auto state = std::find(names.begin(), names.end(), kState);
  if (state != names.end()) std::rotate(names.begin(), state, state + 1);
  return names;
}

namespace {

bool IsV0DataDirectory(absl::string_view name) {
  return name == "d" || name == "array_metadatas" ||
         absl::StartsWith(name, "ocdbt.process_");
}

}  // namespace

absl::StatusOr<std::vector<std::string>> PytreeCheckpointableNames(
    const FileSource& src, const std::optional<std::string>& pending_deletion) {
  OCPX_ASSIGN_OR_RETURN(auto names, CheckpointableNames(src, pending_deletion));
  std::vector<std::string> out;
  for (std::string& n : names) {
    if (IsV0DataDirectory(n)) continue;
    OCPX_ASSIGN_OR_RETURN(bool meta, Exists(src, Join(n, kPytreeMetadataFile)));
    bool arrays = false;
    if (!meta) {
      OCPX_ASSIGN_OR_RETURN(arrays, HasArrayData(src, n));
    }
    if (meta || arrays) out.push_back(std::move(n));
  }
  return out;
}

absl::StatusOr<Resolution> ResolveCheckpoint(const FileSource& src,
                                             const LayoutOptions& options) {
  OCPX_ASSIGN_OR_RETURN(bool v1,
                        CheckCheckpointDir(src, options.uses_commit_file));
  auto layout = [v1](const std::optional<std::string>& name) {
    Resolution r;
    r.layout = v1                 ? CheckpointLayout::kV1
               : name.has_value() ? CheckpointLayout::kV0Composite
                                  : CheckpointLayout::kV0Flat;
    r.checkpointable = name;
    return r;
  };
  const std::optional<std::string>& name = options.checkpointable;
  if (name != std::optional<std::string>(kAuto)) {
    if (name.has_value() && name == options.pending_deletion) {
      return absl::AbortedError(absl::StrCat(
          "Checkpointable '", *name, "' at ", src.Describe(),
          " is pending deletion and cannot be read. Call delete() with the "
          "same arguments again to finish it."));
    }
    if (!name.has_value() && v1) {
      return NotAPytree(
          src, v1,
          "checkpointable_name=None is only supported for legacy V0 "
          "checkpoints; pass the name of the checkpointable to load, or omit "
          "it to load 'state'.");
    }
    const std::string dir = name.value_or("");
    OCPX_ASSIGN_OR_RETURN(bool has_meta,
                          IsFile(src, Join(dir, kPytreeMetadataFile)));
    if (has_meta) return layout(name);
    if (!options.explicit_needs_metadata) {
      if (!name.has_value()) {
        OCPX_ASSIGN_OR_RETURN(bool arrays, HasArrayData(src, ""));
        if (arrays) return layout(name);
      } else {
        OCPX_ASSIGN_OR_RETURN(FileKind k, src.Stat(dir));
        if (k == FileKind::kDirectory) return layout(name);
      }
    }
    OCPX_ASSIGN_OR_RETURN(bool flat, Exists(src, kPytreeMetadataFile));
    std::string hint;
    if (name.has_value() && flat) {
      hint =
          "this directory is itself a flat PyTree checkpoint: load it with "
          "checkpointable_name=None";
    } else {
      OCPX_ASSIGN_OR_RETURN(auto names,
                            CheckpointableNames(src, options.pending_deletion));
      std::vector<std::string> valid;
      for (const std::string& n : names) {
        OCPX_ASSIGN_OR_RETURN(bool m,
                              Exists(src, Join(n, kPytreeMetadataFile)));
        if (m) valid.push_back(absl::StrCat("'", n, "'"));
      }
      hint = valid.empty()
                 ? std::string("the checkpoint holds no PyTree checkpointable")
                 : absl::StrCat("valid PyTree checkpointable names: [",
                                absl::StrJoin(valid, ", "), "]");
    }
    const std::string what =
        name.has_value()
            ? absl::StrCat("checkpointable '", *name,
                           "' does not exist or has no PyTree metadata (",
                           kPytreeMetadataFile, ")")
            : std::string("no PyTree metadata at its root");
    return NotAPytree(src, v1, absl::StrCat(what, "; ", hint, "."));
  }
  OCPX_ASSIGN_OR_RETURN(auto candidates,
                        CheckpointableNames(src, options.pending_deletion));
  for (const std::string& c : candidates) {
    OCPX_ASSIGN_OR_RETURN(bool m, Exists(src, Join(c, kPytreeMetadataFile)));
    if (m) return layout(c);
  }
  if (!v1) {
    OCPX_ASSIGN_OR_RETURN(bool flat, Exists(src, kPytreeMetadataFile));
    if (flat) return layout(std::nullopt);
    // PyTrees whose _METADATA was lost still hold their arrays.
    OCPX_ASSIGN_OR_RETURN(bool arrays, HasArrayData(src, ""));
    if (arrays) return layout(std::nullopt);
  }
  for (const std::string& c : candidates) {
    if (IsV0DataDirectory(c)) continue;
    OCPX_ASSIGN_OR_RETURN(bool arrays, HasArrayData(src, c));
    if (arrays) return layout(c);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "Failed to load checkpoint using AUTO resolution mode on path='",
      src.Describe(),
      "'. No valid PyTree checkpointable found (no "
      "subdirectory holds ",
      kPytreeMetadataFile, ")."));
}

}  // namespace internal_reader
}  // namespace ocpx

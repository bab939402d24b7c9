// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_SYNC_TREE_H_
#define OCPX_BASE_SYNC_TREE_H_

/// \file
/// Making a directory tree durable in one call: every regular file and
/// directory below a root is fsynced, all at once.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ocpx {
namespace internal {

/// How `SyncTree` makes a tree durable.
enum class SyncMethod {
  /// One fsync per file and directory, issued together.
  kPerEntry,
  /// One syncfs(2) of the file system that holds the tree: every dirty
  /// file of that file system is written and the journal committed once.
  kFileSystem,
};

/// At most this much dirty or in-flight page cache in the whole system lets
/// `SyncTree` use one syncfs: it then waits for at most this much data that
/// is not the tree's.
inline constexpr int64_t kFileSystemSyncMaxDirtyBytes = int64_t{4} << 20;

/// The method `SyncTree` uses for a tree on a file system of type `fs_type`
/// (statfs `f_type`), under kernel `kernel_release` (uname), with
/// `dirty_bytes` of dirty plus writeback memory in the system (-1: unknown).
/// `kFileSystem` only where it is at least as durable as the per-entry
/// fsyncs and cannot wait long for other writers' data: a local journaling
/// file system (ext4, XFS, btrfs) or tmpfs, a kernel from 5.8 on (older
/// syncfs reports no writeback errors), and at most
/// `kFileSystemSyncMaxDirtyBytes` dirty.
SyncMethod ChooseSyncMethod(int64_t fs_type, absl::string_view kernel_release,
                            int64_t dirty_bytes);

/// Dirty plus writeback bytes in the system, from `meminfo` (the text of
/// /proc/meminfo); -1 if it does not say.
int64_t DirtyBytesFromMeminfo(absl::string_view meminfo);

/// Makes `root`, every directory below it and every regular file in them
/// durable (symbolic links and special files are not followed or synced).
/// When the system has little dirty data (`ChooseSyncMethod`), one syncfs
/// does it: the data and one journal commit, as `sync` would.  Otherwise the
/// fsyncs are issued together from a pool of I/O threads, so that the file
/// system can commit them in one journal transaction rather than one after
/// another.  An entry removed while the tree is walked is skipped.  Errors
/// carry the errno and path (`ErrnoStatus`); the first in walk order wins.
/// If `synced` is set, the paths made durable are appended to it, and if
/// `method` is set, the method used is stored there (both on success).
absl::Status SyncTree(const std::string& root,
                      std::vector<std::string>* synced = nullptr,
                      SyncMethod* method = nullptr);

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_SYNC_TREE_H_

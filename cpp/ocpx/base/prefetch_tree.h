// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_PREFETCH_TREE_H_
#define OCPX_BASE_PREFETCH_TREE_H_

/// \file
/// Warming the page cache for a checkpoint directory before it is read.
///
/// A load reads a checkpoint's small files one after another, each read
/// depending on the one before (step metadata, PyTree metadata, OCDBT
/// manifest, B+tree node, data file footer).  With a cold page cache every
/// one of them, and every directory and inode on the way, is a separate
/// round trip to the disk.  `StartPrefetchTree` walks the tree from a pool
/// of I/O threads and reads the small files (and the tails of large ones,
/// where the footers and indices are) in parallel, so that the load's own
/// reads find them in the page cache.  It is advisory: errors are ignored,
/// and it reads only bounded amounts.

#include <cstddef>
#include <memory>
#include <string>

namespace ocpx {
namespace internal {

/// Bounds on what a prefetch touches.
struct PrefetchLimits {
  /// Directory entries visited in all (files and directories).
  size_t max_entries = 1024;
  /// Directory levels below the root that are walked.
  size_t max_depth = 6;
  /// Bytes read from the end of each regular file (all of a smaller one).
  size_t tail_bytes = 64 * 1024;
};

/// What a prefetch did (for tests and diagnostics).
struct PrefetchStats {
  size_t directories = 0;
  size_t files = 0;
  size_t bytes = 0;
};

/// A prefetch in progress.
class TreePrefetch {
 public:
  virtual ~TreePrefetch() = default;
  /// Blocks until every scheduled read has finished; returns the totals.
  virtual PrefetchStats Wait() = 0;
};

/// Starts prefetching `root` in the background and returns at once.
/// Regular files and directories are visited; symbolic links, FIFOs and
/// other special files are not opened.  The returned handle may be dropped:
/// the work then finishes on its own.
std::shared_ptr<TreePrefetch> StartPrefetchTree(const std::string& root,
                                                PrefetchLimits limits = {});

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_PREFETCH_TREE_H_

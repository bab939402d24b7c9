// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_SYNC_TREE_H_
#define OCPX_BASE_SYNC_TREE_H_

/// \file
/// Making a directory tree durable in one call: every regular file and
/// directory below a root is fsynced, all at once.

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ocpx {
namespace internal {

/// fsyncs `root`, every directory below it and every regular file in them
/// (symbolic links and special files are not followed or synced).  The
/// fsyncs are issued together from a pool of I/O threads, so that the file
/// system can commit them in one journal transaction rather than one after
/// another.  An entry removed while the tree is walked is skipped.  Errors
/// carry the errno and path (`ErrnoStatus`); the first in walk order wins.
/// If `synced` is set, the paths synced are appended to it (on success).
absl::Status SyncTree(const std::string& root,
                      std::vector<std::string>* synced = nullptr);

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_SYNC_TREE_H_

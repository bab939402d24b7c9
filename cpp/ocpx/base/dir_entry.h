// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_DIR_ENTRY_H_
#define OCPX_BASE_DIR_ENTRY_H_

/// \file
/// What a directory entry is: `readdir`'s `d_type` where the file system
/// fills it in, else `lstat` (links are never followed).
///
/// Example:
///
///     while (struct dirent* e = ::readdir(dir)) {
///       switch (KindOf(*e, dir_path + "/" + e->d_name)) { ... }
///     }

#include <dirent.h>
#include <sys/stat.h>

#include <string>

namespace ocpx {
namespace internal {

enum class EntryKind {
  kDirectory,
  kRegularFile,
  /// Symbolic links, FIFOs, sockets, devices.
  kOther,
  /// Removed between the listing and the `lstat`.
  kGone,
};

/// The kind of `entry`, whose full path is `path`.
inline EntryKind KindOf(const struct dirent& entry, const std::string& path) {
  unsigned char type = entry.d_type;
  if (type == DT_UNKNOWN) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return EntryKind::kGone;
    if (S_ISDIR(st.st_mode)) return EntryKind::kDirectory;
    if (S_ISREG(st.st_mode)) return EntryKind::kRegularFile;
    return EntryKind::kOther;
  }
  if (type == DT_DIR) return EntryKind::kDirectory;
  if (type == DT_REG) return EntryKind::kRegularFile;
  return EntryKind::kOther;
}

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_DIR_ENTRY_H_

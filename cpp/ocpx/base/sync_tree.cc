// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/sync_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/thread_pool.h"
#include "cpp/ocpx/base/unique_fd.h"

namespace ocpx {
namespace internal {
namespace {

// fsync blocks on the device, not the CPU: more threads than cores let the
// file system batch the requests.
constexpr size_t kSyncThreads = 16;

ThreadPool* SyncPool() {
  static ThreadPool* pool = new ThreadPool(kSyncThreads);
  return pool;
}

// Appends `dir` and, recursively, its subdirectories and regular files.
absl::Status Walk(const std::string& dir, std::vector<std::string>* out) {
  out->push_back(dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT && out->size() > 1) {  // removed meanwhile
      out->pop_back();
      return absl::OkStatus();
    }
    return ErrnoStatus(errno, "opendir", dir);
  }
  std::vector<std::string> subdirs;
  absl::Status status;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) status = ErrnoStatus(errno, "readdir", dir);
      break;
    }
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) continue;  // removed meanwhile
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : 0;
    }
    if (type == DT_DIR) {
      subdirs.push_back(std::move(path));
    } else if (type == DT_REG) {
      out->push_back(std::move(path));
    }
  }
  ::closedir(d);
  OCPX_RETURN_IF_ERROR(status);
  for (const std::string& s : subdirs) OCPX_RETURN_IF_ERROR(Walk(s, out));
  return absl::OkStatus();
}

absl::Status SyncOne(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == EACCES) {  // e.g. a write-only (0200) file
    fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  }
  if (!fd.valid()) {
    if (errno == ENOENT) return absl::OkStatus();  // removed meanwhile
    return ErrnoStatus(errno, "open", path);
  }
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", path);
  return absl::OkStatus();
}

}  // namespace

absl::Status SyncTree(const std::string& root,
                      std::vector<std::string>* synced) {
  std::vector<std::string> paths;
  OCPX_RETURN_IF_ERROR(Walk(root, &paths));
  if (paths.size() == 1) {
    OCPX_RETURN_IF_ERROR(SyncOne(paths[0]));
  } else {
    OCPX_RETURN_IF_ERROR(ParallelFor(
        SyncPool(), paths.size(), [&](size_t i) { return SyncOne(paths[i]); }));
  }
  if (synced != nullptr) {
    synced->insert(synced->end(), paths.begin(), paths.end());
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace ocpx

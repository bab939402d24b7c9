// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/sync_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "cpp/ocpx/base/dir_entry.h"
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
    switch (KindOf(*e, path)) {
      case EntryKind::kDirectory:
        subdirs.push_back(std::move(path));
        break;
      case EntryKind::kRegularFile:
        out->push_back(std::move(path));
        break;
      case EntryKind::kOther:  // links and special files are not synced
      case EntryKind::kGone:   // removed meanwhile
        break;
    }
  }
  ::closedir(d);
  OCPX_RETURN_IF_ERROR(status);
  for (const std::string& s : subdirs) OCPX_RETURN_IF_ERROR(Walk(s, out));
  return absl::OkStatus();
}

// statfs f_type of the file systems where one syncfs is at least as durable
// as fsyncing each entry (linux/magic.h).
constexpr int64_t kExt4Magic = 0xEF53;  // also ext2 and ext3
constexpr int64_t kXfsMagic = 0x58465342;
constexpr int64_t kBtrfsMagic = 0x9123683E;
constexpr int64_t kTmpfsMagic = 0x01021994;

// Reads /proc/meminfo; "" if it cannot.
std::string ReadMeminfo() {
  UniqueFd fd(::open("/proc/meminfo", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  std::string text(16384, '\0');
  size_t n = 0;
  while (n < text.size()) {
    ssize_t r = ::read(fd.get(), &text[n], text.size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<size_t>(r);
  }
  text.resize(n);
  return text;
}

// The method for `root`: asks the file system, the kernel and the system's
// dirty memory.
SyncMethod MethodFor(int root_fd) {
  struct statfs fs;
  if (::fstatfs(root_fd, &fs) != 0) return SyncMethod::kPerEntry;
  struct utsname u;
  if (::uname(&u) != 0) return SyncMethod::kPerEntry;
  return ChooseSyncMethod(static_cast<int64_t>(fs.f_type), u.release,
                          DirtyBytesFromMeminfo(ReadMeminfo()));
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

SyncMethod ChooseSyncMethod(int64_t fs_type, absl::string_view kernel_release,
                            int64_t dirty_bytes) {
  if (fs_type != kExt4Magic && fs_type != kXfsMagic && fs_type != kBtrfsMagic &&
      fs_type != kTmpfsMagic) {
    return SyncMethod::kPerEntry;
  }
  // "6.1.0-18-amd64": syncfs reports writeback errors from 5.8 on.
  std::vector<absl::string_view> parts =
      absl::StrSplit(kernel_release, absl::MaxSplits('.', 2));
  int major = 0, minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major)) {
    return SyncMethod::kPerEntry;
  }
  absl::string_view minor_text = parts[1];
  size_t digits = 0;
  while (digits < minor_text.size() && minor_text[digits] >= '0' &&
         minor_text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0 || !absl::SimpleAtoi(minor_text.substr(0, digits), &minor)) {
    return SyncMethod::kPerEntry;
  }
  if (major < 5 || (major == 5 && minor < 8)) return SyncMethod::kPerEntry;
  if (dirty_bytes < 0 || dirty_bytes > kFileSystemSyncMaxDirtyBytes) {
    return SyncMethod::kPerEntry;
  }
  return SyncMethod::kFileSystem;
}

int64_t DirtyBytesFromMeminfo(absl::string_view meminfo) {
  int64_t dirty = -1, writeback = -1;
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    int64_t* field = nullptr;
    if (absl::ConsumePrefix(&line, "Dirty:")) {
      field = &dirty;
    } else if (absl::ConsumePrefix(&line, "Writeback:")) {
      field = &writeback;
    } else {
      continue;
    }
    line = absl::StripAsciiWhitespace(line);
    int64_t kib = 0;
    if (!absl::ConsumeSuffix(&line, "kB") ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib) || kib < 0) {
      return -1;
    }
    *field = kib * 1024;
  }
  return dirty < 0 || writeback < 0 ? -1 : dirty + writeback;
}

absl::Status SyncTree(const std::string& root, std::vector<std::string>* synced,
                      SyncMethod* method) {
  std::vector<std::string> paths;
  OCPX_RETURN_IF_ERROR(Walk(root, &paths));
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoStatus(errno, "open", root);
  const SyncMethod how = MethodFor(root_fd.get());
  if (how == SyncMethod::kFileSystem) {
    if (::syncfs(root_fd.get()) != 0) {
      return ErrnoStatus(errno, "syncfs", root);
    }
  } else if (paths.size() == 1) {
    if (::fsync(root_fd.get()) != 0) return ErrnoStatus(errno, "fsync", root);
  } else {
    OCPX_RETURN_IF_ERROR(ParallelFor(
        SyncPool(), paths.size(), [&](size_t i) { return SyncOne(paths[i]); }));
  }
  if (synced != nullptr) {
    synced->insert(synced->end(), paths.begin(), paths.end());
  }
  if (method != nullptr) *method = how;
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace ocpx

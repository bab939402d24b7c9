// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/unique_fd.h"

namespace ocpx {
namespace internal_zarr {

using ::ocpx::internal::ErrnoStatus;
using ::ocpx::internal::UniqueFd;

namespace {

absl::Status ValidateKey(const std::string& key) {
  if (key.empty() || key.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid key \"", key, "\": must be a relative path"));
  }
  for (absl::string_view part : absl::StrSplit(key, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid key \"", key, "\": empty, \".\" or \"..\" component"));
    }
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open directory", dir);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", dir);
  return absl::OkStatus();
}

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p; each directory it creates is made durable by fsyncing its parent.
absl::Status MakeDirs(const std::string& dir, bool sync) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("\"", dir, "\" exists and is not a directory"));
  }
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    OCPX_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash), sync));
  }
  if (::mkdir(dir.c_str(), 0777) != 0) {
    if (errno == EEXIST) return absl::OkStatus();  // a concurrent writer
    return ErrnoStatus(errno, "create directory", dir);
  }
  return sync ? SyncDir(Parent(dir)) : absl::OkStatus();
}

}  // namespace

absl::Status ChunkStore::WriteStreamed(const std::string& key,
                                       const Producer& produce) {
  std::string value;
  OCPX_RETURN_IF_ERROR(produce([&](absl::string_view piece) {
    value.append(piece.data(), piece.size());
    return absl::OkStatus();
  }));
  return Write(key, std::move(value));
}

FileChunkStore::FileChunkStore(std::string root, bool sync)
    : root_(std::move(root)), sync_(sync) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

absl::StatusOr<std::optional<std::string>> FileChunkStore::Read(
    const std::string& key) {
  OCPX_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = absl::StrCat(root_, "/", key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return ErrnoStatus(errno, "open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  if (S_ISDIR(st.st_mode)) return std::nullopt;
  std::string value(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::read(fd.get(), value.data() + done, value.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  value.resize(done);
  return value;
}

absl::Status FileChunkStore::Write(const std::string& key, std::string value) {
  OCPX_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = absl::StrCat(root_, "/", key);
  OCPX_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/')), sync_));
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      absl::StrCat(path, ".__ocpx_tmp_", ::getpid(), "_", counter.fetch_add(1));
  UniqueFd fd(
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
  if (!fd.valid()) return ErrnoStatus(errno, "create", tmp);
  absl::Status s;
  size_t done = 0;
  while (s.ok() && done < value.size()) {
    ssize_t n = ::write(fd.get(), value.data() + done, value.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      s = ErrnoStatus(errno, "write", tmp);
    } else {
      done += static_cast<size_t>(n);
    }
  }
  // Durable before it is visible: data, then the rename, then the directory.
  if (s.ok() && sync_ && ::fsync(fd.get()) != 0) {
    s = ErrnoStatus(errno, "fsync", tmp);
  }
  if (fd.Close() != 0 && s.ok()) s = ErrnoStatus(errno, "close", tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = ErrnoStatus(errno, "rename to", path);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return sync_ ? SyncDir(Parent(path)) : absl::OkStatus();
}

absl::Status FileChunkStore::Delete(const std::string& key) {
  OCPX_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = absl::StrCat(root_, "/", key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return ErrnoStatus(errno, "delete", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryChunkStore::Read(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryChunkStore::Write(const std::string& key,
                                     std::string value) {
  absl::MutexLock lock(&mu_);
  values_[key] = std::move(value);
  return absl::OkStatus();
}

absl::Status MemoryChunkStore::Delete(const std::string& key) {
  absl::MutexLock lock(&mu_);
  values_.erase(key);
  return absl::OkStatus();
}

absl::flat_hash_map<std::string, std::string> MemoryChunkStore::Contents()
    const {
  absl::MutexLock lock(&mu_);
  return values_;
}

}  // namespace internal_zarr
}  // namespace ocpx

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
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace {

absl::Status ErrnoError(int err, absl::string_view what,
                        const std::string& path) {
  std::string msg = absl::StrCat(what, " \"", path, "\": ", std::strerror(err));
  switch (err) {
    case ENOENT: return absl::NotFoundError(msg);
    case EACCES:
    case EPERM: return absl::PermissionDeniedError(msg);
    case ENOSPC: return absl::ResourceExhaustedError(msg);
    default: return absl::UnknownError(msg);
  }
}

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

absl::Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("\"", dir, "\" exists and is not a directory"));
  }
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    OCPX_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return ErrnoError(errno, "cannot create directory", dir);
  }
  return absl::OkStatus();
}

}  // namespace

FileChunkStore::FileChunkStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

absl::StatusOr<std::optional<std::string>> FileChunkStore::Read(
    const std::string& key) {
  OCPX_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = absl::StrCat(root_, "/", key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return ErrnoError(errno, "cannot open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError(err, "cannot stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::string value(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::read(fd, value.data() + done, value.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoError(err, "cannot read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  value.resize(done);
  return value;
}

absl::Status FileChunkStore::Write(const std::string& key, std::string value) {
  OCPX_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = absl::StrCat(root_, "/", key);
  OCPX_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/'))));
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = absl::StrCat(path, ".__ocpx_tmp_", ::getpid(), "_",
                                       counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoError(errno, "cannot create", tmp);
  size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::write(fd, value.data() + done, value.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError(err, "cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(err, "cannot close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(err, "cannot rename to", path);
  }
  return absl::OkStatus();
}

absl::Status FileChunkStore::Delete(const std::string& key) {
  OCPX_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = absl::StrCat(root_, "/", key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return ErrnoError(errno, "cannot delete", path);
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

}  // namespace ocpx

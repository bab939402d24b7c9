// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/kvstore/internal/file_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_kvstore {
namespace {

absl::Status WriteAll(int fd, absl::string_view data, uint64_t offset,
                      const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    data.remove_prefix(n);
    offset += n;
  }
  return absl::OkStatus();
}

}  // namespace

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoStatus(e, "stat", path);
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return absl::DataLossError(absl::StrCat("\"", path, "\": file of ",
                                            st.st_size,
                                            " bytes exceeds the limit of ",
                                            max_bytes));
  }
  std::string out(st.st_size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, &out[done], out.size() - done, done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      return ErrnoStatus(e, "read", path);
    }
    done += n;
  }
  ::close(fd);
  return out;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::Status MakeDirs(const std::string& path) {
  if (path.empty() || PathExists(path)) return absl::OkStatus();
  const size_t slash = path.find_last_of('/', path.size() - 2);
  if (slash != std::string::npos && slash > 0) {
    OCPX_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  }
  if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "mkdir", path);
  }
  return absl::OkStatus();
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", dir);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(e, "fsync", dir);
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             absl::string_view contents) {
  OCPX_ASSIGN_OR_RETURN(std::string suffix, RandomHex(8));
  const std::string tmp = JoinPath(dir, absl::StrCat(name, ".__ocpx_tmp_", suffix));
  const std::string dst = JoinPath(dir, name);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoStatus(errno, "create", tmp);
  absl::Status s = WriteAll(fd, contents, 0, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, "fsync", tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), dst.c_str()) != 0) {
    s = ErrnoStatus(errno, "rename", dst);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDir(dir);
}

absl::Status CreateFileExclusive(const std::string& dir,
                                 const std::string& name,
                                 absl::string_view contents) {
  const std::string dst = JoinPath(dir, name);
  int fd = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoStatus(errno, "create", dst);
  absl::Status s = WriteAll(fd, contents, 0, dst);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, "fsync", dst);
  ::close(fd);
  if (!s.ok()) {
    ::unlink(dst.c_str());
    return s;
  }
  return SyncDir(dir);
}

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "opendir", dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

absl::StatusOr<std::string> RandomHex(size_t n) {
  std::string bytes(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::getrandom(&bytes[done], n - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "getrandom", "");
    }
    done += r;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::StatusOr<std::string> ReadFileRange(const std::string& path,
                                          uint64_t offset, uint64_t length,
                                          absl::string_view what) {
  ReadFileCache once(1);
  return once.Read(path, offset, length, what);
}

ReadFileCache::File::~File() {
  if (fd >= 0) ::close(fd);
}

ReadFileCache::~ReadFileCache() = default;

absl::StatusOr<std::shared_ptr<ReadFileCache::File>> ReadFileCache::Get(
    const std::string& path) {
  {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it != files_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      return it->second.first;
    }
  }
  auto file = std::make_shared<File>();
  file->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file->fd < 0) return ErrnoStatus(errno, "open data file", path);
  struct stat st;
  if (::fstat(file->fd, &st) != 0) return ErrnoStatus(errno, "stat", path);
  file->size = st.st_size;
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it != files_.end()) return it->second.first;
  lru_.push_front(path);
  files_.emplace(path, std::make_pair(file, lru_.begin()));
  while (files_.size() > max_open_) {
    files_.erase(lru_.back());
    lru_.pop_back();
  }
  return file;
}

absl::StatusOr<std::string> ReadFileCache::Read(const std::string& path,
                                                uint64_t offset,
                                                uint64_t length,
                                                absl::string_view what) {
  OCPX_ASSIGN_OR_RETURN(std::shared_ptr<File> file, Get(path));
  if (offset > file->size || length > file->size - offset) {
    return absl::DataLossError(absl::StrCat(
        "\"", path, "\": ", what, " at offset ", offset, " length ", length,
        " extends beyond the end of the file (", file->size, " bytes)"));
  }
  std::string out(length, '\0');
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(file->fd, &out[done], length - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) {
        return absl::DataLossError(absl::StrCat("\"", path,
                                                "\": unexpected end of file at offset ",
                                                offset + done));
      }
      return ErrnoStatus(errno, "read", path);
    }
    done += n;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<WritableFile>> WritableFile::Create(
    const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoStatus(errno, "create", path);
  return std::unique_ptr<WritableFile>(new WritableFile(path, fd));
}

WritableFile::~WritableFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status WritableFile::Pwrite(uint64_t offset, absl::string_view data) {
  return WriteAll(fd_, data, offset, path_);
}

absl::Status WritableFile::SyncAndClose() {
  if (fd_ < 0) return absl::OkStatus();
  absl::Status s;
  if (::fsync(fd_) != 0) s = ErrnoStatus(errno, "fsync", path_);
  if (::close(fd_) != 0 && s.ok()) s = ErrnoStatus(errno, "close", path_);
  fd_ = -1;
  return s;
}

}  // namespace internal_kvstore
}  // namespace ocpx

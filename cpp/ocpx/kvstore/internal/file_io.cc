// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/kvstore/internal/file_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_kvstore {

using ::ocpx::internal::ErrnoStatus;
using ::ocpx::internal::UniqueFd;

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
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("\"", path, "\": not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::DataLossError(
        absl::StrCat("\"", path, "\": file of ", st.st_size,
                     " bytes exceeds the limit of ", max_bytes));
  }
  std::string out(st.st_size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd.get(), &out[done], out.size() - done, done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "read", path);
    done += n;
  }
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
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(),
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open", dir);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", dir);
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> LockDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(),
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open", dir);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "lock", dir);
  }
  return fd;
}

absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             absl::string_view contents, bool sync) {
  OCPX_ASSIGN_OR_RETURN(std::string suffix, RandomHex(8));
  const std::string tmp =
      JoinPath(dir, absl::StrCat(name, ".__ocpx_tmp_", suffix));
  const std::string dst = JoinPath(dir, name);
  UniqueFd fd(
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return ErrnoStatus(errno, "create", tmp);
  absl::Status s = WriteAll(fd.get(), contents, 0, tmp);
  if (s.ok() && sync && ::fsync(fd.get()) != 0) {
    s = ErrnoStatus(errno, "fsync", tmp);
  }
  if (fd.Close() != 0 && s.ok()) s = ErrnoStatus(errno, "close", tmp);
  if (s.ok() && ::rename(tmp.c_str(), dst.c_str()) != 0) {
    s = ErrnoStatus(errno, "rename", dst);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return sync ? SyncDir(dir) : absl::OkStatus();
}

absl::Status CreateFileExclusive(const std::string& dir,
                                 const std::string& name,
                                 absl::string_view contents) {
  const std::string dst = JoinPath(dir, name);
  UniqueFd fd(
      ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return ErrnoStatus(errno, "create", dst);
  absl::Status s = WriteAll(fd.get(), contents, 0, dst);
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoStatus(errno, "fsync", dst);
  if (fd.Close() != 0 && s.ok()) s = ErrnoStatus(errno, "close", dst);
  if (!s.ok()) {
    ::unlink(dst.c_str());
    return s;
  }
  return SyncDir(dir);
}

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (d == nullptr) return ErrnoStatus(errno, "opendir", dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d.get())) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    names.emplace_back(e->d_name);
  }
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
  file->fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file->fd.valid()) return ErrnoStatus(errno, "open data file", path);
  struct stat st;
  if (::fstat(file->fd.get(), &st) != 0)
    return ErrnoStatus(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::DataLossError(
        absl::StrCat("\"", path, "\": data file is not a regular file"));
  }
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
  OCPX_RETURN_IF_ERROR(ReadInto(path, offset, absl::MakeSpan(out), what));
  return out;
}

absl::Status ReadFileCache::ReadInto(const std::string& path, uint64_t offset,
                                     absl::Span<char> out,
                                     absl::string_view what) {
  OCPX_ASSIGN_OR_RETURN(std::shared_ptr<File> file, Get(path));
  const uint64_t length = out.size();
  if (offset > file->size || length > file->size - offset) {
    return absl::DataLossError(absl::StrCat(
        "\"", path, "\": ", what, " at offset ", offset, " length ", length,
        " extends beyond the end of the file (", file->size, " bytes)"));
  }
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(file->fd.get(), out.data() + done, length - done,
                        offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) {
        return absl::DataLossError(
            absl::StrCat("\"", path, "\": unexpected end of file at offset ",
                         offset + done));
      }
      return ErrnoStatus(errno, "read", path);
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> WritableFile::Create(
    const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (!fd.valid()) return ErrnoStatus(errno, "create", path);
  return std::unique_ptr<WritableFile>(new WritableFile(path, std::move(fd)));
}

WritableFile::~WritableFile() = default;

absl::Status WritableFile::Pwrite(uint64_t offset, absl::string_view data,
                                  bool early_writeback) {
  OCPX_RETURN_IF_ERROR(WriteAll(fd_.get(), data, offset, path_));
  if (early_writeback && data.size() >= kEarlyWritebackBytes) {
    // Start writing the range to disk now, without waiting for it: the disk
    // works while the next chunks are encoded, and the final fsync finds
    // little left to do.
    StartWriteback(offset, data.size());
  }
  return absl::OkStatus();
}

void WritableFile::StartWriteback(uint64_t offset, uint64_t n) {
  ::sync_file_range(fd_.get(), static_cast<off64_t>(offset),
                    static_cast<off64_t>(n), SYNC_FILE_RANGE_WRITE);
}

absl::Status WritableFile::SyncAndClose(bool sync) {
  if (!fd_.valid()) return absl::OkStatus();
  absl::Status s;
  if (sync && ::fsync(fd_.get()) != 0) s = ErrnoStatus(errno, "fsync", path_);
  if (fd_.Close() != 0 && s.ok()) s = ErrnoStatus(errno, "close", path_);
  return s;
}

absl::StatusOr<std::unique_ptr<DirectAppender>> DirectAppender::Open(
    const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == EINVAL) return nullptr;  // no O_DIRECT here
    return ErrnoStatus(errno, "open", path);
  }
  std::unique_ptr<DirectAppender> a(new (std::nothrow)
                                        DirectAppender(path, std::move(fd)));
  if (a == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a direct appender");
  }
  // Some file systems accept the flag at open and refuse the writes: probe
  // with one block.
  std::memset(a->tail_, 0, kAlign);
  ssize_t n;
  do {
    n = ::pwrite(a->fd_.get(), a->tail_, kAlign, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EINVAL) return nullptr;
  if (n < 0) return ErrnoStatus(errno, "write", path);
  if (::ftruncate(a->fd_.get(), 0) != 0) {
    return ErrnoStatus(errno, "truncate", path);
  }
  return a;
}

DirectAppender::~DirectAppender() { std::free(stage_); }

absl::Status DirectAppender::WriteStage(const char* from, size_t bytes) {
  // `bytes` is a multiple of kAlign, and so is every partial write the
  // kernel makes of a direct write.
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pwrite(fd_.get(), from + done, bytes - done,
                         static_cast<off_t>(stage_offset_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path_);
    }
    if (n == 0 || n % kAlign != 0) {
      return absl::DataLossError(
          absl::StrCat("\"", path_, "\": short direct write (", n, " bytes)"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status DirectAppender::Append(absl::string_view data) {
  if (!fd_.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("\"", path_, "\": appended after Finish"));
  }
  if (data.empty()) return absl::OkStatus();
  if (stage_ == nullptr) {
    void* mem = nullptr;
    if (::posix_memalign(&mem, kAlign, kStageBytes) != 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("\"", path_, "\": cannot allocate a write buffer"));
    }
    stage_ = static_cast<char*>(mem);
    std::memcpy(stage_, tail_, staged_);  // the partial block, if any
  }
  while (!data.empty()) {
    const size_t n = std::min(kStageBytes - staged_, data.size());
    std::memcpy(stage_ + staged_, data.data(), n);
    staged_ += n;
    data.remove_prefix(n);
    if (staged_ == kStageBytes) {
      OCPX_RETURN_IF_ERROR(WriteStage(stage_, kStageBytes));
      stage_offset_ += kStageBytes;
      staged_ = 0;
    }
  }
  return absl::OkStatus();
}

absl::Status DirectAppender::Flush() {
  // Without a stage nothing was appended since the last flush, which wrote
  // the partial block already.
  if (stage_ == nullptr || !fd_.valid()) return absl::OkStatus();
  if (staged_ > 0) {
    const size_t padded = (staged_ + kAlign - 1) / kAlign * kAlign;
    std::memset(stage_ + staged_, 0, padded - staged_);
    OCPX_RETURN_IF_ERROR(WriteStage(stage_, padded));
  }
  // Keep only the last, partial block: it is rewritten, completed, by the
  // next write.
  const size_t full = staged_ / kAlign * kAlign;
  std::memcpy(tail_, stage_ + full, staged_ - full);
  stage_offset_ += full;
  staged_ -= full;
  std::free(stage_);
  stage_ = nullptr;
  return absl::OkStatus();
}

absl::Status DirectAppender::Finish() {
  if (!fd_.valid()) return absl::OkStatus();
  OCPX_RETURN_IF_ERROR(Flush());
  if (::ftruncate(fd_.get(), static_cast<off_t>(size())) != 0) {
    return ErrnoStatus(errno, "truncate", path_);
  }
  if (fd_.Close() != 0) return ErrnoStatus(errno, "close", path_);
  return absl::OkStatus();
}

}  // namespace internal_kvstore
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_KVSTORE_INTERNAL_FILE_IO_H_
#define OCPX_KVSTORE_INTERNAL_FILE_IO_H_

/// \file
/// POSIX file helpers for the OCDBT store: bounded whole-file reads, cached
/// read-only descriptors with pread, append-only data files and atomic
/// (temp + fsync + rename + dir fsync) replacement.

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/unique_fd.h"

namespace ocpx {
namespace internal_kvstore {

/// `dir` + "/" + `name` (no separator doubling).
std::string JoinPath(absl::string_view dir, absl::string_view name);

/// An errno-based status naming `path` (see base/status.h).
using ::ocpx::internal::ErrnoStatus;

/// Reads a whole file, failing with ResourceExhausted if it exceeds
/// `max_bytes` (checked with fstat before allocating).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          uint64_t max_bytes);

/// Returns true if `path` exists (any type).
bool PathExists(const std::string& path);

/// mkdir -p.
absl::Status MakeDirs(const std::string& path);

/// fsyncs a directory.
absl::Status SyncDir(const std::string& dir);

/// Takes an exclusive `flock` on the directory `dir`, waiting for other
/// holders; the lock is released when the returned descriptor is closed.
/// Advisory: it excludes every writer that takes it (all ocpx writers, in
/// any process on the host or on filesystems with working `flock`), not
/// writers of other libraries.
absl::StatusOr<internal::UniqueFd> LockDirectory(const std::string& dir);

/// Writes `dir/name` atomically: temp file in `dir`, fsync, rename, fsync dir
/// (without `sync`: temp file and rename only, atomic but not durable).
absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             absl::string_view contents, bool sync = true);

/// Creates `dir/name` with O_EXCL (AlreadyExists if present), writes, fsyncs
/// it and the directory.
absl::Status CreateFileExclusive(const std::string& dir,
                                 const std::string& name,
                                 absl::string_view contents);

/// Lists the names in `dir`.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

/// `n` random bytes from the OS CSPRNG as 2n lowercase hex characters.
absl::StatusOr<std::string> RandomHex(size_t n);

/// Reads `[offset, offset + length)` of `path` without caching anything
/// (for files that may still grow).  Bounds-checked like `ReadFileCache`.
absl::StatusOr<std::string> ReadFileRange(const std::string& path,
                                          uint64_t offset, uint64_t length,
                                          absl::string_view what);

/// Thread-safe cache of read-only file descriptors (data files are immutable,
/// so their size is taken once).  Reads are bounds-checked against the file
/// size before allocating.
class ReadFileCache {
 public:
  explicit ReadFileCache(size_t max_open = 256) : max_open_(max_open) {}
  ~ReadFileCache();
  ReadFileCache(const ReadFileCache&) = delete;
  ReadFileCache& operator=(const ReadFileCache&) = delete;

  /// Reads `[offset, offset + length)` of `path` (what = "value", "node",
  /// used in messages).  NotFound if the file is missing, DataLoss if the
  /// range is beyond its end.
  absl::StatusOr<std::string> Read(const std::string& path, uint64_t offset,
                                   uint64_t length, absl::string_view what);

  /// Reads `out.size()` bytes at `offset` of `path` into `out` (errors as
  /// `Read`).
  absl::Status ReadInto(const std::string& path, uint64_t offset,
                        absl::Span<char> out, absl::string_view what);

 private:
  struct File {
    internal::UniqueFd fd;
    uint64_t size = 0;
  };
  absl::StatusOr<std::shared_ptr<File>> Get(const std::string& path);

  const size_t max_open_;
  absl::Mutex mu_;
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::pair<std::shared_ptr<File>,
                                             std::list<std::string>::iterator>>
      files_ ABSL_GUARDED_BY(mu_);
};

/// A new append-only file created with O_EXCL.  `Pwrite` may be called from
/// several threads at disjoint offsets.
class WritableFile {
 public:
  /// Writes of at least this many bytes start their writeback to disk at
  /// once (`sync_file_range`), so the disk is busy while later data is
  /// still being encoded, instead of all of it waiting for the final fsync.
  static constexpr size_t kEarlyWritebackBytes = size_t{1} << 20;

  static absl::StatusOr<std::unique_ptr<WritableFile>> Create(
      const std::string& path);
  ~WritableFile();
  /// Writes `data` at `offset`; with `early_writeback`, a write of at least
  /// `kEarlyWritebackBytes` starts its writeback at once.
  absl::Status Pwrite(uint64_t offset, absl::string_view data,
                      bool early_writeback = true);
  /// Starts the writeback of `n` bytes at `offset` without waiting for it
  /// (best effort: an I/O error is reported by the final fsync).
  void StartWriteback(uint64_t offset, uint64_t n);
  /// fsync (if `sync`) + close.
  absl::Status SyncAndClose(bool sync = true);
  const std::string& path() const { return path_; }

 private:
  WritableFile(std::string path, internal::UniqueFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  internal::UniqueFd fd_;
};

/// Appends to a file with `O_DIRECT` writes, bypassing the page cache: the
/// kernel moves the data from an aligned staging buffer to the disk, instead
/// of copying it into the page cache first and writing it back later.  Data
/// is staged in blocks of `kAlign` bytes and written `kStageBytes` at a time.
/// `Flush` writes the last, partial block padded with zeros (a later
/// `Append` or `Flush` rewrites it) and frees the staging buffer, keeping
/// only that block: an appender between two appends holds 4 KiB, not the
/// stage (a save keeps its appenders open to the end).  `Finish` truncates
/// the file to its real size.  Not thread-safe: one user at a time.
class DirectAppender {
 public:
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kStageBytes = size_t{4} << 20;

  /// Opens `path`, an existing empty file, for direct appends.  Returns null
  /// if the file system does not take aligned `O_DIRECT` writes (tmpfs, some
  /// network file systems): the caller then writes through the page cache.
  static absl::StatusOr<std::unique_ptr<DirectAppender>> Open(
      const std::string& path);
  ~DirectAppender();

  /// Bytes appended so far.
  uint64_t size() const { return stage_offset_ + staged_; }
  absl::Status Append(absl::string_view data);
  /// Makes everything appended so far readable from the file, and frees the
  /// staging buffer.
  absl::Status Flush();
  /// Flushes, truncates the file to `size()` and closes the descriptor (the
  /// caller fsyncs the file).
  absl::Status Finish();
  /// Whether the staging buffer is allocated (from an `Append` to the next
  /// `Flush`).
  bool holds_stage() const { return stage_ != nullptr; }

 private:
  DirectAppender(std::string path, internal::UniqueFd fd)
      : path_(std::move(path)), fd_(std::move(fd)) {}
  absl::Status WriteStage(const char* from, size_t bytes);

  std::string path_;
  internal::UniqueFd fd_;
  char* stage_ = nullptr;      // kStageBytes, kAlign-aligned, or null
  size_t staged_ = 0;          // bytes staged (in tail_ while stage_ is null)
  uint64_t stage_offset_ = 0;  // file offset of the staged bytes (aligned)
  alignas(kAlign) char tail_[kAlign];  // the partial block between appends
};

}  // namespace internal_kvstore
}  // namespace ocpx

#endif  // OCPX_KVSTORE_INTERNAL_FILE_IO_H_

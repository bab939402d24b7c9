// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_UNIQUE_FD_H_
#define OCPX_BASE_UNIQUE_FD_H_

/// \file
/// `UniqueFd`: sole owner of a POSIX file descriptor, closed on destruction.
///
/// Example:
///
///     UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
///     if (!fd.valid()) return ErrnoStatus(errno, "open", path);
///     ... ::pread(fd.get(), ...) ...   // closed on every return path

#include <unistd.h>

#include <utility>

namespace ocpx {
namespace internal {

class UniqueFd {
 public:
  UniqueFd() = default;
  /// Takes ownership of `fd` (a negative value means "none").
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  /// Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and owns `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  /// Closes now and reports close(2)'s result (0, or -1 with errno set), for
  /// writers that must see a deferred write error.
  int Close() { return fd_ >= 0 ? ::close(std::exchange(fd_, -1)) : 0; }

 private:
  int fd_ = -1;
};

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_UNIQUE_FD_H_

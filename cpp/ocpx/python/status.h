// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_PYTHON_STATUS_H_
#define OCPX_PYTHON_STATUS_H_

/// \file
/// The one place where `absl::Status` becomes a Python exception.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cpp/ocpx/base/status.h"

namespace ocpx_python {

/// Status payloads set by `ocpx::ErrnoStatus` (base/status.h).  A status
/// carrying them becomes `OSError(errno, message, path)` (or the matching
/// subclass).
using ::ocpx::internal::kErrnoPayload;
using ::ocpx::internal::kPathPayload;

/// Raises the Python exception matching `status` (which must not be OK):
///   NotFound -> FileNotFoundError, AlreadyExists -> FileExistsError,
///   InvalidArgument/OutOfRange/FailedPrecondition -> ValueError,
///   DataLoss -> ocpx._core.CorruptionError (a ValueError),
///   Unimplemented -> NotImplementedError, DeadlineExceeded -> TimeoutError,
///   Cancelled -> KeyboardInterrupt-free RuntimeError, others -> RuntimeError;
/// except that a status with an errno payload (see above) becomes OSError.
/// Non-UTF-8 bytes in the message are kept as backslash escapes.
[[noreturn]] void ThrowStatus(const absl::Status& status);

/// Returns `s`'s value or raises its error.
template <typename T>
T ValueOrThrow(absl::StatusOr<T>&& s) {
  if (!s.ok()) ThrowStatus(s.status());
  return *std::move(s);
}

inline void ThrowIfError(const absl::Status& s) {
  if (!s.ok()) ThrowStatus(s);
}

}  // namespace ocpx_python

#endif  // OCPX_PYTHON_STATUS_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_STATUS_H_
#define OCPX_BASE_STATUS_H_

/// \file
/// Status helpers shared by every layer: one way to add context (a path, a
/// key, a parameter name) to an error, and one mapping from `errno` /
/// `std::error_code` to an `absl::Status` code.
///
/// Example:
///
///     absl::Status s = ReadChunk(key);
///     OCPX_RETURN_IF_ERROR(AnnotateStatus(s, path, ": chunk '", key, "'"));
///     // -> DataLoss("/ckpt/x: chunk '0.0': checksum mismatch")

#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ocpx {
namespace internal_status {

/// `status` with `context` + ": " prepended to its message; code and payloads
/// are kept.  `status` must not be OK.
absl::Status Prepend(const absl::Status& status, absl::string_view context);

}  // namespace internal_status
namespace internal {

/// Returns `status` unchanged if it is OK; otherwise the same code and
/// payloads with the message `"<context>: <message>"`, where `<context>` is
/// `absl::StrCat(context...)` (evaluated only on error).
template <typename... Context>
absl::Status AnnotateStatus(const absl::Status& status,
                            const Context&... context) {
  if (status.ok()) return status;
  return internal_status::Prepend(status, absl::StrCat(context...));
}

/// Payload type URLs `ErrnoStatus` sets: the errno (decimal) and the path.
/// The Python binding turns a status carrying them into
/// `OSError(errno, message, path)`.
inline constexpr char kErrnoPayload[] = "ocpx/errno";
inline constexpr char kPathPayload[] = "ocpx/path";

/// The `absl::Status` for a failed system call: `"<op> \"<path>\": <strerror>"`
/// with the code chosen from `err` (ENOENT/ENOTDIR -> NotFound, EEXIST ->
/// AlreadyExists, EACCES/EPERM -> PermissionDenied, ENOSPC/EDQUOT ->
/// ResourceExhausted, EISDIR -> FailedPrecondition, else Internal).
absl::Status ErrnoStatus(int err, absl::string_view op, absl::string_view path);

/// `ErrnoStatus` for a `std::error_code` from the non-throwing
/// `std::filesystem` overloads.  `ec` must be set.
absl::Status ErrorCodeStatus(const std::error_code& ec, absl::string_view op,
                             absl::string_view path);

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_STATUS_H_

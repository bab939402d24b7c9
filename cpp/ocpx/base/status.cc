// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/status.h"

#include <errno.h>

#include <cstring>

#include "absl/strings/cord.h"

namespace ocpx {
namespace internal_status {

absl::Status Prepend(const absl::Status& status, absl::string_view context) {
  absl::Status out(status.code(),
                   context.empty()
                       ? std::string(status.message())
                       : absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type_url, const absl::Cord& payload) {
        out.SetPayload(type_url, payload);
      });
  return out;
}

}  // namespace internal_status
namespace internal {

namespace {

absl::Status ErrnoCode(int err, std::string msg) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EISDIR:
      return absl::FailedPreconditionError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace

absl::Status ErrnoStatus(int err, absl::string_view op,
                         absl::string_view path) {
  absl::Status s =
      ErrnoCode(err, absl::StrCat(op, " \"", path, "\": ", std::strerror(err)));
  // Kept by AnnotateStatus; the Python binding raises
  // OSError(errno, message, path) from them.
  s.SetPayload(kErrnoPayload, absl::Cord(absl::StrCat(err)));
  if (!path.empty()) s.SetPayload(kPathPayload, absl::Cord(path));
  return s;
}

absl::Status ErrorCodeStatus(const std::error_code& ec, absl::string_view op,
                             absl::string_view path) {
  if (ec.category() == std::generic_category() ||
      ec.category() == std::system_category()) {
    return ErrnoStatus(ec.value(), op, path);
  }
  return absl::InternalError(
      absl::StrCat(op, " \"", path, "\": ", ec.message()));
}

}  // namespace internal
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_STATUS_MACROS_H_
#define OCPX_BASE_STATUS_MACROS_H_

/// \file
/// Early-return helpers for `absl::Status` / `absl::StatusOr<T>` (the Debian
/// abseil 20220623 has no public RETURN_IF_ERROR).

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

/// Evaluates `expr` (an `absl::Status`) and returns it from the enclosing
/// function if it is not OK.
#define OCPX_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status ocpx_status_ = (expr);        \
    if (!ocpx_status_.ok()) return ocpx_status_; \
  } while (false)

#define OCPX_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define OCPX_STATUS_MACROS_CONCAT_(a, b) OCPX_STATUS_MACROS_CONCAT_INNER_(a, b)

/// Evaluates `rexpr` (an `absl::StatusOr<T>`); on error returns its status from
/// the enclosing function, otherwise moves the value into `lhs`, which may be
/// a declaration (`OCPX_ASSIGN_OR_RETURN(auto x, F());`).
#define OCPX_ASSIGN_OR_RETURN(lhs, rexpr) \
  OCPX_ASSIGN_OR_RETURN_IMPL_(            \
      OCPX_STATUS_MACROS_CONCAT_(ocpx_statusor_, __LINE__), lhs, rexpr)

#define OCPX_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // OCPX_BASE_STATUS_MACROS_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_JSON_DEPTH_H_
#define OCPX_BASE_JSON_DEPTH_H_

/// \file
/// A nesting-depth check run on JSON text read from disk before it is parsed:
/// a file nested hundreds of thousands deep would otherwise exhaust the stack
/// of whatever walks (or destroys) the parsed value.
///
/// Example:
///
///     OCPX_RETURN_IF_ERROR(CheckJsonDepth(text, path));
///     nlohmann::json j = nlohmann::json::parse(text, nullptr, false);

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ocpx {
namespace internal {

/// The deepest nesting accepted in a checkpoint's JSON files.  Orbax's files
/// are a few levels deep.
inline constexpr size_t kMaxJsonDepth = 512;

/// The maximum `[`/`{` nesting of `text`, not counting brackets inside
/// strings.  Stops counting (and returns `limit + 1`) once `limit` is passed.
inline size_t JsonDepth(absl::string_view text, size_t limit = kMaxJsonDepth) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          max_depth = depth;
          if (max_depth > limit) return max_depth;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return max_depth;
}

/// InvalidArgument naming `what` (the file) if `text` nests deeper than
/// `kMaxJsonDepth`.
inline absl::Status CheckJsonDepth(absl::string_view text,
                                   absl::string_view what) {
  if (JsonDepth(text) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": JSON nested deeper than ", kMaxJsonDepth,
                     " levels; the file is corrupt"));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_JSON_DEPTH_H_

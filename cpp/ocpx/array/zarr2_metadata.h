// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_ZARR2_METADATA_H_
#define OCPX_ARRAY_ZARR2_METADATA_H_

/// \file
/// Reading zarr v2 arrays (`.zarray`), which Orbax's v0 API writes by
/// default.  A zarr v2 array is expressed as the equivalent zarr v3
/// `ArrayMetadata` (v2 chunk keys, `bytes` + optional transpose and
/// compressor codecs), so the v3 chunk codec and region I/O read it.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/array/metadata.h"

namespace ocpx {

/// The key of a zarr v2 array's metadata, relative to the array path.
inline constexpr absl::string_view kZarr2MetadataKey = ".zarray";

/// Parses `.zarray` text.  Supports `zarr_format` 2, numpy type strings
/// (`<i4`, `|b1`, `>f8`, `<c8`, ...) and the extension names TensorStore uses
/// (`bfloat16`, `float8_*`, `int4`), `order` C or F, `dimension_separator`
/// "." or "/", `filters` null, and the compressors null, `zstd` and `gzip`.
/// Anything else is InvalidArgument naming the field.  A null `fill_value`
/// reads as zero.
absl::StatusOr<ArrayMetadata> ParseZarr2ArrayMetadata(absl::string_view text);

}  // namespace ocpx

#endif  // OCPX_ARRAY_ZARR2_METADATA_H_

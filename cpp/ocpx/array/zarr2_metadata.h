// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_ZARR2_METADATA_H_
#define OCPX_ARRAY_ZARR2_METADATA_H_

/// \file
/// zarr v2 arrays (`.zarray`), which Orbax's v0 API writes by default.  A
/// zarr v2 array is expressed as the equivalent zarr v3 `ArrayMetadata`
/// (`zarr_format` 2, v2 chunk keys, `bytes` + optional transpose and
/// compressor codecs), so the v3 chunk codec and region I/O read and write
/// it; only the metadata document differs.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/array/metadata.h"

namespace ocpx {
namespace internal_zarr {

/// The key of a zarr v2 array's metadata, relative to the array path.
inline constexpr absl::string_view kZarr2MetadataKey = ".zarray";

/// Parses `.zarray` text.  Supports `zarr_format` 2, numpy type strings
/// (`<i4`, `|b1`, `>f8`, `<c8`, ...) and the extension names TensorStore uses
/// (`bfloat16`, `float8_*`, `int4`), `order` C or F, `dimension_separator`
/// "." or "/", `filters` null, and the compressors null, `zstd` and `gzip`.
/// Anything else is InvalidArgument naming the field.  A null `fill_value`
/// reads as zero.
absl::StatusOr<ArrayMetadata> ParseZarr2ArrayMetadata(absl::string_view text);

/// The `.zarray` text TensorStore 0.1.86 writes for `metadata` (compact JSON,
/// sorted keys, e.g. `{"chunks":[16,8],"compressor":{"id":"zstd","level":1},
/// "dimension_separator":".","dtype":"<f4","fill_value":null,"filters":null,
/// "order":"C","shape":[64,16],"zarr_format":2}`).  A zero fill value is
/// written as `null`, as when Orbax leaves it unset.  InvalidArgument if
/// `metadata` is not a zarr v2 array or its codec chain has no zarr v2
/// form (sharding, `crc32c`, several compressors).
absl::StatusOr<std::string> SerializeZarr2ArrayMetadata(
    const ArrayMetadata& metadata);

/// zarr v2 metadata as Orbax 0.12.8 writes it (`use_zarr3=False`): a regular
/// grid of `chunk_shape`, keys `i.j`, C order, little-endian, zero fill, and
/// the `zstd` compressor at `zstd_level` (Orbax: 1) or none.
ArrayMetadata MakeOrbaxZarr2ArrayMetadata(std::vector<int64_t> shape,
                                          DataType dtype,
                                          std::vector<int64_t> chunk_shape,
                                          std::optional<int> zstd_level = 1);

}  // namespace internal_zarr
}  // namespace ocpx

#endif  // OCPX_ARRAY_ZARR2_METADATA_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_METADATA_H_
#define OCPX_ARRAY_METADATA_H_

/// \file
/// zarr v3 array metadata (`zarr.json`) exactly as TensorStore 0.1.86 reads
/// and writes it (docs/format.md, "Zarr v3 arrays").

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cpp/ocpx/array/dtype.h"

namespace ocpx {
namespace internal_zarr {

enum class Endian { kLittle, kBig };

/// One entry of a zarr v3 codec chain.
struct CodecSpec {
  enum class Kind {
    kBytes,
    kTranspose,
    kZstd,
    kGzip,
    kCrc32c,
    kShardingIndexed
  };
  Kind kind = Kind::kBytes;

  /// `bytes`: byte order; unset only for 1-byte data types.
  std::optional<Endian> endian;
  /// `transpose`: encoded axis j = decoded axis order[j].
  std::vector<int64_t> order;
  /// `zstd` (default 3) and `gzip` (default 6) level.
  int level = 0;
  /// `zstd`: whether frames carry a content checksum.
  bool checksum = false;
  /// `sharding_indexed`: inner chunk shape, inner codecs, index codecs and
  /// whether the index precedes the data ("start").
  std::vector<int64_t> chunk_shape;
  std::vector<CodecSpec> codecs;
  std::vector<CodecSpec> index_codecs;
  bool index_at_start = false;

  static CodecSpec Bytes(std::optional<Endian> endian);
  static CodecSpec Transpose(std::vector<int64_t> order);
  static CodecSpec Zstd(int level = 3, bool checksum = false);
  static CodecSpec Gzip(int level = 6);
  static CodecSpec Crc32c();
  /// A `sharding_indexed` codec with TensorStore's default index codecs
  /// (`bytes` little + `crc32c`).
  static CodecSpec ShardingIndexed(std::vector<int64_t> chunk_shape,
                                   std::vector<CodecSpec> codecs,
                                   bool index_at_start = false);
};

/// `chunk_key_encoding`: "default" (`c/0/1`, separator "/" unless given) or
/// "v2" (`0.1`, separator "." unless given).
struct ChunkKeyEncoding {
  enum class Kind { kDefault, kV2 };
  Kind kind = Kind::kDefault;
  char separator = '/';
};

/// A parsed, validated `zarr.json` of node_type "array" (or a zarr v2
/// `.zarray`, expressed as the equivalent zarr v3 metadata).
struct ArrayMetadata {
  /// 3 for `zarr.json`; 2 for a zarr v2 array stored as `.zarray` (then
  /// the chunk keys use the v2 encoding and the codec chain is
  /// [transpose] + `bytes` + at most one of `zstd`/`gzip`).
  int zarr_format = 3;
  std::vector<int64_t> shape;
  DataType dtype = DataType::kFloat32;
  /// The regular chunk grid's chunk shape (same rank as `shape`, all >= 1).
  std::vector<int64_t> chunk_shape;
  ChunkKeyEncoding chunk_key_encoding;
  /// The fill value: `ItemSize(dtype)` bytes in native byte order.
  std::string fill_value;
  std::vector<CodecSpec> codecs;
  /// Empty, or one entry per dimension (nullopt = unnamed).  Written only if
  /// some entry is set.
  std::vector<std::optional<std::string>> dimension_names;
  /// User attributes: a JSON object, or null for none (then not written).
  nlohmann::json attributes;

  size_t rank() const { return shape.size(); }
  /// Product of `chunk_shape`.
  int64_t chunk_num_elements() const;
};

/// Parses `zarr.json` text.  InvalidArgument (message naming the offending
/// field, e.g. `codecs[0].configuration.chunk_shape`) on malformed JSON, a
/// missing or wrong `zarr_format`/`node_type`, unsupported data type,
/// rank mismatches, unknown codecs, a bad codec chain, or an unknown
/// top-level key that is not `{"must_understand": false}`.
absl::StatusOr<ArrayMetadata> ParseArrayMetadata(absl::string_view json_text);

/// Same, from parsed JSON.
absl::StatusOr<ArrayMetadata> ArrayMetadataFromJson(const nlohmann::json& j);

/// Checks rank/shape consistency and the codec chain (one array->bytes codec,
/// transposes are permutations, inner chunk shapes divide the shard shape,
/// index codecs have a fixed size, `bytes` has an endian for multi-byte
/// types, fill_value has `ItemSize` bytes).
absl::Status ValidateArrayMetadata(const ArrayMetadata& metadata);

/// The JSON TensorStore writes for `metadata` (keys sorted; `bytes` without
/// configuration for 1-byte types; `index_location` only if "start"; ...).
nlohmann::json ArrayMetadataToJson(const ArrayMetadata& metadata);

/// Compact sorted JSON text, byte-identical to TensorStore's `zarr.json`.
std::string SerializeArrayMetadata(const ArrayMetadata& metadata);

/// Parses a `fill_value` JSON value for `dtype` into `ItemSize` native bytes.
/// Floats accept numbers, "NaN", "Infinity", "-Infinity" and raw-bit hex
/// strings ("0x7fc00001"); complex types a [re, im] pair of those.
absl::StatusOr<std::string> FillValueFromJson(DataType dtype,
                                              const nlohmann::json& j);

/// TensorStore's JSON for the fill value bytes (docs/format.md, "Zarr v3
/// arrays").
nlohmann::json FillValueToJson(DataType dtype, absl::string_view fill_value);

/// The all-zero fill value for `dtype` (TensorStore's and Orbax's default).
std::string ZeroFillValue(DataType dtype);

/// The key of the chunk at `grid_index`, relative to the array's directory:
/// `c/1/2` ("c" for a 0-d array) or, for v2, `1.2` ("0" for a 0-d array).
std::string ChunkKey(const ChunkKeyEncoding& encoding,
                     absl::Span<const int64_t> grid_index);

/// Metadata as Orbax writes it (docs/format.md, "Zarr v3 arrays"): a regular
/// grid of `chunk_shape`, the default key encoding, zero fill, and one
/// `sharding_indexed` codec whose inner chunk is `chunk_shape` with inner
/// codecs `bytes` little (+ `zstd` `zstd_level` if `zstd_level` is set) and
/// index codecs `bytes` little + `crc32c`.
///
/// With `chunk_checksums` (an ocpx extension, still plain zarr v3 that
/// TensorStore and Orbax read) the inner codecs end with `crc32c`, so every
/// chunk's data carries a CRC-32C that is checked when it is decoded.
ArrayMetadata MakeOrbaxArrayMetadata(std::vector<int64_t> shape, DataType dtype,
                                     std::vector<int64_t> chunk_shape,
                                     std::optional<int> zstd_level = 3,
                                     bool chunk_checksums = false);

/// Whether every stored chunk byte of the array is covered by a checksum:
/// the codec chain that produces the stored values (or, for
/// `sharding_indexed`, its inner chain; the index always has one if its
/// index codecs end in `crc32c`) ends with `crc32c`.
bool HasChunkChecksums(const ArrayMetadata& metadata);

}  // namespace internal_zarr
}  // namespace ocpx

#endif  // OCPX_ARRAY_METADATA_H_

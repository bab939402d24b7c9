// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_ENVELOPE_H_
#define OCPX_FORMAT_ENVELOPE_H_

/// \file
/// The common OCDBT object envelope (docs/format.md, "Encodings"), shared by
/// manifests, version-tree nodes and B+tree nodes:
///
///     magic u32be | length u64le | format_version varint32 (0) |
///     compression varint32 (0 raw, 1 zstd) | body | crc32c u32le
///
/// `length` counts the whole object; the CRC-32C covers every byte before it.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ocpx {
namespace internal_ocdbt {

inline constexpr uint32_t kManifestMagic = 0x0CDB3A2A;
inline constexpr uint32_t kVersionTreeNodeMagic = 0x0CDB1234;
inline constexpr uint32_t kBtreeNodeMagic = 0x0CDB20DE;

/// Largest decoded body accepted from one object (bounds the allocation a
/// crafted zstd frame header can cause).
inline constexpr size_t kMaxDecodedBodyBytes = size_t{512} << 20;

/// How an envelope's body is stored (the config's `compression_method`).
enum class Compression : uint32_t { kNone = 0, kZstd = 1 };

/// Compression used by writers: method plus zstd level (0 = libzstd default).
struct CompressionOptions {
  Compression method = Compression::kZstd;
  int32_t zstd_level = 0;
};

/// Wraps `body` in an envelope with `magic`, compressing it as requested.
absl::StatusOr<std::string> EncodeEnvelope(uint32_t magic,
                                           absl::string_view body,
                                           const CompressionOptions& options);

/// Checks magic, length (== `encoded.size()`), version, compression and CRC,
/// and returns the (decompressed) body.  Errors are `DataLoss` (or
/// `Unimplemented` for a format_version > 0) with a message starting with
/// `context`.  A zstd body must be exactly one frame that ends at the CRC and
/// decodes to at most `max_body_bytes`.
absl::StatusOr<std::string> DecodeEnvelope(
    uint32_t magic, absl::string_view encoded, absl::string_view context,
    size_t max_body_bytes = kMaxDecodedBodyBytes);

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_ENVELOPE_H_

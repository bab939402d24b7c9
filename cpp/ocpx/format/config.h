// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_CONFIG_H_
#define OCPX_FORMAT_CONFIG_H_

/// \file
/// The OCDBT database config stored at the start of every manifest body
/// (docs/format.md, "Manifest").

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "cpp/ocpx/format/envelope.h"
#include "cpp/ocpx/format/varint.h"

namespace ocpx {
namespace internal_ocdbt {

/// Single: `manifest.ocdbt` holds everything.  Numbered: `manifest.ocdbt`
/// holds the config, `manifest.%016x` files hold each generation.
enum class ManifestKind : uint8_t { kSingle = 0, kNumbered = 1 };

/// Database config.  Defaults are TensorStore's defaults (uuid aside).
struct Config {
  std::array<uint8_t, 16> uuid{};
  ManifestKind manifest_kind = ManifestKind::kSingle;
  /// Values strictly longer than this are stored out of line.
  uint32_t max_inline_value_bytes = 100;
  /// Target decoded B+tree node size; 0 = unlimited.
  uint32_t max_decoded_node_bytes = 8388608;
  /// log2 of the version-tree arity, in [1, 16].
  uint8_t version_tree_arity_log2 = 4;
  CompressionOptions compression;

  friend bool operator==(const Config& a, const Config& b) {
    return a.uuid == b.uuid && a.manifest_kind == b.manifest_kind &&
           a.max_inline_value_bytes == b.max_inline_value_bytes &&
           a.max_decoded_node_bytes == b.max_decoded_node_bytes &&
           a.version_tree_arity_log2 == b.version_tree_arity_log2 &&
           a.compression.method == b.compression.method &&
           (a.compression.method != Compression::kZstd ||
            a.compression.zstd_level == b.compression.zstd_level);
  }
  friend bool operator!=(const Config& a, const Config& b) { return !(a == b); }
};

/// Upper bound of `max_inline_value_bytes` (and of any inline value).
inline constexpr uint32_t kMaxInlineValueBytes = 1048576;

/// Checks ranges (arity, inline limit, zstd level).
absl::Status ValidateConfig(const Config& config);

/// Appends the encoded config.
void EncodeConfig(const Config& config, std::string* out);

/// Decodes and validates a config.
absl::Status DecodeConfig(ByteReader& reader, Config* config);

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_CONFIG_H_

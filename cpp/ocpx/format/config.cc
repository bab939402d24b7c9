// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/config.h"

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/zstd.h"

namespace ocpx {
namespace internal_ocdbt {

using ::ocpx::internal::IsValidZstdLevel;

absl::Status ValidateConfig(const Config& c) {
  if (c.version_tree_arity_log2 < 1 || c.version_tree_arity_log2 > 16) {
    return absl::InvalidArgumentError(absl::StrCat("version_tree_arity_log2 ",
                                                   c.version_tree_arity_log2,
                                                   " not in [1, 16]"));
  }
  if (c.max_inline_value_bytes > kMaxInlineValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_inline_value_bytes ", c.max_inline_value_bytes,
                     " exceeds ", kMaxInlineValueBytes));
  }
  if (c.manifest_kind != ManifestKind::kSingle &&
      c.manifest_kind != ManifestKind::kNumbered) {
    return absl::InvalidArgumentError("invalid manifest_kind");
  }
  if (c.compression.method != Compression::kNone &&
      c.compression.method != Compression::kZstd) {
    return absl::InvalidArgumentError("invalid compression method");
  }
  if (c.compression.method == Compression::kZstd &&
      !IsValidZstdLevel(c.compression.zstd_level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid zstd level ", c.compression.zstd_level));
  }
  return absl::OkStatus();
}

void EncodeConfig(const Config& c, std::string* out) {
  out->append(reinterpret_cast<const char*>(c.uuid.data()), c.uuid.size());
  out->push_back(static_cast<char>(c.manifest_kind));
  AppendVarint(c.max_inline_value_bytes, out);
  AppendVarint(c.max_decoded_node_bytes, out);
  out->push_back(static_cast<char>(c.version_tree_arity_log2));
  AppendVarint(static_cast<uint32_t>(c.compression.method), out);
  if (c.compression.method == Compression::kZstd) {
    AppendU32le(static_cast<uint32_t>(c.compression.zstd_level), out);
  }
}

absl::Status DecodeConfig(ByteReader& r, Config* c) {
  absl::string_view uuid;
  OCPX_RETURN_IF_ERROR(r.ReadBytes(16, &uuid));
  for (int i = 0; i < 16; ++i) c->uuid[i] = static_cast<uint8_t>(uuid[i]);
  size_t pos = r.offset();
  uint8_t kind;
  OCPX_RETURN_IF_ERROR(r.ReadU8(&kind));
  if (kind > 1)
    return r.ErrorAt(pos, absl::StrCat("invalid manifest_kind ", kind));
  c->manifest_kind = static_cast<ManifestKind>(kind);
  pos = r.offset();
  OCPX_RETURN_IF_ERROR(r.ReadVarint32(&c->max_inline_value_bytes));
  if (c->max_inline_value_bytes > kMaxInlineValueBytes) {
    return r.ErrorAt(pos, "max_inline_value_bytes exceeds 1048576");
  }
  OCPX_RETURN_IF_ERROR(r.ReadVarint32(&c->max_decoded_node_bytes));
  pos = r.offset();
  OCPX_RETURN_IF_ERROR(r.ReadU8(&c->version_tree_arity_log2));
  if (c->version_tree_arity_log2 < 1 || c->version_tree_arity_log2 > 16) {
    return r.ErrorAt(
        pos, absl::StrCat("version_tree_arity_log2 ",
                          c->version_tree_arity_log2, " not in [1, 16]"));
  }
  pos = r.offset();
  uint32_t method;
  OCPX_RETURN_IF_ERROR(r.ReadVarint32(&method));
  if (method > 1) {
    return r.ErrorAt(pos, absl::StrCat("invalid compression method ", method));
  }
  c->compression.method = static_cast<Compression>(method);
  c->compression.zstd_level = 0;
  if (method == 1) {
    pos = r.offset();
    uint32_t level;
    OCPX_RETURN_IF_ERROR(r.ReadU32le(&level));
    c->compression.zstd_level = static_cast<int32_t>(level);
    if (!IsValidZstdLevel(c->compression.zstd_level)) {
      return r.ErrorAt(
          pos, absl::StrCat("invalid zstd level ", c->compression.zstd_level));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal_ocdbt
}  // namespace ocpx

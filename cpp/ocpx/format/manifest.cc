// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/manifest.h"

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_ocdbt {

absl::StatusOr<std::string> EncodeManifest(const Manifest& m,
                                           bool config_only) {
  OCPX_RETURN_IF_ERROR(ValidateConfig(m.config));
  Config config = m.config;
  config.manifest_kind =
      config_only ? ManifestKind::kNumbered : ManifestKind::kSingle;
  std::string body;
  EncodeConfig(config, &body);
  if (!config_only) {
    if (m.versions.empty()) {
      return absl::InvalidArgumentError("manifest needs at least one version");
    }
    DataFileTableBuilder table;
    for (const auto& v : m.versions) table.Add(v.root.file);
    for (const auto& n : m.version_tree_nodes) table.Add(n.location.file);
    table.Finalize();
    table.Encode(&body);
    EncodeVersionLeafEntries(m.versions, table, &body);
    EncodeVersionInteriorEntries(m.version_tree_nodes, table, true, &body);
  }
  return EncodeEnvelope(kManifestMagic, body, config.compression);
}

absl::StatusOr<Manifest> DecodeManifest(absl::string_view encoded,
                                        absl::string_view context) {
  OCPX_ASSIGN_OR_RETURN(std::string body,
                        DecodeEnvelope(kManifestMagic, encoded, context));
  const std::string body_context = absl::StrCat(context, " (decoded body)");
  ByteReader r(body, body_context);
  Manifest m;
  OCPX_RETURN_IF_ERROR(DecodeConfig(r, &m.config));
  if (m.config.manifest_kind == ManifestKind::kNumbered) {
    OCPX_RETURN_IF_ERROR(r.VerifyEnd());
    return m;
  }
  const uint8_t a = m.config.version_tree_arity_log2;
  std::vector<DataFileId> files;
  OCPX_RETURN_IF_ERROR(DecodeDataFileTable(r, "", &files));
  OCPX_RETURN_IF_ERROR(DecodeVersionLeafEntries(r, a, files, &m.versions));
  const size_t pos = r.offset();
  OCPX_RETURN_IF_ERROR(
      DecodeVersionInteriorEntries(r, files, true, &m.version_tree_nodes));
  OCPX_RETURN_IF_ERROR(r.VerifyEnd());
  const auto& nodes = m.version_tree_nodes;
  const uint8_t max_height = MaxVersionTreeHeight(a);
  if (nodes.size() > max_height) {
    return r.ErrorAt(pos, "too many manifest version tree nodes");
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].height < 1 || nodes[i].height > max_height ||
        (i > 0 && nodes[i].height >= nodes[i - 1].height)) {
      return r.ErrorAt(pos, "manifest version tree node heights invalid");
    }
    if (nodes[i].generation >= m.versions.front().generation) {
      return r.ErrorAt(pos,
                       "manifest version tree node generation overlaps "
                       "the inline versions");
    }
  }
  return m;
}

}  // namespace internal_ocdbt
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_MANIFEST_H_
#define OCPX_FORMAT_MANIFEST_H_

/// \file
/// The OCDBT manifest (docs/format.md, "Manifest"): config, then (single kind)
/// the inline versions of the current leaf block and the manifest's
/// version-tree nodes.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/format/config.h"
#include "cpp/ocpx/format/version_tree.h"

namespace ocpx {
namespace internal_ocdbt {

/// A decoded manifest.  A config-only manifest (`manifest.ocdbt` of the
/// numbered kind) has empty `versions`.
struct Manifest {
  Config config;
  std::vector<VersionEntry> versions;
  /// In order of decreasing height (increasing generation).
  std::vector<VersionNodeReference> version_tree_nodes;

  bool config_only() const { return versions.empty(); }
  const VersionEntry& latest() const { return versions.back(); }
};

/// Encodes a manifest.  With `config_only`, writes only the config and sets
/// the kind byte to numbered (1); otherwise writes the kind byte as 0 (every
/// numbered `manifest.%016x` is a complete single-kind manifest).
absl::StatusOr<std::string> EncodeManifest(const Manifest& manifest,
                                           bool config_only = false);

/// Decodes and validates a manifest; `context` names the file.
absl::StatusOr<Manifest> DecodeManifest(absl::string_view encoded,
                                        absl::string_view context);

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_MANIFEST_H_

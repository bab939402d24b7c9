// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_VERSION_TREE_H_
#define OCPX_FORMAT_VERSION_TREE_H_

/// \file
/// OCDBT version tree (docs/format.md, "Version tree"): the per-generation
/// B+tree root references, stored inline in the manifest (current leaf block)
/// and in version-tree nodes for older generations.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/format/btree_node.h"
#include "cpp/ocpx/format/data_file_table.h"
#include "cpp/ocpx/format/envelope.h"
#include "cpp/ocpx/format/varint.h"

namespace ocpx {
namespace internal_ocdbt {

/// One generation: its B+tree root (or Missing for an empty tree).
struct VersionEntry {
  uint64_t generation = 0;
  uint8_t root_height = 0;
  IndirectDataReference root = IndirectDataReference::Missing();
  BtreeNodeStatistics statistics;
  /// Nanoseconds since the Unix epoch.
  uint64_t commit_time = 0;
};

/// A reference to a version-tree node (covering a full block of versions).
struct VersionNodeReference {
  /// Latest generation in the subtree.
  uint64_t generation = 0;
  IndirectDataReference location;
  uint64_t num_generations = 0;
  /// Earliest commit time in the subtree (ns).
  uint64_t commit_time = 0;
  /// Height of the referenced node (stored only in the manifest's copy).
  uint8_t height = 0;
};

/// A decoded version-tree node.
struct VersionTreeNode {
  uint8_t arity_log2 = 4;
  uint8_t height = 0;
  std::vector<VersionEntry> versions;          // height == 0
  std::vector<VersionNodeReference> children;  // height > 0
};

/// Maximum version-node height for an arity: 63 / arity_log2 - 1.
inline uint8_t MaxVersionTreeHeight(uint8_t arity_log2) {
  return static_cast<uint8_t>(63 / arity_log2 - 1);
}

/// First generation of the height-`h` block (A^(h+1) generations; h = -1 is
/// unused) containing `generation`: `g - ((g - 1) mod A^(h+1))`.
uint64_t VersionBlockStart(uint64_t generation, uint8_t arity_log2, int height);

/// Version leaf entry array (docs/format.md, "Version tree"): appends the
/// columns; file ids must be in `table`.
void EncodeVersionLeafEntries(const std::vector<VersionEntry>& versions,
                              const DataFileTableBuilder& table,
                              std::string* out);
/// Decodes and validates (1..A entries, strictly increasing non-zero
/// generations in one leaf block, ranges).
absl::Status DecodeVersionLeafEntries(ByteReader& r, uint8_t arity_log2,
                                      const std::vector<DataFileId>& files,
                                      std::vector<VersionEntry>* versions);

/// Version interior entry array (docs/format.md, "Version tree"); `with_height`
/// for the manifest copy.
void EncodeVersionInteriorEntries(const std::vector<VersionNodeReference>& refs,
                                  const DataFileTableBuilder& table,
                                  bool with_height, std::string* out);
absl::Status DecodeVersionInteriorEntries(
    ByteReader& r, const std::vector<DataFileId>& files, bool with_height,
    std::vector<VersionNodeReference>* refs);

/// Encodes a version-tree node into a complete envelope.
absl::StatusOr<std::string> EncodeVersionTreeNode(
    const VersionTreeNode& node, const CompressionOptions& options);

/// Decodes and validates a version-tree node (docs/format.md, "Version tree").
/// `arity_log2` is the config's value, which the node must repeat.
absl::StatusOr<VersionTreeNode> DecodeVersionTreeNode(
    absl::string_view encoded, uint8_t arity_log2,
    absl::string_view transitive_base_path, absl::string_view context);

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_VERSION_TREE_H_

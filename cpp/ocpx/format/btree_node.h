// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_BTREE_NODE_H_
#define OCPX_FORMAT_BTREE_NODE_H_

/// \file
/// OCDBT B+tree nodes (docs/format.md, "B+tree nodes"): leaf nodes holding
/// inline or out-of-line values, interior nodes holding child references with
/// subtree statistics, both with prefix-compressed keys.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/format/data_file_table.h"
#include "cpp/ocpx/format/envelope.h"

namespace ocpx {
namespace internal_ocdbt {

/// Maximum key length.
inline constexpr size_t kMaxKeyLength = 65535;
/// Maximum number of entries in one node.
inline constexpr uint64_t kMaxNodeEntries = 1048576;
/// Largest `offset + length` of a reference (other than Missing).
inline constexpr uint64_t kMaxOffsetPlusLength = (uint64_t{1} << 63) - 1;

/// Subtree statistics carried by every reference to a B+tree node.
struct BtreeNodeStatistics {
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;

  /// Adds `other`, saturating at 2^64-1.
  void Add(const BtreeNodeStatistics& other);
  friend bool operator==(const BtreeNodeStatistics& a,
                         const BtreeNodeStatistics& b) {
    return a.num_keys == b.num_keys && a.num_tree_bytes == b.num_tree_bytes &&
           a.num_indirect_value_bytes == b.num_indirect_value_bytes;
  }
};

/// Saturating uint64 addition.
uint64_t SaturatingAdd(uint64_t a, uint64_t b);

/// A leaf entry.  `key` is relative to the node's implicit prefix.
struct LeafNodeEntry {
  std::string key;
  /// True: the value is `ref` (length = value length) in a data file.
  bool indirect = false;
  std::string inline_value;
  IndirectDataReference ref;

  uint64_t value_length() const {
    return indirect ? ref.length : inline_value.size();
  }
};

/// An interior entry: the child covers keys >= `key` (relative to the node's
/// prefix); the child's own prefix extends the node's prefix by
/// `key[0:subtree_common_prefix_length]`.
struct InteriorNodeEntry {
  std::string key;
  uint32_t subtree_common_prefix_length = 0;
  IndirectDataReference child;
  BtreeNodeStatistics statistics;
};

/// A decoded node; exactly one of the entry vectors is used (by `height`).
struct BtreeNode {
  uint8_t height = 0;
  std::vector<LeafNodeEntry> leaf_entries;
  std::vector<InteriorNodeEntry> interior_entries;
};

/// Encodes `node` (keys must be strictly increasing, 1..2^20 entries) into a
/// complete envelope.  File ids are written as given (relative to the
/// database root, since new nodes are referenced with an empty base path).
absl::StatusOr<std::string> EncodeBtreeNode(const BtreeNode& node,
                                            const CompressionOptions& options);

/// Decodes and validates an encoded node.  Every file id is resolved under
/// `transitive_base_path` (the base path of the file holding the node).
absl::StatusOr<BtreeNode> DecodeBtreeNode(
    absl::string_view encoded, absl::string_view transitive_base_path,
    absl::string_view context);

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_BTREE_NODE_H_

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_DATA_FILE_TABLE_H_
#define OCPX_FORMAT_DATA_FILE_TABLE_H_

/// \file
/// Data-file identifiers, references into data files, and the prefix-
/// compressed data-file table that every manifest and node carries (format
/// docs/format.md, "Data-file table").

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/format/varint.h"

namespace ocpx {
namespace internal_ocdbt {

/// A data file, as `base_path + relative_path` relative to the database root
/// (after resolving transitive base paths).
struct DataFileId {
  std::string base_path;
  std::string relative_path;

  std::string FullPath() const { return base_path + relative_path; }
  friend bool operator<(const DataFileId& a, const DataFileId& b) {
    return std::tie(a.base_path, a.relative_path) <
           std::tie(b.base_path, b.relative_path);
  }
  friend bool operator==(const DataFileId& a, const DataFileId& b) {
    return a.base_path == b.base_path && a.relative_path == b.relative_path;
  }
  friend bool operator!=(const DataFileId& a, const DataFileId& b) {
    return !(a == b);
  }
};

/// A byte range of a data file: an out-of-line value, or an encoded node.
struct IndirectDataReference {
  DataFileId file;
  uint64_t offset = 0;
  uint64_t length = 0;

  /// The empty-tree sentinel (offset == length == 2^64-1).
  static constexpr uint64_t kMissing = std::numeric_limits<uint64_t>::max();
  bool IsMissing() const { return offset == kMissing && length == kMissing; }
  static IndirectDataReference Missing() {
    return {DataFileId{}, kMissing, kMissing};
  }
  friend bool operator==(const IndirectDataReference& a,
                         const IndirectDataReference& b) {
    return a.file == b.file && a.offset == b.offset && a.length == b.length;
  }
};

/// Maximum full data-file path length.
inline constexpr size_t kMaxDataFilePathLength = 65535;

/// Decodes a data-file table, prefixing every base path with
/// `transitive_base_path` (the resolved base path of the object's own file;
/// "" for manifests).  Validates the prefix rules and length limits.
absl::Status DecodeDataFileTable(ByteReader& reader,
                                 absl::string_view transitive_base_path,
                                 std::vector<DataFileId>* files);

/// Collects the distinct file ids an object references, then encodes them in
/// sorted order and maps each id to its table index.
class DataFileTableBuilder {
 public:
  /// Registers `id` (no-op if already present).  Must precede `Finalize`.
  void Add(const DataFileId& id);
  /// Assigns indices in sorted order; call once before `IndexOf`/`Encode`.
  void Finalize();
  /// Index of a registered id.
  uint64_t IndexOf(const DataFileId& id) const;
  /// Appends the encoded table.
  void Encode(std::string* out) const;
  size_t size() const { return ids_.size(); }

 private:
  std::map<DataFileId, uint64_t> ids_;
};

/// Reads a varint data-file index and checks it against `files`.
absl::Status ReadDataFileIndex(ByteReader& reader,
                               const std::vector<DataFileId>& files,
                               const DataFileId** id);

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_DATA_FILE_TABLE_H_

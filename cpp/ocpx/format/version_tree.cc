// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/version_tree.h"

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_ocdbt {
uint64_t VersionBlockStart(uint64_t g, uint8_t arity_log2, int height) {
  const unsigned shift = arity_log2 * static_cast<unsigned>(height + 1);
  if (shift >= 64) return 1;
  const uint64_t size = uint64_t{1} << shift;
  return g - ((g - 1) % size);
}

void EncodeVersionLeafEntries(const std::vector<VersionEntry>& v,
                              const DataFileTableBuilder& table,
                              std::string* out) {
  AppendVarint(v.size(), out);
  for (const auto& e : v) AppendVarint(e.generation, out);
  for (const auto& e : v) out->push_back(static_cast<char>(e.root_height));
  for (const auto& e : v) AppendVarint(table.IndexOf(e.root.file), out);
  for (const auto& e : v) AppendVarint(e.root.offset, out);
  for (const auto& e : v) AppendVarint(e.root.length, out);
  for (const auto& e : v) AppendVarint(e.statistics.num_keys, out);
  for (const auto& e : v) AppendVarint(e.statistics.num_tree_bytes, out);
  for (const auto& e : v)
    AppendVarint(e.statistics.num_indirect_value_bytes, out);
  for (const auto& e : v) AppendU64le(e.commit_time, out);
}

absl::Status DecodeVersionLeafEntries(ByteReader& r, uint8_t arity_log2,
                                      const std::vector<DataFileId>& files,
                                      std::vector<VersionEntry>* versions) {
  size_t pos = r.offset();
  uint64_t n;
  OCPX_RETURN_IF_ERROR(r.ReadVarint(&n));
  const uint64_t arity = uint64_t{1} << arity_log2;
  if (n < 1 || n > arity || n > r.remaining()) {
    return r.ErrorAt(
        pos, absl::StrCat("version count ", n, " not in [1, ", arity, "]"));
  }
  auto& v = *versions;
  v.assign(n, VersionEntry{});
  for (auto& e : v) {
    pos = r.offset();
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.generation));
    if (e.generation == 0) return r.ErrorAt(pos, "generation 0 is invalid");
    if (&e != &v[0] && e.generation <= (&e - 1)->generation) {
      return r.ErrorAt(pos, "generations not strictly increasing");
    }
  }
  if (v[0].generation < VersionBlockStart(v[n - 1].generation, arity_log2, 0)) {
    return r.Error("inline versions span more than one leaf block");
  }
  for (auto& e : v) OCPX_RETURN_IF_ERROR(r.ReadU8(&e.root_height));
  for (auto& e : v) {
    const DataFileId* id;
    OCPX_RETURN_IF_ERROR(ReadDataFileIndex(r, files, &id));
    e.root.file = *id;
  }
  std::vector<size_t> offset_pos(n);
  for (uint64_t i = 0; i < n; ++i) {
    offset_pos[i] = r.offset();
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&v[i].root.offset));
  }
  for (uint64_t i = 0; i < n; ++i) {
    auto& e = v[i];
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.root.length));
    if (!e.root.IsMissing() &&
        (e.root.offset > kMaxOffsetPlusLength ||
         e.root.length > kMaxOffsetPlusLength - e.root.offset)) {
      return r.ErrorAt(offset_pos[i], "root offset + length exceeds 2^63-1");
    }
  }
  for (auto& e : v) OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.statistics.num_keys));
  for (auto& e : v)
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.statistics.num_tree_bytes));
  for (auto& e : v) {
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.statistics.num_indirect_value_bytes));
  }
  for (auto& e : v) OCPX_RETURN_IF_ERROR(r.ReadU64le(&e.commit_time));
  return absl::OkStatus();
}

void EncodeVersionInteriorEntries(const std::vector<VersionNodeReference>& v,
                                  const DataFileTableBuilder& table,
                                  bool with_height, std::string* out) {
  AppendVarint(v.size(), out);
  for (const auto& e : v) AppendVarint(e.generation, out);
  for (const auto& e : v) AppendVarint(table.IndexOf(e.location.file), out);
  for (const auto& e : v) AppendVarint(e.location.offset, out);
  for (const auto& e : v) AppendVarint(e.location.length, out);
  for (const auto& e : v) AppendVarint(e.num_generations, out);
  for (const auto& e : v) AppendU64le(e.commit_time, out);
  if (with_height) {
    for (const auto& e : v) out->push_back(static_cast<char>(e.height));
  }
}

absl::Status DecodeVersionInteriorEntries(
    ByteReader& r, const std::vector<DataFileId>& files, bool with_height,
    std::vector<VersionNodeReference>* refs) {
  size_t pos = r.offset();
  uint64_t n;
  OCPX_RETURN_IF_ERROR(r.ReadVarint(&n));
  if (n > r.remaining()) {
    return r.ErrorAt(pos, absl::StrCat("version node count ", n,
                                       " exceeds the available data"));
  }
  auto& v = *refs;
  v.assign(n, VersionNodeReference{});
  for (uint64_t i = 0; i < n; ++i) {
    pos = r.offset();
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&v[i].generation));
    if (v[i].generation == 0) return r.ErrorAt(pos, "generation 0 is invalid");
    if (i > 0 && v[i].generation <= v[i - 1].generation) {
      return r.ErrorAt(pos, "version node generations not strictly increasing");
    }
  }
  for (auto& e : v) {
    const DataFileId* id;
    OCPX_RETURN_IF_ERROR(ReadDataFileIndex(r, files, &id));
    e.location.file = *id;
  }
  std::vector<size_t> offset_pos(n);
  for (uint64_t i = 0; i < n; ++i) {
    offset_pos[i] = r.offset();
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&v[i].location.offset));
  }
  for (uint64_t i = 0; i < n; ++i) {
    auto& l = v[i].location;
    OCPX_RETURN_IF_ERROR(r.ReadVarint(&l.length));
    if (l.offset > kMaxOffsetPlusLength ||
        l.length > kMaxOffsetPlusLength - l.offset) {
      return r.ErrorAt(offset_pos[i], "node offset + length exceeds 2^63-1");
    }
  }
  for (auto& e : v) OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.num_generations));
  for (auto& e : v) OCPX_RETURN_IF_ERROR(r.ReadU64le(&e.commit_time));
  if (with_height) {
    for (auto& e : v) OCPX_RETURN_IF_ERROR(r.ReadU8(&e.height));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeVersionTreeNode(
    const VersionTreeNode& node, const CompressionOptions& options) {
  DataFileTableBuilder table;
  if (node.height == 0) {
    for (const auto& e : node.versions) table.Add(e.root.file);
  } else {
    for (const auto& e : node.children) table.Add(e.location.file);
  }
  table.Finalize();
  std::string body;
  body.push_back(static_cast<char>(node.arity_log2));
  body.push_back(static_cast<char>(node.height));
  table.Encode(&body);
  if (node.height == 0) {
    if (node.versions.empty()) {
      return absl::InvalidArgumentError("empty version leaf node");
    }
    EncodeVersionLeafEntries(node.versions, table, &body);
  } else {
    EncodeVersionInteriorEntries(node.children, table, false, &body);
  }
  return EncodeEnvelope(kVersionTreeNodeMagic, body, options);
}

absl::StatusOr<VersionTreeNode> DecodeVersionTreeNode(
    absl::string_view encoded, uint8_t arity_log2,
    absl::string_view transitive_base_path, absl::string_view context) {
  OCPX_ASSIGN_OR_RETURN(std::string body, DecodeEnvelope(kVersionTreeNodeMagic,
                                                         encoded, context));
  const std::string body_context = absl::StrCat(context, " (decoded body)");
  ByteReader r(body, body_context);
  VersionTreeNode node;
  OCPX_RETURN_IF_ERROR(r.ReadU8(&node.arity_log2));
  if (node.arity_log2 != arity_log2) {
    return r.ErrorAt(0,
                     absl::StrCat("version node arity_log2 ", node.arity_log2,
                                  " != config's ", arity_log2));
  }
  OCPX_RETURN_IF_ERROR(r.ReadU8(&node.height));
  if (node.height > MaxVersionTreeHeight(arity_log2)) {
    return r.ErrorAt(
        1, absl::StrCat("version node height ", node.height, " too large"));
  }
  std::vector<DataFileId> files;
  OCPX_RETURN_IF_ERROR(DecodeDataFileTable(r, transitive_base_path, &files));
  if (node.height == 0) {
    OCPX_RETURN_IF_ERROR(
        DecodeVersionLeafEntries(r, arity_log2, files, &node.versions));
  } else {
    const size_t pos = r.offset();
    OCPX_RETURN_IF_ERROR(
        DecodeVersionInteriorEntries(r, files, false, &node.children));
    const uint64_t arity = uint64_t{1} << arity_log2;
    const unsigned shift = arity_log2 * node.height;
    const uint64_t stride = shift >= 64 ? 0 : uint64_t{1} << shift;
    auto& c = node.children;
    if (c.empty() || c.size() > arity) {
      return r.ErrorAt(pos, "version node child count out of range");
    }
    for (size_t i = 0; i < c.size(); ++i) {
      c[i].height = node.height - 1;
      if (stride == 0 || c[i].generation % stride != 0) {
        return r.ErrorAt(
            pos, absl::StrCat("version node child generation ", c[i].generation,
                              " is not a full block"));
      }
      if (c[i].num_generations > stride) {
        return r.ErrorAt(pos, "version node child num_generations too large");
      }
      if (i > 0 &&
          VersionBlockStart(c[i].generation, arity_log2, node.height) !=
              VersionBlockStart(c[0].generation, arity_log2, node.height)) {
        return r.ErrorAt(pos, "version node children span more than one block");
      }
    }
  }
  OCPX_RETURN_IF_ERROR(r.VerifyEnd());
  return node;
}

}  // namespace internal_ocdbt
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/btree_node.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/format/config.h"
#include "cpp/ocpx/format/varint.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

size_t CommonPrefix(absl::string_view a, absl::string_view b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

// Appends prefix-compressed key columns: prefix lengths (n-1), suffix lengths
// (n), then (after `between`) the suffix bytes.
template <typename Entries, typename Between>
absl::Status EncodeKeys(const Entries& entries, std::string* out,
                        Between between) {
  const size_t n = entries.size();
  std::vector<size_t> prefix(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (entries[i].key.size() > kMaxKeyLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("key of length ", entries[i].key.size(),
                       " exceeds maximum length of ", kMaxKeyLength));
    }
    if (i > 0) {
      if (!(entries[i - 1].key < entries[i].key)) {
        return absl::InvalidArgumentError("node keys not strictly increasing");
      }
      prefix[i] = CommonPrefix(entries[i - 1].key, entries[i].key);
      AppendVarint(prefix[i], out);
    }
  }
  for (size_t i = 0; i < n; ++i)
    AppendVarint(entries[i].key.size() - prefix[i], out);
  between();
  for (size_t i = 0; i < n; ++i)
    out->append(entries[i].key, prefix[i], std::string::npos);
  return absl::OkStatus();
}

// Decodes key columns into `keys`; `between` reads extra per-entry columns
// that sit between the lengths and the key bytes.
template <typename Between>
absl::Status DecodeKeys(ByteReader& r, uint32_t n,
                        std::vector<std::string>* keys, Between between) {
  std::vector<uint32_t> prefix(n, 0), suffix(n);
  for (uint32_t i = 1; i < n; ++i)
    OCPX_RETURN_IF_ERROR(r.ReadVarint16(&prefix[i]));
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; ++i) {
    OCPX_RETURN_IF_ERROR(r.ReadVarint16(&suffix[i]));
    total += suffix[i];
  }
  OCPX_RETURN_IF_ERROR(between());
  if (total > r.remaining())
    return r.Error("key suffixes exceed the available data");
  keys->resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    const size_t pos = r.offset();
    absl::string_view s;
    OCPX_RETURN_IF_ERROR(r.ReadBytes(suffix[i], &s));
    std::string& k = (*keys)[i];
    if (i > 0) {
      if (prefix[i] > (*keys)[i - 1].size()) {
        return r.ErrorAt(pos, absl::StrCat("key prefix length ", prefix[i],
                                           " exceeds previous key length"));
      }
      k.assign((*keys)[i - 1], 0, prefix[i]);
    }
    k.append(s.data(), s.size());
    if (k.size() > kMaxKeyLength)
      return r.ErrorAt(pos, "key exceeds 65535 bytes");
    if (i > 0 && !((*keys)[i - 1] < k)) {
      return r.ErrorAt(pos, "invalid key order: keys not strictly increasing");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRange(ByteReader& r, size_t pos, uint64_t offset,
                        uint64_t length) {
  if (offset > kMaxOffsetPlusLength || length > kMaxOffsetPlusLength - offset) {
    return r.ErrorAt(
        pos, absl::StrCat("reference offset ", offset, " + length ", length,
                          " exceeds 2^63-1"));
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s < a ? ~uint64_t{0} : s;
}

void BtreeNodeStatistics::Add(const BtreeNodeStatistics& o) {
  num_keys = SaturatingAdd(num_keys, o.num_keys);
  num_tree_bytes = SaturatingAdd(num_tree_bytes, o.num_tree_bytes);
  num_indirect_value_bytes =
      SaturatingAdd(num_indirect_value_bytes, o.num_indirect_value_bytes);
}

absl::StatusOr<std::string> EncodeBtreeNode(const BtreeNode& node,
                                            const CompressionOptions& options) {
  const bool leaf = node.height == 0;
  const size_t n =
      leaf ? node.leaf_entries.size() : node.interior_entries.size();
  if (n == 0 || n > kMaxNodeEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "B+tree node must have 1..", kMaxNodeEntries, " entries, got ", n));
  }
  DataFileTableBuilder table;
  if (leaf) {
    for (const auto& e : node.leaf_entries) {
      if (e.indirect) {
        table.Add(e.ref.file);
      } else if (e.inline_value.size() > kMaxInlineValueBytes) {
        return absl::InvalidArgumentError("inline value exceeds 1 MiB");
      }
    }
  } else {
    for (const auto& e : node.interior_entries) table.Add(e.child.file);
  }
  table.Finalize();
  std::string body;
  {  // Roughly the body's size, so that it grows once.
    size_t estimate = 64;
    if (leaf) {
      for (const auto& e : node.leaf_entries)
        estimate += 24 + e.key.size() + e.inline_value.size();
    } else {
      estimate += 64 * n;
      for (const auto& e : node.interior_entries) estimate += e.key.size();
    }
    body.reserve(estimate);
  }
  body.push_back(static_cast<char>(node.height));
  table.Encode(&body);
  AppendVarint(n, &body);
  if (leaf) {
    const auto& es = node.leaf_entries;
    OCPX_RETURN_IF_ERROR(EncodeKeys(es, &body, [] {}));
    for (const auto& e : es) AppendVarint(e.value_length(), &body);
    for (const auto& e : es) body.push_back(e.indirect ? 1 : 0);
    for (const auto& e : es) {
      if (e.indirect) AppendVarint(table.IndexOf(e.ref.file), &body);
    }
    for (const auto& e : es) {
      if (e.indirect) AppendVarint(e.ref.offset, &body);
    }
    for (const auto& e : es) {
      if (!e.indirect) body.append(e.inline_value);
    }
  } else {
    const auto& es = node.interior_entries;
    for (const auto& e : es) {
      if (e.subtree_common_prefix_length > e.key.size()) {
        return absl::InvalidArgumentError(
            "subtree_common_prefix_length exceeds key length");
      }
    }
    OCPX_RETURN_IF_ERROR(EncodeKeys(es, &body, [&] {
      for (const auto& e : es)
        AppendVarint(e.subtree_common_prefix_length, &body);
    }));
    for (const auto& e : es) AppendVarint(table.IndexOf(e.child.file), &body);
    for (const auto& e : es) AppendVarint(e.child.offset, &body);
    for (const auto& e : es) AppendVarint(e.child.length, &body);
    for (const auto& e : es) AppendVarint(e.statistics.num_keys, &body);
    for (const auto& e : es) AppendVarint(e.statistics.num_tree_bytes, &body);
    for (const auto& e : es) {
      AppendVarint(e.statistics.num_indirect_value_bytes, &body);
    }
  }
  return EncodeEnvelope(kBtreeNodeMagic, body, options);
}

absl::StatusOr<BtreeNode> DecodeBtreeNode(
    absl::string_view encoded, absl::string_view transitive_base_path,
    absl::string_view context) {
  OCPX_ASSIGN_OR_RETURN(std::string body,
                        DecodeEnvelope(kBtreeNodeMagic, encoded, context));
  const std::string body_context = absl::StrCat(context, " (decoded body)");
  ByteReader r(body, body_context);
  BtreeNode node;
  OCPX_RETURN_IF_ERROR(r.ReadU8(&node.height));
  std::vector<DataFileId> files;
  OCPX_RETURN_IF_ERROR(DecodeDataFileTable(r, transitive_base_path, &files));
  size_t pos = r.offset();
  uint32_t n;
  OCPX_RETURN_IF_ERROR(r.ReadVarint32(&n));
  if (n == 0) return r.ErrorAt(pos, "empty b-tree node");
  if (n > kMaxNodeEntries || n > r.remaining()) {
    return r.ErrorAt(
        pos, absl::StrCat("b-tree node entry count ", n, " out of range"));
  }
  std::vector<std::string> keys;
  if (node.height == 0) {
    OCPX_RETURN_IF_ERROR(
        DecodeKeys(r, n, &keys, [] { return absl::OkStatus(); }));
    std::vector<uint64_t> lengths(n);
    for (auto& l : lengths) OCPX_RETURN_IF_ERROR(r.ReadVarint(&l));
    std::vector<uint8_t> kinds(n);
    size_t num_indirect = 0;
    uint64_t inline_total = 0;
    for (uint32_t i = 0; i < n; ++i) {
      pos = r.offset();
      OCPX_RETURN_IF_ERROR(r.ReadU8(&kinds[i]));
      if (kinds[i] > 1) {
        return r.ErrorAt(pos, absl::StrCat("invalid value kind ", kinds[i]));
      }
      if (kinds[i] == 1) {
        ++num_indirect;
      } else {
        if (lengths[i] > kMaxInlineValueBytes) {
          return r.ErrorAt(pos, absl::StrCat("inline value length ", lengths[i],
                                             " exceeds 1048576"));
        }
        inline_total += lengths[i];
      }
    }
    std::vector<const DataFileId*> ids;
    ids.reserve(num_indirect);
    for (size_t k = 0; k < num_indirect; ++k) {
      const DataFileId* id;
      OCPX_RETURN_IF_ERROR(ReadDataFileIndex(r, files, &id));
      ids.push_back(id);
    }
    std::vector<uint64_t> offsets(num_indirect);
    std::vector<size_t> offset_pos(num_indirect);
    for (size_t k = 0; k < num_indirect; ++k) {
      offset_pos[k] = r.offset();
      OCPX_RETURN_IF_ERROR(r.ReadVarint(&offsets[k]));
    }
    if (inline_total != r.remaining()) {
      return r.Error(absl::StrCat("inline values total ", inline_total,
                                  " bytes but ", r.remaining(),
                                  " bytes remain"));
    }
    node.leaf_entries.resize(n);
    size_t k = 0;
    for (uint32_t i = 0; i < n; ++i) {
      LeafNodeEntry& e = node.leaf_entries[i];
      e.key = std::move(keys[i]);
      if (kinds[i] == 1) {
        OCPX_RETURN_IF_ERROR(
            CheckRange(r, offset_pos[k], offsets[k], lengths[i]));
        e.indirect = true;
        e.ref.file = *ids[k];
        e.ref.offset = offsets[k];
        e.ref.length = lengths[i];
        ++k;
      } else {
        absl::string_view v;
        OCPX_RETURN_IF_ERROR(r.ReadBytes(lengths[i], &v));
        e.inline_value.assign(v.data(), v.size());
      }
    }
  } else {
    std::vector<uint32_t> scp(n);
    OCPX_RETURN_IF_ERROR(DecodeKeys(r, n, &keys, [&]() -> absl::Status {
      for (auto& s : scp) OCPX_RETURN_IF_ERROR(r.ReadVarint16(&s));
      return absl::OkStatus();
    }));
    node.interior_entries.resize(n);
    auto& es = node.interior_entries;
    for (uint32_t i = 0; i < n; ++i) {
      if (scp[i] > keys[i].size()) {
        return r.Error(absl::StrCat("entry ", i,
                                    ": subtree_common_prefix_length ", scp[i],
                                    " exceeds key length ", keys[i].size()));
      }
      es[i].key = std::move(keys[i]);
      es[i].subtree_common_prefix_length = scp[i];
    }
    for (auto& e : es) {
      const DataFileId* id;
      OCPX_RETURN_IF_ERROR(ReadDataFileIndex(r, files, &id));
      e.child.file = *id;
    }
    std::vector<size_t> offset_pos(n);
    for (uint32_t i = 0; i < n; ++i) {
      offset_pos[i] = r.offset();
      OCPX_RETURN_IF_ERROR(r.ReadVarint(&es[i].child.offset));
    }
    for (uint32_t i = 0; i < n; ++i) {
      OCPX_RETURN_IF_ERROR(r.ReadVarint(&es[i].child.length));
      OCPX_RETURN_IF_ERROR(
          CheckRange(r, offset_pos[i], es[i].child.offset, es[i].child.length));
    }
    for (auto& e : es)
      OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.statistics.num_keys));
    for (auto& e : es) {
      OCPX_RETURN_IF_ERROR(r.ReadVarint(&e.statistics.num_tree_bytes));
    }
    for (auto& e : es) {
      OCPX_RETURN_IF_ERROR(
          r.ReadVarint(&e.statistics.num_indirect_value_bytes));
    }
  }
  OCPX_RETURN_IF_ERROR(r.VerifyEnd());
  return node;
}

}  // namespace internal_ocdbt
}  // namespace ocpx

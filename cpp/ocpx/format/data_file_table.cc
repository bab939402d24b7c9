// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/data_file_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

size_t CommonPrefix(absl::string_view a, absl::string_view b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

absl::Status DecodeDataFileTable(ByteReader& r,
                                 absl::string_view transitive_base_path,
                                 std::vector<DataFileId>* files) {
  files->clear();
  const size_t start = r.offset();
  uint64_t n;
  OCPX_RETURN_IF_ERROR(r.ReadVarint(&n));
  // Every entry takes at least two bytes (suffix and base lengths).
  if (n > r.remaining() / 2) {
    return r.ErrorAt(start, absl::StrCat("data-file table count ", n,
                                         " exceeds the available data"));
  }
  if (n == 0) return absl::OkStatus();
  std::vector<uint32_t> prefix(n, 0), suffix(n), base(n);
  for (uint64_t i = 1; i < n; ++i)
    OCPX_RETURN_IF_ERROR(r.ReadVarint16(&prefix[i]));
  uint64_t total_suffix = 0;
  for (uint64_t i = 0; i < n; ++i) {
    OCPX_RETURN_IF_ERROR(r.ReadVarint16(&suffix[i]));
    total_suffix += suffix[i];
  }
  for (uint64_t i = 0; i < n; ++i)
    OCPX_RETURN_IF_ERROR(r.ReadVarint16(&base[i]));
  if (total_suffix > r.remaining()) {
    return r.Error("data-file path suffixes exceed the available data");
  }
  files->reserve(n);
  std::string prev;
  for (uint64_t i = 0; i < n; ++i) {
    const size_t pos = r.offset();
    if (prefix[i] > prev.size()) {
      return r.ErrorAt(pos, absl::StrCat("data-file path prefix length ",
                                         prefix[i], " exceeds previous path"));
    }
    if (i > 0 && prefix[i] > std::min(base[i - 1], base[i]) &&
        base[i] != base[i - 1]) {
      return r.ErrorAt(pos, "data-file table base path lengths inconsistent");
    }
    absl::string_view s;
    OCPX_RETURN_IF_ERROR(r.ReadBytes(suffix[i], &s));
    std::string path = prev.substr(0, prefix[i]);
    path.append(s.data(), s.size());
    if (base[i] > path.size()) {
      return r.ErrorAt(pos, "data-file base path length exceeds path length");
    }
    if (path.size() + transitive_base_path.size() > kMaxDataFilePathLength) {
      return r.ErrorAt(pos, "data-file path exceeds 65535 bytes");
    }
    DataFileId id;
    id.base_path = absl::StrCat(transitive_base_path, path.substr(0, base[i]));
    id.relative_path = path.substr(base[i]);
    files->push_back(std::move(id));
    prev = std::move(path);
  }
  return absl::OkStatus();
}

absl::Status ReadDataFileIndex(ByteReader& r,
                               const std::vector<DataFileId>& files,
                               const DataFileId** id) {
  const size_t pos = r.offset();
  uint64_t index;
  OCPX_RETURN_IF_ERROR(r.ReadVarint(&index));
  if (index >= files.size()) {
    return r.ErrorAt(pos, absl::StrCat("data file index ", index,
                                       " out of range (table has ",
                                       files.size(), " entries)"));
  }
  *id = &files[index];
  return absl::OkStatus();
}

void DataFileTableBuilder::Add(const DataFileId& id) { ids_.emplace(id, 0); }

void DataFileTableBuilder::Finalize() {
  uint64_t i = 0;
  for (auto& [id, index] : ids_) index = i++;
}

uint64_t DataFileTableBuilder::IndexOf(const DataFileId& id) const {
  return ids_.at(id);
}

void DataFileTableBuilder::Encode(std::string* out) const {
  AppendVarint(ids_.size(), out);
  std::vector<const DataFileId*> v;
  for (const auto& [id, index] : ids_) v.push_back(&id);
  std::vector<size_t> prefix(v.size(), 0);
  for (size_t i = 1; i < v.size(); ++i) {
    prefix[i] = CommonPrefix(v[i - 1]->base_path, v[i]->base_path);
    if (v[i - 1]->base_path == v[i]->base_path) {
      prefix[i] += CommonPrefix(v[i - 1]->relative_path, v[i]->relative_path);
    }
    AppendVarint(prefix[i], out);
  }
  for (size_t i = 0; i < v.size(); ++i) {
    AppendVarint(
        v[i]->base_path.size() + v[i]->relative_path.size() - prefix[i], out);
  }
  for (size_t i = 0; i < v.size(); ++i)
    AppendVarint(v[i]->base_path.size(), out);
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string full = v[i]->FullPath();
    out->append(full, prefix[i], std::string::npos);
  }
}

}  // namespace internal_ocdbt
}  // namespace ocpx

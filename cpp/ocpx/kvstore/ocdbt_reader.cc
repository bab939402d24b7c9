// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/kvstore/ocdbt_reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

using internal_kvstore::JoinPath;

// Manifests hold at most a leaf block of versions plus a few node refs;
// anything beyond this is corrupt.
constexpr uint64_t kMaxManifestBytes = uint64_t{64} << 20;

std::string RefContext(const std::string& full_path,
                       const IndirectDataReference& ref,
                       absl::string_view what) {
  return absl::StrCat("\"", full_path, "\" [", what, " at offset ", ref.offset,
                      ", length ", ref.length, "]");
}

bool ParseNumberedManifestName(absl::string_view name, uint64_t* gen) {
  if (!absl::StartsWith(name, "manifest.") || name.size() != 9 + 16)
    return false;
  uint64_t v = 0;
  for (char c : name.substr(9)) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return false;
    v = v * 16 + d;
  }
  if (v == 0) return false;
  *gen = v;
  return true;
}

}  // namespace

KeyRange KeyRange::Prefix(absl::string_view prefix) {
  KeyRange r;
  r.inclusive_min = std::string(prefix);
  std::string max(prefix);
  while (!max.empty() && static_cast<uint8_t>(max.back()) == 0xff)
    max.pop_back();
  if (!max.empty())
    max.back() = static_cast<char>(static_cast<uint8_t>(max.back()) + 1);
  r.exclusive_max = std::move(max);
  return r;
}

absl::StatusOr<Manifest> OcdbtReader::ReadLatestManifest(
    const std::string& path) {
  const std::string file = JoinPath(path, "manifest.ocdbt");
  auto data = internal_kvstore::ReadWholeFile(file, kMaxManifestBytes);
  if (!data.ok()) {
    if (absl::IsNotFound(data.status())) {
      return absl::NotFoundError(absl::StrCat("no OCDBT database at \"", path,
                                              "\": ", data.status().message()));
    }
    return data.status();
  }
  OCPX_ASSIGN_OR_RETURN(Manifest m,
                        DecodeManifest(*data, absl::StrCat("\"", file, "\"")));
  if (m.config.manifest_kind == ManifestKind::kSingle) return m;
  // Numbered kind: the highest manifest.%016x holds the latest generation.
  OCPX_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        internal_kvstore::ListDir(path));
  uint64_t best = 0;
  for (const auto& n : names) {
    uint64_t g;
    if (ParseNumberedManifestName(n, &g)) best = std::max(best, g);
  }
  if (best == 0) {
    return absl::NotFoundError(
        absl::StrCat("OCDBT database \"", path, "\" has no numbered manifest"));
  }
  const std::string numbered =
      JoinPath(path, absl::StrFormat("manifest.%016x", best));
  OCPX_ASSIGN_OR_RETURN(std::string ndata, internal_kvstore::ReadWholeFile(
                                               numbered, kMaxManifestBytes));
  const std::string ctx = absl::StrCat("\"", numbered, "\"");
  OCPX_ASSIGN_OR_RETURN(Manifest nm, DecodeManifest(ndata, ctx));
  Config expected = m.config;
  expected.manifest_kind = ManifestKind::kSingle;
  if (nm.config_only() || nm.config != expected) {
    return absl::DataLossError(
        absl::StrCat(ctx, ": config does not match manifest.ocdbt"));
  }
  if (nm.latest().generation != best) {
    return absl::DataLossError(absl::StrCat(ctx, ": latest generation ",
                                            nm.latest().generation,
                                            " does not match the file name"));
  }
  nm.config.manifest_kind = ManifestKind::kNumbered;
  return nm;
}

absl::StatusOr<std::shared_ptr<const OcdbtReader>> OcdbtReader::Open(
    std::string path, const OcdbtReadOptions& options) {
  std::shared_ptr<OcdbtReader> r(
      new OcdbtReader(std::move(path), options.node_cache_bytes));
  OCPX_ASSIGN_OR_RETURN(r->manifest_, ReadLatestManifest(r->path_));
  if (options.generation.has_value()) {
    OCPX_ASSIGN_OR_RETURN(r->version_, r->FindVersion(*options.generation));
  } else {
    r->version_ = r->manifest_.latest();
  }
  return std::shared_ptr<const OcdbtReader>(std::move(r));
}

absl::StatusOr<VersionTreeNode> OcdbtReader::ReadVersionNode(
    const VersionNodeReference& ref) const {
  const std::string full = ref.location.file.FullPath();
  const std::string file = JoinPath(path_, full);
  OCPX_ASSIGN_OR_RETURN(std::string data,
                        files_.Read(file, ref.location.offset,
                                    ref.location.length, "version tree node"));
  const std::string ctx = RefContext(file, ref.location, "version tree node");
  OCPX_ASSIGN_OR_RETURN(
      VersionTreeNode node,
      DecodeVersionTreeNode(data, config().version_tree_arity_log2,
                            ref.location.file.base_path, ctx));
  if (node.height != ref.height) {
    return absl::DataLossError(absl::StrCat(ctx, ": height ", node.height,
                                            " does not match reference height ",
                                            ref.height));
  }
  const uint64_t last = node.height == 0 ? node.versions.back().generation
                                         : node.children.back().generation;
  if (last != ref.generation) {
    return absl::DataLossError(absl::StrCat(ctx, ": last generation ", last,
                                            " does not match reference ",
                                            ref.generation));
  }
  return node;
}

absl::StatusOr<VersionEntry> OcdbtReader::FindVersion(uint64_t g) const {
  const auto& m = manifest_;
  const uint8_t a = m.config.version_tree_arity_log2;
  for (const auto& v : m.versions) {
    if (v.generation == g) return v;
  }
  const VersionNodeReference* ref = nullptr;
  for (const auto& n : m.version_tree_nodes) {
    if (g <= n.generation &&
        g >= VersionBlockStart(n.generation, a, n.height)) {
      ref = &n;
      break;
    }
  }
  VersionNodeReference current;
  while (ref != nullptr) {
    OCPX_ASSIGN_OR_RETURN(VersionTreeNode node, ReadVersionNode(*ref));
    if (node.height == 0) {
      for (const auto& v : node.versions) {
        if (v.generation == g) return v;
      }
      break;
    }
    ref = nullptr;
    for (const auto& c : node.children) {
      if (g <= c.generation &&
          g >= VersionBlockStart(c.generation, a, c.height)) {
        current = c;
        ref = &current;
        break;
      }
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "generation ", g, " not found in OCDBT database \"", path_, "\""));
}

absl::Status OcdbtReader::CollectVersions(
    const VersionNodeReference& ref, std::vector<VersionEntry>* out) const {
  OCPX_ASSIGN_OR_RETURN(VersionTreeNode node, ReadVersionNode(ref));
  if (node.height == 0) {
    out->insert(out->end(), node.versions.begin(), node.versions.end());
    return absl::OkStatus();
  }
  for (const auto& c : node.children)
    OCPX_RETURN_IF_ERROR(CollectVersions(c, out));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<VersionEntry>> OcdbtReader::ListVersions() const {
  std::vector<VersionEntry> out;
  for (const auto& n : manifest_.version_tree_nodes) {
    OCPX_RETURN_IF_ERROR(CollectVersions(n, &out));
  }
  out.insert(out.end(), manifest_.versions.begin(), manifest_.versions.end());
  return out;
}

absl::StatusOr<std::shared_ptr<const BtreeNode>> OcdbtReader::LoadNode(
    const IndirectDataReference& ref, uint8_t expected_height) const {
  const std::string full = ref.file.FullPath();
  const std::string key = absl::StrCat(ref.file.base_path.size(), ":", full,
                                       ":", ref.offset, ":", ref.length);
  {
    absl::MutexLock lock(&cache_mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      cache_lru_.splice(cache_lru_.begin(), cache_lru_, it->second);
      if (it->second->node->height != expected_height) {
        return absl::DataLossError(absl::StrCat(
            RefContext(JoinPath(path_, full), ref, "b-tree node"), ": height ",
            it->second->node->height, ", expected ", expected_height));
      }
      return it->second->node;
    }
  }
  const std::string file = JoinPath(path_, full);
  OCPX_ASSIGN_OR_RETURN(
      std::string data,
      files_.Read(file, ref.offset, ref.length, "b-tree node"));
  const std::string ctx = RefContext(file, ref, "b-tree node");
  OCPX_ASSIGN_OR_RETURN(BtreeNode node,
                        DecodeBtreeNode(data, ref.file.base_path, ctx));
  if (node.height != expected_height) {
    return absl::DataLossError(absl::StrCat(ctx, ": height ", node.height,
                                            ", expected ", expected_height));
  }
  auto shared = std::make_shared<const BtreeNode>(std::move(node));
  const size_t charge =
      data.size() * 2 +
      64 * (shared->leaf_entries.size() + shared->interior_entries.size());
  absl::MutexLock lock(&cache_mu_);
  if (charge <= cache_bytes_ && cache_.find(key) == cache_.end()) {
    cache_lru_.push_front(CachedNode{key, shared, charge});
    cache_[key] = cache_lru_.begin();
    cache_used_ += charge;
    while (cache_used_ > cache_bytes_) {
      cache_used_ -= cache_lru_.back().charge;
      cache_.erase(cache_lru_.back().key);
      cache_lru_.pop_back();
    }
  }
  return shared;
}

absl::StatusOr<std::optional<LeafNodeEntry>> OcdbtReader::GetEntry(
    absl::string_view key) const {
  if (version_.root.IsMissing()) return std::nullopt;
  IndirectDataReference ref = version_.root;
  uint8_t height = version_.root_height;
  absl::string_view k = key;  // Key with the node's implicit prefix removed.
  while (true) {
    OCPX_ASSIGN_OR_RETURN(std::shared_ptr<const BtreeNode> node,
                          LoadNode(ref, height));
    if (height == 0) {
      const auto& es = node->leaf_entries;
      auto it = std::lower_bound(es.begin(), es.end(), k,
                                 [](const LeafNodeEntry& e,
                                    absl::string_view k) { return e.key < k; });
      if (it == es.end() || it->key != k) return std::nullopt;
      LeafNodeEntry out = *it;
      out.key = std::string(key);
      return out;
    }
    const auto& es = node->interior_entries;
    auto it =
        std::upper_bound(es.begin(), es.end(), k,
                         [](absl::string_view k, const InteriorNodeEntry& e) {
                           return k < e.key;
                         });
    if (it == es.begin()) return std::nullopt;
    --it;
    const absl::string_view scp =
        absl::string_view(it->key).substr(0, it->subtree_common_prefix_length);
    if (!absl::StartsWith(k, scp)) return std::nullopt;
    k.remove_prefix(scp.size());
    ref = it->child;
    --height;
  }
}

absl::StatusOr<std::string> OcdbtReader::ReadValue(
    const LeafNodeEntry& entry) const {
  if (!entry.indirect) return entry.inline_value;
  if (entry.ref.length == 0) return std::string();
  return files_.Read(JoinPath(path_, entry.ref.file.FullPath()),
                     entry.ref.offset, entry.ref.length, "value");
}

absl::Status OcdbtReader::ReadValueRange(const LeafNodeEntry& entry,
                                         uint64_t offset,
                                         absl::Span<char> out) const {
  const uint64_t size =
      entry.indirect ? entry.ref.length : entry.inline_value.size();
  if (offset > size || out.size() > size - offset) {
    return absl::OutOfRangeError(
        absl::StrCat("read of ", out.size(), " bytes at offset ", offset,
                     " is beyond the end of a value of ", size, " bytes"));
  }
  if (out.empty()) return absl::OkStatus();
  if (!entry.indirect) {
    std::memcpy(out.data(), entry.inline_value.data() + offset, out.size());
    return absl::OkStatus();
  }
  return files_.ReadInto(JoinPath(path_, entry.ref.file.FullPath()),
                         entry.ref.offset + offset, out, "value");
}

absl::StatusOr<std::optional<std::string>> OcdbtReader::Get(
    absl::string_view key) const {
  OCPX_ASSIGN_OR_RETURN(std::optional<LeafNodeEntry> e, GetEntry(key));
  if (!e.has_value()) return std::nullopt;
  OCPX_ASSIGN_OR_RETURN(std::string v, ReadValue(*e));
  return v;
}

absl::StatusOr<bool> OcdbtReader::Visit(const IndirectDataReference& ref,
                                        uint8_t height,
                                        const std::string& prefix,
                                        absl::string_view lower_bound,
                                        const KeyRange& range,
                                        const EntryCallback& callback) const {
  OCPX_ASSIGN_OR_RETURN(std::shared_ptr<const BtreeNode> node,
                        LoadNode(ref, height));
  const std::string& first_key =
      height == 0 ? node->leaf_entries[0].key : node->interior_entries[0].key;
  if (absl::StrCat(prefix, first_key) < lower_bound) {
    return absl::DataLossError(absl::StrCat(
        RefContext(JoinPath(path_, ref.file.FullPath()), ref, "b-tree node"),
        ": first key is less than the parent's key"));
  }
  std::string full;
  if (height == 0) {
    for (const auto& e : node->leaf_entries) {
      full.assign(prefix);
      full.append(e.key);
      if (full < range.inclusive_min) continue;
      if (!range.exclusive_max.empty() && full >= range.exclusive_max)
        return false;
      absl::Status s = callback(full, e);
      if (absl::IsCancelled(s)) return false;
      OCPX_RETURN_IF_ERROR(s);
    }
    return true;
  }
  const auto& es = node->interior_entries;
  for (size_t i = 0; i < es.size(); ++i) {
    if (i + 1 < es.size()) {
      const std::string next = absl::StrCat(prefix, es[i + 1].key);
      if (next <= range.inclusive_min) continue;
    }
    full.assign(prefix);
    full.append(es[i].key);
    if (!range.exclusive_max.empty() && full >= range.exclusive_max)
      return false;
    const std::string child_prefix =
        absl::StrCat(prefix, absl::string_view(es[i].key).substr(
                                 0, es[i].subtree_common_prefix_length));
    OCPX_ASSIGN_OR_RETURN(
        bool more,
        Visit(es[i].child, height - 1, child_prefix, full, range, callback));
    if (!more) return false;
  }
  return true;
}

absl::Status OcdbtReader::ListEntries(const KeyRange& range,
                                      const EntryCallback& callback) const {
  if (version_.root.IsMissing()) return absl::OkStatus();
  return Visit(version_.root, version_.root_height, "", "", range, callback)
      .status();
}

absl::Status OcdbtReader::List(
    const KeyRange& range,
    const std::function<absl::Status(absl::string_view, absl::string_view)>&
        callback) const {
  return ListEntries(range, [&](absl::string_view key, const LeafNodeEntry& e) {
    if (!e.indirect) return callback(key, e.inline_value);
    OCPX_ASSIGN_OR_RETURN(std::string v, ReadValue(e));
    return callback(key, v);
  });
}

}  // namespace internal_ocdbt
}  // namespace ocpx

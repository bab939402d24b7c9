// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/kvstore/ocdbt_writer.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/unique_fd.h"
#include "cpp/ocpx/format/manifest.h"
#include "cpp/ocpx/format/version_tree.h"

namespace ocpx {
namespace internal_ocdbt {

using ::ocpx::internal::UniqueFd;

namespace {
// The suffix of a save's temporary directory (see OcdbtTransaction::Commit).
constexpr absl::string_view kSaveTmpSuffix = ".orbax-checkpoint-tmp";
}  // namespace
namespace {

using internal_kvstore::JoinPath;

size_t CommonPrefix(absl::string_view a, absl::string_view b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

uint64_t NowNanos() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// A reference `PutReference` and `CommitSorted` accept: present, with
// offset + length within 2^63 - 1.
bool IsValidReference(const IndirectDataReference& ref) {
  return !ref.IsMissing() && ref.offset <= kMaxOffsetPlusLength &&
         ref.length <= kMaxOffsetPlusLength - ref.offset;
}

absl::Status CheckKey(absl::string_view key) {
  if (key.size() > kMaxKeyLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("key of length ", key.size(),
                     " exceeds maximum length of ", kMaxKeyLength));
  }
  return absl::OkStatus();
}

// Splits entries with estimated `sizes` into consecutive groups
// (docs/format.md, "B+tree nodes"); returns the end index of each group.
std::vector<size_t> SplitGroups(const std::vector<uint64_t>& sizes,
                                uint64_t max_bytes, size_t min_arity) {
  const size_t n = sizes.size();
  uint64_t total = 0;
  for (uint64_t s : sizes) total += s;
  uint64_t nodes = (n + kMaxNodeEntries - 1) / kMaxNodeEntries;
  if (max_bytes > 0)
    nodes = std::max<uint64_t>(nodes, (total + max_bytes - 1) / max_bytes);
  nodes = std::max<uint64_t>(nodes, 1);
  const uint64_t target = (total + nodes - 1) / nodes;
  std::vector<size_t> ends;
  size_t start = 0;
  uint64_t cur = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t count = i - start;
    if (count >= min_arity && ((max_bytes > 0 && cur + sizes[i] > max_bytes) ||
                               count >= kMaxNodeEntries)) {
      ends.push_back(i);
      start = i;
      cur = 0;
    }
    cur += sizes[i];
    if (cur >= target && i + 1 - start >= min_arity) {
      ends.push_back(i + 1);
      start = i + 1;
      cur = 0;
    }
  }
  if (start < n) {
    if (n - start < min_arity && !ends.empty()) {
      ends.back() = n;  // Too small: merge into the previous group.
    } else {
      ends.push_back(n);
    }
  }
  return ends;
}

// A finished node, as seen by its parent level.
struct BuiltChild {
  std::string first_key;  // full keys
  std::string last_key;
  size_t prefix_length = 0;  // length of the node's implicit prefix
  IndirectDataReference ref;
  BtreeNodeStatistics statistics;
};

using BlobWriter =
    std::function<absl::StatusOr<IndirectDataReference>(absl::string_view)>;

// Builds a fresh B+tree bottom-up from sorted full-key leaf entries.
absl::Status BuildTree(std::vector<LeafNodeEntry> entries, const Config& config,
                       const BlobWriter& write, VersionEntry* version) {
  version->root = IndirectDataReference::Missing();
  version->root_height = 0;
  version->statistics = {};
  if (entries.empty()) return absl::OkStatus();
  const uint64_t max_bytes = config.max_decoded_node_bytes;

  std::vector<BuiltChild> level;
  {
    std::vector<uint64_t> sizes;
    sizes.reserve(entries.size());
    for (const auto& e : entries) {
      sizes.push_back(16 + e.key.size() +
                      (e.indirect ? 16 + e.ref.file.base_path.size() +
                                        e.ref.file.relative_path.size()
                                  : e.inline_value.size()));
    }
    const std::vector<size_t> ends = SplitGroups(sizes, max_bytes, 1);
    size_t start = 0;
    for (size_t end : ends) {
      BuiltChild c;
      c.first_key = entries[start].key;
      c.last_key = entries[end - 1].key;
      c.prefix_length =
          ends.size() == 1 ? 0 : CommonPrefix(c.first_key, c.last_key);
      BtreeNode node;
      node.height = 0;
      node.leaf_entries.reserve(end - start);
      for (size_t i = start; i < end; ++i) {
        LeafNodeEntry& e = entries[i];
        if (e.indirect) {
          c.statistics.num_indirect_value_bytes = SaturatingAdd(
              c.statistics.num_indirect_value_bytes, e.ref.length);
        }
        e.key.erase(0, c.prefix_length);
        node.leaf_entries.push_back(std::move(e));
      }
      c.statistics.num_keys = end - start;
      OCPX_ASSIGN_OR_RETURN(std::string encoded,
                            EncodeBtreeNode(node, config.compression));
      OCPX_ASSIGN_OR_RETURN(c.ref, write(encoded));
      c.statistics.num_tree_bytes = encoded.size();
      level.push_back(std::move(c));
      start = end;
    }
    entries.clear();
    entries.shrink_to_fit();
  }
  uint8_t height = 0;
  while (level.size() > 1) {
    if (height == 255) return absl::InternalError("B+tree height exceeds 255");
    ++height;
    std::vector<uint64_t> sizes;
    for (const auto& c : level) {
      sizes.push_back(56 + c.first_key.size() + c.ref.file.base_path.size() +
                      c.ref.file.relative_path.size());
    }
    const std::vector<size_t> ends = SplitGroups(sizes, max_bytes, 2);
    std::vector<BuiltChild> next;
    size_t start = 0;
    for (size_t end : ends) {
      BuiltChild p;
      p.first_key = level[start].first_key;
      p.last_key = level[end - 1].last_key;
      p.prefix_length =
          ends.size() == 1 ? 0 : CommonPrefix(p.first_key, p.last_key);
      BtreeNode node;
      node.height = height;
      for (size_t i = start; i < end; ++i) {
        BuiltChild& c = level[i];
        InteriorNodeEntry e;
        e.key = c.first_key.substr(p.prefix_length);
        e.subtree_common_prefix_length =
            static_cast<uint32_t>(c.prefix_length - p.prefix_length);
        e.child = std::move(c.ref);
        e.statistics = c.statistics;
        p.statistics.Add(c.statistics);
        node.interior_entries.push_back(std::move(e));
      }
      OCPX_ASSIGN_OR_RETURN(std::string encoded,
                            EncodeBtreeNode(node, config.compression));
      OCPX_ASSIGN_OR_RETURN(p.ref, write(encoded));
      p.statistics.num_tree_bytes =
          SaturatingAdd(p.statistics.num_tree_bytes, encoded.size());
      next.push_back(std::move(p));
      start = end;
    }
    level = std::move(next);
  }
  version->root = level[0].ref;
  version->root_height = height;
  version->statistics = level[0].statistics;
  return absl::OkStatus();
}

VersionNodeReference MakeNodeRef(
    const std::vector<VersionNodeReference>& children, uint8_t height) {
  VersionNodeReference r;
  r.height = height;
  r.generation = children.back().generation;
  r.commit_time = children.front().commit_time;
  for (const auto& c : children) r.num_generations += c.num_generations;
  return r;
}

}  // namespace

OcdbtWriteOptions OcdbtWriteOptions::Orbax() {
  OcdbtWriteOptions o;
  o.max_inline_value_bytes = 1024;
  o.max_decoded_node_bytes = 100000000;
  o.version_tree_arity_log2 = 4;
  o.compression = {Compression::kZstd, 0};
  o.manifest_kind = ManifestKind::kSingle;
  return o;
}

OcdbtTransaction::~OcdbtTransaction() = default;

absl::StatusOr<std::unique_ptr<OcdbtTransaction>> OcdbtTransaction::Begin(
    std::string path, const OcdbtWriteOptions& options) {
  std::unique_ptr<OcdbtTransaction> t(new OcdbtTransaction);
  t->path_ = std::move(path);
  t->options_ = options;
  auto reader = OcdbtReader::Open(t->path_);
  if (reader.ok()) {
    t->base_ = *std::move(reader);
    t->config_ = t->base_->config();
    t->base_generation_ = t->base_->generation();
    return t;
  }
  if (!absl::IsNotFound(reader.status()) ||
      internal_kvstore::PathExists(JoinPath(t->path_, "manifest.ocdbt"))) {
    return reader.status();
  }
  Config& c = t->config_;
  c.manifest_kind = options.manifest_kind;
  c.max_inline_value_bytes = options.max_inline_value_bytes;
  c.max_decoded_node_bytes = options.max_decoded_node_bytes;
  c.version_tree_arity_log2 = options.version_tree_arity_log2;
  c.compression = options.compression;
  if (options.uuid.has_value()) {
    c.uuid = *options.uuid;
  } else {
    OCPX_ASSIGN_OR_RETURN(std::string hex, internal_kvstore::RandomHex(16));
    for (int i = 0; i < 16; ++i) {
      c.uuid[i] =
          static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
  }
  OCPX_RETURN_IF_ERROR(ValidateConfig(c));
  OCPX_RETURN_IF_ERROR(internal_kvstore::MakeDirs(t->path_));
  t->new_database_ = true;
  return t;
}

absl::StatusOr<OcdbtTransaction::DataFile*> OcdbtTransaction::NewDataFile() {
  OCPX_ASSIGN_OR_RETURN(std::string hex, internal_kvstore::RandomHex(16));
  auto nf = std::make_unique<DataFile>();
  nf->id.relative_path = absl::StrCat("d/", hex);
  OCPX_RETURN_IF_ERROR(internal_kvstore::MakeDirs(JoinPath(path_, "d")));
  OCPX_ASSIGN_OR_RETURN(nf->file, internal_kvstore::WritableFile::Create(
                                      JoinPath(path_, nf->id.relative_path)));
  files_.push_back(std::move(nf));
  return files_.back().get();
}

absl::StatusOr<std::pair<OcdbtTransaction::DataFile*, uint64_t>>
OcdbtTransaction::Reserve(uint64_t n) {
  DataFile* f = current_;
  const uint64_t target = options_.target_data_file_size;
  if (f == nullptr || (target > 0 && f->size > 0 && f->size + n > target)) {
    OCPX_ASSIGN_OR_RETURN(f, NewDataFile());
    current_ = f;
  }
  const uint64_t offset = f->size;
  f->size += n;
  return std::make_pair(f, offset);
}

absl::Status OcdbtTransaction::PutStreamed(
    absl::string_view key,
    const std::function<absl::Status(const PieceSink& sink)>& produce) {
  OCPX_RETURN_IF_ERROR(CheckKey(key));
  DataFile* f = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (done_ || committing_)
      return absl::FailedPreconditionError("transaction already committed");
    if (!stream_idle_.empty()) {
      f = stream_idle_.back();
      stream_idle_.pop_back();
    } else {
      OCPX_ASSIGN_OR_RETURN(f, NewDataFile());
      if (options_.direct_io) {
        OCPX_ASSIGN_OR_RETURN(
            f->direct, internal_kvstore::DirectAppender::Open(f->file->path()));
      }
    }
  }
  // Until it is handed back below, `f` (and its size) is this call's alone,
  // and files are never removed before Commit.
  const uint64_t start = f->size;
  uint64_t end = start;
  uint64_t writeback_from = start;
  absl::Status status;
  if (f->direct != nullptr) {
    status = produce(
        [&](absl::string_view piece) { return f->direct->Append(piece); });
    // The value must be readable (`Get`) once the put returns.
    if (status.ok()) status = f->direct->Flush();
    end = f->direct->size();
  } else {
    status = produce([&](absl::string_view piece) -> absl::Status {
      OCPX_RETURN_IF_ERROR(
          f->file->Pwrite(end, piece, /*early_writeback=*/false));
      end += piece.size();
      if (end - writeback_from >= kStreamWritebackBytes) {
        f->file->StartWriteback(writeback_from, end - writeback_from);
        writeback_from = end;
      }
      return absl::OkStatus();
    });
    if (status.ok() && end > writeback_from) {
      f->file->StartWriteback(writeback_from, end - writeback_from);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    f->size = end;
    const uint64_t target = options_.target_data_file_size;
    if (target == 0 || end < target) stream_idle_.push_back(f);
  }
  OCPX_RETURN_IF_ERROR(status);
  Mutation m;
  m.entry.indirect = true;
  m.entry.ref.file = f->id;
  m.entry.ref.offset = start;
  m.entry.ref.length = end - start;
  return Record(key, std::move(m));
}

absl::StatusOr<IndirectDataReference> OcdbtTransaction::WriteBlob(
    absl::string_view data) {
  std::pair<DataFile*, uint64_t> slot;
  {
    absl::MutexLock lock(&mu_);
    if (done_)
      return absl::FailedPreconditionError("transaction already committed");
    OCPX_ASSIGN_OR_RETURN(slot, Reserve(data.size()));
  }
  // Files are never removed before Commit, so the pointer stays valid.
  DataFile* f = slot.first;
  OCPX_RETURN_IF_ERROR(f->file->Pwrite(slot.second, data));
  // Start the writeback of what small values have added up to, so the disk
  // works during the save rather than all at its final fsync.  (Ranges still
  // being written by other threads are picked up by a later call or by the
  // fsync.)
  if (data.size() < internal_kvstore::WritableFile::kEarlyWritebackBytes) {
    uint64_t from = 0, to = 0;
    {
      absl::MutexLock lock(&mu_);
      const uint64_t end = slot.second + data.size();
      if (end > f->writeback_from &&
          end - f->writeback_from >= kStreamWritebackBytes) {
        from = f->writeback_from;
        to = end;
        f->writeback_from = end;
      }
    }
    if (to > from) f->file->StartWriteback(from, to - from);
  }
  IndirectDataReference ref;
  ref.file = slot.first->id;
  ref.offset = slot.second;
  ref.length = data.size();
  return ref;
}

absl::Status OcdbtTransaction::Record(absl::string_view key, Mutation m) {
  absl::MutexLock lock(&mu_);
  if (done_ || committing_)
    return absl::FailedPreconditionError("transaction already committed");
  mutations_[key] = std::move(m);
  return absl::OkStatus();
}

absl::Status OcdbtTransaction::Put(absl::string_view key,
                                   absl::string_view value) {
  OCPX_RETURN_IF_ERROR(CheckKey(key));
  Mutation m;
  if (value.size() > config_.max_inline_value_bytes) {
    m.entry.indirect = true;
    OCPX_ASSIGN_OR_RETURN(m.entry.ref, WriteBlob(value));
  } else {
    m.entry.inline_value = std::string(value);
  }
  return Record(key, std::move(m));
}

absl::Status OcdbtTransaction::Delete(absl::string_view key) {
  OCPX_RETURN_IF_ERROR(CheckKey(key));
  Mutation m;
  m.is_delete = true;
  return Record(key, std::move(m));
}

absl::Status OcdbtTransaction::PutReference(absl::string_view key,
                                            const IndirectDataReference& ref) {
  OCPX_RETURN_IF_ERROR(CheckKey(key));
  if (!IsValidReference(ref)) {
    return absl::InvalidArgumentError("invalid value reference");
  }
  Mutation m;
  m.entry.indirect = true;
  m.entry.ref = ref;
  return Record(key, std::move(m));
}

absl::StatusOr<std::optional<std::string>> OcdbtTransaction::Get(
    absl::string_view key) {
  std::optional<Mutation> m;
  {
    absl::MutexLock lock(&mu_);
    if (done_)
      return absl::FailedPreconditionError("transaction already committed");
    auto it = mutations_.find(key);
    if (it != mutations_.end()) m = it->second;
  }
  if (!m.has_value()) {
    if (base_ == nullptr) return std::nullopt;
    return base_->Get(key);
  }
  if (m->is_delete) return std::nullopt;
  if (!m->entry.indirect) return std::move(m->entry.inline_value);
  if (m->entry.ref.length == 0) return std::string();
  return internal_kvstore::ReadFileRange(
      JoinPath(path_, m->entry.ref.file.FullPath()), m->entry.ref.offset,
      m->entry.ref.length, "value");
}

absl::StatusOr<uint64_t> OcdbtTransaction::Commit() {
  absl::node_hash_map<std::string, Mutation> mutations;
  {
    absl::MutexLock lock(&mu_);
    if (done_ || committing_)
      return absl::FailedPreconditionError("transaction already committed");
    committing_ = true;  // puts from now on fail instead of being lost
    mutations = std::move(mutations_);
  }
  // 1. Merge the base generation's entries with the sorted mutations.
  std::vector<std::pair<const std::string*, Mutation*>> muts;
  muts.reserve(mutations.size());
  for (auto& [k, m] : mutations) muts.emplace_back(&k, &m);
  std::sort(muts.begin(), muts.end(),
            [](const auto& a, const auto& b) { return *a.first < *b.first; });
  std::vector<LeafNodeEntry> entries;
  entries.reserve(muts.size());  // (more below if the base has keys)
  size_t j = 0;
  auto emit = [&](size_t i) {
    Mutation* m = muts[i].second;
    if (m->is_delete) return;
    entries.push_back(std::move(m->entry));
    entries.back().key = *muts[i].first;
  };
  if (BaseHasKeys()) {
    // (The count comes from the file: a hint, capped.)
    entries.reserve(std::min<uint64_t>(base_->num_keys(), uint64_t{1} << 20) +
                    muts.size());
    OCPX_RETURN_IF_ERROR(base_->ListEntries(
        KeyRange{}, [&](absl::string_view key, const LeafNodeEntry& e) {
          while (j < muts.size() && *muts[j].first < key) emit(j++);
          if (j < muts.size() && *muts[j].first == key) {
            emit(j++);
            return absl::OkStatus();
          }
          entries.push_back(e);
          entries.back().key = std::string(key);
          return absl::OkStatus();
        }));
  }
  while (j < muts.size()) emit(j++);
  mutations.clear();
  muts.clear();
  return CommitEntries(std::move(entries));
}

absl::StatusOr<uint64_t> OcdbtTransaction::CommitSorted(
    std::vector<LeafNodeEntry> entries) {
  {
    absl::MutexLock lock(&mu_);
    if (done_ || committing_)
      return absl::FailedPreconditionError("transaction already committed");
    if (!mutations_.empty()) {
      return absl::FailedPreconditionError(
          "CommitSorted on a transaction with pending mutations");
    }
    committing_ = true;
  }
  if (BaseHasKeys()) {
    return absl::FailedPreconditionError(
        "CommitSorted on a database that already has keys");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const LeafNodeEntry& e = entries[i];
    OCPX_RETURN_IF_ERROR(CheckKey(e.key));
    if (i > 0 && !(entries[i - 1].key < e.key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry keys not strictly increasing at \"",
                       absl::CEscape(e.key), "\""));
    }
    if (e.indirect) {
      if (!IsValidReference(e.ref)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid value reference for key \"", absl::CEscape(e.key), "\""));
      }
    } else if (e.inline_value.size() > config_.max_inline_value_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inline value of key \"", absl::CEscape(e.key), "\" exceeds ",
          config_.max_inline_value_bytes, " bytes"));
    }
  }
  return CommitEntries(std::move(entries));
}

absl::StatusOr<uint64_t> OcdbtTransaction::CommitEntries(
    std::vector<LeafNodeEntry> entries) {
  // 2. The new B+tree.
  VersionEntry version;
  version.generation = base_generation_ + 1;
  const BlobWriter write = [this](absl::string_view d) { return WriteBlob(d); };
  OCPX_RETURN_IF_ERROR(BuildTree(std::move(entries), config_, write, &version));
  uint64_t prev_time = 0;
  if (base_ != nullptr) prev_time = base_->manifest().latest().commit_time;
  version.commit_time = std::max(NowNanos(), prev_time + 1);

  // 3. The version tree (docs/format.md, "Version tree").
  Manifest manifest;
  manifest.config = config_;
  const uint8_t a = config_.version_tree_arity_log2;
  const uint64_t arity = uint64_t{1} << a;
  const uint64_t n = version.generation;
  if (base_ == nullptr) {
    manifest.versions = {version};
  } else if ((n - 1) % arity != 0) {
    manifest.versions = base_->manifest().versions;
    manifest.versions.push_back(version);
    manifest.version_tree_nodes = base_->manifest().version_tree_nodes;
  } else if (!options_.keep_version_history) {
    manifest.versions = {version};
  } else {
    const Manifest& old = base_->manifest();
    std::vector<VersionNodeReference> new_nodes;  // increasing height
    std::optional<VersionNodeReference> carry;
    {
      VersionTreeNode leaf;
      leaf.arity_log2 = a;
      leaf.height = 0;
      leaf.versions = old.versions;
      OCPX_ASSIGN_OR_RETURN(std::string enc,
                            EncodeVersionTreeNode(leaf, config_.compression));
      VersionNodeReference r;
      r.height = 0;
      r.generation = old.versions.back().generation;
      r.num_generations = old.versions.size();
      r.commit_time = old.versions.front().commit_time;
      OCPX_ASSIGN_OR_RETURN(r.location, WriteBlob(enc));
      carry = r;
    }
    uint64_t g = n - 1;  // == floor((n-1)/A)*A here
    for (int h = 1; g > 0 || carry.has_value(); ++h) {
      if (h > MaxVersionTreeHeight(a)) {
        return absl::InternalError("version tree height exceeded");
      }
      if (g == 0) return absl::InternalError("version tree carry out of range");
      const uint64_t b = VersionBlockStart(g, a, h) - 1;
      const VersionNodeReference* old_node = nullptr;
      for (const auto& r : old.version_tree_nodes) {
        if (r.height == h) old_node = &r;
      }
      if (old_node != nullptr && old_node->generation > b) {
        if (carry.has_value()) {
          OCPX_ASSIGN_OR_RETURN(VersionTreeNode node,
                                base_->ReadVersionNode(*old_node));
          node.children.push_back(*carry);
          VersionNodeReference r = MakeNodeRef(node.children, h);
          OCPX_ASSIGN_OR_RETURN(
              std::string enc,
              EncodeVersionTreeNode(node, config_.compression));
          OCPX_ASSIGN_OR_RETURN(r.location, WriteBlob(enc));
          new_nodes.push_back(r);
          carry.reset();
        } else {
          new_nodes.push_back(*old_node);
        }
      } else {
        std::optional<VersionNodeReference> next_carry;
        if (old_node != nullptr) next_carry = *old_node;
        if (carry.has_value()) {
          if (carry->generation <= b || carry->generation > g) {
            return absl::InternalError("version tree carry does not fit");
          }
          VersionTreeNode node;
          node.arity_log2 = a;
          node.height = h;
          node.children = {*carry};
          VersionNodeReference r = MakeNodeRef(node.children, h);
          OCPX_ASSIGN_OR_RETURN(
              std::string enc,
              EncodeVersionTreeNode(node, config_.compression));
          OCPX_ASSIGN_OR_RETURN(r.location, WriteBlob(enc));
          new_nodes.push_back(r);
        }
        carry = next_carry;
      }
      g = b;
    }
    std::reverse(new_nodes.begin(), new_nodes.end());
    manifest.version_tree_nodes = std::move(new_nodes);
    manifest.versions = {version};
  }

  // 4. Make the data durable, then publish the manifest.
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    for (auto& f : files_) {
      if (f->direct != nullptr) OCPX_RETURN_IF_ERROR(f->direct->Finish());
      OCPX_RETURN_IF_ERROR(f->file->SyncAndClose(options_.sync));
    }
    if (!files_.empty() && options_.sync) {
      OCPX_RETURN_IF_ERROR(internal_kvstore::SyncDir(JoinPath(path_, "d")));
    }
  }
  // Check-and-publish is atomic among writers that take the directory lock
  // (every OcdbtTransaction does): a commit that lost the race to another
  // transaction based on the same generation is reported as Aborted instead
  // of overwriting it.
  //
  // Exception: a database that is itself a save's temporary directory
  // (`<name>.orbax-checkpoint-tmp`, a flat checkpoint) belongs to that save
  // alone.  The save holds an flock on that directory for as long as it runs
  // (so that recovery can tell a live save from a dead one), and a second
  // flock on the same directory from this process would wait for it forever.
  UniqueFd lock;
  if (!absl::EndsWith(path_, kSaveTmpSuffix)) {
    OCPX_ASSIGN_OR_RETURN(lock, internal_kvstore::LockDirectory(path_));
  }
  if (base_ != nullptr) {
    OCPX_ASSIGN_OR_RETURN(Manifest current,
                          OcdbtReader::ReadLatestManifest(path_));
    if (current.latest().generation != base_generation_) {
      return absl::AbortedError(absl::StrCat(
          "OCDBT database \"", path_,
          "\" was modified concurrently (generation ",
          current.latest().generation, ", expected ", base_generation_, ")"));
    }
  } else if (internal_kvstore::PathExists(JoinPath(path_, "manifest.ocdbt"))) {
    return absl::AbortedError(
        absl::StrCat("OCDBT database \"", path_,
                     "\" was created concurrently by another writer"));
  }
  OCPX_ASSIGN_OR_RETURN(std::string encoded, EncodeManifest(manifest));
  if (config_.manifest_kind == ManifestKind::kSingle) {
    OCPX_RETURN_IF_ERROR(internal_kvstore::WriteFileAtomic(
        path_, "manifest.ocdbt", encoded, options_.sync));
  } else {
    if (new_database_) {
      OCPX_ASSIGN_OR_RETURN(std::string config_only,
                            EncodeManifest(manifest, /*config_only=*/true));
      OCPX_RETURN_IF_ERROR(internal_kvstore::CreateFileExclusive(
          path_, "manifest.ocdbt", config_only));
    }
    OCPX_RETURN_IF_ERROR(internal_kvstore::CreateFileExclusive(
        path_, absl::StrFormat("manifest.%016x", n), encoded));
  }
  return n;
}

absl::StatusOr<uint64_t> OcdbtCommit(
    const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& puts,
    const std::vector<std::string>& deletes, const OcdbtWriteOptions& options) {
  OCPX_ASSIGN_OR_RETURN(std::unique_ptr<OcdbtTransaction> t,
                        OcdbtTransaction::Begin(path, options));
  for (const auto& k : deletes) OCPX_RETURN_IF_ERROR(t->Delete(k));
  for (const auto& [k, v] : puts) OCPX_RETURN_IF_ERROR(t->Put(k, v));
  return t->Commit();
}

absl::StatusOr<uint64_t> OcdbtMerge(
    const std::string& parent, const std::vector<std::string>& child_subdirs,
    const OcdbtWriteOptions& options) {
  std::vector<LeafNodeEntry> entries;  // full keys
  std::vector<uint32_t> child_of;      // entries[i] came from child_of[i]
  std::vector<std::string> bases;
  for (size_t ci = 0; ci < child_subdirs.size(); ++ci) {
    std::string sub = child_subdirs[ci];
    while (!sub.empty() && sub.back() == '/') sub.pop_back();
    if (sub.empty() || sub[0] == '/' || sub == ".." ||
        absl::StartsWith(sub, "../") || absl::StrContains(sub, "/../") ||
        absl::EndsWith(sub, "/..")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "child database \"", child_subdirs[ci],
          "\" must be a relative subdirectory of \"", parent, "\""));
    }
    const std::string base = sub + "/";
    bases.push_back(base);
    OCPX_ASSIGN_OR_RETURN(std::shared_ptr<const OcdbtReader> child,
                          OcdbtReader::Open(JoinPath(parent, sub)));
    // (The count comes from the file: a hint, capped.)
    const size_t need = entries.size() + std::min<uint64_t>(child->num_keys(),
                                                            uint64_t{1} << 20);
    if (need > entries.capacity()) {
      entries.reserve(std::max(need, 2 * entries.capacity()));
      child_of.reserve(entries.capacity());
    }
    OCPX_RETURN_IF_ERROR(child->ListEntries(
        KeyRange{}, [&](absl::string_view key, const LeafNodeEntry& e) {
          entries.push_back(e);
          LeafNodeEntry& copy = entries.back();
          copy.key.assign(key.data(), key.size());
          if (copy.indirect) {
            copy.ref.file.base_path.insert(0, base);
          }
          child_of.push_back(static_cast<uint32_t>(ci));
          return absl::OkStatus();
        }));
  }
  // A child lists its keys in order (unless its file says otherwise), so one
  // child's entries are usually sorted already; otherwise a stable sort (of
  // equal keys the first child's comes first).
  bool sorted_already = true;
  for (size_t i = 1; i < entries.size() && sorted_already; ++i) {
    sorted_already = entries[i - 1].key < entries[i].key;
  }
  if (!sorted_already) {
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return entries[a].key < entries[b].key;
    });
    std::vector<LeafNodeEntry> sorted;
    std::vector<uint32_t> sorted_child;
    sorted.reserve(entries.size());
    sorted_child.reserve(entries.size());
    for (size_t i : order) {
      sorted.push_back(std::move(entries[i]));
      sorted_child.push_back(child_of[i]);
    }
    entries = std::move(sorted);
    child_of = std::move(sorted_child);
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].key == entries[i - 1].key) {
      return absl::InvalidArgumentError(absl::StrCat(
          "key \"", absl::CEscape(entries[i].key), "\" is present in both \"",
          bases[child_of[i - 1]], "\" and \"", bases[child_of[i]], "\""));
    }
  }
  child_of.clear();
  OCPX_ASSIGN_OR_RETURN(std::unique_ptr<OcdbtTransaction> t,
                        OcdbtTransaction::Begin(parent, options));
  bool bulk = t->base_generation() == 0;
  for (const auto& e : entries) {
    if (!e.indirect &&
        e.inline_value.size() > t->config().max_inline_value_bytes) {
      bulk = false;  // Put stores it out of line
      break;
    }
  }
  if (bulk) return t->CommitSorted(std::move(entries));
  // An existing parent (its keys are merged with these) or values the
  // parent's config does not inline: key by key.
  for (auto& e : entries) {
    if (e.indirect) {
      OCPX_RETURN_IF_ERROR(t->PutReference(e.key, e.ref));
    } else {
      OCPX_RETURN_IF_ERROR(t->Put(e.key, e.inline_value));
    }
  }
  return t->Commit();
}

}  // namespace internal_ocdbt
}  // namespace ocpx

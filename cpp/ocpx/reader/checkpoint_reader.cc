// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "ocpx/checkpoint_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <new>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cpp/ocpx/array/array_io.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/thread_pool.h"
#include "cpp/ocpx/base/unique_fd.h"
#include "cpp/ocpx/checkpoint/array_store.h"
#include "cpp/ocpx/reader/checkpoint_files.h"
#include "cpp/ocpx/reader/checkpoint_layout.h"

namespace ocpx {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::ErrnoStatus;
using ::ocpx::internal::ErrorCodeStatus;
using ::ocpx::internal::ParallelFor;
using ::ocpx::internal::ThreadPool;
using ::ocpx::internal::UniqueFd;
using ::ocpx::internal_checkpoint::CheckpointArrayReader;
using ::ocpx::internal_zarr::CodecSpec;
using ::ocpx::internal_zarr::FloatBitsToDouble;
using ::ocpx::internal_zarr::HasChunkChecksums;

namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kCheckpointMetadataFile = "_CHECKPOINT_METADATA";
constexpr absl::string_view kPytreeMetadataFile = "_METADATA";
constexpr absl::string_view kShardingFile = "_sharding";
constexpr absl::string_view kStringsFile = "_strings.json";

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

absl::StatusOr<std::string> ReadFile(const fs::path& p) {
  const std::string path = p.string();
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open", path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a regular file"));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// `_sharding` of `dir` (empty if absent); see internal_reader::ParseShardings.
absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ReadShardings(
    const fs::path& dir) {
  const fs::path f = dir / std::string(kShardingFile);
  if (!Exists(f)) return absl::flat_hash_map<std::string, std::string>();
  OCPX_ASSIGN_OR_RETURN(std::string bytes, ReadFile(f));
  OCPX_ASSIGN_OR_RETURN(internal_reader::Shardings s,
                        internal_reader::ParseShardings(bytes, f.string()));
  return std::move(s.by_name);
}

}  // namespace

int64_t LeafInfo::num_elements() const {
  if (kind != LeafKind::kArray && kind != LeafKind::kScalar) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

size_t LeafInfo::num_bytes() const {
  return static_cast<size_t>(num_elements()) * ItemSize(dtype);
}

absl::string_view CheckpointLayoutName(CheckpointLayout layout) {
  switch (layout) {
    case CheckpointLayout::kV1:
      return "v1";
    case CheckpointLayout::kV0Composite:
      return "v0-composite";
    case CheckpointLayout::kV0Flat:
      return "v0-flat";
  }
  return "?";
}

absl::StatusOr<std::optional<StepMetadata>> ReadStepMetadata(
    const std::string& checkpoint_dir) {
  const fs::path f =
      fs::path(checkpoint_dir) / std::string(kCheckpointMetadataFile);
  if (!Exists(f)) return std::optional<StepMetadata>();
  OCPX_ASSIGN_OR_RETURN(std::string bytes, ReadFile(f));
  OCPX_ASSIGN_OR_RETURN(StepMetadata m,
                        internal_reader::ParseStepMetadata(bytes, f.string()));
  return std::optional<StepMetadata>(std::move(m));
}

absl::StatusOr<std::vector<std::string>> ListCheckpointables(
    const std::string& checkpoint_dir) {
  return internal_reader::CheckpointableNames(
      internal_reader::LocalFileSource(checkpoint_dir), std::nullopt);
}

namespace {

// The reader's resolution: Orbax's rules, except that an explicit name may
// be a PyTree whose `_METADATA` was lost (its tree is rebuilt from the
// stored arrays), so that `ocpx verify` can check every checkpointable.
absl::StatusOr<internal_reader::Resolution> Resolve(
    const std::string& checkpoint_dir, const std::string& name) {
  internal_reader::LayoutOptions o;
  if (name.empty()) {
    o.checkpointable = std::nullopt;
  } else {
    o.checkpointable = name;
  }
  o.explicit_needs_metadata = false;
  return internal_reader::ResolveCheckpoint(
      internal_reader::LocalFileSource(checkpoint_dir), o);
}

}  // namespace

absl::StatusOr<std::string> ResolvePytreeCheckpointable(
    const std::string& checkpoint_dir, const std::string& name) {
  OCPX_ASSIGN_OR_RETURN(auto r, Resolve(checkpoint_dir, name));
  return r.checkpointable.value_or("");
}

// The state of an opened reader (immutable after Open) and the methods the
// public class forwards to.
struct CheckpointReader::Impl {
  absl::Status LoadLeaves();
  absl::StatusOr<const LeafInfo*> Leaf(absl::string_view name) const;
  absl::StatusOr<const LeafInfo*> ArrayLeaf(absl::string_view name) const;
  absl::Status Annotate(const absl::Status& s, absl::string_view name) const;
  absl::Status Read(absl::string_view name, void* out, size_t out_size) const;
  absl::Status ReadBox(absl::string_view name, absl::Span<const int64_t> origin,
                       absl::Span<const int64_t> shape, void* out,
                       size_t out_size) const;
  absl::Status CheckBox(const LeafInfo& leaf, absl::Span<const int64_t> origin,
                        absl::Span<const int64_t> shape, size_t out_size) const;
  absl::Status ReadMany(absl::Span<const BoxRead> reads) const;
  absl::StatusOr<HostArray> Read(absl::string_view name) const;
  absl::StatusOr<HostArray> ReadBox(absl::string_view name,
                                    absl::Span<const int64_t> origin,
                                    absl::Span<const int64_t> shape) const;
  absl::StatusOr<std::string> ReadString(absl::string_view name) const;
  absl::StatusOr<double> ReadScalar(absl::string_view name) const;

  std::string path_;
  std::string checkpointable_;
  std::string directory_;
  CheckpointLayout layout_ = CheckpointLayout::kV1;
  bool use_ocdbt_ = true;
  bool metadata_inferred_ = false;
  bool fail_on_missing_chunks_ = true;
  std::vector<std::string> array_metadata_keys_;
  std::optional<StepMetadata> step_metadata_;
  std::string tree_custom_metadata_ = "null";
  std::optional<internal_reader::StringValues> strings_;
  std::vector<LeafInfo> leaves_;
  absl::flat_hash_map<std::string, size_t> by_name_;
  std::unique_ptr<CheckpointArrayReader> arrays_;
};

CheckpointReader::CheckpointReader(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
CheckpointReader::~CheckpointReader() = default;

const std::string& CheckpointReader::path() const { return impl_->path_; }
const std::string& CheckpointReader::checkpointable() const {
  return impl_->checkpointable_;
}
const std::string& CheckpointReader::directory() const {
  return impl_->directory_;
}
CheckpointLayout CheckpointReader::layout() const { return impl_->layout_; }
bool CheckpointReader::use_ocdbt() const { return impl_->use_ocdbt_; }
bool CheckpointReader::metadata_inferred() const {
  return impl_->metadata_inferred_;
}
const std::optional<StepMetadata>& CheckpointReader::step_metadata() const {
  return impl_->step_metadata_;
}
const std::string& CheckpointReader::tree_custom_metadata() const {
  return impl_->tree_custom_metadata_;
}
const std::vector<LeafInfo>& CheckpointReader::leaves() const {
  return impl_->leaves_;
}
absl::StatusOr<const LeafInfo*> CheckpointReader::Leaf(
    absl::string_view name) const {
  return impl_->Leaf(name);
}
absl::Status CheckpointReader::Read(absl::string_view name, void* out,
                                    size_t out_size) const {
  return impl_->Read(name, out, out_size);
}
absl::Status CheckpointReader::ReadBox(absl::string_view name,
                                       absl::Span<const int64_t> origin,
                                       absl::Span<const int64_t> shape,
                                       void* out, size_t out_size) const {
  return impl_->ReadBox(name, origin, shape, out, out_size);
}
absl::Status CheckpointReader::ReadMany(absl::Span<const BoxRead> reads) const {
  return impl_->ReadMany(reads);
}
absl::StatusOr<HostArray> CheckpointReader::Read(absl::string_view name) const {
  return impl_->Read(name);
}
absl::StatusOr<HostArray> CheckpointReader::ReadBox(
    absl::string_view name, absl::Span<const int64_t> origin,
    absl::Span<const int64_t> shape) const {
  return impl_->ReadBox(name, origin, shape);
}
absl::StatusOr<std::string> CheckpointReader::ReadString(
    absl::string_view name) const {
  return impl_->ReadString(name);
}
absl::StatusOr<double> CheckpointReader::ReadScalar(
    absl::string_view name) const {
  return impl_->ReadScalar(name);
}

absl::StatusOr<std::unique_ptr<CheckpointReader>> CheckpointReader::Open(
    std::string path, const CheckpointReaderOptions& options) {
  auto r = std::make_unique<Impl>();
  r->path_ = path;
  r->fail_on_missing_chunks_ = options.fail_on_missing_chunks;
  r->array_metadata_keys_ = options.array_metadata_keys;
  OCPX_ASSIGN_OR_RETURN(auto resolved, Resolve(path, options.checkpointable));
  r->checkpointable_ = resolved.checkpointable.value_or("");
  r->layout_ = resolved.layout;
  const fs::path root(path);
  r->directory_ =
      r->checkpointable_.empty() ? path : (root / r->checkpointable_).string();
  OCPX_ASSIGN_OR_RETURN(r->step_metadata_, ReadStepMetadata(path));
  OCPX_RETURN_IF_ERROR(r->LoadLeaves());
  return std::unique_ptr<CheckpointReader>(new CheckpointReader(std::move(r)));
}

absl::Status CheckpointReader::Impl::LoadLeaves() {
  const fs::path dir(directory_);
  const fs::path meta_file = dir / std::string(kPytreeMetadataFile);
  const bool has_manifest = Exists(dir / "manifest.ocdbt");
  std::optional<internal_reader::TreeMetadata> tree;
  if (Exists(meta_file)) {
    OCPX_ASSIGN_OR_RETURN(std::string bytes, ReadFile(meta_file));
    OCPX_ASSIGN_OR_RETURN(tree, internal_reader::ParseTreeMetadata(
                                    bytes, meta_file.string(), has_manifest));
  }
  use_ocdbt_ = tree.has_value() ? tree->use_ocdbt : has_manifest;
  auto arrays =
      CheckpointArrayReader::Open(directory_, use_ocdbt_, array_metadata_keys_);
  if (!arrays.ok()) return AnnotateStatus(arrays.status(), path_);
  arrays_ = *std::move(arrays);
  OCPX_ASSIGN_OR_RETURN(const auto shardings, ReadShardings(dir));
  if (!tree.has_value()) {
    auto params = arrays_->ListParams();
    OCPX_ASSIGN_OR_RETURN(
        tree, internal_reader::InferTreeMetadata(
                  params.ok() ? *std::move(params) : std::vector<std::string>(),
                  shardings, use_ocdbt_, meta_file.string()));
  }
  metadata_inferred_ = tree->inferred;
  tree_custom_metadata_ = tree->custom_metadata;
  leaves_ = std::move(tree->leaves);
  for (size_t i = 0; i < leaves_.size(); ++i) {
    LeafInfo& leaf = leaves_[i];
    by_name_.emplace(leaf.name, i);  // first wins on (Orbax) name collisions
    auto s = shardings.find(leaf.name);
    if (s != shardings.end()) leaf.sharding = s->second;
    if (leaf.kind != LeafKind::kArray && leaf.kind != LeafKind::kScalar) {
      continue;
    }
    auto md = arrays_->Metadata(leaf.name);
    if (!md.ok()) return Annotate(md.status(), leaf.name);
    leaf.shape = md->shape;
    leaf.dtype = md->dtype;
    leaf.grid_chunk_shape = md->chunk_shape;
    leaf.chunk_shape = md->chunk_shape;
    leaf.zarr_format = md->zarr_format;
    leaf.chunk_checksums = HasChunkChecksums(*md);
    for (const CodecSpec& c : md->codecs) {
      if (c.kind == CodecSpec::Kind::kShardingIndexed) {
        leaf.chunk_shape = c.chunk_shape;
      }
    }
    if (leaf.kind == LeafKind::kScalar && !leaf.shape.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ": scalar leaf '", leaf.name,
                       "' is stored with rank ", leaf.shape.size()));
    }
  }
  const fs::path strings_file = dir / std::string(kStringsFile);
  if (Exists(strings_file)) {
    OCPX_ASSIGN_OR_RETURN(std::string bytes, ReadFile(strings_file));
    OCPX_ASSIGN_OR_RETURN(strings_, internal_reader::StringValues::Parse(
                                        bytes, strings_file.string()));
  }
  return absl::OkStatus();
}

absl::Status CheckpointReader::Impl::Annotate(const absl::Status& s,
                                              absl::string_view name) const {
  return AnnotateStatus(s, path_, ": leaf '", name, "'");
}

absl::StatusOr<const LeafInfo*> CheckpointReader::Impl::Leaf(
    absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return absl::NotFoundError(
        absl::StrCat(path_, ": no leaf named '", name, "' in ", directory_));
  }
  return &leaves_[it->second];
}

absl::StatusOr<const LeafInfo*> CheckpointReader::Impl::ArrayLeaf(
    absl::string_view name) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, Leaf(name));
  if (leaf->kind != LeafKind::kArray && leaf->kind != LeafKind::kScalar) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": leaf '", name,
                                                   "' is a ", leaf->value_type,
                                                   " leaf, not an array"));
  }
  return leaf;
}

absl::Status CheckpointReader::Impl::Read(absl::string_view name, void* out,
                                          size_t out_size) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, ArrayLeaf(name));
  std::vector<int64_t> origin(leaf->shape.size(), 0);
  return ReadBox(name, origin, leaf->shape, out, out_size);
}

absl::Status CheckpointReader::Impl::CheckBox(const LeafInfo& leaf,
                                              absl::Span<const int64_t> origin,
                                              absl::Span<const int64_t> shape,
                                              size_t out_size) const {
  const std::string& name = leaf.name;
  const size_t rank = leaf.shape.size();
  if (origin.size() != rank || shape.size() != rank) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": leaf '", name, "' has rank ", rank,
                     ", box has rank ", shape.size()));
  }
  size_t n = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (origin[d] < 0 || shape[d] < 0 || origin[d] + shape[d] > leaf.shape[d]) {
      return absl::OutOfRangeError(absl::StrCat(
          path_, ": leaf '", name, "': box [", absl::StrJoin(origin, ","),
          "] + [", absl::StrJoin(shape, ","), "] exceeds shape [",
          absl::StrJoin(leaf.shape, ","), "]"));
    }
    n *= static_cast<size_t>(shape[d]);
  }
  const size_t need = n * ItemSize(leaf.dtype);
  if (out_size < need) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": leaf '", name, "': buffer of ", out_size,
                     " bytes is smaller than the ", need, " bytes needed"));
  }
  return absl::OkStatus();
}

absl::Status CheckpointReader::Impl::ReadBox(absl::string_view name,
                                             absl::Span<const int64_t> origin,
                                             absl::Span<const int64_t> shape,
                                             void* out, size_t out_size) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, ArrayLeaf(name));
  OCPX_RETURN_IF_ERROR(CheckBox(*leaf, origin, shape, out_size));
  for (int64_t d : shape) {
    if (d == 0) return absl::OkStatus();
  }
  return Annotate(
      arrays_->Read(leaf->name, origin, shape, out, fail_on_missing_chunks_),
      name);
}

absl::Status CheckpointReader::Impl::ReadMany(
    absl::Span<const BoxRead> reads) const {
  // Boxes of the same leaf are read together (each chunk decoded once);
  // an empty box reads nothing.
  std::vector<std::vector<size_t>> groups;
  absl::flat_hash_map<std::string, size_t> group_of;
  for (size_t i = 0; i < reads.size(); ++i) {
    OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, ArrayLeaf(reads[i].name));
    OCPX_RETURN_IF_ERROR(
        CheckBox(*leaf, reads[i].origin, reads[i].shape, reads[i].out_size));
    if (std::find(reads[i].shape.begin(), reads[i].shape.end(), 0) !=
        reads[i].shape.end()) {
      continue;
    }
    auto [it, added] = group_of.try_emplace(leaf->name, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  std::vector<absl::Status> status(groups.size());
  OCPX_RETURN_IF_ERROR(
      ParallelFor(ThreadPool::Default(), groups.size(), [&](size_t g) {
        std::vector<internal_zarr::ReadBox> boxes;
        boxes.reserve(groups[g].size());
        for (size_t i : groups[g]) {
          boxes.push_back(internal_zarr::ReadBox{reads[i].origin,
                                                 reads[i].shape, reads[i].out});
        }
        const std::string& name = reads[groups[g].front()].name;
        status[g] = Annotate(
            arrays_->ReadBoxes(name, boxes, fail_on_missing_chunks_), name);
        return absl::OkStatus();
      }));
  // The first error in request order: groups are ordered by first request.
  for (const absl::Status& s : status) OCPX_RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

absl::StatusOr<HostArray> CheckpointReader::Impl::Read(
    absl::string_view name) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, ArrayLeaf(name));
  std::vector<int64_t> origin(leaf->shape.size(), 0);
  return ReadBox(name, origin, leaf->shape);
}

absl::StatusOr<HostArray> CheckpointReader::Impl::ReadBox(
    absl::string_view name, absl::Span<const int64_t> origin,
    absl::Span<const int64_t> shape) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, ArrayLeaf(name));
  HostArray a;
  a.dtype = leaf->dtype;
  a.shape.assign(shape.begin(), shape.end());
  // Checked before allocating: the box comes from the caller (or from a
  // stored shape), and a product that overflows must not become a small
  // buffer.
  uint64_t nbytes = ItemSize(leaf->dtype);
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && nbytes > (uint64_t{1} << 62) / d)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": leaf '", name, "': box [", absl::StrJoin(shape, ","),
          "] is negative or holds more than 2^62 bytes"));
    }
    nbytes *= static_cast<uint64_t>(d);
  }
  try {
    a.bytes.resize(nbytes);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(
        path_, ": leaf '", name, "': cannot allocate ", nbytes, " bytes"));
  }
  OCPX_RETURN_IF_ERROR(
      ReadBox(name, origin, shape, a.bytes.data(), a.bytes.size()));
  return a;
}

absl::StatusOr<std::string> CheckpointReader::Impl::ReadString(
    absl::string_view name) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, Leaf(name));
  const std::string file =
      (fs::path(directory_) / std::string(kStringsFile)).string();
  if (leaf->kind != LeafKind::kString) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": leaf '", name,
                                                   "' is a ", leaf->value_type,
                                                   " leaf, not a string"));
  }
  if (!strings_.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(file, ": missing; needed for string leaf '", name, "'"));
  }
  return strings_->Get(leaf->name);
}

absl::StatusOr<double> CheckpointReader::Impl::ReadScalar(
    absl::string_view name) const {
  OCPX_ASSIGN_OR_RETURN(const LeafInfo* leaf, ArrayLeaf(name));
  if (leaf->num_elements() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": leaf '", name, "' has ", leaf->num_elements(),
                     " elements, not one"));
  }
  OCPX_ASSIGN_OR_RETURN(HostArray a, Read(name));
  return ElementToDouble(a.dtype, a.bytes.data());
}

double ElementToDouble(DataType dtype, const void* element) {
  const auto* p = static_cast<const unsigned char*>(element);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return v;
  };
  switch (dtype) {
    case DataType::kBool:
      return p[0] != 0 ? 1.0 : 0.0;
    case DataType::kInt2:
      return static_cast<double>(static_cast<int8_t>(p[0] << 6) >> 6);
    case DataType::kInt4:
      return static_cast<double>(static_cast<int8_t>(p[0] << 4) >> 4);
    case DataType::kInt8:
      return load(int8_t{});
    case DataType::kInt16:
      return load(int16_t{});
    case DataType::kInt32:
      return load(int32_t{});
    case DataType::kInt64:
      return static_cast<double>(load(int64_t{}));
    case DataType::kUint8:
      return load(uint8_t{});
    case DataType::kUint16:
      return load(uint16_t{});
    case DataType::kUint32:
      return load(uint32_t{});
    case DataType::kUint64:
      return static_cast<double>(load(uint64_t{}));
    case DataType::kFloat32:
    case DataType::kComplex64:
      return load(float{});
    case DataType::kFloat64:
    case DataType::kComplex128:
      return load(double{});
    default: {
      uint64_t bits = 0;
      std::memcpy(&bits, p, ItemSize(dtype));  // little-endian hosts
      return FloatBitsToDouble(dtype, bits);
    }
  }
}

}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/checkpoint/array_store.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cpp/ocpx/array/zarr2_metadata.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/thread_pool.h"
#include "cpp/ocpx/checkpoint/ocdbt_chunk_store.h"

namespace ocpx {
namespace internal_checkpoint {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::ByteLimiter;
using ::ocpx::internal::ErrorCodeStatus;
using ::ocpx::internal_ocdbt::KeyRange;
using ::ocpx::internal_ocdbt::LeafNodeEntry;
using ::ocpx::internal_ocdbt::OcdbtReader;
using ::ocpx::internal_ocdbt::OcdbtTransaction;
using ::ocpx::internal_ocdbt::OcdbtWriteOptions;
using ::ocpx::internal_zarr::ArrayMetadata;
using ::ocpx::internal_zarr::FileChunkStore;
using ::ocpx::internal_zarr::JoinKey;
using ::ocpx::internal_zarr::kZarr2MetadataKey;
using ::ocpx::internal_zarr::ParseAnyArrayMetadata;
using ::ocpx::internal_zarr::ParseArrayMetadata;
using ::ocpx::internal_zarr::ParseZarr2ArrayMetadata;
using ::ocpx::internal_zarr::ReadBox;
using ::ocpx::internal_zarr::ReadRegion;
using ::ocpx::internal_zarr::ReadRegionOptions;
using ::ocpx::internal_zarr::ReadRegions;
using ::ocpx::internal_zarr::ValidateMetadataKey;
using ::ocpx::internal_zarr::WriteArrayMetadata;
using ::ocpx::internal_zarr::WriteRegion;
using ::ocpx::internal_zarr::WriteRegionOptions;

namespace {

constexpr absl::string_view kZarr3Suffix = "/zarr.json";
constexpr absl::string_view kZarr2Suffix = "/.zarray";

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointArrayReader>>
CheckpointArrayReader::Open(std::string directory, bool use_ocdbt,
                            std::vector<std::string> extra_metadata_keys) {
  for (const std::string& key : extra_metadata_keys) {
    OCPX_RETURN_IF_ERROR(ValidateMetadataKey(key));
  }
  auto r = std::unique_ptr<CheckpointArrayReader>(new CheckpointArrayReader());
  r->directory_ = directory;
  r->extra_metadata_keys_ = std::move(extra_metadata_keys);
  if (use_ocdbt) {
    auto reader = OcdbtReader::Open(directory);
    if (!reader.ok()) {
      return AnnotateStatus(reader.status(),
                            absl::StrCat(directory, " (OCDBT database)"));
    }
    r->ocdbt_ = *reader;
    r->store_ = std::make_unique<OcdbtReadChunkStore>(r->ocdbt_);
  } else {
    std::error_code ec;
    if (!std::filesystem::is_directory(directory, ec)) {
      if (ec && ec != std::errc::no_such_file_or_directory) {
        return ErrorCodeStatus(ec, "open array directory", directory);
      }
      return absl::NotFoundError(
          absl::StrCat(directory, ": directory does not exist"));
    }
    r->store_ = std::make_unique<FileChunkStore>(directory);
  }
  return r;
}

absl::Status CheckpointArrayReader::Annotate(const absl::Status& s,
                                             const std::string& param) const {
  return AnnotateStatus(s, directory_, ": array '", param, "'");
}

absl::StatusOr<ArrayMetadata> CheckpointArrayReader::Metadata(
    const std::string& param) {
  OCPX_ASSIGN_OR_RETURN(std::shared_ptr<const ArrayMetadata> md,
                        MetadataRef(param));
  return *md;
}

absl::StatusOr<std::shared_ptr<const ArrayMetadata>>
CheckpointArrayReader::MetadataRef(const std::string& param) {
  {
    absl::MutexLock lock(&mu_);
    auto it = metadata_.find(param);
    if (it != metadata_.end()) return it->second;
  }
  // An empty name is the array stored at the root of the directory: a
  // PyTree that is a single leaf (Orbax writes `zarr.json`, `c/0`, ...).
  // Custom keys first (any format), then zarr.json (v3), then .zarray (v2).
  using Parser = absl::StatusOr<ArrayMetadata> (*)(absl::string_view);
  std::vector<std::pair<absl::string_view, Parser>> candidates;
  for (const std::string& key : extra_metadata_keys_) {
    candidates.emplace_back(key, &ParseAnyArrayMetadata);
  }
  candidates.emplace_back("zarr.json", &ParseArrayMetadata);
  candidates.emplace_back(kZarr2MetadataKey, &ParseZarr2ArrayMetadata);
  for (const auto& [key, parse] : candidates) {
    auto text = store_->Read(JoinKey(param, key));
    if (!text.ok()) return Annotate(text.status(), param);
    if (!text->has_value()) continue;
    auto parsed = parse(**text);
    if (!parsed.ok()) {
      return AnnotateStatus(parsed.status(), directory_, ": array '", param,
                            "' (", key, ")");
    }
    auto shared = std::make_shared<const ArrayMetadata>(*std::move(parsed));
    absl::MutexLock lock(&mu_);
    // A concurrent caller may have cached it first: keep one copy.
    return metadata_.emplace(param, std::move(shared)).first->second;
  }
  std::string names;
  for (const auto& candidate : candidates) {
    absl::StrAppend(&names, names.empty() ? "" : " or ", candidate.first);
  }
  return absl::NotFoundError(absl::StrCat(directory_, ": array '", param,
                                          "' not found (no ", names,
                                          " stored for it)"));
}

absl::Status CheckpointArrayReader::Read(const std::string& param,
                                         absl::Span<const int64_t> origin,
                                         absl::Span<const int64_t> shape,
                                         void* out, bool fail_on_missing_chunks,
                                         ByteLimiter* limiter) {
  OCPX_ASSIGN_OR_RETURN(std::shared_ptr<const ArrayMetadata> md,
                        MetadataRef(param));
  ReadRegionOptions options;
  options.fail_on_missing_chunks = fail_on_missing_chunks;
  options.limiter = limiter;
  return Annotate(ReadRegion(*store_, param, *md, origin, shape, out, options),
                  param);
}

absl::Status CheckpointArrayReader::ReadBoxes(const std::string& param,
                                              absl::Span<const ReadBox> boxes,
                                              bool fail_on_missing_chunks,
                                              ByteLimiter* limiter) {
  OCPX_ASSIGN_OR_RETURN(std::shared_ptr<const ArrayMetadata> md,
                        MetadataRef(param));
  ReadRegionOptions options;
  options.fail_on_missing_chunks = fail_on_missing_chunks;
  options.limiter = limiter;
  return Annotate(ReadRegions(*store_, param, *md, boxes, options), param);
}

absl::StatusOr<std::vector<std::string>> CheckpointArrayReader::ListParams() {
  std::vector<std::string> out;
  std::vector<std::string> suffixes = {std::string(kZarr3Suffix),
                                       std::string(kZarr2Suffix)};
  for (const std::string& key : extra_metadata_keys_) {
    suffixes.push_back(absl::StrCat("/", key));
  }
  auto add = [&](absl::string_view key) {
    for (absl::string_view suffix : suffixes) {
      if (absl::EndsWith(key, suffix)) {
        out.emplace_back(key.substr(0, key.size() - suffix.size()));
      } else if (key == suffix.substr(1)) {
        out.emplace_back();  // the root array of a single-leaf PyTree
      }
    }
  };
  if (ocdbt_ != nullptr) {
    absl::Status s = ocdbt_->ListEntries(
        KeyRange{}, [&](absl::string_view key, const LeafNodeEntry&) {
          add(key);
          return absl::OkStatus();
        });
    if (!s.ok()) return AnnotateStatus(s, directory_);
  } else {
    std::error_code ec;
    for (auto it =
             std::filesystem::recursive_directory_iterator(directory_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      std::error_code type_ec;
      if (!it->is_regular_file(type_ec)) continue;
      std::string rel =
          it->path().lexically_relative(directory_).generic_string();
      add(absl::StrCat("/", rel).substr(1));
    }
    if (ec) return ErrorCodeStatus(ec, "list", directory_);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

absl::StatusOr<std::unique_ptr<CheckpointArrayWriter>>
CheckpointArrayWriter::Open(std::string directory,
                            const CheckpointArrayWriterOptions& options) {
  auto w = std::unique_ptr<CheckpointArrayWriter>(new CheckpointArrayWriter());
  w->directory_ = directory;
  w->limiter_ = options.limiter;
  if (options.use_ocdbt) {
    OcdbtWriteOptions wo = OcdbtWriteOptions::Orbax();
    wo.target_data_file_size = options.target_data_file_size;
    wo.sync = options.sync;
    auto txn = OcdbtTransaction::Begin(directory, wo);
    if (!txn.ok()) return AnnotateStatus(txn.status(), directory);
    w->txn_ = *std::move(txn);
    w->store_ = std::make_unique<OcdbtWriteChunkStore>(w->txn_.get());
  } else {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) return ErrorCodeStatus(ec, "create directory", directory);
    w->store_ = std::make_unique<FileChunkStore>(directory);
  }
  return w;
}

CheckpointArrayWriter::~CheckpointArrayWriter() = default;

absl::Status CheckpointArrayWriter::WriteMetadata(
    const std::string& param, const ArrayMetadata& metadata,
    absl::string_view metadata_key) {
  return AnnotateStatus(
      WriteArrayMetadata(*store_, param, metadata, metadata_key),
      absl::StrCat(directory_, ": array '", param, "'"));
}

absl::Status CheckpointArrayWriter::Write(const std::string& param,
                                          const ArrayMetadata& metadata,
                                          absl::Span<const int64_t> origin,
                                          absl::Span<const int64_t> shape,
                                          const void* data) {
  WriteRegionOptions options;
  options.store_fill_value_chunks = true;
  options.limiter = limiter_.get();
  return AnnotateStatus(
      WriteRegion(*store_, param, metadata, origin, shape, data, options),
      absl::StrCat(directory_, ": array '", param, "'"));
}

absl::Status CheckpointArrayWriter::WriteMany(
    absl::Span<const WriteRequest> requests) {
  double bytes = 0;
  for (const WriteRequest& r : requests) {
    if (r.metadata == nullptr || r.data == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          directory_, ": array '", r.param, "': write request without ",
          r.metadata == nullptr ? "metadata" : "data"));
    }
    double n = static_cast<double>(ItemSize(r.metadata->dtype));
    for (int64_t d : r.shape) n *= static_cast<double>(d);
    bytes += n;
  }
  return internal::ParallelFor(
      internal::ThreadPool::Default(), requests.size(),
      [&](size_t i) -> absl::Status {
        const WriteRequest& r = requests[i];
        return Write(r.param, *r.metadata, r.origin, r.shape, r.data);
      },
      0, internal::CallerRoleForBytes(bytes));
}

absl::Status CheckpointArrayWriter::WriteMetadataMany(
    absl::Span<const MetadataRequest> requests) {
  return internal::ParallelFor(internal::ThreadPool::Default(), requests.size(),
                               [&](size_t i) -> absl::Status {
                                 const MetadataRequest& r = requests[i];
                                 return WriteMetadata(r.param, r.metadata,
                                                      r.metadata_key);
                               });
}

absl::Status CheckpointArrayWriter::Commit() {
  if (committed_) {
    return absl::FailedPreconditionError(
        absl::StrCat(directory_, ": already committed"));
  }
  committed_ = true;
  if (txn_ == nullptr) return absl::OkStatus();
  auto gen = txn_->Commit();
  return AnnotateStatus(gen.status(), directory_);
}

}  // namespace internal_checkpoint
}  // namespace ocpx

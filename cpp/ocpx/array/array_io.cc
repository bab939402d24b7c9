// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/array_io.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpp/ocpx/array/chunk_codec.h"
#include "cpp/ocpx/array/internal/strided.h"
#include "cpp/ocpx/array/zarr2_metadata.h"
#include "cpp/ocpx/base/json_depth.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_zarr {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::ByteLimiter;
using ::ocpx::internal::ByteReservation;
using ::ocpx::internal::ParallelFor;
using ::ocpx::internal::ThreadPool;

using internal_array::CopyBox;
using internal_array::FillElements;
using internal_array::NumElements;

namespace {

// Chunks at least this large are written piece by piece to stores that take
// streamed writes (smaller ones gain nothing and would spread over more
// data files).
constexpr size_t kStreamedWriteMinBytes = size_t{1} << 20;
// A thread's reused encoding buffer is freed after a value larger than this.
constexpr size_t kReusedBufferMaxBytes = size_t{2} << 20;

absl::Status WithKey(const absl::Status& s, absl::string_view key) {
  return AnnotateStatus(s, "chunk \"", key, "\"");
}

absl::Status CheckBox(const ArrayMetadata& m, absl::Span<const int64_t> origin,
                      absl::Span<const int64_t> shape) {
  if (origin.size() != m.rank() || shape.size() != m.rank()) {
    return absl::InvalidArgumentError(
        absl::StrCat("box rank (origin ", origin.size(), ", shape ",
                     shape.size(), ") does not match array rank ", m.rank()));
  }
  for (size_t i = 0; i < m.rank(); ++i) {
    if (origin[i] < 0 || shape[i] < 0 || origin[i] > m.shape[i] ||
        shape[i] > m.shape[i] - origin[i]) {
      return absl::OutOfRangeError(absl::StrCat(
          "box origin [", absl::StrJoin(origin, ","), "] shape [",
          absl::StrJoin(shape, ","), "] is outside the array shape [",
          absl::StrJoin(m.shape, ","), "]"));
    }
  }
  return absl::OkStatus();
}

// The chunks intersecting a box.
struct ChunkRange {
  std::vector<int64_t> lo, count;
  int64_t total = 0;

  ChunkRange(const ArrayMetadata& m, absl::Span<const int64_t> origin,
             absl::Span<const int64_t> shape) {
    const size_t r = m.rank();
    lo.resize(r);
    count.resize(r);
    total = 1;
    for (size_t i = 0; i < r; ++i) {
      if (shape[i] == 0) {
        total = 0;
        count[i] = 0;
        continue;
      }
      lo[i] = origin[i] / m.chunk_shape[i];
      int64_t hi = (origin[i] + shape[i] - 1) / m.chunk_shape[i];
      count[i] = hi - lo[i] + 1;
      total *= count[i];
    }
  }

  // True if chunk `g` intersects the box.
  bool Contains(absl::Span<const int64_t> g) const {
    if (total == 0) return false;
    for (size_t i = 0; i < lo.size(); ++i) {
      if (g[i] < lo[i] || g[i] - lo[i] >= count[i]) return false;
    }
    return true;
  }

  std::vector<int64_t> GridIndex(int64_t linear) const {
    std::vector<int64_t> g(lo.size());
    for (size_t i = lo.size(); i-- > 0;) {
      g[i] = lo[i] + linear % count[i];
      linear /= count[i];
    }
    return g;
  }
};

// Geometry of one chunk relative to a box.
struct ChunkGeometry {
  std::vector<int64_t> chunk_origin;  // in array coordinates
  std::vector<int64_t> valid;         // extent of the chunk inside the array
  std::vector<int64_t> isect_lo;      // intersection with box, array coords
  std::vector<int64_t> isect_shape;
  bool covers_valid = true;  // box covers all of `valid`

  ChunkGeometry(const ArrayMetadata& m, absl::Span<const int64_t> g,
                absl::Span<const int64_t> origin,
                absl::Span<const int64_t> shape) {
    const size_t r = m.rank();
    chunk_origin.resize(r);
    valid.resize(r);
    isect_lo.resize(r);
    isect_shape.resize(r);
    for (size_t i = 0; i < r; ++i) {
      chunk_origin[i] = g[i] * m.chunk_shape[i];
      valid[i] = std::min(m.chunk_shape[i], m.shape[i] - chunk_origin[i]);
      int64_t lo = std::max(chunk_origin[i], origin[i]);
      int64_t hi = std::min(chunk_origin[i] + valid[i], origin[i] + shape[i]);
      isect_lo[i] = lo;
      isect_shape[i] = hi - lo;
      if (lo != chunk_origin[i] || hi != chunk_origin[i] + valid[i]) {
        covers_valid = false;
      }
    }
  }
};

// True if the box `box` at `lo` of the C-order array of `shape` is one
// contiguous run: leading extents 1, then one partial dim, then full dims.
bool IsContiguousBox(absl::Span<const int64_t> shape,
                     absl::Span<const int64_t> box) {
  size_t k = 0;
  while (k < box.size() && box[k] == 1) ++k;
  for (size_t i = k + 1; i < box.size(); ++i) {
    if (box[i] != shape[i]) return false;
  }
  return true;
}

// Byte offset of `lo` in the C-order array of `shape`.
int64_t ByteOffset(absl::Span<const int64_t> shape,
                   absl::Span<const int64_t> lo, size_t item) {
  int64_t off = 0;
  for (size_t i = 0; i < shape.size(); ++i) off = off * shape[i] + lo[i];
  return off * static_cast<int64_t>(item);
}

std::vector<int64_t> Sub(absl::Span<const int64_t> a,
                         absl::Span<const int64_t> b) {
  std::vector<int64_t> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] - b[i];
  return r;
}

}  // namespace

std::string JoinKey(absl::string_view param_path, absl::string_view key) {
  while (!param_path.empty() && param_path.back() == '/') {
    param_path.remove_suffix(1);
  }
  if (param_path.empty()) return std::string(key);
  return absl::StrCat(param_path, "/", key);
}

namespace {

using ChunkFn = std::function<absl::Status(
    const std::string& key, const ChunkGeometry& geo, bool direct)>;

// Calls `fn(key, geometry, direct)` for every chunk the box
// [origin, origin + shape) touches, in parallel on `pool` (the default pool
// if null).  `direct` means the box covers the whole chunk and the chunk is
// one contiguous run of the caller's buffer, so no staging buffer is needed.
// While `fn` runs, the chunk holds a reservation from `limiter` of one chunk
// (direct) or two (staged).  Unless the box is small, the calls run on the
// pool's workers, not on the caller: encoding state (zstd contexts, reused
// buffers) is kept per thread, and the few Python threads that write at once
// would each keep their own.
absl::Status ForEachChunk(absl::string_view param_path,
                          const ArrayMetadata& metadata,
                          const ChunkCodec& codec,
                          absl::Span<const int64_t> origin,
                          absl::Span<const int64_t> shape, ThreadPool* pool,
                          ByteLimiter* limiter, size_t max_parallelism,
                          const ChunkFn& fn) {
  ChunkRange range(metadata, origin, shape);
  return ParallelFor(
      pool ? pool : ThreadPool::Default(), static_cast<size_t>(range.total),
      [&](size_t linear) -> absl::Status {
        std::vector<int64_t> g = range.GridIndex(static_cast<int64_t>(linear));
        const std::string key =
            JoinKey(param_path, ChunkKey(metadata.chunk_key_encoding, g));
        ChunkGeometry geo(metadata, g, origin, shape);
        const bool direct = geo.isect_shape == metadata.chunk_shape &&
                            IsContiguousBox(shape, metadata.chunk_shape);
        ByteReservation reservation(
            limiter,
            static_cast<uint64_t>(codec.chunk_bytes()) * (direct ? 1 : 2));
        return fn(key, geo, direct);
      },
      max_parallelism,
      internal::CallerRoleForBytes(static_cast<double>(codec.chunk_bytes()) *
                                   static_cast<double>(range.total)));
}

}  // namespace

absl::Status ValidateMetadataKey(absl::string_view key) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("array metadata key \"", absl::CEscape(key), "\": ", why));
  };
  if (key.empty()) return bad("empty");
  if (key == "." || key == "..") return bad("not a file name");
  for (char c : key) {
    if (c == '/' || c == '\\' || c == '\0') {
      return bad("must be a single file name (no '/', '\\' or NUL)");
    }
  }
  if (key == "c") return bad("clashes with the zarr v3 chunk key prefix");
  bool chunk_like = true;
  bool digit_seen = false;
  for (size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit_seen = true;
    } else if (c == '.' && digit_seen && i + 1 < key.size()) {
      digit_seen = false;
    } else {
      chunk_like = false;
      break;
    }
  }
  if (chunk_like && digit_seen) return bad("clashes with a zarr v2 chunk key");
  return absl::OkStatus();
}

absl::StatusOr<ArrayMetadata> ParseAnyArrayMetadata(absl::string_view text) {
  // The top-level `zarr_format` picks the parser, which checks the rest.
  OCPX_RETURN_IF_ERROR(internal::CheckJsonDepth(text, "array metadata"));
  const nlohmann::json j =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_object()) {
    auto it = j.find("zarr_format");
    if (it != j.end() && *it == 2) return ParseZarr2ArrayMetadata(text);
  }
  return ParseArrayMetadata(text);
}

absl::Status WriteArrayMetadata(ChunkStore& store, absl::string_view param_path,
                                const ArrayMetadata& metadata,
                                absl::string_view metadata_key) {
  OCPX_RETURN_IF_ERROR(ValidateArrayMetadata(metadata));
  if (!metadata_key.empty()) {
    OCPX_RETURN_IF_ERROR(ValidateMetadataKey(metadata_key));
  }
  if (metadata.zarr_format == 2) {
    OCPX_ASSIGN_OR_RETURN(std::string text,
                          SerializeZarr2ArrayMetadata(metadata));
    return store.Write(
        JoinKey(param_path,
                metadata_key.empty() ? kZarr2MetadataKey : metadata_key),
        std::move(text));
  }
  return store.Write(
      JoinKey(param_path, metadata_key.empty() ? "zarr.json" : metadata_key),
      SerializeArrayMetadata(metadata));
}

absl::StatusOr<ArrayMetadata> ReadArrayMetadata(ChunkStore& store,
                                                absl::string_view param_path) {
  const std::string key = JoinKey(param_path, "zarr.json");
  OCPX_ASSIGN_OR_RETURN(std::optional<std::string> value, store.Read(key));
  if (!value) {
    return absl::NotFoundError(absl::StrCat("\"", key, "\" does not exist"));
  }
  absl::StatusOr<ArrayMetadata> m = ParseArrayMetadata(*value);
  if (!m.ok()) return AnnotateStatus(m.status(), "\"", key, "\"");
  return m;
}

absl::Status WriteRegion(ChunkStore& store, absl::string_view param_path,
                         const ArrayMetadata& metadata,
                         absl::Span<const int64_t> origin,
                         absl::Span<const int64_t> shape, const void* data,
                         const WriteRegionOptions& options) {
  OCPX_RETURN_IF_ERROR(CheckBox(metadata, origin, shape));
  OCPX_ASSIGN_OR_RETURN(ChunkCodec codec, ChunkCodec::Make(metadata));
  const size_t item = ItemSize(metadata.dtype);
  // Large chunks of Orbax's layout go to stores that take streamed writes
  // piece by piece, compressed as they are written (no buffer for the
  // encoded value).  Returns false if the chunk was not streamed.
  const bool can_stream = store.SupportsStreamedWrites() &&
                          codec.chunk_bytes() >= kStreamedWriteMinBytes &&
                          codec.CanEncodeStreamed();
  // Whether `Encode` would omit the chunk (outside the array, or only the
  // fill value when such chunks are not stored).  Such chunks take the
  // `Encode` path, which deletes them, not the piecewise ones below (the
  // store would record whatever the producer wrote).
  auto omitted = [&](const char* src, absl::Span<const int64_t> valid) {
    for (int64_t v : valid) {
      if (v <= 0) return true;
    }
    return !options.store_fill_value_chunks &&
           internal_array::AllEqual(src, codec.chunk_num_elements(),
                                    metadata.fill_value);
  };
  auto stream = [&](const std::string& key, const char* src,
                    absl::Span<const int64_t> valid) -> absl::StatusOr<bool> {
    if (!can_stream || omitted(src, valid)) return false;
    OCPX_RETURN_IF_ERROR(WithKey(
        store.WriteStreamed(
            key,
            [&](const ChunkStore::PieceSink& sink) -> absl::Status {
              OCPX_ASSIGN_OR_RETURN(
                  bool streamed,
                  codec.EncodeStreamed(src, valid,
                                       options.store_fill_value_chunks, sink));
              if (!streamed) {
                return absl::InternalError("the chunk could not be streamed");
              }
              return absl::OkStatus();
            }),
        key));
    return true;
  };
  // Smaller chunks of that layout are encoded through the same pieces into
  // a buffer each thread keeps (its capacity reused chunk after chunk) and
  // handed to the store as a view: a fresh buffer per chunk costs a page
  // fault per 4 KiB, as glibc returns freed memory between chunks.  Returns
  // false if the chunk was not written this way.
  const bool can_reuse = !can_stream && codec.CanEncodeStreamed();
  auto encode_reusing =
      [&](const std::string& key, const char* src,
          absl::Span<const int64_t> valid) -> absl::StatusOr<bool> {
    if (!can_reuse || omitted(src, valid)) return false;
    thread_local std::string buffer;
    buffer.clear();
    OCPX_ASSIGN_OR_RETURN(
        bool encoded,
        codec.EncodeStreamed(src, valid, options.store_fill_value_chunks,
                             [&](absl::string_view piece) {
                               buffer.append(piece.data(), piece.size());
                               return absl::OkStatus();
                             }));
    if (!encoded) return false;
    absl::Status s = WithKey(store.WriteCopy(key, buffer), key);
    if (buffer.capacity() > kReusedBufferMaxBytes) std::string().swap(buffer);
    OCPX_RETURN_IF_ERROR(s);
    return true;
  };
  // Each chunk's reservation covers the encoded value (at most about the
  // decoded size) plus the staging buffer if there is one, and is held until
  // the store has the value.
  return ForEachChunk(
      param_path, metadata, codec, origin, shape, options.pool, options.limiter,
      options.max_parallelism,
      [&](const std::string& key, const ChunkGeometry& geo,
          bool direct) -> absl::Status {
        if (direct) {
          // The whole chunk is one contiguous run of the input: no copy.
          const char* src = static_cast<const char*>(data) +
                            ByteOffset(shape, Sub(geo.isect_lo, origin), item);
          OCPX_ASSIGN_OR_RETURN(bool streamed, stream(key, src, geo.valid));
          if (streamed) return absl::OkStatus();
          OCPX_ASSIGN_OR_RETURN(bool reused,
                                encode_reusing(key, src, geo.valid));
          if (reused) return absl::OkStatus();
          absl::StatusOr<std::optional<std::string>> encoded =
              codec.Encode(src, geo.valid, options.store_fill_value_chunks);
          OCPX_RETURN_IF_ERROR(WithKey(encoded.status(), key));
          if (!*encoded) return WithKey(store.Delete(key), key);
          return WithKey(store.Write(key, *std::move(*encoded)), key);
        }
        std::string chunk(codec.chunk_bytes(), '\0');
        if (geo.covers_valid) {
          if (geo.valid != metadata.chunk_shape) {
            FillElements(chunk.data(), codec.chunk_num_elements(),
                         metadata.fill_value);
          }
        } else {
          OCPX_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                                store.Read(key));
          if (existing) {
            OCPX_RETURN_IF_ERROR(
                WithKey(codec.Decode(*existing, chunk.data()), key));
          } else {
            FillElements(chunk.data(), codec.chunk_num_elements(),
                         metadata.fill_value);
          }
        }
        CopyBox(static_cast<const char*>(data), shape,
                Sub(geo.isect_lo, origin), chunk.data(), metadata.chunk_shape,
                Sub(geo.isect_lo, geo.chunk_origin), geo.isect_shape, item);
        OCPX_ASSIGN_OR_RETURN(bool streamed,
                              stream(key, chunk.data(), geo.valid));
        if (streamed) return absl::OkStatus();
        OCPX_ASSIGN_OR_RETURN(bool reused,
                              encode_reusing(key, chunk.data(), geo.valid));
        if (reused) return absl::OkStatus();
        absl::StatusOr<std::optional<std::string>> encoded = codec.Encode(
            chunk.data(), geo.valid, options.store_fill_value_chunks);
        OCPX_RETURN_IF_ERROR(WithKey(encoded.status(), key));
        std::string().swap(chunk);
        if (!*encoded) return WithKey(store.Delete(key), key);
        return WithKey(store.Write(key, *std::move(*encoded)), key);
      });
}

absl::Status ReadRegion(ChunkStore& store, absl::string_view param_path,
                        const ArrayMetadata& metadata,
                        absl::Span<const int64_t> origin,
                        absl::Span<const int64_t> shape, void* out,
                        const ReadRegionOptions& options) {
  const ReadBox box{origin, shape, out};
  return ReadRegions(store, param_path, metadata, absl::MakeConstSpan(&box, 1),
                     options);
}

absl::Status ReadRegions(ChunkStore& store, absl::string_view param_path,
                         const ArrayMetadata& metadata,
                         absl::Span<const ReadBox> boxes,
                         const ReadRegionOptions& options) {
  for (const ReadBox& b : boxes) {
    OCPX_RETURN_IF_ERROR(CheckBox(metadata, b.origin, b.shape));
  }
  OCPX_ASSIGN_OR_RETURN(ChunkCodec codec, ChunkCodec::Make(metadata));
  const size_t item = ItemSize(metadata.dtype);
  const size_t rank = metadata.rank();
  // The chunks the boxes touch are enumerated lazily, box after box, and
  // nothing is kept per chunk: a metadata file can claim billions of chunks,
  // and a box of them must cost its own buffer, not a list of chunk indices
  // (a 4 MiB box of 3-byte chunks would need ~70 MB of them).  Task t is
  // chunk t - first_task[b] of box b's range; a chunk that several boxes
  // touch is read once, by the first of them.
  std::vector<ChunkRange> ranges;
  std::vector<size_t> first_task;
  ranges.reserve(boxes.size());
  first_task.reserve(boxes.size());
  size_t num_tasks = 0;
  for (const ReadBox& b : boxes) {
    ranges.emplace_back(metadata, b.origin, b.shape);
    const auto n = static_cast<uint64_t>(ranges.back().total);
    if (n > std::numeric_limits<size_t>::max() - num_tasks) {
      return absl::ResourceExhaustedError(
          "the boxes touch more chunks than a size_t can count");
    }
    first_task.push_back(num_tasks);
    num_tasks += static_cast<size_t>(n);
  }
  // Each chunk's reservation covers the stored value (at most about the
  // decoded size) plus the decoded chunk if it is staged rather than decoded
  // into a box.
  const bool ranged = store.SupportsValueRanges();
  return ParallelFor(
      options.pool ? options.pool : ThreadPool::Default(), num_tasks,
      [&](size_t t) -> absl::Status {
        // The last box whose first task is <= t (boxes touching no chunk
        // have no tasks and share their successor's first task).
        const size_t b = static_cast<size_t>(
            std::upper_bound(first_task.begin(), first_task.end(), t) -
            first_task.begin() - 1);
        const std::vector<int64_t> g =
            ranges[b].GridIndex(static_cast<int64_t>(t - first_task[b]));
        for (size_t e = 0; e < b; ++e) {
          if (ranges[e].Contains(g)) return absl::OkStatus();  // read by e
        }
        const std::string key =
            JoinKey(param_path, ChunkKey(metadata.chunk_key_encoding, g));
        // The boxes this chunk intersects, and one it fills contiguously.
        std::vector<std::pair<size_t, ChunkGeometry>> hits;
        int direct = -1;
        for (size_t i = b; i < boxes.size(); ++i) {
          ChunkGeometry geo(metadata, g, boxes[i].origin, boxes[i].shape);
          bool empty = false;
          for (size_t d = 0; d < rank; ++d) empty |= geo.isect_shape[d] <= 0;
          if (empty) continue;
          if (direct < 0 && geo.isect_shape == metadata.chunk_shape &&
              IsContiguousBox(boxes[i].shape, metadata.chunk_shape)) {
            direct = static_cast<int>(hits.size());
          }
          hits.emplace_back(i, std::move(geo));
        }
        if (hits.empty()) return absl::OkStatus();
        ByteReservation reservation(
            options.limiter,
            static_cast<uint64_t>(codec.chunk_bytes()) * (direct >= 0 ? 1 : 2));
        auto out_of = [&](size_t h) {
          return static_cast<char*>(boxes[hits[h].first].out);
        };
        auto out_lo = [&](size_t h) {
          return Sub(hits[h].second.isect_lo, boxes[hits[h].first].origin);
        };
        // Stores with ranged reads stream the value through the decoder, so
        // it is never held whole; others read it whole.
        std::optional<std::string> value;
        std::optional<ChunkStore::ValueRange> range;
        if (ranged) {
          OCPX_ASSIGN_OR_RETURN(range, store.OpenValue(key));
        } else {
          OCPX_ASSIGN_OR_RETURN(value, store.Read(key));
        }
        if (!value && !range) {
          if (options.fail_on_missing_chunks) {
            return absl::NotFoundError(
                absl::StrCat("chunk \"", key, "\" is missing"));
          }
          for (size_t h = 0; h < hits.size(); ++h) {
            internal_array::FillBox(out_of(h), boxes[hits[h].first].shape,
                                    out_lo(h), hits[h].second.isect_shape,
                                    metadata.fill_value);
          }
          return absl::OkStatus();
        }
        auto decode = [&](char* dst) -> absl::Status {
          if (range) {
            OCPX_ASSIGN_OR_RETURN(
                bool streamed,
                codec.DecodeStreamed(range->size, range->read_at, dst));
            if (streamed) return absl::OkStatus();
            value.emplace(range->size, '\0');
            OCPX_RETURN_IF_ERROR(range->read_at(0, absl::MakeSpan(*value)));
          }
          return codec.Decode(*value, dst);
        };
        // The decoded chunk: inside a box (direct) or in a staging buffer.
        const char* decoded = nullptr;
        std::unique_ptr<char[]> staging;
        if (direct >= 0) {
          char* dst =
              out_of(direct) +
              ByteOffset(boxes[hits[direct].first].shape, out_lo(direct), item);
          OCPX_RETURN_IF_ERROR(WithKey(decode(dst), key));
          decoded = dst;
        } else {
          staging.reset(new (std::nothrow) char[codec.chunk_bytes() + 1]);
          if (staging == nullptr) {
            return absl::ResourceExhaustedError(
                absl::StrCat("chunk \"", key, "\": cannot allocate ",
                             codec.chunk_bytes(), " bytes to decode it"));
          }
          OCPX_RETURN_IF_ERROR(WithKey(decode(staging.get()), key));
          decoded = staging.get();
        }
        value.reset();  // the stored value is no longer needed
        for (size_t h = 0; h < hits.size(); ++h) {
          if (static_cast<int>(h) == direct) continue;
          const ChunkGeometry& geo = hits[h].second;
          CopyBox(decoded, metadata.chunk_shape,
                  Sub(geo.isect_lo, geo.chunk_origin), out_of(h),
                  boxes[hits[h].first].shape, out_lo(h), geo.isect_shape, item);
        }
        return absl::OkStatus();
      },
      options.max_parallelism);
}

}  // namespace internal_zarr
}  // namespace ocpx

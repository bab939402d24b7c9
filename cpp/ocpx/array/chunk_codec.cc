// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/chunk_codec.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/array/internal/strided.h"
#include "cpp/ocpx/base/crc32c.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/zstd.h"

namespace ocpx {
namespace internal_zarr {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::Crc32c;
using ::ocpx::internal::Crc32cExtend;
using ::ocpx::internal::ZstdCompress;
using ::ocpx::internal::ZstdCompressStreamed;
using ::ocpx::internal::ZstdDecompress;
using ::ocpx::internal::ZstdDecompressInto;
using ::ocpx::internal::ZstdStreamDecoder;
using ::ocpx::internal_array::AllEqual;
using ::ocpx::internal_array::CopyBox;
using ::ocpx::internal_array::FillBox;
using ::ocpx::internal_array::NumElements;
using ::ocpx::internal_array::Permute;

#if defined(ABSL_IS_BIG_ENDIAN)
constexpr Endian kNativeEndian = Endian::kBig;
#else
constexpr Endian kNativeEndian = Endian::kLittle;
#endif

constexpr uint64_t kMissing = std::numeric_limits<uint64_t>::max();

// One compiled codec chain, applied to arrays of `shape`.
struct Chain {
  DataType dtype;
  size_t item_size;
  std::string fill;
  std::vector<int64_t> shape;  // decoded shape
  int64_t num_elements;
  size_t raw_bytes;
  bool has_transpose = false;
  std::vector<int64_t> perm;  // encoded axis j = decoded axis perm[j]
  std::vector<int64_t> inv_perm;
  std::vector<int64_t> enc_shape;  // shape after the transposes
  bool sharding = false;
  bool swap = false;  // bytes: non-native endian
  // sharding_indexed
  std::vector<int64_t> inner_shape;
  std::vector<int64_t> grid;
  int64_t num_inner = 0;
  std::unique_ptr<Chain> inner;
  std::unique_ptr<Chain> index;
  bool index_at_start = false;
  size_t index_bytes = 0;
  std::vector<CodecSpec> b2b;  // bytes->bytes codecs, in encode order
  // Upper bound on the array->bytes output size, and whether it is exact.
  size_t ab_bound = 0;
  bool ab_exact = false;
};

namespace {

size_t CompressBound(const CodecSpec& c, size_t n) {
  switch (c.kind) {
    case CodecSpec::Kind::kCrc32c:
      return n + 4;
    case CodecSpec::Kind::kZstd:
      return n + n / 128 + 1024;
    case CodecSpec::Kind::kGzip:
      return n + n / 8 + 1024;
    default:
      return n;
  }
}

absl::StatusOr<std::unique_ptr<Chain>> Compile(
    const std::vector<CodecSpec>& codecs, std::vector<int64_t> shape,
    DataType dtype, std::string fill) {
  auto c = std::make_unique<Chain>();
  c->dtype = dtype;
  c->item_size = ItemSize(dtype);
  c->fill = std::move(fill);
  c->shape = shape;
  c->num_elements = NumElements(shape);
  c->raw_bytes = static_cast<size_t>(c->num_elements) * c->item_size;
  const size_t rank = shape.size();
  c->perm.resize(rank);
  for (size_t i = 0; i < rank; ++i) c->perm[i] = static_cast<int64_t>(i);
  size_t i = 0;
  for (; i < codecs.size() && codecs[i].kind == CodecSpec::Kind::kTranspose;
       ++i) {
    std::vector<int64_t> next(rank);
    for (size_t j = 0; j < rank; ++j) next[j] = c->perm[codecs[i].order[j]];
    c->perm = std::move(next);
  }
  c->inv_perm.resize(rank);
  c->enc_shape.resize(rank);
  for (size_t j = 0; j < rank; ++j) {
    c->inv_perm[c->perm[j]] = static_cast<int64_t>(j);
    c->enc_shape[j] = shape[c->perm[j]];
    if (c->perm[j] != static_cast<int64_t>(j)) c->has_transpose = true;
  }
  if (i >= codecs.size()) {
    return absl::InvalidArgumentError("codecs: no array->bytes codec");
  }
  const CodecSpec& ab = codecs[i];
  if (ab.kind == CodecSpec::Kind::kBytes) {
    c->swap = ab.endian.has_value() && *ab.endian != kNativeEndian &&
              ByteSwapUnit(dtype) > 1;
    c->ab_bound = c->raw_bytes;
    c->ab_exact = true;
  } else if (ab.kind == CodecSpec::Kind::kShardingIndexed) {
    c->sharding = true;
    c->inner_shape = ab.chunk_shape;
    c->index_at_start = ab.index_at_start;
    c->grid.resize(rank);
    for (size_t j = 0; j < rank; ++j) {
      c->grid[j] = c->enc_shape[j] / c->inner_shape[j];
    }
    c->num_inner = NumElements(c->grid);
    OCPX_ASSIGN_OR_RETURN(c->inner,
                          Compile(ab.codecs, ab.chunk_shape, dtype, c->fill));
    std::vector<int64_t> index_shape = c->grid;
    index_shape.push_back(2);
    OCPX_ASSIGN_OR_RETURN(
        c->index, Compile(ab.index_codecs, index_shape, DataType::kUint64,
                          std::string(8, '\0')));
    if (!c->index->ab_exact) {
      return absl::InvalidArgumentError(
          "sharding_indexed: index_codecs must have a fixed size");
    }
    c->index_bytes = c->index->ab_bound;
    for (const auto& b : c->index->b2b)
      c->index_bytes = CompressBound(b, c->index_bytes);
    c->ab_bound = static_cast<size_t>(c->num_inner) *
                      (c->inner->ab_bound + 64 * c->inner->b2b.size() + 1024) +
                  c->index_bytes;
    for (const auto& b : c->inner->b2b) {
      c->ab_bound +=
          static_cast<size_t>(c->num_inner) *
          (CompressBound(b, c->inner->raw_bytes) - c->inner->raw_bytes);
    }
    c->ab_exact = false;
  } else {
    return absl::InvalidArgumentError("codecs: bad array->bytes codec");
  }
  for (++i; i < codecs.size(); ++i) c->b2b.push_back(codecs[i]);
  return c;
}

// --- gzip (RFC 1952) via zlib
// -------------------------------------------------

absl::Status GzipCompress(absl::string_view in, int level, std::string* out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("gzip: deflateInit2 failed");
  }
  out->resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = out->size() - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("gzip: deflate failed");
  out->resize(produced);
  return absl::OkStatus();
}

// Inflates exactly one gzip member that must fill `out` (if `exact`) or at
// most `max_size` bytes.
absl::Status GzipDecompress(absl::string_view in, size_t max_size, bool exact,
                            std::string* out) {
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 15 + 16) != Z_OK) {
    return absl::InternalError("gzip: inflateInit2 failed");
  }
  out->resize(max_size);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = inflate(&zs, Z_FINISH);
  size_t produced = out->size() - zs.avail_out;
  size_t left = zs.avail_in;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return absl::DataLossError(
        rc == Z_BUF_ERROR && zs.avail_out == 0
            ? "gzip: decompressed data larger than expected"
            : "gzip: corrupt or truncated stream");
  }
  if (left != 0) return absl::DataLossError("gzip: trailing bytes");
  if (exact && produced != max_size) {
    return absl::DataLossError(absl::StrCat("gzip: decompressed ", produced,
                                            " bytes, expected ", max_size));
  }
  out->resize(produced);
  return absl::OkStatus();
}

absl::StatusOr<bool> EncodeChain(const Chain& c, const char* data,
                                 absl::Span<const int64_t> valid,
                                 bool store_fill, std::string* out);

absl::StatusOr<bool> EncodeShard(const Chain& c, const char* arr,
                                 absl::Span<const int64_t> valid,
                                 bool store_fill, std::string* out) {
  const size_t rank = c.enc_shape.size();
  const Chain& in = *c.inner;
  std::string data_part;
  std::vector<uint64_t> index(2 * static_cast<size_t>(c.num_inner), kMissing);
  std::string inner_buf;
  const bool single = c.num_inner == 1;
  if (!single) inner_buf.resize(in.raw_bytes);
  std::vector<int64_t> g(rank, 0), origin(rank), inner_valid(rank),
      zeros(rank, 0);
  bool any = false;
  for (int64_t k = 0; k < c.num_inner; ++k) {
    bool inside = true;
    for (size_t d = 0; d < rank; ++d) {
      origin[d] = g[d] * c.inner_shape[d];
      inner_valid[d] = std::min(std::max<int64_t>(valid[d] - origin[d], 0),
                                c.inner_shape[d]);
      inside = inside && inner_valid[d] > 0;
    }
    if (inside) {
      const char* src = arr;
      if (!single) {
        CopyBox(arr, c.enc_shape, origin, inner_buf.data(), c.inner_shape,
                zeros, c.inner_shape, c.item_size);
        src = inner_buf.data();
      }
      if (store_fill || !AllEqual(src, in.num_elements, c.fill)) {
        std::string enc;
        OCPX_ASSIGN_OR_RETURN(
            bool present, EncodeChain(in, src, inner_valid, store_fill, &enc));
        if (present) {
          index[2 * k] = data_part.size();
          index[2 * k + 1] = enc.size();
          if (data_part.empty()) {
            data_part = std::move(enc);  // one inner chunk: no copy
          } else {
            data_part += enc;
          }
          any = true;
        }
      }
    }
    for (size_t d = rank; d-- > 0;) {
      if (++g[d] < c.grid[d]) break;
      g[d] = 0;
    }
  }
  if (!any && !store_fill) return false;
  if (c.index_at_start) {
    for (int64_t k = 0; k < c.num_inner; ++k) {
      if (index[2 * k] != kMissing) index[2 * k] += c.index_bytes;
    }
  }
  std::string idx_enc;
  OCPX_ASSIGN_OR_RETURN(
      bool ok,
      EncodeChain(*c.index, reinterpret_cast<const char*>(index.data()), {},
                  true, &idx_enc));
  (void)ok;
  if (idx_enc.size() != c.index_bytes) {
    return absl::InternalError("sharding_indexed: index size mismatch");
  }
  if (c.index_at_start) {
    *out = std::move(idx_enc);
    *out += data_part;
  } else {
    // The compressor's buffer usually has room for the index already.
    *out = std::move(data_part);
    *out += idx_enc;
  }
  return true;
}

absl::StatusOr<bool> EncodeChain(const Chain& c, const char* data,
                                 absl::Span<const int64_t> valid_in,
                                 bool store_fill, std::string* out) {
  const size_t rank = c.shape.size();
  std::vector<int64_t> valid(rank);
  for (size_t d = 0; d < rank; ++d) {
    valid[d] = valid_in.empty() ? c.shape[d] : valid_in[d];
  }
  const char* arr = data;
  std::string transposed;
  if (c.has_transpose) {
    transposed.resize(c.raw_bytes);
    Permute(data, c.shape, c.perm, c.item_size, transposed.data());
    arr = transposed.data();
    std::vector<int64_t> v(rank);
    for (size_t j = 0; j < rank; ++j) v[j] = valid[c.perm[j]];
    valid = std::move(v);
  }
  std::string cur;
  absl::string_view bytes;
  if (!c.sharding) {
    if (c.swap) {
      cur.assign(arr, c.raw_bytes);
      ByteSwapInPlace(c.dtype, cur.data(), c.num_elements);
      bytes = cur;
    } else if (c.has_transpose) {
      cur = std::move(transposed);
      bytes = cur;
    } else {
      bytes = absl::string_view(arr, c.raw_bytes);
    }
  } else {
    OCPX_ASSIGN_OR_RETURN(bool present,
                          EncodeShard(c, arr, valid, store_fill, &cur));
    if (!present) return false;
    bytes = cur;
  }
  for (const CodecSpec& b : c.b2b) {
    std::string next;
    switch (b.kind) {
      case CodecSpec::Kind::kZstd: {
        OCPX_ASSIGN_OR_RETURN(next, ZstdCompress(bytes, b.level, b.checksum));
        break;
      }
      case CodecSpec::Kind::kGzip: {
        OCPX_RETURN_IF_ERROR(GzipCompress(bytes, b.level, &next));
        break;
      }
      case CodecSpec::Kind::kCrc32c: {
        uint32_t crc = Crc32c(bytes);
        char le[4] = {static_cast<char>(crc), static_cast<char>(crc >> 8),
                      static_cast<char>(crc >> 16),
                      static_cast<char>(crc >> 24)};
        if (bytes.data() == cur.data() && bytes.size() == cur.size()) {
          // Append in place: a compressor's buffer has spare capacity, so
          // the checksum costs no copy of the chunk.
          cur.append(le, 4);
          bytes = cur;
          continue;
        }
        next.reserve(bytes.size() + 4);
        next.assign(bytes.data(), bytes.size());
        next.append(le, 4);
        break;
      }
      default:
        return absl::InternalError("bad bytes->bytes codec");
    }
    cur = std::move(next);
    bytes = cur;
  }
  if (bytes.data() == cur.data() && bytes.size() == cur.size()) {
    *out = std::move(cur);
  } else {
    out->assign(bytes.data(), bytes.size());
  }
  return true;
}

absl::Status DecodeChain(const Chain& c, absl::string_view enc, char* out);

absl::Status DecodeShard(const Chain& c, absl::string_view shard,
                         char* target) {
  if (shard.size() < c.index_bytes) {
    return absl::DataLossError(absl::StrCat(
        "sharding_indexed: shard of ", shard.size(),
        " bytes is shorter than its index (", c.index_bytes, " bytes)"));
  }
  absl::string_view idx_view = c.index_at_start
                                   ? shard.substr(0, c.index_bytes)
                                   : shard.substr(shard.size() - c.index_bytes);
  std::vector<uint64_t> index(2 * static_cast<size_t>(c.num_inner));
  absl::Status s =
      DecodeChain(*c.index, idx_view, reinterpret_cast<char*>(index.data()));
  OCPX_RETURN_IF_ERROR(AnnotateStatus(s, "sharding_indexed index"));
  const size_t rank = c.enc_shape.size();
  const Chain& in = *c.inner;
  const bool single = c.num_inner == 1;
  std::string inner_buf;
  if (!single) inner_buf.resize(in.raw_bytes);
  std::vector<int64_t> g(rank, 0), origin(rank), zeros(rank, 0);
  for (int64_t k = 0; k < c.num_inner; ++k) {
    for (size_t d = 0; d < rank; ++d) origin[d] = g[d] * c.inner_shape[d];
    uint64_t off = index[2 * k], nb = index[2 * k + 1];
    if (off == kMissing && nb == kMissing) {
      FillBox(target, c.enc_shape, origin, c.inner_shape, c.fill);
    } else {
      if (off == kMissing || nb == kMissing || off > shard.size() ||
          nb > shard.size() - off) {
        return absl::DataLossError(absl::StrCat(
            "sharding_indexed: inner chunk [", absl::StrJoin(g, ","),
            "] has invalid byte range (offset ", off, ", length ", nb,
            ") in a shard of ", shard.size(), " bytes"));
      }
      char* dst = single ? target : inner_buf.data();
      s = DecodeChain(in, shard.substr(off, nb), dst);
      if (!s.ok()) {
        return AnnotateStatus(s, "sharding_indexed: inner chunk [",
                              absl::StrJoin(g, ","), "]");
      }
      if (!single) {
        CopyBox(inner_buf.data(), c.inner_shape, zeros, target, c.enc_shape,
                origin, c.inner_shape, c.item_size);
      }
    }
    for (size_t d = rank; d-- > 0;) {
      if (++g[d] < c.grid[d]) break;
      g[d] = 0;
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeChain(const Chain& c, absl::string_view enc, char* out) {
  // Where the array->bytes output lands when it is plain bytes.
  std::string transposed;
  char* array_target = out;
  if (c.has_transpose) {
    transposed.resize(c.raw_bytes);
    array_target = transposed.data();
  }
  // Exact sizes / bounds of the input of each bytes->bytes codec.
  const size_t nb2b = c.b2b.size();
  std::vector<size_t> size_before(nb2b + 1);
  std::vector<bool> exact_before(nb2b + 1);
  size_before[0] = c.ab_bound;
  exact_before[0] = c.ab_exact;
  for (size_t i = 0; i < nb2b; ++i) {
    size_before[i + 1] = CompressBound(c.b2b[i], size_before[i]);
    exact_before[i + 1] =
        exact_before[i] && c.b2b[i].kind == CodecSpec::Kind::kCrc32c;
  }
  absl::string_view cur = enc;
  std::string buf;
  bool in_target = false;  // decoded bytes already in array_target
  for (size_t i = nb2b; i-- > 0;) {
    const CodecSpec& b = c.b2b[i];
    switch (b.kind) {
      case CodecSpec::Kind::kCrc32c: {
        if (cur.size() < 4) {
          return absl::DataLossError(absl::StrCat(
              "crc32c: value of ", cur.size(), " bytes is too short"));
        }
        absl::string_view payload = cur.substr(0, cur.size() - 4);
        const unsigned char* p =
            reinterpret_cast<const unsigned char*>(cur.data()) + payload.size();
        uint32_t stored = p[0] | (p[1] << 8) | (p[2] << 16) |
                          (static_cast<uint32_t>(p[3]) << 24);
        uint32_t actual = Crc32c(payload);
        if (stored != actual) {
          return absl::DataLossError(absl::StrCat(
              "crc32c: checksum mismatch, the stored data is corrupt (stored "
              "0x",
              absl::Hex(stored), ", computed 0x", absl::Hex(actual), ")"));
        }
        cur = payload;
        break;
      }
      case CodecSpec::Kind::kZstd: {
        if (exact_before[i]) {
          if (i == 0 && !c.sharding && !c.swap) {
            // Decompress straight into the destination.
            OCPX_RETURN_IF_ERROR(ZstdDecompressInto(
                cur, absl::Span<char>(array_target, c.raw_bytes)));
            in_target = true;
          } else {
            std::string next(size_before[i], '\0');
            OCPX_RETURN_IF_ERROR(ZstdDecompressInto(
                cur, absl::Span<char>(next.data(), next.size())));
            buf = std::move(next);
            cur = buf;
          }
        } else {
          OCPX_ASSIGN_OR_RETURN(std::string next,
                                ZstdDecompress(cur, size_before[i]));
          buf = std::move(next);
          cur = buf;
        }
        break;
      }
      case CodecSpec::Kind::kGzip: {
        std::string next;
        OCPX_RETURN_IF_ERROR(
            GzipDecompress(cur, size_before[i], exact_before[i], &next));
        buf = std::move(next);
        cur = buf;
        break;
      }
      default:
        return absl::InternalError("bad bytes->bytes codec");
    }
  }
  if (!c.sharding) {
    if (!in_target) {
      if (cur.size() != c.raw_bytes) {
        return absl::DataLossError(absl::StrCat(
            "bytes: expected ", c.raw_bytes, " bytes for ", c.num_elements,
            " elements of ", DataTypeName(c.dtype), ", got ", cur.size()));
      }
      std::memcpy(array_target, cur.data(), c.raw_bytes);
    }
    if (c.swap) ByteSwapInPlace(c.dtype, array_target, c.num_elements);
  } else {
    OCPX_RETURN_IF_ERROR(DecodeShard(c, cur, array_target));
  }
  if (c.has_transpose) {
    Permute(transposed.data(), c.enc_shape, c.inv_perm, c.item_size, out);
  }
  return absl::OkStatus();
}

}  // namespace

ChunkCodec::ChunkCodec(ChunkCodec&&) noexcept = default;
ChunkCodec& ChunkCodec::operator=(ChunkCodec&&) noexcept = default;
ChunkCodec::~ChunkCodec() = default;

absl::StatusOr<ChunkCodec> ChunkCodec::Make(const ArrayMetadata& metadata) {
  OCPX_RETURN_IF_ERROR(ValidateArrayMetadata(metadata));
  ChunkCodec codec;
  codec.metadata_ = std::make_unique<ArrayMetadata>(metadata);
  OCPX_ASSIGN_OR_RETURN(codec.chain_,
                        Compile(metadata.codecs, metadata.chunk_shape,
                                metadata.dtype, metadata.fill_value));
  codec.chunk_num_elements_ = codec.chain_->num_elements;
  codec.chunk_bytes_ = codec.chain_->raw_bytes;
  return codec;
}

absl::StatusOr<std::optional<std::string>> ChunkCodec::Encode(
    const void* chunk, absl::Span<const int64_t> valid_shape,
    bool store_fill_value_chunks) const {
  const char* data = static_cast<const char*>(chunk);
  if (!valid_shape.empty() && valid_shape.size() != chain_->shape.size()) {
    return absl::InvalidArgumentError("Encode: valid_shape has the wrong rank");
  }
  if (!store_fill_value_chunks &&
      internal_array::AllEqual(data, chunk_num_elements_, chain_->fill)) {
    return std::nullopt;
  }
  std::string out;
  OCPX_ASSIGN_OR_RETURN(
      bool present,
      EncodeChain(*chain_, data, valid_shape, store_fill_value_chunks, &out));
  if (!present) return std::nullopt;
  return out;
}

namespace {

// A zarr v2 array's chain as Orbax writes it: the chunk's bytes in native
// order, then one zstd frame.
bool IsPlainZstd(const Chain& c) {
  return !c.sharding && !c.has_transpose && !c.swap && c.b2b.size() == 1 &&
         c.b2b[0].kind == CodecSpec::Kind::kZstd;
}

}  // namespace

bool ChunkCodec::CanEncodeStreamed() const {
  const Chain& c = *chain_;
  if (IsPlainZstd(c)) return true;
  if (!c.sharding || c.has_transpose || !c.b2b.empty() || c.num_inner != 1 ||
      c.index_at_start) {
    return false;
  }
  const Chain& in = *c.inner;
  return !in.sharding && !in.has_transpose && !in.swap && !in.b2b.empty() &&
         in.b2b.size() <= 2 && in.b2b[0].kind == CodecSpec::Kind::kZstd &&
         (in.b2b.size() == 1 || in.b2b[1].kind == CodecSpec::Kind::kCrc32c) &&
         in.raw_bytes == c.raw_bytes;
}

absl::StatusOr<bool> ChunkCodec::EncodeStreamed(
    const void* chunk, absl::Span<const int64_t> valid_shape,
    bool store_fill_value_chunks, const SinkFn& sink) const {
  if (!CanEncodeStreamed()) return false;
  const Chain& c = *chain_;
  if (!valid_shape.empty() && valid_shape.size() != c.shape.size()) {
    return absl::InvalidArgumentError(
        "EncodeStreamed: valid_shape has the wrong rank");
  }
  if (IsPlainZstd(c)) {
    // The whole chunk (fill value outside the array) is one zstd frame.
    const char* data = static_cast<const char*>(chunk);
    if (!store_fill_value_chunks &&
        internal_array::AllEqual(data, chunk_num_elements_, c.fill)) {
      return false;
    }
    const CodecSpec& z = c.b2b[0];
    OCPX_RETURN_IF_ERROR(ZstdCompressStreamed(
        absl::string_view(data, c.raw_bytes), z.level, z.checksum, sink));
    return true;
  }
  const Chain& in = *c.inner;
  const bool crc = in.b2b.size() == 2;
  // The one inner chunk is stored if it intersects the array (and, unless
  // fill-value chunks are stored, holds something else than the fill value).
  for (int64_t v : valid_shape) {
    if (v <= 0) return false;
  }
  const char* data = static_cast<const char*>(chunk);
  if (!store_fill_value_chunks &&
      internal_array::AllEqual(data, chunk_num_elements_, c.fill)) {
    return false;
  }
  uint32_t checksum = 0;
  uint64_t written = 0;
  const CodecSpec& z = in.b2b[0];
  OCPX_RETURN_IF_ERROR(ZstdCompressStreamed(
      absl::string_view(data, c.raw_bytes), z.level, z.checksum,
      [&](absl::string_view piece) -> absl::Status {
        if (crc) checksum = Crc32cExtend(checksum, piece);
        written += piece.size();
        return sink(piece);
      }));
  if (crc) {
    const char le[4] = {
        static_cast<char>(checksum), static_cast<char>(checksum >> 8),
        static_cast<char>(checksum >> 16), static_cast<char>(checksum >> 24)};
    OCPX_RETURN_IF_ERROR(sink(absl::string_view(le, 4)));
    written += 4;
  }
  const uint64_t index[2] = {0, written};
  std::string idx_enc;
  OCPX_RETURN_IF_ERROR(EncodeChain(*c.index,
                                   reinterpret_cast<const char*>(index), {},
                                   true, &idx_enc)
                           .status());
  if (idx_enc.size() != c.index_bytes) {
    return absl::InternalError("sharding_indexed: index size mismatch");
  }
  OCPX_RETURN_IF_ERROR(sink(idx_enc));
  return true;
}

absl::Status ChunkCodec::Decode(absl::string_view encoded,
                                void* chunk_out) const {
  return DecodeChain(*chain_, encoded, static_cast<char*>(chunk_out));
}

absl::StatusOr<bool> ChunkCodec::DecodeStreamed(uint64_t size,
                                                const ReadAtFn& read_at,
                                                void* chunk_out) const {
  const Chain& c = *chain_;
  if (!c.sharding || c.has_transpose || !c.b2b.empty() || c.num_inner != 1) {
    return false;
  }
  const Chain& in = *c.inner;
  if (in.sharding || in.has_transpose || in.swap || in.b2b.empty() ||
      in.b2b.size() > 2 || in.b2b[0].kind != CodecSpec::Kind::kZstd ||
      in.raw_bytes != c.raw_bytes) {
    return false;
  }
  const bool crc = in.b2b.size() == 2;
  if (crc && in.b2b[1].kind != CodecSpec::Kind::kCrc32c) return false;
  if (size < c.index_bytes) return false;
  // The shard index (a few bytes).
  std::string index_bytes(c.index_bytes, '\0');
  OCPX_RETURN_IF_ERROR(read_at(c.index_at_start ? 0 : size - c.index_bytes,
                               absl::MakeSpan(index_bytes)));
  uint64_t index[2];
  OCPX_RETURN_IF_ERROR(AnnotateStatus(
      DecodeChain(*c.index, index_bytes, reinterpret_cast<char*>(index)),
      "sharding_indexed index"));
  const uint64_t off = index[0], nb = index[1];
  char* out = static_cast<char*>(chunk_out);
  if (off == kMissing && nb == kMissing) {
    internal_array::FillElements(out, static_cast<size_t>(c.num_elements),
                                 c.fill);
    return true;
  }
  if (off > size || nb > size - off || (crc && nb < 4)) return false;
  const std::string where = absl::StrCat(
      "sharding_indexed: inner chunk [",
      absl::StrJoin(std::vector<int64_t>(c.enc_shape.size(), 0), ","), "]");
  const uint64_t payload = crc ? nb - 4 : nb;
  ZstdStreamDecoder decoder(absl::MakeSpan(out, in.raw_bytes));
  absl::Status zstd_status;
  uint32_t actual = 0;
  unsigned char stored[4] = {0, 0, 0, 0};
  const size_t piece_bytes =
      static_cast<size_t>(std::min<uint64_t>(nb, uint64_t{1} << 20));
  std::unique_ptr<char[]> piece(new (std::nothrow) char[piece_bytes + 1]);
  if (piece == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate a read buffer");
  }
  for (uint64_t pos = 0; pos < nb;) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(piece_bytes, nb - pos));
    OCPX_RETURN_IF_ERROR(read_at(off + pos, absl::MakeSpan(piece.get(), n)));
    // The part of this piece before the trailing checksum, if any.
    const size_t data_n =
        pos >= payload
            ? 0
            : static_cast<size_t>(std::min<uint64_t>(n, payload - pos));
    absl::string_view data(piece.get(), data_n);
    if (crc) actual = Crc32cExtend(actual, data);
    if (zstd_status.ok()) zstd_status = decoder.Feed(data);
    for (size_t i = data_n; i < n; ++i) stored[pos + i - payload] = piece[i];
    pos += n;
  }
  if (crc) {
    const uint32_t want = stored[0] | (stored[1] << 8) | (stored[2] << 16) |
                          (static_cast<uint32_t>(stored[3]) << 24);
    if (want != actual) {
      return AnnotateStatus(
          absl::DataLossError(absl::StrCat(
              "crc32c: checksum mismatch, the stored data is corrupt (stored "
              "0x",
              absl::Hex(want), ", computed 0x", absl::Hex(actual), ")")),
          where);
    }
  }
  if (zstd_status.ok()) zstd_status = decoder.Finish();
  OCPX_RETURN_IF_ERROR(AnnotateStatus(zstd_status, where));
  return true;
}

}  // namespace internal_zarr
}  // namespace ocpx

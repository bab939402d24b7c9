// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_CHUNK_CODEC_H_
#define OCPX_ARRAY_CHUNK_CODEC_H_

/// \file
/// Encodes one zarr v3 chunk through the array's codec chain and decodes it
/// back (docs/format.md, "Zarr v3 arrays").  Supported codecs: `transpose`,
/// `bytes` (either endian), `sharding_indexed` (index at start or end,
/// nested), `zstd`, `gzip`, `crc32c`.  Every decode step checks sizes and
/// checksums and fails with DataLoss on corrupt input.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cpp/ocpx/array/metadata.h"

namespace ocpx {
namespace internal_zarr {

struct Chain;

/// The compiled codec chain of one array.  Immutable and thread-safe.
class ChunkCodec {
 public:
  /// Validates `metadata` and compiles its codec chain.
  static absl::StatusOr<ChunkCodec> Make(const ArrayMetadata& metadata);

  ChunkCodec(ChunkCodec&&) noexcept;
  ChunkCodec& operator=(ChunkCodec&&) noexcept;
  ~ChunkCodec();

  /// Encodes a full chunk: `chunk` holds `chunk_num_elements()` elements of
  /// the data type in C order at the metadata's `chunk_shape`, native byte
  /// order.  `valid_shape` is the part of the chunk inside the array (a
  /// prefix box; for edge chunks smaller than the chunk shape; empty span =
  /// the whole chunk).
  ///
  /// With `store_fill_value_chunks == false` (TensorStore's default) returns
  /// nullopt if the chunk is bit-identical to the fill value (the key should
  /// then be deleted), and omits all-fill inner chunks of shards.  With true
  /// (what Orbax uses) the chunk is always encoded, and so is every inner
  /// chunk that intersects the array.
  absl::StatusOr<std::optional<std::string>> Encode(
      const void* chunk, absl::Span<const int64_t> valid_shape,
      bool store_fill_value_chunks) const;

  /// Receives the pieces of a streamed encoding, in order.
  using SinkFn = std::function<absl::Status(absl::string_view piece)>;

  /// Encodes a full chunk exactly as `Encode` does, handing the encoded value
  /// to `sink` in pieces of at most about 1 MiB instead of building it whole
  /// (no buffer the size of the chunk, and the pieces are still in the CPU
  /// cache when the sink copies them).  Only Orbax's chunk layouts stream: a
  /// `sharding_indexed` chunk of one inner chunk encoded as `bytes` (native
  /// order), `zstd`, optionally `crc32c`, with the index at the end (zarr
  /// v3), or `bytes` (native order) then `zstd` (zarr v2)
  /// (`CanEncodeStreamed()`).  Returns false, having called `sink` never, for
  /// any other codec chain and for a chunk `Encode` would omit (all fill
  /// value, with `store_fill_value_chunks == false`, or an empty valid box):
  /// the caller then uses `Encode`.  An error from `sink` stops the encoding
  /// and is returned.
  absl::StatusOr<bool> EncodeStreamed(const void* chunk,
                                      absl::Span<const int64_t> valid_shape,
                                      bool store_fill_value_chunks,
                                      const SinkFn& sink) const;

  /// True if the codec chain is one `EncodeStreamed` streams.
  bool CanEncodeStreamed() const;

  /// Decodes `encoded` into `chunk_out` (`chunk_bytes()` bytes, C order at
  /// the chunk shape, native byte order).  Inner chunks missing from a shard
  /// are set to the fill value.  DataLoss on any inconsistency.
  absl::Status Decode(absl::string_view encoded, void* chunk_out) const;

  /// Reads `out.size()` bytes at `offset` of an encoded value.
  using ReadAtFn =
      std::function<absl::Status(uint64_t offset, absl::Span<char> out)>;

  /// Decodes an encoded value of `size` bytes read piecewise through
  /// `read_at`, streaming it through the decompressor so that the encoded
  /// value is never held in memory whole (checksums are still verified, and
  /// a checksum mismatch is reported before any decompression error).  Only
  /// Orbax's chunk layout streams: a `sharding_indexed` chunk of one inner
  /// chunk encoded as `bytes` (native order), `zstd`, optionally `crc32c`.
  /// Returns false, having decoded nothing, for any other codec chain or a
  /// malformed shard index: the caller then reads the value whole and uses
  /// `Decode` (which reports such errors).
  absl::StatusOr<bool> DecodeStreamed(uint64_t size, const ReadAtFn& read_at,
                                      void* chunk_out) const;

  const ArrayMetadata& metadata() const { return *metadata_; }
  int64_t chunk_num_elements() const { return chunk_num_elements_; }
  size_t chunk_bytes() const { return chunk_bytes_; }

 private:
  ChunkCodec() = default;
  std::unique_ptr<ArrayMetadata> metadata_;
  std::unique_ptr<Chain> chain_;
  int64_t chunk_num_elements_ = 0;
  size_t chunk_bytes_ = 0;
};

}  // namespace internal_zarr
}  // namespace ocpx

#endif  // OCPX_ARRAY_CHUNK_CODEC_H_

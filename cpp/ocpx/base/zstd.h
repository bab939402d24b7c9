// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_ZSTD_H_
#define OCPX_BASE_ZSTD_H_

/// \file
/// Single-frame zstd compression, as used by OCDBT envelopes and the zarr
/// `zstd` codec.  Decompression never allocates more than the caller allows,
/// whatever sizes the (untrusted) frame header claims.

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ocpx {
namespace internal {

/// Compresses `input` into exactly one zstd frame.  The frame records its
/// content size.  `level` 0 means libzstd's default (3).  With `checksum`, the
/// frame carries a content checksum (XXH64) that decompression verifies.
absl::StatusOr<std::string> ZstdCompress(absl::string_view input, int level,
                                         bool checksum = false);

/// Appends the compressed frame to `*out` instead of returning it.  `*out`
/// grows with the frame (large inputs are compressed piece by piece), not by
/// the worst-case bound first.
absl::Status ZstdCompressAppend(absl::string_view input, int level,
                                bool checksum, std::string* out);

/// Receives the pieces of a streamed encoding, in order.
using ZstdPieceSink = std::function<absl::Status(absl::string_view piece)>;

/// Compresses `input` into exactly one zstd frame, as `ZstdCompress` does,
/// but hands the frame to `sink` in pieces of at most `kZstdPieceBytes`
/// instead of building it whole: the frame is never held in memory, and the
/// output buffer (one per thread, reused) stays warm in the CPU cache.  Uses
/// the calling thread's compression context.  An error from `sink` stops the
/// compression and is returned.
absl::Status ZstdCompressStreamed(absl::string_view input, int level,
                                  bool checksum, const ZstdPieceSink& sink);

/// The largest piece `ZstdCompressStreamed` hands to its sink.
/// (Every thread that compresses keeps one such buffer.)
inline constexpr size_t kZstdPieceBytes = size_t{256} << 10;

/// Decompresses `frame`, which must be exactly one complete zstd frame with
/// nothing after it.  Fails with `DataLoss` on a corrupt or truncated frame,
/// trailing bytes, or more than one frame, and with `ResourceExhausted` if the
/// output would exceed `max_output_bytes`.
absl::StatusOr<std::string> ZstdDecompress(absl::string_view frame,
                                           size_t max_output_bytes);

/// Decompresses exactly one zstd frame into `out`, whose size must equal the
/// decompressed size exactly (otherwise `DataLoss`).
absl::Status ZstdDecompressInto(absl::string_view frame, absl::Span<char> out);

/// Decompresses exactly one zstd frame, fed piece by piece, into `out`, whose
/// size must equal the decompressed size exactly: the same checks as
/// `ZstdDecompressInto` without holding the whole frame in memory.  Uses the
/// calling thread's decompression context: one decoder per thread at a time.
class ZstdStreamDecoder {
 public:
  explicit ZstdStreamDecoder(absl::Span<char> out);
  ZstdStreamDecoder(const ZstdStreamDecoder&) = delete;
  ZstdStreamDecoder& operator=(const ZstdStreamDecoder&) = delete;

  /// Decompresses the next piece of the frame.  DataLoss on corrupt data,
  /// output beyond `out`, or bytes after the end of the frame.
  absl::Status Feed(absl::string_view piece);
  /// DataLoss unless the frame ended and filled `out` exactly.
  absl::Status Finish() const;

 private:
  void* dctx_;
  absl::Span<char> out_;
  size_t produced_ = 0;
  bool ended_ = false;
};

/// Returns true if `level` is within libzstd's accepted range.
bool IsValidZstdLevel(int level);

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_ZSTD_H_

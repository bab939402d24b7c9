// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/zstd.h"

// For ZSTD_c_stableInBuffer (libzstd >= 1.4.9; a parameter of the shared
// library, not a static-only symbol).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <new>

#include "absl/strings/str_cat.h"

namespace ocpx {
namespace internal {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread: contexts are expensive to create and not
// thread-safe, and encode/decode runs on many pool threads at once.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

absl::Status ZstdError(absl::string_view what, size_t code) {
  return absl::DataLossError(
      absl::StrCat("zstd ", what, ": ", ZSTD_getErrorName(code)));
}

// Checks that `frame` holds exactly one complete frame.
absl::Status CheckSingleFrame(absl::string_view frame) {
  if (frame.size() < 4) {
    return absl::DataLossError(
        absl::StrCat("zstd frame truncated: ", frame.size(), " bytes"));
  }
  const size_t n = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(n)) return ZstdError("frame", n);
  if (n != frame.size()) {
    return absl::DataLossError(absl::StrCat(
        "zstd data holds ", frame.size() - n,
        " bytes after the first frame (exactly one frame is allowed)"));
  }
  return absl::OkStatus();
}

}  // namespace

ZstdStreamDecoder::ZstdStreamDecoder(absl::Span<char> out)
    : dctx_(ThreadDCtx()), out_(out) {
  ZSTD_DCtx_reset(static_cast<ZSTD_DCtx*>(dctx_),
                  ZSTD_reset_session_and_parameters);
}

absl::Status ZstdStreamDecoder::Feed(absl::string_view piece) {
  ZSTD_DCtx* dctx = static_cast<ZSTD_DCtx*>(dctx_);
  ZSTD_inBuffer in{piece.data(), piece.size(), 0};
  while (in.pos < in.size) {
    if (ended_) {
      return absl::DataLossError(absl::StrCat(
          "zstd data holds ", in.size - in.pos,
          " or more bytes after the first frame (exactly one frame is "
          "allowed)"));
    }
    if (produced_ == out_.size()) {
      // The output is full: any further output is an error.
      char probe;
      ZSTD_outBuffer pout{&probe, 1, 0};
      const size_t r = ZSTD_decompressStream(dctx, &pout, &in);
      if (ZSTD_isError(r)) return ZstdError("decompress", r);
      if (pout.pos != 0) {
        return absl::DataLossError(
            absl::StrCat("zstd frame decompresses to more than the expected ",
                         out_.size(), " bytes"));
      }
      if (r == 0) ended_ = true;
      continue;
    }
    ZSTD_outBuffer obuf{out_.data() + produced_, out_.size() - produced_, 0};
    const size_t r = ZSTD_decompressStream(dctx, &obuf, &in);
    if (ZSTD_isError(r)) return ZstdError("decompress", r);
    produced_ += obuf.pos;
    if (r == 0) ended_ = true;
  }
  return absl::OkStatus();
}

absl::Status ZstdStreamDecoder::Finish() const {
  if (!ended_) return absl::DataLossError("zstd frame is truncated");
  if (produced_ != out_.size()) {
    return absl::DataLossError(absl::StrCat("zstd frame decompressed to ",
                                            produced_, " bytes, expected ",
                                            out_.size()));
  }
  return absl::OkStatus();
}

bool IsValidZstdLevel(int level) {
  return level >= ZSTD_minCLevel() && level <= ZSTD_maxCLevel();
}

// Inputs up to this size are compressed in one call into `*out` resized to
// the bound.
constexpr size_t kZstdOneShotBytes = size_t{64} << 10;

absl::Status ZstdCompressAppend(absl::string_view input, int level,
                                bool checksum, std::string* out) {
  if (!IsValidZstdLevel(level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("zstd level ", level, " is outside [", ZSTD_minCLevel(),
                     ", ", ZSTD_maxCLevel(), "]"));
  }
  const size_t old_size = out->size();
  if (input.size() > kZstdOneShotBytes) {
    // Resizing `*out` to the bound first would zero (and make resident) a
    // buffer the size of the input, when the frame is often a tenth of it.
    absl::Status s = ZstdCompressStreamed(
        input, level, checksum, [out](absl::string_view piece) {
          out->append(piece.data(), piece.size());
          return absl::OkStatus();
        });
    if (!s.ok()) out->resize(old_size);
    return s;
  }
  ZSTD_CCtx* cctx = ThreadCCtx();
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
  const size_t bound = ZSTD_compressBound(input.size());
  out->resize(old_size + bound);
  const size_t n = ZSTD_compress2(cctx, out->data() + old_size, bound,
                                  input.data(), input.size());
  if (ZSTD_isError(n)) {
    out->resize(old_size);
    return absl::InternalError(
        absl::StrCat("zstd compress: ", ZSTD_getErrorName(n)));
  }
  out->resize(old_size + n);
  return absl::OkStatus();
}

absl::Status ZstdCompressStreamed(absl::string_view input, int level,
                                  bool checksum, const ZstdPieceSink& sink) {
  if (!IsValidZstdLevel(level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("zstd level ", level, " is outside [", ZSTD_minCLevel(),
                     ", ", ZSTD_maxCLevel(), "]"));
  }
  thread_local std::unique_ptr<char[]> piece;
  if (piece == nullptr) {
    piece.reset(new (std::nothrow) char[kZstdPieceBytes]);
    if (piece == nullptr) {
      return absl::ResourceExhaustedError(
          "cannot allocate a compression buffer");
    }
  }
  ZSTD_CCtx* cctx = ThreadCCtx();
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
#ifdef ZSTD_c_stableInBuffer
  // The whole input is given at once and stays put: zstd reads it in place
  // instead of copying it into its window buffer.
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_stableInBuffer, 1);
#endif
  size_t r = ZSTD_CCtx_setPledgedSrcSize(cctx, input.size());
  if (ZSTD_isError(r)) {
    return absl::InternalError(
        absl::StrCat("zstd compress: ", ZSTD_getErrorName(r)));
  }
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  absl::Status status;
  do {
    ZSTD_outBuffer out{piece.get(), kZstdPieceBytes, 0};
    r = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
    if (ZSTD_isError(r)) {
      status = absl::InternalError(
          absl::StrCat("zstd compress: ", ZSTD_getErrorName(r)));
      break;
    }
    if (out.pos > 0) {
      status = sink(absl::string_view(piece.get(), out.pos));
      if (!status.ok()) break;
    }
  } while (r != 0);
  // Leave the context clean for the thread's next user (the stable-input
  // setting in particular).
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  return status;
}

absl::StatusOr<std::string> ZstdCompress(absl::string_view input, int level,
                                         bool checksum) {
  std::string out;
  absl::Status s = ZstdCompressAppend(input, level, checksum, &out);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> ZstdDecompress(absl::string_view frame,
                                           size_t max_output_bytes) {
  if (absl::Status s = CheckSingleFrame(frame); !s.ok()) return s;
  const unsigned long long content_size =
      ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content_size == ZSTD_CONTENTSIZE_ERROR) {
    return absl::DataLossError("zstd frame header is invalid");
  }
  std::string out;
  if (content_size != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (content_size > max_output_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("zstd frame claims ", content_size,
                       " bytes, more than the limit of ", max_output_bytes));
    }
    out.resize(content_size);
    absl::Status s = ZstdDecompressInto(frame, absl::MakeSpan(out));
    if (!s.ok()) return s;
    return out;
  }
  // Unknown content size: stream, growing the output up to the limit.
  ZSTD_DCtx* dctx = ThreadDCtx();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_output_bytes) {
        // Probe whether any output remains.
        char probe;
        ZSTD_outBuffer pout{&probe, 1, 0};
        const size_t r = ZSTD_decompressStream(dctx, &pout, &in);
        if (ZSTD_isError(r)) return ZstdError("decompress", r);
        if (pout.pos != 0) {
          return absl::ResourceExhaustedError(
              absl::StrCat("zstd frame decompresses to more than the limit of ",
                           max_output_bytes, " bytes"));
        }
        if (r == 0) break;
        continue;
      }
      out.resize(std::min(max_output_bytes,
                          std::max<size_t>(out.size() * 2, 1 << 16)));
    }
    ZSTD_outBuffer obuf{out.data() + produced, out.size() - produced, 0};
    const size_t r = ZSTD_decompressStream(dctx, &obuf, &in);
    if (ZSTD_isError(r)) return ZstdError("decompress", r);
    produced += obuf.pos;
    if (r == 0) break;
    if (in.pos == in.size && obuf.pos < obuf.size) {
      return absl::DataLossError("zstd frame is truncated");
    }
  }
  out.resize(produced);
  return out;
}

absl::Status ZstdDecompressInto(absl::string_view frame, absl::Span<char> out) {
  if (absl::Status s = CheckSingleFrame(frame); !s.ok()) return s;
  const unsigned long long content_size =
      ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content_size == ZSTD_CONTENTSIZE_ERROR) {
    return absl::DataLossError("zstd frame header is invalid");
  }
  if (content_size != ZSTD_CONTENTSIZE_UNKNOWN && content_size != out.size()) {
    return absl::DataLossError(absl::StrCat("zstd frame holds ", content_size,
                                            " bytes, expected ", out.size()));
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  if (content_size != ZSTD_CONTENTSIZE_UNKNOWN) {
    const size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(),
                                         frame.data(), frame.size());
    if (ZSTD_isError(n)) return ZstdError("decompress", n);
    if (n != out.size()) {
      return absl::DataLossError(absl::StrCat("zstd frame decompressed to ", n,
                                              " bytes, expected ", out.size()));
    }
    return absl::OkStatus();
  }
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  ZSTD_outBuffer obuf{out.data(), out.size(), 0};
  while (true) {
    const size_t r = ZSTD_decompressStream(dctx, &obuf, &in);
    if (ZSTD_isError(r)) return ZstdError("decompress", r);
    if (r == 0) break;
    if (obuf.pos == obuf.size) {
      char probe;
      ZSTD_outBuffer pout{&probe, 1, 0};
      const size_t r2 = ZSTD_decompressStream(dctx, &pout, &in);
      if (ZSTD_isError(r2)) return ZstdError("decompress", r2);
      if (pout.pos != 0) {
        return absl::DataLossError(
            absl::StrCat("zstd frame decompresses to more than the expected ",
                         out.size(), " bytes"));
      }
      if (r2 == 0) break;
    } else if (in.pos == in.size) {
      return absl::DataLossError("zstd frame is truncated");
    }
  }
  if (obuf.pos != out.size()) {
    return absl::DataLossError(absl::StrCat("zstd frame decompressed to ",
                                            obuf.pos, " bytes, expected ",
                                            out.size()));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace ocpx

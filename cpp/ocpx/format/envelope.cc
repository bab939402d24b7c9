// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/envelope.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cpp/ocpx/base/crc32c.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/zstd.h"
#include "cpp/ocpx/format/varint.h"

namespace ocpx {
namespace internal_ocdbt {

using ::ocpx::internal::Crc32c;
using ::ocpx::internal::ZstdCompressAppend;
using ::ocpx::internal::ZstdDecompress;

absl::StatusOr<std::string> EncodeEnvelope(uint32_t magic,
                                           absl::string_view body,
                                           const CompressionOptions& options) {
  std::string out;
  AppendU32be(magic, &out);
  AppendU64le(0, &out);   // Patched below.
  AppendVarint(0, &out);  // format_version
  switch (options.method) {
    case Compression::kNone:
      AppendVarint(0, &out);
      out.append(body.data(), body.size());
      break;
    case Compression::kZstd:
      AppendVarint(1, &out);
      OCPX_RETURN_IF_ERROR(ZstdCompressAppend(body, options.zstd_level,
                                              /*checksum=*/false, &out));
      break;
    default:
      return absl::InvalidArgumentError("unknown compression method");
  }
  const uint64_t length = out.size() + 4;
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<char>(length >> (8 * i));
  AppendU32le(Crc32c(out), &out);
  return out;
}

absl::StatusOr<std::string> DecodeEnvelope(uint32_t magic,
                                           absl::string_view encoded,
                                           absl::string_view context,
                                           size_t max_body_bytes) {
  ByteReader r(encoded, context);
  if (encoded.size() < 16) {
    return r.ErrorAt(0, absl::StrCat("object of ", encoded.size(),
                                     " bytes is shorter than 16"));
  }
  const uint32_t got_magic = LoadU32be(encoded.data());
  if (got_magic != magic) {
    return r.ErrorAt(0, absl::StrFormat("bad magic 0x%08x, expected 0x%08x",
                                        got_magic, magic));
  }
  const uint64_t length = LoadU64le(encoded.data() + 4);
  if (length != encoded.size()) {
    return r.ErrorAt(
        4, absl::StrCat("length field ", length, " does not match the ",
                        encoded.size(), " bytes read"));
  }
  const size_t crc_pos = encoded.size() - 4;
  const uint32_t stored_crc = LoadU32le(encoded.data() + crc_pos);
  const uint32_t actual_crc = Crc32c(encoded.substr(0, crc_pos));
  if (stored_crc != actual_crc) {
    return r.ErrorAt(crc_pos,
                     absl::StrFormat("CRC-32C mismatch: stored 0x%08x, "
                                     "computed 0x%08x",
                                     stored_crc, actual_crc));
  }
  ByteReader h(encoded.substr(0, crc_pos), context);
  absl::string_view skip;
  OCPX_RETURN_IF_ERROR(h.ReadBytes(12, &skip));
  uint32_t version, compression;
  OCPX_RETURN_IF_ERROR(h.ReadVarint32(&version));
  if (version != 0) {
    return absl::UnimplementedError(absl::StrCat(
        context, ": unsupported format_version ", version, " (only 0)"));
  }
  const size_t comp_pos = h.offset();
  OCPX_RETURN_IF_ERROR(h.ReadVarint32(&compression));
  absl::string_view body;
  OCPX_RETURN_IF_ERROR(h.ReadBytes(h.remaining(), &body));
  if (compression == 0) {
    if (body.size() > max_body_bytes) {
      return h.ErrorAt(comp_pos, "body exceeds the size limit");
    }
    return std::string(body);
  }
  if (compression != 1) {
    return h.ErrorAt(comp_pos,
                     absl::StrCat("unknown compression method ", compression));
  }
  auto decoded = ZstdDecompress(body, max_body_bytes);
  if (!decoded.ok()) {
    return absl::DataLossError(
        absl::StrCat(context, ": at offset ", comp_pos + 1,
                     ": zstd body: ", decoded.status().message()));
  }
  return decoded;
}

}  // namespace internal_ocdbt
}  // namespace ocpx

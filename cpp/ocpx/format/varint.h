// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_FORMAT_VARINT_H_
#define OCPX_FORMAT_VARINT_H_

/// \file
/// OCDBT primitive encodings (docs/format.md, "Encodings"): unsigned LEB128
/// varints and fixed-width little/big-endian integers, plus `ByteReader`, a
/// bounds-checked cursor whose errors are `DataLoss` statuses naming the object
/// and offset.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ocpx {
namespace internal_ocdbt {

/// Maximum encoded length of a 64-bit varint.
inline constexpr size_t kMaxVarintBytes = 10;

/// Number of bytes of the minimal varint encoding of `v` (1..10).
size_t VarintLength(uint64_t v);

/// Appends the minimal unsigned LEB128 encoding of `v`.
void AppendVarint(uint64_t v, std::string* out);

/// Appends `v` as 4 little-endian bytes.
void AppendU32le(uint32_t v, std::string* out);
/// Appends `v` as 8 little-endian bytes.
void AppendU64le(uint64_t v, std::string* out);
/// Appends `v` as 4 big-endian bytes.
void AppendU32be(uint32_t v, std::string* out);

/// Reads little-endian integers from at least 4 / 8 bytes at `p`.
uint32_t LoadU32le(const char* p);
uint64_t LoadU64le(const char* p);
uint32_t LoadU32be(const char* p);

/// A cursor over an in-memory byte string.  Every read checks the remaining
/// length; failures are `absl::DataLossError("<context>: at offset N: ...")`.
/// `context` names the object being decoded (file, offset, kind) and must
/// outlive the reader.
class ByteReader {
 public:
  ByteReader(absl::string_view data, absl::string_view context)
      : data_(data), context_(context) {}

  /// Current position, relative to the start of `data`.
  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  absl::string_view context() const { return context_; }

  /// A varint of up to 10 bytes whose value fits in 64 bits.
  absl::Status ReadVarint(uint64_t* v);
  /// A varint whose value must be <= UINT32_MAX.
  absl::Status ReadVarint32(uint32_t* v);
  /// A varint whose value must be <= 65535 (key and path lengths).
  absl::Status ReadVarint16(uint32_t* v);
  absl::Status ReadU8(uint8_t* v);
  absl::Status ReadU32le(uint32_t* v);
  absl::Status ReadU64le(uint64_t* v);
  /// Returns a view of the next `n` bytes (no copy).
  absl::Status ReadBytes(uint64_t n, absl::string_view* v);
  /// Fails unless every byte has been consumed.
  absl::Status VerifyEnd();

  /// A `DataLoss` error at the current offset.
  absl::Status Error(absl::string_view message) const;
  /// A `DataLoss` error at `offset`.
  absl::Status ErrorAt(size_t offset, absl::string_view message) const;

 private:
  absl::string_view data_;
  absl::string_view context_;
  size_t pos_ = 0;
};

}  // namespace internal_ocdbt
}  // namespace ocpx

#endif  // OCPX_FORMAT_VARINT_H_

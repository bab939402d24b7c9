// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/varint.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace ocpx {
namespace internal_ocdbt {

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendU32le(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void AppendU64le(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

void AppendU32be(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t LoadU32le(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t LoadU64le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint32_t LoadU32be(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

absl::Status ByteReader::ErrorAt(size_t offset,
                                 absl::string_view message) const {
  return absl::DataLossError(
      absl::StrCat(context_, ": at offset ", offset, ": ", message));
}

absl::Status ByteReader::Error(absl::string_view message) const {
  return ErrorAt(pos_, message);
}

absl::Status ByteReader::ReadVarint(uint64_t* v) {
  uint64_t result = 0;
  const size_t start = pos_;
  for (size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (pos_ >= data_.size()) {
      return ErrorAt(start, "unexpected end of data in varint");
    }
    const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    if (i == kMaxVarintBytes - 1 && b > 1) {
      return ErrorAt(start, "varint overflows 64 bits");
    }
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *v = result;
      return absl::OkStatus();
    }
  }
  return ErrorAt(start, "varint longer than 10 bytes");
}

absl::Status ByteReader::ReadVarint32(uint32_t* v) {
  const size_t start = pos_;
  uint64_t x;
  absl::Status s = ReadVarint(&x);
  if (!s.ok()) return s;
  if (x > UINT32_MAX) return ErrorAt(start, "varint exceeds 32 bits");
  *v = static_cast<uint32_t>(x);
  return absl::OkStatus();
}

absl::Status ByteReader::ReadVarint16(uint32_t* v) {
  const size_t start = pos_;
  uint64_t x;
  absl::Status s = ReadVarint(&x);
  if (!s.ok()) return s;
  if (x > 65535)
    return ErrorAt(start, absl::StrCat("length ", x, " exceeds 65535"));
  *v = static_cast<uint32_t>(x);
  return absl::OkStatus();
}

absl::Status ByteReader::ReadU8(uint8_t* v) {
  if (remaining() < 1) return Error("unexpected end of data");
  *v = static_cast<uint8_t>(data_[pos_++]);
  return absl::OkStatus();
}

absl::Status ByteReader::ReadU32le(uint32_t* v) {
  if (remaining() < 4) return Error("unexpected end of data");
  *v = LoadU32le(data_.data() + pos_);
  pos_ += 4;
  return absl::OkStatus();
}

absl::Status ByteReader::ReadU64le(uint64_t* v) {
  if (remaining() < 8) return Error("unexpected end of data");
  *v = LoadU64le(data_.data() + pos_);
  pos_ += 8;
  return absl::OkStatus();
}

absl::Status ByteReader::ReadBytes(uint64_t n, absl::string_view* v) {
  if (n > remaining()) {
    return Error(absl::StrCat("length ", n, " exceeds the ", remaining(),
                              " remaining bytes"));
  }
  *v = data_.substr(pos_, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::Status ByteReader::VerifyEnd() {
  if (!at_end()) {
    return Error(absl::StrCat(remaining(), " unexpected trailing bytes"));
  }
  return absl::OkStatus();
}

}  // namespace internal_ocdbt
}  // namespace ocpx

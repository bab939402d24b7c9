// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>
#include <cstddef>

namespace ocpx {
namespace internal {

uint32_t Crc32cExtend(uint32_t crc, absl::string_view data) {
  // ISA-L works on the raw (un-negated) register and takes an `int` length,
  // so feed large buffers in pieces.
  uint32_t state = ~crc;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t remaining = data.size();
  constexpr size_t kMaxPiece = size_t{1} << 30;
  while (remaining > 0) {
    const size_t n = std::min(remaining, kMaxPiece);
    state =
        crc32_iscsi(const_cast<unsigned char*>(p), static_cast<int>(n), state);
    p += n;
    remaining -= n;
  }
  return ~state;
}

uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data); }

}  // namespace internal
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_CRC32C_H_
#define OCPX_BASE_CRC32C_H_

/// \file
/// CRC-32C (Castagnoli), the checksum used by OCDBT envelopes and by the zarr
/// `crc32c` codec.  Backed by ISA-L's hardware-accelerated `crc32_iscsi`.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace ocpx {
namespace internal {

/// Returns CRC-32C(`data`) with the standard init/final xor of 0xFFFFFFFF.
///
/// `Crc32c("123456789") == 0xE3069283`.
uint32_t Crc32c(absl::string_view data);

/// Extends a finished CRC-32C value `crc` of some prefix with `data`, so that
/// `Crc32cExtend(Crc32c(a), b) == Crc32c(a + b)`.
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data);

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_CRC32C_H_

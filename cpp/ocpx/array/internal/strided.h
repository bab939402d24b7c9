// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_INTERNAL_STRIDED_H_
#define OCPX_ARRAY_INTERNAL_STRIDED_H_

/// \file
/// Box copies, fills and axis permutations between C-contiguous n-d buffers.

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ocpx {
namespace internal_array {

/// Product of `shape` (1 for rank 0).
int64_t NumElements(absl::Span<const int64_t> shape);

/// Copies the box `[src_origin, src_origin + box)` of the C-order array `src`
/// of `src_shape` to `[dst_origin, dst_origin + box)` of `dst`.
void CopyBox(const char* src, absl::Span<const int64_t> src_shape,
             absl::Span<const int64_t> src_origin, char* dst,
             absl::Span<const int64_t> dst_shape,
             absl::Span<const int64_t> dst_origin,
             absl::Span<const int64_t> box, size_t item_size);

/// Sets every element of the box `[origin, origin + box)` of `dst` to the
/// `item_size`-byte value `fill`.
void FillBox(char* dst, absl::Span<const int64_t> dst_shape,
             absl::Span<const int64_t> origin, absl::Span<const int64_t> box,
             absl::string_view fill);

/// Fills `n` elements at `dst` with the value `fill`.
void FillElements(char* dst, size_t n, absl::string_view fill);

/// True if each of the `n` elements at `data` is bit-identical to `fill`.
bool AllEqual(const char* data, size_t n, absl::string_view fill);

/// `dst` (shape `src_shape[order[j]]` for axis j) = `src` with axes permuted:
/// dst[i_0, ..., i_k] = src[j] where j[order[a]] = i_a.
void Permute(const char* src, absl::Span<const int64_t> src_shape,
             absl::Span<const int64_t> order, size_t item_size, char* dst);

}  // namespace internal_array
}  // namespace ocpx

#endif  // OCPX_ARRAY_INTERNAL_STRIDED_H_

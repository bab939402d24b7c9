// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/internal/strided.h"

#include <cstring>
#include <vector>

namespace ocpx {
namespace internal_array {

int64_t NumElements(absl::Span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

std::vector<int64_t> ByteStrides(absl::Span<const int64_t> shape,
                                 size_t item_size) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = static_cast<int64_t>(item_size);
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

}  // namespace

void CopyBox(const char* src, absl::Span<const int64_t> src_shape,
             absl::Span<const int64_t> src_origin, char* dst,
             absl::Span<const int64_t> dst_shape,
             absl::Span<const int64_t> dst_origin,
             absl::Span<const int64_t> box, size_t item_size) {
  const size_t rank = box.size();
  if (NumElements(box) == 0) return;
  auto ss = ByteStrides(src_shape, item_size);
  auto ds = ByteStrides(dst_shape, item_size);
  int64_t so = 0, d0 = 0;
  for (size_t i = 0; i < rank; ++i) {
    so += src_origin[i] * ss[i];
    d0 += dst_origin[i] * ds[i];
  }
  // Merge trailing dimensions that are contiguous in both arrays.
  size_t inner = rank;  // dims [inner, rank) form one contiguous run
  int64_t run = static_cast<int64_t>(item_size);
  while (inner > 0) {
    size_t d = inner - 1;
    run *= box[d];
    --inner;
    if (box[d] != src_shape[d] || box[d] != dst_shape[d]) break;
  }
  // Now dims [inner+1, rank) are full in both and dim `inner` is partial (or
  // inner == 0 after consuming everything): `run` bytes are contiguous.
  if (rank == 0) {
    std::memcpy(dst, src, item_size);
    return;
  }
  std::vector<int64_t> idx(inner, 0);
  while (true) {
    int64_t sof = so, dof = d0;
    for (size_t i = 0; i < inner; ++i) {
      sof += idx[i] * ss[i];
      dof += idx[i] * ds[i];
    }
    std::memcpy(dst + dof, src + sof, run);
    size_t i = inner;
    while (i > 0) {
      --i;
      if (++idx[i] < box[i]) break;
      idx[i] = 0;
      if (i == 0) return;
    }
    if (inner == 0) return;
  }
}

void FillElements(char* dst, size_t n, absl::string_view fill) {
  const size_t k = fill.size();
  if (n == 0) return;
  bool uniform = true;
  for (char c : fill) uniform = uniform && c == fill[0];
  if (uniform) {
    std::memset(dst, fill[0], n * k);
    return;
  }
  std::memcpy(dst, fill.data(), k);
  size_t done = 1;
  while (done < n) {
    size_t m = std::min(done, n - done);
    std::memcpy(dst + done * k, dst, m * k);
    done += m;
  }
}

void FillBox(char* dst, absl::Span<const int64_t> dst_shape,
             absl::Span<const int64_t> origin, absl::Span<const int64_t> box,
             absl::string_view fill) {
  const size_t rank = box.size();
  const size_t k = fill.size();
  if (NumElements(box) == 0) return;
  if (rank == 0) {
    std::memcpy(dst, fill.data(), k);
    return;
  }
  auto ds = ByteStrides(dst_shape, k);
  int64_t d0 = 0;
  for (size_t i = 0; i < rank; ++i) d0 += origin[i] * ds[i];
  size_t inner = rank;
  int64_t run_elems = 1;
  while (inner > 0) {
    size_t d = inner - 1;
    run_elems *= box[d];
    --inner;
    if (box[d] != dst_shape[d]) break;
  }
  std::vector<int64_t> idx(inner, 0);
  while (true) {
    int64_t dof = d0;
    for (size_t i = 0; i < inner; ++i) dof += idx[i] * ds[i];
    FillElements(dst + dof, run_elems, fill);
    if (inner == 0) return;
    size_t i = inner;
    while (i > 0) {
      --i;
      if (++idx[i] < box[i]) break;
      idx[i] = 0;
      if (i == 0) return;
    }
  }
}

bool AllEqual(const char* data, size_t n, absl::string_view fill) {
  if (n == 0) return true;
  const size_t k = fill.size();
  if (std::memcmp(data, fill.data(), k) != 0) return false;
  // Every element equals its predecessor.
  return std::memcmp(data, data + k, (n - 1) * k) == 0;
}

void Permute(const char* src, absl::Span<const int64_t> src_shape,
             absl::Span<const int64_t> order, size_t item_size, char* dst) {
  const size_t rank = order.size();
  const int64_t n = NumElements(src_shape);
  if (n == 0) return;
  auto ss = ByteStrides(src_shape, item_size);
  std::vector<int64_t> dshape(rank), dstride_in_src(rank);
  for (size_t j = 0; j < rank; ++j) {
    dshape[j] = src_shape[order[j]];
    dstride_in_src[j] = ss[order[j]];
  }
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t e = 0; e < n; ++e) {
    std::memcpy(dst + e * item_size, src + off, item_size);
    for (size_t j = rank; j-- > 0;) {
      off += dstride_in_src[j];
      if (++idx[j] < dshape[j]) break;
      off -= dstride_in_src[j] * dshape[j];
      idx[j] = 0;
    }
  }
}

}  // namespace internal_array
}  // namespace ocpx

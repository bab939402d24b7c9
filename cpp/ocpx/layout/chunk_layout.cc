// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/layout/chunk_layout.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ocpx {
namespace internal_layout {
namespace {

// Ascending divisors of n (n >= 1).
std::vector<int64_t> Divisors(int64_t n) {
  std::vector<int64_t> small, large;
  for (int64_t i = 1; i * i <= n; ++i) {
    if (n % i == 0) {
      small.push_back(i);
      if (i != n / i) large.push_back(n / i);
    }
  }
  small.insert(small.end(), large.rbegin(), large.rend());
  return small;
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ChooseChunkShape(
    absl::Span<const int64_t> global_shape,
    absl::Span<const int64_t> write_shape, size_t itemsize,
    std::optional<int64_t> target_byte_size, absl::Span<const int> shard_axes) {
  const size_t rank = write_shape.size();
  if (global_shape.size() != rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("global_shape [", absl::StrJoin(global_shape, ","),
                     "] and write_shape [", absl::StrJoin(write_shape, ","),
                     "] must have the same rank"));
  }
  std::vector<int64_t> write(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (write_shape[i] < 0) {
      return absl::InvalidArgumentError("write_shape: negative extent");
    }
    write[i] = std::max<int64_t>(1, write_shape[i]);
  }
  if (!target_byte_size && shard_axes.empty()) return write;

  std::vector<bool> sharded(rank);
  for (size_t i = 0; i < rank; ++i) sharded[i] = global_shape[i] != write[i];
  std::vector<std::vector<int64_t>> factors(rank);
  for (size_t i = 0; i < rank; ++i) factors[i] = Divisors(write[i]);
  // Products may exceed int64 only for absurd shapes; use unsigned 128-ish
  // safety by saturating in double for the comparison.
  auto total = [&] {
    long double t = 1;
    for (auto& f : factors) t *= static_cast<long double>(f.back());
    return t;
  };
  auto reduce = [&](size_t d) {
    factors[d].pop_back();
    sharded[d] = true;
  };
  for (int axis : shard_axes) {
    if (axis < 0 || static_cast<size_t>(axis) >= rank) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard_axes: axis ", axis, " out of range for rank ", rank));
    }
  }
  for (int axis : shard_axes) {
    while (factors[axis].size() > 1) reduce(axis);
  }
  auto current = [&] {
    std::vector<int64_t> r(rank);
    for (size_t i = 0; i < rank; ++i) r[i] = factors[i].back();
    return r;
  };
  if (!target_byte_size) return current();
  if (*target_byte_size < static_cast<int64_t>(itemsize)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target_byte_size=", *target_byte_size, " must be >= ", itemsize));
  }
  const long double target = static_cast<long double>(
      *target_byte_size / static_cast<int64_t>(itemsize));

  // Phase A: round-robin over the explicit shard axes that can still shrink.
  bool could_shard = true;
  while (could_shard && total() > target) {
    could_shard = false;
    std::vector<int> candidates;
    for (int axis : shard_axes) {
      if (sharded[axis] && factors[axis].size() > 1) candidates.push_back(axis);
    }
    while (!candidates.empty() && total() > target) {
      could_shard = true;
      auto ratio = [&](int a) {
        const auto& f = factors[a];
        return f[f.size() - 1] / f[f.size() - 2];
      };
      auto best = candidates.begin();
      for (auto it = candidates.begin(); it != candidates.end(); ++it) {
        if (ratio(*it) < ratio(*best)) best = it;
      }
      reduce(*best);
      candidates.erase(best);
    }
  }
  // Phase B: greedily shrink the largest sharded dimension.
  while (total() > target) {
    int best = -1;
    int64_t best_size = 1;
    for (size_t i = 0; i < rank; ++i) {
      if (sharded[i] && factors[i].back() > best_size) {
        best_size = factors[i].back();
        best = static_cast<int>(i);
      }
    }
    if (best_size > 1) {
      reduce(best);
    } else {
      sharded.assign(rank, true);
    }
  }
  return current();
}

std::optional<int64_t> ClampChunkByteSizeForOcdbt(
    std::optional<int64_t> chunk_byte_size, int64_t target_data_file_size,
    absl::Span<const int64_t> write_shape, size_t itemsize) {
  if (target_data_file_size == 0) return chunk_byte_size;
  if (!chunk_byte_size) {
    long double bytes = static_cast<long double>(itemsize);
    for (int64_t d : write_shape) bytes *= static_cast<long double>(d);
    if (bytes > static_cast<long double>(target_data_file_size)) {
      return target_data_file_size;
    }
    return std::nullopt;
  }
  return std::min(*chunk_byte_size, target_data_file_size);
}

}  // namespace internal_layout
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_DTYPE_H_
#define OCPX_DTYPE_H_

/// \file
/// Public: the element types of stored arrays, as zarr v3 / TensorStore name
/// them (`float32`, `bfloat16`, `int4`, `float8_e4m3fn`, ...).
///
/// In memory every element takes `ItemSize()` bytes in native byte order;
/// sub-byte types (`int2`, `int4`, `float4_e2m1fn`) take one byte per element
/// holding the value in the low bits (two's complement for ints), the same
/// bytes as `ml_dtypes` arrays.  bool is one byte 0/1, complex is (re, im),
/// bfloat16/float8 are their raw bit patterns.

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ocpx {

/// An element type of a stored array (a zarr v3 `data_type`).
enum class DataType : uint8_t {
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kFloat16,
  kBfloat16,
  kFloat32,
  kFloat64,
  kComplex64,
  kComplex128,
  kFloat8E4m3fn,
  kFloat8E5m2,
  kFloat8E4m3fnuz,
  kFloat8E5m2fnuz,
  kFloat8E4m3b11fnuz,
  kFloat8E3m4,
  kFloat8E8m0fnu,
  kFloat4E2m1fn,
};

/// Number of data types above (they are numbered 0..kNumDataTypes-1).
inline constexpr int kNumDataTypes = 25;

/// The family of a `DataType`.
enum class DataTypeKind { kBool, kSignedInt, kUnsignedInt, kFloat, kComplex };

/// Parses a zarr v3 `data_type` name ("float32", "bfloat16", "int4", ...).
/// Unknown or unsupported names (e.g. "uint4", "string", "r16") give
/// InvalidArgument.
absl::StatusOr<DataType> DataTypeFromName(absl::string_view name);

/// The zarr v3 name, which is also the numpy / ml_dtypes dtype name.
absl::string_view DataTypeName(DataType dtype);

/// Bytes per element in memory and in the `bytes` codec.
size_t ItemSize(DataType dtype);

/// The family of `dtype` (bool, signed/unsigned integer, float, complex).
DataTypeKind GetKind(DataType dtype);

}  // namespace ocpx

#endif  // OCPX_DTYPE_H_

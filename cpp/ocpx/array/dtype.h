// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_ARRAY_DTYPE_H_
#define OCPX_ARRAY_DTYPE_H_

/// \file
/// Internal data-type helpers over the public `ocpx/dtype.h`.
///
/// The zarr v3 data types Orbax/JAX store, as TensorStore 0.1.86 names them.
///
/// In memory (and in the `bytes` codec) every element takes `ItemSize()`
/// bytes; sub-byte types (`int2`, `int4`, `float4_e2m1fn`) take one byte per
/// element holding the value in the low bits (two's complement for ints,
/// upper bits zero) -- the same bytes as `ml_dtypes` arrays and TensorStore
/// chunks.  bool is one byte 0/1.  complex is (re, im).  bfloat16/float8 are
/// their raw bit patterns.

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ocpx/dtype.h"  // DataType, DataTypeName, ItemSize, GetKind

namespace ocpx {
namespace internal_zarr {

/// Size of the units whose byte order the `bytes` codec swaps: the item size,
/// except complex types, which swap each component.
size_t ByteSwapUnit(DataType dtype);

/// Number of meaningful bits in one element's storage (2 for int2, 4 for int4
/// and float4_e2m1fn, 1 for bool, else 8 * ItemSize).
int BitWidth(DataType dtype);

/// Reverses the byte order of each `ByteSwapUnit(dtype)`-byte unit of the
/// `num_elements` elements at `data`.  No-op for 1-byte units.
void ByteSwapInPlace(DataType dtype, void* data, size_t num_elements);

/// For a real floating-point type (not complex): the value of the raw bits
/// `bits` (the low `BitWidth` bits) as a double; NaN for any NaN pattern.
double FloatBitsToDouble(DataType dtype, uint64_t bits);

/// For a real floating-point type: `value` rounded to nearest-even, with the
/// type's overflow rules (IEEE types give +-inf, `fn`/`fnuz` types NaN,
/// float4_e2m1fn saturates).  NaN maps to `CanonicalNaNBits`.
uint64_t DoubleToFloatBits(DataType dtype, double value);

/// The bit pattern of the type's canonical quiet NaN (TensorStore writes a
/// fill value with exactly these bits as "NaN"): f32 0x7fc00000, f16 0x7e00,
/// bf16 0x7fc0, float8_e4m3fn 0x7f, float8_e5m2 0x7e, the fnuz types 0x80,
/// float8_e8m0fnu 0xff.  float4_e2m1fn has no NaN: returns its NaN
/// conversion result, -0.0 (0x8).
uint64_t CanonicalNaNBits(DataType dtype);

/// True if `bits` encodes a NaN of the real floating-point type `dtype`.
bool IsNaNBits(DataType dtype, uint64_t bits);

/// True if `bits` encodes +-infinity of `dtype` (only IEEE-like types have it).
bool IsInfBits(DataType dtype, uint64_t bits);

}  // namespace internal_zarr
}  // namespace ocpx

#endif  // OCPX_ARRAY_DTYPE_H_

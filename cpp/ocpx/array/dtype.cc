// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/dtype.h"

#include <cmath>
#include <cstring>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ocpx {
namespace {

struct DataTypeInfo {
  DataType dtype;
  absl::string_view name;
  size_t item_size;
  DataTypeKind kind;
  int bits;
};

constexpr DataTypeInfo kInfos[kNumDataTypes] = {
    {DataType::kBool, "bool", 1, DataTypeKind::kBool, 1},
    {DataType::kInt2, "int2", 1, DataTypeKind::kSignedInt, 2},
    {DataType::kInt4, "int4", 1, DataTypeKind::kSignedInt, 4},
    {DataType::kInt8, "int8", 1, DataTypeKind::kSignedInt, 8},
    {DataType::kInt16, "int16", 2, DataTypeKind::kSignedInt, 16},
    {DataType::kInt32, "int32", 4, DataTypeKind::kSignedInt, 32},
    {DataType::kInt64, "int64", 8, DataTypeKind::kSignedInt, 64},
    {DataType::kUint8, "uint8", 1, DataTypeKind::kUnsignedInt, 8},
    {DataType::kUint16, "uint16", 2, DataTypeKind::kUnsignedInt, 16},
    {DataType::kUint32, "uint32", 4, DataTypeKind::kUnsignedInt, 32},
    {DataType::kUint64, "uint64", 8, DataTypeKind::kUnsignedInt, 64},
    {DataType::kFloat16, "float16", 2, DataTypeKind::kFloat, 16},
    {DataType::kBfloat16, "bfloat16", 2, DataTypeKind::kFloat, 16},
    {DataType::kFloat32, "float32", 4, DataTypeKind::kFloat, 32},
    {DataType::kFloat64, "float64", 8, DataTypeKind::kFloat, 64},
    {DataType::kComplex64, "complex64", 8, DataTypeKind::kComplex, 64},
    {DataType::kComplex128, "complex128", 16, DataTypeKind::kComplex, 128},
    {DataType::kFloat8E4m3fn, "float8_e4m3fn", 1, DataTypeKind::kFloat, 8},
    {DataType::kFloat8E5m2, "float8_e5m2", 1, DataTypeKind::kFloat, 8},
    {DataType::kFloat8E4m3fnuz, "float8_e4m3fnuz", 1, DataTypeKind::kFloat, 8},
    {DataType::kFloat8E5m2fnuz, "float8_e5m2fnuz", 1, DataTypeKind::kFloat, 8},
    {DataType::kFloat8E4m3b11fnuz, "float8_e4m3b11fnuz", 1,
     DataTypeKind::kFloat, 8},
    {DataType::kFloat8E3m4, "float8_e3m4", 1, DataTypeKind::kFloat, 8},
    {DataType::kFloat8E8m0fnu, "float8_e8m0fnu", 1, DataTypeKind::kFloat, 8},
    {DataType::kFloat4E2m1fn, "float4_e2m1fn", 1, DataTypeKind::kFloat, 4},
};

const DataTypeInfo& Info(DataType d) { return kInfos[static_cast<int>(d)]; }

// How a small binary float format spends its special encodings.
enum class NanStyle {
  kIeee,  // all-ones exponent: inf (mantissa 0) or NaN
  kFn,    // no inf; NaN = all-ones exponent and mantissa
  kFnuz,  // no inf, no -0; NaN = sign bit alone (0x80)
  kNone,  // no inf, no NaN (float4_e2m1fn)
};

struct FloatFormat {
  bool has_sign;
  int ebits;
  int mbits;
  int bias;
  NanStyle nan;
};

FloatFormat Format(DataType d) {
  switch (d) {
    case DataType::kFloat16:
      return {true, 5, 10, 15, NanStyle::kIeee};
    case DataType::kBfloat16:
      return {true, 8, 7, 127, NanStyle::kIeee};
    case DataType::kFloat32:
      return {true, 8, 23, 127, NanStyle::kIeee};
    case DataType::kFloat64:
      return {true, 11, 52, 1023, NanStyle::kIeee};
    case DataType::kFloat8E4m3fn:
      return {true, 4, 3, 7, NanStyle::kFn};
    case DataType::kFloat8E5m2:
      return {true, 5, 2, 15, NanStyle::kIeee};
    case DataType::kFloat8E4m3fnuz:
      return {true, 4, 3, 8, NanStyle::kFnuz};
    case DataType::kFloat8E5m2fnuz:
      return {true, 5, 2, 16, NanStyle::kFnuz};
    case DataType::kFloat8E4m3b11fnuz:
      return {true, 4, 3, 11, NanStyle::kFnuz};
    case DataType::kFloat8E3m4:
      return {true, 3, 4, 3, NanStyle::kIeee};
    // No sign, no mantissa.  Exponent 0 decodes as 0.0 (TensorStore writes a
    // zero fill value as 0.0), every other pattern as 2^(e-127).
    case DataType::kFloat8E8m0fnu:
      return {false, 8, 0, 127, NanStyle::kFn};
    case DataType::kFloat4E2m1fn:
      return {true, 2, 1, 1, NanStyle::kNone};
    default:
      return {true, 0, 0, 0, NanStyle::kNone};
  }
}

struct Fields {
  uint64_t sign, exp, man;
};

Fields Split(const FloatFormat& f, uint64_t bits) {
  uint64_t emask = (uint64_t{1} << f.ebits) - 1;
  uint64_t mmask = (uint64_t{1} << f.mbits) - 1;
  Fields r;
  r.man = bits & mmask;
  r.exp = (bits >> f.mbits) & emask;
  r.sign = f.has_sign ? (bits >> (f.mbits + f.ebits)) & 1 : 0;
  return r;
}

uint64_t Join(const FloatFormat& f, uint64_t sign, uint64_t exp, uint64_t man) {
  uint64_t bits = (exp << f.mbits) | man;
  if (f.has_sign) bits |= sign << (f.mbits + f.ebits);
  return bits;
}

bool FormatIsNaN(const FloatFormat& f, uint64_t bits) {
  Fields x = Split(f, bits);
  uint64_t emask = (uint64_t{1} << f.ebits) - 1;
  uint64_t mmask = (uint64_t{1} << f.mbits) - 1;
  switch (f.nan) {
    case NanStyle::kIeee:
      return x.exp == emask && x.man != 0;
    case NanStyle::kFn:
      return x.exp == emask && x.man == mmask;
    case NanStyle::kFnuz:
      return x.sign == 1 && x.exp == 0 && x.man == 0;
    case NanStyle::kNone:
      return false;
  }
  return false;
}

uint64_t FormatNaN(const FloatFormat& f) {
  uint64_t emask = (uint64_t{1} << f.ebits) - 1;
  uint64_t mmask = (uint64_t{1} << f.mbits) - 1;
  switch (f.nan) {
    case NanStyle::kIeee:
      return Join(f, 0, emask, uint64_t{1} << (f.mbits - 1));
    case NanStyle::kFn:
      return Join(f, 0, emask, mmask);
    case NanStyle::kFnuz:
      return Join(f, 1, 0, 0);
    case NanStyle::kNone:
      return Join(f, 1, 0, 0);
  }
  return 0;
}

uint64_t FormatMaxFinite(const FloatFormat& f, uint64_t sign) {
  uint64_t emask = (uint64_t{1} << f.ebits) - 1;
  uint64_t mmask = (uint64_t{1} << f.mbits) - 1;
  switch (f.nan) {
    case NanStyle::kIeee:
      return Join(f, sign, emask - 1, mmask);
    case NanStyle::kFn:
      return f.mbits == 0 ? Join(f, sign, emask - 1, 0)
                          : Join(f, sign, emask, mmask - 1);
    case NanStyle::kFnuz:
    case NanStyle::kNone:
      return Join(f, sign, emask, mmask);
  }
  return 0;
}

double FormatToDouble(const FloatFormat& f, uint64_t bits) {
  if (FormatIsNaN(f, bits)) return std::nan("");
  Fields x = Split(f, bits);
  uint64_t emask = (uint64_t{1} << f.ebits) - 1;
  double sign = x.sign ? -1.0 : 1.0;
  if (f.nan == NanStyle::kIeee && x.exp == emask) return sign * INFINITY;
  if (x.exp == 0) {
    return sign * std::ldexp(static_cast<double>(x.man), 1 - f.bias - f.mbits);
  }
  double m = static_cast<double>(x.man | (uint64_t{1} << f.mbits));
  return sign * std::ldexp(m, static_cast<int>(x.exp) - f.bias - f.mbits);
}

uint64_t DoubleToFormat(const FloatFormat& f, double v) {
  if (std::isnan(v)) return FormatNaN(f);
  uint64_t sign = std::signbit(v) ? 1 : 0;
  double a = std::fabs(v);
  uint64_t emask = (uint64_t{1} << f.ebits) - 1;
  if (!f.has_sign && sign && a != 0) return FormatNaN(f);
  if (!f.has_sign) sign = 0;
  if (std::isinf(a)) {
    switch (f.nan) {
      case NanStyle::kIeee:
        return Join(f, sign, emask, 0);
      case NanStyle::kNone:
        return FormatMaxFinite(f, sign);
      default:
        return FormatNaN(f);
    }
  }
  uint64_t mag;  // exponent and mantissa fields, without the sign
  if (a == 0) {
    mag = 0;
  } else {
    int ex;
    std::frexp(a, &ex);
    int e = ex - 1;  // a = 1.x * 2^e
    int emin = 1 - f.bias;
    if (e < emin) {
      // Subnormal: count units of 2^(emin - mbits); rounding may carry into
      // the smallest normal, which the bit layout handles by itself.
      mag =
          static_cast<uint64_t>(std::nearbyint(std::ldexp(a, f.mbits - emin)));
    } else {
      double r = std::nearbyint(std::ldexp(a, f.mbits - e));
      if (r >= std::ldexp(1.0, f.mbits + 1)) {
        r = std::ldexp(1.0, f.mbits);
        ++e;
      }
      int64_t be = static_cast<int64_t>(e) + f.bias;
      uint64_t m = static_cast<uint64_t>(r) - (uint64_t{1} << f.mbits);
      uint64_t max_mag = FormatMaxFinite(f, 0);
      if (be > static_cast<int64_t>(emask)) {
        mag = max_mag + 1;  // overflow marker
      } else {
        mag = (static_cast<uint64_t>(be) << f.mbits) | m;
      }
      if (mag > max_mag) {
        switch (f.nan) {
          case NanStyle::kIeee:
            return Join(f, sign, emask, 0);
          case NanStyle::kNone:
            return FormatMaxFinite(f, sign);
          default:
            return FormatNaN(f);
        }
      }
    }
  }
  if (mag == 0 && f.nan == NanStyle::kFnuz) sign = 0;
  return f.has_sign ? (sign << (f.mbits + f.ebits)) | mag : mag;
}

}  // namespace

absl::StatusOr<DataType> DataTypeFromName(absl::string_view name) {
  for (const auto& info : kInfos) {
    if (info.name == name) return info.dtype;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("data_type: unsupported data type \"", name, "\""));
}

absl::string_view DataTypeName(DataType dtype) { return Info(dtype).name; }
size_t ItemSize(DataType dtype) { return Info(dtype).item_size; }
DataTypeKind GetKind(DataType dtype) { return Info(dtype).kind; }

// The rest are internal (cpp/ocpx/array/dtype.h); the four above are the
// public API of ocpx/dtype.h.
namespace internal_zarr {

int BitWidth(DataType dtype) { return Info(dtype).bits; }

size_t ByteSwapUnit(DataType dtype) {
  size_t n = ItemSize(dtype);
  return GetKind(dtype) == DataTypeKind::kComplex ? n / 2 : n;
}

namespace {

// Byte-swaps `units` consecutive unaligned values of type T at `p`.
template <typename T, typename Swap>
void SwapEach(unsigned char* p, size_t units, Swap swap) {
  for (size_t i = 0; i < units; ++i) {
    T v;
    std::memcpy(&v, p + sizeof(T) * i, sizeof(T));
    v = swap(v);
    std::memcpy(p + sizeof(T) * i, &v, sizeof(T));
  }
}

}  // namespace

void ByteSwapInPlace(DataType dtype, void* data, size_t num_elements) {
  size_t unit = ByteSwapUnit(dtype);
  size_t units = num_elements * (ItemSize(dtype) / unit);
  auto* p = static_cast<unsigned char*>(data);
  switch (unit) {
    case 1:
      return;
    case 2:
      return SwapEach<uint16_t>(
          p, units, [](uint16_t v) { return __builtin_bswap16(v); });
    case 4:
      return SwapEach<uint32_t>(
          p, units, [](uint32_t v) { return __builtin_bswap32(v); });
    case 8:
      return SwapEach<uint64_t>(
          p, units, [](uint64_t v) { return __builtin_bswap64(v); });
  }
}

double FloatBitsToDouble(DataType dtype, uint64_t bits) {
  if (dtype == DataType::kFloat64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (dtype == DataType::kFloat32) {
    uint32_t b = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  }
  return FormatToDouble(Format(dtype), bits);
}

uint64_t DoubleToFloatBits(DataType dtype, double value) {
  if (std::isnan(value)) return CanonicalNaNBits(dtype);
  if (dtype == DataType::kFloat64) {
    uint64_t b;
    std::memcpy(&b, &value, 8);
    return b;
  }
  if (dtype == DataType::kFloat32) {
    float f = static_cast<float>(value);
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  }
  return DoubleToFormat(Format(dtype), value);
}

uint64_t CanonicalNaNBits(DataType dtype) { return FormatNaN(Format(dtype)); }

bool IsNaNBits(DataType dtype, uint64_t bits) {
  return FormatIsNaN(Format(dtype), bits);
}

bool IsInfBits(DataType dtype, uint64_t bits) {
  FloatFormat f = Format(dtype);
  if (f.nan != NanStyle::kIeee) return false;
  Fields x = Split(f, bits);
  return x.exp == (uint64_t{1} << f.ebits) - 1 && x.man == 0;
}

}  // namespace internal_zarr
}  // namespace ocpx

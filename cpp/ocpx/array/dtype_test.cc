// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/dtype.h"

#include <cmath>

#include "gtest/gtest.h"

namespace ocpx {
namespace internal_zarr {
namespace {

TEST(DataTypeTest, NamesRoundTrip) {
  for (int i = 0; i < kNumDataTypes; ++i) {
    DataType d = static_cast<DataType>(i);
    auto parsed = DataTypeFromName(DataTypeName(d));
    ASSERT_TRUE(parsed.ok()) << DataTypeName(d);
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_FALSE(DataTypeFromName("uint4").ok());
  EXPECT_FALSE(DataTypeFromName("r16").ok());
  EXPECT_FALSE(DataTypeFromName("float8_e4m3").ok());
}

TEST(DataTypeTest, Sizes) {
  EXPECT_EQ(ItemSize(DataType::kInt4), 1u);
  EXPECT_EQ(ItemSize(DataType::kBfloat16), 2u);
  EXPECT_EQ(ItemSize(DataType::kComplex128), 16u);
  EXPECT_EQ(ByteSwapUnit(DataType::kComplex64), 4u);
  EXPECT_EQ(BitWidth(DataType::kInt2), 2);
}

TEST(DataTypeTest, ByteSwap) {
  uint32_t v[2] = {0x01020304, 0xA0B0C0D0};
  ByteSwapInPlace(DataType::kComplex64, v, 1);
  EXPECT_EQ(v[0], 0x04030201u);
  EXPECT_EQ(v[1], 0xD0C0B0A0u);
}

TEST(DataTypeTest, FloatConversions) {
  // Values checked against TensorStore / ml_dtypes.
  EXPECT_EQ(DoubleToFloatBits(DataType::kBfloat16, 1.0), 0x3f80u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat16, 1000.0), 0x63d0u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat16, -0.0), 0x8000u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E4m3fn, 1000.0), 0x7fu);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E5m2, 1000.0), 0x64u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E3m4, 1000.0), 0x70u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E4m3fnuz, -0.0), 0x00u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E4m3fnuz, INFINITY), 0x80u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E8m0fnu, 1.5), 0x80u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat8E8m0fnu, 1000.0), 0x89u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat4E2m1fn, INFINITY), 0x7u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat4E2m1fn, NAN), 0x8u);
  EXPECT_EQ(DoubleToFloatBits(DataType::kFloat4E2m1fn, 1.5), 0x3u);
  EXPECT_DOUBLE_EQ(FloatBitsToDouble(DataType::kFloat8E4m3fn, 0x7e), 448.0);
  EXPECT_DOUBLE_EQ(FloatBitsToDouble(DataType::kFloat8E4m3fnuz, 0xff), -240.0);
  EXPECT_DOUBLE_EQ(FloatBitsToDouble(DataType::kFloat8E4m3b11fnuz, 0x7f), 30.0);
  EXPECT_DOUBLE_EQ(FloatBitsToDouble(DataType::kFloat16, 0x7f),
                   7.569789886474609e-06);
  EXPECT_DOUBLE_EQ(
      FloatBitsToDouble(DataType::kFloat8E4m3fn,
                        DoubleToFloatBits(DataType::kFloat8E4m3fn, 0.1)),
      0.1015625);
  EXPECT_TRUE(std::isnan(FloatBitsToDouble(DataType::kFloat8E5m2, 0x7f)));
  EXPECT_EQ(CanonicalNaNBits(DataType::kFloat32), 0x7fc00000u);
  EXPECT_EQ(CanonicalNaNBits(DataType::kFloat64), 0x7ff8000000000000u);
  EXPECT_EQ(CanonicalNaNBits(DataType::kFloat8E5m2), 0x7eu);
  EXPECT_EQ(CanonicalNaNBits(DataType::kFloat8E3m4), 0x78u);
  EXPECT_EQ(CanonicalNaNBits(DataType::kFloat8E8m0fnu), 0xffu);
}

TEST(DataTypeTest, ExhaustiveEightBitRoundTrip) {
  for (DataType d : {DataType::kFloat8E4m3fn, DataType::kFloat8E5m2,
                     DataType::kFloat8E4m3fnuz, DataType::kFloat8E5m2fnuz,
                     DataType::kFloat8E4m3b11fnuz, DataType::kFloat8E3m4,
                     DataType::kFloat8E8m0fnu}) {
    for (uint64_t b = 0; b < 256; ++b) {
      if (IsNaNBits(d, b)) continue;
      if (d == DataType::kFloat8E8m0fnu && b == 0) continue;  // reads as 0
      EXPECT_EQ(DoubleToFloatBits(d, FloatBitsToDouble(d, b)), b)
          << DataTypeName(d) << " " << b;
    }
  }
}

}  // namespace
}  // namespace internal_zarr
}  // namespace ocpx

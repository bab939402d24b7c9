// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/zarr2_metadata.h"

#include <cstring>
#include <optional>
#include <vector>

#include "gtest/gtest.h"

namespace ocpx {
namespace internal_zarr {
namespace {

TEST(Zarr2MetadataTest, OrbaxV0Array) {
  auto md = ParseZarr2ArrayMetadata(
      R"({"chunks":[8],"compressor":{"id":"zstd","level":1},)"
      R"("dimension_separator":".","dtype":"<i4","fill_value":null,)"
      R"("filters":null,"order":"C","shape":[8],"zarr_format":2})");
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_EQ(md->dtype, DataType::kInt32);
  EXPECT_EQ(md->shape, std::vector<int64_t>{8});
  ASSERT_EQ(md->codecs.size(), 2u);
  EXPECT_EQ(md->codecs[0].kind, CodecSpec::Kind::kBytes);
  EXPECT_EQ(md->codecs[1].kind, CodecSpec::Kind::kZstd);
  EXPECT_EQ(ChunkKey(md->chunk_key_encoding, {3}), "3");
  EXPECT_EQ(md->fill_value, std::string(4, '\0'));
}

TEST(Zarr2MetadataTest, FortranOrderBigEndianAndNames) {
  auto md = ParseZarr2ArrayMetadata(
      R"({"chunks":[2,3],"compressor":null,"dtype":">f8","fill_value":"NaN",)"
      R"("order":"F","shape":[4,6],"zarr_format":2,"dimension_separator":"/"})");
  ASSERT_TRUE(md.ok()) << md.status();
  ASSERT_EQ(md->codecs.size(), 2u);
  EXPECT_EQ(md->codecs[0].kind, CodecSpec::Kind::kTranspose);
  EXPECT_EQ(md->codecs[0].order, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(md->codecs[1].endian, Endian::kBig);
  EXPECT_EQ(ChunkKey(md->chunk_key_encoding, {1, 2}), "1/2");
  double fill;
  std::memcpy(&fill, md->fill_value.data(), 8);
  EXPECT_TRUE(fill != fill);
  auto bf = ParseZarr2ArrayMetadata(
      R"({"chunks":[2],"compressor":null,"dtype":"bfloat16","fill_value":0,)"
      R"("order":"C","shape":[2],"zarr_format":2})");
  ASSERT_TRUE(bf.ok()) << bf.status();
  EXPECT_EQ(bf->dtype, DataType::kBfloat16);
  auto b = ParseZarr2ArrayMetadata(
      R"({"chunks":[2],"compressor":null,"dtype":"|b1","fill_value":false,)"
      R"("order":"C","shape":[],"zarr_format":2})");
  EXPECT_FALSE(b.ok());  // rank mismatch
}

TEST(Zarr2MetadataTest, Rejections) {
  for (const char* bad : {
           R"({"zarr_format":3})",
           R"({"chunks":[2],"dtype":"<i4","shape":[2],"zarr_format":2,)"
           R"("compressor":{"id":"blosc"}})",
           R"({"chunks":[2],"dtype":"<U4","shape":[2],"zarr_format":2})",
           R"({"chunks":[2],"dtype":"<i4","shape":[2],"zarr_format":2,)"
           R"("filters":[{"id":"delta"}]})",
           R"({"chunks":[0],"dtype":"<i4","shape":[2],"zarr_format":2})",
           "not json",
       }) {
    auto md = ParseZarr2ArrayMetadata(bad);
    EXPECT_EQ(md.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// The exact `.zarray` text TensorStore 0.1.86 writes for Orbax's zarr2 spec
// (observed by creating arrays with TensorStore's `zarr` driver).
TEST(Zarr2MetadataTest, SerializeMatchesTensorStore) {
  struct Case {
    DataType dtype;
    std::optional<int> level;
    std::vector<int64_t> shape, chunks;
    const char* expected;
  };
  const Case cases[] = {
      {DataType::kFloat32,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"<f4","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kBfloat16,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"bfloat16","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kBool,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"|b1","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kInt8,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"|i1","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kComplex64,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"<c8","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kInt4,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"int4","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kFloat8E4m3fn,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"float8_e4m3fn",)"
       R"("fill_value":null,"filters":null,"order":"C","shape":[5,3],)"
       R"("zarr_format":2})"},
      {DataType::kUint64,
       1,
       {5, 3},
       {2, 3},
       R"({"chunks":[2,3],"compressor":{"id":"zstd","level":1},)"
       R"("dimension_separator":".","dtype":"<u8","fill_value":null,)"
       R"("filters":null,"order":"C","shape":[5,3],"zarr_format":2})"},
      {DataType::kInt32,
       std::nullopt,
       {},
       {},
       R"({"chunks":[],"compressor":null,"dimension_separator":".",)"
       R"("dtype":"<i4","fill_value":null,"filters":null,"order":"C",)"
       R"("shape":[],"zarr_format":2})"},
  };
  for (const Case& c : cases) {
    ArrayMetadata md =
        MakeOrbaxZarr2ArrayMetadata(c.shape, c.dtype, c.chunks, c.level);
    auto text = SerializeZarr2ArrayMetadata(md);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, c.expected) << DataTypeName(c.dtype);
    // And it parses back to the same array.
    auto back = ParseZarr2ArrayMetadata(*text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->zarr_format, 2);
    EXPECT_EQ(back->shape, c.shape);
    EXPECT_EQ(back->chunk_shape, c.chunks);
    EXPECT_EQ(back->dtype, c.dtype);
    EXPECT_EQ(back->codecs.size(), c.level ? 2u : 1u);
    EXPECT_EQ(ChunkKey(back->chunk_key_encoding, {}), "0");
  }
}

TEST(Zarr2MetadataTest, SerializeRoundTripsFortranBigEndianGzip) {
  const char* text =
      R"({"chunks":[2,3],"compressor":{"id":"gzip","level":5},)"
      R"("dimension_separator":"/","dtype":">i2","fill_value":7,)"
      R"("filters":null,"order":"F","shape":[4,6],"zarr_format":2})";
  auto md = ParseZarr2ArrayMetadata(text);
  ASSERT_TRUE(md.ok()) << md.status();
  auto out = SerializeZarr2ArrayMetadata(*md);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, text);
}

TEST(Zarr2MetadataTest, SerializeRejectsChainsWithoutZarr2Form) {
  ArrayMetadata v3 = MakeOrbaxArrayMetadata({4}, DataType::kInt32, {2});
  EXPECT_EQ(SerializeZarr2ArrayMetadata(v3).status().code(),
            absl::StatusCode::kInvalidArgument);
  ArrayMetadata crc = MakeOrbaxZarr2ArrayMetadata({4}, DataType::kInt32, {2});
  crc.codecs.push_back(CodecSpec::Crc32c());
  EXPECT_EQ(SerializeZarr2ArrayMetadata(crc).status().code(),
            absl::StatusCode::kInvalidArgument);
  ArrayMetadata sharded = MakeOrbaxArrayMetadata({4}, DataType::kInt32, {2});
  sharded.zarr_format = 2;
  sharded.chunk_key_encoding = {ChunkKeyEncoding::Kind::kV2, '.'};
  EXPECT_EQ(SerializeZarr2ArrayMetadata(sharded).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace internal_zarr
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/zarr2_metadata.h"

#include <cstring>

#include "gtest/gtest.h"

namespace ocpx {
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

}  // namespace
}  // namespace ocpx

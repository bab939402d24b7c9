// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/metadata.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_zarr {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// Verified TensorStore output (docs/format.md, "Zarr v3 arrays").
constexpr char kTsExample[] =
    R"({"attributes":{"foo":1},"chunk_grid":{"configuration":{"chunk_shape":[2,3]},"name":"regular"},"chunk_key_encoding":{"name":"v2"},"codecs":[{"configuration":{"order":[1,0]},"name":"transpose"},{"configuration":{"endian":"big"},"name":"bytes"},{"configuration":{"checksum":true,"level":3},"name":"zstd"}],"data_type":"float64","dimension_names":["y","x"],"fill_value":"NaN","node_type":"array","shape":[4,6],"zarr_format":3})";

// docs/format.md, "Zarr v3 arrays".
constexpr char kOrbaxExample[] =
    R"({"chunk_grid":{"configuration":{"chunk_shape":[16,8]},"name":"regular"},"chunk_key_encoding":{"name":"default"},"codecs":[{"configuration":{"chunk_shape":[16,8],"codecs":[{"configuration":{"endian":"little"},"name":"bytes"},{"configuration":{"checksum":false,"level":3},"name":"zstd"}],"index_codecs":[{"configuration":{"endian":"little"},"name":"bytes"},{"name":"crc32c"}]},"name":"sharding_indexed"}],"data_type":"float32","fill_value":0.0,"node_type":"array","shape":[64,16],"zarr_format":3})";

TEST(MetadataTest, RoundTripsTensorStoreBytes) {
  for (const char* text : {kTsExample, kOrbaxExample}) {
    auto m = ParseArrayMetadata(text);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(SerializeArrayMetadata(*m), text);
  }
}

TEST(MetadataTest, MakeOrbaxMatchesOrbaxOutput) {
  EXPECT_EQ(SerializeArrayMetadata(
                MakeOrbaxArrayMetadata({64, 16}, DataType::kFloat32, {16, 8})),
            kOrbaxExample);
  // 1-byte types: `bytes` without configuration; no zstd.
  EXPECT_EQ(
      SerializeArrayMetadata(
          MakeOrbaxArrayMetadata({3}, DataType::kBool, {3}, std::nullopt)),
      R"({"chunk_grid":{"configuration":{"chunk_shape":[3]},"name":"regular"},"chunk_key_encoding":{"name":"default"},"codecs":[{"configuration":{"chunk_shape":[3],"codecs":[{"name":"bytes"}],"index_codecs":[{"configuration":{"endian":"little"},"name":"bytes"},{"name":"crc32c"}]},"name":"sharding_indexed"}],"data_type":"bool","fill_value":false,"node_type":"array","shape":[3],"zarr_format":3})");
}

json Base() { return json::parse(kOrbaxExample); }

std::string ErrorOf(const json& j) {
  auto m = ArrayMetadataFromJson(j);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(m.status().message());
}

TEST(MetadataTest, Rejections) {
  json j = Base();
  j["codecs"][0]["configuration"]["codecs"][1]["name"] = "lz5";
  EXPECT_THAT(ErrorOf(j), HasSubstr("codecs[0].configuration.codecs[1].name"));
  EXPECT_THAT(ErrorOf(j), HasSubstr("lz5"));

  j = Base();
  j["chunk_grid"]["configuration"]["chunk_shape"] = {16};
  EXPECT_THAT(ErrorOf(j), HasSubstr("chunk_shape"));

  j = Base();
  j["codecs"][0]["configuration"]["chunk_shape"] = {16, 8, 1};
  EXPECT_THAT(ErrorOf(j), HasSubstr("codecs[0].configuration.chunk_shape"));

  j = Base();
  j["codecs"][0]["configuration"]["chunk_shape"] = {5, 8};
  EXPECT_THAT(ErrorOf(j), HasSubstr("evenly divide"));

  j = Base();
  j.erase("node_type");
  EXPECT_THAT(ErrorOf(j), HasSubstr("node_type"));

  j = Base();
  j["zarr_format"] = 2;
  EXPECT_THAT(ErrorOf(j), HasSubstr("zarr_format"));

  j = Base();
  j["data_type"] = "uint4";
  EXPECT_THAT(ErrorOf(j), HasSubstr("data_type"));

  j = Base();
  j["surprise"] = 1;
  EXPECT_THAT(ErrorOf(j), HasSubstr("surprise"));
  j["surprise"] = {{"must_understand", false}, {"x", 1}};
  EXPECT_TRUE(ArrayMetadataFromJson(j).ok());

  j = Base();
  j["codecs"][0]["configuration"]["codecs"][0] = {{"name", "bytes"}};
  EXPECT_THAT(ErrorOf(j), HasSubstr("endian"));

  j = Base();
  j["codecs"][0]["configuration"]["index_codecs"].push_back({{"name", "zstd"}});
  EXPECT_THAT(ErrorOf(j), HasSubstr("index_codecs"));

  j = Base();
  j["codecs"] = json::array({{{"name", "zstd"}}});
  EXPECT_THAT(ErrorOf(j), HasSubstr("array->bytes"));

  j = Base();
  j["codecs"].push_back({{"name", "crc32c"}});
  EXPECT_THAT(ErrorOf(j), HasSubstr("may not follow sharding_indexed"));

  j = Base();
  j["fill_value"] = "zero";
  EXPECT_THAT(ErrorOf(j), HasSubstr("fill_value"));

  EXPECT_FALSE(ParseArrayMetadata("{not json").ok());
}

TEST(MetadataTest, FillValues) {
  auto rt = [](DataType d, const json& in) {
    auto bytes = FillValueFromJson(d, in);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return FillValueToJson(d, *bytes).dump();
  };
  EXPECT_EQ(rt(DataType::kFloat32, 0.1), "0.10000000149011612");
  EXPECT_EQ(rt(DataType::kFloat32, 3), "3.0");
  EXPECT_EQ(rt(DataType::kFloat64, -0.0), "-0.0");
  EXPECT_EQ(rt(DataType::kFloat64, 1e300), "1e+300");
  EXPECT_EQ(rt(DataType::kFloat32, "NaN"), "\"NaN\"");
  EXPECT_EQ(rt(DataType::kFloat32, "0x7fc00001"), "\"0x7fc00001\"");
  EXPECT_EQ(rt(DataType::kFloat32, "0x7fc00000"), "\"NaN\"");
  EXPECT_EQ(rt(DataType::kFloat16, "-Infinity"), "\"-Infinity\"");
  EXPECT_EQ(rt(DataType::kBfloat16, "0xff"), "2.341805152028776e-38");
  EXPECT_EQ(rt(DataType::kFloat8E4m3fn, "0xff"), "\"0xff\"");
  EXPECT_EQ(rt(DataType::kFloat8E5m2, "0x7e"), "\"NaN\"");
  EXPECT_EQ(rt(DataType::kFloat8E4m3fnuz, "0x80"), "\"NaN\"");
  EXPECT_EQ(rt(DataType::kFloat8E4m3fn, 1000.0), "\"NaN\"");
  EXPECT_EQ(rt(DataType::kFloat8E8m0fnu, 0.0), "0.0");
  EXPECT_EQ(rt(DataType::kComplex64, json::parse(R"([1.0,"NaN"])")),
            R"([1.0,"NaN"])");
  EXPECT_EQ(rt(DataType::kUint64, 18446744073709551615ull),
            "18446744073709551615");
  EXPECT_EQ(rt(DataType::kInt4, -8), "-8");
  EXPECT_EQ(rt(DataType::kInt2, -1), "-1");
  EXPECT_EQ(rt(DataType::kBool, true), "true");
  EXPECT_FALSE(FillValueFromJson(DataType::kInt4, 8).ok());
  EXPECT_FALSE(FillValueFromJson(DataType::kUint8, -1).ok());
  EXPECT_FALSE(FillValueFromJson(DataType::kComplex64, 0.0).ok());
  EXPECT_FALSE(FillValueFromJson(DataType::kBool, 0).ok());
}

TEST(MetadataTest, ChunkKeys) {
  ChunkKeyEncoding def;
  EXPECT_EQ(ChunkKey(def, {}), "c");
  EXPECT_EQ(ChunkKey(def, {1, 23}), "c/1/23");
  ChunkKeyEncoding dot{ChunkKeyEncoding::Kind::kDefault, '.'};
  EXPECT_EQ(ChunkKey(dot, {1, 2}), "c.1.2");
  ChunkKeyEncoding v2{ChunkKeyEncoding::Kind::kV2, '.'};
  EXPECT_EQ(ChunkKey(v2, {}), "0");
  EXPECT_EQ(ChunkKey(v2, {1, 2}), "1.2");
}

TEST(MetadataTest, ChunkKeyEncodingSerialization) {
  ArrayMetadata m = MakeOrbaxArrayMetadata({4}, DataType::kInt8, {2});
  auto enc = [&](ChunkKeyEncoding::Kind k, char sep) {
    m.chunk_key_encoding = {k, sep};
    std::string s = ArrayMetadataToJson(m)["chunk_key_encoding"].dump();
    auto back = ParseArrayMetadata(SerializeArrayMetadata(m));
    EXPECT_TRUE(back.ok());
    EXPECT_EQ(back->chunk_key_encoding.separator, sep);
    return s;
  };
  EXPECT_EQ(enc(ChunkKeyEncoding::Kind::kDefault, '/'),
            R"({"name":"default"})");
  EXPECT_EQ(enc(ChunkKeyEncoding::Kind::kDefault, '.'),
            R"({"configuration":{"separator":"."},"name":"default"})");
  EXPECT_EQ(enc(ChunkKeyEncoding::Kind::kV2, '.'), R"({"name":"v2"})");
  EXPECT_EQ(enc(ChunkKeyEncoding::Kind::kV2, '/'),
            R"({"configuration":{"separator":"/"},"name":"v2"})");
}

TEST(MetadataTest, DimensionNamesOmittedWhenUnset) {
  ArrayMetadata m = MakeOrbaxArrayMetadata({4, 2}, DataType::kInt8, {2, 2});
  m.dimension_names = {std::nullopt, std::nullopt};
  EXPECT_FALSE(ArrayMetadataToJson(m).contains("dimension_names"));
  m.dimension_names = {"x", std::nullopt};
  EXPECT_EQ(ArrayMetadataToJson(m)["dimension_names"].dump(), R"(["x",null])");
}

}  // namespace
}  // namespace internal_zarr
}  // namespace ocpx

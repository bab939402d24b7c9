// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/chunk_codec.h"

#include <cstring>
#include <numeric>
#include <optional>
#include <vector>

#include "cpp/ocpx/array/zarr2_metadata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_zarr {
namespace {

using ::testing::HasSubstr;

ArrayMetadata Plain(std::vector<int64_t> chunk, DataType d,
                    std::vector<CodecSpec> codecs) {
  ArrayMetadata m;
  m.shape = chunk;
  m.chunk_shape = chunk;
  m.dtype = d;
  m.fill_value = ZeroFillValue(d);
  m.codecs = std::move(codecs);
  return m;
}

std::vector<uint16_t> Iota16(size_t n) {
  std::vector<uint16_t> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

// A shard verified against TensorStore (docs/format.md, "Zarr v3 arrays"):
// uint16 shard [4,8], inner [2,4], end index, only inner chunks 0 and 3
// non-fill.
TEST(ChunkCodecTest, ShardMatchesVerifiedLayout) {
  ArrayMetadata m = Plain({4, 8}, DataType::kUint16,
                          {CodecSpec::ShardingIndexed(
                              {2, 4}, {CodecSpec::Bytes(Endian::kLittle)})});
  auto codec = ChunkCodec::Make(m);
  ASSERT_TRUE(codec.ok()) << codec.status();
  std::vector<uint16_t> data(32, 0);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) data[r * 8 + c] = 1 + r * 4 + c;
  for (int r = 2; r < 4; ++r)
    for (int c = 4; c < 8; ++c) data[r * 8 + c] = 100 + r * 8 + c;
  auto enc = codec->Encode(data.data(), {}, false);
  ASSERT_TRUE(enc.ok()) << enc.status();
  ASSERT_TRUE(enc->has_value());
  const std::string& s = **enc;
  ASSERT_EQ(s.size(), 100u);
  uint64_t idx[8];
  std::memcpy(idx, s.data() + 32, 64);
  EXPECT_EQ(idx[0], 0u);
  EXPECT_EQ(idx[1], 16u);
  EXPECT_EQ(idx[2], ~uint64_t{0});
  EXPECT_EQ(idx[3], ~uint64_t{0});
  EXPECT_EQ(idx[6], 16u);
  EXPECT_EQ(idx[7], 16u);
  std::vector<uint16_t> back(32, 7);
  ASSERT_TRUE(codec->Decode(s, back.data()).ok());
  EXPECT_EQ(back, data);
}

TEST(ChunkCodecTest, AllFillChunkIsOmittedUnlessStoringFill) {
  ArrayMetadata m =
      Plain({4}, DataType::kFloat32, {CodecSpec::Bytes(Endian::kLittle)});
  float nan = std::nanf("");
  std::memcpy(m.fill_value.data(), &nan, 4);
  auto codec = ChunkCodec::Make(m);
  ASSERT_TRUE(codec.ok());
  float data[4] = {nan, nan, nan, nan};
  EXPECT_FALSE(codec->Encode(data, {}, false)->has_value());
  EXPECT_TRUE(codec->Encode(data, {}, true)->has_value());
}

TEST(ChunkCodecTest, StoreFillSkipsInnerChunksOutsideTheArray) {
  ArrayMetadata m = Plain({4, 8}, DataType::kUint16,
                          {CodecSpec::ShardingIndexed(
                              {2, 4}, {CodecSpec::Bytes(Endian::kLittle)})});
  auto codec = ChunkCodec::Make(m);
  std::vector<uint16_t> zeros(32, 0);
  const int64_t valid[] = {1, 8};  // only the first row is inside
  auto enc = codec->Encode(zeros.data(), valid, true);
  ASSERT_TRUE(enc.ok());
  ASSERT_EQ((*enc)->size(), 2 * 16 + 68u);
}

TEST(ChunkCodecTest, ChainsRoundTrip) {
  std::vector<std::vector<CodecSpec>> chains = {
      {CodecSpec::Bytes(Endian::kBig)},
      {CodecSpec::Transpose({1, 2, 0}), CodecSpec::Bytes(Endian::kLittle),
       CodecSpec::Zstd(3, true), CodecSpec::Crc32c()},
      {CodecSpec::Bytes(Endian::kLittle), CodecSpec::Crc32c(),
       CodecSpec::Zstd()},
      {CodecSpec::Bytes(Endian::kBig), CodecSpec::Gzip(6)},
      {CodecSpec::ShardingIndexed(
          {2, 3, 2}, {CodecSpec::Bytes(Endian::kBig), CodecSpec::Zstd()},
          true)},
      {CodecSpec::Transpose({2, 1, 0}),
       CodecSpec::ShardingIndexed(
           {2, 3, 2}, {CodecSpec::ShardingIndexed(
                          {1, 3, 1}, {CodecSpec::Bytes(Endian::kLittle),
                                      CodecSpec::Gzip()})})},
  };
  for (size_t i = 0; i < chains.size(); ++i) {
    ArrayMetadata m = Plain({4, 6, 2}, DataType::kUint16, chains[i]);
    auto codec = ChunkCodec::Make(m);
    ASSERT_TRUE(codec.ok()) << i << codec.status();
    auto data = Iota16(48);
    data[5] = 0;
    auto enc = codec->Encode(data.data(), {}, false);
    ASSERT_TRUE(enc.ok()) << i << enc.status();
    std::vector<uint16_t> back(48, 9);
    auto st = codec->Decode(**enc, back.data());
    ASSERT_TRUE(st.ok()) << i << st;
    EXPECT_EQ(back, data) << i;
  }
}

TEST(ChunkCodecTest, BigEndianBytesLayout) {
  ArrayMetadata m =
      Plain({2}, DataType::kUint16, {CodecSpec::Bytes(Endian::kBig)});
  auto codec = ChunkCodec::Make(m);
  uint16_t data[2] = {0x0102, 0x0304};
  EXPECT_EQ(**codec->Encode(data, {}, false), std::string("\1\2\3\4", 4));
}

TEST(ChunkCodecTest, TransposeLayout) {
  // [1,0] on a 2x3 chunk gives 3x2 C order.
  ArrayMetadata m =
      Plain({2, 3}, DataType::kUint8,
            {CodecSpec::Transpose({1, 0}), CodecSpec::Bytes(std::nullopt)});
  auto codec = ChunkCodec::Make(m);
  uint8_t data[6] = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(**codec->Encode(data, {}, false), std::string("\1\4\2\5\3\6", 6));
}

TEST(ChunkCodecTest, CorruptionIsDataLoss) {
  ArrayMetadata m = MakeOrbaxArrayMetadata({8, 8}, DataType::kFloat32, {8, 8});
  auto codec = ChunkCodec::Make(m);
  std::vector<float> data(64);
  std::iota(data.begin(), data.end(), 0.5f);
  std::string enc = **codec->Encode(data.data(), {}, true);
  std::vector<float> out(64);
  ASSERT_TRUE(codec->Decode(enc, out.data()).ok());
  EXPECT_EQ(out, data);
  // (Flips inside zstd data are not always detectable: Orbax writes no
  // content checksum.)
  for (size_t pos : {size_t{0}, enc.size() - 10, enc.size() - 1}) {
    std::string bad = enc;
    bad[pos] ^= 0x40;
    auto s = codec->Decode(bad, out.data());
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << pos << " " << s;
  }
  for (size_t len : {size_t{0}, size_t{3}, size_t{19}, enc.size() - 1}) {
    auto s = codec->Decode(enc.substr(0, len), out.data());
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << len << " " << s;
  }
  // Wrong size after `bytes`.
  ArrayMetadata p =
      Plain({4}, DataType::kUint8,
            {CodecSpec::Bytes(std::nullopt), CodecSpec::Crc32c()});
  auto pc = ChunkCodec::Make(p);
  std::string e = **pc->Encode("abcd", {}, true);
  EXPECT_THAT(std::string(pc->Decode(e.substr(0, 3), out.data()).message()),
              HasSubstr("crc32c"));
}

// With chunk checksums, every byte of a stored chunk is covered: flipping any
// single bit anywhere is DataLoss, for compressed and uncompressed chunks.
TEST(ChunkCodecTest, ChunkChecksumsDetectEveryFlippedByte) {
  for (std::optional<int> level :
       {std::optional<int>(3), std::optional<int>()}) {
    ArrayMetadata m =
        MakeOrbaxArrayMetadata({6, 4}, DataType::kFloat32, {6, 4}, level,
                               /*chunk_checksums=*/true);
    EXPECT_TRUE(HasChunkChecksums(m));
    auto codec = ChunkCodec::Make(m);
    ASSERT_TRUE(codec.ok()) << codec.status();
    std::vector<float> data(24);
    std::iota(data.begin(), data.end(), 1.25f);
    std::string enc = **codec->Encode(data.data(), {}, true);
    std::vector<float> out(24);
    ASSERT_TRUE(codec->Decode(enc, out.data()).ok());
    EXPECT_EQ(out, data);
    for (size_t pos = 0; pos < enc.size(); ++pos) {
      for (int bit : {0, 7}) {
        std::string bad = enc;
        bad[pos] ^= static_cast<char>(1 << bit);
        auto s = codec->Decode(bad, out.data());
        EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss)
            << "byte " << pos << " bit " << bit << ": " << s;
      }
    }
  }
  EXPECT_FALSE(
      HasChunkChecksums(MakeOrbaxArrayMetadata({4}, DataType::kInt32, {4})));
}

// The inner `crc32c` is the last inner codec and appends CRC-32C(payload) as
// 4 little-endian bytes, as TensorStore does.
TEST(ChunkCodecTest, ChunkChecksumLayout) {
  ArrayMetadata m =
      MakeOrbaxArrayMetadata({4}, DataType::kUint8, {4}, std::nullopt, true);
  EXPECT_EQ(SerializeArrayMetadata(m),
            R"({"chunk_grid":{"configuration":{"chunk_shape":[4]},)"
            R"("name":"regular"},"chunk_key_encoding":{"name":"default"},)"
            R"("codecs":[{"configuration":{"chunk_shape":[4],"codecs":)"
            R"([{"name":"bytes"},{"name":"crc32c"}],"index_codecs":)"
            R"([{"configuration":{"endian":"little"},"name":"bytes"},)"
            R"({"name":"crc32c"}]},"name":"sharding_indexed"}],)"
            R"("data_type":"uint8","fill_value":0,"node_type":"array",)"
            R"("shape":[4],"zarr_format":3})");
  auto codec = ChunkCodec::Make(m);
  std::string enc = **codec->Encode("abcd", {}, true);
  // "abcd" + crc32c("abcd") LE, then the index (offset 0, length 8) + crc.
  ASSERT_EQ(enc.size(), 8u + 16u + 4u);
  EXPECT_EQ(enc.substr(0, 4), "abcd");
  // CRC-32C("abcd") = 0x92c80a31.
  EXPECT_EQ(enc.substr(4, 4), std::string("\x31\x0a\xc8\x92", 4));
}

// Orbax's layout (one zstd inner chunk, with or without checksums) decodes
// streamed, piece by piece, to the same bytes as Decode, and every flipped
// byte is still DataLoss (a checksum mismatch when checksums are on).  Other
// chains are not streamed.
TEST(ChunkCodecTest, DecodeStreamedMatchesDecode) {
  for (bool checksums : {true, false}) {
    ArrayMetadata m = MakeOrbaxArrayMetadata({64, 32}, DataType::kFloat32,
                                             {64, 32}, 3, checksums);
    auto codec = ChunkCodec::Make(m);
    ASSERT_TRUE(codec.ok()) << codec.status();
    std::vector<float> data(64 * 32);
    for (size_t i = 0; i < data.size(); ++i) data[i] = (i * 7919) % 1000 * 0.5f;
    const std::string enc = **codec->Encode(data.data(), {}, true);
    int reads = 0;
    std::string value;
    ChunkCodec::ReadAtFn read_at = [&](uint64_t off, absl::Span<char> out) {
      ++reads;
      if (off > value.size() || out.size() > value.size() - off) {
        return absl::OutOfRangeError("beyond the value");
      }
      std::memcpy(out.data(), value.data() + off, out.size());
      return absl::OkStatus();
    };
    value = enc;
    std::vector<float> out(data.size(), -1.0f);
    auto streamed = codec->DecodeStreamed(value.size(), read_at, out.data());
    ASSERT_TRUE(streamed.ok()) << streamed.status();
    EXPECT_TRUE(*streamed);
    EXPECT_EQ(out, data);
    EXPECT_GE(reads, 2);  // the index, then the inner chunk
    // (Without checksums a flipped byte may decode to other values.)
    for (size_t pos = 0; checksums && pos < enc.size(); pos += 7) {
      value = enc;
      value[pos] ^= 0x10;
      auto r = codec->DecodeStreamed(value.size(), read_at, out.data());
      absl::Status s = r.ok() ? absl::OkStatus() : r.status();
      if (r.ok() && !*r) s = codec->Decode(value, out.data());  // fell back
      if (r.ok() && *r) s = absl::InternalError("decoded a corrupt value");
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "byte " << pos;
      if (pos < enc.size() - 20) {
        EXPECT_THAT(std::string(s.message()), HasSubstr("crc32c"))
            << "byte " << pos;
      }
    }
  }
  // No compression: not streamed.
  auto plain = ChunkCodec::Make(
      MakeOrbaxArrayMetadata({4}, DataType::kInt32, {4}, std::nullopt));
  ASSERT_TRUE(plain.ok());
  int32_t v[4] = {1, 2, 3, 4};
  std::string enc = **plain->Encode(v, {}, true);
  ChunkCodec::ReadAtFn read_at = [&](uint64_t off, absl::Span<char> out) {
    std::memcpy(out.data(), enc.data() + off, out.size());
    return absl::OkStatus();
  };
  auto r = plain->DecodeStreamed(enc.size(), read_at, v);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(ChunkCodecTest, EncodeStreamedMatchesEncode) {
  // Orbax's layout (one inner chunk, zstd, with and without crc32c), large
  // enough to span several pieces.
  for (bool checksums : {true, false}) {
    ArrayMetadata m = MakeOrbaxArrayMetadata({1024, 1024}, DataType::kFloat32,
                                             {1024, 1024}, 3, checksums);
    auto codec = ChunkCodec::Make(m);
    ASSERT_TRUE(codec.ok()) << codec.status();
    ASSERT_TRUE(codec->CanEncodeStreamed());
    std::vector<uint32_t> data(1024 * 1024);
    uint32_t x = 2463534242u;
    for (uint32_t& v : data) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      v = x;
    }
    std::string value;
    size_t pieces = 0;
    auto r = codec->EncodeStreamed(data.data(), {}, true,
                                   [&](absl::string_view piece) {
                                     value.append(piece.data(), piece.size());
                                     ++pieces;
                                     return absl::OkStatus();
                                   });
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(*r);
    EXPECT_GE(pieces, 4u);
    std::vector<uint32_t> out(data.size());
    ASSERT_TRUE(codec->Decode(value, out.data()).ok());
    EXPECT_EQ(out, data);
    // The same layout as the one-shot encoding: data, (checksum,) index.
    const std::string whole = **codec->Encode(data.data(), {}, true);
    // The index at the end (16 bytes, plus 4 with its checksum) says the
    // inner chunk is everything before it, in both encodings.
    auto index_bytes = [](const std::string& v) -> size_t {
      for (size_t n : {size_t{16}, size_t{20}}) {
        uint64_t index[2];
        std::memcpy(index, v.data() + v.size() - n, 16);
        if (index[0] == 0 && index[1] == v.size() - n) return n;
      }
      return 0;
    };
    EXPECT_NE(index_bytes(value), 0u);
    EXPECT_EQ(index_bytes(value), index_bytes(whole));
    // An edge chunk (valid box smaller than the chunk) streams too.
    value.clear();
    const int64_t valid[2] = {1000, 1024};
    r = codec->EncodeStreamed(data.data(), valid, false,
                              [&](absl::string_view piece) {
                                value.append(piece.data(), piece.size());
                                return absl::OkStatus();
                              });
    ASSERT_TRUE(r.ok() && *r);
    ASSERT_TRUE(codec->Decode(value, out.data()).ok());
    EXPECT_EQ(out, data);
  }
  // All fill value, not stored: nothing streamed (Encode omits the chunk).
  ArrayMetadata m =
      MakeOrbaxArrayMetadata({256}, DataType::kInt32, {256}, 3, true);
  auto codec = ChunkCodec::Make(m);
  ASSERT_TRUE(codec.ok());
  std::vector<int32_t> zeros(256, 0);
  bool called = false;
  auto sink = [&](absl::string_view) {
    called = true;
    return absl::OkStatus();
  };
  auto r = codec->EncodeStreamed(zeros.data(), {}, false, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_FALSE(called);
  EXPECT_FALSE(codec->Encode(zeros.data(), {}, false)->has_value());
  // With fill chunks stored it is encoded.
  r = codec->EncodeStreamed(zeros.data(), {}, true, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  // The sink's error is returned.
  r = codec->EncodeStreamed(zeros.data(), {}, true, [](absl::string_view) {
    return absl::ResourceExhaustedError("disk full");
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  // A zarr v2 chunk (bytes, then one zstd frame) streams as that frame.
  {
    ArrayMetadata z2 = MakeOrbaxZarr2ArrayMetadata(
        {512, 512}, DataType::kFloat32, {512, 512}, 1);
    auto codec2 = ChunkCodec::Make(z2);
    ASSERT_TRUE(codec2.ok()) << codec2.status();
    ASSERT_TRUE(codec2->CanEncodeStreamed());
    std::vector<float> data(512 * 512);
    for (size_t i = 0; i < data.size(); ++i) data[i] = (i * 7919) % 1000;
    std::string value;
    auto r2 = codec2->EncodeStreamed(data.data(), {}, true,
                                     [&](absl::string_view piece) {
                                       value.append(piece.data(), piece.size());
                                       return absl::OkStatus();
                                     });
    ASSERT_TRUE(r2.ok() && *r2);
    std::vector<float> out(data.size());
    ASSERT_TRUE(codec2->Decode(value, out.data()).ok());
    EXPECT_EQ(out, data);
    std::vector<float> zeros2(data.size(), 0.0f);
    r2 = codec2->EncodeStreamed(zeros2.data(), {}, false, sink);
    ASSERT_TRUE(r2.ok());
    EXPECT_FALSE(*r2);  // omitted, as Encode omits it
  }
  // Other chains do not stream.
  auto plain = ChunkCodec::Make(
      MakeOrbaxArrayMetadata({4}, DataType::kInt32, {4}, std::nullopt));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->CanEncodeStreamed());
  int32_t v[4] = {1, 2, 3, 4};
  called = false;
  r = plain->EncodeStreamed(v, {}, true, sink);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace internal_zarr
}  // namespace ocpx

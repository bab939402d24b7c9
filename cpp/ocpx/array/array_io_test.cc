// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/array_io.h"

#include <stdlib.h>

#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cpp/ocpx/array/chunk_codec.h"
#include "cpp/ocpx/array/zarr2_metadata.h"
#include "cpp/ocpx/base/byte_limiter.h"
#include "cpp/ocpx/base/test_temp_dir.h"
#include "cpp/ocpx/base/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_zarr {

using ::ocpx::internal::ByteLimiter;
using ::ocpx::internal::ThreadPool;

namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Keys(const MemoryChunkStore& s) {
  std::vector<std::string> k;
  for (auto& [key, v] : s.Contents()) k.push_back(key);
  return k;
}

TEST(ArrayIoTest, WriteReadWholeAndStraddlingBoxes) {
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({5, 7}, DataType::kInt32, {2, 3});
  std::vector<int32_t> a(35);
  std::iota(a.begin(), a.end(), 1);
  ASSERT_TRUE(WriteArrayMetadata(store, "p", m).ok());
  ASSERT_TRUE(WriteRegion(store, "p", m, {0, 0}, {5, 7}, a.data()).ok());
  EXPECT_EQ(store.Contents().size(), 1u + 3 * 3);
  auto m2 = ReadArrayMetadata(store, "p");
  ASSERT_TRUE(m2.ok()) << m2.status();
  std::vector<int32_t> box(3 * 4, -1);
  ASSERT_TRUE(ReadRegion(store, "p", *m2, {1, 2}, {3, 4}, box.data()).ok());
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(box[r * 4 + c], a[(r + 1) * 7 + c + 2]);
}

TEST(ArrayIoTest, ContiguousChunksBypassStaging) {
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({7, 4}, DataType::kInt16, {2, 4});
  std::vector<int16_t> a(28);
  std::iota(a.begin(), a.end(), -5);
  ASSERT_TRUE(WriteRegion(store, "", m, {0, 0}, {7, 4}, a.data()).ok());
  std::vector<int16_t> all(28, 0);
  ASSERT_TRUE(ReadRegion(store, "", m, {0, 0}, {7, 4}, all.data()).ok());
  EXPECT_EQ(all, a);
  std::vector<int16_t> rows(12, 0);
  ASSERT_TRUE(ReadRegion(store, "", m, {2, 0}, {3, 4}, rows.data()).ok());
  EXPECT_EQ(rows, std::vector<int16_t>(a.begin() + 8, a.begin() + 20));
  // A row write inside one chunk (contiguous, but partial: read-modify-write).
  int16_t row[4] = {100, 101, 102, 103};
  ASSERT_TRUE(WriteRegion(store, "", m, {3, 0}, {1, 4}, row).ok());
  ASSERT_TRUE(ReadRegion(store, "", m, {0, 0}, {7, 4}, all.data()).ok());
  EXPECT_EQ(all[12], 100);
  EXPECT_EQ(all[15], 103);
  EXPECT_EQ(all[11], a[11]);
  EXPECT_EQ(all[16], a[16]);
}

TEST(ArrayIoTest, PartialWriteMergesWithExistingChunks) {
  MemoryChunkStore store;
  ArrayMetadata m;
  m.shape = {6};
  m.chunk_shape = {4};
  m.dtype = DataType::kUint8;
  m.fill_value = std::string(1, '\x07');
  m.codecs = {CodecSpec::Bytes(std::nullopt)};
  uint8_t part[3] = {1, 2, 3};
  ASSERT_TRUE(WriteRegion(store, "", m, {2}, {3}, part).ok());
  EXPECT_THAT(Keys(store), UnorderedElementsAre("c/0", "c/1"));
  // The edge chunk is stored at full size, padded with the fill value.
  EXPECT_EQ(*store.Read("c/1").value(), std::string("\x03\x07\x07\x07", 4));
  uint8_t more[2] = {9, 9};
  ASSERT_TRUE(WriteRegion(store, "", m, {1}, {2}, more).ok());
  uint8_t out[6];
  ASSERT_TRUE(ReadRegion(store, "", m, {0}, {6}, out).ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 6),
            std::string("\x07\x09\x09\x02\x03\x07", 6));
  // Writing fill everywhere deletes the keys (TensorStore default)...
  uint8_t fill[6] = {7, 7, 7, 7, 7, 7};
  ASSERT_TRUE(WriteRegion(store, "", m, {0}, {6}, fill).ok());
  EXPECT_TRUE(store.Contents().empty());
  // ...or stores them (Orbax).
  WriteRegionOptions opts;
  opts.store_fill_value_chunks = true;
  ASSERT_TRUE(WriteRegion(store, "", m, {0}, {6}, fill, opts).ok());
  EXPECT_EQ(store.Contents().size(), 2u);
}

// Counts reads per key.
class CountingStore : public MemoryChunkStore {
 public:
  absl::StatusOr<std::optional<std::string>> Read(
      const std::string& key) override {
    absl::MutexLock lock(&mu_);
    ++reads_[key];
    return MemoryChunkStore::Read(key);
  }
  std::map<std::string, int> reads() const {
    absl::MutexLock lock(&mu_);
    return reads_;
  }
  void Reset() {
    absl::MutexLock lock(&mu_);
    reads_.clear();
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int> reads_;
};

// Records which call stored each key: "W" for `Write`, "C" for `WriteCopy`.
class WriteCallStore : public MemoryChunkStore {
 public:
  absl::Status Write(const std::string& key, std::string value) override {
    Note(key, "W");
    return MemoryChunkStore::Write(key, std::move(value));
  }
  absl::Status WriteCopy(const std::string& key,
                         absl::string_view value) override {
    Note(key, "C");
    return MemoryChunkStore::Write(key, std::string(value));
  }
  std::map<std::string, std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  void Note(const std::string& key, const char* how) {
    absl::MutexLock lock(&mu_);
    calls_[key] += how;
  }
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> calls_;
};

TEST(ArrayIoTest, SmallChunksGoThroughAReusedBufferWithEncodesBytes) {
  for (bool checksums : {false, true}) {
    SCOPED_TRACE(checksums ? "with crc32c" : "without crc32c");
    WriteCallStore store;
    ArrayMetadata m =
        MakeOrbaxArrayMetadata({5, 6}, DataType::kInt32, {2, 6}, 3, checksums);
    std::vector<int32_t> a(30);
    std::iota(a.begin(), a.end(), 1);
    std::fill(a.begin() + 12, a.begin() + 24, 0);  // chunk 1: fill value
    ASSERT_TRUE(WriteArrayMetadata(store, "p", m).ok());
    ASSERT_TRUE(WriteRegion(store, "p", m, {0, 0}, {5, 6}, a.data()).ok());
    // A whole chunk (no staging) and the edge chunk (staged) go through
    // `WriteCopy`; the fill-value chunk is not stored.
    std::map<std::string, std::string> calls = store.calls();
    EXPECT_EQ(calls["p/c/0/0"], "C");
    EXPECT_EQ(calls["p/c/2/0"], "C");
    EXPECT_EQ(calls.count("p/c/1/0"), 0u);
    // The values are those `ChunkCodec::Encode` makes.
    auto codec = ChunkCodec::Make(m);
    ASSERT_TRUE(codec.ok()) << codec.status();
    std::vector<int32_t> edge(12, 0);
    std::copy(a.begin() + 24, a.end(), edge.begin());
    auto want0 = codec->Encode(a.data(), {2, 6}, false);
    auto want2 = codec->Encode(edge.data(), {1, 6}, false);
    ASSERT_TRUE(want0.ok() && want2.ok());
    auto contents = store.Contents();
    EXPECT_EQ(contents["p/c/0/0"], **want0);
    EXPECT_EQ(contents["p/c/2/0"], **want2);
    std::vector<int32_t> back(30, -1);
    ASSERT_TRUE(ReadRegion(store, "p", m, {0, 0}, {5, 6}, back.data()).ok());
    EXPECT_EQ(back, a);
  }
}

TEST(ArrayIoTest, ReadRegionsReadsEachChunkOnce) {
  CountingStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({6, 8}, DataType::kInt32, {3, 4});
  std::vector<int32_t> a(48);
  std::iota(a.begin(), a.end(), 7);
  ASSERT_TRUE(WriteRegion(store, "p", m, {0, 0}, {6, 8}, a.data()).ok());
  store.Reset();
  // A box equal to one chunk (decoded in place), the same box again (a
  // replica), an empty box (no chunks), a box straddling all four chunks,
  // the whole array, and a column box at the array edge.
  const std::vector<std::vector<int64_t>> origins = {{0, 4}, {0, 4}, {2, 1},
                                                     {1, 2}, {0, 0}, {0, 7}};
  const std::vector<std::vector<int64_t>> shapes = {{3, 4}, {3, 4}, {0, 3},
                                                    {4, 5}, {6, 8}, {6, 1}};
  std::vector<std::vector<int32_t>> outs;
  std::vector<ReadBox> boxes;
  for (size_t i = 0; i < origins.size(); ++i) {
    outs.emplace_back(shapes[i][0] * shapes[i][1], -1);
  }
  for (size_t i = 0; i < origins.size(); ++i) {
    boxes.push_back(ReadBox{origins[i], shapes[i], outs[i].data()});
  }
  ASSERT_TRUE(ReadRegions(store, "p", m, boxes).ok());
  for (size_t i = 0; i < origins.size(); ++i) {
    for (int64_t r = 0; r < shapes[i][0]; ++r) {
      for (int64_t c = 0; c < shapes[i][1]; ++c) {
        EXPECT_EQ(outs[i][r * shapes[i][1] + c],
                  a[(r + origins[i][0]) * 8 + c + origins[i][1]])
            << "box " << i << " at " << r << "," << c;
      }
    }
  }
  std::map<std::string, int> want = {
      {"p/c/0/0", 1}, {"p/c/0/1", 1}, {"p/c/1/0", 1}, {"p/c/1/1", 1}};
  EXPECT_EQ(store.reads(), want);

  // Missing chunks: fill value in every box, or NotFound naming the key.
  MemoryChunkStore empty;
  std::vector<int32_t> x(12, -1), y(2, -1);
  const std::vector<int64_t> o1 = {0, 0}, s1 = {3, 4}, o2 = {2, 3}, s2 = {1, 2};
  std::vector<ReadBox> two = {ReadBox{o1, s1, x.data()},
                              ReadBox{o2, s2, y.data()}};
  ASSERT_TRUE(ReadRegions(empty, "p", m, two).ok());
  EXPECT_EQ(x, std::vector<int32_t>(12, 0));
  EXPECT_EQ(y, std::vector<int32_t>(2, 0));
  ReadRegionOptions strict;
  strict.fail_on_missing_chunks = true;
  absl::Status st = ReadRegions(empty, "p", m, two, strict);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(st.message()), HasSubstr("p/c/0/"));
  // Every box is checked before anything is read.
  const std::vector<int64_t> bad = {7, 4};
  std::vector<ReadBox> out_of_range = {ReadBox{o1, s1, x.data()},
                                       ReadBox{o1, bad, x.data()}};
  EXPECT_EQ(ReadRegions(store, "p", m, out_of_range).code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ArrayIoTest, HugeClaimedChunkCountFailsAtFirstMissingChunk) {
  // A metadata file claims 2^53 elements in 3-element chunks; only chunk 0
  // exists.  A 1 MiB box over it reads chunks in order and stops at the
  // first missing one (nothing is listed per chunk up front).
  CountingStore store;
  ArrayMetadata m =
      MakeOrbaxArrayMetadata({int64_t{1} << 53}, DataType::kUint8, {3});
  const uint8_t head[3] = {1, 2, 3};
  ASSERT_TRUE(WriteRegion(store, "x", m, {0}, {3}, head).ok());
  store.Reset();
  std::vector<uint8_t> out(1 << 20);
  ReadRegionOptions strict;
  strict.fail_on_missing_chunks = true;
  strict.max_parallelism = 1;
  absl::Status st =
      ReadRegion(store, "x", m, {0}, {1 << 20}, out.data(), strict);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(st.message()), HasSubstr("\"x/c/1\" is missing"));
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[2], 3);
  std::map<std::string, int> want = {{"x/c/0", 1}, {"x/c/1", 1}};
  EXPECT_EQ(store.reads(), want);
}

TEST(ArrayIoTest, MissingChunks) {
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({4}, DataType::kFloat32, {2});
  float out[4] = {1, 1, 1, 1};
  ASSERT_TRUE(ReadRegion(store, "x", m, {0}, {4}, out).ok());
  EXPECT_EQ(out[3], 0.0f);
  ReadRegionOptions opts;
  opts.fail_on_missing_chunks = true;
  auto s = ReadRegion(store, "x", m, {0}, {4}, out, opts);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("x/c/0"));
}

TEST(ArrayIoTest, ZeroDimAndEmptyArrays) {
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({}, DataType::kInt64, {});
  int64_t v = 42;
  ASSERT_TRUE(WriteRegion(store, "s", m, {}, {}, &v).ok());
  EXPECT_THAT(Keys(store), UnorderedElementsAre("s/c"));
  int64_t back = 0;
  ASSERT_TRUE(ReadRegion(store, "s", m, {}, {}, &back).ok());
  EXPECT_EQ(back, 42);

  MemoryChunkStore empty;
  ArrayMetadata e = MakeOrbaxArrayMetadata({0, 5}, DataType::kFloat32, {1, 5});
  ASSERT_TRUE(WriteRegion(empty, "e", e, {0, 0}, {0, 5}, nullptr).ok());
  EXPECT_TRUE(empty.Contents().empty());
}

TEST(ArrayIoTest, CorruptChunkErrorNamesKey) {
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({4}, DataType::kFloat32, {4});
  float a[4] = {1, 2, 3, 4};
  ASSERT_TRUE(WriteRegion(store, "w", m, {0}, {4}, a).ok());
  std::string v = *store.Read("w/c/0").value();
  v.back() ^= 1;
  ASSERT_TRUE(store.Write("w/c/0", v).ok());
  auto s = ReadRegion(store, "w", m, {0}, {4}, a);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("w/c/0"));
}

TEST(ArrayIoTest, OutOfBoundsBox) {
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({4}, DataType::kFloat32, {4});
  float a[4];
  EXPECT_EQ(ReadRegion(store, "w", m, {2}, {3}, a).code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ReadRegion(store, "w", m, {0, 0}, {1, 1}, a).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FileChunkStoreTest, ReadWriteDelete) {
  const std::string dir = internal_testing::MakeTestTempDir("ocpx_fcs");
  ASSERT_NE(dir, "");
  FileChunkStore store(dir);
  EXPECT_FALSE(store.Read("a/c/0").value().has_value());
  ASSERT_TRUE(store.Write("a/c/0", "xyz").ok());
  EXPECT_EQ(*store.Read("a/c/0").value(), "xyz");
  ASSERT_TRUE(store.Write("a/c/0", "").ok());
  EXPECT_EQ(*store.Read("a/c/0").value(), "");
  ASSERT_TRUE(store.Delete("a/c/0").ok());
  ASSERT_TRUE(store.Delete("a/c/0").ok());
  EXPECT_FALSE(store.Read("a/c/0").value().has_value());
  EXPECT_FALSE(store.Write("../x", "").ok());
  EXPECT_FALSE(store.Write("a//x", "").ok());
  // A full array through the file store.
  ArrayMetadata m = MakeOrbaxArrayMetadata({3, 3}, DataType::kUint16, {2, 2});
  std::vector<uint16_t> d(9);
  std::iota(d.begin(), d.end(), 10);
  ASSERT_TRUE(WriteArrayMetadata(store, "arr", m).ok());
  ASSERT_TRUE(WriteRegion(store, "arr", m, {0, 0}, {3, 3}, d.data()).ok());
  std::vector<uint16_t> back(9);
  ASSERT_TRUE(ReadRegion(store, "arr", m, {0, 0}, {3, 3}, back.data()).ok());
  EXPECT_EQ(back, d);
}

TEST(ArrayIoTest, LimiterBoundsBytesInFlight) {
  // 64 chunks of 8x8 int32 (256 bytes each); 4 workers + caller.  Direct
  // chunks reserve 256 bytes, staged ones 512.
  ThreadPool pool(4);
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({64, 64}, DataType::kInt32, {8, 8});
  std::vector<int32_t> a(64 * 64);
  std::iota(a.begin(), a.end(), 0);
  ByteLimiter limiter(3 * 256);
  WriteRegionOptions wo;
  wo.pool = &pool;
  wo.limiter = &limiter;
  ASSERT_TRUE(WriteRegion(store, "", m, {0, 0}, {64, 64}, a.data(), wo).ok());
  EXPECT_LE(limiter.peak(), 3u * 256);
  EXPECT_GE(limiter.peak(), 512u);  // each staged chunk reserves 2 x 256
  EXPECT_EQ(limiter.in_use(), 0u);

  limiter.ResetPeak();
  ReadRegionOptions ro;
  ro.pool = &pool;
  ro.limiter = &limiter;
  std::vector<int32_t> back(64 * 64, -1);
  ASSERT_TRUE(ReadRegion(store, "", m, {0, 0}, {64, 64}, back.data(), ro).ok());
  EXPECT_EQ(back, a);
  EXPECT_LE(limiter.peak(), 3u * 256);
  EXPECT_GE(limiter.peak(), 512u);
  EXPECT_EQ(limiter.in_use(), 0u);

  // A straddling box: partial chunks are read, merged and re-encoded.
  limiter.ResetPeak();
  std::vector<int32_t> box(20 * 30, 7);
  ASSERT_TRUE(WriteRegion(store, "", m, {3, 5}, {20, 30}, box.data(), wo).ok());
  EXPECT_LE(limiter.peak(), 3u * 256);
  std::vector<int32_t> box_back(20 * 30, 0);
  ASSERT_TRUE(
      ReadRegion(store, "", m, {3, 5}, {20, 30}, box_back.data(), ro).ok());
  EXPECT_EQ(box_back, box);
  EXPECT_EQ(limiter.in_use(), 0u);
}

TEST(ArrayIoTest, ChunkLargerThanLimitRunsAlone) {
  ThreadPool pool(4);
  MemoryChunkStore store;
  ArrayMetadata m = MakeOrbaxArrayMetadata({32, 32}, DataType::kFloat32,
                                           {8, 32});  // contiguous chunks
  std::vector<float> a(32 * 32);
  std::iota(a.begin(), a.end(), 0.5f);
  ByteLimiter limiter(100);  // less than one 1 KiB chunk
  WriteRegionOptions wo;
  wo.pool = &pool;
  wo.limiter = &limiter;
  ASSERT_TRUE(WriteRegion(store, "", m, {0, 0}, {32, 32}, a.data(), wo).ok());
  EXPECT_EQ(limiter.peak(), 8u * 32 * 4);
  ReadRegionOptions ro;
  ro.pool = &pool;
  ro.limiter = &limiter;
  std::vector<float> back(32 * 32);
  ASSERT_TRUE(ReadRegion(store, "", m, {0, 0}, {32, 32}, back.data(), ro).ok());
  EXPECT_EQ(back, a);
  EXPECT_EQ(limiter.peak(), 8u * 32 * 4);
}

// A zarr v2 array: `.zarray` plus `i.j` chunk keys, read back exactly.
TEST(ArrayIoTest, Zarr2ArrayRoundTrip) {
  MemoryChunkStore store;
  ArrayMetadata m =
      MakeOrbaxZarr2ArrayMetadata({5, 7}, DataType::kInt32, {2, 3}, 1);
  std::vector<int32_t> a(35);
  std::iota(a.begin(), a.end(), -3);
  ASSERT_TRUE(WriteArrayMetadata(store, "p", m).ok());
  ASSERT_TRUE(WriteRegion(store, "p", m, {0, 0}, {5, 7}, a.data()).ok());
  EXPECT_THAT(Keys(store), UnorderedElementsAre(
                               "p/.zarray", "p/0.0", "p/0.1", "p/0.2", "p/1.0",
                               "p/1.1", "p/1.2", "p/2.0", "p/2.1", "p/2.2"));
  auto text = store.Read("p/.zarray");
  ASSERT_TRUE(text.ok() && text->has_value());
  auto m2 = ParseZarr2ArrayMetadata(**text);
  ASSERT_TRUE(m2.ok()) << m2.status();
  std::vector<int32_t> out(35, 0);
  ASSERT_TRUE(ReadRegion(store, "p", *m2, {0, 0}, {5, 7}, out.data()).ok());
  EXPECT_EQ(out, a);
}

TEST(ArrayIoTest, MetadataKeyValidationAndAnyFormatParse) {
  for (const char* ok :
       {"custom_zarray", ".zarray2", "meta.json", "0a", "c0"}) {
    EXPECT_TRUE(ValidateMetadataKey(ok).ok()) << ok;
  }
  for (const char* bad :
       {"", ".", "..", "a/b", "a\\b", "c", "0", "12.3", "0.0.1"}) {
    EXPECT_EQ(ValidateMetadataKey(bad).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ValidateMetadataKey(absl::string_view("a\0b", 3)).code(),
            absl::StatusCode::kInvalidArgument);
  ArrayMetadata v3 = MakeOrbaxArrayMetadata({6}, DataType::kInt16, {3});
  ArrayMetadata v2 = MakeOrbaxZarr2ArrayMetadata({6}, DataType::kInt16, {3}, 1);
  auto p3 = ParseAnyArrayMetadata(SerializeArrayMetadata(v3));
  ASSERT_TRUE(p3.ok()) << p3.status();
  EXPECT_EQ(p3->zarr_format, 3);
  auto v2_text = SerializeZarr2ArrayMetadata(v2);
  ASSERT_TRUE(v2_text.ok());
  auto p2 = ParseAnyArrayMetadata(*v2_text);
  ASSERT_TRUE(p2.ok()) << p2.status();
  EXPECT_EQ(p2->zarr_format, 2);
  EXPECT_EQ(p2->shape, v2.shape);
  for (const char* bad :
       {"", "[", "{}", "{\"zarr_format\": 2}", "{\"zarr_format\": 7}"}) {
    EXPECT_EQ(ParseAnyArrayMetadata(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  MemoryChunkStore store;
  ASSERT_TRUE(WriteArrayMetadata(store, "p", v2, "custom").ok());
  EXPECT_THAT(Keys(store), UnorderedElementsAre("p/custom"));
  EXPECT_EQ(WriteArrayMetadata(store, "p", v2, "x/y").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace internal_zarr
}  // namespace ocpx

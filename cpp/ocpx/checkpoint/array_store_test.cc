// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/checkpoint/array_store.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/array/zarr2_metadata.h"
#include "cpp/ocpx/base/byte_limiter.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_checkpoint {

using ::ocpx::internal::ByteLimiter;
using ::ocpx::internal_ocdbt::OcdbtMerge;
using ::ocpx::internal_zarr::ArrayMetadata;
using ::ocpx::internal_zarr::MakeOrbaxArrayMetadata;

namespace {

std::string TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "ocpx_array_store_XXXXXX")
          .string();
  char* d = mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return d;
}

class ArrayStoreTest : public ::testing::TestWithParam<bool> {};

TEST_P(ArrayStoreTest, WriteCommitReadAnyBox) {
  const bool use_ocdbt = GetParam();
  const std::string dir = TempDir();
  const std::string db = use_ocdbt ? dir + "/ocdbt.process_0" : dir;
  std::vector<int32_t> data(8 * 6);
  std::iota(data.begin(), data.end(), 0);
  ArrayMetadata md = MakeOrbaxArrayMetadata({8, 6}, DataType::kInt32, {4, 3});
  {
    CheckpointArrayWriterOptions o;
    o.use_ocdbt = use_ocdbt;
    auto w = CheckpointArrayWriter::Open(db, o);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->WriteMetadata("p.x", md).ok());
    // Two shards: rows 0..3 and 4..7.
    ASSERT_TRUE((*w)->Write("p.x", md, {0, 0}, {4, 6}, data.data()).ok());
    ASSERT_TRUE((*w)->Write("p.x", md, {4, 0}, {4, 6}, data.data() + 24).ok());
    ASSERT_TRUE((*w)->Commit().ok());
    EXPECT_FALSE((*w)->Commit().ok());
  }
  if (use_ocdbt) {
    auto merged = OcdbtMerge(dir, {"ocdbt.process_0"});
    ASSERT_TRUE(merged.ok()) << merged.status();
  }
  auto r = CheckpointArrayReader::Open(dir, use_ocdbt);
  ASSERT_TRUE(r.ok()) << r.status();
  auto params = (*r)->ListParams();
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(*params, std::vector<std::string>{"p.x"});
  std::vector<int32_t> box(3 * 4);
  ASSERT_TRUE((*r)->Read("p.x", {3, 1}, {3, 4}, box.data(), true).ok());
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(box[i * 4 + j], (3 + i) * 6 + (1 + j));
    }
  }
  auto missing = (*r)->Metadata("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_P(ArrayStoreTest, SharedLimiterBoundsConcurrentWritesAndReads) {
  const bool use_ocdbt = GetParam();
  const std::string dir = TempDir();
  const std::string db = use_ocdbt ? dir + "/ocdbt.process_0" : dir;
  // 64 chunks of 8x8 int32 (256 bytes); whole-row bands are staged (512
  // bytes reserved per chunk).  Limit: three chunks' worth.
  std::vector<int32_t> data(64 * 64);
  std::iota(data.begin(), data.end(), 0);
  ArrayMetadata md = MakeOrbaxArrayMetadata({64, 64}, DataType::kInt32, {8, 8});
  auto limiter = std::make_shared<ByteLimiter>(3 * 256);
  {
    CheckpointArrayWriterOptions o;
    o.use_ocdbt = use_ocdbt;
    o.limiter = limiter;
    auto w = CheckpointArrayWriter::Open(db, o);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->WriteMetadata("a", md).ok());
    // Four shards written concurrently through the same limiter.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        EXPECT_TRUE((*w)->Write("a", md, {16 * t, 0}, {16, 64},
                                data.data() + 16 * 64 * t)
                        .ok());
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_LE(limiter->peak(), 3u * 256);
  EXPECT_GE(limiter->peak(), 512u);
  EXPECT_EQ(limiter->in_use(), 0u);
  if (use_ocdbt) {
    auto merged = OcdbtMerge(dir, {"ocdbt.process_0"});
    ASSERT_TRUE(merged.ok()) << merged.status();
  }
  auto r = CheckpointArrayReader::Open(dir, use_ocdbt);
  ASSERT_TRUE(r.ok()) << r.status();
  ByteLimiter read_limiter(2 * 256);
  std::vector<int32_t> back(64 * 64, -1);
  ASSERT_TRUE(
      (*r)->Read("a", {0, 0}, {64, 64}, back.data(), true, &read_limiter).ok());
  EXPECT_EQ(back, data);
  EXPECT_LE(read_limiter.peak(), 2u * 256);
  EXPECT_GE(read_limiter.peak(), 512u);
  std::filesystem::remove_all(dir);
}

TEST_P(ArrayStoreTest, CustomMetadataKeyWrittenAndFoundOnlyWhenAsked) {
  const bool use_ocdbt = GetParam();
  const std::string dir = TempDir();
  ArrayMetadata v3 = MakeOrbaxArrayMetadata({4}, DataType::kInt32, {2});
  ArrayMetadata v2 = internal_zarr::MakeOrbaxZarr2ArrayMetadata(
      {3}, DataType::kFloat32, {3}, 1);
  int32_t a[4] = {1, 2, 3, 4};
  float b[3] = {0.5f, 1.5f, 2.5f};
  {
    CheckpointArrayWriterOptions o;
    o.use_ocdbt = use_ocdbt;
    auto w = CheckpointArrayWriter::Open(dir, o);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->WriteMetadata("a", v3, "custom_zarray").ok());
    ASSERT_TRUE((*w)->WriteMetadata("b", v2, "custom_zarray").ok());
    ASSERT_TRUE((*w)->Write("a", v3, {0}, {4}, a).ok());
    ASSERT_TRUE((*w)->Write("b", v2, {0}, {3}, b).ok());
    for (const char* bad : {".", "..", "x/y", "c", "0", "1.2"}) {
      absl::Status s = (*w)->WriteMetadata("z", v3, bad);
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    }
    ASSERT_TRUE((*w)->Commit().ok());
  }
  if (!use_ocdbt) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/a/custom_zarray"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/a/zarr.json"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/b/custom_zarray"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/b/.zarray"));
  }
  {
    // Without the key the arrays are not there, and the error says which
    // names were tried.
    auto r = CheckpointArrayReader::Open(dir, use_ocdbt);
    ASSERT_TRUE(r.ok()) << r.status();
    auto md = (*r)->Metadata("a");
    EXPECT_EQ(md.status().code(), absl::StatusCode::kNotFound);
    EXPECT_NE(md.status().message().find("zarr.json or .zarray"),
              std::string::npos);
    EXPECT_TRUE((*r)->ListParams()->empty());
  }
  auto r = CheckpointArrayReader::Open(dir, use_ocdbt, {"custom_zarray"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*(*r)->ListParams(), (std::vector<std::string>{"a", "b"}));
  auto ma = (*r)->Metadata("a");
  ASSERT_TRUE(ma.ok()) << ma.status();
  EXPECT_EQ(ma->zarr_format, 3);
  auto mb = (*r)->Metadata("b");
  ASSERT_TRUE(mb.ok()) << mb.status();
  EXPECT_EQ(mb->zarr_format, 2);
  int32_t out_a[4];
  ASSERT_TRUE((*r)->Read("a", {0}, {4}, out_a, true).ok());
  EXPECT_EQ(std::vector<int32_t>(out_a, out_a + 4),
            std::vector<int32_t>(a, a + 4));
  float out_b[3];
  ASSERT_TRUE((*r)->Read("b", {0}, {3}, out_b, true).ok());
  EXPECT_EQ(std::vector<float>(out_b, out_b + 3), std::vector<float>(b, b + 3));
  EXPECT_EQ(
      CheckpointArrayReader::Open(dir, use_ocdbt, {"../x"}).status().code(),
      absl::StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, ArrayStoreTest, ::testing::Bool());

TEST(ArrayStoreErrors, MissingDatabaseIsNotFound) {
  const std::string dir = TempDir();
  auto r = CheckpointArrayReader::Open(dir, /*use_ocdbt=*/true);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(dir), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ArrayStoreTest, PartialChunkWritesMergeWithinOneTransaction) {
  const std::string dir = TempDir();
  ArrayMetadata md = MakeOrbaxArrayMetadata({4}, DataType::kInt32, {4});
  {
    auto w = CheckpointArrayWriter::Open(dir, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->WriteMetadata("x", md).ok());
    int32_t a[2] = {1, 2};
    int32_t b[2] = {3, 4};
    ASSERT_TRUE((*w)->Write("x", md, {0}, {2}, a).ok());
    ASSERT_TRUE((*w)->Write("x", md, {2}, {2}, b).ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  auto r = CheckpointArrayReader::Open(dir, true);
  ASSERT_TRUE(r.ok()) << r.status();
  int32_t out[4];
  ASSERT_TRUE((*r)->Read("x", {0}, {4}, out, true).ok());
  EXPECT_EQ(std::vector<int32_t>(out, out + 4),
            (std::vector<int32_t>{1, 2, 3, 4}));
  std::filesystem::remove_all(dir);
}

TEST_P(ArrayStoreTest, WriteManyWritesEveryBoxAndReportsTheFirstError) {
  const bool use_ocdbt = GetParam();
  const std::string dir = TempDir();
  const std::string db = use_ocdbt ? dir + "/ocdbt.process_0" : dir;
  // 300 small arrays (one box each) and one written in two boxes.
  constexpr int kArrays = 300;
  std::vector<ArrayMetadata> mds;
  std::vector<std::vector<int32_t>> values;
  for (int a = 0; a < kArrays; ++a) {
    const int64_t n = 1 + a % 17;
    mds.push_back(MakeOrbaxArrayMetadata({n}, DataType::kInt32, {n}));
    values.emplace_back(n);
    std::iota(values.back().begin(), values.back().end(), a * 100);
  }
  ArrayMetadata split = MakeOrbaxArrayMetadata({8}, DataType::kInt32, {4});
  std::vector<int32_t> split_data(8);
  std::iota(split_data.begin(), split_data.end(), -8);
  {
    CheckpointArrayWriterOptions o;
    o.use_ocdbt = use_ocdbt;
    auto w = CheckpointArrayWriter::Open(db, o);
    ASSERT_TRUE(w.ok()) << w.status();
    std::vector<CheckpointArrayWriter::MetadataRequest> mreqs;
    std::vector<CheckpointArrayWriter::WriteRequest> wreqs;
    for (int a = 0; a < kArrays; ++a) {
      const std::string name = "a" + std::to_string(a);
      mreqs.push_back({name, mds[a], ""});
      wreqs.push_back({name, &mds[a], {0}, mds[a].shape, values[a].data()});
    }
    mreqs.push_back({"split", split, ""});
    wreqs.push_back({"split", &split, {4}, {4}, split_data.data() + 4});
    wreqs.push_back({"split", &split, {0}, {4}, split_data.data()});
    ASSERT_TRUE((*w)->WriteMetadataMany(mreqs).ok());
    ASSERT_TRUE((*w)->WriteMany(wreqs).ok());
    // Errors: the first bad request in order is reported, naming its array.
    std::vector<CheckpointArrayWriter::WriteRequest> bad = {
        {"a0", &mds[0], {0}, mds[0].shape, values[0].data()},
        {"bad1", &split, {6}, {4}, split_data.data()},  // outside the array
        {"bad2", &split, {9}, {1}, split_data.data()}};
    absl::Status s = (*w)->WriteMany(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
    EXPECT_NE(s.message().find("bad1"), std::string::npos) << s;
    bad[1].metadata = nullptr;
    s = (*w)->WriteMany(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("bad1"), std::string::npos) << s;
    ASSERT_TRUE((*w)->Commit().ok());
  }
  if (use_ocdbt) {
    ASSERT_TRUE(OcdbtMerge(dir, {"ocdbt.process_0"}).ok());
  }
  auto r = CheckpointArrayReader::Open(dir, use_ocdbt);
  ASSERT_TRUE(r.ok()) << r.status();
  for (int a = 0; a < kArrays; ++a) {
    std::vector<int32_t> out(values[a].size());
    ASSERT_TRUE(
        (*r)->Read("a" + std::to_string(a), {0}, mds[a].shape, out.data(), true)
            .ok());
    EXPECT_EQ(out, values[a]) << a;
  }
  std::vector<int32_t> out(8);
  ASSERT_TRUE((*r)->Read("split", {0}, {8}, out.data(), true).ok());
  EXPECT_EQ(out, split_data);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace internal_checkpoint
}  // namespace ocpx

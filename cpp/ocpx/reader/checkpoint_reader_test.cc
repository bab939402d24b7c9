// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "ocpx/checkpoint_reader.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/base/test_temp_dir.h"
#include "cpp/ocpx/checkpoint/array_store.h"
#include "cpp/ocpx/kvstore/ocdbt_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ocpx {

using ::ocpx::internal_checkpoint::CheckpointArrayWriter;
using ::ocpx::internal_checkpoint::CheckpointArrayWriterOptions;
using ::ocpx::internal_ocdbt::OcdbtMerge;
using ::ocpx::internal_zarr::ArrayMetadata;
using ::ocpx::internal_zarr::MakeOrbaxArrayMetadata;

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempDir() {
  std::string d = internal_testing::MakeTestTempDir("ocpx_reader");
  EXPECT_NE(d, "");
  return d;
}

void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

constexpr char kTreeMetadata[] =
    R"j({"tree_metadata": {)j"
    R"j("('params', 'w')": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array", "skip_deserialize": false, "write_shape": [4, 6]}}, )j"
    R"j("('params', 'b')": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "b", "key_type": 2}], "value_metadata": {"value_type": "np.ndarray", "skip_deserialize": false}}, )j"
    R"j("('lst', '10')": {"key_metadata": [{"key": "lst", "key_type": 2}, {"key": "10", "key_type": 1}], "value_metadata": {"value_type": "string", "skip_deserialize": false}}, )j"
    R"j("('lst', '2')": {"key_metadata": [{"key": "lst", "key_type": 2}, {"key": "2", "key_type": 1}], "value_metadata": {"value_type": "scalar", "skip_deserialize": false}}, )j"
    R"j("('none',)": {"key_metadata": [{"key": "none", "key_type": 2}], "value_metadata": {"value_type": "None", "skip_deserialize": true}}}, )j"
    R"("use_ocdbt": true, "use_zarr3": true, "store_array_data_equal_to_fill_value": true, "custom_metadata": null})";

// Writes a v1 checkpoint `<root>/<name>` like ocpx/Orbax: arrays into
// ocdbt.process_0 merged into the checkpointable's root database, plus
// handwritten metadata files.  Returns the checkpoint path.
std::string WriteCheckpoint(const std::string& root, bool v1,
                            const std::vector<std::string>& names,
                            bool with_tree_metadata = true) {
  const fs::path ckpt = fs::path(root) / "ckpt";
  for (const std::string& name : names) {
    const fs::path dir = ckpt / name;
    auto w = CheckpointArrayWriter::Open((dir / "ocdbt.process_0").string(),
                                         CheckpointArrayWriterOptions{});
    EXPECT_TRUE(w.ok()) << w.status();
    std::vector<float> wdata(8 * 6);
    std::iota(wdata.begin(), wdata.end(), 0.5f);
    ArrayMetadata wmd =
        MakeOrbaxArrayMetadata({8, 6}, DataType::kFloat32, {4, 6});
    EXPECT_TRUE((*w)->WriteMetadata("params.w", wmd).ok());
    EXPECT_TRUE(
        (*w)->Write("params.w", wmd, {0, 0}, {8, 6}, wdata.data()).ok());
    std::vector<int32_t> bdata = {-3, -2, -1, 0, 1};
    ArrayMetadata bmd = MakeOrbaxArrayMetadata({5}, DataType::kInt32, {5});
    EXPECT_TRUE((*w)->WriteMetadata("params.b", bmd).ok());
    EXPECT_TRUE((*w)->Write("params.b", bmd, {0}, {5}, bdata.data()).ok());
    double scalar = 2.25;
    ArrayMetadata smd = MakeOrbaxArrayMetadata({}, DataType::kFloat64, {});
    EXPECT_TRUE((*w)->WriteMetadata("lst.2", smd).ok());
    EXPECT_TRUE((*w)->Write("lst.2", smd, {}, {}, &scalar).ok());
    EXPECT_TRUE((*w)->Commit().ok());
    auto merged = OcdbtMerge(dir.string(), {"ocdbt.process_0"});
    EXPECT_TRUE(merged.ok()) << merged.status();
    if (with_tree_metadata) WriteText(dir / "_METADATA", kTreeMetadata);
    WriteText(dir / "_strings.json", R"({"lst.10":"hello"})");
    // base64url("params.w") = cGFyYW1zLnc=
    WriteText(
        dir / "_sharding",
        R"({"cGFyYW1zLnc=":"{\"sharding_type\": \"SingleDeviceSharding\", \"device_str\": \"cpu:0\"}"})");
  }
  WriteText(
      ckpt / "_CHECKPOINT_METADATA",
      R"({"item_handlers": {"state": "x.PyTreeHandler"}, "metrics": {}, "performance_metrics": {}, "init_timestamp_nsecs": 1795581694018002176, "commit_timestamp_nsecs": 1795581694597940078, "custom_metadata": {"run": 7}})");
  if (v1) WriteText(ckpt / "orbax.checkpoint", "");
  return ckpt.string();
}

TEST(CheckpointReaderTest, V1LeavesMetadataAndReads) {
  const std::string ckpt = WriteCheckpoint(TempDir(), true, {"state"});
  auto r = CheckpointReader::Open(ckpt);
  ASSERT_TRUE(r.ok()) << r.status();
  const CheckpointReader& reader = **r;
  EXPECT_EQ(reader.checkpointable(), "state");
  EXPECT_EQ(reader.layout(), CheckpointLayout::kV1);
  EXPECT_FALSE(reader.metadata_inferred());
  EXPECT_TRUE(reader.use_ocdbt());
  std::vector<std::string> names;
  for (const auto& l : reader.leaves()) names.push_back(l.name);
  // Sequence indices sort numerically ("2" before "10").
  EXPECT_THAT(names,
              ElementsAre("lst.2", "lst.10", "none", "params.b", "params.w"));

  ASSERT_TRUE(reader.step_metadata().has_value());
  EXPECT_EQ(*reader.step_metadata()->init_timestamp_nsecs, 1795581694018002176);
  EXPECT_EQ(
      nlohmann::json::parse(reader.step_metadata()->custom_metadata)["run"], 7);
  EXPECT_EQ(
      nlohmann::json::parse(reader.step_metadata()->item_handlers)["state"],
      "x.PyTreeHandler");

  auto w = reader.Leaf("params.w");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->kind, LeafKind::kArray);
  EXPECT_EQ((*w)->value_type, "jax.Array");
  EXPECT_THAT((*w)->shape, ElementsAre(8, 6));
  EXPECT_THAT((*w)->chunk_shape, ElementsAre(4, 6));
  EXPECT_EQ((*w)->dtype, DataType::kFloat32);
  EXPECT_THAT(*(*w)->write_shape, ElementsAre(4, 6));
  ASSERT_TRUE((*w)->sharding.has_value());
  EXPECT_THAT(*(*w)->sharding, HasSubstr("SingleDeviceSharding"));
  EXPECT_EQ((*w)->num_bytes(), 8u * 6u * 4u);
  EXPECT_EQ((*reader.Leaf("none"))->kind, LeafKind::kEmpty);

  std::vector<float> all(48);
  ASSERT_TRUE(reader.Read("params.w", all.data(), all.size() * 4).ok());
  for (int i = 0; i < 48; ++i) EXPECT_EQ(all[i], i + 0.5f);
  auto box = reader.ReadBox("params.w", {3, 2}, {2, 3});
  ASSERT_TRUE(box.ok()) << box.status();
  EXPECT_EQ(box->data_as<float>()[0], 3 * 6 + 2 + 0.5f);
  EXPECT_EQ(box->data_as<float>()[5], 4 * 6 + 4 + 0.5f);

  auto b = reader.Read("params.b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data_as<int32_t>()[0], -3);
  EXPECT_EQ(ElementToDouble(b->dtype, b->bytes.data() + 16), 1.0);
  auto s = reader.ReadScalar("lst.2");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, 2.25);
  auto str = reader.ReadString("lst.10");
  ASSERT_TRUE(str.ok()) << str.status();
  EXPECT_EQ(*str, "hello");

  // Errors name the checkpoint and the leaf.
  auto missing = reader.Read("params.zz");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("params.zz"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(ckpt));
  EXPECT_FALSE(reader.Read("lst.10").ok());
  EXPECT_FALSE(reader.ReadBox("params.w", {7, 0}, {2, 6}).ok());
  EXPECT_FALSE(reader.Read("params.w", all.data(), 10).ok());

  // Many boxes, of several leaves, in one call.
  std::vector<float> top(12), bottom(12);
  std::vector<int32_t> bias(5);
  std::vector<BoxRead> reads = {
      {"params.w", {0, 0}, {2, 6}, top.data(), top.size() * 4},
      {"params.b", {0}, {5}, bias.data(), bias.size() * 4},
      {"params.w", {6, 0}, {2, 6}, bottom.data(), bottom.size() * 4},
  };
  ASSERT_TRUE(reader.ReadMany(reads).ok());
  EXPECT_EQ(top[7], 7.5f);
  EXPECT_EQ(bottom[0], 36.5f);
  EXPECT_EQ(bias[0], -3);
  // One invalid box fails the call, naming its leaf, before any read.
  reads[1].shape = {6};
  auto bad_many = reader.ReadMany(reads);
  EXPECT_FALSE(bad_many.ok());
  EXPECT_THAT(std::string(bad_many.message()), HasSubstr("params.b"));
}

TEST(CheckpointReaderTest, ConcurrentReads) {
  const std::string ckpt = WriteCheckpoint(TempDir(), true, {"state"});
  auto r = CheckpointReader::Open(ckpt);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto a = (*r)->ReadBox("params.w", {t % 8, 0}, {1, 6});
        if (a.ok() && a->data_as<float>()[0] == (t % 8) * 6 + 0.5f) ++ok[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 20);
}

TEST(CheckpointReaderTest, AutoResolution) {
  // v0 composite: no indicator file; AUTO takes the first sorted name.
  const std::string ckpt = WriteCheckpoint(TempDir(), false, {"zeta", "alpha"});
  auto r = CheckpointReader::Open(ckpt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->checkpointable(), "alpha");
  EXPECT_EQ((*r)->layout(), CheckpointLayout::kV0Composite);
  CheckpointReaderOptions o;
  o.checkpointable = "zeta";
  auto z = CheckpointReader::Open(ckpt, o);
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ((*z)->directory(), (fs::path(ckpt) / "zeta").string());
  o.checkpointable = "nope";
  auto n = CheckpointReader::Open(ckpt, o);
  // Orbax's InvalidLayoutError (a ValueError), naming the valid names.
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(n.status().message()), HasSubstr("'alpha'"));
  // An item directory and temporary directories are not checkpoints.
  EXPECT_FALSE(CheckpointReader::Open(ckpt + "/alpha").ok());
  const std::string tmp = ckpt + ".orbax-checkpoint-tmp";
  fs::create_directories(tmp);
  EXPECT_FALSE(CheckpointReader::Open(tmp).ok());
  EXPECT_EQ(CheckpointReader::Open(ckpt + "/absent").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckpointReaderTest, StateFirstAndMissingMetadataFallback) {
  const std::string ckpt =
      WriteCheckpoint(TempDir(), true, {"alpha", "state"}, false);
  auto r = CheckpointReader::Open(ckpt);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->checkpointable(), "state");
  EXPECT_TRUE((*r)->metadata_inferred());
  std::vector<std::string> names;
  for (const auto& l : (*r)->leaves()) names.push_back(l.name);
  EXPECT_THAT(names, ElementsAre("lst.2", "params.b", "params.w"));
  EXPECT_EQ((*(*r)->Leaf("params.w"))->value_type, "jax.Array");
  EXPECT_EQ((*(*r)->Leaf("params.b"))->value_type, "np.ndarray");
  auto s = (*r)->ReadScalar("lst.2");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, 2.25);
}

TEST(CheckpointReaderTest, FlatPlainDirectoriesAndCorruption) {
  // v0 flat, use_ocdbt=false: zarr arrays as plain directories at the root.
  const fs::path ckpt = fs::path(TempDir()) / "flat";
  CheckpointArrayWriterOptions o;
  o.use_ocdbt = false;
  auto w = CheckpointArrayWriter::Open(ckpt.string(), o);
  ASSERT_TRUE(w.ok()) << w.status();
  std::vector<int64_t> data(100);
  std::iota(data.begin(), data.end(), -50);
  ArrayMetadata md = MakeOrbaxArrayMetadata({100}, DataType::kInt64, {50});
  ASSERT_TRUE((*w)->WriteMetadata("x", md).ok());
  ASSERT_TRUE((*w)->Write("x", md, {0}, {100}, data.data()).ok());
  ASSERT_TRUE((*w)->Commit().ok());
  WriteText(
      ckpt / "_METADATA",
      R"j({"tree_metadata": {"('x',)": {"key_metadata": [{"key": "x", "key_type": 2}], "value_metadata": {"value_type": "np.ndarray", "skip_deserialize": false}}}, "use_ocdbt": false, "use_zarr3": true})j");
  auto r = CheckpointReader::Open(ckpt.string());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->layout(), CheckpointLayout::kV0Flat);
  EXPECT_EQ((*r)->checkpointable(), "");
  EXPECT_FALSE((*r)->use_ocdbt());
  EXPECT_FALSE((*r)->step_metadata().has_value());
  auto a = (*r)->Read("x");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->data_as<int64_t>()[99], 49);

  // Flip a byte of the shard index (covered by its CRC-32C) of chunk 1.
  const fs::path chunk = ckpt / "x" / "c" / "1";
  ASSERT_TRUE(fs::exists(chunk));
  std::fstream f(chunk, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(-10, std::ios::end);
  char c;
  f.get(c);
  f.seekp(-10, std::ios::end);
  f.put(static_cast<char>(c ^ 0x5a));
  f.close();
  auto r2 = CheckpointReader::Open(ckpt.string());
  ASSERT_TRUE(r2.ok());
  auto bad = (*r2)->Read("x");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'x'"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("c/1"));
  // Chunk 0 still reads.
  EXPECT_TRUE((*r2)->ReadBox("x", {0}, {50}).ok());
}

fs::path FindFixtures() {
  if (const char* env = std::getenv("OCPX_ORBAX_FIXTURES")) return env;
  const fs::path rel =
      fs::path("shared") / "fixtures" / "orbax" / "v0_checkpoints";
  for (fs::path start : {fs::current_path(), fs::path(__FILE__)}) {
    if (!start.is_absolute()) continue;
    for (fs::path p = start; p.has_relative_path(); p = p.parent_path()) {
      std::error_code ec;
      if (fs::is_directory(p / rel, ec)) return p / rel;
      if (fs::is_directory(p / ".." / rel, ec)) return p / ".." / rel;
    }
  }
  return {};
}

TEST(CheckpointReaderTest, OrbaxFixtures) {
  const fs::path root = FindFixtures();
  if (root.empty()) GTEST_SKIP() << "Orbax fixtures not found";
  int opened = 0;
  for (const char* kind : {"direct_checkpoint", "composite_checkpoint"}) {
    std::vector<fs::path> cases;
    for (const char* group :
         {"checkpoint_metadata_present", "checkpoint_metadata_missing",
          "non_critical_metadata_alterations"}) {
      for (const auto& e : fs::directory_iterator(root / kind / group)) {
        cases.push_back(e.path());
      }
    }
    for (const fs::path& c : cases) {
      SCOPED_TRACE(c.string());
      auto r = CheckpointReader::Open(c.string());
      ASSERT_TRUE(r.ok()) << r.status();
      ++opened;
      EXPECT_EQ((*r)->layout(), std::string(kind) == "direct_checkpoint"
                                    ? CheckpointLayout::kV0Flat
                                    : CheckpointLayout::kV0Composite);
      std::vector<std::string> names;
      for (const auto& l : (*r)->leaves()) names.push_back(l.name);
      EXPECT_THAT(names, ElementsAre("a", "b.c"));
      auto a = (*r)->Read("a");
      ASSERT_TRUE(a.ok()) << a.status();
      ASSERT_EQ(a->dtype, DataType::kInt32);
      for (int i = 0; i < 8; ++i) EXPECT_EQ(a->data_as<int32_t>()[i], i);
      auto bc = (*r)->Read("b.c");
      ASSERT_TRUE(bc.ok()) << bc.status();
      EXPECT_THAT(std::vector<int32_t>(bc->data_as<int32_t>(),
                                       bc->data_as<int32_t>() + 3),
                  ElementsAre(1, 2, 3));
      if (fs::exists(c / "_CHECKPOINT_METADATA") &&
          c.filename() != "missing_custom_metadata_metadata") {
        ASSERT_TRUE((*r)->step_metadata().has_value());
        EXPECT_EQ(nlohmann::json::parse(
                      (*r)->step_metadata()->custom_metadata)["custom"],
                  "meta");
      }
    }
    // Data deliberately removed: opening or reading fails, naming the path.
    for (const auto& e : fs::directory_iterator(
             root / kind / "critical_metadata_alterations")) {
      SCOPED_TRACE(e.path().string());
      auto r = CheckpointReader::Open(e.path().string());
      absl::Status s = r.status();
      if (r.ok()) s = (*r)->Read("a").status();
      EXPECT_FALSE(s.ok());
      EXPECT_THAT(std::string(s.message()), HasSubstr(e.path().string()));
    }
  }
  EXPECT_GE(opened, 20);
}

}  // namespace
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Every C++ entry point that reads a checkpoint, fed malformed JSON (wrong
// types, missing members, garbage nested anywhere) and unreadable files
// (a directory where a file belongs, truncated or missing files, paths that
// cannot be resolved), must answer with a non-OK absl::Status: never an
// exception, never a crash.  The tests run as root, so permission bits
// cannot make a file unreadable; a directory in a file's place can.

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/array/zarr2_metadata.h"
#include "cpp/ocpx/base/test_temp_dir.h"
#include "cpp/ocpx/checkpoint/array_store.h"
#include "cpp/ocpx/kvstore/ocdbt_reader.h"
#include "cpp/ocpx/kvstore/ocdbt_writer.h"
#include "gtest/gtest.h"
#include "ocpx/checkpoint_reader.h"

namespace ocpx {

using ::ocpx::internal_checkpoint::CheckpointArrayReader;
using ::ocpx::internal_checkpoint::CheckpointArrayWriter;
using ::ocpx::internal_checkpoint::CheckpointArrayWriterOptions;
using ::ocpx::internal_ocdbt::KeyRange;
using ::ocpx::internal_ocdbt::OcdbtCommit;
using ::ocpx::internal_ocdbt::OcdbtMerge;
using ::ocpx::internal_ocdbt::OcdbtReader;
using ::ocpx::internal_zarr::ArrayMetadata;
using ::ocpx::internal_zarr::MakeOrbaxArrayMetadata;
using ::ocpx::internal_zarr::ParseArrayMetadata;
using ::ocpx::internal_zarr::ParseZarr2ArrayMetadata;
using ::ocpx::internal_zarr::SerializeArrayMetadata;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string TempDir() {
  std::string d = internal_testing::MakeTestTempDir("ocpx_malformed");
  EXPECT_NE(d, "");
  return d;
}

void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Values substituted for every member and element of a valid document.
std::vector<json> GarbageValues() {
  return {json(nullptr),
          json("garbage"),
          json(-1),
          json(uint64_t{18446744073709551615u}),
          json(1.5),
          json(true),
          json::array(),
          json::object(),
          json::array({json::array({"x", nullptr})}),
          json::object({{"a", json::object({{"b", json::array({1.5})}})}})};
}

// Calls `visit` with a copy of `doc` in which one node (a member, an
// element or the root) was replaced by one garbage value or removed; every
// node and every garbage value is tried.
void ForEachCorruption(
    const json& doc,
    const std::function<void(const json&, const std::string&)>& visit) {
  std::vector<json::json_pointer> pointers;
  std::function<void(const json&, const json::json_pointer&)> collect =
      [&](const json& node, const json::json_pointer& at) {
        pointers.push_back(at);
        if (node.is_object()) {
          for (auto it = node.begin(); it != node.end(); ++it) {
            collect(it.value(), at / it.key());
          }
        } else if (node.is_array()) {
          for (size_t i = 0; i < node.size(); ++i) collect(node[i], at / i);
        }
      };
  collect(doc, json::json_pointer());
  for (const auto& ptr : pointers) {
    for (const json& g : GarbageValues()) {
      json copy = doc;
      copy[ptr] = g;
      visit(copy, absl::StrCat(ptr.to_string(), " = ", g.dump()));
    }
    if (!ptr.empty()) {
      json copy = doc;
      copy.at(ptr.parent_pointer())
          .erase(copy.at(ptr.parent_pointer()).is_object()
                     ? copy.at(ptr.parent_pointer()).find(ptr.back())
                     : copy.at(ptr.parent_pointer()).begin() +
                           std::stoll(ptr.back()));
      visit(copy, absl::StrCat(ptr.to_string(), " removed"));
    }
  }
}

// Texts that are not the expected document at all.
std::vector<std::string> GarbageTexts() {
  return {"",          "{",
          "not json",  "[]",
          "null",      "42",
          "\"text\"",  "{}",
          "{\"a\":",   std::string(3000, '[') + std::string(3000, ']'),
          "\xff\xfe{}"};
}

constexpr char kTreeMetadata[] =
    R"j({"tree_metadata": {)j"
    R"j("('params', 'w')": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array", "skip_deserialize": false, "write_shape": [4, 6]}}, )j"
    R"j("('lst', '10')": {"key_metadata": [{"key": "lst", "key_type": 2}, {"key": "10", "key_type": 1}], "value_metadata": {"value_type": "string", "skip_deserialize": false}}, )j"
    R"j("('lst', '2')": {"key_metadata": [{"key": "lst", "key_type": 2}, {"key": "2", "key_type": 1}], "value_metadata": {"value_type": "scalar", "skip_deserialize": false}}}, )j"
    R"("use_ocdbt": USE_OCDBT, "use_zarr3": true, "store_array_data_equal_to_fill_value": true, "custom_metadata": null})";

constexpr char kStepMetadata[] =
    R"({"item_handlers": {"state": "x.PyTreeHandler"}, "metrics": {}, "performance_metrics": {}, "init_timestamp_nsecs": 1795581694018002176, "commit_timestamp_nsecs": 1795581694597940078, "custom_metadata": {"run": 7}})";

// A v1 checkpoint `<root>/ckpt` with the PyTree `state`: params.w (64x64
// float32), lst.2 (a float64 scalar) and lst.10 (a string).
std::string WriteCheckpoint(const std::string& root, bool use_ocdbt) {
  const fs::path ckpt = fs::path(root) / "ckpt";
  const fs::path dir = ckpt / "state";
  CheckpointArrayWriterOptions o;
  o.use_ocdbt = use_ocdbt;
  const fs::path array_dir = use_ocdbt ? dir / "ocdbt.process_0" : dir;
  auto w = CheckpointArrayWriter::Open(array_dir.string(), o);
  EXPECT_TRUE(w.ok()) << w.status();
  // Chunks of 8 KiB: OCDBT keeps them in data files, not inline.
  std::vector<float> wdata(64 * 64);
  for (size_t i = 0; i < wdata.size(); ++i) wdata[i] = 1.0f / (i + 1.5f);
  ArrayMetadata wmd =
      MakeOrbaxArrayMetadata({64, 64}, DataType::kFloat32, {32, 64});
  EXPECT_TRUE((*w)->WriteMetadata("params.w", wmd).ok());
  EXPECT_TRUE(
      (*w)->Write("params.w", wmd, {0, 0}, {64, 64}, wdata.data()).ok());
  double scalar = 2.25;
  ArrayMetadata smd = MakeOrbaxArrayMetadata({}, DataType::kFloat64, {});
  EXPECT_TRUE((*w)->WriteMetadata("lst.2", smd).ok());
  EXPECT_TRUE((*w)->Write("lst.2", smd, {}, {}, &scalar).ok());
  EXPECT_TRUE((*w)->Commit().ok());
  if (use_ocdbt) {
    auto merged = OcdbtMerge(dir.string(), {"ocdbt.process_0"});
    EXPECT_TRUE(merged.ok()) << merged.status();
  }
  std::string meta = kTreeMetadata;
  meta.replace(meta.find("USE_OCDBT"), 9, use_ocdbt ? "true" : "false");
  WriteText(dir / "_METADATA", meta);
  WriteText(dir / "_strings.json", R"({"lst.10":"hello"})");
  WriteText(dir / "_sharding", R"({"cGFyYW1zLnc=":"{}"})");
  WriteText(ckpt / "_CHECKPOINT_METADATA", kStepMetadata);
  WriteText(ckpt / "orbax.checkpoint", "");
  return ckpt.string();
}

// Opens `ckpt` and reads every leaf through every read entry point; returns
// the first error.  An exception escaping any of them fails the test.
absl::Status OpenAndReadAll(const std::string& ckpt) {
  try {
    auto r = CheckpointReader::Open(ckpt);
    if (!r.ok()) return r.status();
    const CheckpointReader& reader = **r;
    for (const LeafInfo& leaf : reader.leaves()) {
      if (leaf.kind == LeafKind::kString) {
        auto s = reader.ReadString(leaf.name);
        if (!s.ok()) return s.status();
      } else if (leaf.kind == LeafKind::kScalar) {
        auto v = reader.ReadScalar(leaf.name);
        if (!v.ok()) return v.status();
      } else if (leaf.kind == LeafKind::kArray) {
        auto a = reader.Read(leaf.name);
        if (!a.ok()) return a.status();
        std::vector<int64_t> origin(leaf.shape.size(), 0);
        std::vector<int64_t> box(leaf.shape.begin(), leaf.shape.end());
        for (auto& d : box) d = d > 1 ? d - 1 : d;
        auto b = reader.ReadBox(leaf.name, origin, box);
        if (!b.ok()) return b.status();
      }
    }
    return absl::OkStatus();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "exception escaped: " << e.what();
  } catch (...) {
    ADD_FAILURE() << "non-std exception escaped";
  }
  return absl::InternalError("threw");
}

class MalformedCheckpointTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ckpt_ = WriteCheckpoint(TempDir(), GetParam());
    ASSERT_TRUE(OpenAndReadAll(ckpt_).ok()) << OpenAndReadAll(ckpt_);
  }

  // Replaces `rel` with `text`, checks the reader, then restores it.
  void ExpectFails(const std::string& rel, const std::string& text,
                   const std::string& what, bool must_fail = true) {
    const fs::path p = fs::path(ckpt_) / rel;
    const std::string original = ReadText(p);
    WriteText(p, text);
    absl::Status s = OpenAndReadAll(ckpt_);
    if (must_fail) {
      EXPECT_FALSE(s.ok()) << rel << ": " << what << " was accepted";
    }
    WriteText(p, original);
  }

  // Replaces the file `rel` by an empty directory, checks, restores.
  void ExpectFailsWithDirectory(const std::string& rel) {
    const fs::path p = fs::path(ckpt_) / rel;
    const fs::path aside = p.string() + ".aside";
    fs::rename(p, aside);
    fs::create_directory(p);
    absl::Status s = OpenAndReadAll(ckpt_);
    EXPECT_FALSE(s.ok()) << rel << " as a directory was accepted";
    fs::remove(p);
    fs::rename(aside, p);
  }

  std::string ckpt_;
};

TEST_P(MalformedCheckpointTest, TreeMetadata) {
  for (const std::string& text : GarbageTexts()) {
    ExpectFails("state/_METADATA", text,
                absl::StrCat("text ", text.substr(0, 20)));
  }
  const json valid = json::parse(ReadText(fs::path(ckpt_) / "state/_METADATA"));
  // Garbage anywhere must not throw; where it breaks a leaf, Open fails.
  ForEachCorruption(valid, [&](const json& doc, const std::string& what) {
    ExpectFails("state/_METADATA", doc.dump(), what, /*must_fail=*/false);
  });
  const std::vector<std::string> must_fail = {
      R"({"tree_metadata": []})",
      R"({"tree_metadata": {"a": 1}})",
      R"({"tree_metadata": {"a": {"key_metadata": "k", "value_metadata": {}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [1], "value_metadata": {"value_type": "jax.Array"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "a", "key_type": "2"}], "value_metadata": {"value_type": "jax.Array"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "params"}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": 3}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array", "skip_deserialize": "no"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array", "write_shape": "4x6"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "jax.Array", "write_shape": [4, [6]]}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "params", "key_type": 2}, {"key": "w", "key_type": 2}], "value_metadata": {"value_type": "scalar"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "absent", "key_type": 2}], "value_metadata": {"value_type": "jax.Array"}}}})",
      R"({"tree_metadata": {"a": {"key_metadata": [{"key": "s", "key_type": 2}], "value_metadata": {"value_type": "string"}}}})",
  };
  for (const std::string& text : must_fail) {
    ExpectFails("state/_METADATA", text, text);
  }
  ExpectFailsWithDirectory("state/_METADATA");
}

TEST_P(MalformedCheckpointTest, StepMetadata) {
  for (const std::string& text : GarbageTexts()) {
    if (text == "{}") continue;  // an empty _CHECKPOINT_METADATA is valid
    ExpectFails("_CHECKPOINT_METADATA", text, text.substr(0, 20));
  }
  ForEachCorruption(json::parse(kStepMetadata),
                    [&](const json& doc, const std::string& what) {
                      ExpectFails("_CHECKPOINT_METADATA", doc.dump(), what,
                                  /*must_fail=*/false);
                    });
  ExpectFails("_CHECKPOINT_METADATA", R"({"init_timestamp_nsecs": "x"})", "ts");
  ExpectFails("_CHECKPOINT_METADATA", R"({"commit_timestamp_nsecs": 1.5})",
              "ts");
  ExpectFails("_CHECKPOINT_METADATA",
              R"({"custom_metadata": {"a": 1}, "unknown": 2})", "extra keys");
  ExpectFailsWithDirectory("_CHECKPOINT_METADATA");
}

TEST_P(MalformedCheckpointTest, StringsAndShardings) {
  for (const std::string& text : GarbageTexts()) {
    ExpectFails("state/_strings.json", text, text.substr(0, 20));
    // `_sharding` is advisory (Orbax ignores what it cannot read): no throw.
    ExpectFails("state/_sharding", text, text.substr(0, 20), false);
  }
  ExpectFails("state/_strings.json", R"({"other": "x"})", "missing leaf");
  ForEachCorruption(json::parse(R"({"cGFyYW1zLnc=":"{}"})"),
                    [&](const json& doc, const std::string& what) {
                      ExpectFails("state/_sharding", doc.dump(), what, false);
                    });
  ExpectFailsWithDirectory("state/_strings.json");
}

TEST_P(MalformedCheckpointTest, TruncatedAndMissingArrayFiles) {
  // Every file under the PyTree's array storage: truncated, emptied, or a
  // directory in its place.
  std::vector<fs::path> files;
  for (const auto& e :
       fs::recursive_directory_iterator(fs::path(ckpt_) / "state")) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.rfind("_", 0) == 0) continue;
    files.push_back(e.path());
  }
  ASSERT_FALSE(files.empty());
  int process_files_needed = 0;
  for (const fs::path& p : files) {
    const std::string rel = fs::relative(p, ckpt_).string();
    const std::string original = ReadText(p);
    // The merged database references only some of the process-local files
    // (its data files holding values, not its own manifest and B-tree): for
    // those every corruption must only not throw; one of them is needed.
    const bool process_local =
        rel.find("ocdbt.process_0/") != std::string::npos;
    if (process_local) {
      WriteText(p, "");
      process_files_needed += !OpenAndReadAll(ckpt_).ok();
      WriteText(p, original);
    }
    const bool used = !process_local;
    ExpectFails(rel, original.substr(0, original.size() / 2), "truncated",
                used && original.size() > 1);
    ExpectFails(rel, "", "emptied", used);
    ExpectFails(rel, std::string(original.size(), '\xa5'), "overwritten",
                false);
    if (used) ExpectFailsWithDirectory(rel);
  }
  if (GetParam()) EXPECT_GT(process_files_needed, 0);
}

TEST_P(MalformedCheckpointTest, ZarrMetadataFile) {
  const std::string rel = GetParam() ? "" : "state/params.w/zarr.json";
  if (rel.empty()) GTEST_SKIP() << "zarr.json lives inside the OCDBT database";
  for (const std::string& text : GarbageTexts()) {
    ExpectFails(rel, text, text.substr(0, 20));
  }
  ExpectFailsWithDirectory(rel);
}

TEST_P(MalformedCheckpointTest, PermissionDenied) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root reads files whatever their mode; the directory-in-"
                    "place-of-a-file cases cover unreadable files";
  }
  for (const std::string rel : {"state/_METADATA", "_CHECKPOINT_METADATA",
                                "state/_strings.json", "state", "state/d"}) {
    const fs::path p = fs::path(ckpt_) / rel;
    if (!fs::exists(p)) continue;
    const auto mode = fs::status(p).permissions();
    fs::permissions(p, fs::perms::none);
    EXPECT_FALSE(OpenAndReadAll(ckpt_).ok()) << rel << " with mode 000";
    fs::permissions(p, mode);
  }
}

INSTANTIATE_TEST_SUITE_P(OcdbtAndPlain, MalformedCheckpointTest,
                         ::testing::Bool(), [](const auto& info) {
                           return info.param ? "ocdbt" : "plain";
                         });

TEST(MalformedPathTest, UnresolvablePaths) {
  const std::string root = TempDir();
  WriteText(fs::path(root) / "file", "x");
  for (const std::string& path :
       {root + "/missing", root + "/file", root + "/file/below",
        std::string(5000, 'a'), root + "/" + std::string(300, 'b'),
        std::string("")}) {
    EXPECT_FALSE(OpenAndReadAll(path).ok()) << path.substr(0, 80);
    try {
      EXPECT_FALSE(CheckpointArrayReader::Open(path, false).ok());
      EXPECT_FALSE(CheckpointArrayReader::Open(path, true).ok());
      EXPECT_FALSE(OcdbtReader::Open(path).ok());
      EXPECT_FALSE(ReadStepMetadata(path + "/x").ok() &&
                   ReadStepMetadata(path + "/x")->has_value());
      EXPECT_FALSE(ResolvePytreeCheckpointable(path, "AUTO").ok());
    } catch (const std::exception& e) {
      ADD_FAILURE() << path.substr(0, 80)
                    << ": exception escaped: " << e.what();
    }
  }
  // A symlink loop where the checkpoint should be.
  const fs::path loop = fs::path(root) / "loop";
  fs::create_symlink(loop, loop);
  EXPECT_FALSE(OpenAndReadAll(loop.string()).ok());
}

TEST(MalformedOcdbtTest, ManifestCorruptions) {
  const std::string db = TempDir() + "/db";
  ASSERT_TRUE(
      OcdbtCommit(db, {{"k", "v"}, {"big", std::string(5000, 'x')}}, {}).ok());
  const fs::path manifest = fs::path(db) / "manifest.ocdbt";
  const std::string original = ReadText(manifest);
  auto open_and_list = [&]() -> absl::Status {
    try {
      auto r = OcdbtReader::Open(db);
      if (!r.ok()) return r.status();
      return (*r)->List(KeyRange{}, [](absl::string_view, absl::string_view) {
        return absl::OkStatus();
      });
    } catch (const std::exception& e) {
      ADD_FAILURE() << "exception escaped: " << e.what();
      return absl::InternalError("threw");
    }
  };
  ASSERT_TRUE(open_and_list().ok());
  for (size_t n = 0; n < original.size(); ++n) {
    WriteText(manifest, original.substr(0, n));
    EXPECT_FALSE(open_and_list().ok()) << "manifest truncated to " << n;
  }
  for (size_t i = 0; i < original.size(); ++i) {
    std::string flipped = original;
    flipped[i] ^= 0x5a;
    WriteText(manifest, flipped);
    open_and_list().IgnoreError();  // must not throw or crash
  }
  WriteText(manifest, original);
  fs::remove(manifest);
  fs::create_directory(manifest);
  EXPECT_FALSE(open_and_list().ok()) << "manifest.ocdbt as a directory";
}

// The zarr metadata parsers, with garbage in every node of a valid document.
template <typename Parse>
void FuzzParser(const std::string& valid_text, Parse parse) {
  ASSERT_TRUE(parse(valid_text).ok()) << parse(valid_text).status();
  for (const std::string& text : GarbageTexts()) {
    try {
      EXPECT_FALSE(parse(text).ok()) << text.substr(0, 20);
    } catch (const std::exception& e) {
      ADD_FAILURE() << text.substr(0, 20)
                    << ": exception escaped: " << e.what();
    }
  }
  int rejected = 0, total = 0;
  ForEachCorruption(
      json::parse(valid_text), [&](const json& doc, const std::string& what) {
        try {
          ++total;
          if (!parse(doc.dump()).ok()) ++rejected;
        } catch (const std::exception& e) {
          ADD_FAILURE() << what << ": exception escaped: " << e.what();
        }
      });
  // Nearly every corruption of a required member is an error.
  EXPECT_GT(rejected, total / 2) << rejected << " of " << total;
}

TEST(MalformedZarrMetadataTest, Zarr3) {
  FuzzParser(SerializeArrayMetadata(
                 MakeOrbaxArrayMetadata({8, 6}, DataType::kFloat32, {4, 6})),
             [](const std::string& t) { return ParseArrayMetadata(t); });
}

TEST(MalformedZarrMetadataTest, Zarr2) {
  FuzzParser(
      R"({"zarr_format": 2, "shape": [8, 6], "chunks": [4, 6], "dtype": "<f4", "compressor": {"id": "zstd", "level": 1}, "fill_value": 0, "order": "C", "filters": null, "dimension_separator": "."})",
      [](const std::string& t) { return ParseZarr2ArrayMetadata(t); });
  for (
      const char* text : {
          R"({"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<f4", "order": 1})",
          R"({"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<f4", "compressor": {"id": 5}})",
          R"({"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<f4", "compressor": {"id": "zstd", "level": "max"}})",
          R"({"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<f4", "compressor": {"id": "gzip", "level": 1e300}})",
          R"({"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<f4", "compressor": {"id": "gzip", "level": 99}})",
          R"({"zarr_format": 2, "shape": [8], "chunks": [4], "dtype": "<i4x"})",
      }) {
    try {
      EXPECT_FALSE(ParseZarr2ArrayMetadata(text).ok()) << text;
    } catch (const std::exception& e) {
      ADD_FAILURE() << text << ": exception escaped: " << e.what();
    }
  }
}

}  // namespace
}  // namespace ocpx

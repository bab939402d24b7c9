// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// The metadata parsers take bytes, so each rule is tested here without a
// checkpoint directory.

#include "cpp/ocpx/reader/checkpoint_files.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ocpx {
namespace internal_reader {
namespace {

std::string Entry(const std::string& key, const std::string& key_metadata,
                  const std::string& value_metadata) {
  return "\"" + key + "\":{\"key_metadata\":" + key_metadata +
         ",\"value_metadata\":" + value_metadata + "}";
}

std::vector<std::string> Names(const TreeMetadata& t) {
  std::vector<std::string> out;
  for (const LeafInfo& l : t.leaves) out.push_back(l.name);
  return out;
}

TEST(TreeMetadataTest, SortsIndicesNumericallyAndDropsPrefixes) {
  const std::string doc =
      "{\"tree_metadata\":{" +
      Entry("('l', '10')",
            R"([{"key":"l","key_type":2},{"key":"10","key_type":1}])",
            R"({"value_type":"np.ndarray"})") +
      "," +
      Entry("('l', '9')",
            R"([{"key":"l","key_type":2},{"key":"9","key_type":1}])",
            R"({"value_type":"scalar","write_shape":[]})") +
      "," +
      Entry("('l',)", R"([{"key":"l","key_type":2}])",
            R"({"value_type":"Dict","skip_deserialize":true})") +
      "," +
      Entry("(\\\"it's\\\",)", R"([{"key":"it's","key_type":2}])",
            R"({"value_type":"placeholder"})") +
      "},\"use_zarr3\":true}";
  auto t = ParseTreeMetadata(doc, "_METADATA", /*has_ocdbt_manifest=*/false);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Names(*t), (std::vector<std::string>{"it's", "l.9", "l.10"}));
  EXPECT_FALSE(t->use_ocdbt);  // unrecorded: the caller's manifest answer
  EXPECT_EQ(t->use_zarr3, true);
  EXPECT_EQ(t->leaves[0].kind, LeafKind::kEmpty);  // placeholder: no data
  EXPECT_EQ(t->leaves[1].kind, LeafKind::kScalar);
  EXPECT_EQ(t->leaves[2].kind, LeafKind::kArray);
}

TEST(TreeMetadataTest, DamagedEntriesAreErrorsNamingFileAndEntry) {
  for (const std::string& entry : {
           // The dict key spells another key path than key_metadata.
           Entry("('a',)", R"([{"key":"b","key_type":2}])",
                 R"({"value_type":"np.ndarray"})"),
           // A key that is not a string, a bad key_type, a bad flag.
           Entry("('1',)", R"([{"key":1,"key_type":2}])",
                 R"({"value_type":"np.ndarray"})"),
           Entry("('a',)", R"([{"key":"a","key_type":3}])",
                 R"({"value_type":"np.ndarray"})"),
           Entry("('a',)", R"([{"key":"a","key_type":2}])",
                 R"({"value_type":"np.ndarray","skip_deserialize":7})"),
           Entry("('a',)", R"([{"key":"a","key_type":2}])",
                 R"({"value_type":"np.ndarray","write_shape":[-1]})"),
       }) {
    auto t = ParseTreeMetadata("{\"tree_metadata\":{" + entry + "}}",
                               "/c/_METADATA", true);
    ASSERT_FALSE(t.ok()) << entry;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find("/c/_METADATA: malformed entry"),
              std::string::npos)
        << t.status();
  }
  EXPECT_FALSE(ParseTreeMetadata("{\"tree_metadata\":{}}", "f", true).ok());
  EXPECT_FALSE(ParseTreeMetadata("[1]", "f", true).ok());
  EXPECT_FALSE(ParseTreeMetadata("{", "f", true).ok());
}

TEST(StepMetadataTest, UnknownKeysBecomeCustomMetadata) {
  auto m = ParseStepMetadata(R"({"item_handlers":"x","note":1})", "f");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->item_handlers, "\"x\"");
  EXPECT_EQ(m->custom_metadata, R"({"note":1})");
  EXPECT_FALSE(
      ParseStepMetadata(R"({"custom_metadata":{"a":1},"note":1})", "f").ok());
  EXPECT_FALSE(ParseStepMetadata(R"({"init_timestamp_nsecs":"x"})", "f").ok());
}

TEST(ShardingsTest, StringsOnlyBadKeysWarned) {
  // base64url("a") = "YQ=="
  auto s = ParseShardings(R"({"YQ==":"{}","***":"{}"})", "_sharding");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->by_name.at("a"), "{}");
  EXPECT_EQ(s->warnings.size(), 1u);
  EXPECT_FALSE(ParseShardings(R"({"YQ==":{}})", "_sharding").ok());
  EXPECT_FALSE(ParseShardings("[]", "_sharding").ok());
  auto bad = ParseShardings("{", "_sharding");  // ignored, with a warning
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->warnings.size(), 1u);
}

TEST(StringValuesTest, NestedLookupNeverConverts) {
  auto s = StringValues::Parse(R"({"a":{"b":"x"},"n":12})", "_strings.json");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s->Get("a/b"), "x");
  EXPECT_EQ(s->Get("n").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Get("z").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(StringValues::Parse("\"x\"", "_strings.json").ok());
}

TEST(RandomKeyImplsTest, ReadsExtMetadata) {
  auto r = ParseRandomKeyImpls(
      R"({"array_metadatas":[{"array_metadata":{"param_name":"k",)"
      R"("ext_metadata":{"random_key_impl":"threefry2x32"}}},)"
      R"({"array_metadata":{"param_name":"w"}}]})",
      "process_0");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].first, "k");
  EXPECT_EQ((*r)[0].second, "threefry2x32");
  EXPECT_FALSE(ParseRandomKeyImpls(R"({"array_metadatas":[null]})", "p").ok());
}

TEST(InferTreeMetadataTest, DottedNamesBecomeDictPaths) {
  auto t = InferTreeMetadata({"b.c", "a"}, {{"a", "{}"}}, true, "_METADATA");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->inferred);
  EXPECT_EQ(Names(*t), (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(t->leaves[0].value_type, "jax.Array");
  EXPECT_EQ(t->leaves[1].value_type, "np.ndarray");
  EXPECT_EQ(t->leaves[1].key_path.size(), 2u);
  EXPECT_EQ(InferTreeMetadata({}, {}, true, "_METADATA").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace internal_reader
}  // namespace ocpx

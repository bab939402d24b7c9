// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/data_file_table.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

// A worked example of the data-file table (docs/format.md, "Data-file table").
const std::vector<DataFileId> kIds = {
    {"", "d/aa1"},   {"", "d/aa2"},    {"x/", "d/aa1"},  {"x/", "d/aa2"},
    {"x/y/", "d/b"}, {"xz/", "d/aa1"}, {"xz/", "d/aa12"}};
const char kEncoded[] =
    "\x07\x04\x00\x06\x02\x01\x08\x05\x01\x07\x01\x05\x07\x01\x00\x00\x02\x02"
    "\x04\x03\x03"
    "d/aa12x/d/aa12y/d/bz/d/aa12";

TEST(DataFileTableTest, SpecExample) {
  DataFileTableBuilder b;
  for (auto it = kIds.rbegin(); it != kIds.rend(); ++it) b.Add(*it);
  b.Finalize();
  std::string out;
  b.Encode(&out);
  EXPECT_EQ(out, std::string(kEncoded, sizeof(kEncoded) - 1));
  for (size_t i = 0; i < kIds.size(); ++i) EXPECT_EQ(b.IndexOf(kIds[i]), i);
  ByteReader r(out, "t");
  std::vector<DataFileId> got;
  ASSERT_TRUE(DecodeDataFileTable(r, "", &got).ok());
  EXPECT_EQ(got, kIds);
  EXPECT_TRUE(r.at_end());
}

TEST(DataFileTableTest, TransitiveBasePath) {
  DataFileTableBuilder b;
  b.Add({"", "d/y"});
  b.Finalize();
  std::string out;
  b.Encode(&out);
  ByteReader r(out, "t");
  std::vector<DataFileId> got;
  ASSERT_TRUE(DecodeDataFileTable(r, "child/", &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].base_path, "child/");
  EXPECT_EQ(got[0].FullPath(), "child/d/y");
}

TEST(DataFileTableTest, EmptyAndIndex) {
  DataFileTableBuilder b;
  b.Finalize();
  std::string out;
  b.Encode(&out);
  EXPECT_EQ(out, std::string("\0", 1));
  std::string idx = "\x01";
  ByteReader r(idx, "t");
  std::vector<DataFileId> files = {{"", "a"}};
  const DataFileId* id;
  EXPECT_FALSE(ReadDataFileIndex(r, files, &id).ok());
}

TEST(DataFileTableTest, Invalid) {
  std::vector<DataFileId> got;
  auto decode = [&](const std::string& s) {
    ByteReader r(s, "t");
    return DecodeDataFileTable(r, "", &got);
  };
  const std::string good(kEncoded, sizeof(kEncoded) - 1);
  EXPECT_TRUE(decode(good).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(decode(good.substr(0, n)).ok()) << n;
  }
  // Huge count.
  EXPECT_FALSE(decode(std::string("\xff\xff\xff\xff\x0f", 5)).ok());
  // prefix > previous path length.
  EXPECT_FALSE(decode(std::string("\x02\x09\x01\x01\x00\x00ab", 8)).ok());
  // base length > path length.
  EXPECT_FALSE(decode(std::string("\x01\x01\x02x", 4)).ok());
  // prefix beyond both base paths with different base lengths.
  EXPECT_FALSE(decode(std::string("\x02\x02\x02\x01\x01\x02"
                                  "abc",
                                  9))
                   .ok());
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

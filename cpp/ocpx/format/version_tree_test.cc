// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/version_tree.h"

#include <string>

#include "cpp/ocpx/base/crc32c.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

VersionEntry Version(uint64_t g) {
  VersionEntry v;
  v.generation = g;
  v.root_height = 1;
  v.root = {{"", "d/x"}, g * 10, 7};
  v.statistics = {g, g + 1, g + 2};
  v.commit_time = 1700000000000000000ull + g;
  return v;
}

TEST(VersionTreeTest, BlockStart) {
  EXPECT_EQ(VersionBlockStart(40, 2, 0), 37u);
  EXPECT_EQ(VersionBlockStart(36, 2, 1), 33u);
  EXPECT_EQ(VersionBlockStart(32, 2, 2), 1u);
  EXPECT_EQ(VersionBlockStart(17, 4, 0), 17u);
  EXPECT_EQ(VersionBlockStart(16, 4, 0), 1u);
  EXPECT_EQ(MaxVersionTreeHeight(4), 14);
  EXPECT_EQ(MaxVersionTreeHeight(1), 62);
}

TEST(VersionTreeTest, LeafNodeRoundTrip) {
  VersionTreeNode n;
  n.arity_log2 = 2;
  n.height = 0;
  n.versions = {Version(5), Version(6), Version(8)};
  n.versions[1].root = IndirectDataReference::Missing();
  auto enc = EncodeVersionTreeNode(n, {Compression::kZstd, 0});
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto dec = DecodeVersionTreeNode(*enc, 2, "sub/", "f");
  ASSERT_TRUE(dec.ok()) << dec.status();
  ASSERT_EQ(dec->versions.size(), 3u);
  EXPECT_EQ(dec->versions[2].generation, 8u);
  EXPECT_EQ(dec->versions[2].root.file.FullPath(), "sub/d/x");
  EXPECT_TRUE(dec->versions[1].root.IsMissing());
  EXPECT_TRUE(dec->versions[0].statistics == Version(5).statistics);
  EXPECT_EQ(dec->versions[0].commit_time, Version(5).commit_time);
  // The config's arity must match.
  EXPECT_FALSE(DecodeVersionTreeNode(*enc, 3, "", "f").ok());
}

TEST(VersionTreeTest, InteriorNodeRoundTripAndRules) {
  VersionTreeNode n;
  n.arity_log2 = 2;
  n.height = 1;
  for (uint64_t g : {4, 8, 16}) {
    VersionNodeReference r;
    r.generation = g;
    r.location = {{"", "d/v"}, g, 3};
    r.num_generations = 4;
    r.commit_time = g;
    n.children.push_back(r);
  }
  auto enc = EncodeVersionTreeNode(n, {Compression::kNone, 0});
  ASSERT_TRUE(enc.ok());
  auto dec = DecodeVersionTreeNode(*enc, 2, "", "f");
  ASSERT_TRUE(dec.ok()) << dec.status();
  ASSERT_EQ(dec->children.size(), 3u);
  EXPECT_EQ(dec->children[2].generation, 16u);
  EXPECT_EQ(dec->children[0].height, 0);
  // A child that is not a full block.
  auto bad = n;
  bad.children[1].generation = 9;
  EXPECT_FALSE(
      DecodeVersionTreeNode(*EncodeVersionTreeNode(bad, {}), 2, "", "f").ok());
  // Children spanning two blocks.
  bad = n;
  bad.children[2].generation = 20;
  EXPECT_FALSE(
      DecodeVersionTreeNode(*EncodeVersionTreeNode(bad, {}), 2, "", "f").ok());
  // Too many generations in a child.
  bad = n;
  bad.children[0].num_generations = 5;
  EXPECT_FALSE(
      DecodeVersionTreeNode(*EncodeVersionTreeNode(bad, {}), 2, "", "f").ok());
  // Non-increasing generations.
  bad = n;
  bad.children[1].generation = 4;
  EXPECT_FALSE(
      DecodeVersionTreeNode(*EncodeVersionTreeNode(bad, {}), 2, "", "f").ok());
}

TEST(VersionTreeTest, LeafEntryValidation) {
  DataFileTableBuilder table;
  table.Add({"", "d/x"});
  table.Finalize();
  std::vector<DataFileId> files = {{"", "d/x"}};
  auto decode = [&](const std::vector<VersionEntry>& v, uint8_t a) {
    std::string s;
    EncodeVersionLeafEntries(v, table, &s);
    ByteReader r(s, "t");
    std::vector<VersionEntry> out;
    return DecodeVersionLeafEntries(r, a, files, &out);
  };
  EXPECT_TRUE(decode({Version(37), Version(40)}, 2).ok());
  EXPECT_FALSE(decode({Version(36), Version(37)}, 2).ok());  // two blocks
  EXPECT_FALSE(decode({Version(38), Version(37)}, 2).ok());  // order
  EXPECT_FALSE(decode({Version(0)}, 2).ok());                // generation 0
  EXPECT_FALSE(decode({}, 2).ok());                          // empty
  EXPECT_FALSE(decode({Version(1), Version(2), Version(3)}, 1).ok());  // > A
  auto huge = Version(1);
  huge.root.offset = uint64_t{1} << 63;
  EXPECT_FALSE(decode({huge}, 2).ok());
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

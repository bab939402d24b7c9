// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/btree_node.h"

#include <string>

#include "absl/status/status.h"
#include "cpp/ocpx/base/crc32c.h"
#include "cpp/ocpx/format/varint.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {

using ::ocpx::internal::Crc32c;

namespace {

const DataFileId kFile{"", "d/00112233445566778899aabbccddeeff"};

BtreeNode SpecLeaf() {
  BtreeNode n;
  n.height = 0;
  LeafNodeEntry a;
  a.key = "a";
  a.inline_value = "hello";
  LeafNodeEntry b;
  b.key = "b";
  b.indirect = true;
  b.ref = {kFile, 0, 200};
  n.leaf_entries = {a, b};
  return n;
}

TEST(BtreeNodeTest, SpecLeafBytes) {
  // The 74-byte leaf of a minimal database (docs/format.md, "B+tree nodes").
  auto enc = EncodeBtreeNode(SpecLeaf(), {Compression::kNone, 0});
  ASSERT_TRUE(enc.ok()) << enc.status();
  std::string expected("\x0c\xdb\x20\xde\x4a\0\0\0\0\0\0\0\0\0\0\x01\x22\x00",
                       18);
  expected += kFile.relative_path;
  expected += std::string(
      "\x02\x00\x01\x01"
      "ab"
      "\x05\xc8\x01\x00\x01\x00\x00",
      13);
  expected += "hello";
  expected += std::string("\x5d\x49\x49\x1c", 4);
  EXPECT_EQ(*enc, expected);
  auto dec = DecodeBtreeNode(*enc, "", "f");
  ASSERT_TRUE(dec.ok()) << dec.status();
  ASSERT_EQ(dec->leaf_entries.size(), 2u);
  EXPECT_EQ(dec->leaf_entries[0].inline_value, "hello");
  EXPECT_TRUE(dec->leaf_entries[1].indirect);
  EXPECT_EQ(dec->leaf_entries[1].ref, (IndirectDataReference{kFile, 0, 200}));
}

TEST(BtreeNodeTest, InteriorRoundTripWithPrefixes) {
  BtreeNode n;
  n.height = 2;
  for (int i = 0; i < 5; ++i) {
    InteriorNodeEntry e;
    e.key = "prefix/" + std::string(i, 'x') + "key" + std::to_string(i);
    e.subtree_common_prefix_length = 7;
    e.child = {{i % 2 ? "sub/" : "", "d/f" + std::to_string(i % 3)},
               uint64_t(i) * 100,
               50};
    e.statistics = {uint64_t(i), uint64_t(i) * 2, uint64_t(i) * 3};
    n.interior_entries.push_back(e);
  }
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    auto enc = EncodeBtreeNode(n, {c, 0});
    ASSERT_TRUE(enc.ok()) << enc.status();
    auto dec = DecodeBtreeNode(*enc, "base/", "f");
    ASSERT_TRUE(dec.ok()) << dec.status();
    EXPECT_EQ(dec->height, 2);
    ASSERT_EQ(dec->interior_entries.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      const auto& e = dec->interior_entries[i];
      EXPECT_EQ(e.key, n.interior_entries[i].key);
      EXPECT_EQ(e.subtree_common_prefix_length, 7u);
      EXPECT_EQ(e.child.file.base_path,
                "base/" + n.interior_entries[i].child.file.base_path);
      EXPECT_EQ(e.child.offset, n.interior_entries[i].child.offset);
      EXPECT_TRUE(e.statistics == n.interior_entries[i].statistics);
    }
  }
}

TEST(BtreeNodeTest, EncodeRejects) {
  BtreeNode empty;
  EXPECT_FALSE(EncodeBtreeNode(empty, {}).ok());
  BtreeNode unsorted = SpecLeaf();
  std::swap(unsorted.leaf_entries[0], unsorted.leaf_entries[1]);
  EXPECT_FALSE(EncodeBtreeNode(unsorted, {}).ok());
  BtreeNode longkey = SpecLeaf();
  longkey.leaf_entries[1].key = std::string(65536, 'b');
  EXPECT_FALSE(EncodeBtreeNode(longkey, {}).ok());
}

// Re-wraps a raw body with a valid header and CRC.
std::string Wrap(const std::string& body) {
  std::string s;
  AppendU32be(kBtreeNodeMagic, &s);
  AppendU64le(14 + body.size() + 4, &s);
  s += std::string("\0\0", 2) + body;
  AppendU32le(Crc32c(s), &s);
  return s;
}

TEST(BtreeNodeTest, DecodeRejectsInvalidBodies) {
  const std::string table = std::string("\x01\x01\x00", 3) + "f";
  auto bad = [](const std::string& body) {
    auto s = DecodeBtreeNode(Wrap(body), "", "node.file");
    EXPECT_FALSE(s.ok());
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_NE(s.status().message().find("node.file"), std::string::npos);
    }
  };
  // Valid baseline: one inline entry "k" -> "v".
  const std::string ok =
      std::string("\x00", 1) + table + std::string("\x01\x01k\x01\x00v", 6);
  ASSERT_TRUE(DecodeBtreeNode(Wrap(ok), "", "f").ok());
  bad(std::string("\x00", 1) + table + std::string("\x00", 1));  // no entries
  bad(ok + "x");                                                 // trailing
  bad(ok.substr(0, ok.size() - 1));                              // short
  // Keys out of order: "b" then "a".
  bad(std::string("\x00", 1) + table +
      std::string("\x02\x00\x01\x01"
                  "ba"
                  "\x00\x00\x00\x00",
                  10));
  // Duplicate keys.
  bad(std::string("\x00", 1) + table +
      std::string("\x02\x00\x01\x01"
                  "aa"
                  "\x00\x00\x00\x00",
                  10));
  // Prefix length beyond the previous key.
  bad(std::string("\x00", 1) + table +
      std::string("\x02\x05\x01\x01"
                  "ab"
                  "\x00\x00\x00\x00",
                  10));
  // Bad value kind.
  bad(std::string("\x00", 1) + table + std::string("\x01\x01k\x00\x02", 5));
  // Out-of-line file index out of range.
  bad(std::string("\x00", 1) + table +
      std::string("\x01\x01k\x05\x01\x07\x00", 7));
  // Huge inline length.
  bad(std::string("\x00", 1) + table +
      std::string("\x01\x01k\xff\xff\xff\xff\x0f\x00", 9));
  // Huge entry count.
  bad(std::string("\x00", 1) + table + std::string("\xff\xff\xff\x7f", 4));
  // Offset + length beyond 2^63-1.
  bad(std::string("\x00", 1) + table +
      std::string("\x01\x01k\x05\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
                  15));
  // Interior: scp longer than the key.
  bad(std::string("\x01", 1) + table +
      std::string("\x01\x01\x05k\x00\x00\x01\x00\x00\x00", 10));
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

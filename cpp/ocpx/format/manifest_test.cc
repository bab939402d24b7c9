// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/manifest.h"

#include <string>

#include "cpp/ocpx/base/crc32c.h"
#include "cpp/ocpx/format/varint.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {

using ::ocpx::internal::Crc32c;

namespace {

TEST(ManifestTest, SpecEmptyDatabaseBytes) {
  // The 81-byte manifest of an empty database (docs/format.md, "Manifest").
  Manifest m;
  m.config.compression = {Compression::kNone, 0};
  VersionEntry v;
  v.generation = 1;
  v.commit_time = 0x0123456789abcdefull;
  m.versions = {v};
  auto enc = EncodeManifest(m);
  ASSERT_TRUE(enc.ok()) << enc.status();
  std::string expected("\x0c\xdb\x3a\x2a\x51\0\0\0\0\0\0\0\0\0", 14);
  expected += std::string(16, '\0');
  expected += std::string("\x00\x64\x80\x80\x80\x04\x04\x00", 8);
  expected += std::string("\x01\x00\x00", 3);
  expected += std::string("\x01\x01\x00\x00", 4);
  expected += std::string(9, '\xff') + "\x01" + std::string(9, '\xff') + "\x01";
  expected += std::string("\x00\x00\x00", 3);
  AppendU64le(v.commit_time, &expected);
  expected += std::string("\x00", 1);
  AppendU32le(Crc32c(expected), &expected);
  EXPECT_EQ(expected.size(), 81u);
  EXPECT_EQ(*enc, expected);
  auto dec = DecodeManifest(*enc, "manifest.ocdbt");
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_TRUE(dec->latest().root.IsMissing());
  EXPECT_EQ(dec->latest().commit_time, v.commit_time);
}

TEST(ManifestTest, RoundTripWithVersionNodes) {
  Manifest m;
  m.config.version_tree_arity_log2 = 2;
  for (uint64_t g = 37; g <= 40; ++g) {
    VersionEntry v;
    v.generation = g;
    v.root = {{"", "d/r"}, g, 9};
    v.root_height = 2;
    v.statistics = {g, 2, 3};
    m.versions.push_back(v);
  }
  VersionNodeReference h2, h1;
  h2.height = 2;
  h2.generation = 32;
  h2.location = {{"", "d/a"}, 0, 10};
  h2.num_generations = 32;
  h1.height = 1;
  h1.generation = 36;
  h1.location = {{"", "d/b"}, 5, 10};
  h1.num_generations = 4;
  m.version_tree_nodes = {h2, h1};
  auto enc = EncodeManifest(m);
  ASSERT_TRUE(enc.ok()) << enc.status();
  auto dec = DecodeManifest(*enc, "f");
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(dec->versions.size(), 4u);
  ASSERT_EQ(dec->version_tree_nodes.size(), 2u);
  EXPECT_EQ(dec->version_tree_nodes[0].height, 2);
  EXPECT_EQ(dec->version_tree_nodes[1].location.file.relative_path, "d/b");
  // Heights must strictly decrease.
  std::swap(m.version_tree_nodes[0], m.version_tree_nodes[1]);
  EXPECT_FALSE(DecodeManifest(*EncodeManifest(m), "f").ok());
}

TEST(ManifestTest, ConfigOnlyNumbered) {
  Manifest m;
  auto enc = EncodeManifest(m, /*config_only=*/true);
  ASSERT_TRUE(enc.ok());
  auto dec = DecodeManifest(*enc, "f");
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_TRUE(dec->config_only());
  EXPECT_EQ(dec->config.manifest_kind, ManifestKind::kNumbered);
  EXPECT_FALSE(EncodeManifest(m).ok());  // a full manifest needs a version
}

TEST(ManifestTest, EveryFlippedBitAndTruncationFails) {
  Manifest m;
  VersionEntry v;
  v.generation = 3;
  v.root = {{"", "d/zz"}, 0, 10};
  m.versions = {v};
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    m.config.compression = {c, 0};
    const std::string good = *EncodeManifest(m);
    for (size_t i = 0; i < good.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = good;
        bad[i] ^= static_cast<char>(1 << bit);
        EXPECT_FALSE(DecodeManifest(bad, "f").ok()) << i << " " << bit;
      }
      EXPECT_FALSE(DecodeManifest(good.substr(0, i), "f").ok()) << i;
    }
  }
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/config.h"

#include <string>

#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

TEST(ConfigTest, DefaultBytes) {
  Config c;
  std::string out;
  EncodeConfig(c, &out);
  EXPECT_EQ(
      out.substr(16),
      std::string("\x00\x64\x80\x80\x80\x04\x04\x01\x00\x00\x00\x00", 12));
  ByteReader r(out, "t");
  Config d;
  ASSERT_TRUE(DecodeConfig(r, &d).ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(d == c);
}

TEST(ConfigTest, RoundTripVariants) {
  Config c;
  for (int i = 0; i < 16; ++i) c.uuid[i] = static_cast<uint8_t>(i * 17);
  c.manifest_kind = ManifestKind::kNumbered;
  c.max_inline_value_bytes = 1024;
  c.max_decoded_node_bytes = 100000000;
  c.version_tree_arity_log2 = 1;
  c.compression = {Compression::kZstd, -5};
  std::string out;
  EncodeConfig(c, &out);
  ByteReader r(out, "t");
  Config d;
  ASSERT_TRUE(DecodeConfig(r, &d).ok());
  EXPECT_TRUE(d == c);
  c.compression = {Compression::kNone, 0};
  out.clear();
  EncodeConfig(c, &out);
  ByteReader r2(out, "t");
  ASSERT_TRUE(DecodeConfig(r2, &d).ok());
  EXPECT_TRUE(r2.at_end());
  EXPECT_TRUE(d == c);
}

TEST(ConfigTest, Invalid) {
  Config c;
  std::string good;
  EncodeConfig(c, &good);
  auto decode = [](const std::string& s) {
    ByteReader r(s, "t");
    Config d;
    return DecodeConfig(r, &d);
  };
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(decode(good.substr(0, n)).ok());
  std::string bad = good;
  bad[16] = 2;  // manifest kind
  EXPECT_FALSE(decode(bad).ok());
  bad = good;
  bad[22] = 0;  // arity 0
  EXPECT_FALSE(decode(bad).ok());
  bad = good;
  bad[22] = 17;
  EXPECT_FALSE(decode(bad).ok());
  bad = good;
  bad[23] = 2;  // compression method
  EXPECT_FALSE(decode(bad).ok());
  bad = good;
  bad[24] = 100;  // zstd level 100
  EXPECT_FALSE(decode(bad).ok());
  c.version_tree_arity_log2 = 0;
  EXPECT_FALSE(ValidateConfig(c).ok());
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/envelope.h"

#include <string>

#include "absl/status/status.h"
#include "cpp/ocpx/base/crc32c.h"
#include "cpp/ocpx/base/zstd.h"
#include "cpp/ocpx/format/varint.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {

using ::ocpx::internal::Crc32c;
using ::ocpx::internal::ZstdCompress;

namespace {

std::string FixCrc(std::string s) {
  s.resize(s.size() - 4);
  AppendU32le(Crc32c(s), &s);
  return s;
}

TEST(EnvelopeTest, RoundTripRawAndZstd) {
  const std::string body(1000, 'q');
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    auto enc = EncodeEnvelope(kBtreeNodeMagic, body, {c, 0});
    ASSERT_TRUE(enc.ok()) << enc.status();
    EXPECT_EQ(LoadU32be(enc->data()), kBtreeNodeMagic);
    EXPECT_EQ(LoadU64le(enc->data() + 4), enc->size());
    auto dec = DecodeEnvelope(kBtreeNodeMagic, *enc, "f");
    ASSERT_TRUE(dec.ok()) << dec.status();
    EXPECT_EQ(*dec, body);
  }
}

TEST(EnvelopeTest, RawLayout) {
  auto enc = EncodeEnvelope(kManifestMagic, "ab", {Compression::kNone, 0});
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->substr(0, 16),
            std::string("\x0c\xdb\x3a\x2a\x14\0\0\0\0\0\0\0\0\0ab", 16));
  EXPECT_EQ(enc->size(), 20u);
}

TEST(EnvelopeTest, Failures) {
  auto enc =
      EncodeEnvelope(kManifestMagic, "hello world", {Compression::kZstd, 0});
  ASSERT_TRUE(enc.ok());
  const std::string good = *enc;
  auto code = [](const absl::StatusOr<std::string>& s) {
    return s.status().code();
  };
  // Wrong magic, truncation, bad CRC, trailing data.
  EXPECT_EQ(code(DecodeEnvelope(kBtreeNodeMagic, good, "f")),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(code(DecodeEnvelope(kManifestMagic, good.substr(0, 10), "f")),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(code(DecodeEnvelope(kManifestMagic, good.substr(0, good.size() - 1),
                                "f")),
            absl::StatusCode::kDataLoss);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x10;
    auto s = DecodeEnvelope(kManifestMagic, bad, "file.x");
    ASSERT_FALSE(s.ok()) << i;
    EXPECT_NE(s.status().message().find("file.x"), std::string::npos);
  }
  // Unsupported version and compression, with valid CRCs.
  std::string v1 = good;
  v1[12] = 1;
  EXPECT_EQ(code(DecodeEnvelope(kManifestMagic, FixCrc(v1), "f")),
            absl::StatusCode::kUnimplemented);
  std::string c2 = good;
  c2[13] = 2;
  EXPECT_EQ(code(DecodeEnvelope(kManifestMagic, FixCrc(c2), "f")),
            absl::StatusCode::kDataLoss);
  // Two concatenated zstd frames are rejected.
  std::string two = good.substr(0, good.size() - 4);
  two += *ZstdCompress("x", 0);
  two += "CRC!";
  for (int i = 0; i < 8; ++i)
    two[4 + i] = static_cast<char>(two.size() >> (8 * i));
  EXPECT_EQ(code(DecodeEnvelope(kManifestMagic, FixCrc(two), "f")),
            absl::StatusCode::kDataLoss);
  // The decoded size limit is enforced.
  auto big = EncodeEnvelope(kManifestMagic, std::string(1 << 20, 'z'),
                            {Compression::kZstd, 0});
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(DecodeEnvelope(kManifestMagic, *big, "f", 1000).ok());
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/format/varint.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

TEST(VarintTest, RoundTrip) {
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
        uint64_t{65535}, uint64_t{1} << 32, ~uint64_t{0}}) {
    std::string s;
    AppendVarint(v, &s);
    EXPECT_EQ(s.size(), VarintLength(v));
    ByteReader r(s, "t");
    uint64_t got;
    ASSERT_TRUE(r.ReadVarint(&got).ok());
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(VarintTest, KnownEncodings) {
  std::string s;
  AppendVarint(~uint64_t{0}, &s);
  EXPECT_EQ(s, std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10));
  s.clear();
  AppendVarint(8388608, &s);
  EXPECT_EQ(s, "\x80\x80\x80\x04");
}

TEST(VarintTest, PaddedFormAccepted) {
  const std::string data("\xe4\x80\x00", 3);
  ByteReader r(data, "t");
  uint64_t v;
  ASSERT_TRUE(r.ReadVarint(&v).ok());
  EXPECT_EQ(v, 100u);
}

TEST(VarintTest, Errors) {
  uint64_t v;
  uint32_t v32;
  {
    ByteReader r("\x80\x80", "obj");
    absl::Status s = r.ReadVarint(&v);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(s.message().find("obj: at offset 0"), std::string::npos) << s;
  }
  {  // 11 bytes / overflow.
    const std::string data("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
    ByteReader r(data, "t");
    EXPECT_FALSE(r.ReadVarint(&v).ok());
  }
  {
    std::string s;
    AppendVarint(uint64_t{1} << 32, &s);
    ByteReader r(s, "t");
    EXPECT_FALSE(r.ReadVarint32(&v32).ok());
  }
  {
    std::string s;
    AppendVarint(65536, &s);
    ByteReader r(s, "t");
    EXPECT_FALSE(r.ReadVarint16(&v32).ok());
  }
}

TEST(ByteReaderTest, FixedWidthAndBounds) {
  std::string s;
  AppendU32le(0x01020304, &s);
  AppendU64le(0x1122334455667788, &s);
  AppendU32be(0x0CDB3A2A, &s);
  EXPECT_EQ(LoadU32be(s.data() + 12), 0x0CDB3A2Au);
  ByteReader r(s, "t");
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(r.ReadU32le(&a).ok());
  ASSERT_TRUE(r.ReadU64le(&b).ok());
  EXPECT_EQ(a, 0x01020304u);
  EXPECT_EQ(b, 0x1122334455667788u);
  absl::string_view rest;
  EXPECT_FALSE(r.ReadBytes(5, &rest).ok());
  EXPECT_FALSE(r.VerifyEnd().ok());
  ASSERT_TRUE(r.ReadBytes(4, &rest).ok());
  EXPECT_TRUE(r.VerifyEnd().ok());
  EXPECT_FALSE(r.ReadU32le(&a).ok());
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

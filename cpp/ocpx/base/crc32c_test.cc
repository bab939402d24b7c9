// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace {

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(ocpx::internal::Crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32cTest, Empty) { EXPECT_EQ(ocpx::internal::Crc32c(""), 0u); }

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  EXPECT_EQ(ocpx::internal::Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(ocpx::internal::Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(ocpx::internal::Crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, ExtendMatchesWhole) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  const uint32_t whole = ocpx::internal::Crc32c(data);
  for (size_t split :
       {size_t{0}, size_t{1}, size_t{17}, size_t{4096}, data.size()}) {
    const uint32_t a =
        ocpx::internal::Crc32c(absl::string_view(data).substr(0, split));
    EXPECT_EQ(
        ocpx::internal::Crc32cExtend(a, absl::string_view(data).substr(split)),
        whole)
        << "split=" << split;
  }
}

}  // namespace

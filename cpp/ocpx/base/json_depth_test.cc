// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/json_depth.h"

#include <string>

#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

TEST(JsonDepthTest, CountsNestingOutsideStrings) {
  EXPECT_EQ(JsonDepth("1"), 0u);
  EXPECT_EQ(JsonDepth("{\"a\": [1, {\"b\": []}]}"), 4u);
  EXPECT_EQ(JsonDepth("[\"[[[[\", \"\\\"[[\"]"), 1u);
}

TEST(JsonDepthTest, RejectsDeepNestingWithoutRecursing) {
  std::string deep(200000, '[');
  absl::Status s = CheckJsonDepth(deep, "/ckpt/_METADATA");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("/ckpt/_METADATA"), absl::string_view::npos);
  std::string ok =
      std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(CheckJsonDepth(ok, "f").ok());
  EXPECT_FALSE(CheckJsonDepth("[" + ok + "]", "f").ok());
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

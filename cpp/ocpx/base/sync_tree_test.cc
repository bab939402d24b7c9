// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/sync_tree.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/test_temp_dir.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

std::string MakeTempDir() {
  std::string d = internal_testing::MakeTestTempDir("sync_tree");
  EXPECT_NE(d, "");
  return d;
}

void WriteFile(const std::string& path, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, "x", 1), 1);
  ::close(fd);
}

TEST(SyncTreeTest, SyncsNestedFilesAndSkipsLinksAndFifos) {
  const std::string root = MakeTempDir();
  ASSERT_EQ(::mkdir((root + "/a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root + "/a/b").c_str(), 0755), 0);
  for (int i = 0; i < 40; ++i) WriteFile(absl::StrCat(root, "/a/b/f", i));
  WriteFile(root + "/top");
  WriteFile(root + "/write_only", 0200);
  ASSERT_EQ(::symlink("/nonexistent/target", (root + "/dangling").c_str()), 0);
  // Opening a FIFO for reading would block without O_NONBLOCK; it is not
  // synced at all.
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0644), 0);
  std::vector<std::string> synced;
  ASSERT_TRUE(SyncTree(root, &synced).ok());
  std::sort(synced.begin(), synced.end());
  std::vector<std::string> want = {root, root + "/a", root + "/a/b",
                                   root + "/top", root + "/write_only"};
  for (int i = 0; i < 40; ++i) want.push_back(absl::StrCat(root, "/a/b/f", i));
  std::sort(want.begin(), want.end());
  EXPECT_EQ(synced, want);
}

TEST(SyncTreeTest, SingleFileRootAndMissingRoot) {
  const std::string root = MakeTempDir();
  EXPECT_TRUE(SyncTree(root).ok());  // an empty directory
  absl::Status s = SyncTree(root + "/missing");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("missing"), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

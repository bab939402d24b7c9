// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/prefetch_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/test_temp_dir.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

void WriteFile(const std::string& path, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  std::string data(size, 'x');
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(size));
  ::close(fd);
}

std::string MakeTree() {
  const std::string root = internal_testing::MakeTestTempDir("prefetch");
  EXPECT_NE(root, "");
  EXPECT_EQ(::mkdir((root + "/state").c_str(), 0755), 0);
  EXPECT_EQ(::mkdir((root + "/state/d").c_str(), 0755), 0);
  WriteFile(root + "/_CHECKPOINT_METADATA", 100);
  WriteFile(root + "/state/manifest.ocdbt", 10);
  WriteFile(root + "/state/d/big", 200 * 1024);
  return root;
}

TEST(PrefetchTreeTest, ReadsSmallFilesAndTailsOfLargeOnes) {
  const std::string root = MakeTree();
  PrefetchStats stats = StartPrefetchTree(root)->Wait();
  EXPECT_EQ(stats.directories, 3u);
  EXPECT_EQ(stats.files, 3u);
  EXPECT_EQ(stats.bytes, 100u + 10u + 64u * 1024u);
}

TEST(PrefetchTreeTest, SkipsLinksAndFifosAndHonoursLimits) {
  const std::string root = MakeTree();
  // A FIFO would block an open without O_NONBLOCK; a link to it, or to a
  // directory outside the tree, must not be followed.
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0644), 0);
  ASSERT_EQ(::symlink((root + "/fifo").c_str(), (root + "/link").c_str()), 0);
  ASSERT_EQ(::symlink("/", (root + "/state/up").c_str()), 0);
  PrefetchStats stats = StartPrefetchTree(root)->Wait();
  EXPECT_EQ(stats.directories, 3u);
  EXPECT_EQ(stats.files, 3u);

  PrefetchLimits shallow;
  shallow.max_depth = 0;
  stats = StartPrefetchTree(root, shallow)->Wait();
  EXPECT_EQ(stats.directories, 1u);
  EXPECT_EQ(stats.files, 1u);

  PrefetchLimits few;
  few.max_entries = 2;
  stats = StartPrefetchTree(root, few)->Wait();
  EXPECT_LE(stats.directories + stats.files, 3u);  // the root and 2 entries
}

TEST(PrefetchTreeTest, MissingRootIsIgnored) {
  PrefetchStats stats =
      StartPrefetchTree("/nonexistent/ocpx-prefetch-test")->Wait();
  EXPECT_EQ(stats.directories, 0u);
  EXPECT_EQ(stats.files, 0u);
}

TEST(PrefetchTreeTest, DroppedHandleFinishesOnItsOwn) {
  const std::string root = MakeTree();
  for (int i = 0; i < 20; ++i) StartPrefetchTree(root);
  EXPECT_EQ(StartPrefetchTree(root)->Wait().files, 3u);
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

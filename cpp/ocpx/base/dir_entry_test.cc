// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/dir_entry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>

#include "cpp/ocpx/base/test_temp_dir.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

std::map<std::string, EntryKind> List(const std::string& dir) {
  std::map<std::string, EntryKind> out;
  DIR* d = ::opendir(dir.c_str());
  EXPECT_NE(d, nullptr);
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    out[name] = KindOf(*e, dir + "/" + name);
  }
  ::closedir(d);
  return out;
}

TEST(DirEntryTest, KindsWithoutFollowingLinks) {
  const std::string root = internal_testing::MakeTestTempDir("dir_entry");
  ASSERT_NE(root, "");
  ASSERT_EQ(::mkdir((root + "/sub").c_str(), 0755), 0);
  int fd = ::open((root + "/file").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::symlink("sub", (root + "/link_to_dir").c_str()), 0);
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0644), 0);
  std::map<std::string, EntryKind> want = {
      {"sub", EntryKind::kDirectory},
      {"file", EntryKind::kRegularFile},
      {"link_to_dir", EntryKind::kOther},
      {"fifo", EntryKind::kOther},
  };
  EXPECT_EQ(List(root), want);
}

TEST(DirEntryTest, UnknownTypeFallsBackToLstat) {
  const std::string root = internal_testing::MakeTestTempDir("dir_entry");
  ASSERT_NE(root, "");
  ASSERT_EQ(::mkdir((root + "/sub").c_str(), 0755), 0);
  struct dirent e = {};
  e.d_type = DT_UNKNOWN;
  EXPECT_EQ(KindOf(e, root + "/sub"), EntryKind::kDirectory);
  EXPECT_EQ(KindOf(e, root + "/missing"), EntryKind::kGone);
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

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

TEST(SyncTreeTest, ReportsTheMethodAndSyncsEitherWay) {
  const std::string root = MakeTempDir();
  ASSERT_EQ(::mkdir((root + "/d").c_str(), 0755), 0);
  WriteFile(root + "/d/f");
  std::vector<std::string> synced;
  SyncMethod method = SyncMethod::kPerEntry;
  ASSERT_TRUE(SyncTree(root, &synced, &method).ok());
  // Both methods report every entry they made durable.
  std::sort(synced.begin(), synced.end());
  EXPECT_EQ(synced,
            (std::vector<std::string>{root, root + "/d", root + "/d/f"}));
  EXPECT_TRUE(method == SyncMethod::kPerEntry ||
              method == SyncMethod::kFileSystem);
}

TEST(SyncTreeTest, ChoosesOneSyncfsOnlyWhereItIsSafeAndCheap) {
  constexpr int64_t kExt4 = 0xEF53, kXfs = 0x58465342, kNfs = 0x6969;
  constexpr int64_t kFuse = 0x65735546, kOverlay = 0x794c7630;
  const int64_t small = 64 << 10;
  EXPECT_EQ(ChooseSyncMethod(kExt4, "6.1.0-18-amd64", small),
            SyncMethod::kFileSystem);
  EXPECT_EQ(ChooseSyncMethod(kXfs, "5.8.0", small), SyncMethod::kFileSystem);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "6.18.44-fc-v1147", 0),
            SyncMethod::kFileSystem);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "5.10.0-custom", small),
            SyncMethod::kFileSystem);
  // Network, FUSE and stacked file systems: fsync each entry.
  EXPECT_EQ(ChooseSyncMethod(kNfs, "6.1.0", small), SyncMethod::kPerEntry);
  EXPECT_EQ(ChooseSyncMethod(kFuse, "6.1.0", small), SyncMethod::kPerEntry);
  EXPECT_EQ(ChooseSyncMethod(kOverlay, "6.1.0", small), SyncMethod::kPerEntry);
  // Kernels before 5.8 do not report writeback errors from syncfs.
  EXPECT_EQ(ChooseSyncMethod(kExt4, "5.7.19", small), SyncMethod::kPerEntry);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "4.19.0-26-amd64", small),
            SyncMethod::kPerEntry);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "", small), SyncMethod::kPerEntry);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "six.one", small), SyncMethod::kPerEntry);
  // Other writers' dirty data would be waited for: only a little of it.
  EXPECT_EQ(ChooseSyncMethod(kExt4, "6.1.0", kFileSystemSyncMaxDirtyBytes),
            SyncMethod::kFileSystem);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "6.1.0", kFileSystemSyncMaxDirtyBytes + 1),
            SyncMethod::kPerEntry);
  EXPECT_EQ(ChooseSyncMethod(kExt4, "6.1.0", -1), SyncMethod::kPerEntry);
}

TEST(SyncTreeTest, DirtyBytesFromMeminfo) {
  EXPECT_EQ(DirtyBytesFromMeminfo("MemTotal:       24615732 kB\n"
                                  "Dirty:               44 kB\n"
                                  "Writeback:            8 kB\n"
                                  "WritebackTmp:         0 kB\n"),
            52 * 1024);
  EXPECT_EQ(DirtyBytesFromMeminfo("Dirty: 1 kB\n"), -1);  // no Writeback
  EXPECT_EQ(DirtyBytesFromMeminfo(""), -1);
  EXPECT_EQ(DirtyBytesFromMeminfo("Dirty: x kB\nWriteback: 0 kB\n"), -1);
  EXPECT_EQ(DirtyBytesFromMeminfo("Dirty: 1 MB\nWriteback: 0 kB\n"), -1);
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

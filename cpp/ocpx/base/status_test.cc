// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/status.h"

#include <errno.h>
#include <fcntl.h>

#include <system_error>

#include "absl/strings/cord.h"
#include "cpp/ocpx/base/unique_fd.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal {
namespace {

TEST(AnnotateStatusTest, OkPassesThrough) {
  EXPECT_TRUE(AnnotateStatus(absl::OkStatus(), "ignored").ok());
}

TEST(AnnotateStatusTest, PrependsContextKeepsCodeAndPayload) {
  absl::Status s = absl::DataLossError("bad checksum");
  s.SetPayload("ocpx/test", absl::Cord("p"));
  absl::Status a = AnnotateStatus(s, "/ckpt", ": leaf '", "w", "'");
  EXPECT_EQ(a.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(a.message(), "/ckpt: leaf 'w': bad checksum");
  ASSERT_TRUE(a.GetPayload("ocpx/test").has_value());
  EXPECT_EQ(*a.GetPayload("ocpx/test"), "p");
}

TEST(ErrnoStatusTest, MapsCodes) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "open", "/x").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EACCES, "open", "/x").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EISDIR, "open", "/x").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus(EIO, "read", "/x").code(), absl::StatusCode::kInternal);
  absl::Status s = ErrorCodeStatus(
      std::make_error_code(std::errc::no_such_file_or_directory), "list", "/d");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("list \"/d\""), absl::string_view::npos);
}

TEST(UniqueFdTest, ClosesOnDestructionAndMove) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  // The descriptor was closed exactly once: fcntl on it now fails.
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace internal
}  // namespace ocpx

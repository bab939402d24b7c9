// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0
//
// Temporary directories for tests, removed when the test program exits.

#ifndef OCPX_BASE_TEST_TEMP_DIR_H_
#define OCPX_BASE_TEST_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace ocpx {
namespace internal_testing {

/// Directories made by `MakeTestTempDir`; removes them at exit.
class TestTempDirs {
 public:
  static TestTempDirs& Get() {
    static TestTempDirs dirs;  // destroyed at exit, after every test ran
    return dirs;
  }
  void Add(std::string dir) {
    absl::MutexLock lock(&mu_);
    dirs_.push_back(std::move(dir));
  }
  ~TestTempDirs() {
    absl::MutexLock lock(&mu_);
    for (const std::string& d : dirs_) {
      std::error_code ec;  // best effort: a test may have made it unreadable
      std::filesystem::permissions(d, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
      std::filesystem::remove_all(d, ec);
    }
  }

 private:
  TestTempDirs() = default;
  absl::Mutex mu_;
  std::vector<std::string> dirs_ ABSL_GUARDED_BY(mu_);
};

/// A new, empty directory `<temp>/<prefix>_XXXXXX` (under $TEST_TMPDIR when
/// set, as Bazel sets it), removed with its contents when the test program
/// exits.  Returns "" if it cannot be made.
///
/// Example:
///   const std::string dir = MakeTestTempDir("ocdbt");
inline std::string MakeTestTempDir(absl::string_view prefix) {
  const char* env = getenv("TEST_TMPDIR");
  std::string base = env != nullptr && *env != '\0'
                         ? std::string(env)
                         : std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/" + std::string(prefix) + "_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  TestTempDirs::Get().Add(tmpl);
  return tmpl;
}

}  // namespace internal_testing
}  // namespace ocpx

#endif  // OCPX_BASE_TEST_TEMP_DIR_H_

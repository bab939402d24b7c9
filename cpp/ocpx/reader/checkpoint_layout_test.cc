// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// The layout rules run on any FileSource: here an in-memory one, as an
// object store's would be, with no local files involved.

#include "cpp/ocpx/reader/checkpoint_layout.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_reader {
namespace {

// Files and directories by path relative to the checkpoint ("../x" beside
// it); a directory is listed with a trailing '/'.
class MemorySource : public FileSource {
 public:
  explicit MemorySource(std::vector<std::string> entries) {
    for (const std::string& e : entries) {
      std::string p = e;
      const bool dir = absl::EndsWith(p, "/");
      if (dir) p.pop_back();
      kinds_[p] = dir ? FileKind::kDirectory : FileKind::kFile;
      // Every ancestor is a directory.
      for (size_t i = p.find('/'); i != std::string::npos;
           i = p.find('/', i + 1)) {
        if (p.substr(0, i) != "..") {
          kinds_[p.substr(0, i)] = FileKind::kDirectory;
        }
      }
    }
    kinds_[""] = FileKind::kDirectory;
  }
  absl::StatusOr<FileKind> Stat(absl::string_view rel) const override {
    auto it = kinds_.find(std::string(rel));
    return it == kinds_.end() ? FileKind::kMissing : it->second;
  }
  absl::StatusOr<bool> IsSymlink(absl::string_view) const override {
    return false;
  }
  absl::StatusOr<std::vector<std::string>> ListDirectories(
      absl::string_view rel) const override {
    const std::string prefix = rel.empty() ? "" : absl::StrCat(rel, "/");
    std::vector<std::string> out;
    for (const auto& [p, k] : kinds_) {
      if (k != FileKind::kDirectory || p.empty() ||
          !absl::StartsWith(p, prefix) || absl::StartsWith(p, "..")) {
        continue;
      }
      const std::string rest = p.substr(prefix.size());
      if (!rest.empty() && !absl::StrContains(rest, "/")) out.push_back(rest);
    }
    return out;
  }
  std::string Describe() const override { return "mem://ckpt"; }

 private:
  std::map<std::string, FileKind> kinds_;
};

LayoutOptions Named(std::optional<std::string> name) {
  LayoutOptions o;
  o.checkpointable = std::move(name);
  return o;
}

TEST(CheckpointLayoutTest, V1StateFirstThenSorted) {
  MemorySource src({"orbax.checkpoint", "_CHECKPOINT_METADATA",
                    "alpha/_METADATA", "state/_METADATA", "metrics/",
                    "x.orbax-checkpoint-tmp-1/"});
  auto names = CheckpointableNames(src, std::nullopt);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"state", "alpha"}));
  auto r = ResolveCheckpoint(src, Named("AUTO"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->layout, CheckpointLayout::kV1);
  EXPECT_EQ(r->checkpointable, "state");
  // A v1 checkpoint has no flat PyTree; a pending deletion hides a name.
  EXPECT_TRUE(absl::IsInvalidArgument(
      ResolveCheckpoint(src, Named(std::nullopt)).status()));
  LayoutOptions o = Named("state");
  o.pending_deletion = "state";
  EXPECT_TRUE(absl::IsAborted(ResolveCheckpoint(src, o).status()));
  o.checkpointable = "AUTO";
  EXPECT_EQ(ResolveCheckpoint(src, o)->checkpointable, "alpha");
}

TEST(CheckpointLayoutTest, V0FlatAndLostMetadata) {
  MemorySource flat({"_METADATA", "manifest.ocdbt", "d/"});
  auto r = ResolveCheckpoint(flat, Named("AUTO"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->layout, CheckpointLayout::kV0Flat);
  EXPECT_FALSE(r->checkpointable.has_value());
  // A flat PyTree whose _METADATA was lost: AUTO rebuilds it; asking for
  // it by name (checkpointable_name=None) needs _METADATA, as in Orbax,
  // unless the caller reads lost trees (the CLI).
  MemorySource lost({"manifest.ocdbt", "d/", "ocdbt.process_0/"});
  EXPECT_FALSE(ResolveCheckpoint(lost, Named("AUTO"))->checkpointable);
  EXPECT_TRUE(absl::IsInvalidArgument(
      ResolveCheckpoint(lost, Named(std::nullopt)).status()));
  LayoutOptions cli = Named(std::nullopt);
  cli.explicit_needs_metadata = false;
  EXPECT_TRUE(ResolveCheckpoint(lost, cli).ok());
}

TEST(CheckpointLayoutTest, NotCheckpoints) {
  MemorySource item({"../_CHECKPOINT_METADATA", "_METADATA"});
  EXPECT_TRUE(
      absl::IsInvalidArgument(CheckCheckpointDir(item, false).status()));
  EXPECT_FALSE(*IsOrbaxCheckpoint(item, false));
  MemorySource steps({"1/_CHECKPOINT_METADATA", "2/_CHECKPOINT_METADATA"});
  auto s = CheckCheckpointDir(steps, false);
  EXPECT_TRUE(absl::StrContains(s.status().message(), "several checkpoints"));
  MemorySource uncommitted({"_CHECKPOINT_METADATA", "orbax.checkpoint"});
  EXPECT_TRUE(CheckCheckpointDir(uncommitted, false).ok());
  EXPECT_FALSE(CheckCheckpointDir(uncommitted, true).ok());
  MemorySource committed(
      {"_CHECKPOINT_METADATA", "orbax.checkpoint", "commit_success.txt"});
  EXPECT_TRUE(*CheckCheckpointDir(committed, true));
}

}  // namespace
}  // namespace internal_reader
}  // namespace ocpx

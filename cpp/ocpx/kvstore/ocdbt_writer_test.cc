// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/kvstore/ocdbt_writer.h"

#include <stdlib.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/base/status_macros.h"
#include "cpp/ocpx/base/test_temp_dir.h"
#include "cpp/ocpx/kvstore/internal/file_io.h"
#include "cpp/ocpx/kvstore/ocdbt_reader.h"
#include "gtest/gtest.h"

namespace ocpx {
namespace internal_ocdbt {
namespace {

std::string TempDir() {
  std::string d = internal_testing::MakeTestTempDir("ocdbt");
  EXPECT_NE(d, "");
  return d;
}

std::map<std::string, std::string> ReadAll(const std::string& path,
                                           std::optional<uint64_t> g = {}) {
  OcdbtReadOptions o;
  o.generation = g;
  auto r = OcdbtReader::Open(path, o);
  EXPECT_TRUE(r.ok()) << r.status();
  std::map<std::string, std::string> out;
  EXPECT_TRUE((*r)->List(KeyRange{},
                         [&](absl::string_view k, absl::string_view v) {
                           out.emplace(k, v);
                           return absl::OkStatus();
                         })
                  .ok());
  return out;
}

TEST(OcdbtWriterTest, ConcurrentPutsMultiLevelTree) {
  const std::string dir = TempDir();
  OcdbtWriteOptions o;
  o.max_decoded_node_bytes = 2000;
  o.target_data_file_size = 10000;
  auto t = OcdbtTransaction::Begin(dir, o);
  ASSERT_TRUE(t.ok()) << t.status();
  std::map<std::string, std::string> expected;
  for (int th = 0; th < 4; ++th) {
    for (int i = 0; i < 500; ++i) {
      expected[absl::StrCat("key/", th, "/", i)] =
          std::string(i % 250, 'a' + th);
    }
  }
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 500; ++i) {
        const std::string k = absl::StrCat("key/", th, "/", i);
        ASSERT_TRUE((*t)->Put(k, expected.at(k)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto g = (*t)->Commit();
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*g, 1u);
  EXPECT_FALSE((*t)->Put("late", "x").ok());
  auto r = OcdbtReader::Open(dir);
  ASSERT_TRUE(r.ok());
  EXPECT_GE((*r)->version().root_height, 2);
  EXPECT_EQ((*r)->num_keys(), expected.size());
  EXPECT_EQ(ReadAll(dir), expected);
  auto v = (*r)->Get("key/2/77");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, expected["key/2/77"]);
  EXPECT_FALSE((*(*r)->Get("key/2/77x")).has_value());
  EXPECT_FALSE((*(*r)->Get("")).has_value());
  // Prefix listing.
  int n = 0;
  ASSERT_TRUE((*r)->ListEntries(KeyRange::Prefix("key/3/4"),
                                [&](absl::string_view k, const LeafNodeEntry&) {
                                  EXPECT_EQ(k.substr(0, 7), "key/3/4");
                                  ++n;
                                  return absl::OkStatus();
                                })
                  .ok());
  EXPECT_EQ(n, 111);
}

TEST(OcdbtWriterTest, GenerationsAndVersionTree) {
  const std::string dir = TempDir();
  OcdbtWriteOptions o;
  o.version_tree_arity_log2 = 1;
  for (int g = 1; g <= 21; ++g) {
    auto got =
        OcdbtCommit(dir, {{absl::StrCat("g", g), std::string(g * 20, 'v')}},
                    {absl::StrCat("g", g - 2)}, o);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, uint64_t(g));
  }
  auto r = OcdbtReader::Open(dir);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)->manifest().version_tree_nodes.empty());
  auto versions = (*r)->ListVersions();
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), 21u);
  for (int g = 1; g <= 21; ++g) {
    EXPECT_EQ((*versions)[g - 1].generation, uint64_t(g));
    auto all = ReadAll(dir, g);
    EXPECT_EQ(all.count(absl::StrCat("g", g)), 1u) << g;
    EXPECT_EQ(all.size(), g == 1 ? 1u : 2u) << g;
  }
  OcdbtReadOptions missing;
  missing.generation = 22;
  EXPECT_TRUE(absl::IsNotFound(OcdbtReader::Open(dir, missing).status()));
}

TEST(OcdbtWriterTest, MergeInterleavedChildren) {
  const std::string dir = TempDir();
  std::map<std::string, std::string> expected;
  for (int c = 0; c < 3; ++c) {
    std::vector<std::pair<std::string, std::string>> puts;
    for (int i = 0; i < 50; ++i) {
      const std::string k = absl::StrCat("arr/c/", i * 3 + c);
      puts.emplace_back(k, std::string(100 + 20 * i, 'a' + c));
      expected[k] = puts.back().second;
    }
    ASSERT_TRUE(OcdbtCommit(absl::StrCat(dir, "/ocdbt.process_", c), puts, {},
                            OcdbtWriteOptions::Orbax())
                    .ok());
  }
  auto g = OcdbtMerge(
      dir, {"ocdbt.process_0", "ocdbt.process_1/", "ocdbt.process_2"});
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(ReadAll(dir), expected);
  auto r = OcdbtReader::Open(dir);
  auto e = (*r)->GetEntry("arr/c/149");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(e->has_value());
  EXPECT_TRUE((*e)->indirect);
  EXPECT_EQ((*e)->ref.file.base_path, "ocdbt.process_2/");
  EXPECT_EQ((*r)->config().max_inline_value_bytes, 1024u);
  // Duplicate keys across children.
  auto dup = OcdbtMerge(dir, {"ocdbt.process_0", "ocdbt.process_0"});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("arr/c/0"), std::string::npos);
}

// Commits `puts` as `<dir>/ocdbt.process_0`, with Orbax's options.
void CommitChild(const std::string& dir,
                 const std::vector<std::pair<std::string, std::string>>& puts) {
  auto g = OcdbtCommit(absl::StrCat(dir, "/ocdbt.process_0"), puts, {},
                       OcdbtWriteOptions::Orbax());
  ASSERT_TRUE(g.ok()) << g.status();
}

TEST(OcdbtWriterTest, MergeIntoParentWithKeysKeepsThem) {
  // A parent that already has keys takes the key-by-key path; a fresh one
  // the bulk path.  Both give the union.
  const std::string dir = TempDir();
  CommitChild(dir, {{"b", "child"}, {"c", std::string(3000, 'c')}});
  ASSERT_TRUE(
      OcdbtCommit(dir, {{"a", "parent"}}, {}, OcdbtWriteOptions::Orbax()).ok());
  auto g = OcdbtMerge(dir, {"ocdbt.process_0"}, OcdbtWriteOptions::Orbax());
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*g, 2u);
  std::map<std::string, std::string> expected = {
      {"a", "parent"}, {"b", "child"}, {"c", std::string(3000, 'c')}};
  EXPECT_EQ(ReadAll(dir), expected);
}

TEST(OcdbtWriterTest, MergeStoresOutOfLineWhatTheParentWouldNotInline) {
  // The children inline values up to 1024 bytes; a parent configured to
  // inline at most 16 stores the longer ones in its own data files.
  const std::string dir = TempDir();
  CommitChild(dir, {{"short", "s"}, {"long", std::string(500, 'l')}});
  OcdbtWriteOptions parent = OcdbtWriteOptions::Orbax();
  parent.max_inline_value_bytes = 16;
  auto g = OcdbtMerge(dir, {"ocdbt.process_0"}, parent);
  ASSERT_TRUE(g.ok()) << g.status();
  std::map<std::string, std::string> expected = {
      {"long", std::string(500, 'l')}, {"short", "s"}};
  EXPECT_EQ(ReadAll(dir), expected);
  auto r = OcdbtReader::Open(dir);
  ASSERT_TRUE(r.ok());
  auto e = (*r)->GetEntry("long");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_TRUE((*e)->indirect);
  EXPECT_EQ((*e)->ref.file.base_path, "");  // the parent's own data file
}

LeafNodeEntry InlineEntry(std::string key, std::string value) {
  LeafNodeEntry e;
  e.key = std::move(key);
  e.inline_value = std::move(value);
  return e;
}

TEST(OcdbtWriterTest, CommitSortedChecksItsInput) {
  const std::string dir = TempDir();
  auto begin = [&](const std::string& path) {
    auto t = OcdbtTransaction::Begin(path, OcdbtWriteOptions::Orbax());
    EXPECT_TRUE(t.ok()) << t.status();
    return *std::move(t);
  };
  {
    std::vector<LeafNodeEntry> unsorted = {InlineEntry("b", "1"),
                                           InlineEntry("a", "2")};
    auto g = begin(dir + "/x")->CommitSorted(std::move(unsorted));
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(g.status().message().find("\"a\""), std::string::npos);
  }
  {
    std::vector<LeafNodeEntry> dup = {InlineEntry("a", "1"),
                                      InlineEntry("a", "2")};
    EXPECT_EQ(begin(dir + "/x")->CommitSorted(std::move(dup)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  {
    std::vector<LeafNodeEntry> big = {InlineEntry("a", std::string(2000, 'x'))};
    auto g = begin(dir + "/x")->CommitSorted(std::move(big));
    EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(g.status().message().find("1024"), std::string::npos);
  }
  {
    LeafNodeEntry past_end;
    past_end.key = "a";
    past_end.indirect = true;
    past_end.ref.file.relative_path = "d/x";
    past_end.ref.offset = kMaxOffsetPlusLength - 1;  // offset + length is
    past_end.ref.length = 4;                         // past the maximum
    std::vector<LeafNodeEntry> v;
    v.push_back(std::move(past_end));
    EXPECT_EQ(begin(dir + "/x")->CommitSorted(std::move(v)).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  {
    auto t = begin(dir + "/x");
    ASSERT_TRUE(t->Put("p", "pending").ok());
    std::vector<LeafNodeEntry> v = {InlineEntry("a", "1")};
    EXPECT_EQ(t->CommitSorted(std::move(v)).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // The failed attempts published nothing; a good one publishes exactly its
  // entries, after which the database has keys and bulk commits refuse it.
  EXPECT_FALSE(OcdbtReader::Open(dir + "/x").ok());
  std::vector<LeafNodeEntry> good = {InlineEntry("a", "1"),
                                     InlineEntry("b", "22")};
  auto g = begin(dir + "/x")->CommitSorted(std::move(good));
  ASSERT_TRUE(g.ok()) << g.status();
  std::map<std::string, std::string> expected = {{"a", "1"}, {"b", "22"}};
  EXPECT_EQ(ReadAll(dir + "/x"), expected);
  std::vector<LeafNodeEntry> more = {InlineEntry("c", "3")};
  EXPECT_EQ(begin(dir + "/x")->CommitSorted(std::move(more)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(OcdbtWriterTest, DeleteEverythingGivesMissingRoot) {
  const std::string dir = TempDir();
  ASSERT_TRUE(
      OcdbtCommit(dir, {{"a", "1"}, {"b", std::string(500, 'b')}}, {}).ok());
  ASSERT_TRUE(OcdbtCommit(dir, {}, {"a", "b"}).ok());
  auto r = OcdbtReader::Open(dir);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->version().root.IsMissing());
  EXPECT_TRUE(ReadAll(dir).empty());
  EXPECT_EQ(ReadAll(dir, 1).size(), 2u);
  auto bad = OcdbtCommit(dir, {{std::string(65536, 'k'), ""}}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OcdbtWriterTest, ReadYourWrites) {
  const std::string dir = TempDir();
  ASSERT_TRUE(OcdbtCommit(dir, {{"old", "o"}, {"gone", "g"}}, {}).ok());
  auto t = OcdbtTransaction::Begin(dir);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Put("big", std::string(5000, 'b')).ok());
  ASSERT_TRUE((*t)->Put("small", "s").ok());
  ASSERT_TRUE((*t)->Delete("gone").ok());
  EXPECT_EQ(*(*(*t)->Get("big")), std::string(5000, 'b'));
  EXPECT_EQ(*(*(*t)->Get("small")), "s");
  EXPECT_EQ(*(*(*t)->Get("old")), "o");
  EXPECT_FALSE((*(*t)->Get("gone")).has_value());
  EXPECT_FALSE((*(*t)->Get("never")).has_value());
  ASSERT_TRUE((*t)->Commit().ok());
  EXPECT_EQ(ReadAll(dir).size(), 3u);
}

// Transactions racing on one base generation: exactly one commit wins, the
// others are Aborted, and the winner's contents are what the database holds.
void RaceCommits(const std::string& db, int writers, int round = 0) {
  std::vector<std::unique_ptr<OcdbtTransaction>> txns;
  for (int i = 0; i < writers; ++i) {
    auto t = OcdbtTransaction::Begin(db);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE((*t)->Put("who", absl::StrCat("writer", i)).ok());
    ASSERT_TRUE((*t)->Put(absl::StrCat("only", round, ".", i),
                          std::string(3000, 'a' + i))
                    .ok());
    txns.push_back(*std::move(t));
  }
  const uint64_t base = txns[0]->base_generation();
  std::vector<absl::StatusOr<uint64_t>> results(writers,
                                                absl::UnknownError(""));
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i) {
    threads.emplace_back([&, i] { results[i] = txns[i]->Commit(); });
  }
  for (auto& t : threads) t.join();
  int winner = -1;
  for (int i = 0; i < writers; ++i) {
    if (results[i].ok()) {
      EXPECT_EQ(winner, -1) << "two commits on generation " << base << " won";
      winner = i;
      EXPECT_EQ(*results[i], base + 1);
    } else {
      EXPECT_TRUE(absl::IsAborted(results[i].status())) << results[i].status();
    }
  }
  ASSERT_NE(winner, -1);
  auto contents = ReadAll(db);
  EXPECT_EQ(contents["who"], absl::StrCat("writer", winner));
  for (int i = 0; i < writers; ++i) {
    EXPECT_EQ(contents.count(absl::StrCat("only", round, ".", i)),
              i == winner ? 1u : 0u);
  }
}

TEST(OcdbtWriterTest, ConcurrentCommitsOnNewDatabaseOneWins) {
  RaceCommits(TempDir() + "/db", 8);
}

TEST(OcdbtWriterTest, ConcurrentCommitsOnExistingDatabaseOneWins) {
  const std::string db = TempDir() + "/db";
  ASSERT_TRUE(OcdbtCommit(db, {{"base", "1"}}, {}).ok());
  for (int round = 0; round < 5; ++round) RaceCommits(db, 6, round);
  EXPECT_EQ(ReadAll(db)["base"], "1");
}

// A value of `n` pseudo-random bytes (seeded), handed over in pieces of
// varying sizes.
std::string PseudoRandom(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed | 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

absl::Status ProduceInPieces(const std::string& value,
                             const OcdbtTransaction::PieceSink& sink) {
  size_t pos = 0, piece = 1;
  while (pos < value.size()) {
    const size_t n = std::min(piece, value.size() - pos);
    OCPX_RETURN_IF_ERROR(sink(absl::string_view(value).substr(pos, n)));
    pos += n;
    piece = piece * 7 % 1000003 + 4093;  // unaligned, some over 1 MiB
  }
  return absl::OkStatus();
}

TEST(OcdbtWriterTest, StreamedPutsConcurrentReadableAndDurable) {
  for (bool direct : {true, false}) {
    const std::string dir = TempDir();
    OcdbtWriteOptions o;
    o.direct_io = direct;
    o.target_data_file_size = 20 << 20;
    auto t = OcdbtTransaction::Begin(dir, o);
    ASSERT_TRUE(t.ok()) << t.status();
    std::map<std::string, std::string> expected;
    for (int th = 0; th < 3; ++th) {
      for (int i = 0; i < 4; ++i) {
        // Sizes around block and staging-buffer boundaries, and one empty.
        const size_t n = th == 0 && i == 0 ? 0 : (i * 5 + th) * 1048573 + 17;
        expected[absl::StrCat("s/", th, "/", i)] = PseudoRandom(n, th * 7 + i);
      }
    }
    std::vector<std::thread> threads;
    for (int th = 0; th < 3; ++th) {
      threads.emplace_back([&, th] {
        for (int i = 0; i < 4; ++i) {
          const std::string key = absl::StrCat("s/", th, "/", i);
          const std::string& v = expected[key];
          ASSERT_TRUE((*t)->PutStreamed(key,
                                        [&](const auto& sink) {
                                          return ProduceInPieces(v, sink);
                                        })
                          .ok());
          // Readable before the commit (read-your-writes).
          auto got = (*t)->Get(key);
          ASSERT_TRUE(got.ok()) << got.status();
          ASSERT_TRUE(got->has_value());
          EXPECT_TRUE(**got == v) << key;
          // Interleaved with ordinary puts into the shared data file.
          ASSERT_TRUE(
              (*t)->Put(absl::StrCat("p/", th, "/", i), std::string(2000, 'p'))
                  .ok());
        }
      });
    }
    for (auto& th : threads) th.join();
    // A producer that fails leaves the key as it was.
    absl::Status failed = (*t)->PutStreamed(
        "s/0/1", [](const OcdbtTransaction::PieceSink& sink) -> absl::Status {
          OCPX_RETURN_IF_ERROR(sink(std::string(100000, 'x')));
          return absl::DataLossError("encoder failed");
        });
    EXPECT_EQ(failed.code(), absl::StatusCode::kDataLoss);
    ASSERT_TRUE((*t)->Commit().ok());
    auto all = ReadAll(dir);
    for (const auto& [k, v] : expected) {
      EXPECT_TRUE(all[k] == v) << k << " direct=" << direct;
    }
    EXPECT_EQ(all["p/2/3"], std::string(2000, 'p'));
    EXPECT_TRUE(
        (*t)->PutStreamed("late", [](const auto&) { return absl::OkStatus(); })
            .code() == absl::StatusCode::kFailedPrecondition);
  }
}

TEST(DirectAppenderTest, AppendsFlushesAndTruncates) {
  const std::string path = TempDir() + "/data";
  auto f = internal_kvstore::WritableFile::Create(path);
  ASSERT_TRUE(f.ok()) << f.status();
  auto a = internal_kvstore::DirectAppender::Open(path);
  ASSERT_TRUE(a.ok()) << a.status();
  if (*a == nullptr) GTEST_SKIP() << "no O_DIRECT on " << path;
  std::string expected;
  for (size_t n : {size_t{1}, size_t{4095}, size_t{4097}, size_t{5} << 20,
                   size_t{0}, size_t{12345}}) {
    const std::string piece = PseudoRandom(n, static_cast<uint32_t>(n));
    ASSERT_TRUE((*a)->Append(piece).ok());
    EXPECT_EQ((*a)->holds_stage(), n > 0);
    expected += piece;
    ASSERT_TRUE((*a)->Flush().ok());
    EXPECT_FALSE((*a)->holds_stage());  // between appends: the tail only
    EXPECT_EQ((*a)->size(), expected.size());
    auto back = internal_kvstore::ReadFileRange(path, 0, expected.size(), "x");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == expected) << "after " << n;
  }
  ASSERT_TRUE((*a)->Finish().ok());
  ASSERT_TRUE((*f)->SyncAndClose().ok());
  auto whole = internal_kvstore::ReadWholeFile(path, 1 << 30);
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(*whole == expected);  // no padding left
  EXPECT_EQ((*a)->Append("x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(OcdbtReaderTest, MissingDatabase) {
  auto r = OcdbtReader::Open(TempDir() + "/none");
  EXPECT_TRUE(absl::IsNotFound(r.status()));
  EXPECT_NE(r.status().message().find("manifest.ocdbt"), std::string::npos);
}

TEST(OcdbtReaderTest, PrefixRange) {
  EXPECT_EQ(KeyRange::Prefix("ab").exclusive_max, "ac");
  EXPECT_EQ(KeyRange::Prefix("a\xff").exclusive_max, "b");
  EXPECT_EQ(KeyRange::Prefix("\xff\xff").exclusive_max, "");
  EXPECT_EQ(KeyRange::Prefix("").exclusive_max, "");
}

}  // namespace
}  // namespace internal_ocdbt
}  // namespace ocpx

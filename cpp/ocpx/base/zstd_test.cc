// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/zstd.h"

#include <zstd.h>

#include <string>

#include "gtest/gtest.h"

namespace {

std::string TestData(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * i) % 13));
  return s;
}

TEST(ZstdTest, RoundTrip) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{1} << 20}) {
    const std::string data = TestData(n);
    auto frame = ocpx::internal::ZstdCompress(data, 3);
    ASSERT_TRUE(frame.ok()) << frame.status();
    auto back = ocpx::internal::ZstdDecompress(*frame, n);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, data);
    std::string into(n, '\0');
    ASSERT_TRUE(
        ocpx::internal::ZstdDecompressInto(*frame, absl::MakeSpan(into)).ok());
    EXPECT_EQ(into, data);
  }
}

TEST(ZstdTest, CompressStreamedIsOneFrameInBoundedPieces) {
  // Incompressible bytes, so that the frame spans several pieces.
  std::string data(size_t{5} << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  for (const std::string& input : {std::string(), TestData(1000), data}) {
    for (bool checksum : {false, true}) {
      std::string frame;
      size_t pieces = 0;
      absl::Status s = ocpx::internal::ZstdCompressStreamed(
          input, 3, checksum, [&](absl::string_view piece) {
            EXPECT_GT(piece.size(), 0u);
            EXPECT_LE(piece.size(), ocpx::internal::kZstdPieceBytes);
            frame.append(piece.data(), piece.size());
            ++pieces;
            return absl::OkStatus();
          });
      ASSERT_TRUE(s.ok()) << s;
      EXPECT_GE(pieces, input.size() / ocpx::internal::kZstdPieceBytes);
      EXPECT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()),
                input.size());
      auto back = ocpx::internal::ZstdDecompress(frame, input.size());
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, input);
    }
  }
  // The sink's error stops the compression and is returned; the thread's
  // context is usable afterwards.
  int calls = 0;
  absl::Status s = ocpx::internal::ZstdCompressStreamed(
      data, 3, false, [&](absl::string_view) {
        ++calls;
        return absl::UnavailableError("disk gone");
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 1);
  auto frame = ocpx::internal::ZstdCompress(TestData(100), 3);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(*ocpx::internal::ZstdDecompress(*frame, 100), TestData(100));
  EXPECT_EQ(
      ocpx::internal::ZstdCompressStreamed(
          "x", 1000, false, [](absl::string_view) { return absl::OkStatus(); })
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(ZstdTest, CompressAppendKeepsThePrefixAndGrowsWithTheFrame) {
  for (size_t n : {size_t{0}, size_t{100}, size_t{64} << 10,
                   (size_t{64} << 10) + 1, size_t{8} << 20}) {
    const std::string data = TestData(n);
    std::string out = "head";
    ASSERT_TRUE(ocpx::internal::ZstdCompressAppend(data, 3, false, &out).ok());
    ASSERT_EQ(out.substr(0, 4), "head");
    const absl::string_view frame = absl::string_view(out).substr(4);
    auto back = ocpx::internal::ZstdDecompress(frame, n);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, data);
    if (n == (size_t{8} << 20)) {
      // The data compresses well: the output never held the input's bound.
      EXPECT_LT(out.capacity(), n / 8) << "frame of " << frame.size();
    }
  }
  std::string out = "head";
  EXPECT_EQ(
      ocpx::internal::ZstdCompressAppend(TestData(1 << 20), 1000, false, &out)
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out, "head");
}

TEST(ZstdTest, StreamDecoderFedInPieces) {
  const std::string data = TestData(size_t{3} << 20);
  const std::string frame = *ocpx::internal::ZstdCompress(data, 3);
  for (size_t piece : {size_t{1}, size_t{4096}, size_t{1} << 20}) {
    if (piece == 1 && frame.size() > (1 << 16)) continue;  // too slow
    std::string out(data.size(), '\0');
    ocpx::internal::ZstdStreamDecoder dec(absl::MakeSpan(out));
    for (size_t i = 0; i < frame.size(); i += piece) {
      ASSERT_TRUE(dec.Feed(absl::string_view(frame).substr(i, piece)).ok());
    }
    ASSERT_TRUE(dec.Finish().ok());
    EXPECT_EQ(out, data);
  }
  // Truncated, too long for the output, too short, trailing bytes.
  std::string out(data.size(), '\0');
  {
    ocpx::internal::ZstdStreamDecoder dec(absl::MakeSpan(out));
    ASSERT_TRUE(
        dec.Feed(absl::string_view(frame).substr(0, frame.size() / 2)).ok());
    EXPECT_EQ(dec.Finish().code(), absl::StatusCode::kDataLoss);
  }
  {
    ocpx::internal::ZstdStreamDecoder dec(absl::MakeSpan(out).subspan(1));
    absl::Status s = dec.Feed(frame);
    if (s.ok()) s = dec.Finish();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  }
  {
    std::string bigger(data.size() + 1, '\0');
    ocpx::internal::ZstdStreamDecoder dec(absl::MakeSpan(bigger));
    ASSERT_TRUE(dec.Feed(frame).ok());
    EXPECT_EQ(dec.Finish().code(), absl::StatusCode::kDataLoss);
  }
  {
    ocpx::internal::ZstdStreamDecoder dec(absl::MakeSpan(out));
    absl::Status s = dec.Feed(frame + "x");
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  }
}

TEST(ZstdTest, FrameMagicAndChecksum) {
  auto frame =
      ocpx::internal::ZstdCompress(TestData(100), 0, /*checksum=*/true);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  auto back = ocpx::internal::ZstdDecompress(*frame, 100);
  ASSERT_TRUE(back.ok());
  // Corrupting the content checksum is detected.
  std::string bad = *frame;
  bad.back() ^= 1;
  EXPECT_FALSE(ocpx::internal::ZstdDecompress(bad, 100).ok());
}

TEST(ZstdTest, RejectsTwoFrames) {
  auto a = ocpx::internal::ZstdCompress("hello", 3);
  ASSERT_TRUE(a.ok());
  auto s = ocpx::internal::ZstdDecompress(*a + *a, 100);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
}

TEST(ZstdTest, RejectsTruncationAndGarbage) {
  auto a = ocpx::internal::ZstdCompress(TestData(5000), 3);
  ASSERT_TRUE(a.ok());
  for (size_t cut : {size_t{0}, size_t{3}, size_t{10}, a->size() - 1}) {
    EXPECT_FALSE(
        ocpx::internal::ZstdDecompress(a->substr(0, cut), 1 << 20).ok())
        << "cut=" << cut;
  }
  EXPECT_FALSE(ocpx::internal::ZstdDecompress("not a zstd frame", 100).ok());
}

TEST(ZstdTest, OutputLimitIsEnforced) {
  auto a = ocpx::internal::ZstdCompress(TestData(5000), 3);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(ocpx::internal::ZstdDecompress(*a, 4999).status().code(),
            absl::StatusCode::kResourceExhausted);
  std::string small(10, '\0');
  EXPECT_EQ(
      ocpx::internal::ZstdDecompressInto(*a, absl::MakeSpan(small)).code(),
      absl::StatusCode::kDataLoss);
}

TEST(ZstdTest, UnknownContentSizeStreams) {
  // A streamed frame without a content size.
  const std::string data = TestData(300000);
  ZSTD_CCtx* c = ZSTD_createCCtx();
  std::string frame(ZSTD_compressBound(data.size()) + 64, '\0');
  ZSTD_outBuffer out{frame.data(), frame.size(), 0};
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  ZSTD_compressStream(c, &out, &in);
  ZSTD_endStream(c, &out);
  ZSTD_freeCCtx(c);
  frame.resize(out.pos);
  ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()),
            ZSTD_CONTENTSIZE_UNKNOWN);
  auto back = ocpx::internal::ZstdDecompress(frame, data.size());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, data);
  EXPECT_EQ(
      ocpx::internal::ZstdDecompress(frame, data.size() - 1).status().code(),
      absl::StatusCode::kResourceExhausted);
  std::string into(data.size(), '\0');
  ASSERT_TRUE(
      ocpx::internal::ZstdDecompressInto(frame, absl::MakeSpan(into)).ok());
  EXPECT_EQ(into, data);
}

TEST(ZstdTest, InvalidLevel) {
  EXPECT_EQ(ocpx::internal::ZstdCompress("x", 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace

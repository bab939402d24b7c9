// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdlib>  // defines __GLIBC__ on glibc
#include <string>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "absl/strings/string_view.h"
#include "cpp/ocpx/base/crc32c.h"
#include "cpp/ocpx/base/prefetch_tree.h"
#include "cpp/ocpx/base/sync_tree.h"
#include "cpp/ocpx/base/zstd.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

using ::ocpx::internal::Crc32c;
using ::ocpx::internal::PrefetchStats;
using ::ocpx::internal::StartPrefetchTree;
using ::ocpx::internal::SyncMethod;
using ::ocpx::internal::SyncTree;
using ::ocpx::internal::TreePrefetch;
using ::ocpx::internal::ZstdCompress;
using ::ocpx::internal::ZstdDecompress;

namespace {

// Any C-contiguous CPU buffer, viewed as bytes without copying.
using ByteArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

absl::string_view AsBytes(const ByteArray& a) {
  return {static_cast<const char*>(a.data()), a.nbytes()};
}

}  // namespace

void RegisterBase(nb::module_& m) {
  m.def(
      "release_free_heap",
      []() {
        nb::gil_scoped_release release;
#if defined(__GLIBC__)
        return ::malloc_trim(0) != 0;
#else
        return false;
#endif
      },
      "Returns the C heap's free memory to the system (glibc's malloc_trim); "
      "True if any was.  Freed memory otherwise stays in the process's "
      "resident set, in the per-thread arenas of the threads that used it.");
  m.def(
      "sync_tree",
      [](const std::string& root) {
        std::vector<std::string> synced;
        SyncMethod method = SyncMethod::kPerEntry;
        absl::Status s;
        {
          nb::gil_scoped_release release;
          s = SyncTree(root, &synced, &method);
        }
        ThrowIfError(s);
        return std::make_pair(
            synced, method == SyncMethod::kFileSystem ? "syncfs" : "fsync");
      },
      nb::arg("root"),
      "Makes `root`, every directory below it and every regular file "
      "durable (the GIL released): one syncfs when the system has little "
      "dirty data on a local file system, else one fsync each, all at once "
      "from a pool of I/O threads.  Returns (the paths made durable, "
      "'syncfs' or 'fsync').  OSError (errno, path) on failure; entries "
      "removed meanwhile are skipped.");
  m.def(
      "prefetch_tree",
      [](const std::string& root, bool wait) -> nb::object {
        std::shared_ptr<TreePrefetch> prefetch = StartPrefetchTree(root);
        if (!wait) return nb::none();
        PrefetchStats stats;
        {
          nb::gil_scoped_release release;
          stats = prefetch->Wait();
        }
        return nb::make_tuple(stats.directories, stats.files, stats.bytes);
      },
      nb::arg("root"), nb::arg("wait") = false,
      nb::sig("def prefetch_tree(root: str, wait: bool = False) -> "
              "tuple[int, int, int] | None"),
      "Starts reading `root`'s directories, small files and the tails of "
      "large files from a pool of I/O threads, so that a load that follows "
      "finds them in the page cache; returns at once (None), or with "
      "`wait=True` when done, as (directories, files, bytes).  Advisory: "
      "errors are ignored; links and special files are not opened.");
  m.def(
      "crc32c",
      [](nb::bytes data) {
        absl::string_view v(data.c_str(), data.size());
        nb::gil_scoped_release release;
        return Crc32c(v);
      },
      nb::arg("data"), "CRC-32C of a bytes object.");
  m.def(
      "crc32c_array",
      [](const ByteArray& a) {
        nb::gil_scoped_release release;
        return Crc32c(AsBytes(a));
      },
      nb::arg("array").noconvert(),
      "CRC-32C of the raw bytes of a C-contiguous array (zero-copy).");
  m.def(
      "zstd_compress",
      [](nb::bytes data, int level, bool checksum) {
        absl::StatusOr<std::string> out;
        {
          absl::string_view v(data.c_str(), data.size());
          nb::gil_scoped_release release;
          out = ZstdCompress(v, level, checksum);
        }
        std::string s = ValueOrThrow(std::move(out));
        return nb::bytes(s.data(), s.size());
      },
      nb::arg("data"), nb::arg("level") = 3, nb::arg("checksum") = false,
      "Compresses into exactly one zstd frame.");
  m.def(
      "zstd_decompress",
      [](nb::bytes frame, size_t max_output_bytes) {
        absl::StatusOr<std::string> out;
        {
          absl::string_view v(frame.c_str(), frame.size());
          nb::gil_scoped_release release;
          out = ZstdDecompress(v, max_output_bytes);
        }
        std::string s = ValueOrThrow(std::move(out));
        return nb::bytes(s.data(), s.size());
      },
      nb::arg("frame"), nb::arg("max_output_bytes") = size_t{1} << 30,
      "Decompresses exactly one zstd frame, bounded by max_output_bytes.");
}

}  // namespace ocpx_python

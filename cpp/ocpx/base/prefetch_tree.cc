// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/prefetch_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cpp/ocpx/base/dir_entry.h"
#include "cpp/ocpx/base/thread_pool.h"
#include "cpp/ocpx/base/unique_fd.h"

namespace ocpx {
namespace internal {
namespace {

// The reads block on the device, not the CPU: more threads than cores keep
// several requests in flight.
constexpr size_t kPrefetchThreads = 8;

ThreadPool* PrefetchPool() {
  static ThreadPool* pool = new ThreadPool(kPrefetchThreads);
  return pool;
}

class TreePrefetchImpl : public TreePrefetch,
                         public std::enable_shared_from_this<TreePrefetchImpl> {
 public:
  explicit TreePrefetchImpl(PrefetchLimits limits) : limits_(limits) {}

  PrefetchStats Wait() override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](size_t* pending) { return *pending == 0; }, &pending_));
    return stats_;
  }

  void ScheduleDirectory(std::string path, size_t depth) {
    Schedule([self = shared_from_this(), path = std::move(path), depth] {
      self->VisitDirectory(path, depth);
    });
  }

 private:
  void ScheduleFile(std::string path) {
    Schedule([self = shared_from_this(), path = std::move(path)] {
      self->VisitFile(path);
    });
  }

  void Schedule(std::function<void()> fn) {
    {
      absl::MutexLock lock(&mu_);
      ++pending_;
    }
    PrefetchPool()->Schedule([self = shared_from_this(), fn = std::move(fn)] {
      fn();
      absl::MutexLock lock(&self->mu_);
      --self->pending_;
    });
  }

  // Claims one of the `max_entries`; false once they are used up.
  bool Claim() {
    return entries_.fetch_add(1, std::memory_order_relaxed) <
           limits_.max_entries;
  }

  void VisitDirectory(const std::string& path, size_t depth) {
    UniqueFd fd(
        ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return;
    DIR* dir = ::fdopendir(fd.get());
    if (dir == nullptr) return;
    fd.release();  // owned by `dir` now
    std::vector<std::string> subdirs;
    while (struct dirent* e = ::readdir(dir)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (!Claim()) break;
      std::string child = path + "/" + name;
      const EntryKind kind = KindOf(*e, child);
      if (kind == EntryKind::kRegularFile) {
        ScheduleFile(std::move(child));
      } else if (kind == EntryKind::kDirectory && depth < limits_.max_depth) {
        subdirs.push_back(std::move(child));
      }
    }
    ::closedir(dir);
    for (std::string& s : subdirs) ScheduleDirectory(std::move(s), depth + 1);
    absl::MutexLock lock(&mu_);
    ++stats_.directories;
  }

  void VisitFile(const std::string& path) {
    // O_NONBLOCK: a FIFO swapped in after the listing must not block here.
    UniqueFd fd(
        ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    const size_t size = static_cast<size_t>(st.st_size);
    const size_t want = std::min(size, limits_.tail_bytes);
    thread_local std::vector<char> buffer;
    if (buffer.size() < want) buffer.resize(want);
    size_t done = 0;
    while (done < want) {
      ssize_t n = ::pread(fd.get(), buffer.data() + done, want - done,
                          static_cast<off_t>(size - want + done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    absl::MutexLock lock(&mu_);
    ++stats_.files;
    stats_.bytes += done;
  }

  const PrefetchLimits limits_;
  std::atomic<size_t> entries_{0};
  absl::Mutex mu_;
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  PrefetchStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<TreePrefetch> StartPrefetchTree(const std::string& root,
                                                PrefetchLimits limits) {
  auto prefetch = std::make_shared<TreePrefetchImpl>(limits);
  prefetch->ScheduleDirectory(root, 0);
  return prefetch;
}

}  // namespace internal
}  // namespace ocpx

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Bindings for the arrays of a checkpointable directory (cpp/ocpx/checkpoint):
// what ocpx's PyTreeHandler reads and writes through.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/array/zarr2_metadata.h"
#include "cpp/ocpx/base/byte_limiter.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/thread_pool.h"
#include "cpp/ocpx/checkpoint/array_store.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/numpy_interop.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::ByteLimiter;
using ::ocpx::internal::ParallelFor;
using ::ocpx::internal::ThreadPool;
using ::ocpx::internal_checkpoint::CheckpointArrayReader;
using ::ocpx::internal_checkpoint::CheckpointArrayWriter;
using ::ocpx::internal_checkpoint::CheckpointArrayWriterOptions;
using ::ocpx::internal_zarr::ArrayMetadata;
using ::ocpx::internal_zarr::CodecSpec;
using ::ocpx::internal_zarr::MakeOrbaxArrayMetadata;
using ::ocpx::internal_zarr::MakeOrbaxZarr2ArrayMetadata;
using ::ocpx::internal_zarr::ReadBox;
using ::ocpx::internal_zarr::ValidateArrayMetadata;

namespace {

struct PyArrayReader {
  std::unique_ptr<CheckpointArrayReader> reader;
};

using BoxRequest = std::tuple<std::string, Shape, Shape>;

// Boxes of a checkpoint's arrays read into new host buffers: what
// `read_many` reads in one blocking call and `read_many_async` in the
// background.  Boxes of the same array form a group, read together so that
// a chunk several boxes need (resharding, replicas) is decoded once; an
// array's error is its group's status.
class BoxBatch {
 public:
  BoxBatch(CheckpointArrayReader* reader, std::vector<BoxRequest> reqs,
           bool fail_on_missing, ByteLimiter* limiter)
      : reader_(reader),
        reqs_(std::move(reqs)),
        fail_on_missing_(fail_on_missing),
        limiter_(limiter),
        dtypes_(reqs_.size()),
        bufs_(reqs_.size()),
        sizes_(reqs_.size()),
        group_of_(reqs_.size(), 0) {}

  size_t size() const { return reqs_.size(); }
  size_t num_groups() const { return groups_.size(); }

  // Checks every request and allocates its buffer (no GIL needed).  False
  // if a request is invalid: then no buffer is kept, nothing may be read,
  // and the first invalid request's BoxStatus says why.
  bool Prepare() {
    for (size_t i = 0; i < reqs_.size(); ++i) {
      const auto& [param, origin, shape] = reqs_[i];
      absl::Status st = PrepareBox(i, param, origin, shape);
      if (!st.ok()) {
        invalid_ = std::move(st);
        invalid_index_ = i;
        bufs_.clear();
        return false;
      }
    }
    absl::flat_hash_map<std::string_view, size_t> group_of;
    for (size_t i = 0; i < reqs_.size(); ++i) {
      auto [it, added] =
          group_of.try_emplace(std::get<0>(reqs_[i]), groups_.size());
      if (added) groups_.emplace_back();
      groups_[it->second].push_back(i);
      group_of_[i] = it->second;
    }
    group_status_.assign(groups_.size(), absl::OkStatus());
    return true;
  }

  // Reads group `g`'s boxes; records (never throws) its status.
  void ReadGroup(size_t g) {
    const std::vector<size_t>& group = groups_[g];
    absl::Status st;
    try {
      std::vector<ReadBox> boxes;
      boxes.reserve(group.size());
      for (size_t i : group) {
        boxes.push_back(ReadBox{std::get<1>(reqs_[i]), std::get<2>(reqs_[i]),
                                bufs_[i].get()});
      }
      st = reader_->ReadBoxes(std::get<0>(reqs_[group.front()]), boxes,
                              fail_on_missing_, limiter_);
    } catch (const std::bad_alloc&) {
      st = absl::ResourceExhaustedError(absl::StrCat(
          reader_->directory(), ": array '", std::get<0>(reqs_[group.front()]),
          "': out of memory while reading"));
    } catch (...) {
      st = absl::InternalError(absl::StrCat(reader_->directory(), ": array '",
                                            std::get<0>(reqs_[group.front()]),
                                            "': the read threw an exception"));
    }
    group_status_[g] = std::move(st);
  }

  // Marks group `g` as not read (the reads were cancelled).
  void SkipGroup(size_t g) {
    group_status_[g] = absl::CancelledError(absl::StrCat(
        reader_->directory(), ": array '", std::get<0>(reqs_[groups_[g][0]]),
        "': the read was cancelled"));
  }

  size_t GroupOf(size_t i) const { return group_of_[i]; }

  // Box i's error: its request's if invalid, else its group's (once read).
  absl::Status BoxStatus(size_t i) const {
    if (!invalid_.ok()) {
      return i == invalid_index_ ? invalid_ : absl::OkStatus();
    }
    return group_status_[group_of_[i]];
  }

  // Box i as a numpy array owning its buffer (the GIL held); once.
  nb::object Take(size_t i) {
    if (bufs_[i] == nullptr) {
      throw nb::value_error(
          absl::StrCat("box ", i, " was already taken").c_str());
    }
    return OwnedArray(std::move(bufs_[i]), sizes_[i], dtypes_[i],
                      std::get<2>(reqs_[i]));
  }

 private:
  absl::Status PrepareBox(size_t i, const std::string& param,
                          const Shape& origin, const Shape& shape) {
    // Only each box's data type is kept (not a copy of its array's whole
    // metadata per box: thousands of boxes add up).
    auto md = reader_->MetadataRef(param);
    if (!md.ok()) return md.status();
    dtypes_[i] = (*md)->dtype;
    if (origin.size() != (*md)->rank() || shape.size() != (*md)->rank()) {
      return absl::InvalidArgumentError(
          absl::StrCat(reader_->directory(), ": array '", param, "' has rank ",
                       (*md)->rank(), ", box has rank ", shape.size()));
    }
    absl::StatusOr<size_t> nbytes = BoxBytes(shape, dtypes_[i]);
    absl::StatusOr<HostBuffer> buf =
        nbytes.ok() ? AllocateBuffer(*nbytes)
                    : absl::StatusOr<HostBuffer>(nbytes.status());
    if (!buf.ok()) {
      return absl::Status(buf.status().code(),
                          absl::StrCat(reader_->directory(), ": array '", param,
                                       "': ", buf.status().message()));
    }
    sizes_[i] = *nbytes;
    bufs_[i] = *std::move(buf);
    return absl::OkStatus();
  }

  CheckpointArrayReader* const reader_;
  const std::vector<BoxRequest> reqs_;
  const bool fail_on_missing_;
  ByteLimiter* const limiter_;
  std::vector<ocpx::DataType> dtypes_;
  std::vector<HostBuffer> bufs_;
  std::vector<size_t> sizes_;
  std::vector<size_t> group_of_;
  std::vector<std::vector<size_t>> groups_;
  std::vector<absl::Status> group_status_;
  absl::Status invalid_;
  size_t invalid_index_ = 0;
};

// A BoxBatch read group by group on the default thread pool, in request
// order, while Python takes the boxes read so far.  The tasks share the
// state; the destructor cancels what has not started and waits for the
// rest, so no read outlives the reader or the limiter (which the Python
// object keeps alive).
class PendingBoxReads {
 public:
  explicit PendingBoxReads(std::shared_ptr<BoxBatch> batch)
      : state_(std::make_shared<State>(std::move(batch))) {
    State* st = state_.get();
    st->done.assign(st->batch->num_groups(), false);
    for (size_t g = 0; g < st->batch->num_groups(); ++g) {
      ThreadPool::Default()->Schedule([state = state_, g] {
        if (state->cancelled.load(std::memory_order_relaxed)) {
          state->batch->SkipGroup(g);
        } else {
          state->batch->ReadGroup(g);
        }
        absl::MutexLock lock(&state->mu);
        state->done[g] = true;
        ++state->finished;
      });
    }
  }
  PendingBoxReads(PendingBoxReads&&) = default;
  PendingBoxReads& operator=(PendingBoxReads&&) = delete;

  ~PendingBoxReads() {
    if (state_ == nullptr) return;  // moved from
    Cancel();
  }

  size_t size() const { return state_->batch->size(); }

  nb::object Take(size_t i) {
    State* st = state_.get();
    if (i >= st->batch->size()) {
      throw nb::index_error(
          absl::StrCat("no box ", i, " in a batch of ", st->batch->size())
              .c_str());
    }
    const size_t g = st->batch->GroupOf(i);
    {
      nb::gil_scoped_release release;
      std::pair<State*, size_t> arg{st, g};
      absl::MutexLock lock(&st->mu);
      st->mu.Await(absl::Condition(
          +[](std::pair<State*, size_t>* a) {
            return static_cast<bool>(a->first->done[a->second]);
          },
          &arg));
    }
    ThrowIfError(st->batch->BoxStatus(i));
    return st->batch->Take(i);
  }

  void Cancel() {
    State* st = state_.get();
    st->cancelled.store(true);
    nb::gil_scoped_release release;
    absl::MutexLock lock(&st->mu);
    st->mu.Await(absl::Condition(
        +[](State* s) { return s->finished == s->done.size(); }, st));
  }

 private:
  struct State {
    explicit State(std::shared_ptr<BoxBatch> b) : batch(std::move(b)) {}
    const std::shared_ptr<BoxBatch> batch;
    std::atomic<bool> cancelled{false};
    absl::Mutex mu;
    std::vector<bool> done;  // guarded by mu
    size_t finished = 0;     // guarded by mu
  };
  std::shared_ptr<State> state_;
};

struct PyArrayWriter {
  std::unique_ptr<CheckpointArrayWriter> writer;

  CheckpointArrayWriter& Get() {
    if (writer == nullptr) {
      ThrowStatus(
          absl::FailedPreconditionError("CheckpointArrayWriter is closed"));
    }
    return *writer;
  }
};

// The metadata Orbax writes: zarr3 (sharding_indexed, optionally with
// chunk checksums) or zarr2 (which has no checksum codec).
ArrayMetadata OrbaxMetadata(const Shape& shape, const std::string& dtype,
                            const Shape& chunk_shape,
                            std::optional<int> zstd_level, int zarr_format,
                            bool chunk_checksums) {
  auto dt = ValueOrThrow(ocpx::DataTypeFromName(dtype));
  ArrayMetadata md;
  if (zarr_format == 2) {
    if (chunk_checksums) {
      ThrowStatus(absl::InvalidArgumentError(
          "chunk_checksums: zarr v2 arrays have no checksum codec (use "
          "zarr_format=3)"));
    }
    md = MakeOrbaxZarr2ArrayMetadata(shape, dt, chunk_shape, zstd_level);
  } else if (zarr_format == 3) {
    md = MakeOrbaxArrayMetadata(shape, dt, chunk_shape, zstd_level,
                                chunk_checksums);
  } else {
    ThrowStatus(absl::InvalidArgumentError(
        absl::StrCat("zarr_format: expected 2 or 3, got ", zarr_format)));
  }
  ThrowIfError(ValidateArrayMetadata(md));
  return md;
}

}  // namespace

void RegisterCheckpoint(nb::module_& m) {
  nb::class_<PendingBoxReads>(
      m, "PendingBoxReads",
      "Boxes being read on the native thread pool (`read_many_async`).  "
      "Dropping it cancels the reads not started and waits for the others.")
      .def("take", &PendingBoxReads::Take, nb::arg("i"),
           "Box i as a new numpy array of the stored dtype, once read (the "
           "GIL released while waiting); raises its array's read error.  "
           "Each box can be taken once.")
      .def("cancel", &PendingBoxReads::Cancel,
           "Skips the reads not started yet; waits for those running.")
      .def("__len__", &PendingBoxReads::size);

  nb::class_<PyArrayReader>(
      m, "CheckpointArrayReader",
      "The arrays of a checkpointable directory (merged OCDBT database or "
      "plain zarr directories; zarr3 or zarr2).  Thread-safe.")
      .def(
          "__init__",
          [](PyArrayReader* self, std::string directory, bool use_ocdbt,
             std::vector<std::string> metadata_keys) {
            absl::StatusOr<std::unique_ptr<CheckpointArrayReader>> r;
            {
              nb::gil_scoped_release release;
              r = CheckpointArrayReader::Open(directory, use_ocdbt,
                                              std::move(metadata_keys));
            }
            new (self) PyArrayReader{ValueOrThrow(std::move(r))};
          },
          nb::arg("directory"), nb::arg("use_ocdbt") = true, nb::kw_only(),
          nb::arg("metadata_keys") = std::vector<std::string>(),
          "metadata_keys: further names of array metadata files, tried "
          "before zarr.json and .zarray (Orbax's TypeHandler metadata_key).")
      .def(
          "info",
          [](PyArrayReader& r, const std::string& param) {
            absl::StatusOr<ArrayMetadata> md;
            {
              nb::gil_scoped_release release;
              md = r.reader->Metadata(param);
            }
            ArrayMetadata v = ValueOrThrow(std::move(md));
            Shape chunk = v.chunk_shape;
            // Orbax's chunk is the sharding_indexed codec's inner chunk.
            for (const auto& c : v.codecs) {
              if (c.kind == CodecSpec::Kind::kShardingIndexed) {
                chunk = c.chunk_shape;
              }
            }
            return nb::make_tuple(v.shape, NumpyDtype(v.dtype), chunk);
          },
          nb::arg("param"), "(shape, numpy dtype, chunk_shape) of an array.")
      .def(
          "read",
          [](PyArrayReader& r, const std::string& param, const Shape& origin,
             const Shape& shape, bool fail_on_missing, ByteLimiter* limiter) {
            absl::StatusOr<ArrayMetadata> md;
            {
              nb::gil_scoped_release release;
              md = r.reader->Metadata(param);
            }
            ArrayMetadata v = ValueOrThrow(std::move(md));
            if (origin.size() != v.rank() || shape.size() != v.rank()) {
              ThrowStatus(absl::InvalidArgumentError(absl::StrCat(
                  r.reader->directory(), ": array '", param, "' has rank ",
                  v.rank(), ", box has rank ", shape.size())));
            }
            size_t nbytes = 0;
            HostBuffer buf = AllocateBoxOrThrow(
                shape, v.dtype,
                absl::StrCat(r.reader->directory(), ": array '", param, "'"),
                &nbytes);
            absl::Status s;
            {
              nb::gil_scoped_release release;
              s = r.reader->Read(param, origin, shape, buf.get(),
                                 fail_on_missing, limiter);
            }
            ThrowIfError(s);
            return OwnedArray(std::move(buf), nbytes, v.dtype, shape);
          },
          nb::arg("param"), nb::arg("origin"), nb::arg("shape"),
          nb::arg("fail_on_missing") = true, nb::kw_only(),
          nb::arg("limiter").none() = nb::none(),
          "Reads a box of an array (any box: resharding on load) into a new "
          "numpy array of the stored dtype.  With a ByteLimiter, the chunks "
          "being decoded hold reservations of their decoded size (the output "
          "buffer itself is not counted).")
      .def(
          "info_many",
          [](PyArrayReader& r, const std::vector<std::string>& params) {
            std::vector<absl::StatusOr<std::shared_ptr<const ArrayMetadata>>>
                mds(params.size());
            absl::Status all;
            {
              nb::gil_scoped_release release;
              all = ParallelFor(ThreadPool::Default(), params.size(),
                                [&](size_t i) {
                                  mds[i] = r.reader->MetadataRef(params[i]);
                                  return absl::OkStatus();
                                });
            }
            // Only a task that threw (e.g. out of memory) fails here.
            ThrowIfError(AnnotateStatus(all, r.reader->directory()));
            nb::list out;
            for (auto& md : mds) {
              const ArrayMetadata& v = *ValueOrThrow(std::move(md));
              Shape chunk = v.chunk_shape;
              for (const auto& c : v.codecs) {
                if (c.kind == CodecSpec::Kind::kShardingIndexed) {
                  chunk = c.chunk_shape;
                }
              }
              out.append(nb::make_tuple(v.shape, NumpyDtype(v.dtype), chunk));
            }
            return out;
          },
          nb::arg("params"),
          "info() of many arrays at once (read in parallel, GIL released).")
      .def(
          "read_many",
          [](PyArrayReader& r, std::vector<BoxRequest> reqs,
             bool fail_on_missing, ByteLimiter* limiter) {
            BoxBatch batch(r.reader.get(), std::move(reqs), fail_on_missing,
                           limiter);
            absl::Status read_all;
            {
              nb::gil_scoped_release release;
              if (batch.Prepare()) {
                read_all = ParallelFor(ThreadPool::Default(),
                                       batch.num_groups(), [&](size_t g) {
                                         batch.ReadGroup(g);
                                         return absl::OkStatus();
                                       });
              }
            }
            for (size_t i = 0; i < batch.size(); ++i) {
              ThrowIfError(batch.BoxStatus(i));
            }
            // A task that threw (e.g. out of memory) set no status of its
            // own: its boxes were not read, which must never pass silently.
            ThrowIfError(AnnotateStatus(read_all, r.reader->directory()));
            nb::list out;
            for (size_t i = 0; i < batch.size(); ++i) out.append(batch.Take(i));
            return out;
          },
          nb::arg("requests"), nb::arg("fail_on_missing") = true, nb::kw_only(),
          nb::arg("limiter").none() = nb::none(),
          "Reads many (param, origin, shape) boxes at once: one call, the GIL "
          "released, boxes read in parallel.  Raises the first error in "
          "request order.")
      .def(
          "read_many_async",
          [](PyArrayReader& r, std::vector<BoxRequest> reqs,
             bool fail_on_missing, ByteLimiter* limiter) {
            auto batch = std::make_shared<BoxBatch>(
                r.reader.get(), std::move(reqs), fail_on_missing, limiter);
            bool valid;
            {
              nb::gil_scoped_release release;
              valid = batch->Prepare();
            }
            // An invalid request: nothing is read, its error is raised.
            for (size_t i = 0; !valid && i < batch->size(); ++i) {
              ThrowIfError(batch->BoxStatus(i));
            }
            return PendingBoxReads(std::move(batch));
          },
          nb::arg("requests"), nb::arg("fail_on_missing") = true, nb::kw_only(),
          nb::arg("limiter").none() = nb::none(),
          // The reads use the reader and the limiter until they end.
          nb::keep_alive<0, 1>(), nb::keep_alive<0, 4>(),
          "Starts reading many (param, origin, shape) boxes on the native "
          "thread pool and returns at once: `PendingBoxReads.take(i)` waits "
          "for box i (its array's boxes are read together).  Invalid "
          "requests raise here, before anything is read.")
      .def(
          "list_params",
          [](PyArrayReader& r) {
            absl::StatusOr<std::vector<std::string>> p;
            {
              nb::gil_scoped_release release;
              p = r.reader->ListParams();
            }
            return ValueOrThrow(std::move(p));
          },
          "Names of every stored array.");

  nb::class_<PyArrayWriter>(
      m, "CheckpointArrayWriter",
      "Writes Orbax-layout zarr3 arrays into one process's OCDBT database "
      "(or plain directories); commit() publishes them.")
      .def(
          "__init__",
          [](PyArrayWriter* self, std::string directory, bool use_ocdbt,
             uint64_t target_data_file_size,
             std::shared_ptr<ByteLimiter> limiter, bool sync) {
            CheckpointArrayWriterOptions o;
            o.use_ocdbt = use_ocdbt;
            o.sync = sync;
            o.target_data_file_size = target_data_file_size;
            o.limiter = std::move(limiter);
            absl::StatusOr<std::unique_ptr<CheckpointArrayWriter>> w;
            {
              nb::gil_scoped_release release;
              w = CheckpointArrayWriter::Open(directory, o);
            }
            new (self) PyArrayWriter{ValueOrThrow(std::move(w))};
          },
          nb::arg("directory"), nb::arg("use_ocdbt") = true,
          nb::arg("target_data_file_size") = uint64_t{1} << 31, nb::kw_only(),
          nb::arg("limiter").none() = nb::none(), nb::arg("sync") = true,
          "With a ByteLimiter, every write() keeps the chunks being gathered "
          "and encoded within its limit (the input array is not counted).  "
          "With sync=False, commit() publishes the OCDBT manifest atomically "
          "but fsyncs nothing (the caller syncs the whole tree).")
      .def(
          "write_metadata",
          [](PyArrayWriter& w, const std::string& param, const Shape& shape,
             const std::string& dtype, const Shape& chunk_shape,
             std::optional<int> zstd_level, int zarr_format,
             bool chunk_checksums, std::optional<std::string> metadata_key) {
            auto md = OrbaxMetadata(shape, dtype, chunk_shape, zstd_level,
                                    zarr_format, chunk_checksums);
            CheckpointArrayWriter& writer = w.Get();
            absl::Status s;
            {
              nb::gil_scoped_release release;
              s = writer.WriteMetadata(param, md, metadata_key.value_or(""));
            }
            ThrowIfError(s);
          },
          nb::arg("param"), nb::arg("shape"), nb::arg("dtype"),
          nb::arg("chunk_shape"), nb::arg("zstd_level").none() = 3,
          nb::kw_only(), nb::arg("zarr_format") = 3,
          nb::arg("chunk_checksums") = false,
          nb::arg("metadata_key").none() = nb::none(),
          "Writes the array's metadata: `zarr.json` (zarr_format 3, with a "
          "`crc32c` inner codec if chunk_checksums) or `.zarray` "
          "(zarr_format 2), or a file named metadata_key if given.")
      .def(
          "write",
          [](PyArrayWriter& w, const std::string& param, const Shape& shape,
             const std::string& dtype, const Shape& chunk_shape,
             std::optional<int> zstd_level, const Shape& origin,
             nb::handle array, int zarr_format, bool chunk_checksums) {
            auto md = OrbaxMetadata(shape, dtype, chunk_shape, zstd_level,
                                    zarr_format, chunk_checksums);
            Shape box;
            for (nb::handle d : array.attr("shape")) {
              box.push_back(nb::cast<int64_t>(d));
            }
            ByteArray bytes = AsBytes(array, md.dtype, box, param.c_str());
            CheckpointArrayWriter& writer = w.Get();
            absl::Status s;
            {
              nb::gil_scoped_release release;
              s = writer.Write(param, md, origin, box, bytes.data());
            }
            ThrowIfError(s);
          },
          nb::arg("param"), nb::arg("shape"), nb::arg("dtype"),
          nb::arg("chunk_shape"), nb::arg("zstd_level").none(),
          nb::arg("origin"), nb::arg("array"), nb::kw_only(),
          nb::arg("zarr_format") = 3, nb::arg("chunk_checksums") = false,
          "Writes `array` (C-contiguous, of `dtype`) at `origin`; the GIL is "
          "released while chunks are encoded in parallel.")
      .def(
          "write_metadata_many",
          [](PyArrayWriter& w, const nb::list& requests,
             std::optional<int> zstd_level, int zarr_format,
             bool chunk_checksums) {
            using Request = CheckpointArrayWriter::MetadataRequest;
            std::vector<Request> reqs;
            reqs.reserve(requests.size());
            for (nb::handle item : requests) {
              auto [param, shape, dtype, chunk_shape, key] =
                  nb::cast<std::tuple<std::string, Shape, std::string, Shape,
                                      std::optional<std::string>>>(item);
              reqs.push_back(
                  Request{std::move(param),
                          OrbaxMetadata(shape, dtype, chunk_shape, zstd_level,
                                        zarr_format, chunk_checksums),
                          key.value_or("")});
            }
            CheckpointArrayWriter& writer = w.Get();
            absl::Status s;
            {
              nb::gil_scoped_release release;
              s = writer.WriteMetadataMany(reqs);
            }
            ThrowIfError(s);
          },
          nb::arg("requests"), nb::arg("zstd_level").none() = 3, nb::kw_only(),
          nb::arg("zarr_format") = 3, nb::arg("chunk_checksums") = false,
          "write_metadata for every (param, shape, dtype, chunk_shape, "
          "metadata_key or None) in one call, in parallel.")
      .def(
          "write_many",
          [](PyArrayWriter& w, const nb::list& requests,
             std::optional<int> zstd_level, int zarr_format,
             bool chunk_checksums) {
            using Request = CheckpointArrayWriter::WriteRequest;
            // Metadata once per array (an array may come in several boxes);
            // node-based, so pointers into it stay valid.
            absl::flat_hash_map<std::string, std::unique_ptr<ArrayMetadata>>
                metadata;
            std::vector<Request> reqs;
            std::vector<ByteArray> keep;  // the arrays' buffers, borrowed
            reqs.reserve(requests.size());
            keep.reserve(requests.size());
            for (nb::handle item : requests) {
              auto [param, shape, dtype, chunk_shape, origin, array] =
                  nb::cast<std::tuple<std::string, Shape, std::string, Shape,
                                      Shape, nb::object>>(item);
              std::unique_ptr<ArrayMetadata>& md = metadata[param];
              if (md == nullptr) {
                md = std::make_unique<ArrayMetadata>(
                    OrbaxMetadata(shape, dtype, chunk_shape, zstd_level,
                                  zarr_format, chunk_checksums));
              }
              Shape box;
              for (nb::handle d : array.attr("shape")) {
                box.push_back(nb::cast<int64_t>(d));
              }
              keep.push_back(AsBytes(array, md->dtype, box, param.c_str()));
              reqs.push_back(Request{std::move(param), md.get(),
                                     std::move(origin), std::move(box),
                                     keep.back().data()});
            }
            CheckpointArrayWriter& writer = w.Get();
            absl::Status s;
            {
              nb::gil_scoped_release release;
              s = writer.WriteMany(reqs);
            }
            ThrowIfError(s);
          },
          nb::arg("requests"), nb::arg("zstd_level").none(), nb::kw_only(),
          nb::arg("zarr_format") = 3, nb::arg("chunk_checksums") = false,
          "write() for every (param, shape, dtype, chunk_shape, origin, "
          "array) in one call: the GIL is released once while the boxes are "
          "encoded and written, several at once.  The first error in list "
          "order is raised.")
      .def("commit",
           [](PyArrayWriter& w) {
             CheckpointArrayWriter& writer = w.Get();
             absl::Status s;
             {
               nb::gil_scoped_release release;
               s = writer.Commit();
             }
             ThrowIfError(s);
           })
      .def(
          "close",
          [](PyArrayWriter& w) {
            std::unique_ptr<CheckpointArrayWriter> writer = std::move(w.writer);
            nb::gil_scoped_release release;
            writer.reset();
          },
          "Closes every open file without committing (after a failed save: "
          "the disk space comes back at once, not when the writer is "
          "garbage collected).  Later calls raise ValueError.");
}

}  // namespace ocpx_python

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Bindings for memory regulation: the byte limiter (cpp/ocpx/base) and
// Orbax's replica-parallel slicing (cpp/ocpx/layout).

#include <Python.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cpp/ocpx/base/byte_limiter.h"
#include "cpp/ocpx/layout/replica_slices.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/numpy_interop.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

using ::ocpx::internal::ByteLimiter;
using ::ocpx::internal_layout::ComputeReplicaSlices;
using ::ocpx::internal_layout::ReplicaSlice;
using ::ocpx::internal_layout::ReplicaSliceOptions;
using ::ocpx::internal_layout::ReplicaSlicePlan;
using ::ocpx::internal_layout::ShardBox;

namespace {

// Reserves `n` bytes with the GIL released, giving up after `timeout`
// seconds (None: never).  Signals (Ctrl-C) are checked every 100 ms; their
// Python exception propagates.
void Reserve(ByteLimiter& limiter, uint64_t n, std::optional<double> timeout) {
  absl::Time deadline = absl::InfiniteFuture();
  if (timeout.has_value()) {
    if (std::isnan(*timeout)) {
      ThrowStatus(absl::InvalidArgumentError("timeout must not be NaN"));
    }
    deadline = absl::Now() + absl::Seconds(std::max(0.0, *timeout));
  }
  auto check_signals = []() -> absl::Status {
    nb::gil_scoped_acquire acquire;
    // On failure the exception stays set in this thread's state and is
    // raised below, once the GIL is back.
    if (PyErr_CheckSignals() != 0) return absl::CancelledError("interrupted");
    return absl::OkStatus();
  };
  absl::Status s;
  {
    nb::gil_scoped_release release;
    s = limiter.ReserveUntil(n, deadline, check_signals);
  }
  if (s.code() == absl::StatusCode::kCancelled && PyErr_Occurred()) {
    throw nb::python_error();
  }
  ThrowIfError(s);
}

// `with limiter.reservation(n):` - reserves on enter, releases on exit.
struct PyReservation {
  ByteLimiter* limiter;  // kept alive by keep_alive<0, 1>
  uint64_t bytes;
  std::optional<double> timeout;
  bool held = false;
};

nb::tuple ToTuple(const std::vector<int64_t>& v) {
  nb::list l;
  for (int64_t x : v) l.append(x);
  return nb::tuple(l);
}

}  // namespace

void RegisterMemory(nb::module_& m) {
  nb::class_<ByteLimiter>(
      m, "ByteLimiter",
      "Limits the bytes in flight (Orbax's write/read_concurrent_bytes). "
      "max_bytes=None: unlimited, but still counted (in_use/peak).  Waiters "
      "are admitted in FIFO order; a request larger than max_bytes proceeds "
      "alone once nothing else is reserved.  Thread-safe.")
      .def(nb::init<std::optional<uint64_t>>(), nb::arg("max_bytes").none())
      .def("reserve", &Reserve, nb::arg("n"),
           nb::arg("timeout").none() = nb::none(),
           "Blocks (GIL released) until `n` bytes fit, then reserves them; "
           "TimeoutError after `timeout` seconds.")
      .def(
          "try_reserve",
          [](ByteLimiter& l, uint64_t n) { return l.TryReserve(n); },
          nb::arg("n"), "Reserves `n` bytes if possible without waiting.")
      .def(
          "release",
          [](ByteLimiter& l, uint64_t n) { ThrowIfError(l.Release(n)); },
          nb::arg("n"),
          "Returns `n` reserved bytes (ValueError if more than in_use).")
      .def(
          "reservation",
          [](ByteLimiter& l, uint64_t n, std::optional<double> timeout) {
            return PyReservation{&l, n, timeout};
          },
          nb::arg("n"), nb::arg("timeout").none() = nb::none(),
          nb::keep_alive<0, 1>(),
          "A context manager holding `n` bytes for the `with` block.")
      .def("reset_peak", &ByteLimiter::ResetPeak,
           "Sets peak to the current in_use.")
      .def_prop_ro("max_bytes", &ByteLimiter::max_bytes)
      .def_prop_ro("in_use", &ByteLimiter::in_use)
      .def_prop_ro("peak", &ByteLimiter::peak)
      .def_prop_ro("num_waiting", &ByteLimiter::num_waiting);

  nb::class_<PyReservation>(m, "ByteReservation",
                            "Context manager from ByteLimiter.reservation().")
      .def("__enter__",
           [](nb::handle self) {
             PyReservation& r = nb::cast<PyReservation&>(self);
             if (r.held) {
               ThrowStatus(absl::FailedPreconditionError(
                   "reservation is already held"));
             }
             Reserve(*r.limiter, r.bytes, r.timeout);
             r.held = true;
             return nb::borrow(self);
           })
      .def("__exit__",
           [](PyReservation& r, nb::args) {
             if (r.held) {
               r.held = false;
               ThrowIfError(r.limiter->Release(r.bytes));
             }
             return false;
           })
      .def_ro("bytes", &PyReservation::bytes);

  m.def(
      "replica_slices",
      [](const Shape& global_shape, size_t itemsize,
         const std::vector<std::tuple<Shape, Shape, int64_t>>& shards,
         int64_t replica_count, bool use_replica_parallel,
         uint64_t min_slice_bytes, std::optional<int64_t> max_replicas,
         std::optional<int64_t> replica_id, bool pinned_host_transfer) {
        std::vector<ShardBox> boxes;
        boxes.reserve(shards.size());
        for (const auto& [origin, shape, rid] : shards) {
          boxes.push_back({origin, shape, rid});
        }
        ReplicaSliceOptions o;
        o.use_replica_parallel = use_replica_parallel;
        o.min_slice_bytes = min_slice_bytes;
        o.max_replicas = max_replicas;
        o.replica_id = replica_id;
        o.pinned_host_transfer = pinned_host_transfer;
        ReplicaSlicePlan plan = ValueOrThrow(ComputeReplicaSlices(
            global_shape, itemsize, boxes, replica_count, o));
        nb::list slices;
        for (const ReplicaSlice& s : plan.slices) {
          slices.append(nb::make_tuple(
              s.shard_index, ToTuple(s.origin_in_shard), ToTuple(s.shape)));
        }
        return nb::make_tuple(ToTuple(plan.local_shape), slices);
      },
      nb::arg("global_shape"), nb::arg("itemsize"), nb::arg("shards"),
      nb::arg("replica_count"), nb::arg("use_replica_parallel") = true,
      nb::arg("min_slice_bytes") = 0,
      nb::arg("max_replicas").none() = nb::none(),
      nb::arg("replica_id").none() = 0, nb::arg("pinned_host_transfer") = false,
      "Orbax's replica selection / replica-parallel slicing for one array. "
      "`shards`: this process's addressable shards in order, as (origin, "
      "shape, replica_id).  Returns (local_shape, [(shard_index, "
      "origin_in_shard, shape)]); local_shape is the write_shape.  "
      "replica_id=None is primary_host=None (first shard's replica, no "
      "replica-parallel).");
}

}  // namespace ocpx_python

// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_PYTHON_NUMPY_INTEROP_H_
#define OCPX_PYTHON_NUMPY_INTEROP_H_

/// \file
/// Zero-copy numpy <-> C++ buffers for any zarr data type (ml_dtypes
/// included): inputs are viewed as raw bytes, outputs own C++ buffers.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cpp/ocpx/array/dtype.h"

namespace ocpx_python {

using ByteArray =
    nanobind::ndarray<nanobind::ro, nanobind::c_contig, nanobind::device::cpu>;
using MutableByteArray =
    nanobind::ndarray<nanobind::c_contig, nanobind::device::cpu>;
using Shape = std::vector<int64_t>;

int64_t NumElements(const Shape& s);

/// Frees a `HostBuffer` (allocated with posix_memalign).
struct HostBufferDeleter {
  void operator()(char* p) const noexcept;
};

/// A host buffer returned to Python as a numpy array's memory.  Aligned to
/// 64 bytes (to a page from 1 MiB up), so that on the CPU backend
/// `jax.device_put` adopts it without a copy: XLA's CPU client aliases host
/// buffers aligned to 64 bytes, and copies others.
using HostBuffer = std::unique_ptr<char[], HostBufferDeleter>;

/// Bytes of a box of `shape` and `dtype`: InvalidArgument for a negative
/// extent, or if the product overflows (checked before any allocation).
absl::StatusOr<size_t> BoxBytes(const Shape& shape, ocpx::DataType dtype);

/// A buffer of `nbytes` (at least 1) for data read from a checkpoint,
/// aligned as `HostBuffer` says.
/// ResourceExhausted (naming the size) if it exceeds the machine's physical
/// memory or cannot be allocated, never std::bad_alloc.
absl::StatusOr<HostBuffer> AllocateBuffer(size_t nbytes);

/// `BoxBytes` then `AllocateBuffer`, raising a Python exception prefixed with
/// `what` (the checkpoint path and array) on error.  Sets `*nbytes`.
HostBuffer AllocateBoxOrThrow(const Shape& shape, ocpx::DataType dtype,
                              absl::string_view what, size_t* nbytes);

/// The numpy dtype object of a zarr data type (ml_dtypes for bfloat16, ...).
nanobind::object NumpyDtype(ocpx::DataType d);

/// Views `array` as its raw C-contiguous bytes, checking dtype and element
/// count (ValueError otherwise).  No copy; the result keeps `array` alive.
ByteArray AsBytes(nanobind::handle array, ocpx::DataType dtype,
                  const Shape& shape, const char* what);

/// A numpy array of `shape` and `dtype` owning `buf` (no copy).
nanobind::object OwnedArray(HostBuffer buf, size_t nbytes, ocpx::DataType dtype,
                            const Shape& shape);

}  // namespace ocpx_python

#endif  // OCPX_PYTHON_NUMPY_INTEROP_H_

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

#include "cpp/ocpx/array/dtype.h"

namespace ocpx_python {

using ByteArray = nanobind::ndarray<nanobind::ro, nanobind::c_contig,
                                    nanobind::device::cpu>;
using MutableByteArray =
    nanobind::ndarray<nanobind::c_contig, nanobind::device::cpu>;
using Shape = std::vector<int64_t>;

int64_t NumElements(const Shape& s);

/// The numpy dtype object of a zarr data type (ml_dtypes for bfloat16, ...).
nanobind::object NumpyDtype(ocpx::DataType d);

/// Views `array` as its raw C-contiguous bytes, checking dtype and element
/// count (ValueError otherwise).  No copy; the result keeps `array` alive.
ByteArray AsBytes(nanobind::handle array, ocpx::DataType dtype,
                  const Shape& shape, const char* what);

/// A numpy array of `shape` and `dtype` owning `buf` (no copy).
nanobind::object OwnedArray(std::unique_ptr<char[]> buf, size_t nbytes,
                            ocpx::DataType dtype, const Shape& shape);

}  // namespace ocpx_python

#endif  // OCPX_PYTHON_NUMPY_INTEROP_H_

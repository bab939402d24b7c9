// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/python/status.h"

#include <nanobind/nanobind.h>

#include <string>

#include "cpp/ocpx/python/bindings.h"

namespace nb = nanobind;

namespace ocpx_python {
namespace {
PyObject* g_corruption_error = nullptr;
}  // namespace

void RegisterStatus(nb::module_& m) {
  // Raised for corrupt or inconsistent on-disk data.  A ValueError subclass,
  // so callers catching ValueError (as Orbax raises) still catch it.
  g_corruption_error = PyErr_NewExceptionWithDoc(
      "ocpx._core.CorruptionError",
      "On-disk checkpoint data is corrupt or inconsistent.", PyExc_ValueError,
      nullptr);
  if (g_corruption_error == nullptr) throw nb::python_error();
  m.attr("CorruptionError") = nb::handle(g_corruption_error);
}

void ThrowStatus(const absl::Status& status) {
  const std::string msg(status.message());
  PyObject* type = PyExc_RuntimeError;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      type = PyExc_FileNotFoundError;
      break;
    case absl::StatusCode::kAlreadyExists:
      type = PyExc_FileExistsError;
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      type = PyExc_ValueError;
      break;
    case absl::StatusCode::kDataLoss:
      type = g_corruption_error ? g_corruption_error : PyExc_ValueError;
      break;
    case absl::StatusCode::kUnimplemented:
      type = PyExc_NotImplementedError;
      break;
    case absl::StatusCode::kDeadlineExceeded:
      type = PyExc_TimeoutError;
      break;
    case absl::StatusCode::kResourceExhausted:
      type = PyExc_MemoryError;
      break;
    case absl::StatusCode::kPermissionDenied:
      type = PyExc_PermissionError;
      break;
    default:
      break;
  }
  nb::gil_scoped_acquire gil;
  PyErr_SetString(type, msg.c_str());
  throw nb::python_error();
}

}  // namespace ocpx_python

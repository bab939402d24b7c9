// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/python/status.h"

#include <nanobind/nanobind.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
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

namespace {

// A Python str of `bytes`; bytes that are not UTF-8 become \xNN escapes, so
// a path or key with odd bytes never hides the error behind a
// UnicodeDecodeError.
PyObject* DecodeLossless(absl::string_view bytes) {
  return PyUnicode_DecodeUTF8(
      bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "backslashreplace");
}

std::optional<std::string> Payload(const absl::Status& status,
                                   absl::string_view url) {
  auto c = status.GetPayload(url);
  if (!c) return std::nullopt;
  return std::string(*c);
}

// Raises OSError(errno, message, path) if the status came from a failed
// system call; Python picks the subclass (FileNotFoundError, ...).
bool SetOSError(const absl::Status& status) {
  std::optional<std::string> e = Payload(status, kErrnoPayload);
  int err = 0;
  if (!e || !absl::SimpleAtoi(*e, &err) || err <= 0) return false;
  PyObject* msg = DecodeLossless(status.message());
  std::optional<std::string> path = Payload(status, kPathPayload);
  PyObject* fname =
      path ? PyUnicode_DecodeFSDefaultAndSize(
                 path->data(), static_cast<Py_ssize_t>(path->size()))
           : nullptr;
  if (msg == nullptr || (path && fname == nullptr)) {
    Py_XDECREF(msg);
    Py_XDECREF(fname);
    return false;
  }
  PyObject* args = fname ? Py_BuildValue("(iNN)", err, msg, fname)
                         : Py_BuildValue("(iN)", err, msg);
  if (args == nullptr) return false;
  PyErr_SetObject(PyExc_OSError, args);
  Py_DECREF(args);
  return true;
}

}  // namespace

void ThrowStatus(const absl::Status& status) {
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
  if (SetOSError(status)) throw nb::python_error();
  PyErr_Clear();
  PyObject* msg = DecodeLossless(status.message());
  if (msg == nullptr) {
    PyErr_Clear();
    msg = PyUnicode_FromString("(undecodable error message)");
  }
  PyErr_SetObject(type, msg);
  Py_XDECREF(msg);
  throw nb::python_error();
}

}  // namespace ocpx_python

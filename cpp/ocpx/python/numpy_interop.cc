// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/python/numpy_interop.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// numpy dtype object for a zarr data type name (ml_dtypes for the exotic ones).
nb::object NumpyDtype(ocpx::DataType d) {
  std::string name(ocpx::DataTypeName(d));
  nb::module_ np = nb::module_::import_("numpy");
  switch (ocpx::GetKind(d)) {
    case ocpx::DataTypeKind::kFloat:
      if (d == ocpx::DataType::kFloat16 || d == ocpx::DataType::kFloat32 ||
          d == ocpx::DataType::kFloat64) {
        break;
      }
      return np.attr("dtype")(
          nb::module_::import_("ml_dtypes").attr(name.c_str()));
    case ocpx::DataTypeKind::kSignedInt:
      if (d == ocpx::DataType::kInt2 || d == ocpx::DataType::kInt4) {
        return np.attr("dtype")(
            nb::module_::import_("ml_dtypes").attr(name.c_str()));
      }
      break;
    default:
      break;
  }
  return np.attr("dtype")(name);
}

// Views `array` (any numpy-like array, including ml_dtypes ones) as its raw
// C-contiguous bytes, checking dtype and element count.  No copy.
ByteArray AsBytes(nb::handle array, ocpx::DataType dtype, const Shape& shape,
                  const char* what) {
  if (!nb::hasattr(array, "dtype") || !nb::hasattr(array, "flags")) {
    throw nb::type_error(absl::StrCat(what, ": expected a numpy array").c_str());
  }
  std::string name = nb::cast<std::string>(array.attr("dtype").attr("name"));
  if (name != ocpx::DataTypeName(dtype)) {
    ThrowStatus(absl::InvalidArgumentError(absl::StrCat(
        what, ": dtype mismatch: array has ", name, ", zarr data_type is ",
        ocpx::DataTypeName(dtype))));
  }
  if (!nb::cast<bool>(array.attr("flags").attr("c_contiguous"))) {
    ThrowStatus(absl::InvalidArgumentError(
        absl::StrCat(what, ": array must be C-contiguous")));
  }
  nb::object flat = array.attr("reshape")(-1).attr("view")("uint8");
  ByteArray bytes = nb::cast<ByteArray>(flat, /*convert=*/false);
  const size_t expected =
      static_cast<size_t>(NumElements(shape)) * ocpx::ItemSize(dtype);
  if (bytes.nbytes() != expected) {
    ThrowStatus(absl::InvalidArgumentError(absl::StrCat(
        what, ": array has ", bytes.nbytes(), " bytes, expected ", expected)));
  }
  return bytes;
}

// A numpy array of `shape` and `dtype` that owns `buf`.
nb::object OwnedArray(std::unique_ptr<char[]> buf, size_t nbytes,
                      ocpx::DataType dtype, const Shape& shape) {
  char* data = buf.release();
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<char*>(p); });
  size_t dims[1] = {nbytes};
  nb::ndarray<nb::numpy, uint8_t> raw(data, 1, dims, owner);
  nb::object arr = nb::cast(raw, nb::rv_policy::reference);
  nb::object np_shape = nb::cast(shape);
  return arr.attr("view")(NumpyDtype(dtype)).attr("reshape")(np_shape);
}

}  // namespace ocpx_python

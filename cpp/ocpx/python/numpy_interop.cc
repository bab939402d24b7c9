// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/python/numpy_interop.h"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

void HostBufferDeleter::operator()(char* p) const noexcept { std::free(p); }

int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

absl::StatusOr<size_t> BoxBytes(const Shape& shape, ocpx::DataType dtype) {
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  uint64_t n = ocpx::ItemSize(dtype);
  for (int64_t d : shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("box extent ", d, " is negative"));
    }
    if (d != 0 && n > kLimit / static_cast<uint64_t>(d)) {
      return absl::InvalidArgumentError(
          absl::StrCat("box of shape [", absl::StrJoin(shape, ","),
                       "] holds more than 2^62 bytes"));
    }
    n *= static_cast<uint64_t>(d);
  }
  return static_cast<size_t>(n);
}

absl::StatusOr<HostBuffer> AllocateBuffer(size_t nbytes) {
  static const uint64_t physical = [] {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0
               ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
               : std::numeric_limits<uint64_t>::max();
  }();
  if (nbytes > physical) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "reading ", nbytes, " bytes needs more than this machine's ", physical,
        " bytes of memory (is the stored shape corrupt?)"));
  }
  void* p = nullptr;
  const size_t alignment = nbytes >= (size_t{1} << 20) ? 4096 : 64;
  if (posix_memalign(&p, alignment, nbytes > 0 ? nbytes : 1) != 0) {
    p = nullptr;
  }
  HostBuffer buf(static_cast<char*>(p));
  if (buf == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", nbytes, " bytes"));
  }
  return buf;
}

HostBuffer AllocateBoxOrThrow(const Shape& shape, ocpx::DataType dtype,
                              absl::string_view what, size_t* nbytes) {
  absl::StatusOr<size_t> n = BoxBytes(shape, dtype);
  if (!n.ok()) {
    ThrowStatus(absl::Status(n.status().code(),
                             absl::StrCat(what, ": ", n.status().message())));
  }
  absl::StatusOr<HostBuffer> buf = AllocateBuffer(*n);
  if (!buf.ok()) {
    ThrowStatus(absl::Status(buf.status().code(),
                             absl::StrCat(what, ": ", buf.status().message())));
  }
  *nbytes = *n;
  return *std::move(buf);
}

namespace {

// Whether numpy lacks `d`, which ml_dtypes provides (bfloat16, float8_*,
// float4_e2m1fn, int2, int4).
bool IsMlDtype(ocpx::DataType d) {
  switch (ocpx::GetKind(d)) {
    case ocpx::DataTypeKind::kFloat:
      return d != ocpx::DataType::kFloat16 && d != ocpx::DataType::kFloat32 &&
             d != ocpx::DataType::kFloat64;
    case ocpx::DataTypeKind::kSignedInt:
      return d == ocpx::DataType::kInt2 || d == ocpx::DataType::kInt4;
    default:
      return false;
  }
}

}  // namespace

// numpy dtype object for a zarr data type name (ml_dtypes for the exotic ones).
nb::object NumpyDtype(ocpx::DataType d) {
  std::string name(ocpx::DataTypeName(d));
  nb::module_ np = nb::module_::import_("numpy");
  if (IsMlDtype(d)) {
    return np.attr("dtype")(
        nb::module_::import_("ml_dtypes").attr(name.c_str()));
  }
  return np.attr("dtype")(name);
}

// Views `array` (any numpy-like array, including ml_dtypes ones) as its raw
// C-contiguous bytes, checking dtype and element count.  No copy.
ByteArray AsBytes(nb::handle array, ocpx::DataType dtype, const Shape& shape,
                  const char* what) {
  if (!nb::hasattr(array, "dtype") || !nb::hasattr(array, "flags")) {
    throw nb::type_error(
        absl::StrCat(what, ": expected a numpy array").c_str());
  }
  std::string name = nb::cast<std::string>(array.attr("dtype").attr("name"));
  if (name != ocpx::DataTypeName(dtype)) {
    ThrowStatus(absl::InvalidArgumentError(
        absl::StrCat(what, ": dtype mismatch: array has ", name,
                     ", zarr data_type is ", ocpx::DataTypeName(dtype))));
  }
  if (!nb::cast<bool>(array.attr("flags").attr("c_contiguous"))) {
    ThrowStatus(absl::InvalidArgumentError(
        absl::StrCat(what, ": array must be C-contiguous")));
  }
  nb::object flat = array.attr("reshape")(-1).attr("view")("uint8");
  ByteArray bytes = nb::cast<ByteArray>(flat, /*convert=*/false);
  absl::StatusOr<size_t> box = BoxBytes(shape, dtype);
  if (!box.ok()) {
    ThrowStatus(absl::InvalidArgumentError(
        absl::StrCat(what, ": ", box.status().message())));
  }
  const size_t expected = *box;
  if (bytes.nbytes() != expected) {
    ThrowStatus(absl::InvalidArgumentError(absl::StrCat(
        what, ": array has ", bytes.nbytes(), " bytes, expected ", expected)));
  }
  return bytes;
}

namespace {

// How numpy sees `d` through the buffer protocol: the standard numpy dtypes
// as themselves; the ml_dtypes ones, which have no buffer format, as the
// unsigned integer of their width (`*native` false: the caller views the
// result as the real dtype).
nb::dlpack::dtype BufferType(ocpx::DataType d, bool* native) {
  using Code = nb::dlpack::dtype_code;
  *native = !IsMlDtype(d);
  Code code = Code::UInt;
  if (*native) {
    switch (ocpx::GetKind(d)) {
      case ocpx::DataTypeKind::kBool:
        code = Code::Bool;
        break;
      case ocpx::DataTypeKind::kSignedInt:
        code = Code::Int;
        break;
      case ocpx::DataTypeKind::kUnsignedInt:
        code = Code::UInt;
        break;
      case ocpx::DataTypeKind::kFloat:
        code = Code::Float;
        break;
      case ocpx::DataTypeKind::kComplex:
        code = Code::Complex;
        break;
    }
  }
  return nb::dlpack::dtype{static_cast<uint8_t>(code),
                           static_cast<uint8_t>(8 * ocpx::ItemSize(d)), 1};
}

}  // namespace

// A numpy array of `shape` and `dtype` that owns `buf`.  Made as one typed
// array (plus a view for the ml_dtypes): a load of thousands of small
// arrays keeps every one of these objects alive with the jax.Array that
// adopted its buffer.
nb::object OwnedArray(HostBuffer buf, size_t nbytes, ocpx::DataType dtype,
                      const Shape& shape) {
  bool native = true;
  const nb::dlpack::dtype type = BufferType(dtype, &native);
  if (static_cast<size_t>(NumElements(shape)) * ocpx::ItemSize(dtype) !=
      nbytes) {
    ThrowStatus(absl::InternalError(absl::StrCat(
        "a buffer of ", nbytes, " bytes cannot hold an array of shape [",
        absl::StrJoin(shape, ","), "] of ", ocpx::DataTypeName(dtype))));
  }
  std::vector<size_t> dims(shape.begin(), shape.end());
  char* data = buf.release();
  nb::capsule owner(data, [](void* p) noexcept { std::free(p); });
  nb::ndarray<nb::numpy> typed(data, dims.size(), dims.data(), owner,
                               /*strides=*/nullptr, type);
  nb::object arr = nb::cast(typed, nb::rv_policy::reference);
  return native ? arr : arr.attr("view")(NumpyDtype(dtype));
}

}  // namespace ocpx_python

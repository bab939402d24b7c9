// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Bindings for zarr v3 arrays (cpp/ocpx/array) and chunk layout selection
// (cpp/ocpx/layout).  Arrays cross the boundary without copies: inputs are
// viewed as raw bytes (so ml_dtypes arrays work too), outputs are numpy arrays
// owning the C++ buffer, or caller-provided arrays filled in place.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cpp/ocpx/array/array_io.h"
#include "cpp/ocpx/array/chunk_codec.h"
#include "cpp/ocpx/array/chunk_store.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/array/metadata.h"
#include "cpp/ocpx/layout/chunk_layout.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/numpy_interop.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

using ::ocpx::internal_layout::ChooseChunkShape;
using ::ocpx::internal_layout::ClampChunkByteSizeForOcdbt;
using ::ocpx::internal_zarr::ArrayMetadata;
using ::ocpx::internal_zarr::ChunkCodec;
using ::ocpx::internal_zarr::ChunkStore;
using ::ocpx::internal_zarr::FileChunkStore;
using ::ocpx::internal_zarr::MakeOrbaxArrayMetadata;
using ::ocpx::internal_zarr::ParseArrayMetadata;
using ::ocpx::internal_zarr::ReadArrayMetadata;
using ::ocpx::internal_zarr::ReadRegion;
using ::ocpx::internal_zarr::ReadRegionOptions;
using ::ocpx::internal_zarr::SerializeArrayMetadata;
using ::ocpx::internal_zarr::ValidateArrayMetadata;
using ::ocpx::internal_zarr::ValidateMetadataKey;
using ::ocpx::internal_zarr::WriteArrayMetadata;
using ::ocpx::internal_zarr::WriteRegion;
using ::ocpx::internal_zarr::WriteRegionOptions;

namespace {

ArrayMetadata ParseMetadata(const std::string& json) {
  return ValueOrThrow(ParseArrayMetadata(json));
}

ArrayMetadata MetadataFor(ChunkStore& store, const std::string& param,
                          const std::optional<std::string>& json) {
  if (json) return ParseMetadata(*json);
  absl::StatusOr<ArrayMetadata> m;
  {
    nb::gil_scoped_release release;
    m = ReadArrayMetadata(store, param);
  }
  return ValueOrThrow(std::move(m));
}

}  // namespace

void RegisterArray(nb::module_& m) {
  m.def(
      "zarr_make_metadata",
      [](const Shape& shape, const std::string& dtype, const Shape& chunk_shape,
         std::optional<int> zstd_level, bool chunk_checksums) {
        ocpx::DataType d = ValueOrThrow(ocpx::DataTypeFromName(dtype));
        ArrayMetadata md = MakeOrbaxArrayMetadata(shape, d, chunk_shape,
                                                  zstd_level, chunk_checksums);
        ThrowIfError(ValidateArrayMetadata(md));
        return SerializeArrayMetadata(md);
      },
      nb::arg("shape"), nb::arg("dtype"), nb::arg("chunk_shape"),
      nb::arg("zstd_level").none() = 3, nb::kw_only(),
      nb::arg("chunk_checksums") = false,
      "zarr.json text as Orbax writes it: one sharding_indexed codec with "
      "inner chunk = chunk_shape, bytes little (+ zstd zstd_level unless "
      "None) (+ crc32c if chunk_checksums), zero fill.");
  m.def(
      "validate_metadata_key",
      [](const std::string& key) { ThrowIfError(ValidateMetadataKey(key)); },
      nb::arg("key"),
      "ValueError unless `key` can name an array's metadata file (one "
      "non-empty path component that no chunk key can take).");
  m.def(
      "zarr_normalize_metadata",
      [](const std::string& json) {
        return SerializeArrayMetadata(ParseMetadata(json));
      },
      nb::arg("json"),
      "Parses and validates zarr.json text; returns it as TensorStore would "
      "write it (compact, sorted).  ValueError naming the field if invalid.");
  m.def(
      "zarr_write_metadata",
      [](const std::string& root, const std::string& param,
         const std::string& json) {
        ArrayMetadata md = ParseMetadata(json);
        nb::gil_scoped_release release;
        FileChunkStore store(root);
        ThrowIfError(WriteArrayMetadata(store, param, md));
      },
      nb::arg("root"), nb::arg("param"), nb::arg("json"),
      "Writes root/param/zarr.json.");
  m.def(
      "zarr_read_metadata",
      [](const std::string& root, const std::string& param) {
        FileChunkStore store(root);
        return SerializeArrayMetadata(MetadataFor(store, param, {}));
      },
      nb::arg("root"), nb::arg("param"),
      "Reads and validates root/param/zarr.json (normalized text).");
  m.def(
      "zarr_write",
      [](const std::string& root, const std::string& param,
         std::optional<std::string> json, std::optional<Shape> origin,
         nb::handle array, bool store_fill_value_chunks, bool write_metadata) {
        FileChunkStore store(root);
        ArrayMetadata md = MetadataFor(store, param, json);
        Shape shape = nb::cast<Shape>(array.attr("shape"));
        Shape org = origin ? *origin : Shape(shape.size(), 0);
        ByteArray bytes = AsBytes(array, md.dtype, shape, "array");
        WriteRegionOptions opts;
        opts.store_fill_value_chunks = store_fill_value_chunks;
        nb::gil_scoped_release release;
        if (write_metadata) {
          ThrowIfError(WriteArrayMetadata(store, param, md));
        }
        ThrowIfError(
            WriteRegion(store, param, md, org, shape, bytes.data(), opts));
      },
      nb::arg("root"), nb::arg("param"), nb::arg("json").none(),
      nb::arg("origin").none(), nb::arg("array"),
      nb::arg("store_fill_value_chunks") = false,
      nb::arg("write_metadata") = true,
      "Writes `array` (any C-contiguous numpy/ml_dtypes array whose dtype "
      "name equals data_type) at `origin` of the zarr3 array root/param.  "
      "json=None reads the existing zarr.json.");
  m.def(
      "zarr_read",
      [](const std::string& root, const std::string& param,
         std::optional<Shape> origin, std::optional<Shape> shape,
         std::optional<std::string> json, bool fail_on_missing) {
        FileChunkStore store(root);
        ArrayMetadata md = MetadataFor(store, param, json);
        Shape org = origin ? *origin : Shape(md.rank(), 0);
        Shape shp = shape ? *shape : md.shape;
        if (!shape && origin) {
          for (size_t i = 0; i < shp.size() && i < org.size(); ++i) {
            shp[i] -= org[i];
          }
        }
        size_t nbytes = 0;
        HostBuffer buf = AllocateBoxOrThrow(
            shp, md.dtype, absl::StrCat(root, ": array '", param, "'"),
            &nbytes);
        ReadRegionOptions opts;
        opts.fail_on_missing_chunks = fail_on_missing;
        {
          nb::gil_scoped_release release;
          ThrowIfError(ReadRegion(store, param, md, org, shp, buf.get(), opts));
        }
        return OwnedArray(std::move(buf), nbytes, md.dtype, shp);
      },
      nb::arg("root"), nb::arg("param"), nb::arg("origin").none() = nb::none(),
      nb::arg("shape").none() = nb::none(), nb::arg("json").none() = nb::none(),
      nb::arg("fail_on_missing") = false,
      "Reads the box [origin, origin+shape) (default: everything) of the "
      "zarr3 array root/param as a new numpy array of its dtype.  Missing "
      "chunks read as fill value unless fail_on_missing (FileNotFoundError).");
  m.def(
      "zarr_read_into",
      [](const std::string& root, const std::string& param,
         std::optional<Shape> origin, nb::handle out,
         std::optional<std::string> json, bool fail_on_missing) {
        FileChunkStore store(root);
        ArrayMetadata md = MetadataFor(store, param, json);
        Shape shape = nb::cast<Shape>(out.attr("shape"));
        Shape org = origin ? *origin : Shape(shape.size(), 0);
        ByteArray ro = AsBytes(out, md.dtype, shape, "out");
        if (!nb::cast<bool>(out.attr("flags").attr("writeable"))) {
          ThrowStatus(absl::InvalidArgumentError("out: array is read-only"));
        }
        void* data = const_cast<void*>(ro.data());
        ReadRegionOptions opts;
        opts.fail_on_missing_chunks = fail_on_missing;
        nb::gil_scoped_release release;
        ThrowIfError(ReadRegion(store, param, md, org, shape, data, opts));
      },
      nb::arg("root"), nb::arg("param"), nb::arg("origin").none(),
      nb::arg("out"), nb::arg("json").none() = nb::none(),
      nb::arg("fail_on_missing") = false,
      "Reads the box [origin, origin+out.shape) into the writable "
      "C-contiguous array `out` in place.");
  m.def(
      "zarr_encode_chunk",
      [](const std::string& json, nb::handle chunk,
         bool store_fill_value_chunks) -> nb::object {
        ArrayMetadata md = ParseMetadata(json);
        ChunkCodec codec = ValueOrThrow(ChunkCodec::Make(md));
        ByteArray bytes = AsBytes(chunk, md.dtype, md.chunk_shape, "chunk");
        absl::StatusOr<std::optional<std::string>> enc;
        {
          nb::gil_scoped_release release;
          enc = codec.Encode(bytes.data(), {}, store_fill_value_chunks);
        }
        std::optional<std::string> v = ValueOrThrow(std::move(enc));
        if (!v) return nb::none();
        return nb::bytes(v->data(), v->size());
      },
      nb::arg("json"), nb::arg("chunk"),
      nb::arg("store_fill_value_chunks") = false,
      "Encodes one full chunk (shape = chunk_shape) through the codec chain; "
      "None if it equals the fill value and store_fill_value_chunks is off.");
  m.def(
      "zarr_decode_chunk",
      [](const std::string& json, nb::bytes encoded) {
        ArrayMetadata md = ParseMetadata(json);
        ChunkCodec codec = ValueOrThrow(ChunkCodec::Make(md));
        size_t nbytes = 0;
        HostBuffer buf =
            AllocateBoxOrThrow(md.chunk_shape, md.dtype, "chunk", &nbytes);
        {
          absl::string_view v(encoded.c_str(), encoded.size());
          nb::gil_scoped_release release;
          ThrowIfError(codec.Decode(v, buf.get()));
        }
        return OwnedArray(std::move(buf), nbytes, md.dtype, md.chunk_shape);
      },
      nb::arg("json"), nb::arg("encoded"),
      "Decodes one encoded chunk into a new array of chunk_shape.");
  m.def(
      "choose_chunk_shape",
      [](const Shape& global_shape, const Shape& write_shape, size_t itemsize,
         std::optional<int64_t> target_byte_size,
         const std::vector<int>& shard_axes) {
        return ValueOrThrow(ChooseChunkShape(
            global_shape, write_shape, itemsize, target_byte_size, shard_axes));
      },
      nb::arg("global_shape"), nb::arg("write_shape"), nb::arg("itemsize"),
      nb::arg("target_byte_size").none() = nb::none(),
      nb::arg("shard_axes") = std::vector<int>{},
      "Orbax's subchunking.choose_chunk_shape (docs/format.md, 'Chunk shapes "
      "and replicas').");
  m.def(
      "clamp_chunk_byte_size_for_ocdbt",
      [](std::optional<int64_t> chunk_byte_size, int64_t target_data_file_size,
         const Shape& write_shape, size_t itemsize) {
        return ClampChunkByteSizeForOcdbt(
            chunk_byte_size, target_data_file_size, write_shape, itemsize);
      },
      nb::arg("chunk_byte_size").none(), nb::arg("target_data_file_size"),
      nb::arg("write_shape"), nb::arg("itemsize"),
      "The chunk_byte_size to use with OCDBT (docs/format.md, 'Chunk shapes "
      "and replicas').");
}

}  // namespace ocpx_python

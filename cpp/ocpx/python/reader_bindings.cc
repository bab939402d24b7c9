// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Bindings for the C++ checkpoint reader (cpp/ocpx/reader): what the `ocpx`
// command-line tool (inspect / verify / export) reads through.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/numpy_interop.h"
#include "cpp/ocpx/python/status.h"
#include "ocpx/checkpoint_reader.h"

namespace nb = nanobind;

namespace ocpx_python {
namespace {

struct PyCheckpointReader {
  std::unique_ptr<ocpx::CheckpointReader> reader;
};

const char* KindName(ocpx::LeafKind k) {
  switch (k) {
    case ocpx::LeafKind::kArray:
      return "array";
    case ocpx::LeafKind::kScalar:
      return "scalar";
    case ocpx::LeafKind::kString:
      return "string";
    case ocpx::LeafKind::kEmpty:
      return "empty";
  }
  return "?";
}

nb::dict LeafDict(const ocpx::LeafInfo& l) {
  nb::dict d;
  d["name"] = l.name;
  nb::list path;
  for (const auto& k : l.key_path) {
    path.append(nb::make_tuple(k.key, static_cast<int>(k.type)));
  }
  d["key_path"] = path;
  d["value_type"] = l.value_type;
  d["kind"] = KindName(l.kind);
  const bool data =
      l.kind == ocpx::LeafKind::kArray || l.kind == ocpx::LeafKind::kScalar;
  if (data) {
    d["shape"] = nb::tuple(nb::cast(l.shape));
    d["dtype"] = NumpyDtype(l.dtype);
    d["dtype_name"] = std::string(ocpx::DataTypeName(l.dtype));
    d["chunk_shape"] = nb::tuple(nb::cast(l.chunk_shape));
    d["grid_chunk_shape"] = nb::tuple(nb::cast(l.grid_chunk_shape));
    d["nbytes"] = l.num_bytes();
    d["zarr_format"] = l.zarr_format;
    d["chunk_checksums"] = l.chunk_checksums;
  } else {
    d["shape"] = nb::none();
    d["dtype"] = nb::none();
    d["dtype_name"] = nb::none();
    d["chunk_shape"] = nb::none();
    d["grid_chunk_shape"] = nb::none();
    d["nbytes"] = 0;
    d["zarr_format"] = nb::none();
    d["chunk_checksums"] = nb::none();
  }
  d["write_shape"] = l.write_shape.has_value()
                         ? nb::object(nb::tuple(nb::cast(*l.write_shape)))
                         : nb::none();
  d["sharding"] =
      l.sharding.has_value() ? nb::object(nb::cast(*l.sharding)) : nb::none();
  return d;
}

}  // namespace

void RegisterReader(nb::module_& m) {
  nb::class_<PyCheckpointReader>(
      m, "CheckpointReader",
      "An opened Orbax checkpoint PyTree (v1 or v0 layout, AUTO "
      "checkpointable resolution), read by the C++ reader.  Thread-safe.")
      .def(
          "__init__",
          [](PyCheckpointReader* self, std::string path,
             std::string checkpointable, bool fail_on_missing_chunks) {
            ocpx::CheckpointReaderOptions o;
            o.checkpointable = std::move(checkpointable);
            o.fail_on_missing_chunks = fail_on_missing_chunks;
            absl::StatusOr<std::unique_ptr<ocpx::CheckpointReader>> r;
            {
              nb::gil_scoped_release release;
              r = ocpx::CheckpointReader::Open(std::move(path), o);
            }
            new (self) PyCheckpointReader{ValueOrThrow(std::move(r))};
          },
          nb::arg("path"), nb::arg("checkpointable") = "AUTO",
          nb::arg("fail_on_missing_chunks") = true)
      .def_prop_ro("path",
                   [](const PyCheckpointReader& r) { return r.reader->path(); })
      .def_prop_ro(
          "directory",
          [](const PyCheckpointReader& r) { return r.reader->directory(); })
      .def_prop_ro("checkpointable",
                   [](const PyCheckpointReader& r) {
                     return r.reader->checkpointable();
                   })
      .def_prop_ro(
          "layout",
          [](const PyCheckpointReader& r) {
            return std::string(ocpx::CheckpointLayoutName(r.reader->layout()));
          })
      .def_prop_ro(
          "use_ocdbt",
          [](const PyCheckpointReader& r) { return r.reader->use_ocdbt(); })
      .def_prop_ro("metadata_inferred",
                   [](const PyCheckpointReader& r) {
                     return r.reader->metadata_inferred();
                   })
      .def(
          "leaves",
          [](const PyCheckpointReader& r) {
            nb::list out;
            for (const auto& l : r.reader->leaves()) out.append(LeafDict(l));
            return out;
          },
          "Every leaf as a dict: name, key_path [(key, key_type)], "
          "value_type, kind (array/scalar/string/empty), shape, dtype, "
          "dtype_name, chunk_shape, grid_chunk_shape, nbytes, zarr_format, "
          "chunk_checksums, write_shape, "
          "sharding (JSON text or None).")
      .def(
          "step_metadata_json",
          [](const PyCheckpointReader& r) -> std::optional<std::string> {
            const auto& m = r.reader->step_metadata();
            if (!m.has_value()) return std::nullopt;
            nlohmann::json j = nlohmann::json::object();
            j["item_handlers"] = nlohmann::json::parse(m->item_handlers);
            j["metrics"] = nlohmann::json::parse(m->metrics);
            j["performance_metrics"] =
                nlohmann::json::parse(m->performance_metrics);
            j["init_timestamp_nsecs"] =
                m->init_timestamp_nsecs.has_value()
                    ? nlohmann::json(*m->init_timestamp_nsecs)
                    : nlohmann::json();
            j["commit_timestamp_nsecs"] =
                m->commit_timestamp_nsecs.has_value()
                    ? nlohmann::json(*m->commit_timestamp_nsecs)
                    : nlohmann::json();
            j["custom_metadata"] = nlohmann::json::parse(m->custom_metadata);
            return j.dump();
          },
          "`_CHECKPOINT_METADATA` as parsed (JSON text), or None if absent.")
      .def(
          "read",
          [](PyCheckpointReader& r, const std::string& name,
             std::optional<Shape> origin, std::optional<Shape> shape) {
            const ocpx::LeafInfo* leaf;
            {
              auto l = r.reader->Leaf(name);
              leaf = ValueOrThrow(std::move(l));
            }
            Shape o = origin.value_or(Shape(leaf->shape.size(), 0));
            Shape s = shape.value_or(leaf->shape);
            if (s.size() != leaf->shape.size()) {
              ThrowStatus(absl::InvalidArgumentError(absl::StrCat(
                  r.reader->path(), ": leaf '", name, "' has rank ",
                  leaf->shape.size(), ", box has rank ", s.size())));
            }
            size_t nbytes = 0;
            HostBuffer buf = AllocateBoxOrThrow(
                s, leaf->dtype,
                absl::StrCat(r.reader->path(), ": leaf '", name, "'"), &nbytes);
            absl::Status st;
            {
              nb::gil_scoped_release release;
              st = r.reader->ReadBox(name, o, s, buf.get(), nbytes);
            }
            ThrowIfError(st);
            return OwnedArray(std::move(buf), nbytes, leaf->dtype, s);
          },
          nb::arg("name"), nb::arg("origin") = nb::none(),
          nb::arg("shape") = nb::none(),
          "Reads a leaf (or the box [origin, origin + shape)) into a new numpy "
          "array of the stored dtype; every chunk touched is fully decoded "
          "and its checksums verified.")
      .def(
          "read_string",
          [](PyCheckpointReader& r, const std::string& name) {
            return ValueOrThrow(r.reader->ReadString(name));
          },
          nb::arg("name"), "The value of a string leaf (`_strings.json`).");
}

}  // namespace ocpx_python

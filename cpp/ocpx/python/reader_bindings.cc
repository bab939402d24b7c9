// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Bindings for the C++ checkpoint reader (cpp/ocpx/reader): what the `ocpx`
// command-line tool (inspect / verify / export) reads through.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/numpy_interop.h"
#include "cpp/ocpx/python/status.h"
#include "cpp/ocpx/reader/checkpoint_files.h"
#include "cpp/ocpx/reader/checkpoint_layout.h"
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
  d["skip_deserialize"] = l.skip_deserialize;
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

// A parsed JSON value as the Python object `json.loads` would give.
nb::object JsonToPython(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return nb::none();
    case nlohmann::json::value_t::boolean:
      return nb::bool_(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return nb::int_(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return nb::steal(PyLong_FromUnsignedLongLong(j.get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return nb::float_(j.get<double>());
    case nlohmann::json::value_t::string:
      return nb::str(j.get_ref<const std::string&>().c_str(),
                     j.get_ref<const std::string&>().size());
    case nlohmann::json::value_t::array: {
      nb::list out;
      for (const auto& v : j) out.append(JsonToPython(v));
      return out;
    }
    case nlohmann::json::value_t::object: {
      nb::dict out;
      for (const auto& [k, v] : j.items()) {
        out[nb::str(k.c_str(), k.size())] = JsonToPython(v);
      }
      return out;
    }
    default:
      return nb::none();
  }
}

// JSON text that the core produced (always valid) as a Python object.
nb::object JsonTextToPython(const std::string& text) {
  return JsonToPython(nlohmann::json::parse(text, nullptr, false));
}

absl::string_view View(const nb::bytes& b) {
  return absl::string_view(static_cast<const char*>(b.data()), b.size());
}

nb::dict StepMetadataDict(const ocpx::StepMetadata& m) {
  nb::dict d;
  d["item_handlers"] = JsonTextToPython(m.item_handlers);
  d["metrics"] = JsonTextToPython(m.metrics);
  d["performance_metrics"] = JsonTextToPython(m.performance_metrics);
  d["init_timestamp_nsecs"] =
      m.init_timestamp_nsecs.has_value()
          ? nb::object(nb::int_(*m.init_timestamp_nsecs))
          : nb::none();
  d["commit_timestamp_nsecs"] =
      m.commit_timestamp_nsecs.has_value()
          ? nb::object(nb::int_(*m.commit_timestamp_nsecs))
          : nb::none();
  d["custom_metadata"] = JsonTextToPython(m.custom_metadata);
  return d;
}

// One Python str per distinct string of a tree's leaves.  Key names repeat
// across leaves (`params`, `layers`, `kernel`, ...): a tree of thousands of
// leaves then holds each name once, not once per leaf.
class StrCache {
 public:
  nb::str Get(const std::string& s) {
    auto it = strs_.find(s);
    if (it == strs_.end()) {
      it = strs_.emplace(s, nb::str(s.c_str(), s.size())).first;
    }
    return it->second;
  }

 private:
  absl::flat_hash_map<std::string, nb::str> strs_;
};

// A leaf of `_METADATA` as the tuple (names, key_types, value_type,
// skip_deserialize, write_shape or None): what the Python tree metadata
// keeps of it.  A tuple of shared strings, not a dict of sixteen entries:
// parsing the metadata of thousands of leaves allocates a tenth as much.
nb::tuple TreeLeafTuple(const ocpx::LeafInfo& l, StrCache& strs) {
  const size_t n = l.key_path.size();
  nb::object names = nb::steal(PyTuple_New(static_cast<Py_ssize_t>(n)));
  nb::object types = nb::steal(PyTuple_New(static_cast<Py_ssize_t>(n)));
  if (!names.is_valid() || !types.is_valid()) throw nb::python_error();
  for (size_t i = 0; i < n; ++i) {
    const Py_ssize_t at = static_cast<Py_ssize_t>(i);
    PyTuple_SET_ITEM(names.ptr(), at,
                     strs.Get(l.key_path[i].key).release().ptr());
    PyTuple_SET_ITEM(
        types.ptr(), at,
        nb::int_(static_cast<int>(l.key_path[i].type)).release().ptr());
  }
  nb::object write_shape = l.write_shape.has_value()
                               ? nb::object(nb::tuple(nb::cast(*l.write_shape)))
                               : nb::none();
  return nb::make_tuple(names, types, strs.Get(l.value_type),
                        l.skip_deserialize, write_shape);
}

nb::dict TreeMetadataDict(const ocpx::internal_reader::TreeMetadata& t) {
  nb::dict d;
  StrCache strs;
  nb::list leaves;
  for (const auto& l : t.leaves) leaves.append(TreeLeafTuple(l, strs));
  d["leaves"] = leaves;
  d["use_ocdbt"] = t.use_ocdbt;
  d["use_zarr3"] = t.use_zarr3.has_value() ? nb::object(nb::bool_(*t.use_zarr3))
                                           : nb::none();
  d["store_array_data_equal_to_fill_value"] =
      t.store_array_data_equal_to_fill_value;
  d["custom_metadata"] = JsonTextToPython(t.custom_metadata);
  d["value_metadata_tree"] =
      t.value_metadata_tree.has_value()
          ? nb::object(nb::str(t.value_metadata_tree->c_str(),
                               t.value_metadata_tree->size()))
          : nb::none();
  d["inferred"] = t.inferred;
  return d;
}

// A FileSource answered by a Python object (`stat(rel)` -> 0 missing / 1
// file / 2 directory, `is_symlink(rel)`, `list_directories(rel)`,
// `describe()`), for object stores.  A Python exception becomes a Status
// inside the C++ rules and is raised again, unchanged, at the boundary.
class PyFileSource : public ocpx::internal_reader::FileSource {
 public:
  explicit PyFileSource(nb::object obj) : obj_(std::move(obj)) {
    describe_ = nb::cast<std::string>(nb::str(obj_.attr("describe")()));
  }
  absl::StatusOr<ocpx::internal_reader::FileKind> Stat(
      absl::string_view rel) const override {
    return Call<ocpx::internal_reader::FileKind>("stat", rel, [](nb::object r) {
      const int k = nb::cast<int>(r);
      return k == 2   ? ocpx::internal_reader::FileKind::kDirectory
             : k == 1 ? ocpx::internal_reader::FileKind::kFile
                      : ocpx::internal_reader::FileKind::kMissing;
    });
  }
  absl::StatusOr<bool> IsSymlink(absl::string_view rel) const override {
    return Call<bool>("is_symlink", rel,
                      [](nb::object r) { return nb::cast<bool>(r); });
  }
  absl::StatusOr<std::vector<std::string>> ListDirectories(
      absl::string_view rel) const override {
    return Call<std::vector<std::string>>(
        "list_directories", rel,
        [](nb::object r) { return nb::cast<std::vector<std::string>>(r); });
  }
  std::string Describe() const override { return describe_; }

  // Raises the first Python exception a callback raised, if any.
  void RethrowIfFailed() {
    if (error_.has_value()) {
      nb::python_error e = std::move(*error_);
      error_.reset();
      throw e;
    }
  }

 private:
  template <typename T, typename F>
  absl::StatusOr<T> Call(const char* method, absl::string_view rel,
                         F convert) const {
    if (error_.has_value()) return absl::AbortedError("callback failed");
    try {
      return convert(obj_.attr(method)(std::string(rel)));
    } catch (nb::python_error& e) {
      error_.emplace(std::move(e));
    } catch (const std::exception& e) {  // a cast of a wrong return type
      PyErr_SetString(PyExc_TypeError,
                      absl::StrCat(describe_, ": ", method, "(", rel,
                                   ") returned the wrong type: ", e.what())
                          .c_str());
      error_.emplace();  // takes the error just set
    }
    return absl::AbortedError(
        absl::StrCat(describe_, ": ", method, "(", rel, ") failed"));
  }

  nb::object obj_;
  std::string describe_;
  mutable std::optional<nb::python_error> error_;
};

// Runs `fn(source)` on a local path (str) or a Python FileSource.
template <typename F>
auto WithSource(nb::handle source, F fn) {
  if (nb::isinstance<nb::str>(source)) {
    ocpx::internal_reader::LocalFileSource local(nb::cast<std::string>(source));
    return fn(static_cast<const ocpx::internal_reader::FileSource&>(local));
  }
  PyFileSource py(nb::borrow<nb::object>(source));
  auto result = fn(static_cast<const ocpx::internal_reader::FileSource&>(py));
  py.RethrowIfFailed();
  return result;
}

// The layout errors the Python API raises as its own (Orbax's) types, by
// name; any other failure raises here.
nb::tuple LayoutError(const absl::Status& s) {
  const char* kind = nullptr;
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      kind = "not_found";
      break;
    case absl::StatusCode::kFailedPrecondition:
      kind = "not_a_directory";
      break;
    case absl::StatusCode::kAborted:
      kind = "deletion_in_progress";
      break;
    case absl::StatusCode::kInvalidArgument:
      kind = "invalid_layout";
      break;
    default:
      ThrowStatus(s);
  }
  return nb::make_tuple(kind, std::string(s.message()));
}

}  // namespace

void RegisterReader(nb::module_& m) {
  namespace ir = ocpx::internal_reader;
  m.def(
      "check_checkpoint_dir",
      [](nb::handle source, bool uses_commit_file) -> nb::tuple {
        auto r = WithSource(source, [&](const ir::FileSource& src) {
          return ir::CheckCheckpointDir(src, uses_commit_file);
        });
        if (!r.ok()) return LayoutError(r.status());
        return nb::make_tuple(nb::none(), *r ? "v1" : "v0");
      },
      nb::arg("source"), nb::arg("uses_commit_file") = false,
      "Checks that `source` (a local path, or an object with stat / "
      "is_symlink / list_directories / describe) is a finalized checkpoint. "
      "Returns (None, 'v1' or 'v0'), or (error kind, message) with kind "
      "not_found / not_a_directory / invalid_layout.");
  m.def(
      "is_orbax_checkpoint",
      [](nb::handle source, bool uses_commit_file) {
        return ValueOrThrow(WithSource(source, [&](const ir::FileSource& src) {
          return ir::IsOrbaxCheckpoint(src, uses_commit_file);
        }));
      },
      nb::arg("source"), nb::arg("uses_commit_file") = false,
      "Whether `source` is a finalized checkpoint of the v1 or the v0 layout.");
  m.def(
      "checkpointable_names",
      [](nb::handle source, std::optional<std::string> pending_deletion) {
        return ValueOrThrow(WithSource(source, [&](const ir::FileSource& src) {
          return ir::CheckpointableNames(src, pending_deletion);
        }));
      },
      nb::arg("source"), nb::arg("pending_deletion") = nb::none(),
      "The checkpointable subdirectories: not reserved, not temporary, not "
      "`pending_deletion`; 'state' first, then sorted.");
  m.def(
      "pytree_checkpointable_names",
      [](nb::handle source, std::optional<std::string> pending_deletion) {
        return ValueOrThrow(WithSource(source, [&](const ir::FileSource& src) {
          return ir::PytreeCheckpointableNames(src, pending_deletion);
        }));
      },
      nb::arg("source"), nb::arg("pending_deletion") = nb::none(),
      "The checkpointables holding a PyTree (`_METADATA`, or the arrays of "
      "one whose `_METADATA` was lost), in checkpointable_names order.");
  m.def(
      "resolve_checkpoint",
      [](nb::handle source, std::optional<std::string> checkpointable,
         bool explicit_needs_metadata,
         std::optional<std::string> pending_deletion,
         bool uses_commit_file) -> nb::tuple {
        ir::LayoutOptions o;
        o.checkpointable = std::move(checkpointable);
        o.explicit_needs_metadata = explicit_needs_metadata;
        o.pending_deletion = std::move(pending_deletion);
        o.uses_commit_file = uses_commit_file;
        auto r = WithSource(source, [&](const ir::FileSource& src) {
          return ir::ResolveCheckpoint(src, o);
        });
        if (!r.ok()) return LayoutError(r.status());
        return nb::make_tuple(
            nb::none(), std::string(ocpx::CheckpointLayoutName(r->layout)),
            r->checkpointable.has_value()
                ? nb::object(nb::str(r->checkpointable->c_str()))
                : nb::none());
      },
      nb::arg("source"), nb::arg("checkpointable"),
      nb::arg("explicit_needs_metadata") = true,
      nb::arg("pending_deletion") = nb::none(),
      nb::arg("uses_commit_file") = false,
      "Resolves the PyTree to read: `checkpointable` is 'AUTO', a name, or "
      "None (a v0 flat PyTree at the root).  Returns (None, layout, name or "
      "None), or (error kind, message) with kind not_found / "
      "not_a_directory / deletion_in_progress / invalid_layout.");
  m.def(
      "parse_step_metadata",
      [](nb::bytes data, const std::string& file) {
        return StepMetadataDict(
            ValueOrThrow(ir::ParseStepMetadata(View(data), file)));
      },
      nb::arg("data"), nb::arg("file"),
      "Parses `_CHECKPOINT_METADATA` (its bytes; `file` names it in errors) "
      "into a dict: item_handlers, metrics, performance_metrics, "
      "init_timestamp_nsecs, commit_timestamp_nsecs, custom_metadata.  "
      "ValueError if malformed.");
  m.def(
      "parse_tree_metadata",
      [](nb::bytes data, const std::string& file, bool has_ocdbt_manifest) {
        const absl::string_view text = View(data);
        absl::StatusOr<ir::TreeMetadata> t;
        {
          // `data` is immutable and held by the caller: parse without the GIL.
          nb::gil_scoped_release release;
          t = ir::ParseTreeMetadata(text, file, has_ocdbt_manifest);
        }
        return TreeMetadataDict(ValueOrThrow(std::move(t)));
      },
      nb::arg("data"), nb::arg("file"), nb::arg("has_ocdbt_manifest"),
      "Parses `_METADATA` into a dict: leaves (sorted tuples (names, "
      "key_types, value_type, skip_deserialize, write_shape or None)), "
      "use_ocdbt (`has_ocdbt_manifest` if unrecorded), use_zarr3, "
      "store_array_data_equal_to_fill_value, custom_metadata, "
      "value_metadata_tree, inferred.  ValueError naming the file and entry "
      "if malformed.");
  m.def(
      "infer_tree_metadata",
      [](std::vector<std::string> params,
         const std::vector<std::string>& sharded, bool use_ocdbt,
         const std::string& metadata_file) {
        absl::flat_hash_map<std::string, std::string> shardings;
        for (const auto& s : sharded) shardings[s] = "";
        return TreeMetadataDict(ValueOrThrow(ir::InferTreeMetadata(
            std::move(params), shardings, use_ocdbt, metadata_file)));
      },
      nb::arg("params"), nb::arg("sharded"), nb::arg("use_ocdbt"),
      nb::arg("metadata_file"),
      "The tree of a PyTree whose `_METADATA` is lost, from its stored array "
      "names (`a.b` -> dict path a/b; jax.Array if in `sharded`, else "
      "np.ndarray), as parse_tree_metadata returns it.  FileNotFoundError "
      "naming `metadata_file` if `params` is empty.");
  m.def(
      "parse_shardings",
      [](nb::bytes data, const std::string& file) {
        ir::Shardings s = ValueOrThrow(ir::ParseShardings(View(data), file));
        nb::dict by_name;
        for (const auto& [k, v] : s.by_name) {
          by_name[nb::str(k.c_str(), k.size())] = nb::str(v.c_str(), v.size());
        }
        return nb::make_tuple(by_name, nb::cast(s.warnings));
      },
      nb::arg("data"), nb::arg("file"),
      "Parses `_sharding` into ({param name: sharding JSON text}, "
      "[warnings to log]).  ValueError if it is not an object of strings.");
  nb::class_<ir::StringValues>(
      m, "StringValues",
      "A parsed `_strings.json`: the values of a PyTree's string leaves.")
      .def_static(
          "parse",
          [](nb::bytes data, const std::string& file) {
            return ValueOrThrow(ir::StringValues::Parse(View(data), file));
          },
          nb::arg("data"), nb::arg("file"),
          "Parses the file's bytes; ValueError unless it is a JSON object.")
      .def(
          "get",
          [](const ir::StringValues& s, const std::string& name) {
            return ValueOrThrow(s.Get(name));
          },
          nb::arg("name"),
          "The value of string leaf `name` (a `/` nests): FileNotFoundError "
          "if missing, ValueError if the stored value is not a string.");
  m.def(
      "parse_random_key_impls",
      [](nb::bytes data, const std::string& file) {
        return ValueOrThrow(ir::ParseRandomKeyImpls(View(data), file));
      },
      nb::arg("data"), nb::arg("file"),
      "Parses one `array_metadatas/process_<i>` file into [(param name, "
      "PRNG implementation)] for the typed PRNG keys it records.  ValueError "
      "if malformed.");

  nb::class_<PyCheckpointReader>(
      m, "CheckpointReader",
      "An opened Orbax checkpoint PyTree (v1 or v0 layout, AUTO "
      "checkpointable resolution), read by the C++ reader.  Thread-safe.")
      .def(
          "__init__",
          [](PyCheckpointReader* self, std::string path,
             std::string checkpointable, bool fail_on_missing_chunks,
             std::vector<std::string> array_metadata_keys) {
            ocpx::CheckpointReaderOptions o;
            o.checkpointable = std::move(checkpointable);
            o.fail_on_missing_chunks = fail_on_missing_chunks;
            o.array_metadata_keys = std::move(array_metadata_keys);
            absl::StatusOr<std::unique_ptr<ocpx::CheckpointReader>> r;
            {
              nb::gil_scoped_release release;
              r = ocpx::CheckpointReader::Open(std::move(path), o);
            }
            new (self) PyCheckpointReader{ValueOrThrow(std::move(r))};
          },
          nb::arg("path"), nb::arg("checkpointable") = "AUTO",
          nb::arg("fail_on_missing_chunks") = true, nb::kw_only(),
          nb::arg("array_metadata_keys") = std::vector<std::string>())
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
          "read_many",
          [](PyCheckpointReader& r,
             const std::vector<std::tuple<std::string, Shape, Shape>>& reqs) {
            std::vector<ocpx::BoxRead> reads(reqs.size());
            std::vector<HostBuffer> bufs(reqs.size());
            std::vector<size_t> sizes(reqs.size());
            std::vector<ocpx::DataType> dtypes(reqs.size());
            for (size_t i = 0; i < reqs.size(); ++i) {
              const auto& [name, origin, shape] = reqs[i];
              const ocpx::LeafInfo* leaf = ValueOrThrow(r.reader->Leaf(name));
              dtypes[i] = leaf->dtype;
              bufs[i] = AllocateBoxOrThrow(
                  shape, leaf->dtype,
                  absl::StrCat(r.reader->path(), ": leaf '", name, "'"),
                  &sizes[i]);
              reads[i] =
                  ocpx::BoxRead{name, origin, shape, bufs[i].get(), sizes[i]};
            }
            absl::Status st;
            {
              nb::gil_scoped_release release;
              st = r.reader->ReadMany(reads);
            }
            ThrowIfError(st);
            nb::list out;
            for (size_t i = 0; i < reqs.size(); ++i) {
              out.append(OwnedArray(std::move(bufs[i]), sizes[i], dtypes[i],
                                    std::get<2>(reqs[i])));
            }
            return out;
          },
          nb::arg("requests"),
          "Reads many (name, origin, shape) boxes in one call (GIL released, "
          "leaves in parallel, each chunk decoded once) into new numpy "
          "arrays; the first error in request order is raised.")
      .def(
          "read_string",
          [](PyCheckpointReader& r, const std::string& name) {
            return ValueOrThrow(r.reader->ReadString(name));
          },
          nb::arg("name"), "The value of a string leaf (`_strings.json`).");
}

}  // namespace ocpx_python

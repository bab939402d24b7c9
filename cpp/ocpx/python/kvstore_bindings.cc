// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// Thin bindings over the OCDBT reader, transaction and merge.

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "cpp/ocpx/kvstore/ocdbt_reader.h"
#include "cpp/ocpx/kvstore/ocdbt_writer.h"
#include "cpp/ocpx/python/bindings.h"
#include "cpp/ocpx/python/status.h"

namespace nb = nanobind;

namespace ocpx_python {

using ::ocpx::internal_ocdbt::Compression;
using ::ocpx::internal_ocdbt::Config;
using ::ocpx::internal_ocdbt::KeyRange;
using ::ocpx::internal_ocdbt::LeafNodeEntry;
using ::ocpx::internal_ocdbt::ManifestKind;
using ::ocpx::internal_ocdbt::OcdbtCommit;
using ::ocpx::internal_ocdbt::OcdbtMerge;
using ::ocpx::internal_ocdbt::OcdbtReader;
using ::ocpx::internal_ocdbt::OcdbtReadOptions;
using ::ocpx::internal_ocdbt::OcdbtTransaction;
using ::ocpx::internal_ocdbt::OcdbtWriteOptions;
using ::ocpx::internal_ocdbt::VersionEntry;

namespace {

absl::string_view View(const nb::bytes& b) { return {b.c_str(), b.size()}; }
nb::bytes Bytes(absl::string_view s) { return nb::bytes(s.data(), s.size()); }

struct PyReader {
  std::shared_ptr<const OcdbtReader> reader;
};

struct PyWriter {
  std::unique_ptr<OcdbtTransaction> txn;
};

OcdbtWriteOptions MakeOptions(bool orbax,
                              std::optional<uint32_t> max_inline_value_bytes,
                              std::optional<uint32_t> max_decoded_node_bytes,
                              std::optional<uint32_t> version_tree_arity_log2,
                              const std::string& compression, int zstd_level,
                              const std::string& manifest_kind,
                              std::optional<uint64_t> target_data_file_size,
                              std::optional<nb::bytes> uuid,
                              bool keep_version_history) {
  auto o = orbax ? OcdbtWriteOptions::Orbax() : OcdbtWriteOptions();
  if (max_inline_value_bytes)
    o.max_inline_value_bytes = *max_inline_value_bytes;
  if (max_decoded_node_bytes)
    o.max_decoded_node_bytes = *max_decoded_node_bytes;
  if (version_tree_arity_log2) {
    if (*version_tree_arity_log2 < 1 || *version_tree_arity_log2 > 16) {
      ThrowStatus(absl::InvalidArgumentError(
          "version_tree_arity_log2 must be in [1, 16]"));
    }
    o.version_tree_arity_log2 = static_cast<uint8_t>(*version_tree_arity_log2);
  }
  if (compression == "zstd") {
    o.compression = {Compression::kZstd, zstd_level};
  } else if (compression == "none" || compression.empty()) {
    o.compression = {Compression::kNone, 0};
  } else {
    ThrowStatus(
        absl::InvalidArgumentError("compression must be \"zstd\" or \"none\""));
  }
  if (manifest_kind == "single") {
    o.manifest_kind = ManifestKind::kSingle;
  } else if (manifest_kind == "numbered") {
    o.manifest_kind = ManifestKind::kNumbered;
  } else {
    ThrowStatus(absl::InvalidArgumentError(
        "manifest_kind must be \"single\" or \"numbered\""));
  }
  if (target_data_file_size) o.target_data_file_size = *target_data_file_size;
  if (uuid) {
    if (uuid->size() != 16) {
      ThrowStatus(absl::InvalidArgumentError("uuid must be 16 bytes"));
    }
    std::array<uint8_t, 16> u;
    for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(uuid->c_str()[i]);
    o.uuid = u;
  }
  o.keep_version_history = keep_version_history;
  return o;
}

#define OCPX_OPTION_ARGS                                                       \
  nb::arg("orbax") = false, nb::arg("max_inline_value_bytes") = nb::none(),    \
  nb::arg("max_decoded_node_bytes") = nb::none(),                              \
  nb::arg("version_tree_arity_log2") = nb::none(),                             \
  nb::arg("compression") = "zstd", nb::arg("zstd_level") = 0,                  \
  nb::arg("manifest_kind") = "single",                                         \
  nb::arg("target_data_file_size") = nb::none(), nb::arg("uuid") = nb::none(), \
  nb::arg("keep_version_history") = true

nb::dict ConfigDict(const Config& c) {
  nb::dict d;
  d["uuid"] = nb::bytes(reinterpret_cast<const char*>(c.uuid.data()), 16);
  d["manifest_kind"] =
      c.manifest_kind == ManifestKind::kSingle ? "single" : "numbered";
  d["max_inline_value_bytes"] = c.max_inline_value_bytes;
  d["max_decoded_node_bytes"] = c.max_decoded_node_bytes;
  d["version_tree_arity_log2"] = c.version_tree_arity_log2;
  d["compression"] =
      c.compression.method == Compression::kZstd ? "zstd" : "none";
  d["zstd_level"] = c.compression.zstd_level;
  return d;
}

}  // namespace

void RegisterKvstore(nb::module_& m) {
  nb::class_<PyReader>(m, "OcdbtReader",
                       "Read-only snapshot of one generation of an OCDBT "
                       "database directory.")
      .def(
          "__init__",
          [](PyReader* self, std::string path,
             std::optional<uint64_t> generation) {
            OcdbtReadOptions options;
            options.generation = generation;
            absl::StatusOr<std::shared_ptr<const OcdbtReader>> r;
            {
              nb::gil_scoped_release release;
              r = OcdbtReader::Open(std::move(path), options);
            }
            new (self) PyReader{ValueOrThrow(std::move(r))};
          },
          nb::arg("path"), nb::arg("generation") = nb::none())
      .def_prop_ro("generation",
                   [](const PyReader& r) { return r.reader->generation(); })
      .def_prop_ro("num_keys",
                   [](const PyReader& r) { return r.reader->num_keys(); })
      .def_prop_ro(
          "root_height",
          [](const PyReader& r) { return r.reader->version().root_height; })
      .def_prop_ro(
          "commit_time",
          [](const PyReader& r) { return r.reader->version().commit_time; })
      .def_prop_ro(
          "config",
          [](const PyReader& r) { return ConfigDict(r.reader->config()); })
      .def(
          "get",
          [](const PyReader& r, nb::bytes key) -> nb::object {
            absl::StatusOr<std::optional<std::string>> v;
            {
              absl::string_view k = View(key);
              nb::gil_scoped_release release;
              v = r.reader->Get(k);
            }
            auto value = ValueOrThrow(std::move(v));
            if (!value.has_value()) return nb::none();
            return Bytes(*value);
          },
          nb::arg("key"), "The value of key, or None if absent.")
      .def(
          "list",
          [](const PyReader& r, nb::bytes prefix) {
            std::vector<std::pair<std::string, std::string>> items;
            absl::Status s;
            {
              const auto range = KeyRange::Prefix(View(prefix));
              nb::gil_scoped_release release;
              s = r.reader->List(
                  range, [&](absl::string_view k, absl::string_view v) {
                    items.emplace_back(std::string(k), std::string(v));
                    return absl::OkStatus();
                  });
            }
            ThrowIfError(s);
            nb::list out;
            for (const auto& [k, v] : items) {
              out.append(nb::make_tuple(Bytes(k), Bytes(v)));
            }
            return out;
          },
          nb::arg("prefix") = nb::bytes("", 0),
          "Sorted [(key, value)] of the keys starting with prefix.")
      .def(
          "keys",
          [](const PyReader& r, nb::bytes prefix) {
            std::vector<std::string> keys;
            absl::Status s;
            {
              const auto range = KeyRange::Prefix(View(prefix));
              nb::gil_scoped_release release;
              s = r.reader->ListEntries(
                  range, [&](absl::string_view k, const LeafNodeEntry&) {
                    keys.emplace_back(k);
                    return absl::OkStatus();
                  });
            }
            ThrowIfError(s);
            nb::list out;
            for (const auto& k : keys) out.append(Bytes(k));
            return out;
          },
          nb::arg("prefix") = nb::bytes("", 0),
          "Sorted keys starting with prefix.")
      .def(
          "generations",
          [](const PyReader& r) {
            absl::StatusOr<std::vector<VersionEntry>> v;
            {
              nb::gil_scoped_release release;
              v = r.reader->ListVersions();
            }
            std::vector<uint64_t> out;
            for (const auto& e : ValueOrThrow(std::move(v))) {
              out.push_back(e.generation);
            }
            return out;
          },
          "Every generation still reachable, oldest first.");

  nb::class_<PyWriter>(m, "OcdbtWriter",
                       "A transaction committing puts/deletes as one new "
                       "generation; put() may be called from many threads.")
      .def(
          "__init__",
          [](PyWriter* self, std::string path, bool orbax,
             std::optional<uint32_t> a, std::optional<uint32_t> b,
             std::optional<uint32_t> c, const std::string& compression,
             int level, const std::string& kind, std::optional<uint64_t> t,
             std::optional<nb::bytes> uuid, bool keep) {
            auto options = MakeOptions(orbax, a, b, c, compression, level, kind,
                                       t, uuid, keep);
            absl::StatusOr<std::unique_ptr<OcdbtTransaction>> txn;
            {
              nb::gil_scoped_release release;
              txn = OcdbtTransaction::Begin(std::move(path), options);
            }
            new (self) PyWriter{ValueOrThrow(std::move(txn))};
          },
          nb::arg("path"), nb::kw_only(), OCPX_OPTION_ARGS)
      .def_prop_ro("base_generation",
                   [](const PyWriter& w) { return w.txn->base_generation(); })
      .def_prop_ro(
          "config",
          [](const PyWriter& w) { return ConfigDict(w.txn->config()); })
      .def(
          "put",
          [](PyWriter& w, nb::bytes key, nb::bytes value) {
            absl::Status s;
            {
              absl::string_view k = View(key), v = View(value);
              nb::gil_scoped_release release;
              s = w.txn->Put(k, v);
            }
            ThrowIfError(s);
          },
          nb::arg("key"), nb::arg("value"))
      .def(
          "get",
          [](PyWriter& w, nb::bytes key) -> nb::object {
            absl::StatusOr<std::optional<std::string>> v;
            {
              absl::string_view k = View(key);
              nb::gil_scoped_release release;
              v = w.txn->Get(k);
            }
            auto value = ValueOrThrow(std::move(v));
            if (!value.has_value()) return nb::none();
            return Bytes(*value);
          },
          nb::arg("key"),
          "Read-your-writes: the pending value, else the base generation's.")
      .def(
          "delete",
          [](PyWriter& w, nb::bytes key) {
            absl::Status s;
            {
              absl::string_view k = View(key);
              nb::gil_scoped_release release;
              s = w.txn->Delete(k);
            }
            ThrowIfError(s);
          },
          nb::arg("key"))
      .def(
          "commit",
          [](PyWriter& w) {
            absl::StatusOr<uint64_t> g;
            {
              nb::gil_scoped_release release;
              g = w.txn->Commit();
            }
            return ValueOrThrow(std::move(g));
          },
          "Publishes the new generation and returns its number.");

  m.def(
      "ocdbt_commit",
      [](std::string path, nb::dict puts, std::vector<nb::bytes> deletes,
         bool orbax, std::optional<uint32_t> a, std::optional<uint32_t> b,
         std::optional<uint32_t> c, const std::string& compression, int level,
         const std::string& kind, std::optional<uint64_t> t,
         std::optional<nb::bytes> uuid, bool keep) {
        auto options = MakeOptions(orbax, a, b, c, compression, level, kind, t,
                                   uuid, keep);
        std::vector<std::pair<std::string, std::string>> p;
        p.reserve(puts.size());
        for (auto [k, v] : puts) {
          p.emplace_back(std::string(View(nb::cast<nb::bytes>(k))),
                         std::string(View(nb::cast<nb::bytes>(v))));
        }
        std::vector<std::string> d;
        for (const auto& k : deletes) d.emplace_back(View(k));
        absl::StatusOr<uint64_t> g;
        {
          nb::gil_scoped_release release;
          g = OcdbtCommit(path, p, d, options);
        }
        return ValueOrThrow(std::move(g));
      },
      nb::arg("path"), nb::arg("puts"),
      nb::arg("deletes") = std::vector<nb::bytes>(), nb::kw_only(),
      OCPX_OPTION_ARGS,
      "Commits {key: value} puts and key deletes to the OCDBT database in "
      "path (created if absent) as one generation; returns it.");

  m.def(
      "ocdbt_merge",
      [](std::string parent, std::vector<std::string> children, bool orbax,
         std::optional<uint32_t> a, std::optional<uint32_t> b,
         std::optional<uint32_t> c, const std::string& compression, int level,
         const std::string& kind, std::optional<uint64_t> t,
         std::optional<nb::bytes> uuid, bool keep, bool sync) {
        auto options = MakeOptions(orbax, a, b, c, compression, level, kind, t,
                                   uuid, keep);
        options.sync = sync;
        absl::StatusOr<uint64_t> g;
        {
          nb::gil_scoped_release release;
          g = OcdbtMerge(parent, children, options);
        }
        return ValueOrThrow(std::move(g));
      },
      nb::arg("parent_path"), nb::arg("child_subdirs"), nb::kw_only(),
      nb::arg("orbax") = true, nb::arg("max_inline_value_bytes") = nb::none(),
      nb::arg("max_decoded_node_bytes") = nb::none(),
      nb::arg("version_tree_arity_log2") = nb::none(),
      nb::arg("compression") = "zstd", nb::arg("zstd_level") = 0,
      nb::arg("manifest_kind") = "single",
      nb::arg("target_data_file_size") = nb::none(),
      nb::arg("uuid") = nb::none(), nb::arg("keep_version_history") = true,
      nb::arg("sync") = true,
      "Merges the child databases parent_path/<subdir> into parent_path "
      "(values referenced in place); returns the parent's new generation.  "
      "With sync=False nothing is fsynced (the caller syncs the tree).");
}

}  // namespace ocpx_python

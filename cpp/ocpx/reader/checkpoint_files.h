// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_READER_CHECKPOINT_FILES_H_
#define OCPX_READER_CHECKPOINT_FILES_H_

/// \file
/// Internal: the one parser of a checkpoint's metadata files
/// (docs/format.md): `_CHECKPOINT_METADATA`, `_METADATA` (and the tree
/// rebuilt from stored array names when it is missing), `_sharding`,
/// `_strings.json` and `array_metadatas/process_*`.
///
/// Every function takes the file's bytes and the name to report in errors,
/// never a path to open: the public `CheckpointReader` feeds them from the
/// local filesystem, and the Python API (`ocpx._core.parse_*`) feeds them
/// bytes it read locally or from an object store through TensorStore, so a
/// checkpoint follows the same rules wherever its bytes come from.
///
/// Errors are InvalidArgument naming `file` (and the entry), which Python
/// sees as ValueError.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ocpx/checkpoint_reader.h"

namespace ocpx {
namespace internal_reader {

/// `_METADATA`, parsed.  `leaves` are sorted by key path (sequence indices
/// numerically) with entries whose name tuple is a strict prefix of another's
/// dropped; only `key_path`, `name`, `value_type`, `kind`,
/// `skip_deserialize` and `write_shape` of each leaf are set.
struct TreeMetadata {
  std::vector<LeafInfo> leaves;
  /// Whether arrays live in an OCDBT database; when the file does not say,
  /// whether the directory holds `manifest.ocdbt` (the caller's answer).
  bool use_ocdbt = true;
  /// `use_zarr3`; nullopt when the tree was rebuilt (unknown).
  std::optional<bool> use_zarr3;
  bool store_array_data_equal_to_fill_value = false;
  /// `custom_metadata` as compact JSON text ("null" if absent).
  std::string custom_metadata = "null";
  /// `value_metadata_tree` (ocpx's record of named tuples etc.), if present.
  std::optional<std::string> value_metadata_tree;
  /// True if `_METADATA` was missing and the leaves were rebuilt.
  bool inferred = false;
};

/// Parses `_CHECKPOINT_METADATA`.  Unknown top-level keys become
/// `custom_metadata` (an error if a non-empty `custom_metadata` is also
/// present); timestamps must be integers or null.
absl::StatusOr<StepMetadata> ParseStepMetadata(absl::string_view bytes,
                                               absl::string_view file);

/// Parses `_METADATA`.  Every field must have its JSON type: a key is a
/// string, `key_type` 1 or 2, `value_type` a string, `skip_deserialize` a
/// boolean or null, `write_shape` a list of sizes, and each entry's dict key
/// must spell its key path as Orbax writes it (`str(tuple(names))`), so that
/// a damaged entry is an error, not a different tree.  `has_ocdbt_manifest`
/// decides `use_ocdbt` when the file does not record it.
absl::StatusOr<TreeMetadata> ParseTreeMetadata(absl::string_view bytes,
                                               absl::string_view file,
                                               bool has_ocdbt_manifest);

/// The tree of a PyTree whose `_METADATA` was lost: each stored array name
/// `a.b.c` becomes the dict path a/b/c (sorted), `jax.Array` if
/// `sharded(name)` (it has a `_sharding` entry), else `np.ndarray`.
/// NotFound naming `metadata_file` if `params` is empty.
absl::StatusOr<TreeMetadata> InferTreeMetadata(
    std::vector<std::string> params,
    const absl::flat_hash_map<std::string, std::string>& shardings,
    bool use_ocdbt, absl::string_view metadata_file);

/// `_sharding`, parsed: param name -> sharding JSON text.
struct Shardings {
  absl::flat_hash_map<std::string, std::string> by_name;
  /// Problems that were skipped rather than raised (the file is not JSON, a
  /// key is not base64url), for the caller to log; Orbax ignores them too.
  std::vector<std::string> warnings;
};

/// Parses `_sharding`: an object of base64url(param name) -> JSON string.
/// A file that is not JSON, or a key that does not decode, is a warning; a
/// document that is not an object or a value that is not a string is
/// InvalidArgument.
absl::StatusOr<Shardings> ParseShardings(absl::string_view bytes,
                                         absl::string_view file);

/// `_strings.json`, parsed: a JSON object whose leaves are the string
/// values, a `/` in a param name nesting one level.
class StringValues {
 public:
  /// InvalidArgument unless `bytes` is a JSON object.
  static absl::StatusOr<StringValues> Parse(absl::string_view bytes,
                                            absl::string_view file);
  /// The value of string leaf `name`: NotFound if it is missing,
  /// InvalidArgument if it holds another JSON type (never converted: a value
  /// a save did not write is corrupt data).
  absl::StatusOr<std::string> Get(absl::string_view name) const;

  StringValues(StringValues&&);
  StringValues& operator=(StringValues&&);
  ~StringValues();

 private:
  struct Doc;
  StringValues(std::unique_ptr<Doc> doc, std::string file);
  std::unique_ptr<Doc> doc_;
  std::string file_;
};

/// Parses one `array_metadatas/process_<i>` file into param name -> PRNG
/// implementation name, for the arrays whose `ext_metadata` records a
/// `random_key_impl` (typed PRNG keys are stored as their key data).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseRandomKeyImpls(absl::string_view bytes, absl::string_view file);

}  // namespace internal_reader
}  // namespace ocpx

#endif  // OCPX_READER_CHECKPOINT_FILES_H_

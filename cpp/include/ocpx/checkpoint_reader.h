// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_CHECKPOINT_READER_H_
#define OCPX_CHECKPOINT_READER_H_

/// \file
/// Public: reading Orbax checkpoints from C++ with no Python, the API for
/// serving binaries.  Include it as `#include "ocpx/checkpoint_reader.h"`
/// (Bazel: depend on `//cpp:ocpx`; CMake: link `ocpx::core`).  It includes
/// only the standard library, abseil and the other public `ocpx/` headers.
///
/// ```
/// auto reader = ocpx::CheckpointReader::Open("/ckpt/step_100");
/// if (!reader.ok()) { ... reader.status() names the file and key ... }
/// for (const ocpx::LeafInfo& leaf : (*reader)->leaves()) {
///   if (leaf.kind != ocpx::LeafKind::kArray) continue;
///   std::vector<float> buf(leaf.num_elements());           // leaf.dtype
///   absl::Status s = (*reader)->Read(leaf.name, buf.data(),
///                                    buf.size() * sizeof(float));
/// }
/// ```
///
/// Layouts (docs/format.md, "Checkpoint layout"): the v1 layout
/// (`orbax.checkpoint`
/// + `_CHECKPOINT_METADATA`, one subdirectory per checkpointable), v0
/// composite checkpoints (subdirectories, no indicator file) and v0 flat
/// checkpoints (the PyTree at the root).  Arrays are zarr v3 or v2, in OCDBT
/// databases or plain directories.  A PyTree whose `_METADATA` was lost is
/// rebuilt from its stored array names (`a.b.c` -> dict path a/b/c).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ocpx/dtype.h"

namespace ocpx {

/// The parsed `_CHECKPOINT_METADATA` of a checkpoint directory
/// (docs/format.md, "_CHECKPOINT_METADATA").  Missing fields stay null /
/// unset; unknown top-level keys are moved into `custom_metadata`, as Orbax
/// reads them.  JSON values are kept as JSON text so that this header needs
/// no JSON library.
struct StepMetadata {
  /// `{name: handler typestr}` (composite / v1), a string (v0 flat), or null,
  /// as compact JSON text.
  std::string item_handlers = "null";
  /// The `metrics` object as compact JSON text ("{}" if absent).
  std::string metrics = "{}";
  /// The `performance_metrics` object as compact JSON text ("{}" if absent).
  std::string performance_metrics = "{}";
  /// When the save started, in nanoseconds since the epoch.
  std::optional<int64_t> init_timestamp_nsecs;
  /// When the save was committed, in nanoseconds since the epoch.
  std::optional<int64_t> commit_timestamp_nsecs;
  /// The user's `custom_metadata` given to save, as compact JSON text (an
  /// object, "{}" if absent).
  std::string custom_metadata = "{}";
};

/// Reads `<checkpoint_dir>/_CHECKPOINT_METADATA`; nullopt if the file does not
/// exist; InvalidArgument naming the file if it is not a JSON object.
absl::StatusOr<std::optional<StepMetadata>> ReadStepMetadata(
    const std::string& checkpoint_dir);

/// The checkpointable subdirectories of a checkpoint directory, as Orbax
/// lists them: directories other than `metrics`, `AUTO`,
/// `_CHECKPOINT_DELETION` and temporary ones, `state` first, then sorted.
absl::StatusOr<std::vector<std::string>> ListCheckpointables(
    const std::string& checkpoint_dir);

/// Resolves the PyTree checkpointable of `checkpoint_dir` like `ocp.load`:
/// `name` = "AUTO" picks `state`, else the first (sorted) subdirectory with a
/// `_METADATA`, else (v0) the root if it holds `_METADATA` or array data,
/// else the first subdirectory holding array data.  Unlike `ocp.load`, an
/// explicit name need only be a subdirectory (a PyTree whose `_METADATA` was
/// lost is rebuilt from its stored arrays), and "" a root holding
/// `_METADATA` or arrays.  Returns "" for a flat PyTree at the root (v0
/// only; pass "" to ask for it explicitly).
absl::StatusOr<std::string> ResolvePytreeCheckpointable(
    const std::string& checkpoint_dir, const std::string& name);

/// `key_type` of `_METADATA` key paths.
enum class KeyType : int {
  kSequence = 1,  ///< A list / tuple index.
  kDict = 2,      ///< A dict key or attribute name.
};

/// One component of a leaf's key path.
struct PathKey {
  std::string key;                ///< Always a string ("0" for index 0).
  KeyType type = KeyType::kDict;  ///< How `key` indexes its parent.
};

/// What a leaf holds.
enum class LeafKind {
  kArray,   ///< `jax.Array` / `np.ndarray`: a zarr array.
  kScalar,  ///< `scalar`: a 0-d zarr array (int64, float64 or bool).
  kString,  ///< `string`: a value in `_strings.json`.
  kEmpty,   ///< `None`, `Dict`, `List`, `Tuple`, ...: no data.
};

/// A leaf of the checkpointed PyTree.
struct LeafInfo {
  /// The key path from the root, e.g. [("params", dict), ("0", sequence)].
  std::vector<PathKey> key_path;
  /// The param name: key path components joined with "." (the stored name).
  std::string name;
  /// `_METADATA`'s value_type ("jax.Array", "np.ndarray", "scalar",
  /// "string", "None", ...).
  std::string value_type;
  /// What the leaf holds, derived from `value_type` (kEmpty also for a
  /// leaf saved with `skip_deserialize` and for Orbax's `placeholder`).
  LeafKind kind = LeafKind::kEmpty;
  /// `_METADATA`'s `skip_deserialize`: the save asked that this leaf not be
  /// restored (a load returns the caller's abstract leaf in its place).
  bool skip_deserialize = false;
  /// kArray / kScalar only: the stored array's shape.
  std::vector<int64_t> shape;
  /// kArray / kScalar only: the stored element type.
  DataType dtype = DataType::kFloat32;
  /// kArray / kScalar only: the storage chunk shape (for Orbax's sharded
  /// zarr3 arrays, the inner chunk).
  std::vector<int64_t> chunk_shape;
  /// The outer zarr chunk-grid shape (one stored value per grid cell).
  std::vector<int64_t> grid_chunk_shape;
  /// kArray / kScalar only: 3 (`zarr.json`) or 2 (`.zarray`).
  int zarr_format = 3;
  /// kArray / kScalar only: every stored chunk byte is covered by a CRC-32C
  /// (see `HasChunkChecksums`), so decoding detects any corruption.
  bool chunk_checksums = false;
  /// `write_shape` from `_METADATA` (per-shard shape at save time), if any.
  std::optional<std::vector<int64_t>> write_shape;
  /// The `_sharding` entry (a JSON text describing the saved sharding).
  std::optional<std::string> sharding;

  /// Product of `shape` (1 for a 0-d array; 0 for non-array leaves).
  int64_t num_elements() const;
  /// `num_elements() * ItemSize(dtype)`.
  size_t num_bytes() const;
};

/// How the checkpoint directory is laid out.
enum class CheckpointLayout {
  kV1,           ///< `orbax.checkpoint` + `_CHECKPOINT_METADATA`.
  kV0Composite,  ///< Checkpointables in subdirectories, no indicator file.
  kV0Flat,       ///< The PyTree at the checkpoint root.
};

/// "v1", "v0-composite" or "v0-flat".
absl::string_view CheckpointLayoutName(CheckpointLayout layout);

/// Options for `CheckpointReader::Open`.
struct CheckpointReaderOptions {
  /// The PyTree checkpointable to read: "AUTO" (see
  /// `ResolvePytreeCheckpointable`), a subdirectory name, or "" for a v0 flat
  /// PyTree at the root.
  std::string checkpointable = "AUTO";
  /// A missing chunk is NotFound (Orbax stores every chunk); otherwise it
  /// reads as the fill value.
  bool fail_on_missing_chunks = true;
  /// Further names of array metadata files, tried in order before
  /// `zarr.json` and `.zarray`: for checkpoints written with Orbax's
  /// `ArrayHandler(metadata_key=...)` / `NumpyHandler(metadata_key=...)`.
  /// Each must be a single file name that no chunk key can take.
  std::vector<std::string> array_metadata_keys;
};

/// An array owned by the caller: `bytes` holds the C-order native-endian
/// elements (`ItemSize(dtype)` bytes each; see dtype.h for sub-byte types).
struct HostArray {
  DataType dtype = DataType::kFloat32;  ///< The element type.
  std::vector<int64_t> shape;           ///< The array's shape (C order).
  std::vector<unsigned char> bytes;     ///< The elements' bytes.

  /// The elements as `T` (the caller picks the `T` matching `dtype`).
  template <typename T>
  const T* data_as() const {
    return reinterpret_cast<const T*>(bytes.data());
  }
};

/// One box to read with `CheckpointReader::ReadMany`.
struct BoxRead {
  std::string name;             ///< The leaf's param name.
  std::vector<int64_t> origin;  ///< The box's first index in each dimension.
  std::vector<int64_t> shape;   ///< The box's extent in each dimension.
  void* out = nullptr;          ///< C-order destination of the elements.
  size_t out_size = 0;          ///< Bytes at `out` (at least the box's).
};

/// An opened checkpoint PyTree.  Open() reads the layout, `_METADATA`,
/// `_sharding`, `_strings.json`, `_CHECKPOINT_METADATA` and every array's
/// zarr metadata; afterwards the reader is immutable and every method is
/// thread-safe (concurrent reads of the same or different leaves are fine).
/// Errors name the checkpoint path and the leaf (and for data errors the
/// chunk key).
class CheckpointReader {
 public:
  /// Opens the checkpoint directory `path`.  NotFound if it does not exist;
  /// FailedPrecondition if it is not a directory; InvalidArgument if it is
  /// not an Orbax checkpoint (e.g. a temporary `*.orbax-checkpoint-tmp`
  /// directory or an item directory inside a checkpoint), lacks the
  /// requested checkpointable, or its metadata is malformed.
  static absl::StatusOr<std::unique_ptr<CheckpointReader>> Open(
      std::string path, const CheckpointReaderOptions& options = {});

  /// The checkpoint directory as given.
  const std::string& path() const;
  /// The resolved checkpointable name ("" for a flat PyTree at the root).
  const std::string& checkpointable() const;
  /// The PyTree directory (`path` or `path/checkpointable`).
  const std::string& directory() const;
  /// How the checkpoint directory is laid out.
  CheckpointLayout layout() const;
  /// Whether arrays live in an OCDBT database (else plain directories).
  bool use_ocdbt() const;
  /// True if `_METADATA` was missing and the leaves were rebuilt from the
  /// stored array names (all dict keys; `jax.Array` if a `_sharding` entry
  /// exists, else `np.ndarray`).
  bool metadata_inferred() const;
  /// `_CHECKPOINT_METADATA`, if the checkpoint has one.
  const std::optional<StepMetadata>& step_metadata() const;
  /// `_METADATA`'s `custom_metadata` as compact JSON text (usually "null").
  const std::string& tree_custom_metadata() const;

  /// Every leaf, in key-path order (sequence indices numerically).
  const std::vector<LeafInfo>& leaves() const;

  /// The leaf with param name `name`; NotFound naming the checkpoint if none.
  absl::StatusOr<const LeafInfo*> Leaf(absl::string_view name) const;

  /// Reads the whole array (or scalar) `name` into `out`, which must hold
  /// `out_size >= leaf.num_bytes()` bytes.  InvalidArgument for string/empty
  /// leaves or a short buffer; DataLoss / NotFound naming the chunk on
  /// corrupt or missing data.
  absl::Status Read(absl::string_view name, void* out, size_t out_size) const;

  /// Reads the box `[origin, origin + shape)` (within the array's bounds) of
  /// `name` into `out` (C-order, `product(shape) * ItemSize(dtype)` bytes).
  absl::Status ReadBox(absl::string_view name, absl::Span<const int64_t> origin,
                       absl::Span<const int64_t> shape, void* out,
                       size_t out_size) const;

  /// Reads every box in one call.  Every request is checked first (nothing
  /// is read if one is invalid); the boxes of one leaf are read together, so
  /// that a chunk several boxes need is decoded once, and different leaves
  /// are read in parallel.  Returns the first error in request order,
  /// naming its leaf.
  absl::Status ReadMany(absl::Span<const BoxRead> reads) const;

  /// Reads the whole array (or scalar) `name` into a new buffer.
  absl::StatusOr<HostArray> Read(absl::string_view name) const;
  /// Reads the box `[origin, origin + shape)` of `name` into a new buffer.
  absl::StatusOr<HostArray> ReadBox(absl::string_view name,
                                    absl::Span<const int64_t> origin,
                                    absl::Span<const int64_t> shape) const;

  /// The value of a string leaf from `_strings.json` (a `/` in the name
  /// nests, docs/format.md, "_strings.json").  NotFound naming the file if it
  /// is absent.
  absl::StatusOr<std::string> ReadString(absl::string_view name) const;

  /// The value of a scalar (or any one-element array) leaf as a double
  /// (complex: the real part; bool: 0/1).
  absl::StatusOr<double> ReadScalar(absl::string_view name) const;

  /// Closes the checkpoint's files.
  ~CheckpointReader();
  /// Not copyable: share it through the `unique_ptr` Open() returns (or a
  /// `shared_ptr` made from it); all methods are const and thread-safe.
  CheckpointReader(const CheckpointReader&) = delete;
  /// Not copy-assignable (see the copy constructor).
  CheckpointReader& operator=(const CheckpointReader&) = delete;

 private:
  struct Impl;  // The parsed metadata and the array store (internal).
  explicit CheckpointReader(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

/// The element at `element` (native order, `ItemSize(dtype)` bytes) as a
/// double: integers and floats by value (bfloat16/float8/float4 decoded),
/// bool 0/1, complex the real part.
double ElementToDouble(DataType dtype, const void* element);

}  // namespace ocpx

#endif  // OCPX_CHECKPOINT_READER_H_

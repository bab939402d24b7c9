# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Option dataclasses, with the names, fields and defaults of Orbax v1.

Every class is a keyword-only dataclass configured by assignment, as in
Orbax 0.12.8:

    ctx = ocp.Context()
    ctx.array.saving.use_ocdbt = False
    ctx.pytree.loading.partial_load = True
    with ctx:
      ocp.save(path, tree)

While a Context is active (inside its `with` block, in the thread or task
that entered it), the Context and every option object reachable from it are
frozen: assigning to them raises RuntimeError.  Configure first, then enter.
Options that ocpx cannot honour raise an error naming the option when an
operation would need them; none is silently ignored.
"""

from __future__ import annotations

import contextvars
import dataclasses
import enum
import pathlib
from typing import Any, Callable, Optional, Protocol, Sequence

# ids of the Context objects, and of every option object reachable from them,
# that are active in the current thread or task.  Set by `Context.__enter__`
# and restored by `__exit__`.
FROZEN_IDS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "ocpx_frozen_option_ids", default=frozenset())
# ids of the shared default Context (what operations use when no Context is
# active) and its option objects: frozen for the life of the process.
ALWAYS_FROZEN_IDS: set[int] = set()


class _ActiveContextGuard:
  """Refuses attribute assignment while the object belongs to an active Context.

  Option objects are plain mutable dataclasses while they are templates; once
  the Context holding them is entered, a checkpoint operation may be reading
  them, so changes are refused until the `with` block is left.
  """

  def __setattr__(self, name: str, value: Any) -> None:
    if id(self) in FROZEN_IDS.get() or id(self) in ALWAYS_FROZEN_IDS:
      raise RuntimeError(
          f"Cannot set {type(self).__qualname__}.{name}: these options belong "
          "to an active (or the shared default) Context. Configure options "
          "on a new Context before entering its `with` block.")
    object.__setattr__(self, name, value)


@dataclasses.dataclass(kw_only=True)
class AsyncOptions(_ActiveContextGuard):
  """Async behaviour.

  Attributes:
    timeout_secs: Seconds the background part of a save may take (and the
      timeout of cross-process barriers); exceeding it fails the save.
    post_finalization_callback: Called (with no arguments) after an async save
      has been committed.
    create_directories_asynchronously: If True, directories are created in the
      background thread; otherwise before `save_async` returns.
  """

  timeout_secs: int = 1200
  post_finalization_callback: Optional[Callable[[], None]] = None
  create_directories_asynchronously: bool = True


class AtomicityMode(str, enum.Enum):
  """How a save is made atomic.

  AUTO: chosen from the storage (atomic rename on local/POSIX filesystems).
  ATOMIC_RENAME: write into a temporary directory, then rename it.
  COMMIT_FILE: write in place and mark completion with a commit file (not
    supported by ocpx: saving with it raises NotImplementedError).
  """

  AUTO = "auto"
  COMMIT_FILE = "commit_file"
  ATOMIC_RENAME = "atomic_rename"


@dataclasses.dataclass(kw_only=True)
class AtomicityOptions(_ActiveContextGuard):
  """The atomicity protocol of saves.

  Attributes:
    mode: See AtomicityMode.  ocpx saves by atomic rename (AUTO and
      ATOMIC_RENAME); COMMIT_FILE raises NotImplementedError when saving.
    allow_legacy_atomic_rename: With COMMIT_FILE, also accept checkpoints
      that were committed by rename (no commit file).  Only meaningful with
      COMMIT_FILE.
  """

  mode: AtomicityMode = AtomicityMode.AUTO
  allow_legacy_atomic_rename: bool = False


@dataclasses.dataclass(kw_only=True)
class MultiprocessingOptions(_ActiveContextGuard):
  """Multi-process behaviour.

  Attributes:
    primary_host: Process index that writes metadata and commits; None makes
      every process primary (for process-local storage).
    active_processes: Subset of process indices taking part in the save.  If
      set, `primary_host` must belong to it.
    barrier_sync_key_prefix: Prefix for barrier keys, to keep concurrent
      checkpointers apart.
  """

  primary_host: Optional[int] = 0
  active_processes: Optional[set[int]] = None
  barrier_sync_key_prefix: Optional[str] = None

  def __post_init__(self):
    self.validate()

  def validate(self) -> None:
    """Raises ValueError for invalid values (also checked at save)."""
    if (self.active_processes is not None and self.primary_host is not None
        and self.primary_host not in self.active_processes):
      raise ValueError(
          f"primary_host={self.primary_host} must be one of active_processes="
          f"{sorted(self.active_processes)}")


@dataclasses.dataclass(kw_only=True)
class FileOptions(_ActiveContextGuard):
  """Checkpoint directories and files.

  Attributes:
    path_permission_mode: If set (e.g. 0o750), the mode of every directory the
      save creates.
    temporary_path_class: Accepted for API compatibility; ocpx always uses an
      atomic rename of `<name>.orbax-checkpoint-tmp` on local filesystems.
    path_class: The Path implementation to use.  `pathlib.Path` by default
      (etils.epath.Path where Orbax is installed behaves the same for local
      paths).
    skip_sync_file_validations: If True, `save_async` skips the checks of the
      destination (existence, overwrite) made before it returns; they are
      made in the background instead.
  """

  path_permission_mode: Optional[int] = None
  temporary_path_class: Optional[type] = None
  path_class: type = pathlib.Path
  skip_sync_file_validations: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class PyTreeMetadataOptions:  # frozen, as v0 Orbax's
  """How PyTree metadata is written.

  Attributes:
    support_rich_types: If True, `_METADATA` also records tuples and
      namedtuples (`value_metadata_tree`) so they load back as such without an
      abstract tree.
  """

  support_rich_types: bool = False


@dataclasses.dataclass(kw_only=True)
class PyTreeOptions(_ActiveContextGuard):
  """PyTree saving and loading."""

  @dataclasses.dataclass(kw_only=True)
  class Saving(_ActiveContextGuard):
    pytree_metadata_options: PyTreeMetadataOptions = dataclasses.field(
        default_factory=PyTreeMetadataOptions)

  @dataclasses.dataclass(kw_only=True)
  class Loading(_ActiveContextGuard):
    """partial_load: only load the leaves present in the abstract tree."""

    partial_load: bool = False

  saving: Saving = dataclasses.field(default_factory=Saving)
  loading: Loading = dataclasses.field(default_factory=Loading)


class ScopedStorageOptionsCreator(Protocol):

  def __call__(self, key: Any, value: Any) -> Optional[
      "ArrayOptions.Saving.StorageOptions"]:
    ...


# The protocol under a name the nested option classes do not shadow.
_ScopedStorageOptionsCreator = ScopedStorageOptionsCreator


@dataclasses.dataclass(kw_only=True)
class ArrayOptions(_ActiveContextGuard):
  """Array saving and loading."""

  @dataclasses.dataclass(kw_only=True)
  class Saving(_ActiveContextGuard):
    """Options for saving arrays.

    Attributes:
      storage_options: dtype cast, chunk_byte_size and shard_axes for all
        leaves.
      use_ocdbt: Store arrays in OCDBT databases (per process, then merged).
        With False, each array is a plain zarr directory.
      use_zarr3: zarr v3 (True) or zarr v2 (False: `.zarray` and `i.j` chunk
        keys, zstd level 1, as Orbax's v0 handlers write by default).
      use_compression: zstd-compress chunks.
      enable_chunk_checksums: (ocpx extension) append zarr3's `crc32c` codec
        to every chunk's codec chain, so that each chunk's data carries a
        CRC-32C checked on load and by `ocpx verify`; corrupt data then
        raises instead of loading silently wrong values.  The arrays stay
        plain zarr3 that Orbax and TensorStore read.  Set False for output
        byte-identical to Orbax's.  zarr v2 has no checksum codec, so
        zarr2 arrays (`use_zarr3=False`) are written without checksums
        whatever this says.  For example::

          with ocp.Context(array_options=ocp.options.ArrayOptions(
              saving=ocp.options.ArrayOptions.Saving(
                  enable_chunk_checksums=False))):
            ocp.save(path, state)  # the bytes Orbax 0.12.8 would write
      ocdbt_target_data_file_size: Target size of OCDBT data files; None means
        2 GiB, 0 means unlimited.
      enable_pinned_host_transfer: Use `pinned_host` memory for device-to-host
        copies.  None enables it only on GPU; on platforms without pinned host
        memory (CPU) True falls back to ordinary host copies.
      enable_post_merge_validation: Check the merged database after merging.
      use_replica_parallel: Split replicated shards among their replicas.
        None means True.
      min_slice_bytes_for_replica_parallel: Replica-parallel only when each
        slice has at least this many bytes.
      max_replicas_for_replica_parallel: At most this many replicas share one
        shard.
      enable_replica_parallel_separate_folder: Write replica slices to
        `ocdbt.process_replica_<id>` folders.
      enable_write_sharding_file: Write the `_sharding` file.
      array_metadata_store: Truthy to write `array_metadatas/process_<N>`;
        None disables it (and `write_shape` in `_METADATA`).
      scoped_storage_options_creator: `fn(keypath, value)` returning
        per-leaf StorageOptions whose non-None fields win.
    """

    @dataclasses.dataclass(kw_only=True)
    class StorageOptions(_ActiveContextGuard):
      """Per-leaf storage options.

      Attributes:
        dtype: Cast to this dtype before saving.
        chunk_byte_size: Largest chunk size in bytes; the chunk shape is chosen
          greedily, splitting the largest (sharded) dimensions first.
        shard_axes: Axes to split first when choosing the chunk shape.
      """

      dtype: Any = None
      chunk_byte_size: Optional[int] = None
      shard_axes: Optional[Sequence[int]] = None

    ScopedStorageOptionsCreator = ScopedStorageOptionsCreator

    storage_options: StorageOptions = dataclasses.field(
        default_factory=StorageOptions)
    use_ocdbt: bool = True
    use_zarr3: bool = True
    use_compression: bool = True
    enable_chunk_checksums: bool = True
    ocdbt_target_data_file_size: Optional[int] = None
    enable_pinned_host_transfer: Optional[bool] = None
    enable_post_merge_validation: bool = True
    use_replica_parallel: Optional[bool] = None
    min_slice_bytes_for_replica_parallel: Optional[int] = None
    max_replicas_for_replica_parallel: Optional[int] = None
    enable_replica_parallel_separate_folder: bool = False
    enable_write_sharding_file: bool = True
    array_metadata_store: Any = True
    scoped_storage_options_creator: Optional[
        "_ScopedStorageOptionsCreator"] = None

    def __post_init__(self):
      self.validate()

    def validate(self) -> None:
      """Raises ValueError for invalid values (also checked at save)."""
      size = self.ocdbt_target_data_file_size
      if size is not None and size < 0:
        raise ValueError(
            f"ocdbt_target_data_file_size must be >= 0, got {size}")
      cbs = self.storage_options.chunk_byte_size
      if cbs is not None and cbs <= 0:
        raise ValueError(f"chunk_byte_size must be positive, got {cbs}")

  @dataclasses.dataclass(kw_only=True)
  class Loading(_ActiveContextGuard):
    """Options for loading arrays.

    Attributes:
      enable_padding_and_truncation: Allow a requested shape different from
        the stored one (zero padding / truncation) instead of raising.
      raise_array_data_missing_error: Raise if array chunks are missing;
        otherwise missing regions read as zeros (the fill value).
      use_load_and_broadcast: Read only the primary replica's shards (see
        LoadAndBroadcastOptions) and broadcast them over the replica axis,
        instead of every replica reading its own copy.
      load_and_broadcast_options: See LoadAndBroadcastOptions.
    """

    @dataclasses.dataclass(kw_only=True)
    class LoadAndBroadcastOptions(_ActiveContextGuard):
      replica_axis_index: Optional[int] = 0
      primary_replica_id: Optional[int] = 0
      broadcast_memory_limit_bytes: Optional[int] = None
      broadcast_memory_scaling_factor: Optional[float] = 0.75

    enable_padding_and_truncation: bool = False
    raise_array_data_missing_error: bool = True
    use_load_and_broadcast: bool = False
    load_and_broadcast_options: LoadAndBroadcastOptions = dataclasses.field(
        default_factory=LoadAndBroadcastOptions)

  saving: Saving = dataclasses.field(default_factory=Saving)
  loading: Loading = dataclasses.field(default_factory=Loading)


@dataclasses.dataclass(kw_only=True)
class PathwaysOptions(_ActiveContextGuard):
  """Pathways checkpointing.  Pathways is not available with ocpx; the option
  is accepted and has no effect on single- or multi-controller JAX."""

  checkpointing_impl: Any = None


@dataclasses.dataclass(kw_only=True)
class DeletionOptions(_ActiveContextGuard):
  """Checkpoint deletion."""

  @dataclasses.dataclass(kw_only=True)
  class GcsDeletionOptions(_ActiveContextGuard):
    """todelete_full_path: GCS soft-delete location (only used for gs://)."""

    todelete_full_path: Optional[str] = None

  gcs_deletion_options: GcsDeletionOptions = dataclasses.field(
      default_factory=GcsDeletionOptions)


@dataclasses.dataclass(kw_only=True)
class MemoryOptions(_ActiveContextGuard):
  """Memory limits for save and load (bytes in flight per host).

  Attributes:
    write_concurrent_bytes: Bytes of host buffers being encoded/written at
      once.  None: unlimited.
    read_concurrent_bytes: Bytes being read/decoded at once.  None: unlimited.
    transfer_concurrent_bytes: Bytes of device-to-host copies in flight.
    regulator_options: Dynamic regulation of the transfer limit from memory
      profiles of earlier saves.  Not supported by ocpx: a save with it set
      raises NotImplementedError naming the option.
    expected_surge_bytes: Headroom for the regulator; only meaningful with
      `regulator_options` (a save with it set raises NotImplementedError).
    is_prioritized_key_fn: `fn(keypath) -> bool`; those leaves are copied to
      host before `save_async` returns, others may be copied later.
    serialization_status_callback: Per-keypath save progress callback.  Not
      supported by ocpx: a save with it set raises NotImplementedError.
    deepcopy_host_arrays: If True (default), `save_async` copies numpy leaves
      before returning so later changes by the caller cannot reach the
      checkpoint.  False saves the caller's buffers as they are when written
      (less memory; the caller must not modify them until the save finishes).
  """

  @dataclasses.dataclass(frozen=True, kw_only=True)
  class RegulatorOptions:
    """Parameters of a PID regulator of the device-to-host transfer limit.

    Immutable; assign a new instance to change it.  ocpx does not implement
    the regulator: saving with `MemoryOptions.regulator_options` set raises
    NotImplementedError.
    """

    max_memory_limit_gib: float
    profiler: Any
    target_ratio: float = 0.80
    min_memory_limit_gib: float = 10.0
    kp: float = 0.4
    ki: float = 0.05
    kd: float = 0.1

    def __post_init__(self):
      if self.profiler is None:
        raise ValueError("RegulatorOptions requires a `profiler`.")

    def __deepcopy__(self, memo):
      # Child contexts share one regulator state, as in Orbax.
      memo[id(self)] = self
      return self

  write_concurrent_bytes: Optional[int] = None
  read_concurrent_bytes: Optional[int] = None
  transfer_concurrent_bytes: Optional[int] = None
  regulator_options: Optional[RegulatorOptions] = None
  expected_surge_bytes: Optional[float] = None
  is_prioritized_key_fn: Optional[Callable[[Any], bool]] = None
  serialization_status_callback: Optional[Any] = None
  deepcopy_host_arrays: bool = True

  def __post_init__(self):
    self.validate()

  def validate(self) -> None:
    """Raises ValueError for invalid values (also checked at save)."""
    for name in ("write_concurrent_bytes", "read_concurrent_bytes",
                 "transfer_concurrent_bytes"):
      v = getattr(self, name)
      if v is not None and v <= 0:
        raise ValueError(f"MemoryOptions.{name} must be positive, got {v}")


@dataclasses.dataclass(kw_only=True)
class SafetensorsOptions(_ActiveContextGuard):
  """Loading checkpoints in the safetensors layout.

  Attributes:
    max_over_read_ratio: Largest tolerated (bytes read) / (bytes needed) when
      neighbouring byte runs of one file are merged into one read; 1.0 reads
      only needed bytes.  None: chosen per file from the planned reads.
    read_chunk_bytes: Size of one ranged read (and of the bytes of a file
      staged in memory at once).  None: 128 MiB.
  """

  max_over_read_ratio: Optional[float] = None
  read_chunk_bytes: Optional[int] = None


class CheckpointLayout(enum.Enum):
  ORBAX = "orbax"
  SAFETENSORS = "safetensors"
  AUTO = "auto"


@dataclasses.dataclass(kw_only=True)
class CheckpointablesOptions(_ActiveContextGuard):
  """Checkpointable handler registry for this context.

  Use `create_with_handlers(FooHandler(), bar=BarHandler())` to build one.
  """

  registry: Any = dataclasses.field(default_factory=lambda: _default_registry())

  @classmethod
  def create_with_handlers(cls, *handlers, **named_handlers):
    from ocpx._src.handlers import registration  # pylint: disable=g-import-not-at-top
    reg = registration.local_registry(include_global_registry=True)
    for h in handlers:
      reg.add(h)
    for name, h in named_handlers.items():
      reg.add(h, name)
    return cls(registry=reg)


def _default_registry():
  from ocpx._src.handlers import registration  # pylint: disable=g-import-not-at-top
  return registration.ReadOnlyCheckpointableHandlerRegistry(
      registration.global_registry())


def check_save_options(ctx: Any) -> None:
  """Raises NotImplementedError for options set that ocpx cannot honour.

  Called at the start of every save with the active Context, so that no
  option is silently ignored.
  """
  # Options are mutable, so the checks made at construction are repeated
  # here for values assigned afterwards.
  ctx.multiprocessing.validate()
  ctx.array.saving.validate()
  ctx.memory.validate()
  if ctx.atomicity.mode == AtomicityMode.COMMIT_FILE:
    raise NotImplementedError(
        "AtomicityOptions.mode=COMMIT_FILE is not supported by ocpx: saves "
        "are committed by atomic rename (use AUTO or ATOMIC_RENAME).")
  memory = ctx.memory
  for name in ("regulator_options", "expected_surge_bytes",
               "serialization_status_callback"):
    if getattr(memory, name) is not None:
      raise NotImplementedError(
          f"MemoryOptions.{name} is not supported by ocpx; leave it None "
          "(transfer_concurrent_bytes and write_concurrent_bytes bound "
          "memory use).")

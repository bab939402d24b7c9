# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""v0 metadata types (mirrors `orbax.checkpoint.metadata`)."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Iterator, Mapping, Optional

import jax

from ocpx._src import checkpoint_metadata as cm
from ocpx._src import path as path_lib
from ocpx._src import sharding as sharding_lib


# ---------------------------------------------------------------------------
# Sharding: the same classes the v1 API returns (fields, equality and repr as
# Orbax's `orbax.checkpoint.metadata.NamedShardingMetadata` etc.).

ShardingMetadata = sharding_lib.ShardingMetadata
NamedShardingMetadata = sharding_lib.NamedShardingMetadata
SingleDeviceShardingMetadata = sharding_lib.SingleDeviceShardingMetadata
DeviceMetadata = sharding_lib.DeviceMetadata
DeviceMetadataMesh = sharding_lib.DeviceMetadataMesh


def sharding_metadata_from_jax_sharding(
    sharding: Any) -> Optional[ShardingMetadata]:
  """The ShardingMetadata of a Named/SingleDevice sharding, else None.

  Example:
    md = sharding_metadata_from_jax_sharding(x.sharding)
    md.to_jax_sharding() == x.sharding
  """
  return sharding_lib.sharding_metadata_of(sharding)


def sharding_metadata_from_serialized_string(text: str) -> ShardingMetadata:
  """Parses one `_sharding` entry (ValueError if it is not a known kind)."""
  return sharding_lib.sharding_metadata_from_json(text)


# ---------------------------------------------------------------------------
# Values (fields, defaults, equality and repr as Orbax 0.12.8's
# `orbax.checkpoint.metadata.value` classes).

@dataclasses.dataclass
class StorageMetadata:
  """How an array is stored: read chunk shape and per-writer slice shape.

  `zarr_metadata` is informational: it takes no part in equality or repr.
  """

  chunk_shape: Optional[tuple]
  write_shape: Optional[tuple] = None
  zarr_metadata: Any = dataclasses.field(default=None, compare=False,
                                         repr=False)


@dataclasses.dataclass
class Metadata:
  """Metadata of one saved leaf.

  Equality compares what was saved (shape, dtype, sharding, storage), not
  where it was read from (`name`, `directory`).
  """

  name: str
  directory: Optional[pathlib.Path]

  def __eq__(self, other) -> bool:
    return isinstance(other, Metadata)

  def __repr__(self) -> str:
    return (f"{self.__class__.__name__} :  name={self.name},  "
            f"directory={self.directory},")


@dataclasses.dataclass
class ArrayMetadata(Metadata):
  """A saved array leaf (jax.Array or np.ndarray)."""

  shape: tuple
  sharding: Optional[ShardingMetadata]
  dtype: Any
  storage: Optional[StorageMetadata] = None

  def __eq__(self, other) -> bool:
    return (isinstance(other, ArrayMetadata)
            and tuple(self.shape) == tuple(other.shape)
            and self.sharding == other.sharding
            and self.dtype == other.dtype
            and self.storage == other.storage)

  @classmethod
  def from_shape_dtype_struct(cls, s: jax.ShapeDtypeStruct,
                              name: Optional[str] = None,
                              directory: Optional[pathlib.Path] = None
                              ) -> "ArrayMetadata":
    """The metadata of a `jax.ShapeDtypeStruct` (its sharding kept as is)."""
    return cls(name=name, directory=directory,  # type: ignore[arg-type]
               shape=s.shape, sharding=s.sharding, dtype=s.dtype)

  def __repr__(self) -> str:
    return super().__repr__() + (
        f"  shape={self.shape},  sharding={self.sharding},  "
        f"dtype={self.dtype},  storage={self.storage},")


# As in Orbax, the dataclass decorator gives the two classes below the
# generated field-by-field repr (e.g. `ScalarMetadata(name='c', ...)`).
@dataclasses.dataclass
class ScalarMetadata(ArrayMetadata):
  """A saved Python or numpy scalar."""

  shape: tuple = ()
  sharding: Optional[ShardingMetadata] = None
  dtype: Any = None

  def __eq__(self, other) -> bool:
    return isinstance(other, ScalarMetadata) and self.dtype == other.dtype


@dataclasses.dataclass
class StringMetadata(Metadata):
  """A saved string leaf."""

  def __eq__(self, other) -> bool:
    return isinstance(other, StringMetadata)


# ---------------------------------------------------------------------------
# Trees

def _is_bare_leaf(tree: Any) -> bool:
  # A checkpoint of one value (not a container); None is no checkpointable.
  return tree is not None and not isinstance(tree, (dict, list, tuple)) and (
      jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(tree)))


def _is_namedtuple(x: Any) -> bool:
  return isinstance(x, tuple) and hasattr(type(x), "_fields")


class TreeMetadata:
  """The metadata of a saved PyTree: `.tree` is the tree of leaf metadata.

  Indexes like its top-level container (`meta['w']`, `meta[0]`, `in`, `len`,
  `keys()`/`values()`/`items()` for dicts) and is itself a PyTree whose
  children are the top-level entries, so `jax.tree.map(f, meta)` maps over
  the leaf metadata.  As in Orbax, equality is identity; compare `.tree`.

  Example:
    meta = ocp.PyTreeCheckpointHandler().metadata(path)
    meta['w'].shape
    shapes = jax.tree.map(lambda m: m.shape, meta.tree)
  """

  def __init__(self, tree: Any, *, custom_metadata: Any = None,
               use_zarr3: bool = False):
    if not isinstance(tree, (dict, list, tuple)) and not _is_bare_leaf(tree):
      raise ValueError(f"Unsupported tree type: {type(tree)}")
    self._tree = tree
    self._custom_metadata = custom_metadata
    self._use_zarr3 = use_zarr3

  @classmethod
  def build(cls, tree: Any, *, custom_metadata: Any = None,
            use_zarr3: bool = False) -> "TreeMetadata":
    return cls(tree, custom_metadata=custom_metadata, use_zarr3=use_zarr3)

  @property
  def tree(self) -> Any:
    return self._tree

  @property
  def custom_metadata(self) -> Any:
    return self._custom_metadata

  @property
  def use_zarr3(self) -> bool:
    return self._use_zarr3

  def __getitem__(self, key):
    return self._tree[key]

  def __contains__(self, key) -> bool:
    return key in self._tree

  def __len__(self) -> int:
    return len(self._tree)

  def __iter__(self) -> Iterator:
    return iter(self._tree)

  def get(self, key, default=None):
    try:
      return self._tree[key]
    except (KeyError, IndexError):
      return default

  def keys(self):
    return self._tree.keys()

  def values(self):
    return self._tree.values()

  def items(self):
    return self._tree.items()

  def __repr__(self):
    # Orbax's layout: one `name=value` line per property, sorted by name.
    return ("TreeMetadata(\n"
            f"  custom_metadata={self._custom_metadata}\n"
            f"  tree={self._tree}\n"
            f"  use_zarr3={self._use_zarr3}\n)")

  # PyTree protocol: the children are the top-level entries.
  def tree_flatten_with_keys(self):
    t = self._tree
    if isinstance(t, dict):
      keys = [jax.tree_util.DictKey(k) for k in t]
      values = list(t.values())
    elif _is_namedtuple(t):
      keys = [jax.tree_util.DictKey(k) for k in t._fields]
      values = [getattr(t, k) for k in t._fields]
    elif isinstance(t, (list, tuple)):
      keys = [jax.tree_util.SequenceKey(i) for i in range(len(t))]
      values = list(t)
    else:
      keys, values = [jax.tree_util.GetAttrKey("tree")], [t]
    aux = (type(t), tuple(keys), self._custom_metadata, self._use_zarr3)
    return list(zip(keys, values)), aux

  def tree_flatten(self):
    children, aux = self.tree_flatten_with_keys()
    return [v for _, v in children], aux

  @classmethod
  def tree_unflatten(cls, aux, children):
    tree_type, keys, custom, zarr3 = aux
    children = list(children)
    if issubclass(tree_type, dict) or (
        issubclass(tree_type, tuple) and hasattr(tree_type, "_fields")):
      tree = tree_type(**{k.key: v for k, v in zip(keys, children)})
    elif issubclass(tree_type, (list, tuple)):
      tree = tree_type(children)
    else:
      tree = children[0]
    return cls(tree, custom_metadata=custom, use_zarr3=zarr3)


jax.tree_util.register_pytree_with_keys_class(TreeMetadata)


# ---------------------------------------------------------------------------
# Step statistics (`orbax.checkpoint.logging.step_statistics`)

@dataclasses.dataclass
class SaveStepStatistics:
  """Timings of one `CheckpointManager.save` (seconds; times since epoch).

  `StepMetadata.performance_metrics` holds one: the float fields recorded in
  `_CHECKPOINT_METADATA`, the rest at their defaults.
  """

  step: Optional[int] = None
  event_type: Optional[str] = "save"
  directory: Optional[str] = None
  reached_preemption: Optional[bool] = False
  preemption_received_at: Optional[float] = None
  synchronous: Optional[bool] = False
  wait_for_prev_start_time: Optional[float] = None
  wait_for_prev_duration_secs: Optional[float] = None
  time_between_consecutive_saves_sec: Optional[float] = None
  checkpointer_blocking_start_time: Optional[float] = None
  checkpointer_blocking_duration_secs: Optional[float] = None
  get_old_steps_start_time: Optional[float] = None
  get_old_steps_duration_secs: Optional[float] = None
  checkpoint_manager_blocking_start_time: Optional[float] = None
  checkpoint_manager_blocking_duration_secs: Optional[float] = None


@dataclasses.dataclass
class RestoreStepStatistics:
  """Timings of one `CheckpointManager.restore` (as Orbax's logger gets)."""

  step: Optional[int] = None
  event_type: Optional[str] = "restore"
  directory: Optional[str] = None
  checkpointer_start_time: Optional[float] = None
  checkpointer_duration_secs: Optional[float] = None
  checkpoint_manager_start_time: Optional[float] = None
  checkpoint_manager_duration_secs: Optional[float] = None


_SAVE_STAT_FIELDS = frozenset(
    f.name for f in dataclasses.fields(SaveStepStatistics))


def save_step_statistics(recorded: Any) -> SaveStepStatistics:
  """The SaveStepStatistics of a `performance_metrics` entry read from disk.

  Only float values are kept (the same ones Orbax writes and reads back);
  unknown keys are ignored.
  """
  if isinstance(recorded, SaveStepStatistics):
    return recorded
  if not isinstance(recorded, Mapping):
    return SaveStepStatistics()
  kept: dict[str, Any] = {k: v for k, v in recorded.items()
                          if k in _SAVE_STAT_FIELDS and isinstance(v, float)}
  return SaveStepStatistics(**kept)


# ---------------------------------------------------------------------------
# Steps

@dataclasses.dataclass
class StepMetadata:
  """Metadata of a saved checkpoint (`_CHECKPOINT_METADATA` plus items).

  Attributes:
    item_handlers: The handler typestr (single item) or a dict by item name.
    item_metadata: The handler's metadata (single item) or a `Composite` of
      each item's metadata (None for an item whose handler is not known).
    metrics: As recorded by the CheckpointManager.
    performance_metrics: A `SaveStepStatistics`.
    init_timestamp_nsecs, commit_timestamp_nsecs: Save start and commit.
    custom_metadata: The dict passed to `save(..., custom_metadata=...)`.
  """

  item_handlers: Any = None
  item_metadata: Any = None
  metrics: dict = dataclasses.field(default_factory=dict)
  performance_metrics: SaveStepStatistics = dataclasses.field(
      default_factory=SaveStepStatistics)
  init_timestamp_nsecs: Optional[int] = None
  commit_timestamp_nsecs: Optional[int] = None
  custom_metadata: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class RootMetadata:
  """Metadata of a directory of steps (`metadata/_ROOT_METADATA`).

  Attributes:
    internal_metadata: Written by the library (empty in Orbax 0.12.8 too).
    custom_metadata: The dict given as `CheckpointManager(metadata=...)`.
  """

  internal_metadata: Optional[dict] = dataclasses.field(default_factory=dict)
  custom_metadata: Optional[dict] = dataclasses.field(default_factory=dict)


def get_step_metadata(path) -> StepMetadata:
  """Reads `<path>/_CHECKPOINT_METADATA` (item metadata is not read)."""
  p = path_lib.as_path(path)
  m = cm.read_step_metadata(p)
  if m is None:
    return StepMetadata()
  return StepMetadata(
      item_handlers=m.item_handlers, metrics=m.metrics,
      performance_metrics=save_step_statistics(m.performance_metrics),
      init_timestamp_nsecs=m.init_timestamp_nsecs,
      commit_timestamp_nsecs=m.commit_timestamp_nsecs,
      custom_metadata=m.custom_metadata or {})

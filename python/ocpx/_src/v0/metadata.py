# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""v0 metadata types (mirrors `orbax.checkpoint.metadata`)."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Iterator, Mapping, Optional

import jax
import numpy as np

from ocpx._src import checkpoint_metadata as cm
from ocpx._src import path as path_lib
from ocpx._src import sharding as sharding_lib


# ---------------------------------------------------------------------------
# Sharding

@dataclasses.dataclass
class ShardingMetadata:
  """A saved sharding, rebuilt as a jax Sharding with `to_jax_sharding()`."""

  _json: str  # The saved JSON text (a dataclass field of the subclasses).

  @classmethod
  def from_jax_sharding(cls, sharding) -> Optional["ShardingMetadata"]:
    text = sharding_lib.sharding_to_json(sharding)
    return None if text is None else cls.from_json(text)

  @classmethod
  def from_json(cls, text: str) -> "ShardingMetadata":
    d = json.loads(text)
    if d.get("sharding_type") == "NamedSharding":
      return NamedShardingMetadata(
          shape=np.asarray(d["shape"]), axis_names=list(d["axis_names"]),
          partition_spec=tuple(tuple(p) if isinstance(p, list) else p
                               for p in d["partition_spec"]),
          axis_types=tuple(d.get("axis_types") or ()),
          device_mesh=d.get("device_mesh"), _json=text)
    if d.get("sharding_type") == "SingleDeviceSharding":
      return SingleDeviceShardingMetadata(device_str=d["device_str"],
                                          _json=text)
    raise ValueError(f"Unsupported sharding metadata: {text}")

  def to_jax_sharding(self) -> jax.sharding.Sharding:
    return sharding_lib.sharding_from_json(self._json)


@dataclasses.dataclass
class NamedShardingMetadata(ShardingMetadata):
  shape: Any = None
  axis_names: list = dataclasses.field(default_factory=list)
  partition_spec: tuple = ()
  axis_types: tuple = ()
  device_mesh: Any = None
  _json: str = dataclasses.field(default="", repr=False, compare=False)

  def __eq__(self, other):
    return (isinstance(other, NamedShardingMetadata)
            and np.array_equal(self.shape, other.shape)
            and self.axis_names == other.axis_names
            and self.partition_spec == other.partition_spec)


@dataclasses.dataclass
class SingleDeviceShardingMetadata(ShardingMetadata):
  device_str: str = ""
  _json: str = dataclasses.field(default="", repr=False, compare=False)


# ---------------------------------------------------------------------------
# Values

@dataclasses.dataclass
class StorageMetadata:
  """zarr chunk shape and the per-writer slice shape of a saved array."""

  chunk_shape: Optional[tuple] = None
  write_shape: Optional[tuple] = None
  zarr_metadata: Any = None


@dataclasses.dataclass(eq=False)
class Metadata:
  """Metadata of one saved leaf.

  Equality compares what was saved (shape, dtype, sharding, storage), not
  where it was read from (`name`, `directory`).
  """

  name: str
  directory: Optional[pathlib.Path]

  def __eq__(self, other) -> bool:
    return isinstance(other, Metadata)


@dataclasses.dataclass(eq=False)
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


@dataclasses.dataclass(eq=False)
class ScalarMetadata(ArrayMetadata):
  """A saved Python or numpy scalar."""

  shape: tuple = ()
  sharding: Optional[ShardingMetadata] = None
  dtype: Any = None
  storage: Optional[StorageMetadata] = None

  def __eq__(self, other) -> bool:
    return isinstance(other, ScalarMetadata) and self.dtype == other.dtype


@dataclasses.dataclass(eq=False)
class StringMetadata(Metadata):
  """A saved string leaf."""

  def __eq__(self, other) -> bool:
    return isinstance(other, StringMetadata)


# ---------------------------------------------------------------------------
# Trees

class TreeMetadata(Mapping):
  """The metadata of a saved PyTree: `.tree` is the tree of leaf metadata.

  Behaves as a read-only mapping of the tree's top level.

  Example:
    meta = ocp.PyTreeCheckpointHandler().metadata(path)
    meta.tree['w'].shape
  """

  def __init__(self, tree: Any, *, custom_metadata: Any = None,
               use_zarr3: bool = False):
    self._tree = tree
    self._custom_metadata = custom_metadata
    self._use_zarr3 = use_zarr3

  @property
  def tree(self) -> Any:
    return self._tree

  @property
  def custom_metadata(self) -> Any:
    return self._custom_metadata

  @property
  def use_zarr3(self) -> bool:
    return self._use_zarr3

  def _mapping(self):
    if isinstance(self._tree, Mapping):
      return self._tree
    if isinstance(self._tree, (list, tuple)):
      return dict(enumerate(self._tree))
    raise TypeError(f"The tree is a {type(self._tree).__name__}, not a "
                    "mapping; use `.tree`.")

  def __getitem__(self, key):
    return self._mapping()[key]

  def __iter__(self) -> Iterator:
    return iter(self._mapping())

  def __len__(self) -> int:
    return len(self._mapping())

  def __repr__(self):
    return (f"TreeMetadata(custom_metadata={self._custom_metadata!r}, "
            f"tree={self._tree!r}, use_zarr3={self._use_zarr3})")


jax.tree_util.register_pytree_node(
    TreeMetadata,
    lambda m: ((m.tree,), (m.custom_metadata, m.use_zarr3)),
    lambda aux, children: TreeMetadata(children[0], custom_metadata=aux[0],
                                       use_zarr3=aux[1]))


# ---------------------------------------------------------------------------
# Steps

@dataclasses.dataclass
class StepMetadata:
  """Metadata of a saved checkpoint (`_CHECKPOINT_METADATA` plus items).

  Attributes:
    item_handlers: The handler typestr (single item) or a dict by item name.
    item_metadata: The handler's metadata (single item) or a `Composite`.
    metrics, performance_metrics: As recorded by the CheckpointManager.
    init_timestamp_nsecs, commit_timestamp_nsecs: Save start and commit.
    custom_metadata: The dict passed to `save(..., custom_metadata=...)`.
  """

  item_handlers: Any = None
  item_metadata: Any = None
  metrics: dict = dataclasses.field(default_factory=dict)
  performance_metrics: Any = dataclasses.field(default_factory=dict)
  init_timestamp_nsecs: Optional[int] = None
  commit_timestamp_nsecs: Optional[int] = None
  custom_metadata: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class RootMetadata:
  """Metadata of a directory of steps (`metadata/_ROOT_METADATA`)."""

  custom_metadata: dict = dataclasses.field(default_factory=dict)


def get_step_metadata(path) -> StepMetadata:
  """Reads `<path>/_CHECKPOINT_METADATA` (item metadata is not read)."""
  p = path_lib.as_path(path)
  m = cm.read_step_metadata(p)
  if m is None:
    return StepMetadata()
  return StepMetadata(
      item_handlers=m.item_handlers, metrics=m.metrics,
      performance_metrics=m.performance_metrics,
      init_timestamp_nsecs=m.init_timestamp_nsecs,
      commit_timestamp_nsecs=m.commit_timestamp_nsecs,
      custom_metadata=m.custom_metadata or {})

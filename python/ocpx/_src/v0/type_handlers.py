# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Per-leaf save and restore arguments (`ocp.SaveArgs`, `ocp.RestoreArgs`,
`ocp.ArrayRestoreArgs`) and the leaf types the PyTree handlers store."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Optional

import jax
import numpy as np

from ocpx._src import tree as tree_lib

PLACEHOLDER = tree_lib.PLACEHOLDER


@dataclasses.dataclass
class SaveArgs:
  """How one leaf is saved.

  Attributes:
    aggregate: Deprecated: as in Orbax 0.12.8, True logs a deprecation
      warning and the leaf is saved like any other (Orbax no longer writes
      msgpack aggregates; ocpx still reads old ones).
    dtype: Cast the leaf to this dtype before saving.
    chunk_byte_size: Largest zarr chunk, in bytes.
    shard_axes: Axes to split first when choosing the chunk shape.

  Example:
    save_args = {'w': ocp.SaveArgs(dtype=jnp.bfloat16)}
    ckptr.save(path, args=ocp.args.PyTreeSave(tree, save_args=save_args))
  """

  aggregate: bool = False
  dtype: Optional[Any] = None
  chunk_byte_size: Optional[int] = None
  shard_axes: tuple[int, ...] = ()

  def __post_init__(self):
    if self.aggregate:
      _warn_aggregate_once()


_aggregate_warned = False


def _warn_aggregate_once() -> None:
  global _aggregate_warned
  if not _aggregate_warned:
    _aggregate_warned = True
    logging.warning(
        "The `aggregate` option is deprecated and will be ignored.")


@dataclasses.dataclass
class RestoreArgs:
  """How one leaf is restored.

  Attributes:
    restore_type: The type to restore as (`np.ndarray`, `jax.Array`, `int`,
      `float`, `str`, ...); None restores the saved type.
    dtype: Cast to this dtype.
  """

  restore_type: Optional[Any] = None
  dtype: Optional[Any] = None


@dataclasses.dataclass
class ArrayRestoreArgs(RestoreArgs):
  """Restores a leaf as a `jax.Array`.

  Attributes:
    restore_type: `jax.Array` (default) or `np.ndarray`.
    dtype: Cast to this dtype.
    mesh, mesh_axes: Build a NamedSharding(mesh, PartitionSpec(*mesh_axes)).
    sharding: The target sharding (a jax Sharding, a ShardingMetadata or a
      jax Format); wins over mesh/mesh_axes.
    global_shape: The restored shape; it may differ from the saved one
      (zero padding or truncation) only if `strict=False`.
    shape: Alias of `global_shape` kept for old code.
    strict: If True, a shape different from the saved one is an error.

  Example:
    ocp.ArrayRestoreArgs(sharding=NamedSharding(mesh, P('x')))
  """

  restore_type: Optional[Any] = jax.Array
  mesh: Optional[jax.sharding.Mesh] = None
  mesh_axes: Optional[jax.sharding.PartitionSpec] = None
  sharding: Any = None
  global_shape: Optional[tuple[int, ...]] = None
  shape: Optional[tuple[int, ...]] = None
  strict: bool = True


def is_supported_type(value: Any) -> bool:
  """True if a PyTree leaf of this value can be saved."""
  from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top
  return (pytree_handler.leaf_kind(value) is not None
          or tree_lib.is_empty_leaf(value))


def is_placeholder(value: Any) -> bool:
  return value is PLACEHOLDER


def supported_types() -> tuple[type, ...]:
  """Leaf types the PyTree handlers store."""
  return (jax.Array, np.ndarray, np.number, np.bool_, int, float, bool, str)

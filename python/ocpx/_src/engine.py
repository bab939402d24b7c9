# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Glue between the Python API and the native engine (`ocpx._core`).

Arrays are zarr3 arrays (zarr2 read-only) stored in OCDBT databases: every
process writes `ocdbt.process_<i>/` and the primary merges them into the
checkpointable directory's root database, as Orbax does.  With
`use_ocdbt=False` each array is a plain directory of files.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import threading
from typing import Any, Optional, Sequence

import jax
import numpy as np

from ocpx import _core

# Orbax's OCDBT configuration (orbax-layout.md §1.10).
ORBAX_MAX_INLINE_VALUE_BYTES = 1024
ORBAX_MAX_DECODED_NODE_BYTES = 100_000_000
DEFAULT_TARGET_DATA_FILE_SIZE = 2 ** 31


def process_db_name(process_index: int) -> str:
  return f"ocdbt.process_{process_index}"


# ---------------------------------------------------------------------------
# dtypes

def dtype_name(dtype) -> str:
  """zarr3 data_type name of a numpy (or ml_dtypes) dtype."""
  dt = np.dtype(dtype)
  if dt == np.bool_:
    return "bool"
  return dt.name


def dtype_from_name(name: str) -> np.dtype:
  if name == "bool":
    return np.dtype(np.bool_)
  try:
    return np.dtype(name)
  except TypeError:
    import ml_dtypes  # pylint: disable=g-import-not-at-top
    return np.dtype(getattr(ml_dtypes, name))


# ---------------------------------------------------------------------------
# Chunk layout

def choose_chunk_shape(global_shape, write_shape, itemsize, chunk_byte_size,
                       shard_axes, saving) -> tuple:
  """Chunk shape, chosen by the native layout code (orbax-layout.md §3.4, §4)."""
  target = chunk_byte_size
  if saving.use_ocdbt:
    size = saving.ocdbt_target_data_file_size
    if size is None:
      size = DEFAULT_TARGET_DATA_FILE_SIZE
    target = _core.clamp_chunk_byte_size(
        target, size, list(write_shape), int(itemsize))
  return tuple(_core.choose_chunk_shape(
      list(global_shape), list(write_shape), int(itemsize), target,
      list(shard_axes or ())))


# ---------------------------------------------------------------------------
# Device-to-host

def _shard_box(index, shape) -> tuple[tuple, tuple]:
  origin, extent = [], []
  for sl, dim in zip(index, shape):
    start, stop, step = sl.indices(dim)
    if step != 1:
      raise ValueError("strided shard indices are not supported")
    origin.append(start)
    extent.append(stop - start)
  return tuple(origin), tuple(extent)


def select_shards(arr: jax.Array, saving) -> list:
  """The (origin, shard) pairs this process writes: replica 0 of each index."""
  out = []
  for shard in arr.addressable_shards:
    if shard.replica_id != 0:
      continue
    origin, _ = _shard_box(shard.index, arr.shape)
    out.append((origin, shard))
  return out


def write_shape_of(arr: jax.Array, saving) -> tuple:
  return tuple(arr.sharding.shard_shape(arr.shape))


def transfer_to_host(shards, dtype) -> list:
  """Copies shards to host numpy arrays (all copies started first)."""
  for _, shard in shards:
    try:
      shard.data.copy_to_host_async()
    except (AttributeError, RuntimeError):
      pass
  out = []
  for origin, shard in shards:
    host = np.array(shard.data, copy=True)
    if host.dtype != dtype:
      host = host.astype(dtype)
    out.append((origin, np.ascontiguousarray(host)))
  return out

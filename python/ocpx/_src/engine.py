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
from ocpx._src.remote import arrays as _remote_arrays
from ocpx._src.remote import hooks as _remote

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
    target = _core.clamp_chunk_byte_size_for_ocdbt(
        target, int(size), list(write_shape), int(itemsize))
  return tuple(_core.choose_chunk_shape(
      list(global_shape), list(write_shape), int(itemsize), target,
      list(shard_axes or ())))


# ---------------------------------------------------------------------------
# Memory limits and parallelism

def make_limiter(max_bytes: Optional[int]):
  """A native ByteLimiter, or None for no limit."""
  return None if max_bytes is None else _core.ByteLimiter(int(max_bytes))


def reserve(limiter, nbytes: int) -> None:
  if limiter is not None:
    limiter.reserve(int(nbytes))  # releases the GIL while waiting


def release(limiter, nbytes: int) -> None:
  if limiter is not None:
    limiter.release(int(nbytes))


# Arrays are written by a few Python threads at once (each call releases the
# GIL and fans its chunks out to the native thread pool), so many small
# arrays do not serialise on per-call overhead.
_IO_THREADS = 4


def run_parallel(fn, items: Sequence[Any]) -> list:
  """fn(item) for every item on a small thread pool; re-raises the first
  error (in item order) after all started work has finished."""
  items = list(items)
  if len(items) <= 1:
    return [fn(x) for x in items]
  import concurrent.futures  # pylint: disable=g-import-not-at-top
  import contextvars  # pylint: disable=g-import-not-at-top
  with concurrent.futures.ThreadPoolExecutor(
      min(_IO_THREADS, len(items)), thread_name_prefix="ocpx-io") as ex:
    futures = [ex.submit(contextvars.copy_context().run, fn, x)
               for x in items]
    concurrent.futures.wait(futures)
  return [f.result() for f in futures]


# ---------------------------------------------------------------------------
# Writing

class ArrayWriteSession:
  """One process's array writes into a checkpointable directory."""

  def __new__(cls, directory, **kwargs):
    if _remote.is_remote_path(directory):  # gs://, s3://: via TensorStore
      return _remote_arrays.RemoteArrayWriteSession(directory, **kwargs)
    return super().__new__(cls)

  def __init__(self, directory: pathlib.Path, *, process_index: int,
               use_ocdbt: bool, target_data_file_size: Optional[int],
               use_compression: bool, limiter=None):
    self._dir = pathlib.Path(directory)
    self._zstd_level = 3 if use_compression else None
    self._use_ocdbt = use_ocdbt
    size = (DEFAULT_TARGET_DATA_FILE_SIZE if target_data_file_size is None
            else int(target_data_file_size))
    target = (self._dir / process_db_name(process_index) if use_ocdbt
              else self._dir)
    self._writer = _core.CheckpointArrayWriter(
        str(target), use_ocdbt=use_ocdbt, target_data_file_size=size,
        limiter=limiter)

  def create(self, param: str, shape, dtype, chunk_shape) -> None:
    self._writer.write_metadata(param, list(shape), dtype_name(dtype),
                                list(chunk_shape), self._zstd_level)

  def write(self, param: str, origin, data: np.ndarray, shape, dtype,
            chunk_shape) -> None:
    data = np.require(data, requirements="C")
    self._writer.write(param, list(shape), dtype_name(dtype),
                       list(chunk_shape), self._zstd_level, list(origin), data)

  def commit(self) -> None:
    self._writer.commit()


def merge(directory: pathlib.Path) -> None:
  """Merges every `ocdbt.process_*` database into the directory's root."""
  if _remote.is_remote_path(directory):
    _remote_arrays.merge(directory)
    return
  directory = pathlib.Path(directory)
  children = sorted(c.name for c in directory.iterdir()
                    if c.is_dir() and c.name.startswith("ocdbt.process_"))
  if not children:
    return
  _core.ocdbt_merge(str(directory), children)


# ---------------------------------------------------------------------------
# Reading

@dataclasses.dataclass(frozen=True)
class ArrayInfo:
  shape: tuple
  dtype: np.dtype
  chunk_shape: tuple


class ArrayStore:
  """Read access to the arrays of a checkpointable directory."""

  def __new__(cls, directory, **kwargs):
    if _remote.is_remote_path(directory):  # gs://, s3://: via TensorStore
      return _remote_arrays.RemoteArrayStore(directory, **kwargs)
    return super().__new__(cls)

  def __init__(self, directory: pathlib.Path, *, use_ocdbt: bool,
               use_zarr3: Optional[bool] = None, limiter=None):
    del use_zarr3  # zarr.json or .zarray is found per array
    self._limiter = limiter
    self._dir = pathlib.Path(directory)
    self._reader = _core.CheckpointArrayReader(str(self._dir),
                                               use_ocdbt=use_ocdbt)
    self._info: dict[str, ArrayInfo] = {}
    self._lock = threading.Lock()

  def info(self, param: str) -> ArrayInfo:
    with self._lock:
      got = self._info.get(param)
    if got is None:
      shape, dtype, chunk = self._reader.info(param)
      got = ArrayInfo(tuple(shape), np.dtype(dtype), tuple(chunk))
      with self._lock:
        self._info[param] = got
    return got

  def prefetch_info(self, params: Sequence[str]) -> None:
    """Fetches many arrays' metadata in one native call."""
    with self._lock:
      todo = [p for p in dict.fromkeys(params) if p not in self._info]
    if not todo:
      return
    got = self._reader.info_many(todo)
    with self._lock:
      for p, (shape, dtype, chunk) in zip(todo, got):
        self._info[p] = ArrayInfo(tuple(shape), np.dtype(dtype), tuple(chunk))

  def read_many(self, requests, fail_on_missing: bool = True) -> list:
    """[(param, origin, shape)] -> arrays, read in parallel natively."""
    return self._reader.read_many(requests, fail_on_missing,
                                  limiter=self._limiter)

  def list_params(self) -> list[str]:
    return list(self._reader.list_params())

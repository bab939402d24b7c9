# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Glue between the Python API and the native engine (`ocpx._core`).

Arrays are zarr3 (or zarr2) arrays stored in OCDBT databases: every
process writes `ocdbt.process_<i>/` and the primary merges them into the
checkpointable directory's root database, as Orbax does.  With
`use_ocdbt=False` each array is a plain directory of files.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import threading
from typing import Any, Callable, Optional, Sequence, cast

import numpy as np

from ocpx import _core
from ocpx._src import path as path_lib
from ocpx._src.remote import hooks as _remote

# Orbax's OCDBT configuration (docs/format.md, "Manifest").
ORBAX_MAX_INLINE_VALUE_BYTES = 1024
ORBAX_MAX_DECODED_NODE_BYTES = 100_000_000
DEFAULT_TARGET_DATA_FILE_SIZE = 2 ** 31


def process_db_name(process_index: int, replica: bool = False) -> str:
  """`ocdbt.process_<i>`, or `ocdbt.process_replica_<i>` for the replicated
  arrays of `enable_replica_parallel_separate_folder`."""
  return f"ocdbt.process_{'replica_' if replica else ''}{process_index}"


# ---------------------------------------------------------------------------
# dtypes

def dtype_name(dtype) -> str:
  """zarr3 data_type name of a numpy (or ml_dtypes) dtype."""
  try:
    return _DTYPE_NAMES[dtype]
  except (KeyError, TypeError):  # TypeError: not hashable
    pass
  dt = np.dtype(dtype)
  name = "bool" if dt == np.bool_ else dt.name
  if isinstance(dtype, np.dtype):
    _DTYPE_NAMES[dtype] = name  # a save asks once per leaf
  return name


_DTYPE_NAMES: dict[np.dtype, str] = {}


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
  """Chunk shape, chosen by the native layout code (docs/format.md, "Chunk shapes and replicas")."""
  size = None
  if saving.use_ocdbt:
    size = saving.ocdbt_target_data_file_size
    if size is None:
      size = DEFAULT_TARGET_DATA_FILE_SIZE
    size = int(size)
  # A pure function of its arguments; trees repeat shapes (layers), and a
  # save asks once per leaf.
  return _chunk_shape(tuple(global_shape), tuple(write_shape), int(itemsize),
                      chunk_byte_size, tuple(shard_axes or ()), size)


@functools.lru_cache(maxsize=4096)
def _chunk_shape(global_shape: tuple, write_shape: tuple, itemsize: int,
                 chunk_byte_size: Any, shard_axes: tuple,
                 ocdbt_file_size: Optional[int]) -> tuple:
  target = chunk_byte_size
  if ocdbt_file_size is not None:
    target = _core.clamp_chunk_byte_size_for_ocdbt(
        target, ocdbt_file_size, list(write_shape), itemsize)
  return tuple(_core.choose_chunk_shape(
      list(global_shape), list(write_shape), itemsize, target,
      list(shard_axes)))


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


def _cpus() -> int:
  try:
    return len(os.sched_getaffinity(0))
  except (AttributeError, OSError):
    return os.cpu_count() or 1


# Arrays are written by a few Python threads at once (each call releases the
# GIL and fans its chunks out to the native thread pool), so many small
# arrays do not serialise on per-call overhead.  No more than the CPUs the
# process may use (at least 2, at most 4): each thread may hold a chunk
# being encoded, and encodes beyond the CPU count only add memory (on
# `big`, 4 threads held 4 x 128 MiB, 2 hold half that, in the same time).
_IO_THREADS = min(4, max(2, _cpus()))


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

# zstd levels Orbax uses (TensorStore's defaults): zarr3 3, zarr2 1.
ZARR3_ZSTD_LEVEL = 3
ZARR2_ZSTD_LEVEL = 1


class ArrayWriteSession:
  """One process's array writes into a checkpointable directory.

  Arrays are zarr3 (`sharding_indexed`, zstd 3, plus a `crc32c` inner codec
  with `chunk_checksums`) or, with `use_zarr3=False`, zarr2 (zstd 1, no
  checksums: zarr2 has no checksum codec).
  """

  def __new__(cls, directory, **kwargs):
    if _remote.is_remote_path(directory):  # gs://, s3://: via TensorStore
      from ocpx._src.remote import arrays as remote_arrays  # pylint: disable=g-import-not-at-top
      return remote_arrays.RemoteArrayWriteSession(directory, **kwargs)
    return super().__new__(cls)

  def __init__(self, directory: pathlib.Path, *, process_index: int,
               use_ocdbt: bool, target_data_file_size: Optional[int],
               use_compression: bool, use_zarr3: bool = True,
               chunk_checksums: bool = False, limiter=None,
               replica_folder: bool = False):
    self._dir = pathlib.Path(directory)
    level = ZARR3_ZSTD_LEVEL if use_zarr3 else ZARR2_ZSTD_LEVEL
    self._zstd_level = level if use_compression else None
    self._zarr_format = 3 if use_zarr3 else 2
    self._chunk_checksums = bool(chunk_checksums) and use_zarr3
    self._use_ocdbt = use_ocdbt
    size = (DEFAULT_TARGET_DATA_FILE_SIZE if target_data_file_size is None
            else int(target_data_file_size))
    target = (self._dir / process_db_name(process_index, replica_folder)
              if use_ocdbt else self._dir)
    # Inside a save's temporary directory the OCDBT commit syncs nothing: the
    # save fsyncs the whole tree at once before renaming it into place.
    self._writer = _core.CheckpointArrayWriter(
        str(target), use_ocdbt=use_ocdbt, target_data_file_size=size,
        limiter=limiter,
        sync=not path_lib.inside_tmp_checkpoint(target))

  def create(self, param: str, shape, dtype, chunk_shape,
             metadata_key: Optional[str] = None) -> None:
    """Writes `param`'s zarr metadata (under `metadata_key` if given)."""
    self._writer.write_metadata(param, list(shape), dtype_name(dtype),
                                list(chunk_shape), self._zstd_level,
                                zarr_format=self._zarr_format,
                                chunk_checksums=self._chunk_checksums,
                                metadata_key=metadata_key)

  def write(self, param: str, origin, data: np.ndarray, shape, dtype,
            chunk_shape) -> None:
    data = np.require(data, requirements="C")
    self._writer.write(param, list(shape), dtype_name(dtype),
                       list(chunk_shape), self._zstd_level, list(origin), data,
                       zarr_format=self._zarr_format,
                       chunk_checksums=self._chunk_checksums)

  def create_many(self, requests: Sequence[tuple]) -> None:
    """`create` for every (param, shape, dtype, chunk_shape, metadata_key),
    in one native call."""
    self._writer.write_metadata_many(
        [(param, list(shape), dtype_name(dtype), list(chunk_shape), key)
         for param, shape, dtype, chunk_shape, key in requests],
        self._zstd_level, zarr_format=self._zarr_format,
        chunk_checksums=self._chunk_checksums)

  def write_many(self, requests: Sequence[tuple]) -> None:
    """`write` for every (param, origin, data, shape, dtype, chunk_shape), in
    one native call: the GIL is released once while the boxes are encoded
    and written, several at once (many small arrays would otherwise cost a
    Python call each)."""
    self.write_many_later(requests)()

  def write_many_later(self, requests: Sequence[tuple]) -> Callable[[], None]:
    """`write_many`, split: the arguments are converted now, and the
    returned callable makes the native call.  A caller that runs the call
    on another thread next to GIL-bound work converts first, so that the
    encoding starts at once."""
    args = [(param, list(shape), dtype_name(dtype), list(chunk_shape),
             list(origin), np.require(data, requirements="C"))
            for param, origin, data, shape, dtype, chunk_shape in requests]
    return functools.partial(
        self._writer.write_many, args, self._zstd_level,
        zarr_format=self._zarr_format, chunk_checksums=self._chunk_checksums)

  def commit(self) -> None:
    self._writer.commit()

  def close(self) -> None:
    """Closes the open data files without committing (after a failure)."""
    self._writer.close()


def merge(directory: pathlib.Path) -> None:
  """Merges every `ocdbt.process_*` database into the directory's root."""
  if _remote.is_remote_path(directory):
    from ocpx._src.remote import arrays as remote_arrays  # pylint: disable=g-import-not-at-top
    remote_arrays.merge(cast(Any, directory))
    return
  directory = pathlib.Path(directory)
  children = sorted(c.name for c in directory.iterdir()
                    if c.is_dir() and c.name.startswith("ocdbt.process_"))
  if not children:
    return
  # Synced by the save's final fsync of its temporary directory, if inside one.
  _core.ocdbt_merge(str(directory), children,
                    sync=not path_lib.inside_tmp_checkpoint(directory))


# ---------------------------------------------------------------------------
# Reading

@dataclasses.dataclass(frozen=True)
class ArrayInfo:
  shape: tuple
  dtype: np.dtype
  chunk_shape: tuple


class ArrayDataMissingError(ValueError, FileNotFoundError):
  """Array data or metadata of a checkpoint is missing.

  A ValueError, as Orbax (TensorStore) raises for it, and a
  FileNotFoundError, as the cause is a missing file; the message names the
  array and the file.
  """

  def __str__(self):
    # The message as given (errno and filename are kept as attributes).
    return str(self.args[0]) if self.args else ""


def _missing_data(error: FileNotFoundError) -> ArrayDataMissingError:
  prefix = "NOT_FOUND: Error opening the array driver"
  missing = ArrayDataMissingError(f"{prefix}: {error}")
  if error.errno is None:
    return missing
  # Keep the OSError fields (errno, message, file) of the cause.
  missing.errno = error.errno
  missing.strerror = (f"{prefix}: {error.strerror}"
                      if error.strerror is not None else None)
  missing.filename = error.filename
  return missing


class PendingReads:
  """Boxes being read in the background (`ArrayStore.read_many_async`)."""

  def __init__(self, pending: Any):
    self._pending = pending

  def take(self, i: int) -> np.ndarray:
    """Box i once read (each box once); raises its array's read error."""
    try:
      return self._pending.take(i)
    except FileNotFoundError as e:
      raise _missing_data(e) from e

  def cancel(self) -> None:
    """Skips the reads not started; waits for the running ones."""
    self._pending.cancel()


class ArrayStore:
  """Read access to the arrays of a checkpointable directory.

  Missing array files raise ArrayDataMissingError.
  """

  def __new__(cls, directory, **kwargs):
    if _remote.is_remote_path(directory):  # gs://, s3://: via TensorStore
      from ocpx._src.remote import arrays as remote_arrays  # pylint: disable=g-import-not-at-top
      return remote_arrays.RemoteArrayStore(directory, **kwargs)
    return super().__new__(cls)

  def __init__(self, directory: pathlib.Path, *, use_ocdbt: bool,
               use_zarr3: Optional[bool] = None, limiter=None,
               metadata_keys: Sequence[str] = ()):
    """`metadata_keys`: further names of array metadata files (Orbax's
    `TypeHandler(metadata_key=...)`), tried before zarr.json and .zarray."""
    del use_zarr3  # zarr.json or .zarray is found per array
    self._limiter = limiter
    self._dir = pathlib.Path(directory)
    try:
      self._reader = _core.CheckpointArrayReader(
          str(self._dir), use_ocdbt=use_ocdbt,
          metadata_keys=list(metadata_keys))
    except FileNotFoundError as e:
      raise _missing_data(e) from e
    self._info: dict[str, ArrayInfo] = {}
    self._lock = threading.Lock()

  def info(self, param: str) -> ArrayInfo:
    with self._lock:
      got = self._info.get(param)
    if got is None:
      try:
        shape, dtype, chunk = self._reader.info(param)
      except FileNotFoundError as e:
        raise _missing_data(e) from e
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
    try:
      got = self._reader.info_many(todo)
    except FileNotFoundError as e:
      raise _missing_data(e) from e
    with self._lock:
      for p, (shape, dtype, chunk) in zip(todo, got):
        self._info[p] = ArrayInfo(tuple(shape), np.dtype(dtype), tuple(chunk))

  def read_many(self, requests, fail_on_missing: bool = True) -> list:
    """[(param, origin, shape)] -> arrays, read in parallel natively."""
    try:
      return self._reader.read_many(requests, fail_on_missing,
                                    limiter=self._limiter)
    except FileNotFoundError as e:
      raise _missing_data(e) from e

  def read_many_async(self, requests,
                      fail_on_missing: bool = True) -> "PendingReads":
    """Starts reading [(param, origin, shape)] natively in the background;
    `take(i)` of the result waits for box i.  Invalid requests raise now."""
    try:
      return PendingReads(self._reader.read_many_async(
          requests, fail_on_missing, limiter=self._limiter))
    except FileNotFoundError as e:
      raise _missing_data(e) from e

  def list_params(self) -> list[str]:
    try:
      return list(self._reader.list_params())
    except FileNotFoundError as e:
      raise _missing_data(e) from e

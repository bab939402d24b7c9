# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Arrays on object stores: zarr3 in OCDBT, through TensorStore.

The same layout as ocpx's native engine and Orbax: every process writes its
own OCDBT database `<dir>/ocdbt.process_<i>/`, the primary merges them into
`<dir>/manifest.ocdbt` + `<dir>/d/`, and each array is a zarr3 array whose
one `sharding_indexed` codec holds a single inner chunk (orbax-layout.md
§1.10, §1.11, §3, §7).  The classes mirror `engine.ArrayWriteSession` and
`engine.ArrayStore`, which hand remote directories to them.
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Sequence

import numpy as np

from ocpx import _core
from ocpx._src.remote import config
from ocpx._src.remote import rpath as rpath_lib

# Orbax's OCDBT settings (orbax-layout.md §1.10, §3.3).
_OCDBT_CONFIG = {"max_inline_value_bytes": 1024,
                 "max_decoded_node_bytes": 100_000_000,
                 "manifest_kind": "single"}


_READ_COALESCING = {
    "experimental_read_coalescing_threshold_bytes": 1_000_000,
    "experimental_read_coalescing_merged_bytes": 500_000_000_000,
    "experimental_read_coalescing_interval": "1ms",
}


def _ts():
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  return ts


def process_db_name(process_index: int, replica: bool = False) -> str:
  return f"ocdbt.process_{'replica_' if replica else ''}{process_index}"


def _dtype_name(dtype) -> str:
  dt = np.dtype(dtype)
  return "bool" if dt == np.bool_ else dt.name


def _fill_value(dtype) -> Any:
  dt = np.dtype(dtype)
  if dt == np.bool_:
    return False
  if dt.kind in "iu":
    return 0
  if dt.kind == "c":
    return [0.0, 0.0]
  return 0.0


def zarr3_metadata(shape, dtype, chunk_shape, zstd_level: Optional[int],
                   chunk_checksums: bool = False) -> dict:
  """The zarr.json ocpx and Orbax write (orbax-layout.md §1.11); with
  `chunk_checksums` (ocpx's default) a `crc32c` codec ends each chunk."""
  inner = [{"name": "bytes", "configuration": {"endian": "little"}}]
  if zstd_level is not None:
    inner.append({"name": "zstd", "configuration": {"level": zstd_level,
                                                    "checksum": False}})
  if chunk_checksums:
    inner.append({"name": "crc32c"})
  return {
      "zarr_format": 3,
      "node_type": "array",
      "shape": list(shape),
      "data_type": _dtype_name(dtype),
      "chunk_grid": {"name": "regular",
                     "configuration": {"chunk_shape": list(chunk_shape)}},
      "chunk_key_encoding": {"name": "default"},
      "fill_value": _fill_value(dtype),
      "codecs": [{"name": "sharding_indexed", "configuration": {
          "chunk_shape": list(chunk_shape),
          "codecs": inner,
          "index_codecs": [
              {"name": "bytes", "configuration": {"endian": "little"}},
              {"name": "crc32c"}],
          "index_location": "end"}}],
  }


def zarr2_metadata(shape, dtype, chunk_shape, zstd_level: Optional[int]
                   ) -> dict:
  """The .zarray ocpx and Orbax write for `use_zarr3=False`."""
  dt = np.dtype(dtype)
  return {
      "zarr_format": 2,
      "shape": list(shape),
      "chunks": list(chunk_shape),
      "dtype": dt.name if dt.kind == "V" else dt.str,  # ml_dtypes: by name
      "compressor": (None if zstd_level is None
                     else {"id": "zstd", "level": zstd_level}),
      "fill_value": None,
      "filters": None,
      "order": "C",
      "dimension_separator": ".",
  }


def _ocdbt_spec(base: dict, *, target_data_file_size: Optional[int] = None,
                write: bool = False) -> dict:
  spec: dict[str, Any] = {"driver": "ocdbt", "base": base,
                          "cache_pool": "cache_pool#ocdbt"}
  if not write:
    # As Orbax does for GCS: nearby reads of one data file become one
    # request.
    spec.update(_READ_COALESCING)
  if write:
    spec["config"] = dict(_OCDBT_CONFIG)
    if target_data_file_size is not None:
      spec["target_data_file_size"] = int(target_data_file_size)
  return spec



def _release_once(limiter, nbytes: int):
  """A callable that returns `nbytes` to `limiter` the first time it is
  called (from the read's completion callback or from the reading thread,
  whichever comes first); a no-op without a limiter."""
  lock = threading.Lock()
  done = [limiter is None]

  def release() -> None:
    with lock:
      if done[0]:
        return
      done[0] = True
    limiter.release(nbytes)
  return release

def _wrap(e: Exception, where: str, param: str) -> Exception:
  return OSError(f"{where}: array {param!r}: {e}")


class _Batch:
  """One transaction of a write session and the writes inside it."""

  def __init__(self, txn):
    self.txn = txn
    self.nbytes = 0   # bytes written into it so far
    self.active = 0   # writes in progress
    self.full = False  # no new writes; committed when the last one ends


class RemoteArrayWriteSession:
  """One process's array writes into a remote checkpointable directory."""

  # Writes are batched into transactions of about this many bytes: one OCDBT
  # commit for thousands of small arrays, while a transaction (which holds
  # its data in memory until it commits) never holds more than this.
  BATCH_BYTES = 256 << 20

  def __init__(self, directory: rpath_lib.RemotePath, *, process_index: int,
               use_ocdbt: bool, target_data_file_size: Optional[int],
               use_compression: bool, use_zarr3: bool = True,
               chunk_checksums: bool = False, limiter=None,
               replica_folder: bool = False):
    ts = _ts()
    self._dir = directory
    self._zarr3 = bool(use_zarr3)
    # zstd levels of Orbax (TensorStore's defaults): zarr3 3, zarr2 1.
    self._zstd_level = (3 if use_zarr3 else 1) if use_compression else None
    self._chunk_checksums = bool(chunk_checksums)
    self._limiter = limiter
    self._context = config.ocdbt_context(directory.resolved)
    if use_ocdbt:
      self._where = directory / process_db_name(process_index,
                                                replica_folder)
      self._kvstore = _ocdbt_spec(
          self._where.kvstore_spec(),
          target_data_file_size=target_data_file_size, write=True)
    else:
      self._where = directory
      self._kvstore = directory.kvstore_spec()
    # Without a byte limit writes go into transactions of BATCH_BYTES (the
    # first also holds every array's metadata); with a limit each write is
    # committed at once so its bytes can be released.
    self._batch = _Batch(ts.Transaction() if limiter is None else None)
    self._arrays: dict[str, Any] = {}   # param -> future of a handle
    self._creates: dict[str, Any] = {}  # param -> future of its creation
    self._open_kv = None
    self._lock = threading.Lock()

  def _kv(self):
    """The session's kvstore, opened once (its OCDBT manifest is read once,
    not once per array)."""
    with self._lock:
      if self._open_kv is None:
        self._open_kv = _ts().KvStore.open(
            self._kvstore, context=self._context).result()
      return self._open_kv

  def _start_open(self, param, shape, dtype, chunk_shape, create: bool,
                  metadata_key: Optional[str] = None):
    """Starts `param`'s open once and returns its future: a handle bound to
    no transaction (each write binds its batch's), opened without I/O.  With
    `create`, the array's metadata is also written into the current batch.
    Nothing is awaited here, so the opens of many arrays overlap."""
    with self._lock:
      got = self._arrays.get(param)
    if got is not None and not create:
      return got
    ts = _ts()
    if self._zarr3:
      driver, metadata = "zarr3", zarr3_metadata(
          shape, dtype, chunk_shape, self._zstd_level, self._chunk_checksums)
    else:
      driver, metadata = "zarr", zarr2_metadata(shape, dtype, chunk_shape,
                                                self._zstd_level)
    spec = {"driver": driver, "metadata": metadata,
            "recheck_cached_data": False, "recheck_cached_metadata": False,
            "store_data_equal_to_fill_value": True}
    if metadata_key is not None:
      spec["metadata_key"] = metadata_key
    try:
      kv = self._kv() / f"{param}/"
      if create:
        with self._lock:
          txn = self._batch.txn
        created = ts.open(spec, kvstore=kv, create=True, open=True,
                          context=self._context, transaction=txn)
        with self._lock:
          self._creates.setdefault(param, created)
      fut = ts.open(spec, kvstore=kv, open=True, assume_metadata=True,
                    context=self._context)
    except Exception as e:  # pylint: disable=broad-except
      raise _wrap(e, str(self._where), param) from e
    with self._lock:
      return self._arrays.setdefault(param, fut)

  def _opened(self, param, shape, dtype, chunk_shape):
    fut = self._start_open(param, shape, dtype, chunk_shape, create=False)
    try:
      return fut.result()
    except Exception as e:  # pylint: disable=broad-except
      raise _wrap(e, str(self._where), param) from e

  def create(self, param: str, shape, dtype, chunk_shape,
             metadata_key: Optional[str] = None) -> None:
    """Starts creating `param` (its zarr metadata, under `metadata_key` if
    given: the save validated it before writing anything); errors surface
    from the array's first write or from `commit`."""
    self._start_open(param, shape, dtype, chunk_shape, create=True,
                     metadata_key=metadata_key)

  def write(self, param: str, origin, data: np.ndarray, shape, dtype,
            chunk_shape) -> None:
    t = self._opened(param, shape, dtype, chunk_shape)
    data = np.require(data, requirements="C")
    index = tuple(slice(o, o + n) for o, n in zip(origin, data.shape))
    nbytes = int(data.nbytes)
    if self._limiter is not None:
      self._limiter.reserve(nbytes)
    batch = self._enter(nbytes)
    try:
      if batch.txn is not None:
        t = t.with_transaction(batch.txn)
      t[index].write(data).result()
    except Exception as e:  # pylint: disable=broad-except
      raise _wrap(e, str(self._where), param) from e
    finally:
      try:
        self._leave(batch)
      finally:
        if self._limiter is not None:
          self._limiter.release(nbytes)

  def _enter(self, nbytes: int) -> _Batch:
    """The batch a write of `nbytes` goes into (a new one once full)."""
    idle = None
    with self._lock:
      batch = self._batch
      if batch.txn is not None and batch.nbytes >= self.BATCH_BYTES:
        batch.full = True
        if batch.active == 0:
          idle = batch  # its writes have all ended: commit it here
        batch = self._batch = _Batch(_ts().Transaction())
      batch.active += 1
      batch.nbytes += nbytes
    if idle is not None:
      try:
        self._commit_batch(idle)
      except BaseException:
        self._leave(batch)
        raise
    return batch

  def _leave(self, batch: _Batch) -> None:
    """Ends a write; the last write of a full batch commits it."""
    with self._lock:
      batch.active -= 1
      commit = batch.full and batch.active == 0
    if commit:
      self._commit_batch(batch)

  def _commit_batch(self, batch: _Batch) -> None:
    # Every array's metadata (written into the first batch) is in first.
    self._await_opens()
    try:
      batch.txn.commit_async().result()
    except Exception as e:  # pylint: disable=broad-except
      raise OSError(f"{self._where}: committing the arrays failed: {e}"
                    ) from e

  def _await_opens(self) -> None:
    with self._lock:
      pending = list(self._creates.items()) + list(self._arrays.items())
    for param, fut in pending:  # every create has finished, or raises
      try:
        fut.result()
      except Exception as e:  # pylint: disable=broad-except
        raise _wrap(e, str(self._where), param) from e

  def commit(self) -> None:
    """Commits what is left (every full batch committed itself)."""
    self._await_opens()
    if self._batch.txn is not None:
      try:
        self._batch.txn.commit_async().result()
      except Exception as e:  # pylint: disable=broad-except
        raise OSError(f"{self._where}: committing the arrays failed: {e}"
                      ) from e
    self._arrays.clear()
    self._creates.clear()

  def close(self) -> None:
    """Drops uncommitted writes (after a failure)."""
    if self._batch.txn is not None:
      try:
        self._batch.txn.abort()
      except Exception:  # pylint: disable=broad-except
        pass
      self._batch = _Batch(None)
    self._arrays.clear()
    self._creates.clear()


def merge(directory: rpath_lib.RemotePath) -> None:
  """Merges every `ocdbt.process_*` database into the directory's root
  database, in one atomic transaction (orbax-layout.md §7)."""
  ts = _ts()
  children = sorted(c.name for c in directory.iterdir()
                    if c.name.startswith("ocdbt.process_"))
  if not children:
    return
  ctx = config.ocdbt_context(directory.resolved)
  try:
    parent = ts.KvStore.open(
        _ocdbt_spec(directory.kvstore_spec(), write=True),
        context=ctx).result()
    txn = ts.Transaction(atomic=True)
    for name in children:
      child = ts.KvStore.open(
          _ocdbt_spec((directory / name).kvstore_spec()),
          context=ctx).result()
      child.experimental_copy_range_to(
          parent.with_transaction(txn)).result()
    txn.commit_async().result()
  except Exception as e:  # pylint: disable=broad-except
    raise OSError(f"{directory}: merging {children} failed: {e}") from e


class RemoteArrayStore:
  """Read access to the arrays of a remote checkpointable directory."""

  def __init__(self, directory: rpath_lib.RemotePath, *, use_ocdbt: bool,
               use_zarr3: Optional[bool] = None, limiter=None,
               metadata_keys: Sequence[str] = ()):
    del use_zarr3  # zarr.json or .zarray is found per array
    for key in metadata_keys:
      _core.validate_metadata_key(key)
    # Custom zarr metadata file names (zarr v2 only, as TensorStore).
    self._metadata_keys = tuple(metadata_keys)
    self._dir = directory
    self._limiter = limiter
    self._context = config.ocdbt_context(directory.resolved)
    self._kvstore = (_ocdbt_spec(directory.kvstore_spec()) if use_ocdbt
                     else directory.kvstore_spec())
    self._open_kv = None
    self._kinds: Optional[dict[str, tuple[str, Optional[str]]]] = None
    self._kinds_lock = threading.Lock()
    self._kv_lock = threading.Lock()
    self._arrays: dict[tuple, Any] = {}
    self._info: dict[str, Any] = {}
    self._lock = threading.Lock()

  def _kv(self):
    with self._kv_lock:
      if self._open_kv is None:
        self._open_kv = _ts().KvStore.open(
            self._kvstore, context=self._context).result()
      return self._open_kv

  def _start_array(self, param: str, fill_missing: bool):
    """The future of `param`'s TensorStore (started once, not awaited)."""
    key = (param, fill_missing)
    with self._lock:
      got = self._arrays.get(key)
    if got is not None:
      return got
    ts = _ts()
    try:
      kv = self._kv()
      kind = self._param_kinds().get(param)
      if kind is None:
        from ocpx._src import engine  # pylint: disable=g-import-not-at-top
        names = " or ".join(f"{param}/{k}" for k in (
            *self._metadata_keys, "zarr.json", ".zarray"))
        raise engine.ArrayDataMissingError(
            f"NOT_FOUND: {self._dir}: array {param!r} not found (no "
            f"{names})")
      driver, metadata_key = kind
      spec = {"driver": driver,
              "recheck_cached_data": False,
              "recheck_cached_metadata": False,
              "fill_missing_data_reads": fill_missing}
      if metadata_key is not None:
        spec["metadata_key"] = metadata_key
      # Opened on the one kvstore object: its OCDBT manifest is read once,
      # not once per array.
      fut = ts.open(spec, kvstore=kv / f"{param}/",
                    open=True, read=True, context=self._context)
    except FileNotFoundError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      raise _wrap(e, str(self._dir), param) from e
    with self._lock:
      return self._arrays.setdefault(key, fut)

  def _array(self, param: str, fill_missing: bool):
    fut = self._start_array(param, fill_missing)
    try:
      return fut.result()
    except Exception as e:  # pylint: disable=broad-except
      raise _wrap(e, str(self._dir), param) from e

  def _param_kinds(self) -> dict:
    """param -> (TensorStore driver, metadata_key or None), from one listing
    of the database (made once, however many threads ask at the same time).
    Custom metadata keys win, then zarr.json, then .zarray (as the native
    reader)."""
    with self._kinds_lock:
      if self._kinds is None:
        rank = {key: i for i, key in enumerate(self._metadata_keys)}
        rank["zarr.json"] = len(rank)
        rank[".zarray"] = len(rank)
        best: dict[str, tuple[int, str]] = {}
        for k in self._kv().list().result():
          param, _, name = k.decode().rpartition("/")
          r = rank.get(name)
          if r is not None and r < best.get(param, (len(rank), ""))[0]:
            best[param] = (r, name)
        self._kinds = {
            param: (("zarr3", None) if name == "zarr.json"
                    else ("zarr", None) if name == ".zarray"
                    else ("zarr", name))
            for param, (_, name) in best.items()}
      return self._kinds

  def info(self, param: str):
    from ocpx._src import engine  # pylint: disable=g-import-not-at-top
    with self._lock:
      got = self._info.get(param)
    if got is not None:
      return got
    t = self._array(param, True)
    chunk = tuple(t.chunk_layout.read_chunk.shape or ())
    got = engine.ArrayInfo(tuple(int(d) for d in t.shape),
                           np.dtype(t.dtype.numpy_dtype), chunk)
    with self._lock:
      self._info[param] = got
    return got

  def prefetch_info(self, params: Sequence[str]) -> None:
    """Opens every array of `params` at once (their zarr metadata reads
    overlap), then records their infos."""
    todo = [p for p in dict.fromkeys(params) if p not in self._info]
    for p in todo:
      self._start_array(p, True)
    for p in todo:
      self.info(p)

  def read_many(self, requests, fail_on_missing: bool = True) -> list:
    """[(param, origin, shape)] -> arrays of the stored dtype.

    Every read is started before any is awaited.  With a limiter, a read
    holds its decoded size from its start until it completes (released by
    the completion callback, so later reservations never wait on this
    thread); as in the native engine, the output buffers are not counted.
    """
    limiter = self._limiter
    futures = []
    for param, _, _ in requests:  # every array's open overlaps
      self._start_array(param, not fail_on_missing)
    try:
      for param, origin, shape in requests:
        t = self._array(param, not fail_on_missing)
        if len(origin) != t.rank or len(shape) != t.rank:
          raise ValueError(
              f"{self._dir}: array {param!r} has rank {t.rank}, box has "
              f"rank {len(shape)}")
        nbytes = (int(np.prod(shape, dtype=np.int64))
                  * t.dtype.numpy_dtype.itemsize)
        if limiter is not None:
          limiter.reserve(nbytes)
        index = tuple(slice(o, o + n) for o, n in zip(origin, shape))
        try:
          fut = t[index].read()
        except Exception:
          if limiter is not None:
            limiter.release(nbytes)
          raise
        release = _release_once(limiter, nbytes)
        if limiter is not None:
          fut.add_done_callback(lambda _f, r=release: r())
        futures.append((param, fut, release))
      out = []
      for param, fut, release in futures:
        try:
          out.append(np.asarray(fut.result()))
        except Exception as e:  # pylint: disable=broad-except
          raise _wrap(e, str(self._dir), param) from e
        finally:
          release()  # the callback may not have run yet
      return out
    finally:
      for _, fut, release in futures:  # on error: let every read finish
        try:
          fut.result()
        except Exception:  # pylint: disable=broad-except
          pass
        release()

  def list_params(self) -> list[str]:
    return sorted(self._param_kinds())

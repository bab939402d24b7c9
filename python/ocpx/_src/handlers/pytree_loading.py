# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Loading one PyTree checkpointable directory.

The tree comes from `_METADATA` as the C++ reader parses it
(`pytree_files.read_or_infer_tree_metadata`); each leaf is built by its
kind's handler (`leaf_handlers`).  A load plans every leaf, reads every box
of every array in one native call (`ArrayStore.read_many`, in parallel,
the GIL released), then builds the values.

Example:
  >>> meta = pytree_files.read_or_infer_tree_metadata(path)  # doctest: +SKIP
  >>> Loader(path, meta, ctx).load(abstract_tree)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any, Callable, Optional, Sequence

import jax
import numpy as np

from ocpx import _core
from ocpx._src import broadcast as broadcast_lib
from ocpx._src import engine
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib
from ocpx._src.handlers import leaf_handlers
from ocpx._src.handlers import pytree_files
from ocpx._src.metadata_types import ArrayMetadata, NumpyMetadata, StorageMetadata

# Loads of at least this many arrays return freed heap memory to the system
# after planning (a few ms; see `Loader.restore_all`).
_TRIM_HEAP_MIN_ARRAYS = 256
# Loads of at least this many arrays read them on a background thread while
# the caller's thread plans and builds the values (`ReadBatch`).
_PIPELINE_MIN_ARRAYS = 256

# value_types stored as arrays.
ARRAY_TYPES = (tree_lib.JAX_ARRAY, tree_lib.NP_ARRAY, tree_lib.SCALAR)
PLACEHOLDER_TYPE = "placeholder"  # Orbax's record of a `...` leaf

# Orbax's wording for an abstract tree that does not fit the checkpoint.
STRUCTURE_MISMATCH = ("User-provided restore item and on-disk value metadata "
                      "tree structures do not match")


class ReadBatch:
  """Box reads collected while planning a load, then done natively.

  A small load reads every box in one native call once planning is done.
  A load of many boxes (`pipelined`) is read in runs of consecutive boxes,
  each started on the native thread pool as soon as planning has queued it
  (`read_many_async`): the reads overlap the rest of the planning and the
  building of the values (`device_put`) on the caller's thread, and need no
  Python thread.  A run never splits the boxes of one array, so a chunk
  several boxes need is decoded once.  `get(i)` waits for box i.
  """

  # A run closes once it holds this many boxes or bytes (at a change of
  # array): small enough that building starts early, big enough that the
  # pool always has queued work.
  RUN_BOXES = 256
  RUN_BYTES = 32 << 20

  def __init__(self, store: Callable[[], Any], fail_on_missing: bool,
               pipelined: bool = False):
    self._get_store = store  # called only if there is something to read
    self._fail = fail_on_missing
    self._reqs: list[Any] = []
    self._strict: list[Optional[bool]] = []
    self._results: list[Any] = []
    self._pipelined = pipelined
    self._open_start = 0  # first box of the run being collected
    self._open_bytes = 0
    # Pipelined: box -> (pending reads, index in them).
    self._where: list[Optional[tuple[Any, int]]] = []
    self._pending: list[Any] = []

  def add(self, param: str, origin: Sequence[int], shape: Sequence[int],
          fail_on_missing: Optional[bool] = None,
          nbytes: int = 0) -> int:
    """Queues a box; returns its index for `get`."""
    if (self._pipelined and len(self._reqs) > self._open_start
        and self._reqs[-1][0] != param
        and (len(self._reqs) - self._open_start >= self.RUN_BOXES
             or self._open_bytes >= self.RUN_BYTES)):
      self._start(self._open_start, len(self._reqs))
    self._reqs.append((param, list(origin), list(shape)))
    self._strict.append(fail_on_missing)
    self._results.append(None)
    self._where.append(None)
    self._open_bytes += nbytes
    return len(self._reqs) - 1

  def run(self) -> None:
    """Reads every queued box (pipelined: starts the last run)."""
    if self._pipelined:
      self._start(self._open_start, len(self._reqs))
      return
    for group, fail in self._split(0, len(self._reqs)):
      got = self._get_store().read_many([self._reqs[i] for i in group], fail)
      for i, a in zip(group, got):
        self._results[i] = a

  def close(self) -> None:
    """Cancels the reads nobody will take (after an error) and waits for
    those running, so that no read outlives the load."""
    for p in self._pending:
      p.cancel()
    self._pending = []

  def get(self, i: int) -> np.ndarray:
    where = self._where[i]
    if where is not None:
      self._where[i] = None
      pending, j = where
      return pending.take(j)
    # Each box is consumed once; dropping the batch's reference lets the
    # host buffer go as soon as its leaf is built (e.g. put on a device).
    value, self._results[i] = self._results[i], None
    return value

  def _split(self, start: int, end: int) -> list[tuple[list[int], bool]]:
    """Boxes [start, end) by missing-chunk rule: scalars always require
    their chunk, other boxes follow the load's option."""
    idx = range(start, end)
    if all(self._strict[i] is None for i in idx):
      return [(list(idx), self._fail)] if start < end else []
    strict = [i for i in idx if self._strict[i]]
    loose = [i for i in idx if not self._strict[i]]
    return [(g, f) for g, f in ((strict, True), (loose, self._fail)) if g]

  def _start(self, start: int, end: int) -> None:
    self._open_start, self._open_bytes = end, 0
    for group, fail in self._split(start, end):
      pending = self._get_store().read_many_async(
          [self._reqs[i] for i in group], fail)
      self._pending.append(pending)
      for j, i in enumerate(group):
        self._where[i] = (pending, j)


class Loader:
  """Loads one PyTree checkpointable directory (`leaf_handlers.LeafReads`).

  Attributes:
    dir: The checkpointable directory.
    meta: Its tree metadata.
    ctx: The Context of the load.
    global_mesh: The caller's active mesh (abstract shardings bind to it).
  """

  def __init__(self, dir_path: pathlib.Path, meta: tree_lib.TreeMetadata,
               ctx: Any, global_mesh: Any = None,
               array_metadata_keys: Sequence[str] = ()):
    self.global_mesh = global_mesh
    self.array_metadata_keys = tuple(array_metadata_keys)
    self.dir = dir_path
    self.meta = meta
    self.ctx = ctx
    self._store: Optional[engine.ArrayStore] = None
    self._strings: Optional[_core.StringValues] = None
    self._strings_read = False
    self._shardings: Optional[dict[str, str]] = None
    self._key_impls: Optional[dict[str, str]] = None
    self._batch: Optional[ReadBatch] = None

  @property
  def store(self) -> engine.ArrayStore:
    if self._store is None:
      self._store = engine.ArrayStore(
          self.dir, use_ocdbt=self.meta.use_ocdbt,
          use_zarr3=self.meta.use_zarr3,
          limiter=engine.make_limiter(
              self.ctx.memory_options.read_concurrent_bytes),
          metadata_keys=self.array_metadata_keys)
    return self._store

  def shardings(self) -> dict[str, str]:
    """`_sharding`: param name -> sharding JSON text."""
    if self._shardings is None:
      self._shardings = sharding_lib.read_sharding_file(self.dir)
    return self._shardings

  def random_key_impls(self) -> dict[str, str]:
    """param name -> PRNG implementation, from `array_metadatas`."""
    if self._key_impls is None:
      self._key_impls = pytree_files.read_random_key_impls(self.dir)
    return self._key_impls

  # -- LeafReads --------------------------------------------------------------
  def where(self, saved: tree_lib.LeafMetadata) -> str:
    return f"{self.dir}: leaf {saved.param_name!r}"

  def string_value(self, saved: tree_lib.LeafMetadata) -> str:
    if not self._strings_read:
      self._strings = pytree_files.read_strings(self.dir)
      self._strings_read = True
    return pytree_files.lookup_string(self._strings, saved.param_name,
                                      self.dir / pytree_files.STRINGS_FILE)

  def default_sharding(self, saved: tree_lib.LeafMetadata) -> Any:
    if self.ctx.array_options.loading.use_load_and_broadcast:
      # As Orbax: broadcasting needs the target (replicated) sharding.
      raise ValueError(
          f"{self.where(saved)}: Must provide `sharding` to restore with "
          "`SingleReplicaArrayHandler` (Orbax's wording): "
          "use_load_and_broadcast needs a target sharding; pass an abstract "
          "tree whose jax.Array leaves have a NamedSharding.")
    text = self.shardings().get(saved.param_name)
    if text:
      try:
        return sharding_lib.sharding_from_json(text)
      except (ValueError, KeyError, TypeError, AttributeError,
              IndexError) as e:
        logging.warning("%s: cannot use the saved sharding (%s); loading "
                        "onto the default device", self.where(saved), e)
    return jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

  def check_shape(self, saved: tree_lib.LeafMetadata, info: engine.ArrayInfo,
                  shape: Sequence[int]) -> None:
    if tuple(shape) != tuple(info.shape):
      if not self.ctx.array_options.loading.enable_padding_and_truncation:
        raise ValueError(
            f"{self.where(saved)}: requested shape {tuple(shape)} differs "
            f"from the stored shape {tuple(info.shape)}. Truncating/padding "
            "is disabled; set enable_padding_and_truncation=True in "
            "ArrayOptions.Loading to allow it.")

  def read_scalar(self, saved: tree_lib.LeafMetadata):
    assert self._batch is not None
    batch = self._batch
    i = batch.add(saved.param_name, (), (), fail_on_missing=True)
    return lambda: batch.get(i)

  def read_box(self, saved: tree_lib.LeafMetadata, info: engine.ArrayInfo,
               origin: Sequence[int], shape: Sequence[int], dtype: np.dtype):
    """Reads [origin, origin+shape) in the requested frame (zero padding)."""
    assert self._batch is not None
    batch = self._batch
    origin, shape = tuple(origin), tuple(shape)
    stored = tuple(info.shape)
    lo = tuple(max(0, o) for o in origin)
    hi = tuple(min(o + s, st) for o, s, st in zip(origin, shape, stored))
    inter = tuple(max(0, h - a) for a, h in zip(lo, hi))
    nbytes = int(np.prod(inter, dtype=np.int64)) * info.dtype.itemsize
    if inter == shape and lo == origin:
      i = batch.add(saved.param_name, lo, inter, nbytes=nbytes)
      return lambda: batch.get(i).astype(dtype, copy=False)
    if not all(n > 0 for n in inter):
      return lambda: np.zeros(shape, dtype=dtype)
    i = batch.add(saved.param_name, lo, inter, nbytes=nbytes)

    def padded():
      out = np.zeros(shape, dtype=dtype)
      sl = tuple(slice(a - o, a - o + n) for a, o, n in zip(lo, origin, inter))
      out[sl] = batch.get(i)
      return out
    return padded

  def _shard_boxes(self, saved, shape, index) -> tuple:
    box = []
    for dim, sl in zip(shape, index):
      start, stop, step = sl.indices(dim)
      if step != 1:
        raise ValueError(f"{self.where(saved)}: strided shards unsupported")
      box.append((start, stop - start))
    return tuple(box)

  def read_jax(self, saved: tree_lib.LeafMetadata, info: engine.ArrayInfo,
               shape: Sequence[int], dtype: np.dtype, sharding: Any):
    sharding = sharding_lib.bind_to_devices(sharding, self.global_mesh)
    if self.ctx.array_options.loading.use_load_and_broadcast:
      return self._read_jax_broadcast(saved, info, shape, dtype, sharding)
    index_map = sharding.addressable_devices_indices_map(tuple(shape))
    cache = {}
    devices, keys = [], []
    for device, index in index_map.items():
      key = self._shard_boxes(saved, shape, index)
      if key not in cache:  # devices sharing an index read it once
        cache[key] = self.read_box(saved, info, tuple(b[0] for b in key),
                                   tuple(b[1] for b in key), dtype)
      devices.append(device)
      keys.append(key)

    if len(devices) == 1:
      # One device (a single-device or one-device-mesh sharding): one
      # device_put onto the sharding itself, 2-3x cheaper per leaf than
      # assembling the array from its single shard.
      (only,) = cache.values()

      def build_one():
        with sharding_lib.without_global_mesh():
          return jax.device_put(only(), sharding)
      return build_one

    def build():
      host = {k: f() for k, f in cache.items()}
      kind = getattr(sharding, "memory_kind", None)
      targets = devices if kind is None else [
          jax.sharding.SingleDeviceSharding(d, memory_kind=kind)
          for d in devices]  # e.g. restoring into pinned_host memory
      with sharding_lib.without_global_mesh():
        arrays = jax.device_put([host[k] for k in keys], targets)
        return jax.make_array_from_single_device_arrays(
            tuple(shape), sharding, arrays)
    return build

  def _read_jax_broadcast(self, saved, info, shape, dtype, sharding):
    """Reads only the primary replica's shards, then broadcasts them."""
    loading = self.ctx.array_options.loading
    plan = broadcast_lib.plan(sharding, loading, self.where(saved))
    index_map = sharding.addressable_devices_indices_map(tuple(shape))
    block = sharding.shard_shape(tuple(shape))
    boxes, reads = {}, {}
    for device, index in index_map.items():
      if device not in plan.primary_devices:
        continue
      key = self._shard_boxes(saved, shape, index)
      boxes[device] = key
      if key not in reads:  # devices sharing an index read it once
        reads[key] = self.read_box(saved, info, tuple(b[0] for b in key),
                                   tuple(b[1] for b in key), dtype)
    devices = list(index_map)

    def build():
      host = {k: f() for k, f in reads.items()}
      data = {d: (host[boxes[d]] if d in boxes else np.zeros(block, dtype))
              for d in devices}
      with sharding_lib.without_global_mesh():
        return broadcast_lib.broadcast(plan, tuple(shape), dtype, data,
                                       loading, self.where(saved))
    return build

  # -- loading ----------------------------------------------------------------
  def load(self, abstract: Any) -> Any:
    """The tree, shaped like `abstract` (or as saved if None)."""
    by_names = {l.names: l for l in self.meta.leaves}
    if abstract is None:
      self._check_stored_arrays()
      restored = self.restore_all([(l, None) for l in self.meta.leaves])
      values = {l.names: v for l, v in zip(self.meta.leaves, restored)}
      if self.meta.value_metadata_tree:
        return tree_lib.build_rich_tree(self.meta.value_metadata_tree, values)
      return tree_lib.build_tree(self.meta.leaves, values)
    try:
      a_leaves, treedef = tree_lib.flatten_abstract(abstract)
    except ValueError as e:
      raise ValueError(f"{self.dir}: abstract tree: {e}") from e
    partial = self.ctx.pytree_options.loading.partial_load
    wanted = set()
    jobs: list[Optional[tuple[tree_lib.LeafMetadata, Any]]] = []
    for a in a_leaves:
      wanted.add(a.names)
      if a.value is tree_lib.PLACEHOLDER:
        jobs.append(None)
        continue
      l = by_names.get(a.names)
      if l is None:
        raise ValueError(
            f"{self.dir}: {STRUCTURE_MISMATCH}: the abstract tree has leaf "
            f"{jax.tree_util.keystr(a.keypath)} which the checkpoint does "
            f"not contain. Saved leaves: "
            f"{sorted('.'.join(x.names) for x in self.meta.leaves)[:20]}")
      jobs.append((l, a.value))
    if not partial:
      self._check_complete(wanted)
    out = self.restore_all(jobs)
    return jax.tree_util.tree_unflatten(treedef, out)

  def restore_all(
      self, jobs: Sequence[Optional[tuple[tree_lib.LeafMetadata, Any]]]
  ) -> list[Any]:
    """Restores leaves in three steps: plan every leaf (metadata fetched in
    one native call), read every box natively (in parallel, GIL released;
    for many arrays, in runs overlapping the other two steps), then build
    the values.  A None job is a placeholder."""
    arrays = [j[0].param_name for j in jobs
              if j is not None and j[0].value_type in ARRAY_TYPES
              and not j[0].skip_deserialize]
    if arrays:
      self.store.prefetch_info(arrays)
      if len(arrays) >= _TRIM_HEAP_MIN_ARRAYS:
        # Parsing `_METADATA` and thousands of arrays' metadata left freed
        # memory in the reader threads' heaps; give it back before the
        # data's buffers are allocated (they cannot reuse it), so that it
        # does not add to the load's peak.
        _core.release_free_heap()
    batch = self._batch = ReadBatch(
        lambda: self.store,
        self.ctx.array_options.loading.raise_array_data_missing_error,
        pipelined=(len(arrays) >= _PIPELINE_MIN_ARRAYS
                   and hasattr(self.store, "read_many_async")))
    try:
      thunks = [(lambda: tree_lib.PLACEHOLDER) if j is None
                else self._plan_leaf(*j) for j in jobs]
      batch.run()
      return [t() for t in thunks]
    finally:
      batch.close()

  # The name the v0 handlers call.
  _restore_all = restore_all

  def _plan_leaf(self, saved: tree_lib.LeafMetadata, abstract: Any):
    vt = saved.value_type
    if vt in tree_lib.EMPTY_TYPES:
      # An empty node (None, {}, [], ()) was saved: load it as such, as
      # Orbax does, never the abstract leaf given in its place.
      value = tree_lib.empty_value(vt)
      return lambda: value
    if vt == PLACEHOLDER_TYPE:
      return lambda: tree_lib.PLACEHOLDER  # as Orbax's PlaceholderHandler
    if saved.skip_deserialize:
      return lambda: abstract
    if vt == tree_lib.STRING:
      return leaf_handlers.StringLeaf().plan_load(self, saved, None)
    if vt not in ARRAY_TYPES:
      raise ValueError(f"{self.where(saved)}: unknown value_type {vt!r}")
    info = self.store.info(saved.param_name)
    self._check_stored_shape(saved, info)
    handler = leaf_handlers.select(
        self, saved, info, abstract,
        # A typed PRNG key is stored as its uint32 key data: other arrays
        # need not look (parsing the record costs ms for many arrays).
        key_impl=(self.random_key_impls().get(saved.param_name)
                  if vt == tree_lib.JAX_ARRAY and info.dtype == np.uint32
                  else None))
    return handler.plan_load(self, saved, info)

  def _check_stored_arrays(self) -> None:
    """Without an abstract tree `_METADATA` alone decides what loads, so a
    stored array it does not list would be dropped silently: an error."""
    try:
      stored = self.store.list_params()
    except FileNotFoundError:
      if any(l.value_type in ARRAY_TYPES for l in self.meta.leaves):
        raise
      return  # no array storage at all (only strings or empty nodes)
    listed = {l.param_name for l in self.meta.leaves}
    unlisted = sorted(p for p in stored if p not in listed)
    if unlisted:
      raise ValueError(
          f"{self.dir}: {len(unlisted)} stored arrays are missing from "
          f"{tree_lib.METADATA_FILE} (e.g. {unlisted[:5]}); the file is "
          "corrupt or from another checkpoint. Pass an abstract tree to load "
          "the listed leaves only.")

  def _check_stored_shape(self, saved: tree_lib.LeafMetadata,
                          info: engine.ArrayInfo) -> None:
    """The stored shape must agree with the `write_shape` in `_METADATA`."""
    ws = saved.write_shape
    if ws is None:
      return
    shape = tuple(info.shape)
    if len(ws) != len(shape) or any(
        w > s or (s > 0 and w == 0) for w, s in zip(ws, shape)):
      raise ValueError(
          f"{self.where(saved)}: the stored shape {shape} does not fit the "
          f"write_shape {tuple(ws)} recorded in {tree_lib.METADATA_FILE}; "
          "the array metadata is corrupt")

  def _check_complete(self, wanted: set) -> None:
    extra = [".".join(l.names) for l in self.meta.leaves
             if l.names not in wanted and not l.skip_deserialize]
    if extra:
      raise ValueError(
          f"{self.dir}: {STRUCTURE_MISMATCH}: the checkpoint has leaves "
          "missing from the abstract "
          f"tree: {extra[:20]}. Pass them, or load with "
          "PyTreeOptions(loading=PyTreeOptions.Loading(partial_load=True)).")

  # -- metadata ---------------------------------------------------------------
  def _sharding_metadata(self, saved: tree_lib.LeafMetadata):
    text = self.shardings().get(saved.param_name)
    if not text:
      return None
    try:
      return sharding_lib.sharding_metadata_from_json(text)
    except ValueError as e:
      logging.warning("%s: unreadable saved sharding (%s)", self.where(saved),
                      e)
      return None

  def metadata_tree(self) -> Any:
    """The tree of leaf metadata (ArrayMetadata, NumpyMetadata, a zero of
    the scalar's type, "string", empty nodes) without reading array data."""
    arrays = [l.param_name for l in self.meta.leaves
              if l.value_type in ARRAY_TYPES and not l.skip_deserialize]
    if arrays:
      self.store.prefetch_info(arrays)  # one native call for all of them
    values: dict[tuple[str, ...], Any] = {}
    for l in self.meta.leaves:
      vt = l.value_type
      if vt == PLACEHOLDER_TYPE:
        values[l.names] = tree_lib.PLACEHOLDER
      elif l.skip_deserialize or vt in tree_lib.EMPTY_TYPES:
        values[l.names] = tree_lib.empty_value(vt)
      elif vt == tree_lib.STRING:
        values[l.names] = "string"
      elif vt == tree_lib.SCALAR:
        info = self.store.info(l.param_name)
        values[l.names] = (False if info.dtype == np.bool_ else
                           0 if np.issubdtype(info.dtype, np.integer) else 0.0)
      elif vt in ARRAY_TYPES:
        info = self.store.info(l.param_name)
        storage = StorageMetadata(
            chunk_shape=tuple(info.chunk_shape),
            write_shape=(tuple(l.write_shape) if l.write_shape is not None
                         else None))
        if vt == tree_lib.JAX_ARRAY:
          values[l.names] = ArrayMetadata(
              shape=tuple(info.shape), dtype=info.dtype,
              sharding_metadata=self._sharding_metadata(l),
              storage_metadata=storage)
        else:
          values[l.names] = NumpyMetadata(
              shape=tuple(info.shape), dtype=info.dtype,
              storage_metadata=storage)
      else:
        raise ValueError(f"{self.where(l)}: unknown value_type {vt!r}")
    if self.meta.value_metadata_tree:
      return tree_lib.build_rich_tree(self.meta.value_metadata_tree, values)
    return tree_lib.build_tree(self.meta.leaves, values)

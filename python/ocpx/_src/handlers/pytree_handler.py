# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""PyTreeHandler: PyTrees of arrays, scalars and strings, in Orbax's layout."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import pathlib
import threading
from typing import Any, Optional

import jax
import numpy as np

from ocpx._src import broadcast as broadcast_lib
from ocpx._src import context as context_lib
from ocpx._src import engine
from ocpx._src import json_util
from ocpx._src import path as path_lib
from ocpx._src import saving_state
from ocpx._src import serialization
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib
from ocpx._src.handlers import types as handler_types
from ocpx._src.metadata_types import ArrayMetadata, NumpyMetadata, StorageMetadata

STRINGS_FILE = "_strings.json"
ARRAY_METADATAS_DIR = "array_metadatas"
RANDOM_KEY_IMPL = "random_key_impl"

_ORBAX_PYTREE_TYPESTR = (
    "orbax.checkpoint.experimental.v1._src.handlers.pytree_handler."
    "PyTreeHandler")
_SECONDARY_TYPESTRS = (
    "orbax.checkpoint._src.handlers.pytree_checkpoint_handler."
    "PyTreeCheckpointHandler",
    "orbax.checkpoint._src.handlers.standard_checkpoint_handler."
    "StandardCheckpointHandler",
    "orbax.checkpoint.v0._src.handlers.pytree_checkpoint_handler."
    "PyTreeCheckpointHandler",
    "orbax.checkpoint.v0._src.handlers.standard_checkpoint_handler."
    "StandardCheckpointHandler",
)


def _is_jax_array(x) -> bool:
  return isinstance(x, jax.Array)


def is_random_key_dtype(dtype) -> bool:
  """True for the dtypes of typed PRNG keys (`jax.random.key`)."""
  try:
    return dtype is not None and jax.dtypes.issubdtype(
        dtype, jax.dtypes.prng_key)
  except TypeError:
    return False


def random_key_impl_name(key) -> str:
  """The name Orbax records for a key's implementation ('threefry2x32',
  'rbg', 'unsafe_rbg', ...)."""
  return str(jax.random.key_impl(key))


def read_random_key_impls(dir_path: pathlib.Path) -> dict[str, str]:
  """param name -> PRNG implementation, from `array_metadatas/process_*`.

  Orbax stores a typed PRNG key as its key data (unsigned integers with
  trailing dimensions) and records the implementation in the array's
  `ext_metadata` as `{"random_key_impl": name}`; loading wraps the data back
  into a key.
  """
  md_dir = dir_path / ARRAY_METADATAS_DIR
  if not md_dir.is_dir():
    return {}
  out = {}
  for f in sorted(md_dir.iterdir()):
    if not f.name.startswith("process_") or not f.is_file():
      continue
    try:
      doc = json_util.read_json(f)
      entries = doc["array_metadatas"]
      for e in entries:
        am = e["array_metadata"]
        ext = am.get("ext_metadata")
        if isinstance(ext, dict) and ext.get(RANDOM_KEY_IMPL):
          out[str(am["param_name"])] = str(ext[RANDOM_KEY_IMPL])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError,
            AttributeError) as e:
      raise ValueError(f"{f}: malformed array metadata file: {e}") from e
  return out


def _is_scalar(x) -> bool:
  return isinstance(x, (int, float, bool, np.number, np.bool_)) and not (
      isinstance(x, np.ndarray))


def leaf_kind(x) -> Optional[str]:
  """The `_METADATA` value_type for a leaf, or None if unsupported."""
  if _is_jax_array(x):
    return tree_lib.JAX_ARRAY
  if isinstance(x, np.ndarray):
    return tree_lib.NP_ARRAY
  if isinstance(x, str):
    return tree_lib.STRING
  if _is_scalar(x):
    return tree_lib.SCALAR
  return None


def _storage_options_for(leaf, value, saving):
  base = saving.storage_options
  creator = saving.scoped_storage_options_creator
  if creator is None:
    return base
  scoped = creator(leaf.keypath, value)
  if scoped is None:
    return base
  return dataclasses.replace(
      base, **{f.name: getattr(scoped, f.name)
               for f in dataclasses.fields(scoped)
               if getattr(scoped, f.name) is not None})


@dataclasses.dataclass
class _ArrayPlan:
  leaf: tree_lib.FlatLeaf
  kind: str
  global_shape: tuple
  dtype: np.dtype  # storage dtype
  write_shape: tuple
  chunk_shape: tuple
  boxes: list  # serialization.Box this process writes
  sharding_json: Optional[str] = None
  deferred: bool = False  # transferred in the background (not prioritized)
  random_key_impl: Optional[str] = None  # a typed PRNG key, stored as data
  replicated: bool = False  # some axis of its mesh holds copies


# Orbax's wording for an abstract tree that does not fit the checkpoint.
_STRUCTURE_MISMATCH = ("User-provided restore item and on-disk value metadata "
                       "tree structures do not match")


class PyTreeHandler:
  """Saves and loads PyTrees (the default handler for `ocpx.save`)."""

  # Set below, once the class exists.
  _orbax_typestr: Optional[dict[str, Any]] = None

  def __init__(self, *, context: Optional[context_lib.Context] = None):
    self._context = context

  @property
  def context(self):
    return context_lib.get_context(self._context)

  # -- resolution -----------------------------------------------------------
  def is_handleable(self, checkpointable: Any) -> bool:
    try:
      leaves, _ = tree_lib.flatten(checkpointable)
    except Exception:  # pylint: disable=broad-except
      return False
    if checkpointable is None:
      return False
    # Like Orbax 0.12.8, any tree of supported leaves (all-string ones and a
    # bare string too) is a PyTree; registered after JsonHandler,
    # PyTreeHandler wins for it.
    return all(tree_lib.is_empty_leaf(leaf.value)
               or leaf_kind(leaf.value) is not None for leaf in leaves)

  def is_abstract_handleable(self, abstract_checkpointable: Any) -> bool | None:
    if abstract_checkpointable is None:
      return True
    if isinstance(abstract_checkpointable, handler_types.StatefulCheckpointable):
      return False
    try:
      tree_lib.flatten_abstract(abstract_checkpointable)
    except Exception:  # pylint: disable=broad-except
      return False
    return True

  # -- save -----------------------------------------------------------------
  async def save(self, directory, checkpointable):
    """Blocking part: host copies.  Returns an awaitable for the rest."""
    work = self.prepare_save(directory, checkpointable)

    async def _background():
      return await asyncio.get_running_loop().run_in_executor(None, work)

    return _background()

  def prepare_save(self, directory, tree, *, custom_metadata=None) -> Any:
    """Does the device-to-host copies now; returns a callable doing the I/O.

    `custom_metadata` (JSON) is recorded in `_METADATA` (v0 `PyTreeSave`).
    """
    ctx = self.context
    saving = ctx.array_options.saving
    if isinstance(directory, path_lib.PathAwaitingCreation):
      dir_path = directory.path
      wait = directory.wait
    else:
      dir_path = path_lib.as_path(directory)
      wait = lambda *a: dir_path  # noqa: E731
    try:
      leaves, _ = tree_lib.flatten(tree)
    except ValueError as e:
      raise ValueError(f"{dir_path}: {e}") from e
    if not leaves or (not jax.tree.leaves(tree) and not tree):
      raise ValueError(
          f"{dir_path}: Found empty item: cannot save an empty PyTree "
          f"({type(tree).__name__} with no leaves).")
    tree_lib.check_param_names(leaves, dir_path)
    process = jax.process_index()
    primary = ctx.multiprocessing_options.primary_host
    is_primary = primary is None or primary == process

    is_async = saving_state.is_async_save()
    memory = ctx.memory_options
    prioritized = memory.is_prioritized_key_fn
    plans: list[_ArrayPlan] = []
    strings: dict[str, str] = {}
    meta_leaves = []
    for leaf in leaves:
      v = leaf.value
      if tree_lib.is_empty_leaf(v):
        meta_leaves.append(tree_lib.LeafMetadata(
            leaf.names, leaf.key_types, tree_lib.empty_typestr(v), True))
        continue
      if isinstance(v, tree_lib.ExternalLeaf):  # a v0 TypeHandler wrote it
        meta_leaves.append(tree_lib.LeafMetadata(
            leaf.names, leaf.key_types, v.typestr, v.skip_deserialize))
        continue
      kind = leaf_kind(v)
      if kind is None:
        raise ValueError(
            f"{dir_path}: leaf {jax.tree_util.keystr(leaf.keypath)} has "
            f"unsupported type {type(v).__name__}; supported leaves are "
            "jax.Array, np.ndarray, int, float, bool, numpy scalars and str.")
      if kind == tree_lib.STRING:
        strings[leaf.param_name] = v
        meta_leaves.append(tree_lib.LeafMetadata(
            leaf.names, leaf.key_types, kind))
        continue
      if kind != tree_lib.SCALAR and getattr(v, "size", 1) == 0:
        raise ValueError(
            f"{dir_path}: leaf {jax.tree_util.keystr(leaf.keypath)}: Cannot "
            f"save arrays with zero size (shape {tuple(v.shape)}).")
      plan = self._plan_array(leaf, kind, v, saving, primary, is_async)
      if kind == tree_lib.JAX_ARRAY:
        plan.deferred = (prioritized is not None
                         and not prioritized(leaf.keypath))
      plans.append(plan)
      meta_leaves.append(tree_lib.LeafMetadata(
          leaf.names, leaf.key_types, kind,
          write_shape=(list(plan.write_shape)
                       if kind == tree_lib.JAX_ARRAY
                       and saving.array_metadata_store is not None else None)))

    # Device-to-host for every non-deferred jax.Array, all copies started
    # before any is awaited.  Async saves copy (the caller may delete or
    # donate the arrays once save_async returns); blocking saves use
    # zero-copy views where the backend allows.
    pinned = serialization.use_pinned_host(saving)
    now = [p for p in plans if p.kind == tree_lib.JAX_ARRAY and not p.deferred]
    staged = [serialization.start_transfer(p.boxes, pinned=pinned) for p in now]
    for p, srcs in zip(now, staged):
      serialization.finish_transfer(p.boxes, srcs, copy=is_async,
                                    pinned=pinned, dtype=p.dtype)
    del now, staged

    rich = None
    if ctx.pytree_options.saving.pytree_metadata_options.support_rich_types:
      rich = tree_lib.rich_tree_json(tree, {l.names: l for l in meta_leaves})
    tree_meta = tree_lib.TreeMetadata(
        leaves=meta_leaves, use_ocdbt=saving.use_ocdbt,
        use_zarr3=bool(saving.use_zarr3),
        store_array_data_equal_to_fill_value=True,
        custom_metadata=custom_metadata, value_metadata_tree=rich)
    mode = ctx.file_options.path_permission_mode
    target_size = saving.ocdbt_target_data_file_size
    use_rp = saving.use_replica_parallel
    separate_replicas = bool(
        saving.enable_replica_parallel_separate_folder and saving.use_ocdbt
        and (use_rp is None or use_rp))
    write_limiter = engine.make_limiter(memory.write_concurrent_bytes)
    transfer_limiter = engine.make_limiter(memory.transfer_concurrent_bytes)

    def write_arrays(writer_for):
      writes_zarr_json = [
          p for p in plans
          if (p.kind == tree_lib.JAX_ARRAY and is_primary)
          or (p.kind != tree_lib.JAX_ARRAY and process == 0)]
      for plan in writes_zarr_json:
        writer_for(plan).create(plan.leaf.param_name, plan.global_shape,
                                plan.dtype, plan.chunk_shape)

      def write_plan(plan):
        if plan.kind != tree_lib.JAX_ARRAY and process != 0:
          return  # numpy arrays and scalars are written by process 0 only
        for box in plan.boxes:
          reserved = 0
          if box.host is None:  # deferred: transfer now, within the limit
            reserved = box.nbytes
            engine.reserve(transfer_limiter, reserved)
            serialization.transfer([box], copy=False, pinned=pinned,
                                   dtype=plan.dtype)
          try:
            writer_for(plan).write(
                plan.leaf.param_name, box.origin, box.host,
                plan.global_shape, plan.dtype, plan.chunk_shape)
          finally:
            box.host = None  # free host copies as soon as they are written
            if reserved:
              engine.release(transfer_limiter, reserved)

      ordered = ([p for p in plans if not p.deferred]
                 + [p for p in plans if p.deferred])
      engine.run_parallel(write_plan, ordered)

    def run():
      wait()
      writers = {}
      writers_lock = threading.Lock()

      def writer_for(plan):
        # With enable_replica_parallel_separate_folder, replicated arrays go
        # to ocdbt.process_replica_<i> (as Orbax writes them).  Called from
        # the parallel writes: one session per database, made under a lock
        # (two sessions on one database would each commit only their keys).
        replica = separate_replicas and plan.replicated
        with writers_lock:
          return _writer_locked(replica)

      def _writer_locked(replica):
        if replica not in writers:
          writers[replica] = engine.ArrayWriteSession(
              dir_path, process_index=process, use_ocdbt=saving.use_ocdbt,
              target_data_file_size=target_size,
              use_compression=saving.use_compression,
              use_zarr3=bool(saving.use_zarr3),
              chunk_checksums=bool(saving.enable_chunk_checksums),
              limiter=write_limiter, replica_folder=replica)
        return writers[replica]

      try:
        write_arrays(writer_for)
        for w in writers.values():
          w.commit()
      except BaseException:
        # Close the data files now: the exception (and with it this frame)
        # may live on in an AsyncResponse, and open files keep their disk
        # space until they are closed.
        for w in writers.values():
          w.close()
        raise
      jax_plans = [p for p in plans if p.kind == tree_lib.JAX_ARRAY]
      if jax_plans and saving.array_metadata_store is not None:
        md_dir = dir_path / ARRAY_METADATAS_DIR
        path_lib.mkdir(md_dir, mode)
        write(md_dir / f"process_{process}", json.dumps({
            "array_metadatas": [
                {"array_metadata": {
                    "param_name": p.leaf.param_name,
                    "write_shape": list(p.write_shape),
                    "chunk_shape": list(p.chunk_shape),
                    "ext_metadata": (
                        {RANDOM_KEY_IMPL: p.random_key_impl}
                        if p.random_key_impl else None)}}
                for p in jax_plans]}))
      return saving_state.Finalize(finalize)

    def write(p, text):
      path_lib.write_file_durably(p, text, None)

    def finalize():
      """On the primary, after every process has written its database."""
      jax_plans = [p for p in plans if p.kind == tree_lib.JAX_ARRAY]
      if saving.use_ocdbt:
        engine.merge(dir_path)
        if saving.enable_post_merge_validation:
          _validate_merged(dir_path, [p.leaf.param_name for p in plans])
      if saving.enable_write_sharding_file:
        sharding_lib.write_sharding_file(
            dir_path, {p.leaf.param_name: p.sharding_json
                       for p in jax_plans if p.sharding_json}, write)
      if strings:
        write(dir_path / STRINGS_FILE, _strings_json(strings, dir_path))
      write(dir_path / tree_lib.METADATA_FILE, tree_meta.to_json())

    return run

  def _plan_array(self, leaf, kind, v, saving, primary, is_async) -> _ArrayPlan:
    storage = _storage_options_for(leaf, v, saving)
    if kind == tree_lib.SCALAR:
      if isinstance(v, (bool, np.bool_)):
        arr = np.asarray(bool(v))
      elif isinstance(v, int):
        arr = np.asarray(v, dtype=np.int64)
      elif isinstance(v, float):
        arr = np.asarray(v, dtype=np.float64)
      else:
        arr = np.asarray(v)
      return _ArrayPlan(leaf, kind, (), arr.dtype, (), (),
                        [serialization.host_box((), arr)])
    if kind == tree_lib.NP_ARRAY:
      if storage.dtype is not None:
        arr = np.require(np.asarray(v).astype(storage.dtype),
                         requirements="C")
      elif ((is_async and self.context.memory_options.deepcopy_host_arrays)
            or not v.flags.c_contiguous):
        arr = np.array(v, copy=True, order="C")  # the caller may mutate v
      else:
        arr = v
      chunk = engine.choose_chunk_shape(
          arr.shape, arr.shape, arr.dtype.itemsize, storage.chunk_byte_size,
          storage.shard_axes, saving)
      return _ArrayPlan(leaf, kind, arr.shape, arr.dtype, arr.shape, chunk,
                        [serialization.host_box((0,) * arr.ndim, arr)])
    # jax.Array
    impl = None
    if is_random_key_dtype(v.dtype):
      # A typed PRNG key is stored as its key data; the implementation goes
      # to array_metadatas, which therefore must be written.
      if saving.array_metadata_store is None:
        raise ValueError(
            f"leaf {jax.tree_util.keystr(leaf.keypath)} is a PRNG key "
            f"({v.dtype}); saving it needs ArrayOptions.Saving."
            "array_metadata_store, which records the key implementation.")
      impl = random_key_impl_name(v)
      v = jax.random.key_data(v)
      if storage.dtype is not None:
        raise ValueError(
            f"leaf {jax.tree_util.keystr(leaf.keypath)} is a PRNG key; "
            "StorageOptions.dtype cannot cast it.")
    dtype = np.dtype(storage.dtype if storage.dtype is not None else v.dtype)
    write_shape, boxes = serialization.plan_boxes(v, saving,
                                                  primary_host=primary)
    chunk = engine.choose_chunk_shape(
        v.shape, write_shape, dtype.itemsize, storage.chunk_byte_size,
        storage.shard_axes, saving)
    return _ArrayPlan(leaf, kind, tuple(v.shape), dtype, write_shape, chunk,
                      boxes, sharding_lib.sharding_to_json(v.sharding),
                      random_key_impl=impl,
                      replicated=sharding_lib.is_replicated(v.sharding))

  # -- load -----------------------------------------------------------------
  async def load(self, directory, abstract_checkpointable=None):
    work = self.prepare_load(directory, abstract_checkpointable)

    async def _background():
      return await asyncio.get_running_loop().run_in_executor(None, work)

    return _background()

  def prepare_load(self, directory, abstract=None):
    dir_path = path_lib.as_path(getattr(directory, "path", directory))
    ctx = self.context
    meta = _read_or_infer_tree_metadata(dir_path)
    mesh = sharding_lib.active_global_mesh()  # the caller's, not the worker's
    return lambda: _Loader(dir_path, meta, ctx, mesh).load(abstract)

  def load_now(self, directory, abstract=None):
    return self.prepare_load(directory, abstract)()

  # -- metadata ---------------------------------------------------------------
  async def metadata(self, directory):
    return self.metadata_now(directory)

  def metadata_now(self, directory):
    """The tree of leaf metadata, from `_METADATA` (FileNotFoundError if it
    is missing: as in Orbax, metadata never comes from opening the arrays;
    `checkpointables_metadata` then reports None for the item)."""
    dir_path = path_lib.as_path(getattr(directory, "path", directory))
    meta = tree_lib.read_tree_metadata(dir_path)
    return _Loader(dir_path, meta, self.context).metadata_tree()


PyTreeHandler._orbax_typestr = {"cls": PyTreeHandler,
                                "typestr": _ORBAX_PYTREE_TYPESTR}
SECONDARY_TYPESTRS = _SECONDARY_TYPESTRS


def _read_or_infer_tree_metadata(dir_path) -> tree_lib.TreeMetadata:
  """`_METADATA`, or (if it was lost) a tree rebuilt from the stored arrays.

  Without `_METADATA`, each stored array name `a.b.c` becomes the nested
  dict path a/b/c; arrays with a `_sharding` entry load as jax.Array, the
  rest as np.ndarray.  An abstract tree passed to `load` still decides the
  structure and leaf types.
  """
  try:
    return tree_lib.read_tree_metadata(dir_path)
  except FileNotFoundError as missing:
    use_ocdbt = (dir_path / "manifest.ocdbt").exists()
    try:
      params = engine.ArrayStore(dir_path, use_ocdbt=use_ocdbt,
                                 use_zarr3=None).list_params()
    except (FileNotFoundError, ValueError):
      params = []
    if not params:
      raise missing
    shardings = sharding_lib.read_sharding_file(dir_path)
    leaves = []
    for p in sorted(params):
      names = tuple(p.split("."))
      leaves.append(tree_lib.LeafMetadata(
          names, (tree_lib.DICT_KEY,) * len(names),
          tree_lib.JAX_ARRAY if p in shardings else tree_lib.NP_ARRAY))
    logging.warning("%s: %s is missing; rebuilt the tree from %d stored "
                    "arrays", dir_path, tree_lib.METADATA_FILE, len(leaves))
    return tree_lib.TreeMetadata(leaves=leaves, use_ocdbt=use_ocdbt,
                                 use_zarr3=None)


def _validate_merged(dir_path, params) -> None:
  """`enable_post_merge_validation`: every array written is in the merged
  database, with readable metadata; raises ValueError naming those that are
  not (the save then fails and nothing is committed)."""
  if not params:
    return
  store = engine.ArrayStore(dir_path, use_ocdbt=True)
  present = set(store.list_params())
  missing = sorted(p for p in params if p not in present)
  if missing:
    raise ValueError(
        f"{dir_path}: post-merge validation failed: the merged OCDBT "
        f"database lacks arrays {missing[:20]}.")
  store.prefetch_info(list(params))  # each zarr.json parses


def _strings_json(strings: dict[str, str], dir_path) -> str:
  doc: dict = {}
  for name, value in strings.items():
    parts = name.split("/")
    node = doc
    for p in parts[:-1]:
      nxt = node.setdefault(p, {})
      if not isinstance(nxt, dict):
        raise ValueError(f"{dir_path}: string leaf names {name!r} collide")
      node = nxt
    node[parts[-1]] = value
  return json.dumps(doc, sort_keys=True, separators=(",", ":"),
                    ensure_ascii=False)


def _read_strings(dir_path: pathlib.Path) -> dict:
  f = dir_path / STRINGS_FILE
  if not f.exists():
    return {}
  doc = json_util.read_json(f)
  if not isinstance(doc, dict):
    raise ValueError(f"{f}: expected a JSON object, got {type(doc).__name__}")
  return doc


def _lookup_string(doc: dict, name: str, f) -> str:
  node: Any = doc
  for p in name.split("/"):
    if not isinstance(node, dict) or p not in node:
      raise FileNotFoundError(f"{f}: string leaf {name!r} is missing")
    node = node[p]
  if not isinstance(node, str):
    # A value of another JSON type was not written by a save: never convert.
    raise ValueError(f"{f}: string leaf {name!r} holds a "
                     f"{type(node).__name__}, not a string")
  return node


_ARRAY_TYPES = (tree_lib.JAX_ARRAY, tree_lib.NP_ARRAY, tree_lib.SCALAR)


@dataclasses.dataclass
class _Target:
  """How one saved leaf is built: as a jax.Array ('jax'), np.ndarray ('np')
  or scalar ('scalar', of `pytype` if given)."""

  kind: str
  shape: tuple
  dtype: np.dtype
  sharding: Any = None
  pytype: Optional[type] = None
  key_impl: Optional[str] = None  # wrap the data as this PRNG key


def _dtype_impl(dtype) -> str:
  """The PRNG implementation name of a key dtype."""
  return str(dtype._impl.name)  # pylint: disable=protected-access


def _has_attribute(cls: type, name: str) -> bool:
  return name in getattr(cls, "__annotations__", {}) or hasattr(cls, name)


def restore_type_of_abstract(cls: type) -> Optional[str]:
  """Orbax's rule for an abstract array leaf's class: with `shape`, `dtype`
  and `sharding` attributes it loads as jax.Array ('jax'); with only `shape`
  and `dtype` (np.ndarray, NumpyMetadata, ...) as np.ndarray ('np').

  Example:
    >>> restore_type_of_abstract(jax.ShapeDtypeStruct)
    'jax'
    >>> restore_type_of_abstract(np.ndarray)
    'np'
  """
  if not (_has_attribute(cls, "shape") and _has_attribute(cls, "dtype")):
    return None
  return "jax" if _has_attribute(cls, "sharding") else "np"


# Python's own scalar types, which a scalar saved from int, float or bool has.
_PYTHON_SCALAR_DTYPES = (np.dtype(np.int64), np.dtype(np.float64),
                         np.dtype(np.bool_))


def _scalar_value(host: np.ndarray):
  """A stored scalar as Python int/float/bool when it has their dtype, else
  as the numpy scalar type it was saved from (np.float32, np.int16, ...)."""
  if host.dtype in _PYTHON_SCALAR_DTYPES:
    return host.item()
  return host[()]


class _ReadBatch:
  """Box reads collected while planning a load, then done in one call."""

  def __init__(self, store, fail_on_missing: bool):
    self._get_store = store  # called only if there is something to read
    self._fail = fail_on_missing
    self._reqs: list[Any] = []
    self._strict: list[Any] = []
    self._results = None

  def add(self, param, origin, shape, fail_on_missing=None) -> int:
    self._reqs.append((param, list(origin), list(shape)))
    self._strict.append(fail_on_missing)
    return len(self._reqs) - 1

  def run(self):
    if not self._reqs:
      self._results = []
      return
    self._store = self._get_store()
    if all(s is None for s in self._strict):
      self._results = self._store.read_many(self._reqs, self._fail)
      return
    # Scalars always require their chunk; read those separately.
    strict = [i for i, s in enumerate(self._strict) if s]
    loose = [i for i, s in enumerate(self._strict) if not s]
    results = [None] * len(self._reqs)
    for group, fail in ((strict, True), (loose, self._fail)):
      if group:
        got = self._store.read_many([self._reqs[i] for i in group], fail)
        for i, a in zip(group, got):
          results[i] = a
    self._results = results

  def get(self, i):
    # Each box is consumed once; dropping the batch's reference lets the
    # host buffer go as soon as its leaf is built (e.g. put on a device).
    value, self._results[i] = self._results[i], None
    return value


class _Loader:
  """Loads one PyTree checkpointable directory."""

  def __init__(self, dir_path, meta: tree_lib.TreeMetadata, ctx,
               global_mesh=None):
    self.global_mesh = global_mesh
    self.dir = dir_path
    self.meta = meta
    self.ctx = ctx
    self._store = None
    self._strings = None
    self._shardings = None
    self._key_impls: Optional[dict[str, str]] = None

  @property
  def store(self):
    if self._store is None:
      self._store = engine.ArrayStore(
          self.dir, use_ocdbt=self.meta.use_ocdbt,
          use_zarr3=self.meta.use_zarr3,
          limiter=engine.make_limiter(
              self.ctx.memory_options.read_concurrent_bytes))
    return self._store

  def strings(self):
    if self._strings is None:
      self._strings = _read_strings(self.dir)
    return self._strings

  def shardings(self):
    if self._shardings is None:
      self._shardings = sharding_lib.read_sharding_file(self.dir)
    return self._shardings

  def _where(self, leaf) -> str:
    return f"{self.dir}: leaf {leaf.param_name!r}"

  # ---------------------------------------------------------------------------
  def load(self, abstract):
    by_names = {l.names: l for l in self.meta.leaves}
    if abstract is None:
      self._check_stored_arrays()
      restored = self._restore_all([(l, None) for l in self.meta.leaves])
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
    jobs = []
    for a in a_leaves:
      wanted.add(a.names)
      if a.value is tree_lib.PLACEHOLDER:
        jobs.append(None)
        continue
      l = by_names.get(a.names)
      if l is None:
        raise ValueError(
            f"{self.dir}: {_STRUCTURE_MISMATCH}: the abstract tree has leaf "
            f"{jax.tree_util.keystr(a.keypath)} which the checkpoint does "
            f"not contain. Saved leaves: "
            f"{sorted('.'.join(x.names) for x in self.meta.leaves)[:20]}")
      jobs.append((l, a.value))
    if not partial:
      self._check_complete(wanted)
    out = self._restore_all(jobs)
    return jax.tree_util.tree_unflatten(treedef, out)

  def _restore_all(self, jobs):
    """Restores leaves in three steps: plan every leaf (metadata fetched in
    one native call), read every box in one native call (in parallel, GIL
    released), then build the values."""
    arrays = [j[0].param_name for j in jobs
              if j is not None and j[0].value_type in _ARRAY_TYPES
              and not j[0].skip_deserialize]
    if arrays:
      self.store.prefetch_info(arrays)
    self._batch = _ReadBatch(
        lambda: self.store,
        self.ctx.array_options.loading.raise_array_data_missing_error)
    thunks = [(lambda: tree_lib.PLACEHOLDER) if j is None
              else self._restore_leaf(*j) for j in jobs]
    self._batch.run()
    return [t() for t in thunks]

  def _check_stored_arrays(self):
    """Without an abstract tree `_METADATA` alone decides what loads, so a
    stored array it does not list would be dropped silently: an error."""
    try:
      stored = self.store.list_params()
    except FileNotFoundError:
      if any(l.value_type in _ARRAY_TYPES for l in self.meta.leaves):
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

  def _check_stored_shape(self, l, info):
    """The stored shape must agree with the `write_shape` in `_METADATA`."""
    ws = l.write_shape
    if ws is None:
      return
    shape = tuple(info.shape)
    if len(ws) != len(shape) or any(
        w > s or (s > 0 and w == 0) for w, s in zip(ws, shape)):
      raise ValueError(
          f"{self._where(l)}: the stored shape {shape} does not fit the "
          f"write_shape {tuple(ws)} recorded in {tree_lib.METADATA_FILE}; "
          "the array metadata is corrupt")

  def _check_complete(self, wanted):
    extra = [".".join(l.names) for l in self.meta.leaves
             if l.names not in wanted and not l.skip_deserialize]
    if extra:
      raise ValueError(
          f"{self.dir}: {_STRUCTURE_MISMATCH}: the checkpoint has leaves "
          "missing from the abstract "
          f"tree: {extra[:20]}. Pass them, or load with "
          "PyTreeOptions(loading=PyTreeOptions.Loading(partial_load=True)).")

  def _restore_leaf(self, l: tree_lib.LeafMetadata, abstract):
    vt = l.value_type
    if vt in tree_lib.EMPTY_TYPES:
      # An empty node (None, {}, [], ()) was saved: load it as such, as
      # Orbax does, never the abstract leaf given in its place.
      value = tree_lib.empty_value(vt)
      return lambda: value
    if l.skip_deserialize:
      return lambda: abstract
    if vt == tree_lib.STRING:
      s = _lookup_string(self.strings(), l.param_name,
                         self.dir / STRINGS_FILE)
      return lambda: s
    if vt not in _ARRAY_TYPES:
      raise ValueError(f"{self._where(l)}: unknown value_type {vt!r}")
    info = self.store.info(l.param_name)
    self._check_stored_shape(l, info)
    target = self._target(l, info, abstract)
    return self._read(l, info, target)

  def random_key_impls(self) -> dict[str, str]:
    if self._key_impls is None:
      self._key_impls = read_random_key_impls(self.dir)
    return self._key_impls

  def _target(self, l, info, abstract) -> _Target:
    """What to build for a saved leaf, given its abstract leaf."""
    vt = l.value_type
    impl = (self.random_key_impls().get(l.param_name)
            if vt == tree_lib.JAX_ARRAY else None)
    if abstract is None:
      if vt == tree_lib.JAX_ARRAY:
        return _Target("jax", info.shape, info.dtype, self._default_sharding(l),
                       key_impl=impl)
      if vt == tree_lib.NP_ARRAY:
        return _Target("np", info.shape, info.dtype)
      return _Target("scalar", (), info.dtype)
    if isinstance(abstract, type):
      if abstract in (int, float, bool):
        return _Target("scalar", (), info.dtype, pytype=abstract)
      if issubclass(abstract, np.generic):
        return _Target("scalar", (), info.dtype, pytype=abstract)
      if abstract is str:
        raise ValueError(
            f"{self._where(l)}: saved as {vt}, requested as a string")
      restore = restore_type_of_abstract(abstract)
      if restore == "jax":
        return _Target("jax", info.shape, info.dtype, self._default_sharding(l),
                       key_impl=impl)
      if restore == "np":
        return _Target("np", info.shape, info.dtype)
      raise TypeError(
          f"{self._where(l)}: unsupported abstract leaf type "
          f"{abstract.__name__}")
    if isinstance(abstract, (bool, int, float)) and not isinstance(
        abstract, np.generic):
      return _Target("scalar", (), info.dtype, pytype=type(abstract))
    if isinstance(abstract, np.generic):
      # A numpy scalar loads back as a numpy scalar of the abstract's type.
      return _Target("scalar", (), abstract.dtype, pytype=type(abstract))
    if isinstance(abstract, str):
      raise ValueError(
          f"{self._where(l)}: saved as {vt}, requested as a string")
    shape = getattr(abstract, "shape", None)
    dtype = getattr(abstract, "dtype", None)
    restore = restore_type_of_abstract(type(abstract))
    if restore is None or shape is None or dtype is None:
      raise TypeError(
          f"{self._where(l)}: unsupported abstract leaf of type "
          f"{type(abstract).__name__} (an abstract array leaf has shape and "
          "dtype, and a sharding attribute to load as jax.Array)")
    shape = tuple(shape)
    if restore == "np":
      if is_random_key_dtype(dtype):
        raise TypeError(
            f"{self._where(l)}: a PRNG key loads as jax.Array; give an "
            "abstract leaf with a sharding (e.g. jax.ShapeDtypeStruct).")
      # As Orbax: a numpy leaf takes only its dtype from the abstract leaf
      # and its shape from the checkpoint, unless padding/truncation to
      # the abstract shape is enabled.
      if not self.ctx.array_options.loading.enable_padding_and_truncation:
        shape = tuple(info.shape)
      return _Target("np", shape, np.dtype(dtype))
    sharding = sharding_lib.bind_to_devices(
        getattr(abstract, "sharding", None), self.global_mesh)
    if is_random_key_dtype(dtype):
      # The abstract key has the logical shape; the stored key data has the
      # implementation's trailing dimensions.
      wanted = _dtype_impl(dtype)
      if impl is not None and impl != wanted:
        raise ValueError(
            f"{self._where(l)}: saved as a {impl} PRNG key, requested as "
            f"{dtype} ({wanted}).")
      impl = wanted
      physical = jax.eval_shape(jax.random.key_data,
                                jax.ShapeDtypeStruct(shape, dtype))
      if isinstance(sharding, jax.sharding.NamedSharding):
        trailing = (None,) * (len(physical.shape) - len(shape))
        sharding = jax.sharding.NamedSharding(
            sharding.mesh, jax.sharding.PartitionSpec(*sharding.spec,
                                                      *trailing),
            memory_kind=sharding.memory_kind)
      shape, dtype = tuple(physical.shape), physical.dtype
    if sharding is None:
      sharding = self._default_sharding(l)
    return _Target("jax", shape, np.dtype(dtype), sharding, key_impl=impl)

  def _default_sharding(self, l):
    """The saved sharding, for a jax.Array leaf given no target sharding."""
    if self.ctx.array_options.loading.use_load_and_broadcast:
      # As Orbax: broadcasting needs the target (replicated) sharding.
      raise ValueError(
          f"{self._where(l)}: Must provide `sharding` to restore with "
          "`SingleReplicaArrayHandler` (Orbax's wording): "
          "use_load_and_broadcast needs a target sharding; pass an abstract "
          "tree whose jax.Array leaves have a NamedSharding.")
    return self._saved_sharding(l)

  def _saved_sharding(self, l):
    text = self.shardings().get(l.param_name)
    if text:
      try:
        return sharding_lib.sharding_from_json(text)
      except (ValueError, KeyError, TypeError, AttributeError,
              IndexError) as e:
        logging.warning("%s: cannot use the saved sharding (%s); loading "
                        "onto the default device", self._where(l), e)
    return jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

  def _check_shape(self, l, info, shape):
    if tuple(shape) != tuple(info.shape):
      if not self.ctx.array_options.loading.enable_padding_and_truncation:
        raise ValueError(
            f"{self._where(l)}: requested shape {tuple(shape)} differs from "
            f"the stored shape {tuple(info.shape)}. Truncating/padding is "
            "disabled; set enable_padding_and_truncation=True in "
            "ArrayOptions.Loading to allow it.")

  def _read_box(self, l, info, origin, shape, dtype):
    """Reads [origin, origin+shape) in the requested frame (zero padding)."""
    raise_missing = self.ctx.array_options.loading.raise_array_data_missing_error
    stored = tuple(info.shape)
    lo = tuple(max(0, o) for o in origin)
    hi = tuple(min(o + s, st) for o, s, st in zip(origin, shape, stored))
    inter = tuple(max(0, h - a) for a, h in zip(lo, hi))
    del raise_missing  # the batch applies it
    if tuple(inter) == tuple(shape) and lo == tuple(origin):
      i = self._batch.add(l.param_name, lo, inter)
      return lambda: self._batch.get(i).astype(dtype, copy=False)
    if not all(n > 0 for n in inter):
      return lambda: np.zeros(shape, dtype=dtype)
    i = self._batch.add(l.param_name, lo, inter)

    def padded():
      out = np.zeros(shape, dtype=dtype)
      sl = tuple(slice(a - o, a - o + n) for a, o, n in zip(lo, origin, inter))
      out[sl] = self._batch.get(i)
      return out
    return padded

  def _read(self, l, info, target: "_Target"):
    kind, shape, dtype, sharding, pytype = (
        target.kind, target.shape, target.dtype, target.sharding,
        target.pytype)
    if kind == "scalar":
      if tuple(info.shape) != ():
        raise ValueError(
            f"{self._where(l)}: stored shape {tuple(info.shape)} is not a "
            "scalar")
      i = self._batch.add(l.param_name, (), (), fail_on_missing=True)

      def scalar():
        host = self._batch.get(i).reshape(())
        if pytype is not None:
          return pytype(host.item()) if pytype in (int, float, bool) else (
              pytype(host))
        return _scalar_value(host)
      return scalar
    self._check_shape(l, info, shape)
    if kind == "np":
      return self._read_box(l, info, (0,) * len(shape), shape, dtype)
    build = self._read_jax(l, info, shape, dtype, sharding)
    if target.key_impl is None:
      return build
    impl = target.key_impl

    def wrapped():
      try:
        with sharding_lib.without_global_mesh():
          return jax.random.wrap_key_data(build(), impl=impl)
      except (TypeError, ValueError) as e:
        raise ValueError(
            f"{self._where(l)}: stored data of shape {tuple(shape)} and dtype "
            f"{dtype} is not a {impl} PRNG key: {e}") from e
    return wrapped

  def _read_jax(self, l, info, shape, dtype, sharding):
    sharding = sharding_lib.bind_to_devices(sharding, self.global_mesh)
    loading = self.ctx.array_options.loading
    if loading.use_load_and_broadcast:
      return self._read_jax_broadcast(l, info, shape, dtype, sharding)
    index_map = sharding.addressable_devices_indices_map(tuple(shape))
    cache = {}
    devices, keys = [], []
    for device, index in index_map.items():
      box = []
      for dim, sl in zip(shape, index):
        start, stop, step = sl.indices(dim)
        if step != 1:
          raise ValueError(f"{self._where(l)}: strided shards unsupported")
        box.append((start, stop - start))
      key = tuple(box)
      if key not in cache:  # devices sharing an index read it once
        cache[key] = self._read_box(l, info, tuple(b[0] for b in box),
                                    tuple(b[1] for b in box), dtype)
      devices.append(device)
      keys.append(key)

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

  def _read_jax_broadcast(self, l, info, shape, dtype, sharding):
    """Reads only the primary replica's shards, then broadcasts them."""
    loading = self.ctx.array_options.loading
    plan = broadcast_lib.plan(sharding, loading, self._where(l))
    index_map = sharding.addressable_devices_indices_map(tuple(shape))
    block = sharding.shard_shape(tuple(shape))
    boxes, reads = {}, {}
    for device, index in index_map.items():
      if device not in plan.primary_devices:
        continue
      box = []
      for dim, sl in zip(shape, index):
        start, stop, step = sl.indices(dim)
        if step != 1:
          raise ValueError(f"{self._where(l)}: strided shards unsupported")
        box.append((start, stop - start))
      key = tuple(box)
      boxes[device] = key
      if key not in reads:  # devices sharing an index read it once
        reads[key] = self._read_box(l, info, tuple(b[0] for b in key),
                                    tuple(b[1] for b in key), dtype)
    devices = list(index_map)

    def build():
      host = {k: f() for k, f in reads.items()}
      data = {d: (host[boxes[d]] if d in boxes else np.zeros(block, dtype))
              for d in devices}
      with sharding_lib.without_global_mesh():
        return broadcast_lib.broadcast(plan, tuple(shape), dtype, data,
                                       loading, self._where(l))
    return build

  def _sharding_metadata(self, l):
    text = self.shardings().get(l.param_name)
    if not text:
      return None
    try:
      return sharding_lib.sharding_metadata_from_json(text)
    except ValueError as e:
      logging.warning("%s: unreadable saved sharding (%s)", self._where(l), e)
      return None

  # ---------------------------------------------------------------------------
  def metadata_tree(self):
    arrays = [l.param_name for l in self.meta.leaves
              if l.value_type in _ARRAY_TYPES and not l.skip_deserialize]
    if arrays:
      self.store.prefetch_info(arrays)  # one native call for all of them
    values = {}
    for l in self.meta.leaves:
      vt = l.value_type
      if l.skip_deserialize or vt in tree_lib.EMPTY_TYPES:
        values[l.names] = tree_lib.empty_value(vt)
      elif vt == tree_lib.STRING:
        values[l.names] = "string"
      elif vt == tree_lib.SCALAR:
        info = self.store.info(l.param_name)
        values[l.names] = (False if info.dtype == np.bool_ else
                           0 if np.issubdtype(info.dtype, np.integer) else 0.0)
      else:
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
    if self.meta.value_metadata_tree:
      return tree_lib.build_rich_tree(self.meta.value_metadata_tree, values)
    return tree_lib.build_tree(self.meta.leaves, values)

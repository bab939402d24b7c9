# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""PyTreeHandler: PyTrees of arrays, scalars and strings, in Orbax's layout.

The handler flattens the tree and orchestrates a save (device-to-host
copies, the array writes, `_METADATA`, `_sharding`, `_strings.json`,
`array_metadatas`) and a load.  Each leaf kind has its handler in
`leaf_handlers` (jax.Array, np.ndarray, scalar, string, PRNG key); loading
is `pytree_loading.Loader`; the side files are `pytree_files`.

Example:
  >>> h = PyTreeHandler()
  >>> h.prepare_save(path, {"w": np.ones(3)})()  # doctest: +SKIP
  >>> h.load_now(path)  # doctest: +SKIP
  {'w': array([1., 1., 1.])}
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Mapping, Optional

import jax

from ocpx import _core
from ocpx._src import context as context_lib
from ocpx._src import blocking
from ocpx._src import engine
from ocpx._src import gc_pause
from ocpx._src import path as path_lib
from ocpx._src import saving_state
from ocpx._src import serialization
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib
from ocpx._src.handlers import leaf_handlers
from ocpx._src.handlers import pytree_files
from ocpx._src.handlers import pytree_loading
from ocpx._src.handlers import save_stream
from ocpx._src.handlers import types as handler_types
from ocpx._src.remote import hooks as _remote

# Names other modules use (the v0 handlers, the remote reader).
STRINGS_FILE = pytree_files.STRINGS_FILE
ARRAY_METADATAS_DIR = pytree_files.ARRAY_METADATAS_DIR
RANDOM_KEY_IMPL = pytree_files.RANDOM_KEY_IMPL
is_random_key_dtype = leaf_handlers.is_random_key_dtype
random_key_impl_name = leaf_handlers.random_key_impl_name
leaf_kind = leaf_handlers.leaf_kind
restore_type_of_abstract = leaf_handlers.restore_type_of_abstract
read_random_key_impls = pytree_files.read_random_key_impls
_read_or_infer_tree_metadata = pytree_files.read_or_infer_tree_metadata
_read_strings = pytree_files.read_strings
_lookup_string = pytree_files.lookup_string
_Loader = pytree_loading.Loader

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
      tree_lib.check_abstract(abstract_checkpointable)
    except Exception:  # pylint: disable=broad-except
      return False
    return True

  # -- save -----------------------------------------------------------------
  async def save(self, directory, checkpointable):
    """Blocking part: host copies.  Returns an awaitable for the rest."""
    work = self.prepare_save(directory, checkpointable)

    async def _background():
      return await blocking.run_blocking(work)

    return _background()

  def prepare_save(self, directory, tree, *, custom_metadata=None,
                   metadata_keys: Optional[Mapping[tuple, str]] = None,
                   replica_id: Any = "auto",
                   stream_writes: bool = False) -> "SaveWork":
    """Does the device-to-host copies now; returns the work doing the I/O.

    `custom_metadata` (JSON) is recorded in `_METADATA` (v0 `PyTreeSave`).
    `metadata_keys` ({leaf names: file name}, from v0 TypeHandlers'
    `metadata_key`) stores those leaves' zarr metadata under that name
    instead of `.zarray`; TensorStore supports it for zarr v2 only.
    `replica_id` is the replica whose shards this process writes (v0
    `ArrayHandler(replica_id=...)`; see `leaf_handlers.SaveEnv`); "auto":
    replica 0, or each shard's first replica when every process is primary.
    `stream_writes`: a blocking save whose directory exists may write its
    small arrays while the rest are planned (`save_stream`); the caller
    then calls the returned work, or its `abort()` if the save fails first.
    """
    with gc_pause.paused():  # the blocking phase: the caller waits for it
      return self._prepare_save(directory, tree,
                                custom_metadata=custom_metadata,
                                metadata_keys=metadata_keys,
                                replica_id=replica_id,
                                stream_writes=stream_writes)

  def _prepare_save(self, directory, tree, *, custom_metadata,
                    metadata_keys: Optional[Mapping[tuple, str]],
                    replica_id: Any, stream_writes: bool) -> "SaveWork":
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
    metadata_keys = dict(metadata_keys or {})
    for names, key in metadata_keys.items():
      try:
        _core.validate_metadata_key(key)
      except ValueError as e:
        raise ValueError(f"{dir_path}: leaf {'.'.join(names)!r}: {e}") from None
    if metadata_keys and saving.use_zarr3:
      names = next(iter(metadata_keys))
      raise ValueError(
          f"{dir_path}: leaf {'.'.join(names)!r}: a TypeHandler metadata_key "
          f"({metadata_keys[names]!r}) needs zarr v2 (use_zarr3=False): "
          "TensorStore's zarr3 driver has no metadata_key, so neither Orbax "
          "nor TensorStore could open the array.")
    process = jax.process_index()
    primary = ctx.multiprocessing_options.primary_host
    is_primary = primary is None or primary == process

    is_async = saving_state.is_async_save()
    memory = ctx.memory_options
    prioritized = memory.is_prioritized_key_fn
    plans: list[leaf_handlers.ArrayPlan] = []
    env = leaf_handlers.SaveEnv(
        saving=saving, primary_host=primary,
        copy_host_arrays=is_async and memory.deepcopy_host_arrays,
        replica_id=((0 if primary is not None else None)
                    if replica_id == "auto" else replica_id))
    strings: dict[str, str] = {}
    meta_leaves: list = []
    pinned = serialization.use_pinned_host(saving)
    mode = ctx.file_options.path_permission_mode
    target_size = saving.ocdbt_target_data_file_size
    use_rp = saving.use_replica_parallel
    separate_replicas = bool(
        saving.enable_replica_parallel_separate_folder and saving.use_ocdbt
        and (use_rp is None or use_rp))
    write_limiter = engine.make_limiter(memory.write_concurrent_bytes)
    transfer_limiter = engine.make_limiter(memory.transfer_concurrent_bytes)
    writers: dict[bool, Any] = {}
    writers_lock = threading.Lock()

    def writer_for(plan):
      # With enable_replica_parallel_separate_folder, replicated arrays go
      # to ocdbt.process_replica_<i> (as Orbax writes them).  Called from
      # the parallel writes: one session per database, made under a lock
      # (two sessions on one database would each commit only their keys).
      replica = separate_replicas and plan.replicated
      with writers_lock:
        if replica not in writers:
          writers[replica] = engine.ArrayWriteSession(
              wait(), process_index=process, use_ocdbt=saving.use_ocdbt,
              target_data_file_size=target_size,
              use_compression=saving.use_compression,
              use_zarr3=bool(saving.use_zarr3),
              chunk_checksums=bool(saving.enable_chunk_checksums),
              limiter=write_limiter, replica_folder=replica)
        return writers[replica]

    def by_writer(items):
      """[(plan, x)] -> [(writer, [x, ...])], in first-seen order."""
      groups: dict[int, tuple[Any, list]] = {}
      for plan, x in items:
        w = writer_for(plan)
        groups.setdefault(id(w), (w, []))[1].append(x)
      return list(groups.values())

    def small_writes(small_plans):
      """Plans whose boxes are small and on the host: a task per writer,
      each one native call whose arguments are converted here, before the
      tasks start."""
      items = [(p, (b, p.leaf.param_name, b.origin, b.host, p.global_shape,
                    p.dtype, p.chunk_shape))
               for p in small_plans for b in p.boxes]
      tasks = []
      for w, reqs in by_writer(items):
        if hasattr(w, "write_many_later"):
          call = w.write_many_later([r[1:] for r in reqs])
        else:  # remote sessions write box by box
          call = functools.partial(
              lambda w, reqs: [w.write(*r[1:]) for r in reqs], w, reqs)
        tasks.append(functools.partial(write_then_free, [call, reqs]))
      return tasks

    def write_then_free(held):
      """Runs held = [call, reqs], then drops both: the task (kept in the
      task list until every task is done) then refers to no host copy."""
      call, reqs = held
      held.clear()
      try:
        call()
      finally:
        for r in reqs:
          r[0].host = None  # free host copies once they are written
        reqs.clear()
        del call

    # A blocking save into a local directory that exists: small arrays are
    # written while the rest are planned.
    stream = None
    if (stream_writes and not is_async
        and not _remote.is_remote_path(dir_path)):
      stream = save_stream.SmallWriteStream(small_writes, pinned=pinned)

    def abort():
      """The save failed before (or while) its work ran: waits for the
      streamed writes and closes the data files (the exception may live on
      in an AsyncResponse, and open files keep their disk space)."""
      if stream is not None:
        stream.abort()
      with writers_lock:
        for w in writers.values():
          w.close()

    try:
      self._plan(leaves, dir_path, env, plans, meta_leaves, strings,
                 prioritized, saving, stream)
      if stream is not None:
        stream.finish_planning()  # what was not streamed is written below
      # Device-to-host for every non-deferred jax.Array not streamed, all
      # copies started before any is awaited.  Async saves copy (the caller
      # may delete or donate the arrays once save_async returns); blocking
      # saves use zero-copy views where the backend allows.
      serialization.transfer_plans(
          [p for p in plans if p.kind == tree_lib.JAX_ARRAY
           and not p.deferred and not p.streamed],
          copy=is_async, pinned=pinned)

      rich = None
      if ctx.pytree_options.saving.pytree_metadata_options.support_rich_types:
        rich = tree_lib.rich_tree_json(tree,
                                       {l.names: l for l in meta_leaves})
      tree_meta = tree_lib.TreeMetadata(
          leaves=meta_leaves, use_ocdbt=saving.use_ocdbt,
          use_zarr3=bool(saving.use_zarr3),
          store_array_data_equal_to_fill_value=True,
          custom_metadata=custom_metadata, value_metadata_tree=rich)
    except BaseException:
      abort()
      raise
    # The metadata files are made and written during the array writes (next
    # to the native encoding, which holds no GIL), and their texts dropped
    # at once rather than held to the end: the directory is not a checkpoint
    # until it is committed, whatever order its files appear in.
    jax_plans = [p for p in plans if p.kind == tree_lib.JAX_ARRAY]

    def write_metadata():
      write(dir_path / tree_lib.METADATA_FILE, tree_meta.to_json())

    def write_sharding():
      text = sharding_lib.sharding_file_text(
          {p.leaf.param_name: p.sharding_json
           for p in jax_plans if p.sharding_json})
      if text is not None:
        write(dir_path / sharding_lib.SHARDING_FILE, text)

    def write_array_metadatas():
      md_dir = dir_path / pytree_files.ARRAY_METADATAS_DIR
      path_lib.mkdir(md_dir, mode)
      write(md_dir / f"process_{process}", pytree_files.array_metadatas_json(
          [{"param_name": p.leaf.param_name, "write_shape": p.write_shape,
            "chunk_shape": p.chunk_shape,
            "random_key_impl": p.random_key_impl} for p in jax_plans]))

    text_tasks = []
    if is_primary:  # the tree's files; each process has its array metadatas
      text_tasks.append(write_metadata)
      if saving.enable_write_sharding_file:
        text_tasks.append(write_sharding)
    if jax_plans and saving.array_metadata_store is not None:
      text_tasks.append(write_array_metadatas)
    validated_names = ([p.leaf.param_name for p in plans]
                       if saving.enable_post_merge_validation else [])

    def write_arrays():
      writes_zarr_json = [
          p for p in plans
          if (p.kind == tree_lib.JAX_ARRAY and is_primary)
          or (p.kind != tree_lib.JAX_ARRAY and process == 0)]
      creates = [(plan, (plan.leaf.param_name, plan.global_shape,
                         plan.dtype, plan.chunk_shape,
                         metadata_keys.get(plan.leaf.names)))
                 for plan in writes_zarr_json]

      create_groups = by_writer(creates)

      def create_all():
        for w, reqs in create_groups:
          if hasattr(w, "create_many"):
            w.create_many(reqs)
          else:
            for param, shape, dtype, chunk, key in reqs:
              w.create(param, shape, dtype, chunk, metadata_key=key)

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

      # Boxes below _BATCHED_BOX_BYTES that are already on the host go in
      # one native call per writer (per-call overhead dominates them); the
      # rest, and deferred arrays, one call each on a few threads, next to
      # the batch.  Streamed arrays are written already (or being written).
      small, large = [], []
      for p in plans:
        if p.streamed or (p.kind != tree_lib.JAX_ARRAY and process != 0):
          continue
        if (not p.deferred and all(b.host is not None for b in p.boxes)
            and _all_small(p)):
          small.append(p)
        else:
          large.append(p)
      large.sort(key=lambda p: p.deferred)  # deferred arrays last
      # The chunks, the arrays' metadata and the metadata files' texts are
      # independent: the native calls release the GIL, so they overlap.
      # The chunks (the most work) start first.
      if not all(hasattr(w, "create_many") for w, _ in create_groups):
        create_all()  # remote sessions batch the metadata with the first writes
        create_groups.clear()
      # The pool runs tasks in list order on a few threads: the metadata
      # goes before the large arrays, so that it runs beside their encoding
      # rather than after it.
      tasks = small_writes(small) if small else []
      del small  # the tasks hold the small boxes, and drop them when written
      if create_groups:
        tasks.append(create_all)  # local stores: keys in any order
      tasks.extend(text_tasks)
      tasks.extend(functools.partial(write_plan, p) for p in large)
      if len(plans) < _PARALLEL_MIN_ARRAYS and not large:
        for task in tasks:  # a few small arrays: threads would cost more
          task()
      else:
        engine.run_parallel(lambda task: task(), tasks)

    def run():
      wait()
      try:
        write_arrays()
        if stream is not None:
          stream.wait()
        # Written: what the commit and the merge need no longer is (4096
        # leaves' plans and metadata are some megabytes).
        plans.clear()
        jax_plans.clear()
        meta_leaves.clear()
        for w in writers.values():
          w.commit()
      except BaseException:
        abort()
        raise
      return saving_state.Finalize(finalize)

    def write(p, text):
      path_lib.write_file_durably(p, text, None)

    def finalize():
      """On the primary, after every process has written its database."""
      if saving.use_ocdbt:
        engine.merge(dir_path)
        if saving.enable_post_merge_validation:
          _validate_merged(dir_path, validated_names,
                           tuple(dict.fromkeys(metadata_keys.values())))
      if strings:
        write(dir_path / pytree_files.STRINGS_FILE,
              pytree_files.strings_json(strings, dir_path))

    return SaveWork(run, abort)

  def _plan(self, leaves, dir_path, env, plans, meta_leaves, strings,
            prioritized, saving, stream) -> None:
    """Plans every leaf's save into `plans`, `meta_leaves` and `strings`;
    hands the small arrays to `stream` (if any) as they are planned."""
    process = jax.process_index()
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
      plan = leaf_handlers.plan_save(leaf, v, env)
      if kind == tree_lib.JAX_ARRAY:
        plan.deferred = (prioritized is not None
                         and not prioritized(leaf.keypath))
      plans.append(plan)
      meta_leaves.append(tree_lib.LeafMetadata(
          leaf.names, leaf.key_types, kind,
          write_shape=(list(plan.write_shape)
                       if kind == tree_lib.JAX_ARRAY
                       and saving.array_metadata_store is not None else None)))
      if (stream is not None and not plan.deferred and _all_small(plan)
          and (kind == tree_lib.JAX_ARRAY
               or (process == 0
                   and all(b.host is not None for b in plan.boxes)))):
        stream.add(plan)

  # -- load -----------------------------------------------------------------
  async def load(self, directory, abstract_checkpointable=None):
    work = self.prepare_load(directory, abstract_checkpointable)

    async def _background():
      return await blocking.run_blocking(work)

    return _background()

  def prepare_load(self, directory, abstract=None):
    dir_path = path_lib.as_path(getattr(directory, "path", directory))
    ctx = self.context
    meta = pytree_files.read_or_infer_tree_metadata(dir_path)
    mesh = sharding_lib.active_global_mesh()  # the caller's, not the worker's
    return lambda: pytree_loading.Loader(dir_path, meta, ctx, mesh).load(
        abstract)

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
    return pytree_loading.Loader(dir_path, meta, self.context).metadata_tree()


PyTreeHandler._orbax_typestr = {"cls": PyTreeHandler,
                                "typestr": _ORBAX_PYTREE_TYPESTR}
SECONDARY_TYPESTRS = _SECONDARY_TYPESTRS


class SaveWork:
  """What `PyTreeHandler.prepare_save` returns: call it to write the save
  (it returns the `Finalize` the primary runs after every process wrote),
  or `abort()` it if the save fails before it is called.  Once called,
  `abort()` does nothing (the call cleans up after its own failure)."""

  def __init__(self, run: Any, abort: Any):
    self._run = run
    self._abort: Any = abort

  def __call__(self) -> Any:
    self._abort = None
    return self._run()

  def abort(self) -> None:
    """Waits for writes already started and closes the data files."""
    abort, self._abort = self._abort, None
    if abort is not None:
      abort()


def _all_small(plan) -> bool:
  return all(b.nbytes < _BATCHED_BOX_BYTES for b in plan.boxes)


# Boxes smaller than this that are on the host when the writes start are
# written in one native call (see `write_arrays`).
_BATCHED_BOX_BYTES = 4 << 20
# Saves of fewer arrays than this, all small, write them on the calling
# thread (starting a thread pool costs more than it saves).
_PARALLEL_MIN_ARRAYS = 64


def _validate_merged(dir_path, params, metadata_keys=()) -> None:
  """`enable_post_merge_validation`: every array written is in the merged
  database, with its metadata file (under one of `metadata_keys` or the
  standard names); raises ValueError naming those that are not (the save
  then fails and nothing is committed).  As Orbax's check, this lists the
  merged keys; it does not parse each array's metadata again (the writer
  produced it a moment ago)."""
  if not params:
    return
  store = engine.ArrayStore(dir_path, use_ocdbt=True,
                            metadata_keys=metadata_keys)
  present = set(store.list_params())
  missing = sorted(p for p in params if p not in present)
  if missing:
    raise ValueError(
        f"{dir_path}: post-merge validation failed: the merged OCDBT "
        f"database lacks arrays {missing[:20]}.")

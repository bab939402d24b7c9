# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""PyTreeCheckpointHandler: PyTrees of arrays, scalars and strings.

The v0 layer only translates arguments: every array goes through the same
native engine as `ocpx.v1` (the v1 `PyTreeHandler`'s save plan and loader),
configured by a v1 `Context` built from this handler's options.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import re
import threading
from typing import Any, Callable, List, Optional, Sequence

import jax
import numpy as np

from ocpx._src import gc_pause
from ocpx._src import context as context_lib
from ocpx._src import layout
from ocpx._src import options as v1_options
from ocpx._src import path as path_lib
from ocpx._src import saving_state
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib
from ocpx._src.handlers import pytree_handler as v1_pytree
from ocpx._src.metadata_types import NumpyMetadata
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import engine_caps
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import metadata as metadata_lib
from ocpx._src.v0 import msgpack_aggregate
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0 import transform_utils
from ocpx._src.v0 import type_handler_registry as th_registry
from ocpx._src.v0 import type_handlers
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import typestrs

PyTree = Any
LegacyTransformFn = Callable[[PyTree, PyTree, PyTree], tuple[PyTree, PyTree]]
PYTREE_METADATA_FILE = tree_lib.METADATA_FILE
_GB = 10 ** 9

# True while a synchronous `save` runs: host buffers may then alias the
# caller's arrays (no copy), since nothing runs after `save` returns.
_SYNC_SAVE = contextvars.ContextVar("ocpx_v0_sync_save", default=False)


@contextlib.contextmanager
def synchronous_save():
  token = _SYNC_SAVE.set(True)
  try:
    yield
  finally:
    _SYNC_SAVE.reset(token)


GLOBAL_TYPE_HANDLER_REGISTRY = th_registry.GLOBAL_TYPE_HANDLER_REGISTRY


class _DefaultValidator:
  """Checks the per-process `array_metadatas` files agree (the default)."""

  def __repr__(self):
    return "ocpx default array metadata validator"


DEFAULT_ARRAY_METADATA_VALIDATOR = _DefaultValidator()


def _path_of(directory) -> Any:
  if isinstance(directory, path_lib.PathAwaitingCreation):
    return directory
  p = getattr(directory, "path", None)
  if p is not None and hasattr(directory, "await_creation"):
    return path_lib.as_path(p)
  return path_lib.as_path(directory)


def _key(directory) -> str:
  p = directory.path if isinstance(directory,
                                   path_lib.PathAwaitingCreation) else directory
  return str(path_lib.as_path(p).absolute())


class _NamesTree(dict):
  """Restore args already keyed by name tuples."""


def _names_map(tree, leaf_cls) -> dict:
  """{names: leaf} of a tree whose leaves are `leaf_cls` instances."""
  if tree is None:
    return {}
  if isinstance(tree, _NamesTree):
    return dict(tree)
  pairs, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: isinstance(x, leaf_cls))
  out = {}
  for path, v in pairs:
    if isinstance(v, leaf_cls):
      out[tuple(tree_lib.key_name_and_type(k)[0] for k in path)] = v
  return out


def _lookup_prefix(mapping: dict, names: tuple):
  for k in range(len(names), -1, -1):
    got = mapping.get(names[:k])
    if got is not None:
      return got
  return None


class PyTreeCheckpointHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Saves and restores PyTrees of jax.Array, np.ndarray, scalars and str.

  Each array is a zarr array (zarr3 or zarr2, `use_zarr3`) inside an OCDBT
  database (`use_ocdbt`), with `_METADATA` describing the tree, exactly as
  Orbax's PyTreeCheckpointHandler writes them.

  Example:
    ckptr = ocp.Checkpointer(ocp.PyTreeCheckpointHandler())
    ckptr.save(path, args=ocp.args.PyTreeSave(tree))
    restored = ckptr.restore(path, args=ocp.args.PyTreeRestore(
        restore_args=jax.tree.map(lambda _: ocp.RestoreArgs(), tree)))
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("pytree_checkpoint_handler",
                                          "PyTreeCheckpointHandler")

  def __init__(
      self,
      aggregate_filename: Optional[str] = None,
      *,
      save_concurrent_gb: Optional[int] = None,
      restore_concurrent_gb: Optional[int] = None,
      save_device_host_concurrent_gb: int | str | None = None,
      memory_limit_options: options_lib.MemoryLimitOptions | None = None,
      use_ocdbt: bool = True,
      use_zarr3: bool = False,
      use_compression: bool = True,
      multiprocessing_options: options_lib.MultiprocessingOptions = (
          options_lib.MultiprocessingOptions()),
      type_handler_registry: Any = GLOBAL_TYPE_HANDLER_REGISTRY,
      handler_impl: Any = None,
      pytree_metadata_options: options_lib.PyTreeMetadataOptions = (
          options_lib.PyTreeMetadataOptions()),
      array_metadata_validator: Any = DEFAULT_ARRAY_METADATA_VALIDATOR,
      enable_pinned_host_transfer: Optional[bool] = None,
      is_prioritized_key_fn: Optional[Callable[[Any], bool]] = None,
  ):
    if not callable(getattr(type_handler_registry, "get", None)):
      raise TypeError(
          "type_handler_registry must be a TypeHandlerRegistry (e.g. "
          "ocp.type_handlers.create_type_handler_registry(...)), got "
          f"{type_handler_registry!r}")
    if handler_impl is not None:
      raise NotImplementedError(
          "PyTreeCheckpointHandler(handler_impl=...) is not supported by "
          "ocpx; the native engine is the implementation.")
    if array_metadata_validator is not DEFAULT_ARRAY_METADATA_VALIDATOR:
      raise NotImplementedError(
          "PyTreeCheckpointHandler(array_metadata_validator=...): custom "
          "validators are not supported by ocpx.")
    for name, v in (("save_concurrent_gb", save_concurrent_gb),
                    ("restore_concurrent_gb", restore_concurrent_gb)):
      if v is not None and v <= 0:
        raise ValueError(f"{name} must be positive, got {v}")
    transfer_gb = save_device_host_concurrent_gb
    if transfer_gb == "auto":
      transfer_gb = (memory_limit_options.max_transfer_concurrent_gb
                     if memory_limit_options is not None else None)
      if transfer_gb is None:
        raise ValueError(
            'save_device_host_concurrent_gb="auto" requires '
            "memory_limit_options.max_transfer_concurrent_gb.")
    elif isinstance(transfer_gb, str):
      raise ValueError(
          "save_device_host_concurrent_gb must be a number, None or 'auto', "
          f"got {transfer_gb!r}")
    if transfer_gb is not None and transfer_gb <= 0:
      raise ValueError(
          f"save_device_host_concurrent_gb must be positive, got {transfer_gb}")
    self._aggregate_filename = aggregate_filename or "checkpoint"
    self._save_concurrent_gb = save_concurrent_gb
    self._restore_concurrent_gb = restore_concurrent_gb
    self._transfer_gb = transfer_gb
    self._use_ocdbt = use_ocdbt
    self._use_zarr3 = use_zarr3
    self._use_compression = use_compression
    self._multiprocessing_options = (multiprocessing_options
                                     or options_lib.MultiprocessingOptions())
    self._pytree_metadata_options = pytree_metadata_options
    self._enable_pinned_host_transfer = enable_pinned_host_transfer
    self._is_prioritized_key_fn = is_prioritized_key_fn
    self._type_handler_registry = type_handler_registry
    self._pending: dict[str, Any] = {}
    self._lock = threading.Lock()

  # -- configuration ------------------------------------------------------------
  def _memory_options(self) -> v1_options.MemoryOptions:
    def b(gb):
      return None if gb is None else int(gb * _GB)
    return v1_options.MemoryOptions(
        write_concurrent_bytes=b(self._save_concurrent_gb),
        read_concurrent_bytes=b(self._restore_concurrent_gb),
        transfer_concurrent_bytes=b(self._transfer_gb),
        is_prioritized_key_fn=self._is_prioritized_key_fn)

  def _context(self, *, saving=None, loading=None) -> context_lib.Context:
    return context_lib.Context(
        array_options=v1_options.ArrayOptions(
            saving=saving or v1_options.ArrayOptions.Saving(),
            loading=loading or v1_options.ArrayOptions.Loading()),
        multiprocessing_options=options_lib.v1_multiprocessing(
            self._multiprocessing_options),
        memory_options=self._memory_options(),
        pytree_options=v1_options.PyTreeOptions(
            saving=v1_options.PyTreeOptions.Saving(
                pytree_metadata_options=self._pytree_metadata_options)))

  def _saving_options(self, save_args, target_size, *, use_ocdbt=None,
                      use_zarr3=None) -> v1_options.ArrayOptions.Saving:
    # SaveArgs.aggregate is deprecated and ignored, as in Orbax 0.12.8 (it
    # warned when the SaveArgs was made): the leaf is saved as any other.
    per_leaf = _names_map(save_args, type_handlers.SaveArgs)
    creator = None
    if per_leaf:
      storage_cls = v1_options.ArrayOptions.Saving.StorageOptions

      def creator(keypath, value):
        del value
        names = tuple(tree_lib.key_name_and_type(k)[0] for k in keypath)
        sa = _lookup_prefix(per_leaf, names)
        if sa is None:
          return None
        return storage_cls(dtype=sa.dtype, chunk_byte_size=sa.chunk_byte_size,
                           shard_axes=tuple(sa.shard_axes) or None)
    zarr3 = self._use_zarr3 if use_zarr3 is None else use_zarr3
    # Orbax configures these through its registry's ArrayHandler (looked up
    # at save time, as Orbax does); ocpx's ArrayHandler carries the same
    # settings to the engine.
    ah = _registered_array_handler(self._type_handler_registry)
    return v1_options.ArrayOptions.Saving(
        use_ocdbt=self._use_ocdbt if use_ocdbt is None else use_ocdbt,
        use_zarr3=engine_caps.zarr3_for(zarr3),
        use_compression=self._use_compression,
        ocdbt_target_data_file_size=target_size,
        enable_pinned_host_transfer=self._enable_pinned_host_transfer,
        enable_write_sharding_file=(ah is None
                                    or ah.enable_write_sharding_file),
        array_metadata_store=(
            True if ah is None or ah._array_metadata_store is not None  # pylint: disable=protected-access
            else None),
        use_replica_parallel=None if ah is None else ah.use_replica_parallel,
        min_slice_bytes_for_replica_parallel=(
            None if ah is None else ah.min_slice_bytes_for_replica_parallel),
        max_replicas_for_replica_parallel=(
            None if ah is None else ah.max_replicas_for_replica_parallel),
        enable_replica_parallel_separate_folder=(
            ah is not None and ah.enable_replica_parallel_separate_folder),
        scoped_storage_options_creator=creator)

  def _replica_id(self, directory) -> Any:
    """The replica this process writes, from the registry's ArrayHandler
    (Orbax's `primary_host` / `replica_id` of ArrayHandler)."""
    ah = _registered_array_handler(self._type_handler_registry)
    if ah is None or (ah.primary_host == 0 and ah.replica_id == 0):
      return "auto"  # the defaults: follow the MultiprocessingOptions
    primary = self._multiprocessing_options.primary_host
    if ah.primary_host != primary:
      raise NotImplementedError(
          f"{directory}: ArrayHandler(primary_host={ah.primary_host!r}) "
          f"differs from the checkpoint handler's MultiprocessingOptions("
          f"primary_host={primary!r}); ocpx writes metadata from one primary "
          "host: set the same value in both.")
    return ah.replica_id

  # -- save -----------------------------------------------------------------
  async def async_save(self, directory, item: Optional[PyTree] = None,
                       save_args: Optional[PyTree] = None,
                       args: Optional["PyTreeSaveArgs"] = None
                       ) -> Optional[List[future_lib.Future]]:
    """Copies device arrays to host now; returns a future writing them."""
    args = _save_args(item, save_args, args)
    return [self.start_save(directory, args)]

  def start_save(self, directory, args: "PyTreeSaveArgs", *, use_ocdbt=None,
                 use_zarr3=None) -> future_lib.Future:
    """The blocking phase of a save; returns the future of the rest."""
    directory = _path_of(directory)
    if args.item is None or not jax.tree_util.tree_leaves(
        args.item, is_leaf=tree_lib.is_empty_leaf) or _is_empty_root(
            args.item):
      raise ValueError(f"{_key(directory)}: Found empty item: {args.item!r}; "
                       "there is nothing to save.")
    _validate_custom_metadata(args.custom_metadata, directory)
    saving = self._saving_options(args.save_args,
                                  args.ocdbt_target_data_file_size,
                                  use_ocdbt=use_ocdbt, use_zarr3=use_zarr3)
    key = _key(directory)
    item, handler_futures, used = args.item, [], []
    metadata_keys: dict = {}
    if th_registry.is_pristine(self._type_handler_registry):
      _check_leaf_types(args.item, directory)
    else:
      item, handler_futures, used, metadata_keys = (
          self._serialize_with_handlers(directory, args.item, args.save_args,
                                        saving))
    ctx = self._context(saving=saving)
    engine_handler = v1_pytree.PyTreeHandler(context=ctx)
    # Typed PRNG keys are stored by the engine (key data + implementation
    # name in array_metadatas), as Orbax stores them.
    # A blocking save (`Checkpointer.save`) writes its small arrays while it
    # plans the rest; `background` below runs the work at once.
    sync = _SYNC_SAVE.get()
    with ctx, saving_state.async_save(not sync):
      run = engine_handler.prepare_save(directory, item,
                                        custom_metadata=args.custom_metadata,
                                        metadata_keys=metadata_keys,
                                        replica_id=self._replica_id(key),
                                        stream_writes=sync)

    def background():
      with ctx:
        finalize = run()
      for f in handler_futures:  # the custom TypeHandlers' own writes
        f.result()
      with self._lock:
        self._pending[key] = (finalize, used)
    try:
      return future_lib.ThreadFuture(background, name="ocpx-v0-pytree-save")
    except BaseException:
      run.abort()  # no thread: the work never runs
      raise

  def _serialize_with_handlers(self, directory, item, save_args, saving):
    """Runs the registry's TypeHandlers over the leaves of `item`.

    Returns (the tree for the engine, the handlers' futures, the custom
    handlers used, {leaf names: zarr metadata file name} of leaves whose
    handler has a `metadata_key`).  Leaves of the built-in handlers (or of
    subclasses that pass values on with `super().serialize`) stay in the
    tree for the engine; a leaf written by a handler of its own becomes an
    ExternalLeaf recorded in `_METADATA` under the handler's typestr.
    """
    registry = self._type_handler_registry
    if isinstance(directory, path_lib.PathAwaitingCreation):
      dir_path = directory.wait()
    else:
      dir_path = path_lib.as_path(directory)
    leaves, treedef = tree_lib.flatten(item)
    values = [l.value for l in leaves]
    groups: dict[int, tuple[Any, list[int]]] = {}
    metadata_keys: dict = {}
    for i, l in enumerate(leaves):
      v = l.value
      if tree_lib.is_empty_leaf(v) or v is type_handlers.PLACEHOLDER:
        continue
      try:
        h = registry.get(type(v))
      except ValueError:
        raise ValueError(
            f"{dir_path}: TypeHandler lookup failed for: type={type(v)}, "
            f"leaf {jax.tree_util.keystr(l.keypath)}; register a "
            "TypeHandler for it.") from None
      if th_registry.is_engine_handler(h, "serialize"):
        if v_pytree_kind(v) is None:
          raise ValueError(
              f"{dir_path}: leaf {jax.tree_util.keystr(l.keypath)}: "
              f"{type(h).__name__} cannot store {type(v)}.")
        key = getattr(h, "_metadata_key", None)
        if key is not None:
          metadata_keys[l.names] = key
        continue
      groups.setdefault(id(h), (h, []))[1].append(i)
    if not groups:
      return item, [], [], metadata_keys
    per_leaf = _names_map(save_args, type_handlers.SaveArgs)
    collector = th_registry.Collected()
    futures: list = []
    used = []
    with th_registry.collecting(collector):
      for h, idx in groups.values():
        infos = [self._param_info(dir_path, leaves[i], saving, h.typestr())
                 for i in idx]
        sargs = [_lookup_prefix(per_leaf, leaves[i].names)
                 or type_handlers.SaveArgs() for i in idx]
        got = checkpoint_handler.run_async(
            h.serialize([values[i] for i in idx], infos, sargs))
        futures.extend(got or [])
        used.append(h)
        for i in idx:
          if leaves[i].names in collector.values:  # passed on to the engine
            v = collector.values.pop(leaves[i].names)
            if v_pytree_kind(v) is None:
              raise ValueError(
                  f"{dir_path}: leaf {jax.tree_util.keystr(leaves[i].keypath)}"
                  f": {type(h).__name__} passed on a {type(v)}, which the "
                  "engine cannot store.")
            values[i] = v
          else:
            values[i] = tree_lib.ExternalLeaf(h.typestr())
    metadata_keys.update(collector.metadata_keys)
    return (jax.tree_util.tree_unflatten(treedef, values), futures, used,
            metadata_keys)

  @staticmethod
  def _param_info(dir_path, leaf, saving, typestr, *, skip=None):
    return th_registry.ParamInfo(
        name=leaf.param_name if hasattr(leaf, "param_name") else ".".join(
            leaf.names),
        keypath=getattr(leaf, "keypath", None) or tuple(leaf.names),
        parent_dir=dir_path,
        path=dir_path / (leaf.param_name if hasattr(leaf, "param_name")
                         else ".".join(leaf.names)),
        skip_deserialize=skip,
        is_ocdbt_checkpoint=saving.use_ocdbt if saving is not None else None,
        use_zarr3=saving.use_zarr3 if saving is not None else None,
        value_typestr=typestr)

  def save(self, directory, item: Optional[PyTree] = None,
           save_args: Optional[PyTree] = None,
           args: Optional["PyTreeSaveArgs"] = None):
    """Saves and waits; single-process saves are finalized as well."""
    args = _save_args(item, save_args, args)
    with synchronous_save():
      f = self.start_save(directory, args)
    f.result()
    if jax.process_count() == 1:
      self.finalize(directory)

  def finalize(self, directory) -> None:
    """Merges the per-process databases and writes `_METADATA`."""
    with self._lock:
      pending = self._pending.pop(_key(directory), None)
    if pending is not None:
      finalize, used = pending
      finalize()
      for h in used:
        h.finalize(path_lib.as_path(getattr(directory, "path", directory)))

  # -- restore ----------------------------------------------------------------
  def restore(self, directory, item: Optional[PyTree] = None,
              restore_args: Optional[PyTree] = None,
              transforms: Optional[PyTree] = None,
              transforms_default_to_original: bool = True,
              legacy_transform_fn: Optional[LegacyTransformFn] = None,
              args: Optional["PyTreeRestoreArgs"] = None) -> PyTree:
    """Restores the PyTree saved in `directory`.

    Without `item`/`restore_args` every leaf comes back as saved (jax.Array
    leaves on their saved sharding).  `restore_args` (a tree of RestoreArgs /
    ArrayRestoreArgs) chooses per-leaf types, dtypes, shapes and shardings;
    `item` gives the structure of the result.
    """
    if isinstance(item, checkpoint_args.CheckpointArgs):
      raise ValueError("Make sure to specify kwarg name `args=` when "
                       "providing `PyTreeRestoreArgs`.")
    if args is None:
      args = PyTreeRestoreArgs(item, restore_args, transforms,
                               transforms_default_to_original,
                               legacy_transform_fn)
    dir_path = path_lib.as_path(directory)
    if not dir_path.exists():
      raise FileNotFoundError(
          f"Requested directory for restore does not exist at {dir_path}")
    if args.legacy_transform_fn is not None:
      return self._restore_legacy_transform(dir_path, args)
    if args.transforms is not None:
      return self._restore_transformed(dir_path, args)
    return self.restore_tree(dir_path, args.item, args.restore_args,
                             partial_restore=args.partial_restore)

  def restore_tree(self, dir_path, item, restore_args, *,
                   partial_restore: bool = False, use_item_types=False,
                   fallback_sharding=None, support_layout=False,
                   strict: bool = True, read_aggregate: bool = True,
                   metadata_keys: Optional[Sequence[str]] = None,
                   skip: Optional[set] = None):
    """Restores with `item` as structure and per-leaf `restore_args`.

    With `use_item_types` (StandardCheckpointHandler), leaves of `item`
    (arrays, ShapeDtypeStructs, scalars) also choose type, shape, dtype and
    sharding when no RestoreArgs is given.  Values kept in a legacy msgpack
    aggregate file (`aggregate_filename`) are read from it.  Arrays' zarr
    metadata is also looked for under `metadata_keys` (default: the
    `metadata_key`s of the registry's built-in handlers).  Without `item`,
    leaves whose names are in `skip` are not read (PLACEHOLDER in the tree).
    """
    with gc_pause.paused():  # the caller waits for all of it
      return self._restore_tree(
          dir_path, item, restore_args, partial_restore=partial_restore,
          use_item_types=use_item_types, fallback_sharding=fallback_sharding,
          support_layout=support_layout, strict=strict,
          read_aggregate=read_aggregate, metadata_keys=metadata_keys,
          skip=skip or set())

  def _restore_tree(self, dir_path, item, restore_args, *, partial_restore,
                    use_item_types, fallback_sharding, support_layout, strict,
                    read_aggregate, metadata_keys, skip):
    dir_path = resolve_pytree_dir(dir_path)
    if read_aggregate:
      aggregate = self._read_aggregate(dir_path)
      if aggregate is not None:
        return self._restore_with_aggregate(
            dir_path, aggregate, item, restore_args,
            partial_restore=partial_restore)
    meta = v1_pytree._read_or_infer_tree_metadata(dir_path)  # pylint: disable=protected-access
    loading = v1_options.ArrayOptions.Loading(
        enable_padding_and_truncation=True,
        raise_array_data_missing_error=bool(
            meta.store_array_data_equal_to_fill_value))
    ctx = self._context(loading=loading)
    loader = v1_pytree._Loader(  # pylint: disable=protected-access
        dir_path, meta, ctx,
        array_metadata_keys=self._metadata_keys(metadata_keys))
    by_names = {l.names: l for l in meta.leaves}
    ra_map = _names_map(restore_args, type_handlers.RestoreArgs)
    if item is None and restore_args is not None and not ra_map:
      ra_map = {}
    post: dict[int, Any] = {}
    if item is None:
      wanted = [(l.names, type_handlers.PLACEHOLDER if l.names in skip
                 else None) for l in meta.leaves]
      treedef = None
    else:
      item_leaves, treedef = tree_lib.flatten(item)
      wanted = [(leaf.names, leaf.value) for leaf in item_leaves]
      if not partial_restore:
        have = {n for n, _ in wanted}
        missing = [".".join(n) or "<root>" for n in by_names if n not in have]
        extra = [".".join(n) or "<root>" for n, v in wanted
                 if n not in by_names and v is not type_handlers.PLACEHOLDER]
        if missing or extra:
          raise ValueError(
              f"{dir_path}: User-provided restore item and on-disk value "
              f"metadata tree structures do not match: missing from item: "
              f"{missing[:20]}, not in checkpoint: {extra[:20]}. If this "
              "mismatch is intentional, pass `partial_restore=True` to only "
              "restore parameters found in `item`.")
    arrays = [l.param_name for l in meta.leaves
              if l.value_type in (tree_lib.JAX_ARRAY, tree_lib.NP_ARRAY,
                                  tree_lib.SCALAR)
              and not l.skip_deserialize and l.names not in skip]
    if arrays:
      loader.store.prefetch_info(arrays)
    # The loader's copy: read once per restore (the engine needs it too).
    key_impls = loader.random_key_impls()
    jobs: list[Any] = []
    registry = self._type_handler_registry
    custom = not th_registry.is_pristine(registry)
    by_handler: dict[int, tuple[Any, list]] = {}
    for i, (names, value) in enumerate(wanted):
      if value is type_handlers.PLACEHOLDER:
        jobs.append(None)
        continue
      l = by_names.get(names)
      if custom and l is not None and not (
          item is not None and value is None
          and l.value_type not in tree_lib.EMPTY_TYPES):
        h = self._restore_handler(dir_path, l, ra_map)
        if h is not None:
          by_handler.setdefault(id(h), (h, []))[1].append((i, l))
          jobs.append(None)
          continue
      if item is not None and (l is None or (
          value is None and l.value_type not in tree_lib.EMPTY_TYPES)):
        # partial_restore: a key the checkpoint lacks keeps the item's value;
        # None in the item masks a saved leaf (it is not read).
        post[i] = _Keep(value)
        jobs.append(None)
        continue
      if l is None:
        raise KeyError(f"{dir_path}: no saved leaf {'.'.join(names)!r}")
      if (l.value_type in tree_lib.EMPTY_TYPES and value is not None
          and tree_lib.is_empty_leaf(value)):
        post[i] = _Keep(value)  # e.g. optax.EmptyState(): keep its type
        jobs.append((l, None))
        continue
      ra = _lookup_prefix(ra_map, names) if ra_map else None
      impl = key_impls.get(l.param_name)
      abstract, fmt = self._abstract_for(
          dir_path, loader, l, value, ra, use_item_types=use_item_types,
          fallback_sharding=fallback_sharding, support_layout=support_layout,
          strict=strict)
      if impl is not None:
        post[i] = _WrapKey(impl, fmt)
      elif fmt is not None:
        post[i] = fmt
      jobs.append((l, abstract))
    values = loader._restore_all(jobs)  # pylint: disable=protected-access
    for h, entries in by_handler.values():
      infos = [self._param_info(dir_path, l, None, l.value_type,
                                skip=l.skip_deserialize) for _, l in entries]
      for info in infos:
        info.is_ocdbt_checkpoint = meta.use_ocdbt
      ras = [_lookup_prefix(ra_map, l.names) if ra_map else None
             for _, l in entries]
      got = checkpoint_handler.run_async(h.deserialize(infos, ras))
      for (i, _), v in zip(entries, got):
        values[i] = v
    for i, fmt in post.items():
      if isinstance(fmt, _Keep):
        values[i] = fmt.value
      elif isinstance(fmt, _WrapKey):
        # Restore args that asked for the key's data type still get a key.
        v = values[i]
        if fmt.format is not None:
          v = jax.device_put(v, fmt.format)
        if not v1_pytree.is_random_key_dtype(v.dtype):
          v = jax.random.wrap_key_data(v, impl=fmt.impl)
        values[i] = v
      else:
        values[i] = jax.device_put(values[i], fmt)
    if treedef is not None:
      return jax.tree_util.tree_unflatten(treedef, values)
    by = {names: v for (names, _), v in zip(wanted, values)}
    if meta.value_metadata_tree:
      return tree_lib.build_rich_tree(meta.value_metadata_tree, by)
    return tree_lib.build_tree(meta.leaves, by)

  def _restore_handler(self, dir_path, l, ra_map):
    """The custom TypeHandler that restores leaf `l`, or None for the
    engine (chosen by the RestoreArgs' restore_type, else by the typestr
    recorded in `_METADATA`, as in Orbax)."""
    if l.value_type in tree_lib.EMPTY_TYPES:
      return None
    registry = self._type_handler_registry
    ra = _lookup_prefix(ra_map, l.names) if ra_map else None
    rtype = getattr(ra, "restore_type", None)
    h = None
    if rtype is not None and not isinstance(ra, type_handlers.ArrayRestoreArgs):
      try:
        h = registry.get(rtype)
      except ValueError:
        h = None
    if h is None and registry.has(l.value_type):
      h = registry.get(l.value_type)
    if h is None:
      if l.value_type in (tree_lib.JAX_ARRAY, tree_lib.NP_ARRAY,
                          tree_lib.SCALAR, tree_lib.STRING):
        return None
      raise ValueError(
          f"{dir_path}: leaf {'.'.join(l.names)!r}: TypeHandler lookup failed "
          f"for typestr {l.value_type!r}; register the TypeHandler that "
          "saved it.")
    if th_registry.is_engine_handler(h, "deserialize"):
      return None
    return h

  def _read_aggregate(self, dir_path) -> Any:
    """The legacy aggregate tree if it holds values to restore, else None.

    Old checkpoints kept the tree (or the leaves saved with
    `SaveArgs(aggregate=True)`) in one msgpack file.  A file holding only
    placeholders of stored arrays adds nothing once `_METADATA` exists.
    """
    legacy = dir_path / self._aggregate_filename
    if not legacy.is_file():
      return None
    tree = msgpack_aggregate.read_aggregate_file(legacy)
    if (dir_path / PYTREE_METADATA_FILE).exists() and all(
        msgpack_aggregate.is_placeholder(l.value)
        for l in tree_lib.flatten(tree)[0]):
      return None
    return tree

  def _restore_with_aggregate(self, dir_path, aggregate, item, restore_args,
                              *, partial_restore: bool):
    """Restores a checkpoint whose values are (partly) in the aggregate file.

    Aggregated values get the RestoreArgs' dtype and, for ArrayRestoreArgs,
    become jax.Arrays on its sharding (as in Orbax); leaves stored as arrays
    (placeholders in the file) are read by the engine.
    """
    where = dir_path / self._aggregate_filename
    agg_leaves, agg_treedef = tree_lib.flatten(aggregate)
    ra_map = _names_map(restore_args, type_handlers.RestoreArgs)
    stored: dict = {}
    if any(msgpack_aggregate.is_placeholder(l.value) for l in agg_leaves):
      engine_tree = self.restore_tree(dir_path, None, _NamesTree(ra_map),
                                      read_aggregate=False)
      stored = {l.names: l.value for l in tree_lib.flatten(engine_tree)[0]}
    values: dict = {}
    for l in agg_leaves:
      if msgpack_aggregate.is_placeholder(l.value):
        if l.names not in stored:
          raise ValueError(
              f"{where}: leaf {'.'.join(l.names)!r} is a placeholder of a "
              "stored array, but the checkpoint holds no such array.")
        values[l.names] = stored[l.names]
      else:
        ra = _lookup_prefix(ra_map, l.names) if ra_map else None
        values[l.names] = _aggregated_value(l.value, ra)
    if item is None:
      return jax.tree_util.tree_unflatten(
          agg_treedef, [values[l.names] for l in agg_leaves])
    item_leaves, treedef = tree_lib.flatten(item)
    out = []
    missing = []
    for leaf in item_leaves:
      if leaf.names in values:
        out.append(values[leaf.names])
      elif partial_restore or leaf.value is type_handlers.PLACEHOLDER:
        out.append(leaf.value)
      else:
        missing.append(".".join(leaf.names) or "<root>")
    if missing:
      raise ValueError(
          f"{where}: User-provided restore item and on-disk value metadata "
          f"tree structures do not match: not in checkpoint: {missing[:20]}. "
          "If this mismatch is intentional, pass `partial_restore=True` to "
          "only restore parameters found in `item`.")
    return jax.tree_util.tree_unflatten(treedef, out)

  def _abstract_for(self, dir_path, loader, l, value, ra, *, use_item_types,
                    fallback_sharding, support_layout, strict):
    """(abstract leaf for the engine's loader, jax Format to apply or None)."""
    vt = l.value_type
    where = f"{dir_path}: leaf {'.'.join(l.names)!r}"
    if vt in tree_lib.EMPTY_TYPES or vt == tree_lib.STRING or l.skip_deserialize:
      return None, None
    info = loader.store.info(l.param_name)
    stored_shape = tuple(info.shape)
    if ra is not None:
      rtype = ra.restore_type
      dtype = np.dtype(ra.dtype) if ra.dtype is not None else None
      if isinstance(ra, type_handlers.ArrayRestoreArgs) and (
          rtype is None or rtype is jax.Array or _is_jax_array_type(rtype)):
        shape = ra.global_shape if ra.global_shape is not None else ra.shape
        if (shape is None and ra.strict
            and getattr(value, "shape", None) is not None
            and not v1_pytree.is_random_key_dtype(
                getattr(value, "dtype", None))):  # key data has more dims
          if tuple(value.shape) != stored_shape:
            raise ValueError(
                f"{where}: the requested shape {tuple(value.shape)} (from "
                f"`item`) is not compatible with the saved shape "
                f"{stored_shape}; set ArrayRestoreArgs(global_shape=..., "
                "strict=False) to pad or truncate.")
        shape = tuple(shape) if shape is not None else stored_shape
        if ra.strict and shape != stored_shape:
          raise ValueError(
              f"{where}: requested global_shape {shape} differs from the "
              f"saved shape {stored_shape}; pass ArrayRestoreArgs("
              "strict=False) to pad or truncate.")
        sharding, fmt = _sharding_of(ra.sharding, support_layout=True)
        if sharding is None and ra.mesh is not None and ra.mesh_axes is not None:
          sharding = jax.sharding.NamedSharding(
              ra.mesh, jax.sharding.PartitionSpec(*ra.mesh_axes)
              if not isinstance(ra.mesh_axes, jax.sharding.PartitionSpec)
              else ra.mesh_axes)
        return jax.ShapeDtypeStruct(shape, dtype or info.dtype,
                                    sharding=sharding), fmt
      if rtype is not None and (rtype is jax.Array or _is_jax_array_type(rtype)):
        return jax.ShapeDtypeStruct(stored_shape, dtype or info.dtype,
                                    sharding=None), None
      if rtype is np.ndarray:
        return NumpyMetadata(stored_shape, dtype or info.dtype), None
      if rtype in (int, float, bool):
        return rtype, None
      if isinstance(rtype, type) and issubclass(rtype, np.generic):
        return rtype(0), None
      if rtype is None:
        return _as_saved(l, stored_shape, dtype, info), None
      if rtype is str:
        raise ValueError(f"{where}: saved as {vt}, requested as a string")
      raise TypeError(f"{where}: unsupported restore_type {rtype!r}")
    if use_item_types and value is not None and not tree_lib.is_empty_leaf(
        value) and not (vt == tree_lib.NP_ARRAY and isinstance(
            value, jax.ShapeDtypeStruct) and value.sharding is None
                        and fallback_sharding is None):
      if isinstance(value, (bool, int, float)) and not isinstance(
          value, np.generic):
        return type(value), None
      if isinstance(value, np.generic):
        return value, None
      if isinstance(value, np.ndarray):
        _check_strict(where, tuple(value.shape), stored_shape, strict)
        return NumpyMetadata(tuple(value.shape), value.dtype), None
      shape = getattr(value, "shape", None)
      dtype = getattr(value, "dtype", None)
      if shape is not None and dtype is not None:
        if not v1_pytree.is_random_key_dtype(dtype):  # keys: data has more dims
          _check_strict(where, tuple(shape), stored_shape, strict)
        raw = getattr(value, "sharding", None)
        if support_layout:
          raw = getattr(value, "format", None) or raw
        sharding, fmt = _sharding_of(raw, support_layout=support_layout)
        if sharding is None:
          sharding = fallback_sharding
        if sharding is None and vt == tree_lib.JAX_ARRAY:
          _check_saved_sharding(where, loader, l)
        return jax.ShapeDtypeStruct(tuple(shape), dtype,
                                    sharding=sharding), fmt
    if vt == tree_lib.NP_ARRAY and isinstance(value, jax.ShapeDtypeStruct):
      return NumpyMetadata(tuple(value.shape), value.dtype), None
    if vt == tree_lib.JAX_ARRAY:
      _check_saved_sharding(where, loader, l)
    return None, None

  def _restore_transformed(self, dir_path, args):
    """Restores the saved leaves each rule needs, then applies the rules.

    A saved leaf is read with the RestoreArgs of the new key it becomes
    (`Transform(original_key=...)`, or the same key), or with the
    `multi_value_fn_input_args` of a RestoreTransform that consumes it.
    """
    if args.item is None:
      raise ValueError(f"{dir_path}: `transforms` require `item`.")
    meta = v1_pytree._read_or_infer_tree_metadata(  # pylint: disable=protected-access
        resolve_pytree_dir(dir_path))
    saved_keys = ["/".join(l.names) for l in meta.leaves]
    new_args = (transform_utils.to_flat_dict(args.restore_args)
                if args.restore_args is not None else {})
    new_keys = list(transform_utils.to_flat_dict(args.item))
    rules = transform_utils.flat_rules(args.transforms)
    chosen: dict[str, Any] = {}
    # The saved keys the new tree takes values from; the others are not
    # read (as Orbax skips them).
    needed: set[str] = set()
    read_all = False
    for key in new_keys:
      for pattern, rule in rules:
        m = re.fullmatch(pattern, key)
        if not m:
          continue
        if rule.multi_value_fn is not None:
          if not getattr(rule, "multi_value_fn_input_args", None):
            read_all = True  # its inputs are not named: read everything
        elif rule.use_fallback:
          if not args.transforms_default_to_original:
            needed.add(key)
        else:
          src = key if rule.original_key is None else m.expand(
              rule.original_key)
          needed.add(src)
          if key in new_args:
            chosen.setdefault(src, new_args[key])
        break
      else:
        if args.transforms_default_to_original:
          needed.add(key)
          if key in new_args:
            chosen.setdefault(key, new_args[key])
    for _, rule in rules:
      inputs = getattr(rule, "multi_value_fn_input_args", None) or {}
      for pattern, ra in inputs.items():
        for k in saved_keys:
          if re.fullmatch(pattern, k):
            chosen[k] = ra
            needed.add(k)
    saved_args = ({tuple(k.split("/")): v for k, v in chosen.items()
                   if isinstance(v, type_handlers.RestoreArgs)})
    skip = set() if read_all else {
        l.names for l, k in zip(meta.leaves, saved_keys) if k not in needed}
    original = self.restore_tree(dir_path, None, _NamesTree(saved_args),
                                 strict=False, skip=skip)
    new = transform_utils.apply_transformations(
        original, args.transforms, args.item,
        default_to_original=args.transforms_default_to_original,
        restore_args=args.restore_args)
    return _apply_restore_args(new, args.restore_args)

  def _restore_legacy_transform(self, dir_path, args):
    if args.item is None:
      raise ValueError(f"{dir_path}: `legacy_transform_fn` requires `item`.")
    original = self.restore_tree(dir_path, None, None)
    restore_args = args.restore_args
    if restore_args is None:
      restore_args = jax.tree.map(lambda _: type_handlers.RestoreArgs(),
                                  args.item)
    item, _ = args.legacy_transform_fn(original, args.item, restore_args)
    return _apply_restore_args(item, args.restore_args)

  # -- metadata ---------------------------------------------------------------
  def _metadata_keys(self, keys: Optional[Sequence[str]]) -> tuple:
    if keys is not None:
      return tuple(keys)
    return th_registry.metadata_keys(self._type_handler_registry)

  def metadata(self, directory, *,
               metadata_keys: Optional[Sequence[str]] = None
               ) -> metadata_lib.TreeMetadata:
    """The saved tree, with ArrayMetadata/ScalarMetadata/StringMetadata.

    `metadata_keys`: as for `restore_tree`."""
    dir_path = resolve_pytree_dir(path_lib.as_path(directory))
    # As Orbax: no `_METADATA`, no metadata (restore can still use `item`).
    meta = tree_lib.read_tree_metadata(dir_path)
    loader = v1_pytree._Loader(  # pylint: disable=protected-access
        dir_path, meta, self._context(),
        array_metadata_keys=self._metadata_keys(metadata_keys))
    arrays = [l.param_name for l in meta.leaves
              if l.value_type in (tree_lib.JAX_ARRAY, tree_lib.NP_ARRAY,
                                  tree_lib.SCALAR) and not l.skip_deserialize]
    if arrays:
      loader.store.prefetch_info(arrays)
    values = {}
    for l in meta.leaves:
      vt = l.value_type
      name = l.param_name
      if l.skip_deserialize or vt in tree_lib.EMPTY_TYPES:
        values[l.names] = tree_lib.empty_value(vt)
      elif vt == tree_lib.STRING:
        values[l.names] = metadata_lib.StringMetadata(name=name,
                                                      directory=dir_path)
      elif vt == tree_lib.SCALAR:
        info = loader.store.info(name)
        values[l.names] = metadata_lib.ScalarMetadata(
            name=name, directory=dir_path, dtype=info.dtype)
      elif vt not in (tree_lib.JAX_ARRAY, tree_lib.NP_ARRAY):
        values[l.names] = self._custom_leaf_metadata(dir_path, l, meta)
      else:
        info = loader.store.info(name)
        sharding = None
        if vt == tree_lib.JAX_ARRAY:
          text = loader.shardings().get(name)
          if text:
            try:
              sharding = (
                  metadata_lib.sharding_metadata_from_serialized_string(text))
            except (ValueError, KeyError):
              sharding = None
        values[l.names] = metadata_lib.ArrayMetadata(
            name=name, directory=dir_path, shape=tuple(info.shape),
            sharding=sharding, dtype=info.dtype,
            storage=metadata_lib.StorageMetadata(
                chunk_shape=tuple(info.chunk_shape),
                write_shape=(tuple(l.write_shape)
                             if l.write_shape is not None else None)))
    if meta.value_metadata_tree:
      tree = tree_lib.build_rich_tree(meta.value_metadata_tree, values)
    else:
      tree = tree_lib.build_tree(meta.leaves, values)
    return metadata_lib.TreeMetadata(tree,
                                     custom_metadata=meta.custom_metadata,
                                     use_zarr3=bool(meta.use_zarr3))

  def _custom_leaf_metadata(self, dir_path, l, meta):
    """Metadata of a leaf a custom TypeHandler wrote (its `metadata`), or
    None if no registered handler knows the leaf's typestr."""
    registry = self._type_handler_registry
    if not registry.has(l.value_type):
      return None
    h = registry.get(l.value_type)
    info = self._param_info(dir_path, l, None, l.value_type,
                            skip=l.skip_deserialize)
    info.is_ocdbt_checkpoint = meta.use_ocdbt
    got = checkpoint_handler.run_async(h.metadata([info]))
    return got[0] if got else None

  def close(self):
    with self._lock:
      self._pending.clear()


def _is_empty_root(item) -> bool:
  return tree_lib.is_empty_leaf(item) and not isinstance(item, (
      jax.Array, np.ndarray, np.generic, int, float, bool, str))


def resolve_pytree_dir(path):
  """`path`, or the PyTree subdirectory of a v1-layout checkpoint there.

  The v0 handlers read a PyTree at the directory they are given; a v1 save
  (`ocpx.save`, Orbax v1) keeps it in a named subdirectory (`state/`).
  Orbax's v0 API cannot read those; ocpx finds the PyTree.
  """
  if (path / PYTREE_METADATA_FILE).exists() or not path.is_dir():
    return path
  try:
    name = layout.resolve_pytree_name(path, layout.AUTO)
  except (ValueError, FileNotFoundError, OSError):
    return path
  return path if name is None else path / name


@dataclasses.dataclass
class _Keep:
  value: Any


@dataclasses.dataclass
class _WrapKey:
  impl: str
  format: Any = None


def _is_jax_array_type(t) -> bool:
  try:
    return isinstance(t, type) and issubclass(t, jax.Array)
  except TypeError:
    return False


def _check_saved_sharding(where, loader, l) -> None:
  """Raises unless the saved sharding of a jax.Array leaf exists here."""
  text = loader.shardings().get(l.param_name)
  if not text:
    raise ValueError(
        f"{where}: Sharding of jax.Array cannot be None: the checkpoint has "
        "no saved sharding for it. Provide `mesh` and `mesh_axes` OR "
        "`sharding` (ArrayRestoreArgs), or a target with a sharding.")
  try:
    sharding_lib.sharding_from_json(text)
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(
        f"{where}: Topology mismatch detected: the saved sharding cannot be "
        f"rebuilt on this topology ({e}). Pass a target sharding.") from e


def _check_strict(where, shape, stored, strict):
  if strict and tuple(shape) != tuple(stored):
    raise ValueError(
        f"{where}: requested shape {tuple(shape)} differs from the saved "
        f"shape {tuple(stored)}; pass strict=False to pad or truncate.")


def _sharding_of(raw, *, support_layout: bool):
  """(jax Sharding or None, jax Format to device_put into or None)."""
  if raw is None:
    return None, None
  if isinstance(raw, jax.sharding.Sharding):
    return raw, None
  if isinstance(raw, metadata_lib.ShardingMetadata):
    return raw.to_jax_sharding(), None
  sharding = getattr(raw, "sharding", None)
  if sharding is not None and hasattr(raw, "layout"):  # a jax Format
    layout = getattr(raw, "layout", None)
    return sharding, (raw if support_layout and layout is not None else None)
  raise TypeError(f"Unsupported sharding specification {raw!r}")


def _as_saved(l, stored_shape, dtype, info):
  """Abstract leaf restoring `l` as its saved type, cast to `dtype`."""
  if dtype is None:
    return None
  if l.value_type == tree_lib.JAX_ARRAY:
    return jax.ShapeDtypeStruct(stored_shape, dtype, sharding=None)
  if l.value_type == tree_lib.NP_ARRAY:
    return NumpyMetadata(stored_shape, dtype)
  return dtype.type(0)


def _apply_restore_args(tree, restore_args):
  """Applies RestoreArgs (types, dtypes, shardings) to restored values."""
  if restore_args is None:
    return tree
  ra_map = _names_map(restore_args, type_handlers.RestoreArgs)
  leaves, treedef = tree_lib.flatten(tree)
  out = []
  for leaf in leaves:
    ra = _lookup_prefix(ra_map, leaf.names)
    v = leaf.value
    if ra is None or tree_lib.is_empty_leaf(v) or isinstance(v, str):
      out.append(v)
      continue
    if ra.dtype is not None:
      v = (v.astype(ra.dtype) if hasattr(v, "astype")
           else np.asarray(v, dtype=ra.dtype))
    if isinstance(v, jax.Array) and not isinstance(
        ra, type_handlers.ArrayRestoreArgs) and ra.restore_type is None:
      pass
    elif isinstance(ra, type_handlers.ArrayRestoreArgs) and isinstance(
        v, jax.Array):
      pass  # placed when it was read, or by the transform that made it
    elif isinstance(ra, type_handlers.ArrayRestoreArgs) and (
        ra.restore_type is None or ra.restore_type is jax.Array):
      sharding, _ = _sharding_of(ra.sharding, support_layout=False)
      if sharding is None and ra.mesh is not None and ra.mesh_axes is not None:
        sharding = jax.sharding.NamedSharding(
            ra.mesh, jax.sharding.PartitionSpec(*ra.mesh_axes))
      v = jax.device_put(v, sharding) if sharding is not None else jax.device_put(v)
    elif ra.restore_type is np.ndarray:
      v = np.asarray(v)
    elif ra.restore_type in (int, float, bool):
      v = ra.restore_type(np.asarray(v).item())
    out.append(v)
  return jax.tree_util.tree_unflatten(treedef, out)


def _check_leaf_types(item, directory) -> None:
  leaves, _ = tree_lib.flatten(item)
  for leaf in leaves:
    v = leaf.value
    if tree_lib.is_empty_leaf(v) or v_pytree_kind(v) is not None:
      continue
    raise ValueError(
        f"{_key(directory)}: leaf {jax.tree_util.keystr(leaf.keypath)}: "
        f"Unsupported type: {type(v)} (TypeHandler lookup failed: ocpx "
        "saves jax.Array, np.ndarray, int, float, bool, numpy scalars and "
        "str leaves).")


def v_pytree_kind(v):
  return v1_pytree.leaf_kind(v)


def _validate_custom_metadata(custom_metadata, directory):
  if custom_metadata is None:
    return
  try:
    json.dumps(custom_metadata)
  except (TypeError, ValueError) as e:
    raise ValueError(f"{_key(directory)}: custom_metadata must be "
                     f"JSON-serializable: {e}") from e


def _save_args(item, save_args, args):
  if isinstance(item, checkpoint_args.CheckpointArgs):
    raise ValueError("Make sure to specify kwarg name `args=` when providing "
                     "`PyTreeSaveArgs`.")
  if args is None:
    args = PyTreeSaveArgs(item, save_args=save_args)
  return args


@checkpoint_args.register_with_handler(PyTreeCheckpointHandler, for_save=True)
@dataclasses.dataclass
class PyTreeSaveArgs(checkpoint_args.CheckpointArgs):
  """Saves a PyTree with PyTreeCheckpointHandler.

  Attributes:
    item: The PyTree.
    save_args: A tree of `ocp.SaveArgs` (per-leaf dtype, chunking).
    ocdbt_target_data_file_size: Target size of OCDBT data files (bytes).
    custom_metadata: JSON recorded in `_METADATA`.
  """

  item: PyTree
  save_args: Optional[PyTree] = None
  ocdbt_target_data_file_size: Optional[int] = None
  custom_metadata: Any = None


@checkpoint_args.register_with_handler(PyTreeCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class PyTreeRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores a PyTree with PyTreeCheckpointHandler.

  Attributes:
    item: The structure of the result (optional).
    restore_args: A tree of `ocp.RestoreArgs` / `ocp.ArrayRestoreArgs`.
    transforms: Rules building the result from differently-structured saved
      values (see `ocp.apply_transformations`); requires `item`.
    transforms_default_to_original: Keys without a rule come from the saved
      tree (True) or from `item` (False).
    legacy_transform_fn: `fn(saved_tree, item, restore_args) -> (tree,
      restore_args)`, the pre-`transforms` hook.
    partial_restore: Restore only the leaves present in `item`.
  """

  item: Optional[PyTree] = None
  restore_args: Optional[PyTree] = None
  transforms: Optional[PyTree] = None
  transforms_default_to_original: bool = True
  legacy_transform_fn: Optional[LegacyTransformFn] = None
  partial_restore: bool = False


typestrs.register_handler_type(PyTreeCheckpointHandler)


def _aggregated_value(value, ra):
  """An aggregated value with its RestoreArgs applied (dtype cast; an
  ArrayRestoreArgs makes a jax.Array on its sharding)."""
  if ra is None:
    return value
  if ra.dtype is not None:
    if isinstance(value, (int, float, complex, np.number, np.bool_)) and (
        not isinstance(value, np.ndarray)):
      value = np.asarray(value).astype(ra.dtype).item()
    elif hasattr(value, "astype"):
      value = value.astype(ra.dtype)
  if hasattr(value, "reshape") and isinstance(ra,
                                              type_handlers.ArrayRestoreArgs):
    arr = np.asarray(value)
    shape = ra.global_shape or ra.shape
    if shape is not None:
      arr = arr.reshape(shape)
    sharding = ra.sharding
    if sharding is None:
      if ra.mesh is None:
        raise ValueError(
            "ArrayRestoreArgs for an aggregated value needs a sharding or a "
            "mesh and mesh_axes.")
      sharding = jax.sharding.NamedSharding(
          ra.mesh, ra.mesh_axes or jax.sharding.PartitionSpec())
    value = jax.make_array_from_callback(arr.shape, sharding,
                                         lambda idx: arr[idx])
  return value


def _registered_array_handler(registry):
  """The registry's built-in ArrayHandler (its engine settings), if any."""
  try:
    h = registry.get(jax.Array)
  except (ValueError, TypeError):
    return None
  return h if isinstance(h, th_registry.ArrayHandler) else None

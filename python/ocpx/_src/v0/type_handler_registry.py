# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""TypeHandlers and their registry (`ocp.type_handlers`), as in Orbax 0.12.8.

A `TypeHandler` saves and restores PyTree leaves of some type for
`PyTreeCheckpointHandler`.  The registry maps leaf types (by predicate) and
typestrs (as recorded in `_METADATA`) to handlers.

ocpx's built-in handlers (`ArrayHandler`, `NumpyHandler`, `ScalarHandler`,
`StringHandler`) do not talk to TensorStore: leaves they serialize are
handed to the native engine, which writes them with every other array of the
save (one OCDBT transaction, one `_METADATA`).  A subclass may change the
values and call `super().serialize(...)` / `super().deserialize(...)`; the
arrays still go through the engine.  Any other `TypeHandler` subclass is
called as Orbax calls it: `serialize(values, infos, args)` in the blocking
phase of the save (its futures are awaited before the commit),
`deserialize(infos, args)` on restore (chosen by the restore type, else by
the typestr recorded in `_METADATA`).

Example:

  class TimedeltaHandler(ocp.type_handlers.TypeHandler):
    def typestr(self):
      return "timedelta"
    async def serialize(self, values, infos, args=None):
      for v, info in zip(values, infos):
        (info.parent_dir / f"{info.name}.td").write_text(str(v.total_seconds()))
      return []
    async def deserialize(self, infos, args=None):
      return [datetime.timedelta(seconds=float(
          (i.parent_dir / f"{i.name}.td").read_text())) for i in infos]
    async def metadata(self, infos):
      return [None] * len(infos)

  ocp.type_handlers.register_type_handler(datetime.timedelta,
                                          TimedeltaHandler())
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import copy
import dataclasses
import logging
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple

import jax
import numpy as np

from ocpx._src import path as path_lib


@dataclasses.dataclass(kw_only=True)
class ParamInfo:
  """What a TypeHandler knows about one leaf (Orbax's fields)."""

  name: str
  parent_dir: Any
  path: Any = None
  keypath: Any = None
  skip_deserialize: Optional[bool] = None
  byte_limiter: Any = None
  device_host_byte_limiter: Any = None
  is_ocdbt_checkpoint: Optional[bool] = None
  use_compression: Optional[bool] = True
  use_zarr3: Optional[bool] = False
  ocdbt_target_data_file_size: Optional[int] = None
  ts_context: Any = None
  value_typestr: Optional[str] = None
  enable_pinned_host_transfer: bool = False
  raise_array_data_missing_error: bool = True
  write_shape: Any = None
  is_prioritized_key_fn: Any = None

  async def await_path_creation(self):
    """Waits until `parent_dir` exists (a save's directory is created
    asynchronously)."""
    d = self.parent_dir
    if hasattr(d, "await_creation"):
      return await d.await_creation()
    return d


class TypeHandler(abc.ABC):
  """Saves and restores PyTree leaves of one kind (Orbax's interface)."""

  @abc.abstractmethod
  def typestr(self) -> str:
    """The name recorded in `_METADATA` for leaves of this handler."""

  @abc.abstractmethod
  async def metadata(self, infos: Sequence[ParamInfo]) -> Sequence[Any]:
    """Metadata of the saved leaves."""

  @abc.abstractmethod
  async def serialize(self, values: Sequence[Any],
                      infos: Sequence[ParamInfo],
                      args: Optional[Sequence[Any]] = None) -> List[Any]:
    """Starts writing `values`; returns futures finishing the writes."""

  @abc.abstractmethod
  async def deserialize(self, infos: Sequence[ParamInfo],
                        args: Optional[Sequence[Any]] = None
                        ) -> Sequence[Any]:
    """Reads the leaves described by `infos`."""

  def finalize(self, directory) -> None:
    """Called once the save's writes are done (primary process)."""
    del directory


# ---------------------------------------------------------------------------
# The built-in handlers: values go to the native engine.

@dataclasses.dataclass
class Collected:
  """What built-in handlers' `serialize` passed on to the engine during a
  PyTree save: {keypath names: value}, and {keypath names: metadata_key} for
  handlers constructed with a `metadata_key`."""

  values: dict = dataclasses.field(default_factory=dict)
  metadata_keys: dict = dataclasses.field(default_factory=dict)


_COLLECTOR: contextvars.ContextVar[Optional[Collected]] = (
    contextvars.ContextVar("ocpx_type_handler_collector", default=None))


@contextlib.contextmanager
def collecting(collector: Collected):
  """Built-in handlers' `serialize` put their values into `collector`."""
  token = _COLLECTOR.set(collector)
  try:
    yield
  finally:
    _COLLECTOR.reset(token)


def names_of(info: ParamInfo) -> tuple:
  if info.keypath is not None:
    from ocpx._src import tree as tree_lib  # pylint: disable=g-import-not-at-top
    keys = tuple(info.keypath)
    if all(isinstance(k, str) for k in keys):
      return keys
    return tuple(tree_lib.key_name_and_type(k)[0] for k in keys)
  return tuple(info.name.split("."))


class _EngineHandler(TypeHandler):
  """Base of the built-in handlers (writes through the native engine)."""

  _TYPESTR = ""
  # The name of the arrays' zarr metadata file (TensorStore's
  # `metadata_key`), None for the standard one.
  _metadata_key: Optional[str] = None

  def typestr(self) -> str:
    return self._TYPESTR

  async def serialize(self, values, infos, args=None):
    collector = _COLLECTOR.get()
    if collector is None:
      raise ValueError(
          f"{type(self).__name__}.serialize: ocpx's built-in TypeHandlers "
          "write through PyTreeCheckpointHandler's save (the native engine); "
          "call them from a TypeHandler used by such a save.")
    for v, info in zip(values, infos):
      names = names_of(info)
      collector.values[names] = v
      if self._metadata_key is not None:
        collector.metadata_keys[names] = self._metadata_key
    return []

  async def deserialize(self, infos, args=None):
    return read_leaves(infos, args, metadata_key=self._metadata_key)

  async def metadata(self, infos):
    from ocpx._src.v0.handlers import pytree_checkpoint_handler as p  # pylint: disable=g-import-not-at-top
    out = []
    cache: dict = {}
    for info in infos:
      d = path_lib.as_path(getattr(info.parent_dir, "path", info.parent_dir))
      if d not in cache:
        tree = p.PyTreeCheckpointHandler().metadata(
            d, metadata_keys=_keys(self._metadata_key)).tree
        from ocpx._src import tree as tree_lib  # pylint: disable=g-import-not-at-top
        cache[d] = {l.names: l.value for l in tree_lib.flatten(tree)[0]}
      out.append(cache[d].get(names_of(info)))
    return out


def _keys(metadata_key: Optional[str]) -> tuple:
  return () if metadata_key is None else (metadata_key,)


def _check_metadata_key(handler, metadata_key) -> Optional[str]:
  """`metadata_key` if None or a usable file name, else ValueError."""
  if metadata_key is None:
    return None
  if not isinstance(metadata_key, str):
    raise ValueError(
        f"{type(handler).__name__}(metadata_key={metadata_key!r}): expected "
        "a file name (str).")
  from ocpx import _core  # pylint: disable=g-import-not-at-top
  try:
    _core.validate_metadata_key(metadata_key)
  except ValueError as e:
    raise ValueError(
        f"{type(handler).__name__}(metadata_key={metadata_key!r}): {e}"
    ) from None
  return metadata_key


def read_leaves(infos, args, *, metadata_key: Optional[str] = None) -> list:
  """Reads the leaves `infos` name with the native engine (their zarr
  metadata under `metadata_key` if given)."""
  from ocpx._src.v0.handlers import pytree_checkpoint_handler as p  # pylint: disable=g-import-not-at-top
  args = list(args) if args is not None else [None] * len(infos)
  by_dir: dict = {}
  for i, info in enumerate(infos):
    d = path_lib.as_path(getattr(info.parent_dir, "path", info.parent_dir))
    by_dir.setdefault(d, []).append(i)
  out: list = [None] * len(infos)
  for d, idx in by_dir.items():
    item: dict = {}
    ras = p._NamesTree()  # pylint: disable=protected-access
    for i in idx:
      names = names_of(infos[i])
      node = item
      for n in names[:-1]:
        node = node.setdefault(n, {})
      node[names[-1]] = _SENTINEL  # read this leaf
      if args[i] is not None:
        ras[names] = args[i]
    got = p.PyTreeCheckpointHandler().restore_tree(
        d, item, ras, partial_restore=True, read_aggregate=False,
        metadata_keys=_keys(metadata_key))
    for i in idx:
      node = got
      for n in names_of(infos[i]):
        node = node[n]
      out[i] = node
  return out


# An item leaf the engine reads as saved (not None, not PLACEHOLDER).
_SENTINEL = object()


class ArrayHandler(_EngineHandler):
  """jax.Array leaves (sharded, replica-parallel writes by the engine)."""

  _TYPESTR = "jax.Array"

  def __init__(self, metadata_key: Optional[str] = None,
               primary_host: Optional[int] = 0, replica_id: Optional[int] = 0,
               use_replica_parallel: Optional[bool] = None,
               min_slice_bytes_for_replica_parallel: Optional[int] = None,
               max_replicas_for_replica_parallel: Optional[int] = None,
               enable_write_sharding_file: bool = True,
               array_metadata_store: Any = None,
               enable_replica_parallel_separate_folder: bool = False,
               dispatcher: Any = None, callback: Any = None):
    self._metadata_key = _check_metadata_key(self, metadata_key)
    if dispatcher is not None or callback is not None:
      raise NotImplementedError(
          "ArrayHandler(dispatcher=/callback=) are not supported by ocpx.")
    self.primary_host = primary_host
    self.replica_id = replica_id
    self.use_replica_parallel = use_replica_parallel
    self.min_slice_bytes_for_replica_parallel = (
        min_slice_bytes_for_replica_parallel)
    self.max_replicas_for_replica_parallel = max_replicas_for_replica_parallel
    self.enable_write_sharding_file = enable_write_sharding_file
    self._array_metadata_store = array_metadata_store
    self.enable_replica_parallel_separate_folder = (
        enable_replica_parallel_separate_folder)


class NumpyHandler(_EngineHandler):
  """np.ndarray leaves."""

  _TYPESTR = "np.ndarray"

  def __init__(self, metadata_key: Optional[str] = None,
               ocdbt_process_id: Optional[str] = None,
               deepcopy_host_arrays: bool = True):
    self._metadata_key = _check_metadata_key(self, metadata_key)
    if ocdbt_process_id is not None:
      raise NotImplementedError(
          f"{type(self).__name__}(ocdbt_process_id=...) is not supported.")
    self.deepcopy_host_arrays = deepcopy_host_arrays


class ScalarHandler(NumpyHandler):
  """int, float and numpy scalar leaves."""

  _TYPESTR = "scalar"

  def __init__(self, metadata_key: Optional[str] = None,
               ocdbt_process_id: Optional[str] = None):
    super().__init__(metadata_key, ocdbt_process_id)


class StringHandler(_EngineHandler):
  """str leaves (kept in `_strings.json`)."""

  _TYPESTR = "string"

  def __init__(self, filename: Optional[str] = None):
    if filename not in (None, "_strings.json"):
      raise NotImplementedError(
          "StringHandler(filename=...): ocpx keeps strings in "
          "_strings.json.")


ENGINE_HANDLER_TYPES = (ArrayHandler, NumpyHandler, ScalarHandler,
                        StringHandler)


def _overrides(handler, method: str) -> bool:
  own = getattr(type(handler), method, None)
  return own is not getattr(_EngineHandler, method)


def is_engine_handler(handler, method: str) -> bool:
  """True if `handler.<method>` is the engine's (a built-in handler, or a
  subclass not overriding it)."""
  return isinstance(handler, _EngineHandler) and not _overrides(handler,
                                                                method)


# ---------------------------------------------------------------------------
# The registry


class TypeHandlerRegistry:
  """Maps leaf types (first matching predicate wins) and typestrs to
  TypeHandlers (Orbax's semantics, including its collision errors)."""

  def __init__(self, *handlers: Tuple[Any, TypeHandler]):
    self._type_registry: list[tuple[Callable[[Any], bool], TypeHandler]] = []
    self._typestr_registry: dict[str, TypeHandler] = {}
    self._lock = threading.Lock()
    self.version = 0
    for ty, h in handlers:
      self.add(ty, h, override=True, ignore_warnings=True)

  def add(self, ty: Any, handler: TypeHandler,
          func: Optional[Callable[[Any], bool]] = None,
          override: bool = False, ignore_warnings: bool = False) -> None:
    if func is None:
      func = lambda t: isinstance(t, type) and issubclass(t, ty)  # noqa: E731
    with self._lock:
      existing = None
      for i, (f, _) in enumerate(self._type_registry):
        if f(ty):
          existing = i
          break
      typestr = handler.typestr()
      if existing is None:
        if typestr in self._typestr_registry and not override:
          raise ValueError(
              f'Type "{ty}" has a `typestr` ("{typestr}") which collides '
              "with that of an existing TypeHandler.")
        if typestr in self._typestr_registry and not ignore_warnings:
          logging.warning('Type handler registry overriding type "%s" '
                          "collision on %s", ty, typestr)
        self._type_registry.append((func, handler))
      elif override:
        if not ignore_warnings:
          logging.warning('Type handler registry type "%s" overriding %s', ty,
                          typestr)
        self._type_registry[existing] = (func, handler)
      else:
        raise ValueError(f'A TypeHandler for "{ty}" is already registered.')
      self._typestr_registry[typestr] = handler
      self.version += 1

  def get(self, ty: Any) -> TypeHandler:
    if isinstance(ty, str):
      if ty in self._typestr_registry:
        return self._typestr_registry[ty]
    else:
      for func, handler in self._type_registry:
        if func(ty):
          return handler
    raise ValueError(f'Unknown type: "{ty}". Must register a TypeHandler.')

  def has(self, ty: Any) -> bool:
    try:
      self.get(ty)
      return True
    except ValueError:
      return False

  def __deepcopy__(self, memo):
    """A copy with copies of the handlers (changing a copied handler's
    settings leaves the original registry alone)."""
    new = TypeHandlerRegistry()
    new._type_registry = [  # pylint: disable=protected-access
        (f, copy.deepcopy(h, memo)) for f, h in self._type_registry]
    new._typestr_registry = {  # pylint: disable=protected-access
        t: copy.deepcopy(h, memo) for t, h in self._typestr_registry.items()}
    return new


def create_type_handler_registry(*handlers: Tuple[Any, TypeHandler]
                                 ) -> TypeHandlerRegistry:
  """A registry holding only `handlers` (pairs of (type, handler))."""
  return TypeHandlerRegistry(*handlers)


def _default_handlers():
  return (
      (int, ScalarHandler()), (float, ScalarHandler()),
      (bytes, ScalarHandler()), (np.number, ScalarHandler()),
      (np.ndarray, NumpyHandler()),
      (jax.Array, ArrayHandler(array_metadata_store=True)),
      (str, StringHandler()),
  )


GLOBAL_TYPE_HANDLER_REGISTRY = create_type_handler_registry(
    *_default_handlers())
_PRISTINE_VERSION = GLOBAL_TYPE_HANDLER_REGISTRY.version


def metadata_keys(registry) -> tuple:
  """The custom zarr metadata file names of the registry's built-in
  handlers (`ArrayHandler(metadata_key=...)`, ...), in registration order."""
  seen: dict = {}
  for _, h in getattr(registry, "_type_registry", ()):
    key = getattr(h, "_metadata_key", None)
    if isinstance(h, _EngineHandler) and key is not None:
      seen.setdefault(key, None)
  return tuple(seen)


def is_pristine(registry) -> bool:
  """True for the global registry with nothing registered on top."""
  return (registry is GLOBAL_TYPE_HANDLER_REGISTRY
          and registry.version == _PRISTINE_VERSION)


def register_type_handler(ty: Any, handler: TypeHandler,
                          func: Optional[Callable[[Any], bool]] = None,
                          override: bool = False) -> None:
  """Registers `handler` for leaves of type `ty` in the global registry."""
  GLOBAL_TYPE_HANDLER_REGISTRY.add(ty, handler, func, override)


def get_type_handler(ty: Any) -> TypeHandler:
  """The global registry's handler for `ty` (a type or a typestr)."""
  return GLOBAL_TYPE_HANDLER_REGISTRY.get(ty)


def has_type_handler(ty: Any) -> bool:
  return GLOBAL_TYPE_HANDLER_REGISTRY.has(ty)

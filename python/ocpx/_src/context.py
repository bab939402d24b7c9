# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`Context`: the options in force for checkpoint operations.

A Context is configured by assignment, then entered:

    ctx = ocp.Context()
    ctx.array.saving.use_ocdbt = False
    ctx.checkpoint_layout = "orbax"
    with ctx:
      ocp.save(path, tree)

Rules (the same as Orbax 0.12.8's):
- A new Context starts from defaults.  `Context(parent)` starts from deep
  copies of the parent's options; later changes to either do not reach the
  other.  Option objects passed as keywords are deep-copied too.
- While a Context is active in a thread or asyncio task, the Context and every
  option object reachable from it are frozen there: assignments raise
  RuntimeError.  Leaving the `with` block unfreezes them.  Work running in
  another thread sees the default Context unless it enters one; asyncio tasks
  created inside the block inherit the active Context and its frozen state.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import enum
import threading
from typing import Any, Callable, Literal, Optional

from ocpx._src import options as options_lib

# The active Context of this thread / task; None means "use a default".
_CONTEXT: contextvars.ContextVar[Optional["Context"]] = contextvars.ContextVar(
    "ocpx_context", default=None)

# (keyword argument, attribute holding it, option class)
_OPTION_FIELDS: tuple[tuple[str, str, type], ...] = (
    ("pytree_options", "_pytree_options", options_lib.PyTreeOptions),
    ("array_options", "_array_options", options_lib.ArrayOptions),
    ("async_options", "_async_options", options_lib.AsyncOptions),
    ("multiprocessing_options", "_multiprocessing_options",
     options_lib.MultiprocessingOptions),
    ("file_options", "_file_options", options_lib.FileOptions),
    ("checkpointables_options", "_checkpointables_options",
     options_lib.CheckpointablesOptions),
    ("pathways_options", "_pathways_options", options_lib.PathwaysOptions),
    ("deletion_options", "_deletion_options", options_lib.DeletionOptions),
    ("memory_options", "_memory_options", options_lib.MemoryOptions),
    ("safetensors_options", "_safetensors_options",
     options_lib.SafetensorsOptions),
    ("atomicity_options", "_atomicity_options", options_lib.AtomicityOptions),
)


def _isolated_copy(value: Any, memo: Optional[dict[int, Any]] = None) -> Any:
  """Copies option objects so that two Contexts never share mutable state.

  Option dataclasses (and lists, tuples, sets and dicts of them) are copied
  field by field, non-field attributes included.  Callables (callbacks, key
  functions, classes) are shared: they are not configuration state, and a
  bound method of a lock or event cannot be copied.  The process-wide handler
  registry is shared too: a Context's default registry is a read-only view of
  the live global registry, not a snapshot.  Anything else is deep-copied.
  """
  if memo is None:
    from ocpx._src.handlers import registration  # pylint: disable=g-import-not-at-top
    glob = registration.global_registry()
    memo = {id(glob): glob}
  if id(value) in memo:
    return memo[id(value)]
  if value is None or isinstance(
      value, (bool, int, float, complex, str, bytes, enum.Enum, type)):
    return value
  if (dataclasses.is_dataclass(value) and hasattr(value, "__dict__")
      and not getattr(value, "__dataclass_params__").frozen):
    result = copy.copy(value)
    memo[id(value)] = result
    for name, item in vars(value).items():
      object.__setattr__(result, name, _isolated_copy(item, memo))
    return result
  if isinstance(value, (list, tuple, set, frozenset)):
    items = [_isolated_copy(item, memo) for item in value]
    return type(value)(items) if not hasattr(value, "_fields") else (
        type(value)(*items))
  if isinstance(value, dict):
    return type(value)(
        (k, _isolated_copy(v, memo)) for k, v in value.items())
  if callable(value):
    return value
  return copy.deepcopy(value, memo)


def _resolve(given: Any, parent: Any, default: Callable[[], Any]) -> Any:
  if given is not None:
    return _isolated_copy(given)
  if parent is not None:
    return _isolated_copy(parent)
  return default()


class Context:
  """Options for checkpointing, active inside `with Context(...):`.

  Attributes (each an options object, changed by assignment before entering):
    pytree: PyTreeOptions (`.saving`, `.loading`).
    array: ArrayOptions (`.saving`, `.loading`).
    asynchronous: AsyncOptions.
    multiprocessing: MultiprocessingOptions.
    file: FileOptions.
    checkpointables: CheckpointablesOptions (`.registry`).
    pathways: PathwaysOptions.
    checkpoint_layout: CheckpointLayout (settable; strings are converted).
    deletion: DeletionOptions.
    memory: MemoryOptions.
    safetensors: SafetensorsOptions.
    atomicity: AtomicityOptions.

  The long names (`pytree_options`, `array_options`, `async_options`, ...)
  are read-only aliases of the same objects.

  Example:

    ctx = ocp.Context()
    ctx.pytree.loading.partial_load = True
    with ctx:
      restored = ocp.load(path, abstract_subset)

    child = ocp.Context(ctx)          # inherits partial_load
    child.array.saving.use_zarr3 = False
  """

  # Set in __init__ (through setattr, from _OPTION_FIELDS).
  _pytree_options: options_lib.PyTreeOptions
  _array_options: options_lib.ArrayOptions
  _async_options: options_lib.AsyncOptions
  _multiprocessing_options: options_lib.MultiprocessingOptions
  _file_options: options_lib.FileOptions
  _checkpointables_options: options_lib.CheckpointablesOptions
  _pathways_options: options_lib.PathwaysOptions
  _deletion_options: options_lib.DeletionOptions
  _memory_options: options_lib.MemoryOptions
  _safetensors_options: options_lib.SafetensorsOptions
  _atomicity_options: options_lib.AtomicityOptions

  def __init__(
      self,
      context: Optional[Context] = None,
      *,
      pytree_options: Optional[options_lib.PyTreeOptions] = None,
      array_options: Optional[options_lib.ArrayOptions] = None,
      async_options: Optional[options_lib.AsyncOptions] = None,
      multiprocessing_options: Optional[
          options_lib.MultiprocessingOptions] = None,
      file_options: Optional[options_lib.FileOptions] = None,
      checkpointables_options: Optional[
          options_lib.CheckpointablesOptions] = None,
      pathways_options: Optional[options_lib.PathwaysOptions] = None,
      checkpoint_layout: Optional[options_lib.CheckpointLayout | str] = None,
      deletion_options: Optional[options_lib.DeletionOptions] = None,
      memory_options: Optional[options_lib.MemoryOptions] = None,
      safetensors_options: Optional[options_lib.SafetensorsOptions] = None,
      atomicity_options: Optional[options_lib.AtomicityOptions] = None,
  ):
    if context is not None and not isinstance(context, Context):
      raise TypeError(
          f"Context's first argument must be a parent Context, got "
          f"{type(context).__name__}")
    given = dict(
        pytree_options=pytree_options,
        array_options=array_options,
        async_options=async_options,
        multiprocessing_options=multiprocessing_options,
        file_options=file_options,
        checkpointables_options=checkpointables_options,
        pathways_options=pathways_options,
        deletion_options=deletion_options,
        memory_options=memory_options,
        safetensors_options=safetensors_options,
        atomicity_options=atomicity_options,
    )
    for keyword, attr, cls in _OPTION_FIELDS:
      value = given[keyword]
      if value is not None and not isinstance(value, cls):
        raise TypeError(
            f"Context({keyword}=...) must be a {cls.__name__}, got "
            f"{type(value).__name__}")
      parent = getattr(context, attr) if context is not None else None
      setattr(self, attr, _resolve(value, parent, cls))
    if checkpoint_layout is not None:
      checkpoint_layout = options_lib.CheckpointLayout(checkpoint_layout)
    self._checkpoint_layout = _resolve(
        checkpoint_layout,
        context.checkpoint_layout if context is not None else None,
        lambda: options_lib.CheckpointLayout.ORBAX)

  def __setattr__(self, name: str, value: Any) -> None:
    if (id(self) in options_lib.FROZEN_IDS.get()
        or id(self) in options_lib.ALWAYS_FROZEN_IDS):
      raise RuntimeError(
          f"Cannot set Context.{name}: the Context is active. Set all options "
          "before entering the `with` block.")
    object.__setattr__(self, name, value)

  # Option groups (mutable objects; the attributes themselves are read-only).
  @property
  def pytree(self) -> options_lib.PyTreeOptions:
    return self._pytree_options

  @property
  def array(self) -> options_lib.ArrayOptions:
    return self._array_options

  @property
  def asynchronous(self) -> options_lib.AsyncOptions:
    return self._async_options

  @property
  def multiprocessing(self) -> options_lib.MultiprocessingOptions:
    return self._multiprocessing_options

  @property
  def file(self) -> options_lib.FileOptions:
    return self._file_options

  @property
  def checkpointables(self) -> options_lib.CheckpointablesOptions:
    return self._checkpointables_options

  @property
  def pathways(self) -> options_lib.PathwaysOptions:
    return self._pathways_options

  @property
  def deletion(self) -> options_lib.DeletionOptions:
    return self._deletion_options

  @property
  def memory(self) -> options_lib.MemoryOptions:
    return self._memory_options

  @property
  def safetensors(self) -> options_lib.SafetensorsOptions:
    return self._safetensors_options

  @property
  def atomicity(self) -> options_lib.AtomicityOptions:
    return self._atomicity_options

  @property
  def checkpoint_layout(self) -> options_lib.CheckpointLayout:
    return self._checkpoint_layout

  @checkpoint_layout.setter
  def checkpoint_layout(
      self, value: options_lib.CheckpointLayout | str) -> None:
    self._checkpoint_layout = options_lib.CheckpointLayout(value)

  # Long names, as Orbax's internals read them.
  pytree_options = pytree
  array_options = array
  async_options = asynchronous
  multiprocessing_options = multiprocessing
  file_options = file
  checkpointables_options = checkpointables
  pathways_options = pathways
  deletion_options = deletion
  memory_options = memory
  safetensors_options = safetensors
  atomicity_options = atomicity

  def __enter__(self) -> Context:
    default = _DEFAULT[0] if _DEFAULT else None
    ids = default[1] if default and self is default[0] else _collect_ids(self)
    frozen = options_lib.FROZEN_IDS.get() | ids
    # Tokens go on a per-thread stack, not on self: one Context may be
    # entered by several threads (or nested) at once.
    tokens = (options_lib.FROZEN_IDS.set(frozen), _CONTEXT.set(self))
    _TOKENS.set(_TOKENS.get() + (tokens,))
    return self

  def __exit__(self, *exc) -> Literal[False]:
    stack = _TOKENS.get()
    frozen_token, context_token = stack[-1]
    _TOKENS.set(stack[:-1])
    _CONTEXT.reset(context_token)
    options_lib.FROZEN_IDS.reset(frozen_token)
    return False

  def __repr__(self) -> str:
    parts = ", ".join(f"{kw}={getattr(self, attr)!r}"
                      for kw, attr, _ in _OPTION_FIELDS)
    return f"Context({parts}, checkpoint_layout={self.checkpoint_layout})"


_TOKENS: contextvars.ContextVar[tuple] = contextvars.ContextVar(
    "ocpx_context_tokens", default=())


def _collect_ids(ctx: Context) -> frozenset[int]:
  """ids of `ctx` and of every dataclass reachable from its attributes.

  Dataclasses are followed through their fields and through lists, tuples,
  sets and dict values, so nested option groups and user-added option
  objects freeze with the Context.
  """
  ids = {id(ctx)}
  seen = set()

  def visit(obj: Any) -> None:
    if id(obj) in seen:
      return
    seen.add(id(obj))
    fields = getattr(type(obj), "__dataclass_fields__", None)
    if fields is not None and not isinstance(obj, type):
      ids.add(id(obj))
      attrs = getattr(obj, "__dict__", None)
      if attrs is not None:  # the fields and any attribute added
        for value in attrs.values():
          visit(value)
      for name in fields:  # fields not in __dict__ (slots)
        if attrs is None or name not in attrs:
          visit(getattr(obj, name, None))
    elif isinstance(obj, (list, tuple, set, frozenset)):
      for item in obj:
        visit(item)
    elif isinstance(obj, dict):
      for item in obj.values():
        visit(item)

  for value in vars(ctx).values():
    visit(value)
  return frozenset(ids)


# The default Context, built on first use and shared (read-only) by every
# operation that runs with no Context active, with its `_collect_ids`.
_DEFAULT: list[tuple[Context, frozenset[int]]] = []
_DEFAULT_LOCK = threading.Lock()


def _default_context() -> Context:
  """The shared default Context.  Building one costs ~0.1 ms (a dozen
  option groups, each copied); a small save or load asks for it several
  times.  It and its options are frozen for good, so sharing it cannot
  leak one caller's change into another's operation."""
  if not _DEFAULT:
    with _DEFAULT_LOCK:
      if not _DEFAULT:
        ctx = Context()
        ids = _collect_ids(ctx)
        options_lib.ALWAYS_FROZEN_IDS.update(ids)
        _DEFAULT.append((ctx, ids))
  return _DEFAULT[0][0]


def get_context(default: Optional[Context] = None) -> Context:
  """Returns the active Context, else `default`, else the default Context
  (shared and read-only)."""
  ctx = _CONTEXT.get()
  if ctx is not None:
    return ctx
  return default if default is not None else _default_context()

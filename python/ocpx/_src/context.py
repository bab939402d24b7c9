# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`Context`: the options in force for checkpoint operations."""

from __future__ import annotations

import contextvars
from typing import Optional

from ocpx._src import options as options_lib

_ACTIVE = contextvars.ContextVar("ocpx_context", default=None)
# Tokens of the `with Context(...):` blocks entered in the current
# contextvars.Context (thread or task), innermost last.  Kept in a ContextVar,
# not on the Context: one Context may be entered by many threads at once.
_TOKENS = contextvars.ContextVar("ocpx_context_tokens", default=())

_FIELDS = {
    "pytree_options": options_lib.PyTreeOptions,
    "array_options": options_lib.ArrayOptions,
    "async_options": options_lib.AsyncOptions,
    "multiprocessing_options": options_lib.MultiprocessingOptions,
    "file_options": options_lib.FileOptions,
    "checkpointables_options": options_lib.CheckpointablesOptions,
    "pathways_options": options_lib.PathwaysOptions,
    "deletion_options": options_lib.DeletionOptions,
    "memory_options": options_lib.MemoryOptions,
    "safetensors_options": options_lib.SafetensorsOptions,
}


class Context:
  """Options for checkpointing, active inside `with Context(...):`.

  A new Context starts from defaults.  To inherit, pass the parent as the
  first argument: every option group not given as a keyword comes from it.
  The active context is thread-local (a `contextvars.ContextVar`): work
  submitted to another thread sees the default context unless it enters one.
  """

  def __init__(
      self,
      context: Optional["Context"] = None,
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
      checkpoint_layout: Optional[options_lib.CheckpointLayout] = None,
      deletion_options: Optional[options_lib.DeletionOptions] = None,
      memory_options: Optional[options_lib.MemoryOptions] = None,
      safetensors_options: Optional[options_lib.SafetensorsOptions] = None,
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
    )
    for name, cls in _FIELDS.items():
      value = given[name]
      if value is None:
        value = getattr(context, name) if context is not None else cls()
      elif not isinstance(value, cls):
        raise TypeError(
            f"Context({name}=...) must be a {cls.__name__}, got "
            f"{type(value).__name__}")
      object.__setattr__(self, "_" + name, value)
    if checkpoint_layout is None:
      checkpoint_layout = (context.checkpoint_layout if context is not None
                           else options_lib.CheckpointLayout.ORBAX)
    elif isinstance(checkpoint_layout, str):
      checkpoint_layout = options_lib.CheckpointLayout(checkpoint_layout)
    object.__setattr__(self, "_checkpoint_layout", checkpoint_layout)

  def __setattr__(self, name, value):
    raise AttributeError("Context is immutable; create a new Context instead")

  pytree_options = property(lambda self: self._pytree_options)
  array_options = property(lambda self: self._array_options)
  async_options = property(lambda self: self._async_options)
  multiprocessing_options = property(
      lambda self: self._multiprocessing_options)
  file_options = property(lambda self: self._file_options)
  checkpointables_options = property(
      lambda self: self._checkpointables_options)
  pathways_options = property(lambda self: self._pathways_options)
  checkpoint_layout = property(lambda self: self._checkpoint_layout)
  deletion_options = property(lambda self: self._deletion_options)
  memory_options = property(lambda self: self._memory_options)
  safetensors_options = property(lambda self: self._safetensors_options)

  # Short aliases used by Orbax internals and docs.
  pytree = pytree_options
  array = array_options
  asynchronous = async_options
  multiprocessing = multiprocessing_options
  file = file_options
  checkpointables = checkpointables_options
  pathways = pathways_options
  deletion = deletion_options
  memory = memory_options
  safetensors = safetensors_options

  def __enter__(self) -> "Context":
    _TOKENS.set(_TOKENS.get() + (_ACTIVE.set(self),))
    return self

  def __exit__(self, *exc):
    tokens = _TOKENS.get()
    _TOKENS.set(tokens[:-1])
    _ACTIVE.reset(tokens[-1])
    return False

  def __repr__(self):
    parts = ", ".join(f"{n}={getattr(self, n)!r}" for n in _FIELDS)
    return f"Context({parts}, checkpoint_layout={self.checkpoint_layout})"


def get_context(default: Optional[Context] = None) -> Context:
  """Returns the active context, else `default`, else a default Context."""
  ctx = _ACTIVE.get()
  if ctx is not None:
    return ctx
  return default if default is not None else Context()

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""load / load_async / load_checkpointables(_async) and metadata."""

from __future__ import annotations

from typing import Any, Optional

from ocpx._src import async_response as async_lib
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import context as context_lib
from ocpx._src import errors
from ocpx._src import layout
from ocpx._src import path as path_lib
from ocpx._src import recovery
from ocpx._src.handlers import global_registration  # noqa: F401
from ocpx._src.handlers import pytree_handler
from ocpx._src.handlers import registration
from ocpx._src.saving import _run_coroutine


def _unwrap_abstract(abstract):
  if isinstance(abstract, cm.CheckpointMetadata):
    return abstract.metadata
  return abstract


def _handler_typestr(step_meta, name) -> Optional[str]:
  if step_meta is None:
    return None
  ih = step_meta.item_handlers
  if isinstance(ih, dict):
    return ih.get(name)
  if isinstance(ih, str) and name is None:
    return ih
  return None


def _load_failed(name, handler, error: BaseException):
  """The error load_checkpointables raises when a checkpointable fails.

  Orbax reports any failure while loading one checkpointable of
  `load_checkpointables` as a NoEntryError naming it; the cause is chained
  and its message kept.
  """
  return registration.NoEntryError(
      f"Failed to load checkpointable: {name} due to incompatible handler: "
      f"{type(handler).__name__} ({type(error).__name__}: {error})")


def _load_one(ctx, root, name, abstract, step_meta, *,
              name_errors: bool = False):
  directory = root if name is None else root / name
  typestr = _handler_typestr(step_meta, name)
  registry = ctx.checkpointables_options.registry
  try:
    handler = registration.resolve_handler_for_load(
        registry, abstract, name=name or layout.STATE_CHECKPOINTABLE_KEY,
        handler_typestr=typestr)
  except registration.NoEntryError:
    handler = pytree_handler.PyTreeHandler()

  async def run():
    background = await handler.load(directory, abstract)
    if not name_errors:
      return await background
    try:
      return await background
    except Exception as e:  # pylint: disable=broad-except
      raise _load_failed(name, handler, e) from e

  with ctx:
    return _run_coroutine(run())


def _load_pytree(path, abstract_state, checkpointable_name):
  ctx = context_lib.get_context()
  root = path_lib.as_path(path).absolute()
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  name = layout.resolve_pytree_name(root, checkpointable_name)
  step_meta = cm.read_step_metadata(root)
  return lambda: _load_one(ctx, root, name, _unwrap_abstract(abstract_state),
                           step_meta)


def load(path, abstract_state=None, *, checkpointable_name="AUTO"):
  """Loads a PyTree (blocking)."""
  return _load_pytree(path, abstract_state, checkpointable_name)()


def load_async(path, abstract_state=None, *,
               checkpointable_name="state") -> async_lib.AsyncResponse:
  """Loads a PyTree on a background thread."""
  try:
    work = _load_pytree(path, abstract_state, checkpointable_name)
  except BaseException as e:  # pylint: disable=broad-except
    return async_lib.CompletedResponse(error=e)
  return async_lib.AsyncResponse(work, name="ocpx-load")


def _load_checkpointables_work(path, abstract_checkpointables):
  ctx = context_lib.get_context()
  root = path_lib.as_path(path).absolute()
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  abstract = _unwrap_abstract(abstract_checkpointables)
  if abstract is not None and not isinstance(abstract, dict):
    raise ValueError(
        "abstract_checkpointables must be a dict of checkpointable names to "
        f"abstract checkpointables, got {type(abstract).__name__}")
  if abstract:
    layout.validate_load_names(abstract)
  layout.check_checkpoint_dir(root)
  step_meta = cm.read_step_metadata(root)
  if layout.is_direct_checkpoint(root, step_meta):
    raise layout.InvalidLayoutError(
        f"Checkpoint at {root} is a flat (direct) checkpoint with no named "
        "checkpointables: load it with load() / metadata() instead.")
  available = layout.checkpointable_names(root)
  if not abstract:
    names = available
    abstract = {}
  else:
    names = list(abstract)
    deleting = layout.deleting_checkpointable(root)
    if deleting in names:
      raise errors.DeletionInProgressError(
          f"Checkpointable {deleting!r} at {root} is pending deletion and "
          "cannot be read. Call delete() with the same arguments again to "
          "finish it.")
    missing = [n for n in names if n not in available]
    if missing:
      raise KeyError(
          f"Requested checkpointables: {missing} for loading were not found "
          f"in the checkpoint {root}. Available checkpointables: {available}")

  def work():
    return {n: _load_one(ctx, root, n, abstract.get(n), step_meta,
                         name_errors=True)
            for n in names}
  return work


def load_checkpointables(path, abstract_checkpointables=None) -> dict:
  """Loads every checkpointable (or the subset named by the dict)."""
  return _load_checkpointables_work(path, abstract_checkpointables)()


def load_checkpointables_async(path, abstract_checkpointables=None):
  try:
    work = _load_checkpointables_work(path, abstract_checkpointables)
  except BaseException as e:  # pylint: disable=broad-except
    return async_lib.CompletedResponse(error=e)
  return async_lib.AsyncResponse(work, name="ocpx-load")


def _checkpoint_metadata(root, step_meta, value):
  return cm.CheckpointMetadata(
      root, metadata=value,
      init_timestamp_nsecs=step_meta.init_timestamp_nsecs if step_meta else None,
      commit_timestamp_nsecs=(step_meta.commit_timestamp_nsecs
                              if step_meta else None),
      custom_metadata=step_meta.custom_metadata if step_meta else None)


def _metadata_one(ctx, root, name, step_meta):
  directory = root if name is None else root / name
  typestr = _handler_typestr(step_meta, name)
  try:
    handler = registration.resolve_handler_for_load(
        ctx.checkpointables_options.registry, None,
        name=name or layout.STATE_CHECKPOINTABLE_KEY, handler_typestr=typestr)
  except registration.NoEntryError:
    handler = pytree_handler.PyTreeHandler()
  with ctx:
    return _run_coroutine(handler.metadata(directory))


def metadata(path, checkpointable_name="AUTO") -> cm.CheckpointMetadata:
  """The PyTree's metadata (tree of leaf metadata) and checkpoint info."""
  ctx = context_lib.get_context()
  root = path_lib.as_path(path).absolute()
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  name = layout.resolve_pytree_name(root, checkpointable_name)
  step_meta = cm.read_step_metadata(root)
  return _checkpoint_metadata(root, step_meta,
                              _metadata_one(ctx, root, name, step_meta))


def checkpointables_metadata(path) -> cm.CheckpointMetadata:
  """Metadata of every checkpointable, by name."""
  ctx = context_lib.get_context()
  root = path_lib.as_path(path).absolute()
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  layout.check_checkpoint_dir(root)
  step_meta = cm.read_step_metadata(root)
  if layout.is_direct_checkpoint(root, step_meta):
    raise layout.InvalidLayoutError(
        f"Checkpoint at {root} is a flat (direct) checkpoint with no named "
        "checkpointables: use metadata() / load() instead.")
  out = {}
  for n in layout.checkpointable_names(root):
    out[n] = _metadata_one(ctx, root, n, step_meta)
  return _checkpoint_metadata(root, step_meta, out)

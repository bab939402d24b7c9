# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""load / load_async / load_checkpointables(_async) and metadata."""

from __future__ import annotations

import logging
from typing import Optional

from ocpx._src import async_response as async_lib
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import context as context_lib
from ocpx._src import errors
from ocpx._src import file_options
from ocpx._src import gc_pause
from ocpx._src import layout
from ocpx._src import option_support
from ocpx._src import path as path_lib
from ocpx._src import recovery
from ocpx._src import sharding as sharding_lib
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


def _handler_for_load(ctx, directory, name, abstract, step_meta):
  """The handler that loads checkpointable `name` (stored in `directory`).

  As in Orbax: the registry resolves it from the saved handler type, the name
  and the abstract checkpointable.  Where that finds nothing (e.g. a step
  written by an older Orbax that recorded no handler type), the item's
  content decides: a directory holding a single JSON file is a JSON item, one
  holding PyTree metadata or array data is a PyTree.  Otherwise the handler
  registered for 'state' is used, and without one NoEntryError is raised.
  """
  typestr = _handler_typestr(step_meta, name)
  registry = ctx.checkpointables_options.registry
  # A flat (direct) checkpoint is resolved under its directory's name, as
  # Orbax does; the 'state' handler is the fallback below.
  key = name if name is not None else directory.name
  try:
    return registration.resolve_handler_for_load(
        registry, abstract, name=key, handler_typestr=typestr)
  except registration.NoEntryError as e:
    error = e
  # By content, only for the items of a step that recorded no handler types
  # at all (older Orbax releases).  A step whose `_CHECKPOINT_METADATA` is
  # lost resolves as Orbax resolves it.
  if step_meta is not None and step_meta.item_handlers is None:
    by_content = registration.resolve_handler_by_content(
        registry, directory, abstract)
    if by_content is not None:
      return by_content
  if registry.has(layout.STATE_CHECKPOINTABLE_KEY):
    return registration.construct_handler(
        key, registry.get(layout.STATE_CHECKPOINTABLE_KEY))
  # KeyError's str() is the repr of the message: keep double quotes out of
  # it so the message reads (and matches) as Orbax's does.
  cause = (error.args[0] if error.args else str(error)).replace('"', "")
  raise registration.NoEntryError(
      f"Could not resolve a handler for {key!r} and no "
      f"{layout.STATE_CHECKPOINTABLE_KEY!r} handler found in the registry "
      f"(checkpointable directory {directory}: {cause}). Pass an abstract "
      "checkpointable or register a handler for this name.")


def _load_one(ctx, root, name, abstract, step_meta, *,
              name_errors: bool = False):
  directory = root if name is None else root / name
  handler = _handler_for_load(ctx, directory, name, abstract, step_meta)
  if (name_errors and isinstance(handler, pytree_handler.PyTreeHandler)
      and not (directory / layout.PYTREE_METADATA_FILE).exists()):
    # Only `load` with the default (AUTO) name recovers a PyTree whose
    # _METADATA was lost; named loads fail as in Orbax.
    raise _load_failed(name, handler, FileNotFoundError(
        f"{directory / layout.PYTREE_METADATA_FILE}: PyTree metadata file "
        "not found (load the PyTree with ocpx.load(path) to rebuild it from "
        "its stored arrays)"))

  if (isinstance(handler, pytree_handler.PyTreeHandler)
      and type(handler).load is pytree_handler.PyTreeHandler.load):
    # ocpx's own PyTree loading needs no event loop and no worker thread:
    # the caller waits for it anyway (half a millisecond a call).
    with ctx:
      try:
        return handler.load_now(directory, abstract)
      except Exception as e:  # pylint: disable=broad-except
        if not name_errors:
          raise
        raise _load_failed(name, handler, e) from e

  async def run():
    if not name_errors:
      background = await handler.load(directory, abstract)
      return await background
    # Orbax names failures of the background phase only.  ocpx's
    # PyTreeHandler reads the PyTree metadata in its blocking phase, which
    # Orbax's does in the background: its failures are named too.
    eager = isinstance(handler, pytree_handler.PyTreeHandler)
    try:
      background = await handler.load(directory, abstract)
    except Exception as e:  # pylint: disable=broad-except
      if not eager:
        raise
      raise _load_failed(name, handler, e) from e
    try:
      return await background
    except Exception as e:  # pylint: disable=broad-except
      raise _load_failed(name, handler, e) from e

  with ctx:
    return _run_coroutine(run())


def _layout_name(ctx) -> str:
  chosen = ctx.checkpoint_layout
  return str(getattr(chosen, "value", chosen)).lower()


def _is_safetensors(ctx, root) -> bool:
  """Whether `root` is read with the safetensors layout: chosen explicitly,
  or (AUTO) when it is no Orbax checkpoint but holds safetensors files."""
  chosen = _layout_name(ctx)
  if chosen == "safetensors":
    return True
  if chosen == "auto":
    # As Orbax: Orbax markers first, then safetensors files.
    return (not _has_orbax_markers(root)
            and _safetensors().is_safetensors(root))
  return False


def _safetensors():
  """The safetensors layout, imported when a checkpoint may use it."""
  from ocpx._src import safetensors_layout  # pylint: disable=g-import-not-at-top
  return safetensors_layout


def _has_orbax_markers(root) -> bool:
  if not root.is_dir():
    return False
  markers = (cm.CHECKPOINT_METADATA_FILE, layout.INDICATOR_FILE,
             layout.PYTREE_METADATA_FILE, "manifest.ocdbt")
  return any((root / m).exists() for m in markers) or any(
      (c / layout.PYTREE_METADATA_FILE).exists() for c in root.iterdir()
      if c.is_dir())


def _no_safetensors(ctx, root, what: str) -> None:
  if _is_safetensors(ctx, root):
    raise NotImplementedError(
        f"{root}: the safetensors layout does not support `{what}`; a "
        "safetensors checkpoint is one flat PyTree: use `load` / `metadata`.")


def _load_pytree(path, abstract_state, checkpointable_name):
  ctx = context_lib.get_context()
  option_support.check_pathways(ctx)
  root = file_options.local_path(ctx, path).absolute()
  path_lib.prefetch(root)  # its small files, read in parallel meanwhile
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  if _is_safetensors(ctx, root):
    safetensors_layout = _safetensors()
    safetensors_layout.validate(root)
    mesh = sharding_lib.active_global_mesh()
    abstract = _unwrap_abstract(abstract_state)
    return lambda: safetensors_layout.load(root, abstract, ctx=ctx,
                                           global_mesh=mesh)
  name = layout.resolve_pytree_name(root, checkpointable_name)
  step_meta = cm.read_step_metadata(root)
  return lambda: _load_one(ctx, root, name, _unwrap_abstract(abstract_state),
                           step_meta)


def load(path, abstract_state=None, *, checkpointable_name="AUTO"):
  """Loads a PyTree (blocking)."""
  with gc_pause.paused():  # the caller waits for all of it
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
  option_support.check_pathways(ctx)
  root = file_options.local_path(ctx, path).absolute()
  path_lib.prefetch(root)  # its small files, read in parallel meanwhile
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  _no_safetensors(ctx, root, "load_checkpointables")
  layout.check_checkpoint_dir(root)
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
  with gc_pause.paused():  # the caller waits for all of it
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
  """The item's metadata, or None (with a warning) if its handler has none
  to give, as Orbax does; item data is never read for it."""
  directory = root if name is None else root / name
  handler = _handler_for_load(ctx, directory, name, None, step_meta)
  try:
    with ctx:
      return _run_coroutine(handler.metadata(directory))
  except Exception as e:  # pylint: disable=broad-except
    logging.warning(
        "No metadata for checkpointable %r in %s (handler %s): %s; "
        "returning None.", name, root, type(handler).__name__, e)
    return None


def metadata(path, checkpointable_name="AUTO") -> cm.CheckpointMetadata:
  """The PyTree's metadata (tree of leaf metadata) and checkpoint info."""
  ctx = context_lib.get_context()
  root = file_options.local_path(ctx, path).absolute()
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  if _is_safetensors(ctx, root):
    return _safetensors().metadata(
        root, reported_path=file_options.user_path(ctx, path))
  name = layout.resolve_pytree_name(root, checkpointable_name)
  step_meta = cm.read_step_metadata(root)
  return _checkpoint_metadata(file_options.user_path(ctx, path), step_meta,
                              _metadata_one(ctx, root, name, step_meta))


def checkpointables_metadata(path) -> cm.CheckpointMetadata:
  """Metadata of every checkpointable, by name."""
  ctx = context_lib.get_context()
  root = file_options.local_path(ctx, path).absolute()
  recovery.recover_path(root)  # an interrupted overwrite of `root`
  _no_safetensors(ctx, root, "checkpointables_metadata")
  layout.check_checkpoint_dir(root)
  step_meta = cm.read_step_metadata(root)
  if layout.is_direct_checkpoint(root, step_meta):
    raise layout.InvalidLayoutError(
        f"Checkpoint at {root} is a flat (direct) checkpoint with no named "
        "checkpointables: use metadata() / load() instead.")
  out = {}
  for n in layout.checkpointable_names(root):
    out[n] = _metadata_one(ctx, root, n, step_meta)
  return _checkpoint_metadata(file_options.user_path(ctx, path), step_meta,
                              out)

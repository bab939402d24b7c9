# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""CompositeCheckpointHandler: several named items, one subdirectory each."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Dict, List, Optional

import jax

from ocpx._src import atomicity
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import multihost
from ocpx._src import path as path_lib
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import composite as composite_lib
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import metadata as metadata_lib
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import handler_registration
from ocpx._src.v0.handlers import typestrs

_RESERVED_NAMES = frozenset({"metadata", "descriptor"})


@dataclasses.dataclass
class CompositeOptions:
  """Options of CompositeCheckpointHandler (and CheckpointManager's).

  Attributes:
    multiprocessing_options: Primary host etc.
    temporary_path_class: The TemporaryPath class of each item directory
      (default: `<item>.orbax-checkpoint-tmp` renamed to `<item>` at
      finalize, or `commit_success.txt` in place on object stores or with
      `AtomicityOptions(mode=COMMIT_FILE)`).
    file_options: Permission mode of item directories.
    atomicity_options: See `ocp.options.AtomicityOptions`.
    async_options: See `ocp.options.AsyncOptions`.
  """

  multiprocessing_options: options_lib.MultiprocessingOptions = (
      dataclasses.field(default_factory=options_lib.MultiprocessingOptions))
  temporary_path_class: Optional[type] = None
  file_options: Optional[options_lib.FileOptions] = None
  atomicity_options: Optional[options_lib.AtomicityOptions] = None
  async_options: Optional[options_lib.AsyncOptions] = None


class CompositeArgs(composite_lib.Composite, checkpoint_args.CheckpointArgs):
  """Args for several named items: `Composite(state=StandardSave(...), ...)`."""


CompositeResults = CompositeArgs


class CompositeCheckpointHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Saves each item of a `Composite` with its own handler, in `<dir>/<name>`.

  Handlers come from `items_and_handlers`, a `handler_registry`, or the
  handler registered for each item's args type.  Restoring without args
  restores every item whose handler is known or recorded in
  `_CHECKPOINT_METADATA`.

  Example:
    ckptr = ocp.Checkpointer(ocp.CompositeCheckpointHandler())
    ckptr.save(path, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        config=ocp.args.JsonSave(config)))
    out = ckptr.restore(path)          # out.state, out.config
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("composite_checkpoint_handler",
                                          "CompositeCheckpointHandler")

  def __init__(self, *item_names: str,
               composite_options: CompositeOptions = CompositeOptions(),
               handler_registry: Optional[
                   handler_registration.CheckpointHandlerRegistry] = None,
               **items_and_handlers: checkpoint_handler.CheckpointHandler):
    if handler_registry is not None and (item_names or items_and_handlers):
      raise ValueError(
          "Both `handler_registry` and `item_names`/`items_and_handlers` were "
          "provided; pass one of them.")
    options = composite_options or CompositeOptions()
    cls = options.temporary_path_class
    if cls is not None and not (isinstance(cls, type) and all(
        callable(getattr(cls, m, None))
        for m in ("from_final", "create", "get", "finalize"))):
      raise TypeError(
          "CompositeOptions.temporary_path_class must be a TemporaryPath "
          f"class, got {cls!r}")
    self._options = options
    self._registry = handler_registry
    self._handlers: Dict[str, Optional[checkpoint_handler.CheckpointHandler]] = {}
    for name in item_names:
      _validate_name(name)
      self._handlers[name] = None
    for name, handler in items_and_handlers.items():
      _validate_name(name)
      if handler is not None and not isinstance(
          handler, checkpoint_handler.CheckpointHandler):
        raise TypeError(f"Handler for item {name!r} must be a "
                        f"CheckpointHandler, got {type(handler).__name__}")
      self._handlers[name] = handler
    self._saved_items: list[str] = []
    # {item: TemporaryPath} of the last save, until `finalize` commits them.
    self._current_temporary_paths: Dict[str, atomicity.TemporaryPath] = {}

  # -- handler resolution -------------------------------------------------------
  def _handler_for(self, name: str, args) -> checkpoint_handler.CheckpointHandler:
    handler = self._handlers.get(name)
    if handler is not None:
      if args is not None:
        _check_args_fit(name, handler, args)
      return handler
    if self._registry is not None and args is not None:
      handler = None
      if self._registry.has(name, args):
        handler = self._registry.get(name, args)
      elif any(item == name for item, _ in self._registry.get_all_entries()):
        raise ValueError(
            f"Item {name!r} and args {type(args).__name__} does not match "
            "with any registered handler in the handler registry "
            f"(entries: {list(self._registry.get_all_entries())}).")
      elif self._registry.has(None, args):
        handler = self._registry.get(None, args)
      if handler is not None:
        self._handlers[name] = handler
        return handler
    if args is None:
      raise ValueError(f"No handler known for item {name!r}.")
    cls = checkpoint_args.get_registered_handler_cls(args)
    try:
      handler = cls()
    except TypeError as e:
      raise ValueError(
          f"The handler {cls.__name__} for item {name!r} is not "
          "default-constructible; pass it to CompositeCheckpointHandler.") from e
    self._handlers[name] = handler
    return handler

  def _known_handler(self, name):
    """The handler given, registered or already used for item `name`."""
    if self._handlers.get(name) is not None:
      return self._handlers[name]
    if self._registry is not None:
      for (item, _), h in self._registry.get_all_entries().items():
        if item == name:
          return h
    return None

  def _handler_from_typestr(self, name, typestr):
    known = self._known_handler(name)
    if known is not None:
      return known
    from ocpx._src.v0 import handlers_all  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    cls = typestrs.handler_cls_for(typestr)
    if cls is None:
      return None
    try:
      handler = cls()
    except TypeError:
      return None
    self._handlers[name] = handler
    return handler

  def item_handler_typestrs(self) -> dict:
    """{item: typestr} of the items of the last save (for step metadata)."""
    return {n: h.typestr() for n in sorted(self._saved_items)
            if (h := self._handlers.get(n)) is not None}

  # -- save ---------------------------------------------------------------------
  def _item_temporary_path(self, directory, name: str
                           ) -> atomicity.TemporaryPath:
    """Where item `name` is written until `finalize` (as in Orbax: by
    default `<dir>/<name>.orbax-checkpoint-tmp`, renamed at finalize)."""
    cls: Any = (self._options.temporary_path_class
                or atomicity.get_item_default_temporary_path_class(
                    directory,
                    atomicity_options=self._options.atomicity_options))
    if atomicity.is_builtin(cls, "AtomicRenameTemporaryPath"):
      cls = atomicity.AtomicRenameTemporaryPath
    elif atomicity.is_builtin(cls, "CommitFileTemporaryPath"):
      cls = atomicity.CommitFileTemporaryPath
    return cls.from_final(directory / name,
                          file_options=self._options.file_options)

  async def async_save(self, directory, args: "CompositeArgs"
                       ) -> Optional[List[future_lib.Future]]:
    if not isinstance(args, composite_lib.Composite):
      raise TypeError(f"CompositeCheckpointHandler takes Composite args, got "
                      f"{type(args).__name__}")
    if isinstance(directory, path_lib.PathAwaitingCreation):
      directory = directory.wait()
    directory = path_lib.as_path(directory)
    mode = (self._options.file_options.path_permission_mode
            if self._options.file_options else None)
    names = []
    for name in sorted(args.keys()):  # the same order on every process
      if args[name] is None:
        continue
      _validate_name(name)
      names.append(name)
    temporary = {n: self._item_temporary_path(directory, n) for n in names}
    self._create_item_directories(temporary, mode)
    self._current_temporary_paths = temporary
    futures = []
    saved = []
    for name in names:
      item_args = args[name]
      handler = self._handler_for(name, item_args)
      item_dir = path_lib.as_path(temporary[name].get())
      if isinstance(handler, checkpoint_handler.AsyncCheckpointHandler):
        got = await handler.async_save(item_dir, args=item_args)
        futures.extend(got or [])
      else:
        handler.save(item_dir, args=item_args)
      saved.append(name)
    self._saved_items = saved
    return futures

  def _create_item_directories(self, temporary, mode) -> None:
    """Creates the item directories: the built-in strategies' on every
    process (idempotent), a custom class's with its `create` on the primary
    process, followed by a barrier."""
    custom = {n: t for n, t in temporary.items() if type(t) not in (
        atomicity.AtomicRenameTemporaryPath,
        atomicity.CommitFileTemporaryPath)}
    for name, t in temporary.items():
      if name not in custom:
        path_lib.mkdir(t.get(), mode)
    if not custom:
      return
    if self._is_primary():
      for t in custom.values():
        atomicity.run(t.create())
    if jax.process_count() > 1:
      mp = self._options.multiprocessing_options
      multihost.Sync(
          f"v0-composite-items:{next(iter(custom.values())).get()}",
          timeout_secs=1200, active_processes=mp.active_processes,
          key_prefix=mp.barrier_sync_key_prefix).barrier("item-directories")

  def _is_primary(self) -> bool:
    primary = self._options.multiprocessing_options.primary_host
    return primary is None or primary == jax.process_index()

  def save(self, directory, *args, **kwargs):
    """Saves every item and waits; as in Orbax the item directories stay
    temporary until `finalize(directory)`."""
    a = kwargs.pop("args", args[0] if args else None)
    futures = checkpoint_handler.run_async(self.async_save(directory, a))
    for f in futures or ():
      f.result()

  def finalize(self, directory) -> None:
    """Finalizes each saved item's handler, then commits its directory
    (renames `<item>.orbax-checkpoint-tmp` to `<item>` with its
    `commit_success.txt`)."""
    if not self._current_temporary_paths:
      raise ValueError("finalize() called before any items were saved.")
    for name in list(self._current_temporary_paths):
      handler = self._handlers.get(name)
      t = self._current_temporary_paths[name]
      if handler is None:
        continue
      handler.finalize(path_lib.as_path(t.get()))
      if self._is_primary():
        atomicity.run(t.finalize())
      self._current_temporary_paths.pop(name)

  def metadata_from_temporary_paths(self, directory
                                    ) -> metadata_lib.StepMetadata:
    """Step metadata naming the items of the save not yet finalized."""
    directory = path_lib.as_path(directory)
    if not directory.exists():
      raise FileNotFoundError(f"Directory does not exist: {directory}")
    handlers = {}
    for name in self._current_temporary_paths:
      h = self._handlers.get(name)
      handlers[name] = h.typestr() if h is not None else None
    step = cm.read_step_metadata(directory)
    return metadata_lib.StepMetadata(
        item_handlers=handlers,
        item_metadata=CompositeResults(**{n: None for n in handlers}),
        metrics=step.metrics if step else {},
        performance_metrics=metadata_lib.save_step_statistics(
            step.performance_metrics if step else None),
        init_timestamp_nsecs=step.init_timestamp_nsecs if step else None,
        commit_timestamp_nsecs=step.commit_timestamp_nsecs if step else None,
        custom_metadata=(step.custom_metadata or {}) if step else {})

  # -- restore ------------------------------------------------------------------
  def restore(self, directory, args: Optional["CompositeArgs"] = None
              ) -> "CompositeResults":
    """Restores the items named in `args`, or every restorable item."""
    directory = path_lib.as_path(directory)
    if not directory.exists():
      raise FileNotFoundError(
          f"Requested directory for restore does not exist at {directory}")
    out = {}
    if args is None or not len(args):
      step = cm.read_step_metadata(directory)
      recorded = (step.item_handlers if step is not None
                  and isinstance(step.item_handlers, dict) else {})
      for name in _existing_items(directory):
        handler = self._handler_from_typestr(name, recorded.get(name))
        if handler is None:
          if name in self._handlers or not recorded:
            raise ValueError(
                f"{directory}: item {name!r} could not be restored: "
                "undetermined `CheckpointHandler` when restoring without "
                "args (no handler was given for it and _CHECKPOINT_METADATA "
                "records none). Pass args=ocp.args.Composite(...) or a "
                "handler registry.")
          logging.warning(
              'Item "%s" was found in the checkpoint, but could not be '
              "restored. Please provide a `CheckpointHandlerRegistry`, or "
              "call `restore` with an appropriate `CheckpointArgs` subclass.",
              name)
          continue
        out[name] = handler.restore(directory / name)
      return CompositeResults(**out)
    for name, item_args in args.items():
      item_dir = directory / name
      if not item_dir.exists():
        raise FileNotFoundError(
            f"Item {name!r} not found in checkpoint {directory}; available: "
            f"{_existing_items(directory)}")
      handler = self._handler_for(name, item_args)
      out[name] = handler.restore(item_dir, args=item_args)
    return CompositeResults(**out)

  def metadata(self, directory) -> metadata_lib.StepMetadata:
    """Step metadata with each item's handler metadata (None if unknown).

    As in Orbax, an item's metadata is read only by a handler this object
    knows: given at construction, in the registry, or used by an earlier
    save or restore (which resolves handlers from the recorded typestrs).
    Other items are listed with None.
    """
    directory = path_lib.as_path(directory)
    for t in self._current_temporary_paths.values():
      tmp = path_lib.as_path(t.get())
      if tmp.parent == directory and tmp != t.get_final() and tmp.exists():
        raise ValueError(
            f'Item "{tmp.name}" was found in the checkpoint, but it is a '
            "temporary item. Please call finalize() before metadata().")
    step = cm.read_step_metadata(directory) if directory.exists() else None
    recorded = step.item_handlers if step is not None else None
    if recorded is not None and not isinstance(recorded, dict):
      raise ValueError(
          f"{directory}: StepMetadata.item_handlers must be a dict for a "
          f"composite checkpoint, got {recorded!r}")
    recorded = dict(recorded or {})
    items = {}
    names = _existing_items(directory) if directory.exists() else []
    for name in names:
      handler = self._known_handler(name)
      if handler is not None:
        if recorded.get(name) is None:
          recorded[name] = handler.typestr()
        try:
          items[name] = handler.metadata(directory / name)
        except FileNotFoundError:
          items[name] = None
      else:
        recorded.setdefault(name, None)
        items[name] = None
    return metadata_lib.StepMetadata(
        item_handlers=recorded,
        item_metadata=CompositeResults(**items),
        metrics=step.metrics if step else {},
        performance_metrics=metadata_lib.save_step_statistics(
            step.performance_metrics if step else None),
        init_timestamp_nsecs=step.init_timestamp_nsecs if step else None,
        commit_timestamp_nsecs=step.commit_timestamp_nsecs if step else None,
        custom_metadata=(step.custom_metadata or {}) if step else {})

  def close(self):
    for h in self._handlers.values():
      if h is not None:
        h.close()


def _existing_items(directory) -> list[str]:
  return sorted(c.name for c in directory.iterdir()
                if c.is_dir() and not path_lib.is_tmp(c)
                and not c.name.startswith("."))


def _validate_name(name) -> None:
  if not isinstance(name, str) or not name or "/" in name or name in (
      ".", ".."):
    raise ValueError(f"Item name {name!r} must be a single path component.")


def _check_args_fit(name, handler, args) -> None:
  try:
    cls = checkpoint_args.get_registered_handler_cls(args)
  except (ValueError, TypeError):
    return  # unregistered args: the handler decides
  if not isinstance(handler, cls):
    raise ValueError(
        f"Item {name!r} with args {type(args).__name__} does not match with "
        f"any registered handler: the args belong to {cls.__name__}, but the "
        f"item's handler is {type(handler).__name__}.")


checkpoint_args.register_with_handler(
    CompositeCheckpointHandler, for_save=True, for_restore=True)(CompositeArgs)
typestrs.register_handler_type(CompositeCheckpointHandler)

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Handler registries and handler resolution for save and load."""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

from ocpx._src.handlers import types as handler_types


class AlreadyExistsError(ValueError):
  """A registry entry for this name or handler type exists already."""


class NoEntryError(KeyError):
  """No registered handler fits."""


def _type_of(handler) -> type:
  return handler if isinstance(handler, type) else type(handler)


class CheckpointableHandlerRegistry:
  """An ordered list of (handler type, checkpointable name or None)."""

  def __init__(self):
    self._entries: list[tuple[type, Optional[str]]] = []
    self._secondary: dict[type, Sequence[str]] = {}

  def add(self, handler_type, checkpointable_name: Optional[str] = None, *,
          secondary_typestrs: Optional[Sequence[str]] = None):
    # A handler instance (e.g. from CheckpointablesOptions.create_with_handlers
    # with constructor arguments) is kept and used as configured; a class is
    # default-constructed when it is resolved.
    if checkpointable_name:
      if self.has(checkpointable_name):
        raise AlreadyExistsError(
            f"An entry for checkpointable_name={checkpointable_name!r} "
            "already exists in the registry.")
    elif any(t is handler_type and n is None for t, n in self._entries):
      raise AlreadyExistsError(
          f"Handler {handler_type} already exists in the registry.")
    self._entries.append((handler_type, checkpointable_name or None))
    if secondary_typestrs is not None:
      self._secondary[_type_of(handler_type)] = tuple(secondary_typestrs)
    return self

  def get(self, checkpointable_name: str) -> type:
    for t, n in self._entries:
      if n == checkpointable_name:
        return t
    raise NoEntryError(
        f"No entry for checkpointable_name={checkpointable_name!r} in the "
        "registry.")

  def has(self, checkpointable_name: str) -> bool:
    return any(n == checkpointable_name for _, n in self._entries)

  def get_all_entries(self) -> Sequence[tuple[type, Optional[str]]]:
    return list(self._entries)

  def get_secondary_typestrs(self, handler_type: type) -> Sequence[str]:
    return self._secondary.get(_type_of(handler_type), ())

  def __repr__(self):
    return f"CheckpointableHandlerRegistry({self._entries!r})"


class ReadOnlyCheckpointableHandlerRegistry(CheckpointableHandlerRegistry):
  """A view of another registry that refuses `add`."""

  def __init__(self, registry: CheckpointableHandlerRegistry):
    super().__init__()
    self._view = registry

  def add(self, *args, **kwargs):
    raise NotImplementedError(
        "This registry is read-only; build one with local_registry() or "
        "CheckpointablesOptions.create_with_handlers().")

  def get(self, checkpointable_name):
    return self._view.get(checkpointable_name)

  def has(self, checkpointable_name):
    return self._view.has(checkpointable_name)

  def get_all_entries(self):
    return self._view.get_all_entries()

  def get_secondary_typestrs(self, handler_type):
    return self._view.get_secondary_typestrs(handler_type)


_GLOBAL_REGISTRY = CheckpointableHandlerRegistry()


def global_registry() -> CheckpointableHandlerRegistry:
  return _GLOBAL_REGISTRY


def add_all(registry, other):
  for t, n in other.get_all_entries():
    registry.add(t, n, secondary_typestrs=other.get_secondary_typestrs(t))
  return registry


def local_registry(other_registry=None, *, include_global_registry=True):
  """A new mutable registry, starting from the global one by default."""
  registry = CheckpointableHandlerRegistry()
  if include_global_registry:
    add_all(registry, global_registry())
  if other_registry is not None:
    add_all(registry, other_registry)
  return registry


def register_handler(cls, *, checkpointable_name: Optional[str] = None,
                     secondary_typestrs: Optional[Sequence[str]] = None):
  """Registers a CheckpointableHandler class globally (usable as decorator).

  Among handlers that can handle an object, the most recently registered one
  wins; a handler registered for a name is used for that name.
  """
  _GLOBAL_REGISTRY.add(cls, checkpointable_name,
                       secondary_typestrs=secondary_typestrs)
  return cls


def _construct(name, handler_type):
  if not isinstance(handler_type, type):
    return handler_type  # a configured instance, used as given
  try:
    return handler_type()
  except TypeError as e:
    raise ValueError(
        f"The CheckpointableHandler {handler_type} resolved for "
        f"checkpointable {name!r} could not be default-constructed.") from e


construct_handler = _construct


def _content_kind(directory) -> tuple[Optional[str], Optional[str]]:
  """('json', file name) for a directory holding exactly one JSON file,
  ('pytree', None) for one holding PyTree metadata or array data, else
  (None, None)."""
  import pathlib  # pylint: disable=g-import-not-at-top
  d = getattr(directory, "path", directory)
  if not hasattr(d, "iterdir"):  # str; Path and RemotePath as they are
    d = pathlib.Path(d)
  try:
    children = [c for c in d.iterdir() if not c.name.startswith(".")]
  except OSError:
    return None, None
  names = {c.name for c in children}
  if "_METADATA" in names or "manifest.ocdbt" in names or any(
      n.startswith("ocdbt.process_") for n in names):
    return "pytree", None
  files = [c for c in children if c.is_file()]
  if len(children) == 1 and len(files) == 1:
    try:
      with open(files[0], "rb") as f:
        head = f.read(1 << 20)
      if len(head) < (1 << 20):
        import json  # pylint: disable=g-import-not-at-top
        json.loads(head)
        return "json", files[0].name
    except (OSError, ValueError, UnicodeDecodeError):
      return None, None
  return None, None


def resolve_handler_by_content(registry, directory, abstract=None):
  """A handler chosen from what `directory` holds (None if unclear).

  For items saved without a recorded handler type (older Orbax
  CheckpointManager steps): a single JSON file loads with the registry's
  JSON handler, PyTree metadata or arrays with its PyTree handler.
  """
  kind, filename = _content_kind(directory)
  if kind is None:
    return None
  from ocpx._src.handlers import json_handler  # pylint: disable=g-import-not-at-top
  from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top
  want = (json_handler.JsonHandler if kind == "json"
          else pytree_handler.PyTreeHandler)
  for t, n in reversed(registry.get_all_entries()):
    cls = t if isinstance(t, type) else type(t)
    if issubclass(cls, want):
      if (kind == "json" and t is json_handler.JsonHandler
          and filename not in json_handler.supported_filenames()):
        return json_handler.JsonHandler(filename=filename)
      h = _construct(n, t)
      if abstract is None or h.is_abstract_handleable(abstract):
        return h
  return None


def _generic_candidates(registry, predicate, obj):
  out = []
  for t, n in registry.get_all_entries():
    if n is not None:
      continue
    h = _construct(n, t)
    if obj is None or predicate(h, obj):
      out.append(h)
  return out


def resolve_handler_for_save(registry, checkpointable: Any, *, name: str):
  """Picks the handler that saves `checkpointable` under `name`."""
  if checkpointable is None:
    raise ValueError(
        f"Checkpointable {name!r} is None; None cannot be saved.")
  stateful = isinstance(checkpointable, handler_types.StatefulCheckpointable)
  if not stateful and registry.has(name):
    # A handler registered for the name wins unless the object is stateful;
    # the generic candidates (whose is_handleable may walk a whole PyTree)
    # are not needed then.
    return _construct(name, registry.get(name))
  candidates = _generic_candidates(
      registry, lambda h, c: h.is_handleable(c), checkpointable)
  last = candidates[-1] if candidates else None
  if stateful and last:
    return last
  if registry.has(name):
    return _construct(name, registry.get(name))
  if last is not None:
    return last
  raise NoEntryError(
      f"Could not identify a valid handler for the checkpointable: "
      f"\"{name}\" of type {type(checkpointable).__name__}. Register one with "
      "ocpx.handlers.register_handler or CheckpointablesOptions. Registered: "
      f"{[_type_of(t).__name__ for t, _ in registry.get_all_entries()]}")


def resolve_handler_for_load(registry, abstract_checkpointable, *, name: str,
                             handler_typestr: Optional[str] = None):
  """Picks the handler that loads checkpointable `name`."""
  explicit = (_construct(name, registry.get(name))
              if registry.has(name) else None)

  def can(h, a):
    return h.is_abstract_handleable(a)

  by_typestr = None
  if handler_typestr:
    for t, n in reversed(registry.get_all_entries()):
      if n is not None and n != name:
        continue  # an entry (maybe a configured instance) for another item
      if (handler_types.typestr(t) == handler_typestr
          or handler_typestr in registry.get_secondary_typestrs(t)):
        by_typestr = _construct(n, t)
        break
    if by_typestr is None:
      logging.warning(
          "No handler registered for typestr %s; checkpointable %r may load "
          "with different logic than it was saved with.", handler_typestr,
          name)
  a = abstract_checkpointable
  if (a is not None and isinstance(a, handler_types.StatefulCheckpointable)
      and by_typestr is not None and can(by_typestr, a)):
    return by_typestr
  if explicit is not None and (a is None or can(explicit, a)):
    return explicit
  if by_typestr is not None and (a is None or can(by_typestr, a)):
    return by_typestr
  if a is not None:
    candidates = _generic_candidates(registry, can, a)
    if candidates:
      return candidates[-1]
  if explicit is not None:
    return explicit
  raise NoEntryError(
      f"Could not find a handler to load checkpointable {name!r} "
      f"(saved with {handler_typestr!r}, abstract type "
      f"{type(a).__name__}).")

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Registries of (item name, args type) -> CheckpointHandler."""

from __future__ import annotations

from typing import Optional, Protocol, Type, Union

from ocpx._src.v0 import checkpoint_args

_Args = Union[Type[checkpoint_args.CheckpointArgs],
              checkpoint_args.CheckpointArgs]


class CheckpointHandlerRegistry(Protocol):
  """Maps (item name or None, args type) to a handler instance."""

  def add(self, item: Optional[str], args: _Args, handler=None):
    ...

  def get(self, item: Optional[str], args: _Args):
    ...

  def has(self, item: Optional[str], args: _Args) -> bool:
    ...

  def get_all_entries(self) -> dict:
    ...


class AlreadyExistsError(ValueError):
  """An entry for this item and args type exists already."""


class NoEntryError(KeyError):
  """No entry for this item and args type."""


def _args_type(args: _Args) -> type:
  return args if isinstance(args, type) else type(args)


class DefaultCheckpointHandlerRegistry(CheckpointHandlerRegistry):
  """The standard registry.

  Example:
    registry = ocp.handlers.DefaultCheckpointHandlerRegistry()
    registry.add('state', ocp.args.StandardSave)      # handler found globally
    registry.add('state', ocp.args.StandardRestore)
    registry.add(None, MySave, MyHandler())           # any item with MySave
    ckptr = ocp.Checkpointer(
        ocp.CompositeCheckpointHandler(handler_registry=registry))
  """

  def __init__(self, other_registry: Optional[CheckpointHandlerRegistry] = None):
    self._registry: dict = {}
    if other_registry:
      for (item, args_type), handler in other_registry.get_all_entries().items():
        self.add(item, args_type, handler)

  def add(self, item: Optional[str], args: _Args, handler=None):
    """Adds (item, args type) -> handler (an instance, a class, or None to
    use the handler registered globally for the args type)."""
    args_type = _args_type(args)
    if self.has(item, args_type):
      raise AlreadyExistsError(
          f"Entry for item={item} and args_type={args_type} already exists "
          "in the registry.")
    if handler is None:
      try:
        handler = checkpoint_args.get_registered_handler_cls(args_type)
      except ValueError as e:
        raise ValueError(
            f"Provided a `None` `CheckpointHandler` when registering item="
            f"{item} and args_type={args_type}, and no handler is registered "
            "globally for that args type.") from e
    if isinstance(handler, type):
      try:
        handler = handler()
      except TypeError as e:
        raise ValueError(
            f"The handler {handler} registered for args_type={args_type} is "
            "not default-constructible; pass a handler instance.") from e
    self._registry[(item, args_type)] = handler

  def get(self, item: Optional[str], args: _Args):
    args_type = _args_type(args)
    if (item, args_type) in self._registry:
      return self._registry[(item, args_type)]
    raise NoEntryError(
        f"No entry for item={item} and args_ty={args_type} in the registry.")

  def has(self, item: Optional[str], args: _Args) -> bool:
    return (item, _args_type(args)) in self._registry

  def get_all_entries(self) -> dict:
    return self._registry

  def __repr__(self):
    return f"DefaultCheckpointHandlerRegistry({self._registry})"


def create_default_handler_registry(**items_to_handlers
                                    ) -> CheckpointHandlerRegistry:
  """A registry with each item's handler for its save and restore args."""
  registry = DefaultCheckpointHandlerRegistry()
  for name, handler in items_to_handlers.items():
    save_cls, restore_cls = checkpoint_args.get_registered_args_cls(handler)
    registry.add(name, save_cls, handler)
    registry.add(name, restore_cls, handler)
  return registry

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The checkpointable handler protocols."""

from __future__ import annotations

from typing import Any, Awaitable, Protocol, TypeVar, runtime_checkable

from ocpx._src.path import PathAwaitingCreation

Checkpointable = TypeVar("Checkpointable")
AbstractCheckpointable = TypeVar("AbstractCheckpointable")


@runtime_checkable
class StatefulCheckpointable(Protocol):
  """An object that saves and loads itself.

  `save` runs on the caller's thread and returns an awaitable that finishes
  the work in the background; `load` restores the object's state in place.
  """

  async def save(self, directory: PathAwaitingCreation) -> Awaitable[None]:
    ...

  async def load(self, directory) -> Awaitable[None]:
    ...


class CheckpointableHandler(Protocol[Checkpointable, AbstractCheckpointable]):
  """Save/load logic for one kind of checkpointable.

  `save(directory, checkpointable)` does its blocking work on the caller's
  thread and returns an awaitable for the background part.  `directory` is a
  `PathAwaitingCreation`: await `directory.await_creation()` before touching
  the filesystem.  `load(directory, abstract)` likewise returns an awaitable
  of the loaded checkpointable.  `metadata(directory)` returns the abstract
  checkpointable.  `is_handleable` / `is_abstract_handleable` decide whether
  this handler applies (see `ocpx.handlers.register_handler`).
  """

  async def save(self, directory: PathAwaitingCreation,
                 checkpointable: Checkpointable) -> Awaitable[None]:
    ...

  async def load(
      self, directory, abstract_checkpointable: AbstractCheckpointable | None = None
  ) -> Awaitable[Checkpointable]:
    ...

  async def metadata(self, directory) -> AbstractCheckpointable:
    ...

  def is_handleable(self, checkpointable: Any) -> bool:
    ...

  def is_abstract_handleable(self, abstract_checkpointable: Any) -> bool | None:
    ...


def typestr(handler_cls: type) -> str:
  """The handler's name as recorded in `_CHECKPOINT_METADATA`.

  Built-in handlers record the Orbax typestr, so Orbax resolves the same
  handler for checkpoints that ocpx wrote.
  """
  if not isinstance(handler_cls, type):
    handler_cls = type(handler_cls)  # a configured handler instance
  orbax = getattr(handler_cls, "_orbax_typestr", None)
  if orbax and orbax.get("cls") is handler_cls:
    return orbax["typestr"]
  return f"{handler_cls.__module__}.{handler_cls.__qualname__}"

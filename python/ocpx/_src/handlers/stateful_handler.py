# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Handler for objects implementing `StatefulCheckpointable`."""

from __future__ import annotations

from typing import Any

from ocpx._src.handlers import types as handler_types

_ORBAX_TYPESTR = (
    "orbax.checkpoint.experimental.v1._src.handlers."
    "stateful_checkpointable_handler.StatefulCheckpointableHandler")


class StatefulCheckpointableHandler:
  """Delegates to the object's own `save(directory)` / `load(directory)`."""

  def is_handleable(self, checkpointable: Any) -> bool:
    return isinstance(checkpointable, handler_types.StatefulCheckpointable)

  def is_abstract_handleable(self, abstract_checkpointable: Any) -> bool | None:
    return isinstance(abstract_checkpointable,
                      handler_types.StatefulCheckpointable)

  async def save(self, directory, checkpointable):
    return await checkpointable.save(directory)

  async def load(self, directory, abstract_checkpointable=None):
    if abstract_checkpointable is None:
      raise ValueError(
          "To restore a `StatefulCheckpointable`, you must pass an instance "
          f"of the object. ({getattr(directory, 'path', directory)}: pass the "
          "object to load into as the abstract checkpointable.)")
    background = await abstract_checkpointable.load(directory)

    async def _background():
      if background is not None:
        await background
      return abstract_checkpointable

    return _background()

  async def metadata(self, directory):
    return None


setattr(StatefulCheckpointableHandler, "_orbax_typestr", {
    "cls": StatefulCheckpointableHandler, "typestr": _ORBAX_TYPESTR})

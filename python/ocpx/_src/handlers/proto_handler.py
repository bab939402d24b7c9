# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ProtoHandler: a protocol buffer message stored as text format.

The message is written by the primary host as `<dir>/proto.pbtxt` (the file
name Orbax uses), so either library loads the other's.  Loading needs the
message class as the abstract checkpointable:

    ocp.save_checkpointables(path, {"config": my_message})
    loaded = ocp.load_checkpointables(path, {"config": MyMessage})["config"]

`google.protobuf` is imported only when a message is saved or loaded; without
it installed, no object is handleable by this handler.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Optional, Type

from ocpx._src import context as context_lib
from ocpx._src import multihost
from ocpx._src import path as path_lib

DEFAULT_FILENAME = "proto.pbtxt"
_ORBAX_TYPESTR = (
    "orbax.checkpoint.experimental.v1._src.handlers.proto_handler.ProtoHandler")
SECONDARY_TYPESTRS = (
    "orbax.checkpoint._src.handlers.proto_checkpoint_handler."
    "ProtoCheckpointHandler",
    "orbax.checkpoint.v0._src.handlers.proto_checkpoint_handler."
    "ProtoCheckpointHandler",
)


def _message_class() -> Optional[type]:
  try:
    from google.protobuf import message  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return message.Message


class ProtoHandler:
  """Saves and loads protocol buffer messages in text format.

  Args:
    filename: Name of the file inside the checkpointable's directory.
  """

  def __init__(self, filename: str = DEFAULT_FILENAME):
    self._filename = filename

  def is_handleable(self, checkpointable: Any) -> bool:
    cls = _message_class()
    return cls is not None and isinstance(checkpointable, cls)

  def is_abstract_handleable(self, abstract_checkpointable: Any) -> bool:
    cls = _message_class()
    return (cls is not None and inspect.isclass(abstract_checkpointable)
            and issubclass(abstract_checkpointable, cls))

  async def save(self, directory, checkpointable) -> Awaitable[None]:
    from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
    if not self.is_handleable(checkpointable):
      raise ValueError(
          f"ProtoHandler saves protocol buffer messages, got "
          f"{type(checkpointable).__name__}")
    text = text_format.MessageToString(checkpointable)
    primary = context_lib.get_context().multiprocessing_options.primary_host
    filename = self._filename

    async def _background():
      if primary is not None and primary != multihost.process_index():
        return
      if isinstance(directory, path_lib.PathAwaitingCreation):
        d = await directory.await_creation()
      else:
        d = path_lib.as_path(directory)
      await asyncio.to_thread(path_lib.write_file_durably, d / filename, text)

    return _background()

  async def load(self, directory, abstract_checkpointable: Optional[
      Type[Any]] = None) -> Awaitable[Any]:
    if abstract_checkpointable is None:
      raise ValueError(
          "abstract_checkpointable must be provided to restore as a Proto.")
    if not self.is_abstract_handleable(abstract_checkpointable):
      raise ValueError(
          "abstract_checkpointable must be a protocol buffer message class, "
          f"got {abstract_checkpointable!r}")
    from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
    path = path_lib.as_path(getattr(directory, "path", directory)) / (
        self._filename)

    async def _background():
      text = await asyncio.to_thread(path.read_text)
      return text_format.Parse(text, abstract_checkpointable())

    return _background()

  async def metadata(self, directory) -> Type[Any]:
    raise NotImplementedError(
        "ProtoHandler has no metadata: the message class is not recorded in "
        "the checkpoint.")


setattr(ProtoHandler, "_orbax_typestr",
        {"cls": ProtoHandler, "typestr": _ORBAX_TYPESTR})

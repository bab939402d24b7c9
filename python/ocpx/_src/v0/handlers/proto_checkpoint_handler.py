# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ProtoCheckpointHandler: a protobuf message in text format."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Type

import jax

from ocpx._src import path as path_lib
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import typestrs


class ProtoCheckpointHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Saves a protobuf message as `<directory>/<filename>` (text format).

  Example:
    ckptr = ocp.Checkpointer(ocp.ProtoCheckpointHandler())
    ckptr.save(path, args=ocp.args.ProtoSave(msg))
    ckptr.restore(path, args=ocp.args.ProtoRestore(type(msg)))
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("proto_checkpoint_handler",
                                          "ProtoCheckpointHandler")

  def __init__(self, filename: str = "proto.pbtxt", *,
               multiprocessing_options: options_lib.MultiprocessingOptions = (
                   options_lib.MultiprocessingOptions())):
    self._filename = filename
    self._mp = multiprocessing_options or options_lib.MultiprocessingOptions()

  async def async_save(self, directory, item=None,
                       args: Optional["ProtoSaveArgs"] = None
                       ) -> Optional[List[future_lib.Future]]:
    from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
    if args is None:
      args = ProtoSaveArgs(item)
    text = text_format.MessageToString(args.item)
    primary = self._mp.primary_host
    if primary is not None and primary != jax.process_index():
      return []
    target = directory

    def write():
      d = (target.wait() if isinstance(target, path_lib.PathAwaitingCreation)
           else path_lib.as_path(target))
      path_lib.write_file_durably(d / self._filename, text)
    return [future_lib.ThreadFuture(write, name="ocpx-v0-proto-save")]

  def restore(self, directory, item: Optional[Type] = None,
              args: Optional["ProtoRestoreArgs"] = None):
    """Parses the saved text into a new message of class `item`."""
    from google.protobuf import text_format  # pylint: disable=g-import-not-at-top
    if args is None:
      args = ProtoRestoreArgs(item)  # type: ignore[arg-type]  # checked below
    if args.item is None:
      raise ValueError(
          f"{directory}: restoring a proto needs its message class: "
          "ocp.args.ProtoRestore(MessageClass).")
    f = path_lib.as_path(directory) / self._filename
    if not f.exists():
      raise FileNotFoundError(f"Proto file not found: {f}")
    return text_format.Parse(f.read_text(), args.item())


@checkpoint_args.register_with_handler(ProtoCheckpointHandler, for_save=True)
@dataclasses.dataclass
class ProtoSaveArgs(checkpoint_args.CheckpointArgs):
  """Saves a protobuf message (`item`)."""

  item: object


@checkpoint_args.register_with_handler(ProtoCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class ProtoRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores a protobuf message; `item` is its message class."""

  item: Type


typestrs.register_handler_type(ProtoCheckpointHandler)

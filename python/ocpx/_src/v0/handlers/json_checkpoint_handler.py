# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""JsonCheckpointHandler: a JSON-serializable object in one file."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, List, Mapping, Optional

import jax

from ocpx._src import path as path_lib
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import typestrs


def _is_primary(mp) -> bool:
  return mp.primary_host is None or mp.primary_host == jax.process_index()


class JsonCheckpointHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Saves a JSON-serializable item as `<directory>/<filename>`.

  Example:
    ckptr = ocp.Checkpointer(ocp.JsonCheckpointHandler())
    ckptr.save(path, args=ocp.args.JsonSave({'lr': 0.1}))
    ckptr.restore(path, args=ocp.args.JsonRestore())   # {'lr': 0.1}
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("json_checkpoint_handler",
                                          "JsonCheckpointHandler")

  def __init__(self, filename: Optional[str] = None, *,
               multiprocessing_options: options_lib.MultiprocessingOptions = (
                   options_lib.MultiprocessingOptions())):
    self._filename = filename or "metadata"
    self._mp = multiprocessing_options or options_lib.MultiprocessingOptions()

  async def async_save(self, directory, item: Optional[Mapping[str, Any]] = None,
                       args: Optional["JsonSaveArgs"] = None
                       ) -> Optional[List[future_lib.Future]]:
    if args is None:
      args = JsonSaveArgs(item)  # type: ignore[arg-type]  # as Orbax
    target = directory
    try:
      text = json.dumps(args.item)
    except (TypeError, ValueError) as e:
      raise TypeError(f"{getattr(target, 'path', target)}: the item is not "
                      f"JSON-serializable: {e}") from e
    if not _is_primary(self._mp):
      return []

    def write():
      d = (target.wait() if isinstance(target, path_lib.PathAwaitingCreation)
           else path_lib.as_path(target))
      path_lib.write_file_durably(d / self._filename, text)
    return [future_lib.ThreadFuture(write, name="ocpx-v0-json-save")]

  def save(self, directory, item: Optional[Mapping[str, Any]] = None,
           args: Optional["JsonSaveArgs"] = None):
    if args is None:
      args = JsonSaveArgs(item)  # type: ignore[arg-type]  # as Orbax
    if _is_primary(self._mp):
      d = path_lib.as_path(directory)
      path_lib.write_file_durably(d / self._filename, json.dumps(args.item))

  def restore(self, directory, item: Optional[Mapping[str, Any]] = None,
              args: Optional["JsonRestoreArgs"] = None) -> Any:
    del item, args
    d = path_lib.as_path(directory)
    f = d / self._filename
    if not f.exists():
      # v1 JsonHandler writes data.json; read it under the v0 API too.
      alt = d / "data.json"
      if alt.exists() and self._filename == "metadata":
        f = alt
      else:
        raise FileNotFoundError(f"JSON file not found: {f}")
    try:
      return json.loads(f.read_text())
    except (ValueError, UnicodeDecodeError) as e:
      raise ValueError(f"{f}: not valid JSON: {e}") from e

  def metadata(self, directory) -> None:
    del directory
    return None


@checkpoint_args.register_with_handler(JsonCheckpointHandler, for_save=True)
@dataclasses.dataclass
class JsonSaveArgs(checkpoint_args.CheckpointArgs):
  """Saves a JSON-serializable item (`item`)."""

  item: Mapping[str, Any]


@checkpoint_args.register_with_handler(JsonCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class JsonRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores a JSON item (`item` is unused, kept for compatibility)."""

  item: Optional[bytes] = None


typestrs.register_handler_type(JsonCheckpointHandler)

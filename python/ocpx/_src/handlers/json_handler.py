# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""JsonHandler: a JSON-serializable object stored as one JSON file."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Optional

from ocpx._src import path as path_lib
from ocpx._src import json_util

_ORBAX_JSON_TYPESTR = (
    "orbax.checkpoint.experimental.v1._src.handlers.json_handler.JsonHandler")
SECONDARY_TYPESTRS = (
    "orbax.checkpoint._src.handlers.json_checkpoint_handler."
    "JsonCheckpointHandler",
    "orbax.checkpoint.v0._src.handlers.json_checkpoint_handler."
    "JsonCheckpointHandler",
)
_READ_NAMES = ("data.json", "metadata")


def _is_json(x: Any) -> bool:
  if x is None or isinstance(x, (str, bool, int, float)):
    return True
  if isinstance(x, (list, tuple)):
    return all(_is_json(v) for v in x)
  if isinstance(x, dict):
    return all(isinstance(k, str) and _is_json(v) for k, v in x.items())
  return False


class JsonHandler:
  """Saves a JSON-serializable dict or list as `<dir>/data.json`."""

  def __init__(self, filename: Optional[str] = None):
    self._filename = filename or "data.json"

  def is_handleable(self, checkpointable: Any) -> bool:
    return isinstance(checkpointable, (dict, list)) and _is_json(checkpointable)

  def is_abstract_handleable(self, abstract_checkpointable: Any) -> bool | None:
    return abstract_checkpointable is None or self.is_handleable(
        abstract_checkpointable)

  async def save(self, directory, checkpointable):
    text = json.dumps(checkpointable)
    fname = self._filename

    async def _background():
      def _write():
        d = directory.wait() if isinstance(
            directory, path_lib.PathAwaitingCreation) else path_lib.as_path(
                directory)
        path_lib.write_file_durably(d / fname, text)
      await asyncio.get_running_loop().run_in_executor(None, _write)

    return _background()

  def _find(self, directory):
    d = path_lib.as_path(getattr(directory, "path", directory))
    names = (self._filename,) + tuple(n for n in _READ_NAMES
                                      if n != self._filename)
    for n in names:
      if (d / n).is_file():
        return d / n
    raise FileNotFoundError(
        f"{d}: no JSON checkpointable file (looked for {list(names)})")

  def load_now(self, directory, abstract_checkpointable=None):
    f = self._find(directory)
    return json_util.read_json(f)

  async def load(self, directory, abstract_checkpointable=None):
    f = self._find(directory)

    async def _background():
      return self.load_now(f.parent, abstract_checkpointable)

    return _background()

  async def metadata(self, directory):
    return self.load_now(directory)


JsonHandler._orbax_typestr = {"cls": JsonHandler,
                              "typestr": _ORBAX_JSON_TYPESTR}

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""JsonHandler: a JSON value stored as one JSON file."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Optional

from ocpx._src import blocking
from ocpx._src import context as context_lib
from ocpx._src import multihost
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
_DEFAULT_FILENAME = "data.json"


def supported_filenames(filename: Optional[str] = None) -> list[str]:
  """The file names a JsonHandler reads, in order of preference."""
  return [filename or _DEFAULT_FILENAME, _DEFAULT_FILENAME, "metadata"]


def _is_json(x: Any) -> bool:
  try:
    json.loads(json.dumps(x))
  except (TypeError, ValueError, OverflowError, RecursionError):
    return False
  return True


async def _await_directory(directory) -> pathlib.Path:
  """The directory to write into, once it exists: ocpx's or Orbax's
  PathAwaitingCreation (anything with `await_creation()`), or a path."""
  awaiting = getattr(directory, "await_creation", None)
  if awaiting is not None:
    return path_lib.as_path(await awaiting())
  return path_lib.as_path(getattr(directory, "path", directory))


class JsonHandler:
  """Saves any JSON value (dict, list, str, number, bool, None) as one file.

  The value is written to `<directory>/<filename>` (`data.json` by default);
  loading reads the first of `filename`, `data.json` and `metadata` that
  exists (Orbax's v0 JsonCheckpointHandler wrote `metadata`).

  Example:
    >>> registry = ocp.handlers.local_registry()
    >>> registry.add(ocp.handlers.JsonHandler, checkpointable_name="config")
    >>> with ocp.Context(checkpointables_options=
    ...                  ocp.options.CheckpointablesOptions(registry=registry)):
    ...   ocp.save_checkpointables(path, {"config": {"lr": 0.1}})
  """

  def __init__(self, filename: Optional[str] = None):
    self._supported = supported_filenames(filename)
    self._filename = self._supported[0]

  def is_handleable(self, checkpointable: Any) -> bool:
    return _is_json(checkpointable)

  def is_abstract_handleable(self, abstract_checkpointable: Any) -> bool | None:
    del abstract_checkpointable  # JSON has no abstract form.
    return None

  async def save(self, directory, checkpointable):
    text = json.dumps(checkpointable)
    primary = context_lib.get_context().multiprocessing_options.primary_host
    fname = self._filename

    async def _background():
      d = await _await_directory(directory)
      if primary is None or primary == multihost.process_index():
        await blocking.run_blocking(path_lib.write_file_durably, d / fname,
                                    text)

    return _background()

  def _find(self, directory) -> pathlib.Path:
    d = path_lib.as_path(getattr(directory, "path", directory))
    for n in self._supported:
      if (d / n).is_file():
        return d / n
    raise FileNotFoundError(
        f"Unable to find a JSON file in {d}; recognized file names are "
        f"{self._supported}.")

  def load_now(self, directory, abstract_checkpointable=None):
    del abstract_checkpointable
    f = self._find(directory)
    return json_util.read_json(f)

  async def load(self, directory, abstract_checkpointable=None):
    f = self._find(directory)

    async def _background():
      return self.load_now(f.parent)

    return _background()

  async def metadata(self, directory) -> None:
    """A JSON item has no metadata apart from its value: None."""
    del directory
    return None


setattr(JsonHandler, "_orbax_typestr",
        {"cls": JsonHandler, "typestr": _ORBAX_JSON_TYPESTR})

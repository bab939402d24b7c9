# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`CheckpointHandler` and `AsyncCheckpointHandler`: the v0 handler bases."""

from __future__ import annotations

import abc
import asyncio
from typing import Any, List, Optional

from ocpx._src.v0.handlers import typestrs


class CheckpointHandler(abc.ABC):
  """Saves and restores one kind of object in a directory.

  A Checkpointer calls `save(directory, args=...)` on a temporary directory,
  then `finalize(directory)` on the primary process once every process has
  saved, and commits.  `restore(directory, args=...)` reads it back.

  Example:
    class TextHandler(ocp.CheckpointHandler):
      def save(self, directory, args):
        (directory / "text").write_text(args.item)
      def restore(self, directory, args=None):
        return (directory / "text").read_text()
  """

  @abc.abstractmethod
  def save(self, directory, *args, **kwargs):
    """Saves the given item into `directory` (which exists)."""

  @abc.abstractmethod
  def restore(self, directory, *args, **kwargs) -> Any:
    """Restores the item saved in `directory`."""

  def metadata(self, directory) -> Optional[Any]:
    """Metadata of the saved item, without reading it; None if unknown."""
    del directory
    return None

  def finalize(self, directory) -> None:
    """Runs on the primary process after every process has saved."""
    del directory

  def close(self):
    """Releases resources held by the handler."""

  @classmethod
  def typestr(cls) -> str:
    """The name recorded for this handler in `_CHECKPOINT_METADATA`."""
    return typestrs.typestr_of(cls)


class AsyncCheckpointHandler(CheckpointHandler):
  """A handler whose save runs partly in the background.

  `async_save` does the blocking work (e.g. device-to-host copies) and
  returns futures for the rest (writing files); `save` waits for them.
  """

  @abc.abstractmethod
  async def async_save(self, directory, *args, **kwargs) -> Optional[List[Any]]:
    """Starts a save; returns futures (with `.result()`) for the rest."""

  def save(self, directory, *args, **kwargs):
    futures = _run(self.async_save(directory, *args, **kwargs))
    for f in futures or ():
      f.result()


def _run(coro):
  """Runs a coroutine to completion from synchronous code."""
  from ocpx._src.saving import _run_coroutine  # pylint: disable=g-import-not-at-top
  return _run_coroutine(coro)


def run_async(coro):
  return _run(coro)


async def as_coroutine(value):
  return value


def event_loop_running() -> bool:
  try:
    asyncio.get_running_loop()
    return True
  except RuntimeError:
    return False

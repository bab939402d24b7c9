# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Deleting steps without blocking saves and without half-deleted steps.

A step is first renamed out of the listed namespace (one atomic `rename`):
into `<root>/<todelete_subdir>/<name>` when the user asked to keep deleted
steps there (Orbax's `todelete_subdir`), otherwise into the hidden trash
`<root>/.ocpx-trash/<name>.<nonce>`, whose contents a worker thread removes.
A crash between the two leaves only trash, which the next manager on the
directory finishes deleting; no reader ever sees a half-deleted step.
"""

from __future__ import annotations

import logging
import os
import pathlib
import queue
import shutil
import threading
import uuid
from typing import Any, Callable, Optional, cast

from ocpx._src import path as path_lib

TRASH_DIR = ".ocpx-trash"


class StepDeleter:
  """Renames steps away at once and removes them on a worker thread.

  Errors never stop the worker: each one is passed to `on_error(step, exc)`
  and the next deletion proceeds.
  """

  def __init__(self, root: pathlib.Path, *, todelete_subdir: Optional[str],
               on_error: Callable[[Optional[int], BaseException], None],
               num_threads: int = 1):
    self._root = root
    self._todelete_subdir = todelete_subdir
    self._on_error = on_error
    self._queue: "queue.Queue[tuple[Optional[int], pathlib.Path]]" = (
        queue.Queue())
    self._pending = 0
    self._idle = threading.Condition()
    self._threads: list[threading.Thread] = []
    self._num_threads = max(1, int(num_threads))

  @property
  def trash(self) -> pathlib.Path:
    return self._root / TRASH_DIR

  def _start_worker(self):
    self._threads = [t for t in self._threads if t.is_alive()]
    while len(self._threads) < min(self._num_threads, self._pending):
      t = threading.Thread(target=self._work, daemon=True,
                           name="ocpx-step-deleter")
      t.start()
      self._threads.append(t)

  def _work(self):
    while True:
      step, path = self._queue.get()
      try:
        _remove_tree(path)
      except BaseException as e:  # pylint: disable=broad-except
        self._on_error(step, e)
      finally:
        with self._idle:
          self._pending -= 1
          if self._pending == 0:
            try:
              self.trash.rmdir()  # only when empty; Orbax never sees it
            except OSError:
              pass
          self._idle.notify_all()

  def _enqueue(self, step: Optional[int], path: pathlib.Path):
    with self._idle:
      self._pending += 1
    self._queue.put((step, path))
    self._start_worker()

  def delete(self, step: int, step_path: pathlib.Path) -> None:
    """Takes `step_path` out of the listing now; removes it (maybe later)."""
    if path_lib.uses_commit_file(step_path):
      if self._todelete_subdir:
        # No rename on object stores: the step is copied (its commit marker
        # with it) under the subdirectory, then deleted here.
        dest = self._root / self._todelete_subdir / step_path.name
        src, dst = cast(Any, step_path), cast(Any, dest)
        src.store.copy_prefix(src.key + "/", dst.key + "/",
                              last=path_lib.COMMIT_SUCCESS_FILE)
      # Object store: without its commit marker the step is no longer
      # listed; its objects are deleted by prefix (with retries) later.
      (step_path / path_lib.COMMIT_SUCCESS_FILE).unlink(missing_ok=True)
      self._enqueue(step, step_path)
      return
    if self._todelete_subdir:
      dest_dir = self._root / self._todelete_subdir
      dest_dir.mkdir(parents=True, exist_ok=True)
      os.replace(step_path, dest_dir / step_path.name)
      return
    self.trash.mkdir(exist_ok=True)
    dest = self.trash / f"{step_path.name}.{uuid.uuid4().hex[:12]}"
    os.rename(step_path, dest)
    self._enqueue(step, dest)

  def resume(self) -> None:
    """Finishes deletions a crashed process left in the trash."""
    try:
      leftovers = list(self.trash.iterdir())
    except (FileNotFoundError, NotADirectoryError):
      return
    for p in leftovers:
      self._enqueue(None, p)

  def wait(self, timeout: Optional[float] = None) -> bool:
    """Blocks until queued deletions are done; False on timeout."""
    with self._idle:
      return self._idle.wait_for(lambda: self._pending == 0, timeout)

  def pending(self) -> int:
    with self._idle:
      return self._pending


def _remove_tree(path: pathlib.Path) -> None:
  if path_lib.uses_commit_file(path):
    path_lib.rmtree(path)
    return
  if path.is_symlink() or path.is_file():
    path.unlink()
  elif path.exists():
    shutil.rmtree(path)
  logging.debug("ocpx: deleted %s", path)

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`AsyncCheckpointer`: `save` returns after the host copies; the rest runs
in the background.

Errors of a background save are never dropped: the next `save`,
`wait_until_finished`, `check_for_errors`, `restore` and `close` raise them
(each error once).
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any, Optional

from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.checkpointers import checkpointer as checkpointer_lib
from ocpx._src.v0.handlers import checkpoint_handler


class AsyncCheckpointer(checkpointer_lib.Checkpointer):
  """A Checkpointer whose saves finish in a background thread.

  Example:
    ckptr = ocp.AsyncCheckpointer(ocp.StandardCheckpointHandler())
    ckptr.save(path, args=ocp.args.StandardSave(state))
    ...                                   # training continues
    ckptr.wait_until_finished()           # raises if the save failed
  """

  def __init__(
      self,
      handler: checkpoint_handler.AsyncCheckpointHandler,
      timeout_secs: Optional[int] = None,
      *,
      async_options: options_lib.AsyncOptions = options_lib.AsyncOptions(),
      multiprocessing_options: options_lib.MultiprocessingOptions = (
          options_lib.MultiprocessingOptions()),
      file_options: Optional[options_lib.FileOptions] = None,
      atomicity_options: Optional[options_lib.AtomicityOptions] = None,
      checkpoint_metadata_store: Any = None,
      temporary_path_class: Optional[type] = None,
  ):
    if not isinstance(handler, checkpoint_handler.AsyncCheckpointHandler):
      raise TypeError(
          f"AsyncCheckpointer needs an AsyncCheckpointHandler, got "
          f"{type(handler).__name__}")
    super().__init__(
        handler, multiprocessing_options=multiprocessing_options,
        file_options=file_options or options_lib.FileOptions(),
        atomicity_options=atomicity_options,
        checkpoint_metadata_store=checkpoint_metadata_store,
        temporary_path_class=temporary_path_class)
    self._async_options = async_options or options_lib.AsyncOptions()
    self._timeout_secs = (timeout_secs if timeout_secs is not None
                          else self._async_options.timeout_secs)
    self._lock = threading.Lock()
    self._thread: Optional[threading.Thread] = None
    self._op: Optional[checkpointer_lib._SaveOperation] = None  # pylint: disable=protected-access
    self._error: Optional[BaseException] = None

  def _timeout(self) -> float:
    return float(self._timeout_secs)

  # -- background ---------------------------------------------------------------
  def _run(self, op):
    try:
      op.commit()
    except checkpointer_lib._Cancelled:  # pylint: disable=protected-access
      pass
    except BaseException as e:  # pylint: disable=broad-except
      with self._lock:
        if op.cancelled.is_set():
          return
        self._error = e
      return
    callback = self._async_options.post_finalization_callback
    if callback is not None:
      try:
        callback()
      except BaseException as e:  # pylint: disable=broad-except
        with self._lock:
          self._error = e

  def _raise_pending(self):
    with self._lock:
      error, self._error = self._error, None
    if error is not None:
      raise error

  def _join(self):
    thread = self._thread
    if thread is not None and thread is not threading.current_thread():
      thread.join()
    self._thread = None
    self._op = None

  # -- API ----------------------------------------------------------------------
  def save(self, directory, *args, force: bool = False,
           custom_metadata: dict[str, Any] | None = None,
           save_context: checkpointer_lib.SaveContext | None = None,
           **kwargs):
    """Starts a save; returns once device data has been copied to host.

    Waits for the previous save first, raising its error if it failed.
    """
    del save_context
    self.wait_until_finished()
    ckpt_args = checkpointer_lib.construct_checkpoint_args(
        self._handler, True, *args, **kwargs)
    op = checkpointer_lib._SaveOperation(  # pylint: disable=protected-access
        self, directory, ckpt_args, args, kwargs, force=force,
        custom_metadata=custom_metadata, is_async=True,
        timeout_secs=self._timeout(),
        barrier_sync_fn=self._async_options.barrier_sync_fn)
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(self._run, op),
        name=f"ocpx-v0-async-save:{op.final.name}", daemon=True)
    self._op = op
    self._thread = thread
    thread.start()

  def wait_until_finished(self):
    """Blocks until the current save is committed; raises its error."""
    self._join()
    self._raise_pending()

  def check_for_errors(self):
    """Raises the error of a finished background save, without blocking."""
    thread = self._thread
    if thread is not None and not thread.is_alive():
      self._join()
    self._raise_pending()

  def cancel(self):
    """Abandons the current save: nothing of it is committed."""
    op = self._op
    if op is not None:
      op.cancelled.set()
    self._thread = None
    self._op = None

  def restore(self, directory, *args, **kwargs) -> Any:
    self.wait_until_finished()
    return super().restore(directory, *args, **kwargs)

  def metadata(self, directory):
    self.wait_until_finished()
    return super().metadata(directory)

  def is_saving_in_progress(self) -> bool:
    thread = self._thread
    return thread is not None and thread.is_alive()

  def close(self):
    """Waits for the current save (raising its error) and closes."""
    try:
      self.wait_until_finished()
    finally:
      self._handler.close()

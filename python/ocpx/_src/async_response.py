# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`AsyncResponse`: the handle of work running on a background thread."""

from __future__ import annotations

import contextvars
import threading
import time
from typing import Any, Callable, Generic, Optional, TypeVar

T = TypeVar("T")

_GRACE_SECS = 3.0


class AsyncResponse(Generic[T]):
  """Result of an async save or load.

  `result(timeout=None)` blocks until the work is done and returns its value,
  re-raising any exception from the background thread.  `on_complete(fn)`
  registers `fn(result)` to run after success, with the operation's result
  (None for a save, the loaded value for a load), as in Orbax.
  """

  def __init__(self, fn: Callable[[], T], *, name: str = "ocpx",
               timeout_secs: Optional[float] = None):
    self._value: Any = None
    self._error: Optional[BaseException] = None
    self._done = threading.Event()
    self._callbacks: list = []
    self._lock = threading.Lock()
    self._deadline = (time.monotonic() + timeout_secs
                      if timeout_secs is not None else None)
    # The background work runs in a copy of the caller's contextvars, so it
    # sees the `ocpx.Context` that was active when the operation started.
    self._thread: Optional[threading.Thread] = threading.Thread(
        target=contextvars.copy_context().run, args=(self._run, fn),
        name=name, daemon=True)
    self._thread.start()

  def _run(self, fn):
    try:
      self._value = fn()
    except BaseException as e:  # pylint: disable=broad-except
      self._error = e
    finally:
      with self._lock:
        self._done.set()
        callbacks = list(self._callbacks) if self._error is None else []
      for cb in callbacks:
        cb(self._value)

  @property
  def deadline(self) -> Optional[float]:
    return self._deadline

  def done(self) -> bool:
    return self._done.is_set()

  def result(self, timeout: Optional[float] = None) -> T:
    wait = timeout
    if self._deadline is not None:
      left = max(0.0, self._deadline - time.monotonic())
      wait = left if wait is None else min(wait, left)
    if not self._done.wait(wait):
      if timeout is None or (wait is not None and wait < timeout):
        # The operation's own deadline passed.  Give the background a moment
        # to report its own, more specific error (e.g. which processes are
        # missing) before falling back to a generic one.
        if self._done.wait(_GRACE_SECS):
          self._join()
          if self._error is not None:
            raise self._error
          return self._value
        raise TimeoutError(
            "The background operation exceeded AsyncOptions.timeout_secs; "
            "it was abandoned and nothing was committed.")
      raise TimeoutError(f"The operation did not finish within {timeout} s")
    self._join()
    if self._error is not None:
      raise self._error
    return self._value

  def _join(self):
    # Callbacks run on the background thread and may call result() there.
    if self._thread is not None and threading.current_thread() is not self._thread:
      self._thread.join()

  def on_complete(self, callback: Callable[[T], None]) -> None:
    """Calls `callback(result)` once the operation succeeds (at once if it
    already has); not called if it fails."""
    with self._lock:
      if not self._done.is_set():
        self._callbacks.append(callback)
        return
    if self._error is None:
      callback(self._value)


class CompletedResponse(AsyncResponse[T]):
  """An AsyncResponse that is already finished (value or error)."""

  def __init__(self, value: Any = None, error: Optional[BaseException] = None):
    self._value = value
    self._error = error
    self._done = threading.Event()
    self._done.set()
    self._callbacks = []
    self._lock = threading.Lock()
    self._deadline = None
    self._thread = None  # nothing runs in the background

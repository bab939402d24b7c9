# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`AsyncResponse`: the handle of work running on a background thread."""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
from typing import Any, Callable, Generic, Optional, TypeVar

T = TypeVar("T")

_GRACE_SECS = 3.0
# How long a background thread waits for the next operation before it ends.
_IDLE_SECS = 30.0


class _Workers:
  """Daemon threads that run background operations, kept for reuse.

  Starting a thread costs 0.3-0.5 ms on a 2-CPU machine (`Thread.start`
  waits until the new thread runs), a quarter of what a small `save_async`
  takes to return.  A finished operation's thread waits `_IDLE_SECS` for
  the next one; handing it one is a queue put, which does not wait.  Each
  operation still gets a thread of its own: none queues behind another.
  """

  def __init__(self):
    self._lock = threading.Lock()
    self._idle: list[queue.SimpleQueue] = []

  def reset(self) -> None:
    """After fork: the parent's threads do not exist in the child."""
    self._lock = threading.Lock()
    self._idle = []

  def run(self, job: Callable[[], None], name: str) -> None:
    with self._lock:
      inbox = self._idle.pop() if self._idle else None
    if inbox is not None:
      inbox.put((job, name))
      return
    inbox = queue.SimpleQueue()
    inbox.put((job, name))
    threading.Thread(target=self._loop, args=(inbox,), name=name,
                     daemon=True).start()

  def _loop(self, inbox: queue.SimpleQueue) -> None:
    me = threading.current_thread()
    item = inbox.get()
    while True:
      job, name = item
      me.name = name
      try:
        job()  # AsyncResponse._run: reports its own errors
      finally:
        me.name = "ocpx-idle"
        # An idle thread must not keep the last operation's objects (its
        # tree, its host copies) alive.
        item = job = None  # pylint: disable=unused-variable
      with self._lock:
        self._idle.append(inbox)
      try:
        item = inbox.get(timeout=_IDLE_SECS)
      except queue.Empty:
        with self._lock:
          if inbox in self._idle:  # nobody took this thread: end it
            self._idle.remove(inbox)
            return
        item = inbox.get()  # taken just now: its job is on the way


_WORKERS = _Workers()
if hasattr(os, "register_at_fork"):
  os.register_at_fork(after_in_child=_WORKERS.reset)


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
    # Set once the callbacks have run too (they run after `_done`, on the
    # background thread, and may call result() there).
    self._finished = threading.Event()
    self._worker: Optional[threading.Thread] = None
    # The background work runs in a copy of the caller's contextvars, so it
    # sees the `ocpx.Context` that was active when the operation started.
    ctx = contextvars.copy_context()
    _WORKERS.run(lambda: ctx.run(self._run, fn), name)

  def _run(self, fn):
    self._worker = threading.current_thread()
    try:
      self._value = fn()
    except BaseException as e:  # pylint: disable=broad-except
      self._error = e
    finally:
      try:
        with self._lock:
          self._done.set()
          callbacks = list(self._callbacks) if self._error is None else []
        for cb in callbacks:
          cb(self._value)
      finally:
        self._finished.set()

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
    if self._worker is not threading.current_thread():
      self._finished.wait()

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
    self._finished = self._done  # nothing runs in the background
    self._worker = None

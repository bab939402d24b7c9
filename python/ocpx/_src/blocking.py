# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Running blocking work from a coroutine on a thread of its own.

`await run_blocking(fn, *args)` is `loop.run_in_executor(None, fn, *args)`
without the executor: each call starts one short-lived thread.  A save or
load runs its coroutines under a fresh `asyncio.run`, whose default executor
would be created, and joined at shutdown, on every call; a bare thread
costs tens of microseconds, and the first call of a process does not import
`concurrent.futures.thread` (~10 ms from a cold page cache).  As with the
executor, `fn` runs with a fresh `contextvars` context.

Example:
  >>> import asyncio
  >>> asyncio.run(run_blocking(sum, [1, 2]))
  3
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def _settle(fut: asyncio.Future, ok: bool, value: Any) -> None:
  if fut.cancelled():
    return
  if ok:
    fut.set_result(value)
  else:
    fut.set_exception(value)


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
  """Runs `fn(*args)` on a new thread; returns (or raises) its outcome."""
  loop = asyncio.get_running_loop()
  fut: asyncio.Future = loop.create_future()

  def target():
    try:
      outcome = (True, fn(*args))
    except BaseException as e:  # pylint: disable=broad-except
      outcome = (False, e)
    try:
      loop.call_soon_threadsafe(_settle, fut, *outcome)
    except RuntimeError:  # the loop was closed (the awaiting task is gone)
      pass

  threading.Thread(target=target, name="ocpx-blocking", daemon=True).start()
  return await fut

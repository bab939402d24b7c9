# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Futures returned by `AsyncCheckpointHandler.async_save`."""

from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, runtime_checkable

from ocpx._src import async_response


@runtime_checkable
class Future(Protocol):
  """Anything with `result(timeout=None)` that blocks until work is done."""

  def result(self, timeout: Optional[float] = None) -> Any:
    ...


class ThreadFuture(async_response.AsyncResponse):
  """Runs `fn` on a background thread; `result()` re-raises its error.

  Example:
    f = ThreadFuture(lambda: write_files(...))
    f.result()  # waits, raises what write_files raised
  """

  def __init__(self, fn: Callable[[], Any], *, name: str = "ocpx-v0"):
    super().__init__(fn, name=name)


class CompletedFuture:
  """A future that is already done (with `value`)."""

  def __init__(self, value: Any = None):
    self._value = value

  def result(self, timeout: Optional[float] = None) -> Any:
    del timeout
    return self._value

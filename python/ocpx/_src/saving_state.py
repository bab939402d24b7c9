# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Whether the save being prepared on this thread is asynchronous."""

import contextlib
import contextvars

_ASYNC = contextvars.ContextVar("ocpx_async_save", default=False)


def is_async_save() -> bool:
  return _ASYNC.get()


@contextlib.contextmanager
def async_save(is_async: bool):
  token = _ASYNC.set(is_async)
  try:
    yield
  finally:
    _ASYNC.reset(token)


class Finalize:
  """Returned by a handler's background save for work that must run on the
  primary process after every process has written (e.g. the OCDBT merge)."""

  def __init__(self, fn):
    self.fn = fn

  def __call__(self):
    return self.fn()

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The deprecated v1 names `save_pytree`, `load_pytree`, `pytree_metadata`...

Each behaves exactly as its replacement and emits a DeprecationWarning
naming it (`__deprecated__` holds the message, as `warnings.deprecated` sets
it).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from ocpx._src import loading
from ocpx._src import saving


def _deprecated(replacement: Callable[..., Any], message: str):

  def decorate(name: str) -> Callable[..., Any]:

    @functools.wraps(replacement)
    def wrapper(*args, **kwargs):
      warnings.warn(f"{name} is deprecated. {message}", DeprecationWarning,
                    stacklevel=2)
      return replacement(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    setattr(wrapper, "__deprecated__", message)
    return wrapper

  return decorate


save_pytree = _deprecated(saving.save, "Use `save` instead.")("save_pytree")
save_pytree_async = _deprecated(
    saving.save_async, "Use `save_async` instead.")("save_pytree_async")
load_pytree = _deprecated(loading.load, "Use `load` instead.")("load_pytree")
load_pytree_async = _deprecated(
    loading.load_async, "Use `load_async` instead.")("load_pytree_async")
pytree_metadata = _deprecated(
    loading.metadata, "Use `metadata` instead.")("pytree_metadata")

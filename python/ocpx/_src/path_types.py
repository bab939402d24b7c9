# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Path type names of the v1 API (`ocpx.v1.path`)."""

from __future__ import annotations

import os
import pathlib
from typing import Protocol, Union, runtime_checkable

Path = pathlib.Path
PathLike = Union[str, os.PathLike]


@runtime_checkable
class PathAwaitingCreation(Protocol):
  """A directory that exists only once `await_creation()` has returned.

  `.path` and `/` may be used at once (they are logical); touch the
  filesystem only after `path = await directory.await_creation()`.
  ocpx's own implementation is `ocpx._src.path.PathAwaitingCreation`.
  """

  def __truediv__(self, other: PathLike) -> "PathAwaitingCreation":
    ...

  @property
  def path(self) -> Path:
    ...

  async def await_creation(self) -> Path:
    ...

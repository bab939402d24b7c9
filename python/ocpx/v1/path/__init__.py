# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Path types (mirrors `orbax.checkpoint.v1.path`).

`Path` is the path class ocpx returns (`pathlib.Path`); every function that
takes a path also accepts strings and any `os.PathLike` (e.g. etils'
`epath.Path`).  `PathAwaitingCreation` is what a handler's `save` receives:
a directory that may still be being created.
"""

from ocpx._src.path_types import Path
from ocpx._src.path_types import PathAwaitingCreation
from ocpx._src.path_types import PathLike

__all__ = ["Path", "PathAwaitingCreation", "PathLike", "step"]


def __getattr__(name: str):
  # `step` comes with the step managers' naming helpers; imported on first
  # use so that `ocpx.v1.path` does not load them eagerly.
  if name == "step":
    import importlib  # pylint: disable=g-import-not-at-top
    try:
      return importlib.import_module(f"{__name__}.step")
    except ImportError as e:
      raise AttributeError(
          f"ocpx.v1.path.step is unavailable: {e}") from e
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

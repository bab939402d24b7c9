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

__all__ = ["Path", "PathAwaitingCreation", "PathLike"]

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx: Orbax-compatible checkpointing for JAX with a native C++ core.

The top-level package mirrors `orbax.checkpoint` (the v0 API: Checkpointers,
CheckpointHandlers, `args`, `CheckpointManager`); `ocpx.v1` mirrors
`orbax.checkpoint.v1`.  Changing the package name in an import is the whole
migration:

    import ocpx as ocp                  # instead of orbax.checkpoint
    from ocpx import v1 as ocp          # instead of orbax.checkpoint.v1

`save`, `save_async`, `load` and `load_async` are kept at the top level as
shortcuts to their v1 versions (`orbax.checkpoint` has no such names):

    ocp.save(path, state)
    restored = ocp.load(path, abstract_state)
"""

from ocpx import _core  # noqa: F401  (the native engine; fails loudly if absent)
from ocpx import checkpoint_managers
from ocpx import path
from ocpx import step
from ocpx import v1
from ocpx.v1 import load
from ocpx.v1 import load_async
from ocpx.v1 import save
from ocpx.v1 import save_async

__version__ = "0.1.0"

__all__ = ["checkpoint_managers", "path", "step", "load", "load_async", "save", "save_async", "v1"]

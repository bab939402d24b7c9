# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.v1: the Orbax v1 checkpointing API on ocpx's native engine.

    from ocpx import v1 as ocp     # instead of orbax.checkpoint.v1
    ocp.save(path, state)
    restored = ocp.load(path, abstract_state)

Mirrors `orbax.checkpoint.v1` (`orbax.checkpoint.experimental.v1` in
orbax-checkpoint 0.12.8); checkpoints are in Orbax's on-disk format, so each
library loads the other's.
"""

from ocpx import _core  # noqa: F401  (the native engine; fails loudly if absent)
from ocpx.v1 import arrays
from ocpx.v1 import errors
from ocpx.v1 import handlers
from ocpx.v1 import multihost
from ocpx.v1 import options
from ocpx.v1 import path
from ocpx.v1 import tree
from ocpx._src.async_response import AsyncResponse
from ocpx._src.checkpoint_metadata import CheckpointMetadata
from ocpx._src.context import Context
from ocpx._src.deletion import delete
from ocpx._src.deletion import delete_async
from ocpx._src.deprecated_api import load_pytree
from ocpx._src.deprecated_api import load_pytree_async
from ocpx._src.deprecated_api import pytree_metadata
from ocpx._src.deprecated_api import save_pytree
from ocpx._src.deprecated_api import save_pytree_async
from ocpx._src.handlers.types import AbstractCheckpointable
from ocpx._src.handlers.types import Checkpointable
from ocpx._src.handlers.types import CheckpointableHandler
from ocpx._src.handlers.types import StatefulCheckpointable
from ocpx._src.layout import InvalidLayoutError
from ocpx._src.layout import is_orbax_checkpoint
from ocpx._src.loading import checkpointables_metadata
from ocpx._src.loading import load
from ocpx._src.loading import load_async
from ocpx._src.loading import load_checkpointables
from ocpx._src.loading import load_checkpointables_async
from ocpx._src.loading import metadata
from ocpx._src.metadata_types import ArrayMetadata
from ocpx._src.metadata_types import NumpyMetadata
from ocpx._src.metadata_types import StorageMetadata
from ocpx._src.saving import save
from ocpx._src.saving import save_async
from ocpx._src.saving import save_checkpointables
from ocpx._src.saving import save_checkpointables_async
from ocpx._src.tree import PLACEHOLDER

# `training` (the step manager) and `partial` load on first use: most
# programs need neither, and importing them costs more than the rest.
_LAZY_SUBMODULES = ("partial", "training")


def __getattr__(name):
  if name in _LAZY_SUBMODULES:
    import importlib  # pylint: disable=g-import-not-at-top
    module = importlib.import_module(f"ocpx.v1.{name}")
    globals()[name] = module
    return module
  raise AttributeError(f"module 'ocpx.v1' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(_LAZY_SUBMODULES))


# A PyTree of leaf metadata (ArrayMetadata, NumpyMetadata, scalar and string
# types), as `metadata()` returns it.
PyTreeMetadata = tree.PyTreeOf[tree.AbstractLeaf]
CorruptionError = _core.CorruptionError

__all__ = [
    "AbstractCheckpointable", "ArrayMetadata", "AsyncResponse",
    "CheckpointMetadata", "Checkpointable", "CheckpointableHandler",
    "Context", "CorruptionError", "InvalidLayoutError", "NumpyMetadata",
    "PLACEHOLDER", "PyTreeMetadata", "StatefulCheckpointable",
    "StorageMetadata", "arrays", "checkpointables_metadata", "delete", "delete_async", "errors",
    "handlers", "is_orbax_checkpoint", "load", "load_async",
    "load_checkpointables", "load_checkpointables_async", "load_pytree",
    "load_pytree_async", "metadata", "multihost", "options", "partial", "path",
    "pytree_metadata", "save", "save_async", "save_checkpointables",
    "save_checkpointables_async", "save_pytree", "save_pytree_async", "tree",
]

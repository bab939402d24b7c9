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
from ocpx.v1 import handlers
from ocpx.v1 import options
from ocpx.v1 import training
from ocpx._src.async_response import AsyncResponse
from ocpx._src.checkpoint_metadata import CheckpointMetadata
from ocpx._src.context import Context
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

PyTreeMetadata = object  # A PyTree of leaf metadata (see `metadata()`).
CorruptionError = _core.CorruptionError

__all__ = [
    "ArrayMetadata", "AsyncResponse", "CheckpointMetadata",
    "CheckpointableHandler", "Context", "CorruptionError",
    "InvalidLayoutError", "NumpyMetadata", "PLACEHOLDER", "PyTreeMetadata",
    "StatefulCheckpointable", "StorageMetadata", "checkpointables_metadata",
    "handlers", "is_orbax_checkpoint", "load", "load_async",
    "load_checkpointables", "load_checkpointables_async", "metadata",
    "options", "save", "save_async", "save_checkpointables",
    "save_checkpointables_async",
]

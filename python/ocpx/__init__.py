# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx: Orbax-compatible checkpointing for JAX with a native C++ core.

The top-level package mirrors `orbax.checkpoint` (the v0 API: Checkpointers,
CheckpointHandlers, `args`, `CheckpointManager`); `ocpx.v1` mirrors
`orbax.checkpoint.v1`.  Changing the package name in an import is the whole
migration:

    import ocpx as ocp                  # instead of orbax.checkpoint
    from ocpx import v1 as ocp          # instead of orbax.checkpoint.v1

    ckptr = ocp.StandardCheckpointer()
    ckptr.save(path, state)
    state = ckptr.restore(path, abstract_state)

`save`, `save_async`, `load` and `load_async` are kept at the top level as
shortcuts to their v1 versions (`orbax.checkpoint` has no such names):

    ocp.save(path, state)
    restored = ocp.load(path, abstract_state)
"""

from ocpx import _core  # noqa: F401  (the native engine; fails loudly if absent)
from ocpx import checkpoint_manager
from ocpx import checkpoint_managers
from ocpx import checkpoint_utils
from ocpx import path
from ocpx import step
from ocpx import v1
from ocpx.v1 import load
from ocpx.v1 import load_async
from ocpx.v1 import save
from ocpx.v1 import save_async

# The v0 API (mirrors orbax.checkpoint's top level).
from ocpx import args
from ocpx import checkpoint_args
from ocpx import checkpointers
from ocpx import future
from ocpx import handlers
from ocpx import metadata
from ocpx import options
from ocpx import test_utils
from ocpx import transform_utils
from ocpx import type_handlers
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManager
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManagerOptions
from ocpx._src.v0.checkpointers.async_checkpointer import AsyncCheckpointer
from ocpx._src.v0.checkpointers.checkpointer import AbstractCheckpointer
from ocpx._src.v0.checkpointers.checkpointer import Checkpointer
from ocpx._src.v0.checkpointers.pytree_checkpointer import PyTreeCheckpointer
from ocpx._src.v0.checkpointers.standard_checkpointer import StandardCheckpointer
from ocpx._src.v0.future import Future
from ocpx._src.v0.handlers.array_checkpoint_handler import ArrayCheckpointHandler
from ocpx._src.v0.handlers.checkpoint_handler import AsyncCheckpointHandler
from ocpx._src.v0.handlers.checkpoint_handler import CheckpointHandler
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeCheckpointHandler
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeOptions
from ocpx._src.v0.handlers.handler_registration import CheckpointHandlerRegistry
from ocpx._src.v0.handlers.handler_registration import DefaultCheckpointHandlerRegistry
from ocpx._src.v0.handlers.json_checkpoint_handler import JsonCheckpointHandler
from ocpx._src.v0.handlers.proto_checkpoint_handler import ProtoCheckpointHandler
from ocpx._src.v0.handlers.pytree_checkpoint_handler import PyTreeCheckpointHandler
from ocpx._src.v0.handlers.random_key_checkpoint_handler import JaxRandomKeyCheckpointHandler
from ocpx._src.v0.handlers.random_key_checkpoint_handler import NumpyRandomKeyCheckpointHandler
from ocpx._src.v0.handlers.standard_checkpoint_handler import StandardCheckpointHandler
from ocpx._src.v0.options import AsyncOptions
from ocpx._src.v0.transform_utils import RestoreTransform
from ocpx._src.v0.transform_utils import Transform
from ocpx._src.v0.transform_utils import apply_transformations
from ocpx._src.v0.transform_utils import merge_trees
from ocpx._src.v0.type_handlers import PLACEHOLDER
from ocpx._src.v0.type_handlers import ArrayRestoreArgs
from ocpx._src.v0.type_handlers import RestoreArgs
from ocpx._src.v0.type_handlers import SaveArgs

__version__ = "0.1.0"

__all__ = [
    "AbstractCheckpointer", "ArrayCheckpointHandler", "ArrayRestoreArgs",
    "AsyncCheckpointHandler", "AsyncCheckpointer", "AsyncOptions",
    "CheckpointHandler", "CheckpointHandlerRegistry", "CheckpointManager",
    "CheckpointManagerOptions", "Checkpointer",
    "CompositeCheckpointHandler", "CompositeOptions",
    "DefaultCheckpointHandlerRegistry", "Future",
    "JaxRandomKeyCheckpointHandler", "JsonCheckpointHandler",
    "NumpyRandomKeyCheckpointHandler", "PLACEHOLDER", "ProtoCheckpointHandler",
    "PyTreeCheckpointHandler", "PyTreeCheckpointer", "RestoreArgs",
    "RestoreTransform", "SaveArgs", "StandardCheckpointHandler",
    "StandardCheckpointer", "Transform", "apply_transformations", "args",
    "checkpoint_args", "checkpoint_manager", "checkpoint_managers",
    "checkpoint_utils", "checkpointers", "future", "handlers", "load",
    "load_async", "merge_trees", "metadata", "options", "path", "save", "save_async", "step",
    "test_utils", "transform_utils", "type_handlers", "v1",
]

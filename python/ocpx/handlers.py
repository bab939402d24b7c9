# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""CheckpointHandlers and their args (mirrors `orbax.checkpoint.handlers`).

The v1 handlers (`PyTreeHandler`, `JsonHandler`, ...) are in
`ocpx.v1.handlers`.
"""

from ocpx._src.v0 import handlers_all as _handlers_all  # noqa: F401
from ocpx._src.v0.handlers import handler_registration
from ocpx._src.v0.handlers.array_checkpoint_handler import ArrayCheckpointHandler
from ocpx._src.v0.handlers.array_checkpoint_handler import ArrayRestoreArgs
from ocpx._src.v0.handlers.array_checkpoint_handler import ArraySaveArgs
from ocpx._src.v0.handlers.checkpoint_handler import AsyncCheckpointHandler
from ocpx._src.v0.handlers.checkpoint_handler import CheckpointHandler
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeArgs
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeCheckpointHandler
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeOptions
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeResults
from ocpx._src.v0.handlers.handler_registration import CheckpointHandlerRegistry
from ocpx._src.v0.handlers.handler_registration import DefaultCheckpointHandlerRegistry
from ocpx._src.v0.handlers.handler_registration import create_default_handler_registry
from ocpx._src.v0.handlers.json_checkpoint_handler import JsonCheckpointHandler
from ocpx._src.v0.handlers.json_checkpoint_handler import JsonRestoreArgs
from ocpx._src.v0.handlers.json_checkpoint_handler import JsonSaveArgs
from ocpx._src.v0.handlers.proto_checkpoint_handler import ProtoCheckpointHandler
from ocpx._src.v0.handlers.proto_checkpoint_handler import ProtoRestoreArgs
from ocpx._src.v0.handlers.proto_checkpoint_handler import ProtoSaveArgs
from ocpx._src.v0.handlers.pytree_checkpoint_handler import PyTreeCheckpointHandler
from ocpx._src.v0.handlers.pytree_checkpoint_handler import PyTreeRestoreArgs
from ocpx._src.v0.handlers.pytree_checkpoint_handler import PyTreeSaveArgs
from ocpx._src.v0.handlers.random_key_checkpoint_handler import JaxRandomKeyCheckpointHandler
from ocpx._src.v0.handlers.random_key_checkpoint_handler import JaxRandomKeyRestoreArgs
from ocpx._src.v0.handlers.random_key_checkpoint_handler import JaxRandomKeySaveArgs
from ocpx._src.v0.handlers.random_key_checkpoint_handler import NumpyRandomKeyCheckpointHandler
from ocpx._src.v0.handlers.random_key_checkpoint_handler import NumpyRandomKeyRestoreArgs
from ocpx._src.v0.handlers.random_key_checkpoint_handler import NumpyRandomKeySaveArgs
from ocpx._src.v0.handlers.standard_checkpoint_handler import StandardCheckpointHandler
from ocpx._src.v0.handlers.standard_checkpoint_handler import StandardRestoreArgs
from ocpx._src.v0.handlers.standard_checkpoint_handler import StandardSaveArgs

__all__ = [
    "ArrayCheckpointHandler", "ArrayRestoreArgs", "ArraySaveArgs",
    "AsyncCheckpointHandler", "CheckpointHandler",
    "CheckpointHandlerRegistry", "CompositeArgs",
    "CompositeCheckpointHandler", "CompositeOptions", "CompositeResults",
    "DefaultCheckpointHandlerRegistry", "JaxRandomKeyCheckpointHandler",
    "JaxRandomKeyRestoreArgs", "JaxRandomKeySaveArgs",
    "JsonCheckpointHandler", "JsonRestoreArgs", "JsonSaveArgs",
    "NumpyRandomKeyCheckpointHandler", "NumpyRandomKeyRestoreArgs",
    "NumpyRandomKeySaveArgs", "ProtoCheckpointHandler", "ProtoRestoreArgs",
    "ProtoSaveArgs", "PyTreeCheckpointHandler", "PyTreeRestoreArgs",
    "PyTreeSaveArgs", "StandardCheckpointHandler", "StandardRestoreArgs",
    "StandardSaveArgs", "create_default_handler_registry",
    "handler_registration",
]

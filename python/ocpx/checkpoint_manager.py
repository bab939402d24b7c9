# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`ocpx.CheckpointManager` (`orbax.checkpoint.checkpoint_manager`).

Besides the manager, this module re-exports the public names scripts take from
Orbax's `checkpoint_manager` module, e.g. `checkpoint_manager.FileOptions` or
`checkpoint_manager.METADATA_ITEM_NAME`.
"""

from ocpx._src.checkpoint_managers.checkpoint_manager import DEFAULT_ITEM_NAME
from ocpx._src.checkpoint_managers.checkpoint_manager import METADATA_ITEM_NAME
from ocpx._src.checkpoint_managers.checkpoint_manager import METRIC_ITEM_NAME
from ocpx._src.checkpoint_managers.checkpoint_manager import RESERVED_ITEM_NAMES
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManager
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManagerOptions
from ocpx._src.checkpoint_managers.checkpoint_manager import StepAlreadyExistsError
from ocpx._src.checkpoint_managers.policy_checkpoint_info import CheckpointInfo
from ocpx._src.v0.checkpointers.async_checkpointer import AsyncCheckpointer
from ocpx._src.v0.checkpointers.checkpointer import Checkpointer
from ocpx._src.v0.metadata import RootMetadata
from ocpx._src.v0.metadata import StepMetadata
from ocpx.handlers import CheckpointHandlerRegistry
from ocpx.handlers import CompositeCheckpointHandler
from ocpx.handlers import JsonCheckpointHandler
from ocpx.handlers import ProtoCheckpointHandler
from ocpx.options import AsyncOptions
from ocpx.options import FileOptions
from ocpx.options import MultiprocessingOptions

__all__ = [
    "AsyncCheckpointer", "AsyncOptions", "CheckpointHandlerRegistry",
    "CheckpointInfo", "CheckpointManager", "CheckpointManagerOptions",
    "Checkpointer", "CompositeCheckpointHandler", "DEFAULT_ITEM_NAME",
    "FileOptions", "JsonCheckpointHandler", "METADATA_ITEM_NAME",
    "METRIC_ITEM_NAME", "MultiprocessingOptions", "ProtoCheckpointHandler",
    "RESERVED_ITEM_NAMES", "RootMetadata", "StepAlreadyExistsError",
    "StepMetadata",
]

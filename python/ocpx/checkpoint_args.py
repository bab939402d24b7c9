# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""CheckpointArgs and their registration (mirrors `orbax.checkpoint.checkpoint_args`)."""

from ocpx._src.v0.checkpoint_args import CheckpointArgs
from ocpx._src.v0.checkpoint_args import get_registered_args_cls
from ocpx._src.v0.checkpoint_args import get_registered_handler_cls
from ocpx._src.v0.checkpoint_args import has_registered_args
from ocpx._src.v0.checkpoint_args import register_with_handler
from ocpx._src.v0.handlers.checkpoint_handler import CheckpointHandler

__all__ = [
    "CheckpointArgs", "CheckpointHandler", "get_registered_args_cls",
    "get_registered_handler_cls", "has_registered_args",
    "register_with_handler",
]

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Checkpointable handlers (mirrors `orbax.checkpoint.v1.handlers`)."""

from ocpx._src.handlers import global_registration as _global_registration  # noqa: F401
from ocpx._src.handlers.json_handler import JsonHandler
from ocpx._src.handlers.proto_handler import ProtoHandler
from ocpx._src.handlers.pytree_handler import PyTreeHandler
from ocpx._src.handlers.registration import AlreadyExistsError
from ocpx._src.handlers.registration import CheckpointableHandlerRegistry
from ocpx._src.handlers.registration import NoEntryError
from ocpx._src.handlers.registration import global_registry
from ocpx._src.handlers.registration import local_registry
from ocpx._src.handlers.registration import register_handler
from ocpx._src.handlers.stateful_handler import StatefulCheckpointableHandler
from ocpx._src.handlers.types import AbstractCheckpointable
from ocpx._src.handlers.types import Checkpointable
from ocpx._src.handlers.types import CheckpointableHandler
from ocpx._src.handlers.types import StatefulCheckpointable

__all__ = [
    "AbstractCheckpointable", "AlreadyExistsError", "Checkpointable",
    "CheckpointableHandler", "CheckpointableHandlerRegistry", "JsonHandler",
    "NoEntryError", "ProtoHandler", "PyTreeHandler", "StatefulCheckpointable",
    "StatefulCheckpointableHandler", "global_registry", "local_registry",
    "register_handler",
]

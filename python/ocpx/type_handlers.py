# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""TypeHandlers, their registry and per-leaf arguments (mirrors
`orbax.checkpoint.type_handlers`).  The built-in handlers write through
ocpx's native engine; custom `TypeHandler` subclasses are called as in
Orbax (see `ocpx._src.v0.type_handler_registry`).
"""

from ocpx._src.v0.type_handler_registry import GLOBAL_TYPE_HANDLER_REGISTRY
from ocpx._src.v0.type_handler_registry import ArrayHandler
from ocpx._src.v0.type_handler_registry import NumpyHandler
from ocpx._src.v0.type_handler_registry import ParamInfo
from ocpx._src.v0.type_handler_registry import ScalarHandler
from ocpx._src.v0.type_handler_registry import StringHandler
from ocpx._src.v0.type_handler_registry import TypeHandler
from ocpx._src.v0.type_handler_registry import TypeHandlerRegistry
from ocpx._src.v0.type_handler_registry import create_type_handler_registry
from ocpx._src.v0.type_handler_registry import get_type_handler
from ocpx._src.v0.type_handler_registry import has_type_handler
from ocpx._src.v0.type_handler_registry import register_type_handler
from ocpx._src.v0.type_handlers import PLACEHOLDER
from ocpx._src.v0.type_handlers import ArrayRestoreArgs
from ocpx._src.v0.type_handlers import RestoreArgs
from ocpx._src.v0.type_handlers import SaveArgs
from ocpx._src.v0.type_handlers import is_placeholder
from ocpx._src.v0.type_handlers import is_supported_type
from ocpx._src.v0.type_handlers import supported_types

__all__ = [
    "ArrayHandler", "ArrayRestoreArgs", "GLOBAL_TYPE_HANDLER_REGISTRY",
    "NumpyHandler", "PLACEHOLDER", "ParamInfo", "RestoreArgs", "SaveArgs",
    "ScalarHandler", "StringHandler", "TypeHandler", "TypeHandlerRegistry",
    "create_type_handler_registry", "get_type_handler", "has_type_handler",
    "is_placeholder", "is_supported_type", "register_type_handler",
    "supported_types",
]

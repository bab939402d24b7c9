# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Per-leaf save/restore arguments and supported leaf types (mirrors the
parts of `orbax.checkpoint.type_handlers` that do not depend on Orbax's
TensorStore-based TypeHandler classes; ocpx's leaf handling is native).
"""

from ocpx._src.v0.handlers.pytree_checkpoint_handler import GLOBAL_TYPE_HANDLER_REGISTRY
from ocpx._src.v0.type_handlers import PLACEHOLDER
from ocpx._src.v0.type_handlers import ArrayRestoreArgs
from ocpx._src.v0.type_handlers import RestoreArgs
from ocpx._src.v0.type_handlers import SaveArgs
from ocpx._src.v0.type_handlers import is_placeholder
from ocpx._src.v0.type_handlers import is_supported_type
from ocpx._src.v0.type_handlers import supported_types

__all__ = [
    "ArrayRestoreArgs", "GLOBAL_TYPE_HANDLER_REGISTRY", "PLACEHOLDER",
    "RestoreArgs", "SaveArgs", "is_placeholder", "is_supported_type",
    "supported_types",
]

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Save/restore argument classes, one pair per handler (mirrors
`orbax.checkpoint.args`).

    ckptr.save(path, args=ocp.args.StandardSave(state))
    ckptr.restore(path, args=ocp.args.StandardRestore(abstract_state))
"""

from ocpx._src.v0 import handlers_all as _handlers_all  # noqa: F401
from ocpx._src.v0.checkpoint_args import CheckpointArgs
from ocpx._src.v0.checkpoint_args import get_registered_args_cls
from ocpx._src.v0.checkpoint_args import get_registered_handler_cls
from ocpx._src.v0.checkpoint_args import has_registered_args
from ocpx._src.v0.checkpoint_args import register_with_handler
from ocpx._src.v0.handlers.array_checkpoint_handler import ArrayRestoreArgs as ArrayRestore
from ocpx._src.v0.handlers.array_checkpoint_handler import ArraySaveArgs as ArraySave
from ocpx._src.v0.handlers.composite_checkpoint_handler import CompositeArgs as Composite
from ocpx._src.v0.handlers.json_checkpoint_handler import JsonRestoreArgs as JsonRestore
from ocpx._src.v0.handlers.json_checkpoint_handler import JsonSaveArgs as JsonSave
from ocpx._src.v0.handlers.proto_checkpoint_handler import ProtoRestoreArgs as ProtoRestore
from ocpx._src.v0.handlers.proto_checkpoint_handler import ProtoSaveArgs as ProtoSave
from ocpx._src.v0.handlers.pytree_checkpoint_handler import PyTreeRestoreArgs as PyTreeRestore
from ocpx._src.v0.handlers.pytree_checkpoint_handler import PyTreeSaveArgs as PyTreeSave
from ocpx._src.v0.handlers.random_key_checkpoint_handler import JaxRandomKeyRestoreArgs as JaxRandomKeyRestore
from ocpx._src.v0.handlers.random_key_checkpoint_handler import JaxRandomKeySaveArgs as JaxRandomKeySave
from ocpx._src.v0.handlers.random_key_checkpoint_handler import NumpyRandomKeyRestoreArgs as NumpyRandomKeyRestore
from ocpx._src.v0.handlers.random_key_checkpoint_handler import NumpyRandomKeySaveArgs as NumpyRandomKeySave
from ocpx._src.v0.handlers.standard_checkpoint_handler import StandardRestoreArgs as StandardRestore
from ocpx._src.v0.handlers.standard_checkpoint_handler import StandardSaveArgs as StandardSave

__all__ = [
    "ArrayRestore", "ArraySave", "CheckpointArgs", "Composite",
    "JaxRandomKeyRestore", "JaxRandomKeySave", "JsonRestore", "JsonSave",
    "NumpyRandomKeyRestore", "NumpyRandomKeySave", "ProtoRestore",
    "ProtoSave", "PyTreeRestore", "PyTreeSave", "StandardRestore",
    "StandardSave", "get_registered_args_cls", "get_registered_handler_cls",
    "has_registered_args", "register_with_handler",
]

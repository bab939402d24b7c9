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
from ocpx import v1
from ocpx.v1 import load
from ocpx.v1 import load_async
from ocpx.v1 import save
from ocpx.v1 import save_async

# The v0 API (mirrors orbax.checkpoint's top level), imported on first use
# so that `import ocpx` stays cheap for code that only uses `ocpx.v1`.
_V0_MODULES = ("args", "checkpoint_args", "checkpointers", "future",
               "handlers", "metadata", "options", "test_utils",
               "transform_utils", "type_handlers")
_V0_NAMES = {
    "AsyncCheckpointer": "ocpx._src.v0.checkpointers.async_checkpointer",
    "AbstractCheckpointer": "ocpx._src.v0.checkpointers.checkpointer",
    "Checkpointer": "ocpx._src.v0.checkpointers.checkpointer",
    "PyTreeCheckpointer": "ocpx._src.v0.checkpointers.pytree_checkpointer",
    "StandardCheckpointer": "ocpx._src.v0.checkpointers.standard_checkpointer",
    "Future": "ocpx._src.v0.future",
    "ArrayCheckpointHandler": "ocpx._src.v0.handlers.array_checkpoint_handler",
    "AsyncCheckpointHandler": "ocpx._src.v0.handlers.checkpoint_handler",
    "CheckpointHandler": "ocpx._src.v0.handlers.checkpoint_handler",
    "CompositeCheckpointHandler":
        "ocpx._src.v0.handlers.composite_checkpoint_handler",
    "CompositeOptions": "ocpx._src.v0.handlers.composite_checkpoint_handler",
    "CheckpointHandlerRegistry": "ocpx._src.v0.handlers.handler_registration",
    "DefaultCheckpointHandlerRegistry":
        "ocpx._src.v0.handlers.handler_registration",
    "JsonCheckpointHandler": "ocpx._src.v0.handlers.json_checkpoint_handler",
    "ProtoCheckpointHandler": "ocpx._src.v0.handlers.proto_checkpoint_handler",
    "PyTreeCheckpointHandler":
        "ocpx._src.v0.handlers.pytree_checkpoint_handler",
    "JaxRandomKeyCheckpointHandler":
        "ocpx._src.v0.handlers.random_key_checkpoint_handler",
    "NumpyRandomKeyCheckpointHandler":
        "ocpx._src.v0.handlers.random_key_checkpoint_handler",
    "StandardCheckpointHandler":
        "ocpx._src.v0.handlers.standard_checkpoint_handler",
    "AsyncOptions": "ocpx._src.v0.options",
    "RestoreTransform": "ocpx._src.v0.transform_utils",
    "Transform": "ocpx._src.v0.transform_utils",
    "apply_transformations": "ocpx._src.v0.transform_utils",
    "merge_trees": "ocpx._src.v0.transform_utils",
    "PLACEHOLDER": "ocpx._src.v0.type_handlers",
    "ArrayRestoreArgs": "ocpx._src.v0.type_handlers",
    "RestoreArgs": "ocpx._src.v0.type_handlers",
    "SaveArgs": "ocpx._src.v0.type_handlers",
}


def __getattr__(name):
  import importlib  # pylint: disable=g-import-not-at-top
  if name in _V0_MODULES:
    module = importlib.import_module(f"ocpx.{name}")
  elif name in _V0_NAMES:
    importlib.import_module("ocpx._src.v0.handlers_all")
    module = getattr(importlib.import_module(_V0_NAMES[name]), name)
  else:
    raise AttributeError(f"module 'ocpx' has no attribute {name!r}")
  globals()[name] = module
  return module


def __dir__():
  return sorted(set(globals()) | set(_V0_MODULES) | set(_V0_NAMES))


__version__ = "0.1.0"

__all__ = [
    "AbstractCheckpointer", "ArrayCheckpointHandler", "ArrayRestoreArgs",
    "AsyncCheckpointHandler", "AsyncCheckpointer", "AsyncOptions",
    "CheckpointHandler", "CheckpointHandlerRegistry", "Checkpointer",
    "CompositeCheckpointHandler", "CompositeOptions",
    "DefaultCheckpointHandlerRegistry", "Future",
    "JaxRandomKeyCheckpointHandler", "JsonCheckpointHandler",
    "NumpyRandomKeyCheckpointHandler", "PLACEHOLDER", "ProtoCheckpointHandler",
    "PyTreeCheckpointHandler", "PyTreeCheckpointer", "RestoreArgs",
    "RestoreTransform", "SaveArgs", "StandardCheckpointHandler",
    "StandardCheckpointer", "Transform", "apply_transformations", "args",
    "checkpoint_args", "checkpointers", "future", "handlers", "load",
    "load_async", "merge_trees", "metadata", "options", "save", "save_async",
    "test_utils", "transform_utils", "type_handlers", "v1",
]

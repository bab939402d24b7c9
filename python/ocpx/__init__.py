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

The public names are imported on first use (PEP 562), so that importing
`ocpx` - and the `ocpx` command-line tool, which reads checkpoints through
the C++ reader alone - does not import JAX.  To add a public name, add it to
`_LAZY_MODULES` or `_LAZY_NAMES` (and to `__all__`); do not import
JAX-dependent modules eagerly here (tests/test_reader_cli.py checks this).
"""

import importlib
import typing

from ocpx import _core  # noqa: F401  (the native engine; fails loudly if absent)

__version__ = "0.1.0"

# Public submodules, imported on first attribute access.
_LAZY_MODULES = (
    "args", "checkpoint_args", "checkpoint_manager", "checkpoint_managers",
    "checkpoint_utils", "checkpointers", "experimental", "future", "handlers",
    "logging", "metadata", "options", "path", "step", "test_utils", "transform_utils",
    "type_handlers", "v1",
)

# Public name -> the module that defines it.
_V0_HANDLERS = "ocpx._src.v0.handlers"
_LAZY_NAMES: dict[str, str] = {
    # v1 shortcuts.
    "load": "ocpx.v1",
    "load_async": "ocpx.v1",
    "save": "ocpx.v1",
    "save_async": "ocpx.v1",
    # The v0 API.
    "CheckpointManager":
        "ocpx._src.checkpoint_managers.checkpoint_manager",
    "CheckpointManagerOptions":
        "ocpx._src.checkpoint_managers.checkpoint_manager",
    "AsyncCheckpointer": "ocpx._src.v0.checkpointers.async_checkpointer",
    "AbstractCheckpointer": "ocpx._src.v0.checkpointers.checkpointer",
    "Checkpointer": "ocpx._src.v0.checkpointers.checkpointer",
    "PyTreeCheckpointer": "ocpx._src.v0.checkpointers.pytree_checkpointer",
    "StandardCheckpointer": "ocpx._src.v0.checkpointers.standard_checkpointer",
    "Future": "ocpx._src.v0.future",
    "ArrayCheckpointHandler": f"{_V0_HANDLERS}.array_checkpoint_handler",
    "AsyncCheckpointHandler": f"{_V0_HANDLERS}.checkpoint_handler",
    "CheckpointHandler": f"{_V0_HANDLERS}.checkpoint_handler",
    "CompositeCheckpointHandler":
        f"{_V0_HANDLERS}.composite_checkpoint_handler",
    "CompositeOptions": f"{_V0_HANDLERS}.composite_checkpoint_handler",
    "CheckpointHandlerRegistry": f"{_V0_HANDLERS}.handler_registration",
    "DefaultCheckpointHandlerRegistry": f"{_V0_HANDLERS}.handler_registration",
    "JsonCheckpointHandler": f"{_V0_HANDLERS}.json_checkpoint_handler",
    "ProtoCheckpointHandler": f"{_V0_HANDLERS}.proto_checkpoint_handler",
    "PyTreeCheckpointHandler": f"{_V0_HANDLERS}.pytree_checkpoint_handler",
    "JaxRandomKeyCheckpointHandler":
        f"{_V0_HANDLERS}.random_key_checkpoint_handler",
    "NumpyRandomKeyCheckpointHandler":
        f"{_V0_HANDLERS}.random_key_checkpoint_handler",
    "StandardCheckpointHandler": f"{_V0_HANDLERS}.standard_checkpoint_handler",
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

__all__ = sorted(set(_LAZY_MODULES) | set(_LAZY_NAMES))

if typing.TYPE_CHECKING:
  from ocpx import experimental  # noqa: F401
  from ocpx import v1  # noqa: F401
  from ocpx.v1 import load, load_async, save, save_async  # noqa: F401


def __getattr__(name: str) -> typing.Any:
  if name in _LAZY_MODULES:
    value = importlib.import_module(f"ocpx.{name}")
  elif name in _LAZY_NAMES:
    module_name = _LAZY_NAMES[name]
    if module_name.startswith("ocpx._src.v0"):
      # Registers every v0 handler with its args classes first.
      importlib.import_module("ocpx._src.v0.handlers_all")
    value = getattr(importlib.import_module(module_name), name)
  else:
    raise AttributeError(f"module 'ocpx' has no attribute {name!r}")
  globals()[name] = value  # later lookups skip __getattr__
  return value


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(__all__))

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx: Orbax-compatible checkpointing for JAX with a native C++ core.

The top-level package mirrors `orbax.checkpoint` (the v0 API: Checkpointers,
CheckpointHandlers, `args`, `CheckpointManager`); `ocpx.v1` mirrors
`orbax.checkpoint.v1`.  Changing the package name in an import is the whole
migration:

    import ocpx as ocp                  # instead of orbax.checkpoint
    from ocpx import v1 as ocp          # instead of orbax.checkpoint.v1

`save`, `save_async`, `load` and `load_async` are kept at the top level as
shortcuts to their v1 versions (`orbax.checkpoint` has no such names):

    ocp.save(path, state)
    restored = ocp.load(path, abstract_state)

The public names are imported on first use (PEP 562), so that importing
`ocpx` - and the `ocpx` command-line tool, which reads checkpoints through
the C++ reader alone - does not import JAX.  To add a public name, add it to
`_LAZY` (and to the `TYPE_CHECKING` block for type checkers); do not import
JAX-dependent modules eagerly here (tests/test_reader_cli.py checks this).
"""

import importlib
import typing

from ocpx import _core  # noqa: F401  (the native engine; fails loudly if absent)

__version__ = "0.1.0"

# Public name -> (module, attribute or None for the module itself).
_LAZY: dict[str, tuple[str, typing.Optional[str]]] = {
    "v1": ("ocpx.v1", None),
    "experimental": ("ocpx.experimental", None),
    "load": ("ocpx.v1", "load"),
    "load_async": ("ocpx.v1", "load_async"),
    "save": ("ocpx.v1", "save"),
    "save_async": ("ocpx.v1", "save_async"),
}

__all__ = ["load", "load_async", "save", "save_async", "v1"]

if typing.TYPE_CHECKING:
  from ocpx import experimental  # noqa: F401
  from ocpx import v1  # noqa: F401
  from ocpx.v1 import load, load_async, save, save_async  # noqa: F401


def __getattr__(name: str) -> typing.Any:
  try:
    module_name, attr = _LAZY[name]
  except KeyError:
    raise AttributeError(f"module 'ocpx' has no attribute {name!r}") from None
  module = importlib.import_module(module_name)
  value = module if attr is None else getattr(module, attr)
  globals()[name] = value  # later lookups skip __getattr__
  return value


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(_LAZY))

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Handler typestrs: what `_CHECKPOINT_METADATA` records, and back.

ocpx's built-in v0 handlers record Orbax's typestrs
(`orbax.checkpoint._src.handlers.<module>.<Class>`), so Orbax resolves its own
handler for checkpoints ocpx wrote, and ocpx resolves its handler for
checkpoints Orbax wrote.  v1 handler typestrs (written by `ocpx.v1` and by
Orbax v1) map onto the v0 handler that reads the same layout.
"""

from __future__ import annotations

import threading
from typing import Optional

_LOCK = threading.Lock()
_BY_TYPESTR: dict[str, type] = {}

_ORBAX_V0 = "orbax.checkpoint._src.handlers."
_ORBAX_V1 = "orbax.checkpoint.experimental.v1._src.handlers."


def orbax_typestr(module: str, cls: str) -> str:
  return f"{_ORBAX_V0}{module}.{cls}"


def typestr_of(handler_cls: type) -> str:
  """The typestr recorded for a handler class."""
  own = handler_cls.__dict__.get("_ORBAX_TYPESTR")
  if own:
    return own
  return f"{handler_cls.__module__}.{handler_cls.__qualname__}"


def register_handler_type(handler_cls: type,
                          *extra_typestrs: str) -> None:
  """Makes `handler_cls` resolvable from its typestr (and extra ones)."""
  with _LOCK:
    for t in (typestr_of(handler_cls), *extra_typestrs):
      _BY_TYPESTR[t] = handler_cls
    # Orbax also records the public aliases' module paths in some versions.
    name = handler_cls.__qualname__
    if handler_cls.__dict__.get("_ORBAX_TYPESTR"):
      _BY_TYPESTR.setdefault(
          handler_cls.__dict__["_ORBAX_TYPESTR"].replace(
              "orbax.checkpoint._src.", "orbax.checkpoint.v0._src."),
          handler_cls)
    del name


def register_v1_typestrs() -> None:
  """v1 typestrs map to the v0 handler reading the same layout."""
  from ocpx._src.v0.handlers import json_checkpoint_handler  # pylint: disable=g-import-not-at-top
  from ocpx._src.v0.handlers import pytree_checkpoint_handler  # pylint: disable=g-import-not-at-top
  with _LOCK:
    pytree = pytree_checkpoint_handler.PyTreeCheckpointHandler
    json_h = json_checkpoint_handler.JsonCheckpointHandler
    for t in (_ORBAX_V1 + "pytree_handler.PyTreeHandler",
              "orbax.checkpoint.v1._src.handlers.pytree_handler.PyTreeHandler"):
      _BY_TYPESTR.setdefault(t, pytree)
    for t in (_ORBAX_V1 + "json_handler.JsonHandler",
              _ORBAX_V1 + "json_handler.MetricsHandler",
              "orbax.checkpoint.v1._src.handlers.json_handler.JsonHandler",
              "orbax.checkpoint.v1._src.handlers.json_handler.MetricsHandler"):
      _BY_TYPESTR.setdefault(t, json_h)


def handler_cls_for(typestr: Optional[str]) -> Optional[type]:
  """The handler class registered for `typestr`, or None."""
  if not typestr:
    return None
  with _LOCK:
    return _BY_TYPESTR.get(typestr)

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Registers the built-in handlers, in Orbax's order."""

from ocpx._src.handlers import json_handler
from ocpx._src.handlers import proto_handler
from ocpx._src.handlers import pytree_handler
from ocpx._src.handlers import registration
from ocpx._src.handlers import stateful_handler

_done = False


def register_builtin_handlers():
  global _done
  if _done:
    return
  _done = True
  registration.register_handler(
      proto_handler.ProtoHandler,
      secondary_typestrs=proto_handler.SECONDARY_TYPESTRS)
  registration.register_handler(
      json_handler.JsonHandler,
      secondary_typestrs=json_handler.SECONDARY_TYPESTRS)
  registration.register_handler(stateful_handler.StatefulCheckpointableHandler)
  registration.register_handler(
      pytree_handler.PyTreeHandler,
      secondary_typestrs=pytree_handler.SECONDARY_TYPESTRS)
  registration.register_handler(
      pytree_handler.PyTreeHandler, checkpointable_name="state")


register_builtin_handlers()

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Imports every v0 handler, so their args classes and typestrs are
registered before any checkpoint is read."""

from ocpx._src.v0.handlers import array_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import composite_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import json_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import proto_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import pytree_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import random_key_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import standard_checkpoint_handler  # noqa: F401
from ocpx._src.v0.handlers import typestrs as _typestrs

_typestrs.register_v1_typestrs()

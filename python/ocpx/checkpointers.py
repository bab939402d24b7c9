# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Checkpointers (mirrors `orbax.checkpoint.checkpointers`)."""

from ocpx._src.v0.checkpointers.async_checkpointer import AsyncCheckpointer
from ocpx._src.v0.checkpointers.checkpointer import AbstractCheckpointer
from ocpx._src.v0.checkpointers.checkpointer import Checkpointer
from ocpx._src.v0.checkpointers.pytree_checkpointer import PyTreeCheckpointer
from ocpx._src.v0.checkpointers.standard_checkpointer import StandardCheckpointer

__all__ = [
    "AbstractCheckpointer", "AsyncCheckpointer", "Checkpointer",
    "PyTreeCheckpointer", "StandardCheckpointer",
]

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Partial saving (mirrors `orbax.checkpoint.v1.partial`)."""

from ocpx._src.partial_saving import PartialSaveError
from ocpx._src.partial_saving import PartialSaveReplacementError
from ocpx._src.partial_saving import finalize
from ocpx._src.partial_saving import save
from ocpx._src.partial_saving import save_async

__all__ = ["PartialSaveError", "PartialSaveReplacementError", "finalize",
           "save", "save_async"]

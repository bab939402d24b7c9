# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Option dataclasses (mirrors `orbax.checkpoint.v1.options`)."""

from ocpx._src.options import ArrayOptions
from ocpx._src.options import AsyncOptions
from ocpx._src.options import AtomicityMode
from ocpx._src.options import AtomicityOptions
from ocpx._src.options import CheckpointablesOptions
from ocpx._src.options import CheckpointLayout
from ocpx._src.options import DeletionOptions
from ocpx._src.options import FileOptions
from ocpx._src.options import MemoryOptions
from ocpx._src.options import MultiprocessingOptions
from ocpx._src.options import PathwaysOptions
from ocpx._src.options import PyTreeMetadataOptions
from ocpx._src.options import PyTreeOptions
from ocpx._src.options import SafetensorsOptions

__all__ = [
    "ArrayOptions", "AsyncOptions", "AtomicityMode", "AtomicityOptions",
    "CheckpointLayout", "CheckpointablesOptions", "DeletionOptions",
    "FileOptions", "MemoryOptions", "MultiprocessingOptions",
    "PathwaysOptions", "PyTreeMetadataOptions", "PyTreeOptions",
    "SafetensorsOptions",
]

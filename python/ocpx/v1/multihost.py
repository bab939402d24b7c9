# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Multi-process helpers (mirrors `orbax.checkpoint.v1.multihost`)."""

from ocpx._src.multihost import is_pathways_backend
from ocpx._src.multihost import is_primary_host
from ocpx._src.multihost import process_count
from ocpx._src.multihost import process_index
from ocpx._src.multihost import sync_global_processes

__all__ = [
    "is_pathways_backend", "is_primary_host", "process_count",
    "process_index", "sync_global_processes",
]

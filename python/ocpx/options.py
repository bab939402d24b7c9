# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Options of the v0 API (mirrors `orbax.checkpoint.options`).

The v1 options (`Context` groups) are in `ocpx.v1.options`.
"""

from ocpx._src.v0.options import AsyncOptions
from ocpx._src.v0.options import AtomicityMode
from ocpx._src.v0.options import AtomicityOptions
from ocpx._src.v0.options import BarrierSyncFn
from ocpx._src.v0.options import FileOptions
from ocpx._src.v0.options import MemoryLimitOptions
from ocpx._src.v0.options import MultiprocessingOptions

__all__ = [
    "AsyncOptions", "AtomicityMode", "AtomicityOptions", "BarrierSyncFn",
    "FileOptions", "MemoryLimitOptions", "MultiprocessingOptions",
]

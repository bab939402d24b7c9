# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx: Orbax-compatible checkpointing for JAX with a native C++ core."""

from ocpx import _core  # noqa: F401  (native engine; fails loudly if missing)

__version__ = "0.1.0"

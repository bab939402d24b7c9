# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Save/restore step statistics (`orbax.checkpoint.logging.step_statistics`)."""

from ocpx._src.v0.metadata import RestoreStepStatistics
from ocpx._src.v0.metadata import SaveStepStatistics

__all__ = ["RestoreStepStatistics", "SaveStepStatistics"]

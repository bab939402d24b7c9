# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`orbax.checkpoint.logging`: the step statistics records.

`step_statistics.SaveStepStatistics` is what
`CheckpointManager.metadata(step).performance_metrics` returns.  Orbax's
logger classes are not provided: `CheckpointManager(logger=...)` accepts any
object with Orbax's `log_entry(dict)` method.
"""

from ocpx.logging import step_statistics

__all__ = ["step_statistics"]

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Which checkpoints `training.Checkpointer` keeps (shared with v0)."""

from ocpx._src.checkpoint_managers.preservation_policy import AnyPreservationPolicy
from ocpx._src.checkpoint_managers.preservation_policy import BestN
from ocpx._src.checkpoint_managers.preservation_policy import CustomSteps
from ocpx._src.checkpoint_managers.preservation_policy import EveryNSeconds
from ocpx._src.checkpoint_managers.preservation_policy import EveryNSteps
from ocpx._src.checkpoint_managers.preservation_policy import EveryNStepsClosest
from ocpx._src.checkpoint_managers.preservation_policy import LatestDuration
from ocpx._src.checkpoint_managers.preservation_policy import LatestN
from ocpx._src.checkpoint_managers.preservation_policy import PreservationContext
from ocpx._src.checkpoint_managers.preservation_policy import PreservationPolicy
from ocpx._src.checkpoint_managers.preservation_policy import PreserveAll

__all__ = ["AnyPreservationPolicy", "BestN", "CustomSteps", "EveryNSeconds",
           "EveryNSteps", "EveryNStepsClosest", "LatestDuration", "LatestN",
           "PreservationContext", "PreservationPolicy", "PreserveAll"]

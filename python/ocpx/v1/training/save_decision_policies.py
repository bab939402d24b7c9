# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""When `training.Checkpointer` saves (the v0 policy classes, shared)."""

from ocpx._src.checkpoint_managers.save_decision_policy import AnySavePolicy
from ocpx._src.checkpoint_managers.save_decision_policy import ContinuousCheckpointingPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import DecisionContext
from ocpx._src.checkpoint_managers.save_decision_policy import FixedIntervalPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import InitialSavePolicy
from ocpx._src.checkpoint_managers.save_decision_policy import PreemptionCheckpointingPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import SaveDecisionPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import SpecificStepsPolicy

__all__ = ["AnySavePolicy", "ContinuousCheckpointingPolicy", "DecisionContext",
           "FixedIntervalPolicy", "InitialSavePolicy",
           "PreemptionCheckpointingPolicy", "SaveDecisionPolicy",
           "SpecificStepsPolicy"]

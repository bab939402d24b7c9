# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Save-decision and preservation policies (`orbax.checkpoint.checkpoint_managers`).

Example:
  >>> import ocpx as ocp
  >>> policy = ocp.checkpoint_managers.AnyPreservationPolicy([
  ...     ocp.checkpoint_managers.LatestN(3),
  ...     ocp.checkpoint_managers.EveryNSteps(1000)])

`enable_preemption_signal_handler()` (ocpx only) opts a single-process job
into preemption saves on SIGTERM.
"""

from ocpx._src.checkpoint_managers import preservation_policy
from ocpx._src.checkpoint_managers import save_decision_policy
from ocpx._src.checkpoint_managers.policy_checkpoint_info import PolicyCheckpointInfo
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
from ocpx._src.checkpoint_managers.save_decision_policy import AnySavePolicy
from ocpx._src.checkpoint_managers.save_decision_policy import ContinuousCheckpointingPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import DecisionContext
from ocpx._src.checkpoint_managers.save_decision_policy import FixedIntervalPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import InitialSavePolicy
from ocpx._src.checkpoint_managers.save_decision_policy import PreemptionCheckpointingPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import SaveDecisionPolicy
from ocpx._src.checkpoint_managers.save_decision_policy import SpecificStepsPolicy
from ocpx._src.checkpoint_managers.step_engine import disable_preemption_signal_handler
from ocpx._src.checkpoint_managers.step_engine import enable_preemption_signal_handler
from ocpx._src.checkpoint_managers.step_engine import preemption_signal_received
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManager
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManagerOptions

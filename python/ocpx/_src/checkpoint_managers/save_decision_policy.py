# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Save-decision policies: whether a step should be checkpointed.

Names and semantics follow `orbax.checkpoint.checkpoint_managers`.  A policy
is asked `should_save(step, previous_steps, context=...)` with the step being
considered (a `PolicyCheckpointInfo` stamped with the current time) and the
committed steps so far, oldest first.

Example:
  >>> policy = AnySavePolicy([FixedIntervalPolicy(100), InitialSavePolicy()])
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import typing
from typing import Container, Protocol, Sequence

from ocpx._src import multihost
from ocpx._src import options as options_lib
from ocpx._src.checkpoint_managers import policy_checkpoint_info

PolicyCheckpointInfo = policy_checkpoint_info.PolicyCheckpointInfo


@dataclasses.dataclass(kw_only=True)
class DecisionContext:
  """What the manager knows besides the steps when asking a policy.

  Attributes:
    is_saving_in_progress: A save is still running in the background.
    reached_preemption: A preemption notice was received for this step.
    multiprocessing_options: The manager's multiprocessing options.
  """

  is_saving_in_progress: bool
  reached_preemption: bool
  multiprocessing_options: options_lib.MultiprocessingOptions = (
      dataclasses.field(default_factory=options_lib.MultiprocessingOptions))


@typing.runtime_checkable
class SaveDecisionPolicy(Protocol):
  """Decides whether to save at a step."""

  def should_save(self, step: PolicyCheckpointInfo,
                  previous_steps: Sequence[PolicyCheckpointInfo], *,
                  context: DecisionContext) -> bool:
    ...


@dataclasses.dataclass
class FixedIntervalPolicy(SaveDecisionPolicy):
  """Saves when `step % interval == 0`.

  Example:
    >>> FixedIntervalPolicy(1000)   # steps 0, 1000, 2000, ...
  """

  interval: int

  def should_save(self, step, previous_steps, *, context) -> bool:
    del previous_steps, context
    return step.step % self.interval == 0


@dataclasses.dataclass
class SpecificStepsPolicy(SaveDecisionPolicy):
  """Saves at the listed steps only.

  Example:
    >>> SpecificStepsPolicy({10, 20, 50})
  """

  steps: Container[int]

  def should_save(self, step, previous_steps, *, context) -> bool:
    del previous_steps, context
    return step.step in self.steps


_continuous_ids = itertools.count()


@dataclasses.dataclass(kw_only=True)
class ContinuousCheckpointingPolicy(SaveDecisionPolicy):
  """Saves whenever no save is in flight (and `minimum_interval_secs` passed).

  With several processes the primary host decides and the others follow it,
  so every process takes the same decision.

  Example:
    >>> ContinuousCheckpointingPolicy(minimum_interval_secs=600)
  """

  minimum_interval_secs: int | None = None

  def _decide(self, step, previous_steps, context) -> bool:
    if context.is_saving_in_progress:
      return False
    if not previous_steps or self.minimum_interval_secs is None:
      return True
    return step.time - previous_steps[-1].time >= datetime.timedelta(
        seconds=self.minimum_interval_secs)

  def should_save(self, step, previous_steps, *, context) -> bool:
    if multihost.process_count() == 1:
      return self._decide(step, previous_steps, context)
    mp = context.multiprocessing_options
    sync = multihost.Sync(
        f"continuous_policy:{next(_continuous_ids)}:{step.step}",
        timeout_secs=300, active_processes=mp.active_processes,
        key_prefix=mp.barrier_sync_key_prefix)
    primary = mp.primary_host if mp.primary_host is not None else (
        sync.active[0])
    mine = None
    if sync.process == primary:
      mine = "1" if self._decide(step, previous_steps, context) else "0"
    return sync.broadcast("decision", mine, primary) == "1"


@dataclasses.dataclass
class PreemptionCheckpointingPolicy(SaveDecisionPolicy):
  """Saves when a preemption notice has been received."""

  def should_save(self, step, previous_steps, *, context) -> bool:
    del step, previous_steps
    return context.reached_preemption


@dataclasses.dataclass
class InitialSavePolicy(SaveDecisionPolicy):
  """Saves when there is no checkpoint yet."""

  def should_save(self, step, previous_steps, *, context) -> bool:
    del step, context
    return not previous_steps


@dataclasses.dataclass
class AnySavePolicy(SaveDecisionPolicy):
  """Saves if any of `policies` says so (evaluated in order, lazily).

  Example:
    >>> AnySavePolicy([FixedIntervalPolicy(100), PreemptionCheckpointingPolicy()])
  """

  policies: Sequence[SaveDecisionPolicy]

  def should_save(self, step, previous_steps, *, context) -> bool:
    return any(p.should_save(step, previous_steps, context=context)
               for p in self.policies)

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Preservation policies: which committed checkpoints to keep.

Names and semantics follow `orbax.checkpoint.checkpoint_managers`.  A policy
maps the committed checkpoints, oldest first, to one keep/drop flag each.

Example:
  >>> keep = AnyPreservationPolicy([LatestN(3), EveryNSteps(1000)])
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
from typing import Any, Callable, Protocol, Sequence

from ocpx._src.checkpoint_managers import policy_checkpoint_info

PolicyCheckpointInfo = policy_checkpoint_info.PolicyCheckpointInfo
PyTree = Any


@dataclasses.dataclass(kw_only=True)
class PreservationContext:
  """Extra inputs to a preservation decision (none at present)."""


@typing.runtime_checkable
class PreservationPolicy(Protocol):
  """Decides, per checkpoint, whether to keep it."""

  def should_preserve(self, checkpoints: Sequence[PolicyCheckpointInfo], *,
                      context: PreservationContext) -> Sequence[bool]:
    ...


def _cap_newest(flags: list[bool], max_to_keep: int | None) -> list[bool]:
  """Keeps only the newest `max_to_keep` of the flagged checkpoints."""
  if max_to_keep is None:
    return flags
  kept = [i for i, f in enumerate(flags) if f]
  if len(kept) > max_to_keep:
    # As in Orbax, `kept[:-0]` is empty: a cap of 0 drops nothing.
    for i in kept[:-max_to_keep]:
      flags[i] = False
  return flags


@dataclasses.dataclass
class PreserveAll(PreservationPolicy):
  """Keeps every checkpoint."""

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    return [True] * len(checkpoints)


@dataclasses.dataclass
class LatestN(PreservationPolicy):
  """Keeps the newest `n` checkpoints (all of them when `n` is None).

  Example:
    >>> LatestN(5)
  """

  n: int | None = None

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    total = len(checkpoints)
    if self.n is None or total <= self.n:
      return [True] * total
    return [i >= total - self.n for i in range(total)]


@dataclasses.dataclass
class EveryNSeconds(PreservationPolicy):
  """Keeps the first checkpoint and then one per `interval_secs` of time.

  Example:
    >>> EveryNSeconds(3600)   # about one per hour
  """

  interval_secs: int

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    out: list[bool] = []
    anchor = None
    gap = datetime.timedelta(seconds=self.interval_secs)
    for c in checkpoints:
      keep = anchor is None or c.time - anchor >= gap
      if keep:
        anchor = c.time
      out.append(keep)
    return out


@dataclasses.dataclass
class EveryNSteps(PreservationPolicy):
  """Keeps steps that are multiples of `interval_steps`.

  With `exact_interval=False` it keeps the first checkpoint and then each one
  at least `interval_steps` after the last kept one.  `max_to_keep` caps the
  kept set to its newest members.

  Example:
    >>> EveryNSteps(10_000)
  """

  interval_steps: int
  exact_interval: bool = True
  max_to_keep: int | None = None

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    if self.interval_steps == 0:
      raise ValueError("interval_steps must not be 0.")
    if self.exact_interval:
      flags = [c.step % self.interval_steps == 0 for c in checkpoints]
    else:
      flags = []
      last = None
      for c in checkpoints:
        keep = last is None or c.step - last >= self.interval_steps
        if keep:
          last = c.step
        flags.append(keep)
    return _cap_newest(flags, self.max_to_keep)


@dataclasses.dataclass
class EveryNStepsClosest(PreservationPolicy):
  """Keeps, for each multiple k*N, the checkpoint closest to it.

  Ties go to the later checkpoint; the newest checkpoint is always kept.
  `max_to_keep` caps the kept set to its newest members.

  Example:
    >>> EveryNStepsClosest(1000)
  """

  interval_steps: int
  max_to_keep: int | None = None

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    if self.interval_steps == 0:
      raise ValueError("interval_steps must not be 0.")
    if not checkpoints:
      return []
    winner: dict[int, tuple[int, int]] = {}  # grid index -> (distance, i)
    for i, c in enumerate(checkpoints):
      k = round(c.step / self.interval_steps)
      d = abs(c.step - k * self.interval_steps)
      if k not in winner or d <= winner[k][0]:
        winner[k] = (d, i)
    flags = [False] * len(checkpoints)
    for _, i in winner.values():
      flags[i] = True
    flags[-1] = True
    return _cap_newest(flags, self.max_to_keep)


@dataclasses.dataclass
class CustomSteps(PreservationPolicy):
  """Keeps exactly the listed steps.

  Example:
    >>> CustomSteps([100, 5000])
  """

  steps: dataclasses.InitVar[Sequence[int]]
  _steps_set: set = dataclasses.field(init=False)

  def __post_init__(self, steps: Sequence[int]):
    self._steps_set = set(steps)

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    return [c.step in self._steps_set for c in checkpoints]


@dataclasses.dataclass
class AnyPreservationPolicy(PreservationPolicy):
  """Keeps a checkpoint if any of `policies` keeps it.

  Example:
    >>> AnyPreservationPolicy([LatestN(2), BestN(get_metric_fn=f, n=3)])
  """

  policies: Sequence[PreservationPolicy]

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    out = [False] * len(checkpoints)
    for p in self.policies:
      flags = p.should_preserve(checkpoints, context=context)
      out = [a or bool(b) for a, b in zip(out, flags)]
    return out


@dataclasses.dataclass(kw_only=True)
class BestN(PreservationPolicy):
  """Keeps the `n` checkpoints with the best metric.

  Checkpoints are ranked by `get_metric_fn(metrics)`, highest best (lowest
  best with `reverse=True`).  `n=None` keeps everything, `n=0` nothing.
  Checkpoints without metrics are kept when `keep_checkpoints_without_metrics`.

  Example:
    >>> BestN(get_metric_fn=lambda m: m["loss"], reverse=True, n=3)
  """

  get_metric_fn: Callable[[PyTree], float]
  reverse: bool = False
  n: int | None = None
  keep_checkpoints_without_metrics: bool = True

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    total = len(checkpoints)
    if self.n is None or total <= self.n:
      return [True] * total
    if self.n == 0:
      return [False] * total
    scored = [i for i, c in enumerate(checkpoints) if c.metrics is not None]
    # A stable sort: equal metrics keep their step order, as in Orbax.
    ranked = sorted(
        scored, key=lambda i: self.get_metric_fn(checkpoints[i].metrics),
        reverse=self.reverse)
    keep = set(ranked[-self.n:])
    if self.keep_checkpoints_without_metrics:
      keep.update(i for i, c in enumerate(checkpoints) if c.metrics is None)
    return [i in keep for i in range(total)]


@dataclasses.dataclass
class LatestDuration(PreservationPolicy):
  """Keeps the checkpoints newer than `duration` (from now).

  Example:
    >>> LatestDuration(datetime.timedelta(hours=24))
  """

  duration: datetime.timedelta

  def should_preserve(self, checkpoints, *, context) -> Sequence[bool]:
    del context
    if not checkpoints:
      return []
    now = policy_checkpoint_info.utc_now()
    first = next((i for i, c in enumerate(checkpoints)
                  if now - c.time <= self.duration), len(checkpoints))
    return [i >= first for i in range(len(checkpoints))]

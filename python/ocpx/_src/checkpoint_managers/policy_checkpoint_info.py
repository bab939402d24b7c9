# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""What a policy knows about one checkpoint: its step, time and metrics."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Optional, Protocol


class PolicyCheckpointInfo(Protocol):
  """The view of a checkpoint that save and preservation policies receive.

  `time` is timezone-aware (UTC); `metrics` is the JSON tree given to `save`
  (None when the step has none).
  """

  step: int
  metrics: Optional[dict[str, Any]]
  time: datetime.datetime


@dataclasses.dataclass
class CheckpointInfo:
  """A concrete `PolicyCheckpointInfo`, as the managers keep them.

  Example:
    >>> info = CheckpointInfo(3, datetime.datetime.now(datetime.timezone.utc),
    ...                       {"loss": 0.5})
  """

  step: int
  time: datetime.datetime
  metrics: Optional[Any] = None

  def __str__(self) -> str:
    return f"Checkpoint[step={self.step} | time={self.time}]"


def utc_now() -> datetime.datetime:
  return datetime.datetime.now(tz=datetime.timezone.utc)


def from_nsecs(nsecs: int) -> datetime.datetime:
  return datetime.datetime.fromtimestamp(nsecs / 1e9, tz=datetime.timezone.utc)

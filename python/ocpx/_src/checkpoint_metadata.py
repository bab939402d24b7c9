# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`_CHECKPOINT_METADATA` and the public `CheckpointMetadata` type."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import pprint
from typing import Any, Generic, Optional, TypeVar


CHECKPOINT_METADATA_FILE = "_CHECKPOINT_METADATA"

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class CheckpointMetadata(Generic[T]):
  """Metadata describing a whole checkpoint.

  Attributes:
    path: The checkpoint directory.
    metadata: The checkpointable's metadata (a PyTree of leaf metadata for
      `metadata()`, a dict by name for `checkpointables_metadata()`).
    init_timestamp_nsecs: When the save started (ns since the epoch).
    commit_timestamp_nsecs: When it was committed (ns since the epoch).
    custom_metadata: The user's `custom_metadata` given to save.
  """

  path: Any
  _: dataclasses.KW_ONLY
  metadata: T
  init_timestamp_nsecs: Optional[int] = None
  commit_timestamp_nsecs: Optional[int] = None
  custom_metadata: Any = None

  def _properties_strings(self) -> dict[str, str]:
    return {
        "metadata": str(self.metadata),
        "init_timestamp_nsecs": str(self.init_timestamp_nsecs),
        "commit_timestamp_nsecs": str(self.commit_timestamp_nsecs),
        "custom_metadata": str(self.custom_metadata),
    }

  def __repr__(self) -> str:
    # Orbax's layout: the properties as strings, pretty-printed.
    return f"CheckpointMetadata({pprint.pformat(self._properties_strings())})"


@dataclasses.dataclass
class StepMetadata:
  """The parsed contents of `_CHECKPOINT_METADATA`."""

  item_handlers: Any = None
  metrics: dict = dataclasses.field(default_factory=dict)
  performance_metrics: dict = dataclasses.field(default_factory=dict)
  init_timestamp_nsecs: Optional[int] = None
  commit_timestamp_nsecs: Optional[int] = None
  custom_metadata: Any = dataclasses.field(default_factory=dict)

  def to_json(self) -> str:
    # Orbax writes with json.dumps' default separators in this key order.
    perf = {k: v for k, v in (self.performance_metrics or {}).items()
            if isinstance(v, float)}
    return json.dumps({
        "item_handlers": self.item_handlers,
        "metrics": self.metrics or {},
        "performance_metrics": perf,
        "init_timestamp_nsecs": self.init_timestamp_nsecs,
        "commit_timestamp_nsecs": self.commit_timestamp_nsecs,
        "custom_metadata": self.custom_metadata if self.custom_metadata
                           is not None else {},
    })


def read_step_metadata(directory: pathlib.Path) -> Optional[StepMetadata]:
  """Reads `_CHECKPOINT_METADATA`; None if the file is absent.

  The file is parsed by the C++ reader (`ocpx._core.parse_step_metadata`),
  the one implementation of its rules, from bytes read here (locally or
  from an object store).

  Example:
    >>> read_step_metadata(pathlib.Path("/ckpt/100")).item_handlers
    {'state': 'orbax.checkpoint...PyTreeHandler'}  # doctest: +SKIP

  Raises:
    ValueError: the file is not a JSON object of Orbax's fields.
  """
  f = directory / CHECKPOINT_METADATA_FILE
  if not f.exists():
    return None
  from ocpx import _core  # pylint: disable=g-import-not-at-top
  return StepMetadata(**_core.parse_step_metadata(f.read_bytes(), str(f)))

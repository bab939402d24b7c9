# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `metrics` checkpointable of a step: JSON at `<step>/metrics/metrics`.

Both Orbax managers read metrics from that file; the v1 training Checkpointer
records this handler under Orbax's `MetricsHandler` typestr.
"""

from __future__ import annotations

from ocpx._src.handlers import json_handler

_ORBAX_METRICS_TYPESTR = (
    "orbax.checkpoint.experimental.v1._src.handlers.json_handler."
    "MetricsHandler")


class MetricsHandler(json_handler.JsonHandler):
  """Saves a step's metrics as `metrics/metrics` (JSON)."""

  def __init__(self):
    super().__init__(filename="metrics")


setattr(MetricsHandler, "_orbax_typestr",
        {"cls": MetricsHandler, "typestr": _ORBAX_METRICS_TYPESTR})

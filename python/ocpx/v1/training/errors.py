# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Errors raised by `ocpx.v1.training.Checkpointer`."""

from ocpx._src.checkpoint_managers.training_errors import StepAlreadyExistsError
from ocpx._src.checkpoint_managers.training_errors import StepNotFoundError

__all__ = ["StepAlreadyExistsError", "StepNotFoundError"]

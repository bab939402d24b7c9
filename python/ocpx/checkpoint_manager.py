# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`ocpx.CheckpointManager` (`orbax.checkpoint.checkpoint_manager`)."""

from ocpx._src.checkpoint_managers.checkpoint_manager import DEFAULT_ITEM_NAME
from ocpx._src.checkpoint_managers.checkpoint_manager import METRIC_ITEM_NAME
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManager
from ocpx._src.checkpoint_managers.checkpoint_manager import CheckpointManagerOptions
from ocpx._src.checkpoint_managers.checkpoint_manager import StepAlreadyExistsError

# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Evaluator helpers (`orbax.checkpoint.checkpoint_utils`)."""

from ocpx._src.checkpoint_managers.checkpoint_utils import checkpoints_iterator
from ocpx._src.checkpoint_managers.checkpoint_utils import get_snapshot_dir_from_step_dir
from ocpx._src.checkpoint_managers.checkpoint_utils import wait_for_new_checkpoint

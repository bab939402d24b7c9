# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.v1.training: manage a sequence of checkpoint steps (v1 API).

Mirrors `orbax.checkpoint.v1.training`:

    from ocpx import v1 as ocp
    with ocp.training.Checkpointer(directory) as ckptr:
      ckptr.save(step, state)
"""

from ocpx._src.checkpoint_managers.training_checkpointer import Checkpointer
from ocpx._src.checkpoint_managers.training_checkpointer import CheckpointMetadata
from ocpx._src.checkpoint_managers.training_checkpointer import RootMetadata
from ocpx.v1.training import errors
from ocpx.v1.training import preservation_policies
from ocpx.v1.training import save_decision_policies

__all__ = ["CheckpointMetadata", "Checkpointer", "RootMetadata", "errors",
           "preservation_policies", "save_decision_policies"]

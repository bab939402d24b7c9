# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step naming (`orbax.checkpoint.path.step`); same as `ocpx.step`."""

from ocpx.step import *  # noqa: F401,F403
from ocpx._src.checkpoint_managers.step_names import ALLOWED_STEP_NAME_PATTERN  # noqa: F401
from ocpx._src.checkpoint_managers.step_names import TMP_DIR_STEP_PATTERN  # noqa: F401
from ocpx._src.checkpoint_managers.step_names import TMP_DIR_SUFFIX  # noqa: F401

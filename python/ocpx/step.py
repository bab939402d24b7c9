# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step directory naming and discovery (`orbax.checkpoint.step`).

Example:
  >>> import ocpx as ocp
  >>> fmt = ocp.step.standard_name_format(step_prefix="step")
  >>> sorted(m.step for m in fmt.find_all("/ckpts"))
"""

from ocpx._src.checkpoint_managers.step_names import *  # noqa: F401,F403
from ocpx._src.checkpoint_managers.step_names import ALLOWED_STEP_NAME_PATTERN  # noqa: F401
from ocpx._src.checkpoint_managers.step_names import TMP_DIR_STEP_PATTERN  # noqa: F401
from ocpx._src.checkpoint_managers.step_names import TMP_DIR_SUFFIX  # noqa: F401

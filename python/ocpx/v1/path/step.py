# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step-directory naming (mirrors `orbax.checkpoint.v1.path.step`).

The implementation is shared with the step managers
(`ocpx._src.checkpoint_managers.step_names`).
"""

from ocpx._src.checkpoint_managers.step_names import NameFormat
from ocpx._src.checkpoint_managers.step_names import composite_name_format
from ocpx._src.checkpoint_managers.step_names import standard_name_format

__all__ = ["NameFormat", "composite_name_format", "standard_name_format"]

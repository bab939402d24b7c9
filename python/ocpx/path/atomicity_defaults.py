# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Default TemporaryPath classes (`orbax.checkpoint.path.atomicity_defaults`)."""

from ocpx._src.atomicity import get_default_temporary_path_class  # noqa: F401
from ocpx._src.atomicity import get_item_default_temporary_path_class  # noqa: F401

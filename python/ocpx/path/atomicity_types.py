# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The TemporaryPath protocol (`orbax.checkpoint.path.atomicity_types`)."""

from ocpx._src.atomicity import COMMIT_SUCCESS_FILE  # noqa: F401
from ocpx._src.atomicity import TMP_DIR_SUFFIX  # noqa: F401
from ocpx._src.atomicity import TemporaryPath  # noqa: F401
from ocpx._src.atomicity import ValidationError  # noqa: F401
